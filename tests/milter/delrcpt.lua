-- A list matched only by its List-Id header: unsubscribed recipients are removed at EOM; when
-- none remain the message is refused with 550 5.7.1.
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
t.unsubscribe("quit@example.org", "digest")
t.unsubscribe("all@example.org", "*")
local c = t.connect()
local hdrs = {{"Subject", "digest"}, {"List-Id", "Weekly digest <digest.example.com>"}}
local r = t.send_message(c, {from = "app@example.com", qid = "4DEL1", headers = hdrs,
                             rcpts = {"quit@example.org", "stay@example.org", "all@example.org"}})
t.check_eq(r.accepted, 3, "RCPT cannot know the list yet")
t.check_eq(r.eom, "continue", "message goes on to the remaining recipient")
t.check(mt.eom_check(c, MT_RCPTDELETE, "<quit@example.org>"), "unsubscribed recipient removed")
t.check(mt.eom_check(c, MT_RCPTDELETE, "<all@example.org>"), "unsubscribed-from-all removed")
t.check(not mt.eom_check(c, MT_RCPTDELETE, "<stay@example.org>"), "subscriber kept")
local h = t.added_header(c, "List-Unsubscribe")
local list, addr = t.token_open(t.token_of(h))
t.check_eq(addr, "stay@example.org", "header for the one remaining recipient")
t.check_eq(list, "digest", "token list")
local r2 = t.send_message(c, {from = "app@example.com", qid = "4DEL2", headers = hdrs,
                              rcpts = {"quit@example.org"}})
t.check_eq(r2.eom, "replycode", "nobody left: refused")
mt.disconnect(c)
t.check(t.log_has("4DEL1: rcpt=<quit@example.org> decision=delrcpt class=unsubscribe list=digest"), "log")
t.check(t.log_has("4DEL1: rcpt=<all@example.org> decision=delrcpt class=unsubscribe list=*"), "log *")
-- The end-of-message refusals go through the gate script, so they are in the event stream
-- like every RCPT decision (with the queue id), and the lease of nobody is bumped.
local report = t.bg("report", "--format", "csv", "--since", "1h")
t.check(report:find("quit@example.org,example.org,unsubscribe,reject,,milter,4DEL1,,,gate,", 1, true),
        "EOM refusal is an event: " .. report)
t.check(report:find("all@example.org,example.org,unsubscribe,reject,,milter,4DEL1,,,gate,", 1, true),
        "EOM refusal (*) is an event")
t.check(not report:find("stay@example.org", 1, true), "a subscriber's pass is not a refusal event")
