-- core/lua/record.lua, run by SuppressionStore (core/store.cpp) with EVALSHA.
-- KEY.<name> and ARG.<name> are set by the prelude the store prepends from its argument
-- lists (one list per script, shared by C++ and Lua); NFIXED is the count of named ARGs.
-- Returns {changed, class, level, pttl, code, text, hits, action, '', first_ms, last_ms, source}:
-- the gate script's layout, so one parser reads both; {-1} when the dedupe mark existed.
local now = ARG.now
local ts = ARG.ts ~= '' and ARG.ts or now
local class, action = ARG.class, ARG.action
local origin = ARG.origin
local first = ARG.first_seen_ms ~= '' and ARG.first_seen_ms or ts
local last = ARG.last_seen_ms ~= '' and ARG.last_seen_ms or ts
-- The dedupe mark and the record are one atomic step: an event is never marked without being
-- recorded, nor recorded twice.
if ARG.dedupe_ttl_ms ~= '' and not redis.call('SET', KEY.seen, '1', 'NX', 'PX', ARG.dedupe_ttl_ms) then
  return {-1}
end
-- Soft-bounce escalation (the store passes esc_* only for an outcome that may count): the
-- after-th soft outcome about this mailbox within the window becomes a suppression on the
-- class's own ladder, stored with the entry so that gate hits step along it.
-- KEY.soft is the set of distinct messages (esc_message: queue id or Message-ID) within the
-- window, so that Postfix's retries of one deferred message count once; nothing is counted
-- while the address has an entry.
local escalated = false
if ARG.esc_after ~= '' and action == 'record' and redis.call('EXISTS', KEY.entry) == 0 then
  local fresh = redis.call('EXISTS', KEY.soft) == 0
  redis.call('SADD', KEY.soft, ARG.esc_message)
  if fresh then redis.call('PEXPIRE', KEY.soft, ARG.esc_within_ms) end
  if redis.call('SCARD', KEY.soft) >= tonumber(ARG.esc_after) then
    redis.call('DEL', KEY.soft)
    escalated = true
    action = ARG.esc_action
  end
end
local reason = ARG.reason
if escalated then
  reason = 'escalated: ' .. ARG.esc_after .. ' messages with soft outcomes within ' ..
    tostring(math.floor(tonumber(ARG.esc_within_ms) / 1000)) .. 's'
end
-- An import writes one summary event (the caller's), not one per row: a large import must not
-- push real evidence out of the capped stream.
if origin ~= 'import' then
  redis.call('XADD', KEY.events, 'MAXLEN', '~', ARG.maxlen, '*', 'kind',
    origin == 'manual' and 'manual' or 'outcome', 'ts', ts, 'received_ts', now,
    'addr', ARG.addr, 'class', class, 'action', action, 'code', ARG.code, 'text', ARG.text,
    'source', ARG.source, 'queue_id', ARG.queue_id, 'message_id', ARG.message_id, 'rule', ARG.rule,
    'reason', reason, 'verified', ARG.verified, 'list', ARG.list,
    'provider_message_id', ARG.provider_message_id, 'sender', ARG.sender,
    'remote_mta', ARG.remote_mta)
end
-- Only delivery outcomes are evidence about the domain; an unverified report is evidence of
-- nothing, operator entries are counted apart.
local counter = class
if origin == 'manual' then counter = 'manual'
elseif origin == 'import' then counter = 'imported'
elseif ARG.verified == 'no' then counter = 'unverified' end
redis.call('HINCRBY', KEY.stats, counter, 1)
redis.call('EXPIRE', KEY.stats, ARG.stats_ttl_s)
if action == 'reject' then
  redis.call('HSETNX', KEY.unsubscribed, ARG.list ~= '' and ARG.list or '*', first .. ' ' .. ARG.source)
  return {1}
end
if action ~= 'suppress' and action ~= 'defer' and action ~= 'suppress_permanent' then
  -- A delivery reported after a suppression (ACS reports arrive late and out of order) is
  -- shown with the entry: the operator sees the address worked since.
  if class == 'delivered' then
    local first_ms = tonumber(redis.call('HGET', KEY.entry, 'first_ms'))
    if first_ms and tonumber(ts) > first_ms then redis.call('HSET', KEY.entry, 'delivered_ms', ts) end
  end
  return {0}
end
local short = string.sub(ARG.text, 1, 512)
-- Reports arrive out of order: last_ms only moves forward.
local newest = math.max(tonumber(redis.call('HGET', KEY.entry, 'last_ms')) or 0, tonumber(last))
local exists = redis.call('EXISTS', KEY.entry)
-- A lease that ran out and was not swept yet: its expiry is reported before the entry returns.
if exists == 0 then
  local due = tonumber(redis.call('ZSCORE', KEY.expiry, ARG.addr))
  if due and due <= tonumber(now) then
    redis.call('XADD', KEY.events, 'MAXLEN', '~', ARG.maxlen, '*', 'kind', 'expired', 'ts', now,
      'addr', ARG.addr, 'class', '', 'action', 'expire', 'source', 'store')
    redis.call('ZREM', KEY.expiry, ARG.addr)
  end
end
local old_action = redis.call('HGET', KEY.entry, 'action')
if exists == 0 then
  redis.call('HSET', KEY.entry, 'class', class, 'action', action, 'level', 0, 'code', ARG.code,
    'text', short, 'source', ARG.source, 'first_ms', first, 'last_ms', last, 'hits', 0,
    'reason', reason)
  if escalated then redis.call('HSET', KEY.entry, 'ladder', ARG.esc_ladder) end
elseif old_action == 'suppress_permanent' and action ~= 'suppress_permanent' then
  -- A permanent entry (complaint) is never turned back into a lease by a later bounce.
  redis.call('HSET', KEY.entry, 'last_ms', newest)
  action = 'suppress_permanent'
else
  redis.call('HSET', KEY.entry, 'class', class, 'action', action, 'code', ARG.code, 'text', short,
    'source', ARG.source, 'last_ms', newest, 'reason', ARG.reason)
  -- A stronger outcome (a hard bounce) replaces an escalated entry's own ladder.
  redis.call('HDEL', KEY.entry, 'ladder')
end
if ARG.subdomains ~= '' then redis.call('HSET', KEY.entry, 'subdomains', ARG.subdomains) end
local level = tonumber(redis.call('HGET', KEY.entry, 'level')) or 0
-- An entry that left an escalation ladder longer than the main one stays on the main one.
if not redis.call('HGET', KEY.entry, 'ladder') and level > #ARGV - NFIXED - 1 then
  level = #ARGV - NFIXED - 1
  redis.call('HSET', KEY.entry, 'level', level)
end
if action == 'suppress_permanent' then
  redis.call('PERSIST', KEY.entry)
elseif escalated then
  redis.call('PEXPIRE', KEY.entry, tonumber(string.match(ARG.esc_ladder, '^(%d+)')))
elseif exists == 0 then
  local ttl = tonumber(ARG.ttl_override_ms) or tonumber(ARGV[NFIXED + 1])
  redis.call('PEXPIRE', KEY.entry, ttl)
elseif ARG.step == '1' and (action == 'suppress' or action == 'defer') then
  -- The upstream refused from its own list: one step up the ladder, as a gate hit would.
  level = math.min(level + 1, #ARGV - NFIXED - 1)
  redis.call('HSET', KEY.entry, 'level', level)
  redis.call('PEXPIRE', KEY.entry, tonumber(ARGV[NFIXED + 1 + level]))
else
  -- A new outcome during a lease keeps the level and never shortens the lease.
  local want = tonumber(ARG.ttl_override_ms) or tonumber(ARGV[NFIXED + 1 + level])
  local cur = redis.call('PTTL', KEY.entry)
  if cur < 0 or cur < want then redis.call('PEXPIRE', KEY.entry, want) end
end
-- The due-time index: an expiry is observed by the sweep script without scanning the keys.
if action == 'suppress_permanent' then
  redis.call('ZREM', KEY.expiry, ARG.addr)
else
  redis.call('ZADD', KEY.expiry, tonumber(now) + redis.call('PTTL', KEY.entry), ARG.addr)
end
-- An import reads nothing back: two calls less per row.
if origin == 'import' then return {1} end
local h = redis.call('HMGET', KEY.entry, 'class', 'code', 'text', 'hits', 'action', 'first_ms',
  'last_ms', 'source')
return {1, h[1], level, redis.call('PTTL', KEY.entry), h[2], h[3], tonumber(h[4]) or 0, h[5], '',
  tonumber(h[6]) or 0, tonumber(h[7]) or 0, h[8]}
