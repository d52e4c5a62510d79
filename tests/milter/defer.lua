-- A class whose action is defer (soft: defer in the test config) gets 450 4.2.0.
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
t.suppress("full@example.org", "soft")
local c = t.connect()
local r = t.send_message(c, {from = "app@example.com", rcpts = {"full@example.org", "ok@example.org"},
                             qid = "4DEF1"})
t.check_eq(r.rcpt["full@example.org"], "replycode", "deferred recipient")
t.check_eq(r.rcpt["ok@example.org"], "continue", "other recipient")
mt.disconnect(c)
t.check(t.log_has("4DEF1: rcpt=<full@example.org> decision=defer class=soft"), "decision log line")
t.check(t.log_has('reply="450 4.2.0 <full@example.org>: recipient deferred after bounce'), "450 reply")
