-- core/lua/gate.lua, run by SuppressionStore (core/store.cpp) with EVALSHA.
-- KEY.<name> and ARG.<name> are set by the prelude the store prepends from its argument
-- lists (one list per script, shared by C++ and Lua); NFIXED is the count of named ARGs.
-- Returns {result, class, level, pttl, code, text, hits, action, list, first_ms, last_ms, source,
-- matched, subdomains} (matched: the domain entry "*@d" that decided, '' for the address's own entry).
local now = tonumber(ARG.now)
local list = ARG.list
local function log(result, class, action, code, level, matched)
  redis.call('XADD', KEY.events, 'MAXLEN', '~', ARG.maxlen, '*', 'kind', 'gate', 'ts', ARG.now,
    'addr', ARG.addr, 'result', result, 'class', class, 'action', action, 'code', code,
    'level', tostring(level), 'list', list, 'queue_id', ARG.queue_id, 'message_id', ARG.message_id,
    'source', ARG.source, 'dry_run', ARG.dry_run, 'entry', matched or '')
end
-- ARG.bypass: the classes the sender's policy lets through (",unsubscribe,complaint,"); such an
-- entry refuses nothing for this mail, is not hit, and the decision is logged as 'bypass'.
local function bypassed(class)
  return ARG.bypass ~= '' and string.find(ARG.bypass, ',' .. class .. ',', 1, true) ~= nil
end
if list ~= '' and not bypassed('unsubscribe') then
  local u = redis.call('HMGET', KEY.unsubscribed, list, '*')
  local hit, value = nil, nil
  if u[1] then hit, value = list, u[1] elseif u[2] then hit, value = '*', u[2] end
  if hit then
    log('unsubscribed', 'unsubscribe', 'reject', '', 0)
    -- The value is "ms source" (older entries: "ms").
    local at = tonumber(string.match(value, '^(%d+)')) or 0
    local how = string.match(value, ' (.*)$') or ''
    return {'unsubscribed', 'unsubscribe', 0, -1, '', '', 0, 'reject', hit, at, at, how}
  end
end
-- scope 'unsubscribe': only the list question (the milter's end-of-message check for lists
-- known by List-Id); the suppression entry was asked at RCPT.
if ARG.scope == 'unsubscribe' then return {'pass'} end
local fields = {'class', 'level', 'code', 'text', 'hits', 'action', 'first_ms', 'last_ms',
                'source', 'subdomains', 'ladder'}
local entry, matched = KEY.entry, ''
local h = redis.call('HMGET', entry, unpack(fields))
-- An own entry of a class the sender's policy lets through does not hide a domain entry.
local own_bypassed = nil
if h[1] and bypassed(h[1]) then own_bypassed, h = h, {} end
if not h[1] then
  -- Domain entries, in the same round trip: KEY.domain is "*@" the recipient's domain, the
  -- KEYS after it the parents' (nearest first), which count only when made with subdomains.
  local first = NKEYS
  for i = first, #KEYS do
    local d = redis.call('HMGET', KEYS[i], unpack(fields))
    if d[1] and (i == first or d[10] == '1') then
      h, entry = d, KEYS[i]
      matched = string.match(KEYS[i], '{(.*)}$') or ''
      break
    end
  end
  if not h[1] and own_bypassed then h, matched = own_bypassed, '' end
  if not h[1] then return {'pass'} end
end
local action = h[6] or 'suppress'
local level = tonumber(h[2]) or 0
if bypassed(h[1]) then
  log('bypass', h[1], action, h[3] or '', level, matched)
  return {'bypass', h[1]}
end
local hits = tonumber(h[5]) or 0
local pttl
if ARG.dry_run == '1' then
  pttl = redis.call('PTTL', entry)
elseif matched ~= '' then
  -- A domain entry is hit by every recipient of the domain: its lease is the one it was given,
  -- never stepped by traffic.
  hits = redis.call('HINCRBY', entry, 'hits', 1)
  redis.call('HSET', entry, 'hit_ms', ARG.now)
  pttl = redis.call('PTTL', entry)
else
  hits = redis.call('HINCRBY', KEY.entry, 'hits', 1)
  if action == 'suppress' or action == 'defer' then
    -- The lease ladder: a hit during a lease moves one step up (capped) and restarts it. An
    -- escalated soft entry carries its own ladder (suppression.escalation).
    local steps = {}
    if h[11] then
      for ms in string.gmatch(h[11], '%d+') do steps[#steps + 1] = tonumber(ms) end
    end
    if #steps == 0 then
      for i = NFIXED + 1, #ARGV do steps[#steps + 1] = tonumber(ARGV[i]) end
    end
    level = math.min(level + 1, #steps - 1)
    pttl = steps[level + 1]
    redis.call('HSET', KEY.entry, 'level', level, 'hit_ms', ARG.now)
    redis.call('PEXPIRE', KEY.entry, pttl)
    redis.call('ZADD', KEY.expiry, tonumber(ARG.now) + pttl, ARG.addr)
  else
    redis.call('HSET', KEY.entry, 'hit_ms', ARG.now)
    pttl = redis.call('PTTL', KEY.entry)
  end
end
local result = 'reject'
if action == 'defer' then result = 'defer' end
log(result, h[1], action, h[3] or '', level, matched)
return {result, h[1], level, pttl, h[3] or '', h[4] or '', hits, action, '', tonumber(h[7]) or 0,
        tonumber(h[8]) or 0, h[9] or '', matched, h[10] or ''}
