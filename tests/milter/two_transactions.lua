-- Two transactions on one connection: the second never sees the first one's recipients or
-- list (after RSET/abort and after EOM).
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
local c = t.connect()
-- 1: list message to two recipients, then RSET before DATA.
mt.macro(c, SMFIC_MAIL, "i", "4ONE")
t.check(mt.mailfrom(c, "<letters@news.example.com>") == nil, "MAIL 1")
t.check(mt.rcptto(c, "<g1@example.org>") == nil, "RCPT 1a")
t.check(mt.rcptto(c, "<g2@example.org>") == nil, "RCPT 1b")
t.check(mt.abort(c) == nil, "RSET")
-- 2: same list, one recipient: the header names only that one.
local r = t.send_message(c, {from = "letters@news.example.com", rcpts = {"g3@example.org"},
                             qid = "4TWO"})
t.check_eq(r.eom, "continue", "EOM 2")
local list, addr = t.token_open(t.token_of(t.added_header(c, "List-Unsubscribe")))
t.check_eq(addr, "g3@example.org", "second transaction's recipient only")
t.check_eq(list, "news", "list")
-- 3: after EOM, a sender of no list: no header, so no list left over either.
local r3 = t.send_message(c, {from = "app@example.com", rcpts = {"g4@example.org"}, qid = "4THREE"})
t.check_eq(r3.eom, "continue", "EOM 3")
t.check(not mt.eom_check(c, MT_HDRADD, "List-Unsubscribe"), "no list carried over")
mt.disconnect(c)
