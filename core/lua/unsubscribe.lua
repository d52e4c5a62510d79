-- core/lua/unsubscribe.lua, run by SuppressionStore (core/store.cpp) with EVALSHA.
-- KEY.<name> and ARG.<name> are set by the prelude the store prepends from its argument
-- lists (one list per script, shared by C++ and Lua); NFIXED is the count of named ARGs.
-- The value is "ms source": when and through what the address left the list.
local added = redis.call('HSETNX', KEY.unsubscribed, ARG.list, ARG.now .. ' ' .. ARG.source)
redis.call('XADD', KEY.events, 'MAXLEN', '~', ARG.maxlen, '*', 'kind', 'unsubscribe', 'ts', ARG.now,
  'addr', ARG.addr, 'class', 'unsubscribe', 'action', 'reject', 'list', ARG.list,
  'source', ARG.source, 'queue_id', ARG.queue_id, 'new', tostring(added))
return added
