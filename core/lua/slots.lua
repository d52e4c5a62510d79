-- core/lua/slots.lua, run by SuppressionStore (core/store.cpp): the fleet's upstream connection
-- slots, one sorted-set member per open connection, scored by when it lapses (Redis's own
-- clock, so relays with skewed clocks agree). A relay that dies leaves members that lapse after
-- ARG.ttl; a live relay renews its own every second.
-- op "claim": drop lapsed members, then add ARG.member if fewer than ARG.max remain (1) or not (0).
-- op "renew": push the lapse time of each member after NFIXED forward, only while it is there
-- (a slot given back meanwhile stays given back). op "readd": the same, re-adding members that
-- lapsed while Redis was out of reach. op "release": remove them.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lapse = now + tonumber(ARG.ttl)
if ARG.op == 'claim' then
  redis.call('ZREMRANGEBYSCORE', KEY.slots, '-inf', now)
  if redis.call('ZSCORE', KEY.slots, ARG.member) then
    redis.call('ZADD', KEY.slots, lapse, ARG.member)
    return 1
  end
  if redis.call('ZCARD', KEY.slots) >= tonumber(ARG.max) then return 0 end
  redis.call('ZADD', KEY.slots, lapse, ARG.member)
  redis.call('PEXPIRE', KEY.slots, tonumber(ARG.ttl) * 2)
  return 1
end
for i = NFIXED + 1, #ARGV do
  if ARG.op == 'renew' then
    redis.call('ZADD', KEY.slots, 'XX', lapse, ARGV[i])
  elseif ARG.op == 'readd' then
    redis.call('ZADD', KEY.slots, lapse, ARGV[i])
  else
    redis.call('ZREM', KEY.slots, ARGV[i])
  end
end
if ARG.op ~= 'release' and #ARGV > NFIXED then
  redis.call('PEXPIRE', KEY.slots, tonumber(ARG.ttl) * 2)
end
return redis.call('ZCARD', KEY.slots)
