-- A recipient unsubscribed from the list the envelope sender belongs to is refused with 550
-- 5.7.1 naming the list; unsubscribing from another list does not matter.
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
t.unsubscribe("gone@example.org", "news")
t.unsubscribe("other@example.org", "digest")
local c = t.connect()
local r = t.send_message(c, {from = "letters@news.example.com",
                             rcpts = {"gone@example.org", "other@example.org"}, qid = "4UNS1"})
t.check_eq(r.rcpt["gone@example.org"], "replycode", "unsubscribed recipient")
t.check_eq(r.rcpt["other@example.org"], "continue", "unsubscribed from another list only")
-- The same recipient from a sender of no list passes.
local r2 = t.send_message(c, {from = "app@example.com", rcpts = {"gone@example.org"}})
t.check_eq(r2.rcpt["gone@example.org"], "continue", "no list, no refusal")
mt.disconnect(c)
t.check(t.log_has('4UNS1: rcpt=<gone@example.org> decision=unsubscribed class=unsubscribe list=news reply="550 5.7.1 <gone@example.org>: recipient unsubscribed from list news"'),
        "decision and reply")
