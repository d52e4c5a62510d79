-- core/lua/sweep.lua, run by SuppressionStore::sweep_expired (core/store.cpp): the leases due
-- by now in the due-time index KEY.expiry. An entry that is gone gets one "expired" event and
-- leaves the index; one whose lease was extended or made permanent meanwhile is rescheduled or
-- dropped from it. Atomic, so several daemons sweeping never report one expiry twice.
-- The entry keys are built here from ARG.entry_prefix (a single Redis, as everywhere).
local due = redis.call('ZRANGEBYSCORE', KEY.expiry, '-inf', ARG.now, 'LIMIT', 0, ARG.limit)
local expired = 0
for _, addr in ipairs(due) do
  local pttl = redis.call('PTTL', ARG.entry_prefix .. addr .. '}')
  if pttl == -2 then
    redis.call('ZREM', KEY.expiry, addr)
    redis.call('XADD', KEY.events, 'MAXLEN', '~', ARG.maxlen, '*', 'kind', 'expired', 'ts', ARG.now,
      'addr', addr, 'class', '', 'action', 'expire', 'source', 'store')
    expired = expired + 1
  elseif pttl == -1 then
    redis.call('ZREM', KEY.expiry, addr)
  else
    redis.call('ZADD', KEY.expiry, tonumber(ARG.now) + pttl, addr)
  end
end
return expired
