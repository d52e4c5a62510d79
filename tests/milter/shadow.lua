-- Shadow mode never refuses and does not bump the lease. X-Bouncegate-Shadow names the
-- recipient concerned, so it is added only to a message for that one recipient: a copy that
-- others read never learns about a neighbour's suppression.
-- milter: shadow: true
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
t.suppress("dead@example.org")
t.unsubscribe("gone@example.org", "news")
local c = t.connect()
local r = t.send_message(c, {from = "letters@news.example.com", qid = "4SHAD",
                             rcpts = {"dead@example.org", "gone@example.org", "ok@example.org"}})
t.check_eq(r.rcpt["dead@example.org"], "continue", "not refused in shadow mode")
t.check_eq(r.rcpt["gone@example.org"], "continue", "not refused in shadow mode")
t.check(not mt.eom_check(c, MT_HDRADD, "X-Bouncegate-Shadow"),
        "no shadow header in a message that other recipients read")
t.check(t.log_has("4SHAD: shadow header skipped"), "skipped header logged")
local r2 = t.send_message(c, {from = "letters@news.example.com", qid = "4SHAD2",
                              rcpts = {"gone@example.org"}})
t.check_eq(r2.eom, "continue", "EOM 2")
t.check(mt.eom_check(c, MT_HDRADD, "X-Bouncegate-Shadow", "would-reject <gone@example.org> unsubscribe"),
        "shadow header for the one unsubscribed recipient")
local r3 = t.send_message(c, {from = "app@example.com", qid = "4SHAD3", rcpts = {"dead@example.org"}})
t.check_eq(r3.eom, "continue", "EOM 3")
t.check(mt.eom_check(c, MT_HDRADD, "X-Bouncegate-Shadow", "would-reject <dead@example.org> hard"),
        "shadow header for the one suppressed recipient")
mt.disconnect(c)
t.check_eq(t.show_field("dead@example.org", "level"), 0, "no lease bump")
t.check_eq(t.show_field("dead@example.org", "hits"), 0, "no hit")
t.check(t.log_has("4SHAD: rcpt=<dead@example.org> decision=would-reject class=hard level=0"), "log")
