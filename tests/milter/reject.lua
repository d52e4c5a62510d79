-- A hard-bounced recipient is refused with the exact configured reply and its lease is bumped
-- one step; the other recipient of the same message goes on.
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
t.suppress("dead@example.org")
t.check_eq(t.show_field("dead@example.org", "level"), 0, "seeded level")
local c = t.connect()
local r = t.send_message(c, {from = "app@example.com", rcpts = {"Dead@Example.ORG", "bob@example.org"},
                             qid = "4REJ1"})
t.check_eq(r.rcpt["Dead@Example.ORG"], "replycode", "suppressed recipient")
t.check_eq(r.rcpt["bob@example.org"], "continue", "other recipient")
t.check_eq(r.eom, "continue", "message goes on")
mt.disconnect(c)
t.check(t.log_has("4REJ1: rcpt=<dead@example.org> decision=reject class=hard level=1 lease=48h"),
        "decision log line")
local until_ = os.date("!%Y-%m-%dT", os.time() + 2 * 86400)
t.check(t.log_has('reply="550 5.1.1 <dead@example.org>: recipient suppressed after hard bounce ' ..
                  '(550 5.1.1), retry after ' .. until_), "exact reply text")
t.check_eq(t.show_field("dead@example.org", "level"), 1, "lease bumped to the next step")
t.check_eq(t.show_field("dead@example.org", "hits"), 1, "hit counted")
local ttl = t.show_field("dead@example.org", "ttl_seconds")
t.check(ttl > 47 * 3600 and ttl <= 48 * 3600, "lease restarted at 48h, ttl " .. tostring(ttl))
