-- core/lua/resubscribe.lua, run by SuppressionStore (core/store.cpp) with EVALSHA.
-- KEY.<name> and ARG.<name> are set by the prelude the store prepends from its argument
-- lists (one list per script, shared by C++ and Lua); NFIXED is the count of named ARGs.
local n = redis.call('HDEL', KEY.unsubscribed, ARG.list)
redis.call('XADD', KEY.events, 'MAXLEN', '~', ARG.maxlen, '*', 'kind', 'resubscribe', 'ts', ARG.now,
  'addr', ARG.addr, 'class', 'unsubscribe', 'action', 'remove', 'list', ARG.list,
  'source', ARG.source, 'removed', tostring(n))
return n
