-- core/lua/rate.lua, run by SuppressionStore (core/store.cpp) with EVALSHA.
-- KEY.<name> and ARG.<name> are set by the prelude the store prepends from its argument
-- lists (one list per script, shared by C++ and Lua); NFIXED is the count of named ARGs.
-- Two token buckets in one hash.
local now = tonumber(ARG.now)
if ARG.refund == '1' then
  for _, name in ipairs({'m', 'h'}) do
    local t = tonumber(redis.call('HGET', KEY.bucket, name .. ':tokens'))
    if t then redis.call('HSET', KEY.bucket, name .. ':tokens', t + 1) end
  end
  return 1
end
local function bucket(name, cap, window)
  if cap <= 0 then return true, nil end
  local t = redis.call('HMGET', KEY.bucket, name .. ':tokens', name .. ':ts')
  local tokens = tonumber(t[1]) or cap
  local ts = tonumber(t[2]) or now
  tokens = math.min(cap, tokens + (now - ts) * cap / window)
  return tokens >= 1, tokens
end
local pm, hm = tonumber(ARG.per_minute), tonumber(ARG.per_hour)
local ok1, t1 = bucket('m', pm, 60000)
local ok2, t2 = bucket('h', hm, 3600000)
if not (ok1 and ok2) then return 0 end
if t1 then redis.call('HSET', KEY.bucket, 'm:tokens', t1 - 1, 'm:ts', now) end
if t2 then redis.call('HSET', KEY.bucket, 'h:tokens', t2 - 1, 'h:ts', now) end
redis.call('PEXPIRE', KEY.bucket, 7200000)
return 1
