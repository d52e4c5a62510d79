-- Redis down with on_store_error: tempfail (default): 451 4.3.0, logged once per burst.
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
t.redis("SHUTDOWN", "NOSAVE")
local c = t.connect()
local r = t.send_message(c, {from = "app@example.com", rcpts = {"x1@example.org", "x2@example.org"},
                             qid = "4DOWN"})
t.check_eq(r.rcpt["x1@example.org"], "replycode", "tempfail reply")
t.check_eq(r.rcpt["x2@example.org"], "replycode", "tempfail reply")
mt.disconnect(c)
t.check(t.log_has('4DOWN: rcpt=<x1@example.org> decision=tempfail reason="store unavailable" reply="451 4.3.0 suppression store unavailable, try again later"'),
        "451 reply")
local _, n = io.open(os.getenv("MILTER_LOG")):read("*a"):gsub("suppression store unavailable ", "")
t.check_eq(n, 1, "one warning for the burst")
