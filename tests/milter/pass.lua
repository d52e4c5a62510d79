-- A clean recipient passes; no list matches, so no header is added.
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
local c = t.connect()
local r = t.send_message(c, {from = "app@example.com", rcpts = {"alice@example.org"}})
t.check_eq(r.rcpt["alice@example.org"], "continue", "clean recipient")
t.check_eq(r.eom, "continue", "EOM")
t.check(not mt.eom_check(c, MT_HDRADD), "no header added for an unlisted sender")
mt.disconnect(c)
