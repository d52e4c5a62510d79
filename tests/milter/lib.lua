-- Shared helpers for the bouncegate-milter miltertest scenarios: connect, send a message,
-- seed and inspect the store through the real CLI, read the milter's log.
-- Environment from run.sh: BG_CLI, BG_CONFIG, MILTER_SOCKET, MILTER_LOG, REDIS_PORT, MILTER_PID.

local lib = {}

local function env(name)
  local v = os.getenv(name)
  if v == nil or v == "" then error("run through tests/milter/run.sh: " .. name .. " is not set") end
  return v
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Runs a command; returns its stdout and exit code.
function lib.sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  local _, _, code = p:close()
  return out, code
end

-- The bouncegate CLI with the test's config.
function lib.bg(...)
  local cmd = shell_quote(env("BG_CLI")) .. " --config " .. shell_quote(env("BG_CONFIG"))
  for _, a in ipairs({...}) do cmd = cmd .. " " .. shell_quote(a) end
  return lib.sh(cmd)
end

function lib.redis(...)
  local cmd = "redis-cli -p " .. env("REDIS_PORT")
  for _, a in ipairs({...}) do cmd = cmd .. " " .. shell_quote(a) end
  return lib.sh(cmd)
end

function lib.suppress(addr, class)
  local out, code = lib.bg("add", addr, "--class", class or "hard", "--code", "550 5.1.1",
                           "--reason", "seeded by test")
  lib.check(code == 0, "bouncegate add " .. addr .. ": " .. out)
end

function lib.unsubscribe(addr, list)
  lib.redis("HSET", "bg:u:{" .. addr .. "}", list, tostring(os.time() * 1000))
end

-- A number field of `bouncegate show --json ADDR`.
function lib.show_field(addr, field)
  local out = lib.bg("show", "--json", addr)
  return tonumber(out:match('"' .. field .. '":(%-?%d+)'))
end

-- Opens a token with `bouncegate token open --json`; returns list, address (nil on failure).
function lib.token_open(token)
  local out, code = lib.bg("token", "open", "--json", token)
  if code ~= 0 then return nil, nil, out end
  return out:match('"list":"([^"]*)"'), out:match('"address":"([^"]*)"')
end

-- The token inside a List-Unsubscribe value (from the https URI).
function lib.token_of(header)
  return header and header:match("/u/([%w_%-]+)>")
end

-- miltertest does not print a script's error, so the reason is written to stderr first.
local function fail(msg)
  io.stderr:write("FAILED: " .. msg .. "\n" .. debug.traceback() .. "\n")
  error("FAILED: " .. msg, 3)
end

function lib.check(ok, what)
  if not ok then fail(what) end
end

function lib.check_eq(got, want, what)
  if got ~= want then fail(what .. ": got " .. tostring(got) .. ", want " .. tostring(want)) end
end

-- True when the milter's log holds `text` (plain substring).
function lib.log_has(text)
  local f = io.open(env("MILTER_LOG"), "r")
  local all = f:read("*a")
  f:close()
  return all:find(text, 1, true) ~= nil
end

-- Rewrites the test config through `edit(text) -> text` and sends SIGHUP to the milter.
function lib.reload_config(edit)
  local path = env("BG_CONFIG")
  local f = io.open(path, "r")
  local text = f:read("*a")
  f:close()
  f = io.open(path, "w")
  f:write(edit(text))
  f:close()
  lib.sh("kill -HUP " .. env("MILTER_PID"))
end

-- Waits up to `seconds` for `text` to appear in the milter's log.
function lib.wait_log(text, seconds)
  for _ = 1, (seconds or 5) * 20 do
    if lib.log_has(text) then return true end
    mt.sleep(0.05)
  end
  return false
end

function lib.connect()
  local conn = mt.connect(env("MILTER_SOCKET"), 50, 0.1)
  lib.check(conn ~= nil, "connect to " .. env("MILTER_SOCKET"))
  -- Like Postfix: no connect/helo events when the filter declined them.
  if not mt.test_option(conn, SMFIP_NOCONNECT) then
    lib.check(mt.conninfo(conn, "localhost", "127.0.0.1") == nil, "conninfo")
  end
  return conn
end

local function reply_name(r)
  local names = {[SMFIR_CONTINUE] = "continue", [SMFIR_ACCEPT] = "accept",
                 [SMFIR_REJECT] = "reject", [SMFIR_TEMPFAIL] = "tempfail",
                 [SMFIR_REPLYCODE] = "replycode", [SMFIR_DISCARD] = "discard"}
  return names[r] or tostring(r)
end

-- Sends one transaction. msg = {from=, rcpts={...}, headers={{name, value}, ...}, qid=}.
-- Returns {rcpt = {addr = "continue" | "replycode" | ...}, eom = reply or nil, accepted = n}.
-- Like an MTA, EOM is sent only when at least one recipient was accepted.
function lib.send_message(conn, msg)
  local result = {rcpt = {}, accepted = 0}
  local qid = msg.qid or "4TEST1"
  mt.macro(conn, SMFIC_MAIL, "i", qid)
  lib.check(mt.mailfrom(conn, "<" .. msg.from .. ">") == nil, "MAIL FROM")
  lib.check_eq(reply_name(mt.getreply(conn)), "continue", "reply to MAIL FROM")
  for _, r in ipairs(msg.rcpts) do
    mt.macro(conn, SMFIC_RCPT, "i", qid)
    lib.check(mt.rcptto(conn, "<" .. r .. ">") == nil, "RCPT TO " .. r)
    local rep = reply_name(mt.getreply(conn))
    result.rcpt[r] = rep
    if rep == "continue" then result.accepted = result.accepted + 1 end
  end
  if result.accepted == 0 then
    lib.check(mt.abort(conn) == nil, "abort")
    return result
  end
  for _, h in ipairs(msg.headers or {{"Subject", "test"}}) do
    lib.check(mt.header(conn, h[1], h[2]) == nil, "header " .. h[1])
  end
  lib.check(mt.eom(conn) == nil, "EOM")
  result.eom = reply_name(mt.getreply(conn))
  return result
end

function lib.added_header(conn, name)
  return mt.getheader(conn, name, 0)
end

lib.post_value = "List-Unsubscribe=One-Click"

return lib
