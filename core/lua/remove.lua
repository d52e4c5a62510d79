-- core/lua/remove.lua, run by SuppressionStore (core/store.cpp) with EVALSHA.
-- KEY.<name> and ARG.<name> are set by the prelude the store prepends from its argument
-- lists (one list per script, shared by C++ and Lua); NFIXED is the count of named ARGs.
-- A lease that ran out before the sweep saw it: its expiry is reported, not dropped with it.
if redis.call('EXISTS', KEY.entry) == 0 then
  local due = tonumber(redis.call('ZSCORE', KEY.expiry, ARG.addr))
  if due and due <= tonumber(ARG.now) then
    redis.call('XADD', KEY.events, 'MAXLEN', '~', ARG.maxlen, '*', 'kind', 'expired', 'ts', ARG.now,
      'addr', ARG.addr, 'class', '', 'action', 'expire', 'source', 'store')
  end
end
local n = redis.call('DEL', KEY.entry, KEY.unsubscribed)
redis.call('ZREM', KEY.expiry, ARG.addr)
redis.call('DEL', KEY.soft)  -- a released address starts its soft-bounce count afresh
redis.call('XADD', KEY.events, 'MAXLEN', '~', ARG.maxlen, '*', 'kind', 'remove', 'ts', ARG.now,
  'addr', ARG.addr, 'class', '', 'action', 'remove', 'source', ARG.source, 'removed', tostring(n))
return n
