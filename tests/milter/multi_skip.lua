-- Several recipients: one token cannot name them all, so the header is skipped (and logged).
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
local c = t.connect()
local r = t.send_message(c, {from = "letters@news.example.com",
                             rcpts = {"f1@example.org", "f2@example.org"}, qid = "4MULT"})
t.check_eq(r.accepted, 2, "both accepted")
t.check(not mt.eom_check(c, MT_HDRADD, "List-Unsubscribe"), "no header")
mt.disconnect(c)
t.check(t.log_has("4MULT: list-unsubscribe=skipped list=news reason=recipients rcpts=2"), "log line")
