-- core/lua/check.lua, run by SuppressionStore::check (core/store.cpp), pipelined: what the gate
-- would answer for one address, read only (no hit, no lease step, no event).
-- KEY.domain and the KEYS after it are the domain entries, as for the gate script.
-- Returns {result, class, pttl, matched, list, action, level, code}, {'bypass', class} or {'pass'}.
local list = ARG.list
-- ARG.bypass: the sender policy's classes (",unsubscribe,complaint,"), as for the gate script.
local function bypassed(class)
  return ARG.bypass ~= '' and string.find(ARG.bypass, ',' .. class .. ',', 1, true) ~= nil
end
if list ~= '' and not bypassed('unsubscribe') then
  local u = redis.call('HMGET', KEY.unsubscribed, list, '*')
  if u[1] then return {'unsubscribed', 'unsubscribe', -1, '', list, 'reject', 0, ''} end
  if u[2] then return {'unsubscribed', 'unsubscribe', -1, '', '*', 'reject', 0, ''} end
end
local fields = {'class', 'action', 'level', 'code', 'subdomains'}
local function answer(key, h, matched)
  local result = 'reject'
  if h[2] == 'defer' then result = 'defer' end
  return {result, h[1], redis.call('PTTL', key), matched, '', h[2] or 'suppress',
          tonumber(h[3]) or 0, h[4] or ''}
end
local h = redis.call('HMGET', KEY.entry, unpack(fields))
if h[1] and not bypassed(h[1]) then return answer(KEY.entry, h, '') end
local own_bypassed = h[1] ~= false and h[1] ~= nil
for i = NKEYS, #KEYS do
  local d = redis.call('HMGET', KEYS[i], unpack(fields))
  if d[1] and (i == NKEYS or d[5] == '1') and not bypassed(d[1]) then
    return answer(KEYS[i], d, string.match(KEYS[i], '{(.*)}$') or '')
  end
end
if own_bypassed then return {'bypass', h[1]} end
return {'pass'}
