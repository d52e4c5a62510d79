-- One recipient of a list message: List-Unsubscribe (https and mailto, folded) and
-- List-Unsubscribe-Post are added; the token opens to this address and list.
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
local c = t.connect()
local r = t.send_message(c, {from = "letters@news.example.com", rcpts = {"Carol@Example.org"},
                             qid = "4LST1"})
t.check_eq(r.eom, "continue", "EOM")
local h = t.added_header(c, "List-Unsubscribe")
t.check(h ~= nil, "List-Unsubscribe added")
t.check(h:find("^<https://unsub%.example%.com/u/[%w_%-]+>,\n <mailto:unsubscribe@example%.com%?subject=unsubscribe%-[%w_%-]+>$") ~= nil,
        "header shape: " .. tostring(h))
t.check(not h:find("carol", 1, true), "address not readable in the header")
t.check(mt.eom_check(c, MT_HDRADD, "List-Unsubscribe-Post", t.post_value), "one-click header")
local list, addr = t.token_open(t.token_of(h))
t.check_eq(list, "news", "token list")
t.check_eq(addr, "carol@example.org", "token address")
local mailto_token = h:match("subject=unsubscribe%-([%w_%-]+)>")
t.check_eq(mailto_token, t.token_of(h), "same token in both URIs")
mt.disconnect(c)
t.check(t.log_has("4LST1: list-unsubscribe=added list=news rcpt=<carol@example.org>"), "log line")
