-- SIGHUP reloads: a bad file is refused and the running config kept; a good one is used by
-- new connections while an open connection keeps the snapshot it started with.
local t = dofile(os.getenv("MILTER_TESTS") .. "/lib.lua")
t.suppress("dead@example.org")
local original
t.reload_config(function(text) original = text; return text .. "bogus_key: 1\n" end)
t.check(t.wait_log("configuration reload refused"), "bad file refused")
t.check(t.log_has("bogus_key: unknown key"), "refusal names the key")
local old = t.connect()
local r = t.send_message(old, {from = "app@example.com", rcpts = {"dead@example.org", "ok@example.org"}})
t.check_eq(r.rcpt["dead@example.org"], "replycode", "old config still gates")

t.reload_config(function() return (original:gsub("\nmilter:\n", "\nmilter:\n  shadow: true\n")) end)
t.check(t.wait_log("configuration reloaded"), "good file loaded")
local new = t.connect()
local r2 = t.send_message(new, {from = "app@example.com", rcpts = {"dead@example.org"}})
t.check_eq(r2.rcpt["dead@example.org"], "continue", "new connection: shadow mode")
local r3 = t.send_message(old, {from = "app@example.com", rcpts = {"dead@example.org", "ok@example.org"}})
t.check_eq(r3.rcpt["dead@example.org"], "replycode", "open connection keeps its snapshot")
mt.disconnect(old)
mt.disconnect(new)
