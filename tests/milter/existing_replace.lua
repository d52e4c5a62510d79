-- existing_header: replace: the existing List-Unsubscribe is changed to ours, the Post header added.
-- unsubscribe: existing_header: replace
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
local c = t.connect()
local r = t.send_message(c, {from = "letters@news.example.com", rcpts = {"erin@example.org"},
                             headers = {{"Subject", "x"}, {"List-Unsubscribe", "<mailto:own@example.com>"}},
                             qid = "4REPL"})
t.check_eq(r.eom, "continue", "EOM")
t.check(mt.eom_check(c, MT_HDRCHANGE, "List-Unsubscribe"), "List-Unsubscribe replaced")
t.check(not mt.eom_check(c, MT_HDRADD, "List-Unsubscribe"), "not added a second time")
t.check(mt.eom_check(c, MT_HDRADD, "List-Unsubscribe-Post", t.post_value), "one-click header")
mt.disconnect(c)
t.check(t.log_has("4REPL: list-unsubscribe=replaced list=news rcpt=<erin@example.org>"), "log line")
