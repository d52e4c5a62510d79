-- Shadow mode never refuses: it adds X-Bouncegate-Shadow and does not bump the lease.
-- milter: shadow: true
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
t.suppress("dead@example.org")
t.unsubscribe("gone@example.org", "news")
local c = t.connect()
local r = t.send_message(c, {from = "letters@news.example.com", qid = "4SHAD",
                             rcpts = {"dead@example.org", "gone@example.org"}})
t.check_eq(r.rcpt["dead@example.org"], "continue", "not refused in shadow mode")
t.check_eq(r.rcpt["gone@example.org"], "continue", "not refused in shadow mode")
t.check(mt.eom_check(c, MT_HDRADD, "X-Bouncegate-Shadow", "would-reject <dead@example.org> hard"),
        "shadow header for the suppressed recipient")
t.check(mt.eom_check(c, MT_HDRADD, "X-Bouncegate-Shadow", "would-reject <gone@example.org> unsubscribe"),
        "shadow header for the unsubscribed recipient")
mt.disconnect(c)
t.check_eq(t.show_field("dead@example.org", "level"), 0, "no lease bump")
t.check_eq(t.show_field("dead@example.org", "hits"), 0, "no hit")
t.check(t.log_has("4SHAD: rcpt=<dead@example.org> decision=would-reject class=hard level=0"), "log")
