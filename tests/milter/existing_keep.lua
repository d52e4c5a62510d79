-- existing_header: keep (default): a message that already has List-Unsubscribe is left alone.
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
local c = t.connect()
local r = t.send_message(c, {from = "letters@news.example.com", rcpts = {"dan@example.org"},
                             headers = {{"Subject", "x"}, {"List-Unsubscribe", "<mailto:own@example.com>"}},
                             qid = "4KEEP"})
t.check_eq(r.eom, "continue", "EOM")
t.check(not mt.eom_check(c, MT_HDRADD), "nothing added")
t.check(not mt.eom_check(c, MT_HDRCHANGE), "nothing changed")
mt.disconnect(c)
t.check(t.log_has('4KEEP: list-unsubscribe=skipped list=news reason="existing header kept"'), "log line")
