-- core/lua/remove.lua, run by SuppressionStore (core/store.cpp) with EVALSHA.
-- KEY.<name> and ARG.<name> are set by the prelude the store prepends from its argument
-- lists (one list per script, shared by C++ and Lua); NFIXED is the count of named ARGs.
local n = redis.call('DEL', KEY.entry, KEY.unsubscribed)
redis.call('ZREM', KEY.expiry, ARG.addr)
redis.call('DEL', KEY.soft)  -- a released address starts its soft-bounce count afresh
redis.call('XADD', KEY.events, 'MAXLEN', '~', ARG.maxlen, '*', 'kind', 'remove', 'ts', ARG.now,
  'addr', ARG.addr, 'class', '', 'action', 'remove', 'source', ARG.source, 'removed', tostring(n))
return n
