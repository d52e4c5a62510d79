-- Shadow mode never refuses: with Redis down and on_store_error: tempfail, recipients still
-- pass (logged), because shadow mode only observes.
-- milter: shadow: true
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
t.redis("SHUTDOWN", "NOSAVE")
local c = t.connect()
local r = t.send_message(c, {from = "app@example.com", rcpts = {"x1@example.org"}, qid = "4SHDN"})
t.check_eq(r.rcpt["x1@example.org"], "continue", "shadow mode accepts when the store is down")
mt.disconnect(c)
t.check(t.log_has('4SHDN: rcpt=<x1@example.org> decision=accept reason="store unavailable"'),
        "decision logged")
