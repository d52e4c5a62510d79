-- Redis down with on_store_error: accept: recipients go on.
-- milter: on_store_error: accept
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
t.redis("SHUTDOWN", "NOSAVE")
local c = t.connect()
local r = t.send_message(c, {from = "app@example.com", rcpts = {"y1@example.org"}, qid = "4ACPT"})
t.check_eq(r.rcpt["y1@example.org"], "continue", "accepted while the store is down")
t.check_eq(r.eom, "continue", "EOM")
mt.disconnect(c)
t.check(t.log_has("4ACPT: rcpt=<y1@example.org> decision=accept"), "log line")
