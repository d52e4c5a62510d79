// SuppressionStore over Redis: Lua scripts for gate/record/unsubscribe/remove (atomic, one
// round trip each, EVALSHA with EVAL fallback on NOSCRIPT) and plain reads for the CLI.
#include "core/store.hpp"

#include <openssl/sha.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/address.hpp"
#include "core/escape.hpp"
#include "core/metrics.hpp"

namespace bouncegate {
namespace {

// KEYS: s:{addr}, u:{addr}, events. ARGV: now, list, queue_id, message_id, source, addr,
// maxlen, dry_run, ladder(ms)...
// Returns {result, class, level, pttl, code, text, hits, action, list, first_ms, last_ms, source}.
constexpr const char* kGateLua = R"LUA(
local now = tonumber(ARGV[1])
local list = ARGV[2]
local nfixed = 8
local nladder = #ARGV - nfixed
local function log(result, class, action, code, level)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'kind', 'gate', 'ts', ARGV[1],
    'addr', ARGV[6], 'result', result, 'class', class, 'action', action, 'code', code,
    'level', tostring(level), 'list', list, 'queue_id', ARGV[3], 'message_id', ARGV[4],
    'source', ARGV[5], 'dry_run', ARGV[8])
end
if list ~= '' then
  local u = redis.call('HMGET', KEYS[2], list, '*')
  local hit = nil
  if u[1] then hit = list elseif u[2] then hit = '*' end
  if hit then
    log('unsubscribed', 'unsubscribe', 'reject', '', 0)
    return {'unsubscribed', 'unsubscribe', 0, -1, '', '', 0, 'reject', hit, 0, 0, 'web'}
  end
end
local h = redis.call('HMGET', KEYS[1], 'class', 'level', 'code', 'text', 'hits', 'action',
                     'first_ms', 'last_ms', 'source')
if not h[1] then return {'pass'} end
local action = h[6] or 'suppress'
local level = tonumber(h[2]) or 0
local hits = tonumber(h[5]) or 0
local pttl
if ARGV[8] == '1' then
  pttl = redis.call('PTTL', KEYS[1])
else
  hits = redis.call('HINCRBY', KEYS[1], 'hits', 1)
  if action == 'suppress' or action == 'defer' then
    -- The lease ladder: a hit during a lease moves one step up (capped) and restarts it.
    level = math.min(level + 1, nladder - 1)
    pttl = tonumber(ARGV[nfixed + 1 + level])
    redis.call('HSET', KEYS[1], 'level', level, 'hit_ms', ARGV[1])
    redis.call('PEXPIRE', KEYS[1], pttl)
  else
    redis.call('HSET', KEYS[1], 'hit_ms', ARGV[1])
    pttl = redis.call('PTTL', KEYS[1])
  end
end
local result = 'reject'
if action == 'defer' then result = 'defer' end
log(result, h[1], action, h[3] or '', level)
return {result, h[1], level, pttl, h[3] or '', h[4] or '', hits, action, '', tonumber(h[7]) or 0,
        tonumber(h[8]) or 0, h[9] or ''}
)LUA";

// KEYS: s:{addr}, events, stat:{domain}:{hour}, u:{addr}, seen:{id} (dedupe mark).
// ARGV: now, class, action, code, text, source, queue_id, message_id, rule, addr, maxlen,
// stats_ttl_s, ttl_override_ms ('' none), reason, dedupe_ttl_ms ('' none), verified ('', yes,
// no: counted as "unverified"), ladder(ms)...
// Returns {changed, class, level, pttl, code, text, hits, action, '', first_ms, last_ms, source}:
// the gate script's layout, so one parser reads both; {-1} when the dedupe mark existed.
constexpr const char* kRecordLua = R"LUA(
local now = ARGV[1]
local class, action = ARGV[2], ARGV[3]
local nfixed = 16
-- The dedupe mark and the record are one atomic step: an event is never marked without being
-- recorded, nor recorded twice.
if ARGV[15] ~= '' and not redis.call('SET', KEYS[5], '1', 'NX', 'PX', ARGV[15]) then
  return {-1}
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[11], '*', 'kind', 'outcome', 'ts', now,
  'addr', ARGV[10], 'class', class, 'action', action, 'code', ARGV[4], 'text', ARGV[5],
  'source', ARGV[6], 'queue_id', ARGV[7], 'message_id', ARGV[8], 'rule', ARGV[9],
  'reason', ARGV[14], 'verified', ARGV[16])
-- An unverified report is evidence of nothing about the domain's deliveries.
redis.call('HINCRBY', KEYS[3], ARGV[16] == 'no' and 'unverified' or class, 1)
redis.call('EXPIRE', KEYS[3], ARGV[12])
if action == 'reject' then
  redis.call('HSETNX', KEYS[4], '*', now)
  return {1}
end
if action ~= 'suppress' and action ~= 'defer' and action ~= 'suppress_permanent' then
  return {0}
end
local short = string.sub(ARGV[5], 1, 512)
local exists = redis.call('EXISTS', KEYS[1])
local old_action = redis.call('HGET', KEYS[1], 'action')
if exists == 0 then
  redis.call('HSET', KEYS[1], 'class', class, 'action', action, 'level', 0, 'code', ARGV[4],
    'text', short, 'source', ARGV[6], 'first_ms', now, 'last_ms', now, 'hits', 0,
    'reason', ARGV[14])
elseif old_action == 'suppress_permanent' and action ~= 'suppress_permanent' then
  -- A permanent entry (complaint) is never turned back into a lease by a later bounce.
  redis.call('HSET', KEYS[1], 'last_ms', now)
  action = 'suppress_permanent'
else
  redis.call('HSET', KEYS[1], 'class', class, 'action', action, 'code', ARGV[4], 'text', short,
    'source', ARGV[6], 'last_ms', now, 'reason', ARGV[14])
end
local level = tonumber(redis.call('HGET', KEYS[1], 'level')) or 0
if action == 'suppress_permanent' then
  redis.call('PERSIST', KEYS[1])
elseif exists == 0 then
  local ttl = tonumber(ARGV[13]) or tonumber(ARGV[nfixed + 1])
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  -- A new outcome during a lease keeps the level and never shortens the lease.
  local want = tonumber(ARGV[13]) or tonumber(ARGV[nfixed + 1 + level])
  local cur = redis.call('PTTL', KEYS[1])
  if cur < 0 or cur < want then redis.call('PEXPIRE', KEYS[1], want) end
end
local h = redis.call('HMGET', KEYS[1], 'class', 'code', 'text', 'hits', 'action', 'first_ms',
  'last_ms', 'source')
return {1, h[1], level, redis.call('PTTL', KEYS[1]), h[2], h[3], tonumber(h[4]) or 0, h[5], '',
  tonumber(h[6]) or 0, tonumber(h[7]) or 0, h[8]}
)LUA";

// KEYS: u:{addr}, events. ARGV: now, list, addr, source, maxlen, queue_id.
constexpr const char* kUnsubscribeLua = R"LUA(
local added = redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'kind', 'unsubscribe', 'ts', ARGV[1],
  'addr', ARGV[3], 'class', 'unsubscribe', 'action', 'reject', 'list', ARGV[2],
  'source', ARGV[4], 'queue_id', ARGV[6], 'new', tostring(added))
return added
)LUA";

// KEYS: s:{addr}, u:{addr}, events. ARGV: now, addr, source, maxlen.
constexpr const char* kRemoveLua = R"LUA(
local n = redis.call('DEL', KEYS[1], KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'kind', 'remove', 'ts', ARGV[1],
  'addr', ARGV[2], 'class', '', 'action', 'remove', 'source', ARGV[3], 'removed', tostring(n))
return n
)LUA";

// KEYS: rl:{bucket}. ARGV: now, per_minute, per_hour. Two token buckets in one hash.
constexpr const char* kRateLua = R"LUA(
local now = tonumber(ARGV[1])
local function bucket(name, cap, window)
  if cap <= 0 then return true, nil end
  local t = redis.call('HMGET', KEYS[1], name .. ':tokens', name .. ':ts')
  local tokens = tonumber(t[1]) or cap
  local ts = tonumber(t[2]) or now
  tokens = math.min(cap, tokens + (now - ts) * cap / window)
  return tokens >= 1, tokens
end
local pm, hm = tonumber(ARGV[2]), tonumber(ARGV[3])
local ok1, t1 = bucket('m', pm, 60000)
local ok2, t2 = bucket('h', hm, 3600000)
if not (ok1 and ok2) then return 0 end
if t1 then redis.call('HSET', KEYS[1], 'm:tokens', t1 - 1, 'm:ts', now) end
if t2 then redis.call('HSET', KEYS[1], 'h:tokens', t2 - 1, 'h:ts', now) end
redis.call('PEXPIRE', KEYS[1], 7200000)
return 1
)LUA";

struct Script {
  const char* body;
  std::string sha;
};

std::vector<Script>& scripts() {
  static std::vector<Script> s = [] {
    std::vector<Script> v = {
        {kGateLua, ""}, {kRecordLua, ""}, {kUnsubscribeLua, ""}, {kRemoveLua, ""}, {kRateLua, ""}};
    for (auto& sc : v) {
      unsigned char d[SHA_DIGEST_LENGTH];
      SHA1(reinterpret_cast<const unsigned char*>(sc.body), strlen(sc.body), d);
      char hex[SHA_DIGEST_LENGTH * 2 + 1];
      for (int i = 0; i < SHA_DIGEST_LENGTH; ++i) snprintf(hex + 2 * i, 3, "%02x", d[i]);
      sc.sha = hex;
    }
    return v;
  }();
  return s;
}
enum ScriptId { kGate, kRecord, kUnsub, kRemove, kRate };

std::string str_of(const RedisValue& v) {
  if (v.type == RedisValue::integer) return std::to_string(v.integer_value);
  return v.str;
}
int64_t int_of(const RedisValue& v) {
  if (v.type == RedisValue::integer) return v.integer_value;
  if (v.type == RedisValue::string) {
    try {
      return std::stoll(v.str);
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

std::string hour_stamp(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  tm g;
  gmtime_r(&t, &g);
  char buf[16];
  strftime(buf, sizeof buf, "%Y%m%d%H", &g);
  return buf;
}

// The entry as the gate and record scripts return it:
// {_, class, level, pttl, code, text, hits, action, list, first_ms, last_ms, source}.
Entry entry_from_script(const std::string& addr, const RedisValue& v) {
  Entry e;
  e.address = addr;
  e.cls = str_of(v.elements[1]);
  e.level = static_cast<int>(int_of(v.elements[2]));
  e.ttl_ms = int_of(v.elements[3]);
  e.code = str_of(v.elements[4]);
  e.text = str_of(v.elements[5]);
  e.hits = int_of(v.elements[6]);
  e.action = str_of(v.elements[7]);
  e.first_ms = int_of(v.elements[9]);
  e.last_ms = int_of(v.elements[10]);
  e.source = str_of(v.elements[11]);
  return e;
}

Entry entry_from_hash(const std::string& addr, const RedisValue& h, int64_t pttl) {
  Entry e;
  e.address = addr;
  e.ttl_ms = pttl;
  for (size_t i = 0; i + 1 < h.elements.size(); i += 2) {
    const std::string& k = h.elements[i].str;
    const std::string& v = h.elements[i + 1].str;
    if (k == "class")
      e.cls = v;
    else if (k == "action")
      e.action = v;
    else if (k == "level")
      e.level = static_cast<int>(int_of(h.elements[i + 1]));
    else if (k == "code")
      e.code = v;
    else if (k == "text")
      e.text = v;
    else if (k == "source")
      e.source = v;
    else if (k == "first_ms")
      e.first_ms = int_of(h.elements[i + 1]);
    else if (k == "last_ms")
      e.last_ms = int_of(h.elements[i + 1]);
    else if (k == "hits")
      e.hits = int_of(h.elements[i + 1]);
    else if (k == "reason")
      e.reason = v;
  }
  return e;
}

// Journal lines: tab-separated fields with \t, \n and \\ escaped.
std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\')
      o += "\\\\";
    else if (c == '\t')
      o += "\\t";
    else if (c == '\n')
      o += "\\n";
    else if (c == '\r')
      o += "\\r";
    else
      o += c;
  }
  return o;
}
std::vector<std::string> split_unesc(const std::string& line) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\t') {
      out.emplace_back();
    } else if (c == '\\' && i + 1 < line.size()) {
      char n = line[++i];
      out.back() += n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n;
    } else {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace

std::string_view to_string(GateResult r) {
  switch (r) {
    case GateResult::pass:
      return "pass";
    case GateResult::reject:
      return "reject";
    case GateResult::defer:
      return "defer";
    case GateResult::unsubscribed:
      return "unsubscribed";
  }
  return "?";
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string utc_iso(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  tm g;
  gmtime_r(&t, &g);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &g);
  return buf;
}

SuppressionStore::SuppressionStore(const RedisConfig& redis, const SuppressionConfig& suppression)
    : redis_cfg_(redis), sup_(suppression), pool_(redis) {
  for (auto d : sup_.lease_ladder) ladder_args_.push_back(std::to_string(d.count()));
}

std::string SuppressionStore::key_for(const std::string& address) const {
  return redis_cfg_.key_prefix + "s:{" + address + "}";
}

RedisValue SuppressionStore::run_script(int which, const std::vector<std::string>& keys,
                                        const std::vector<std::string>& args) {
  static const char* kOpNames[] = {"gate", "record", "unsubscribe", "remove", "rate"};
  const Script& sc = scripts()[which];
  std::vector<std::string> argv = {"EVALSHA", sc.sha, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto started = std::chrono::steady_clock::now();
  auto& metrics = Metrics::instance();
  try {
    RedisValue v = pool_.command(argv);
    if (v.type == RedisValue::error && v.str.rfind("NOSCRIPT", 0) == 0) {
      // After a Redis restart or SCRIPT FLUSH: EVAL loads the script again.
      argv[0] = "EVAL";
      argv[1] = sc.body;
      v = pool_.command(argv);
    }
    if (v.type == RedisValue::error) throw StoreError("redis script error: " + v.str);
    metrics.observe(
        "bouncegate_store_call_seconds",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
        {{"op", kOpNames[which]}});
    return v;
  } catch (const StoreError&) {
    metrics.inc("bouncegate_store_errors_total", {{"op", kOpNames[which]}});
    throw;
  }
}

GateDecision SuppressionStore::gate(const std::string& address, const std::string& list,
                                    const EventContext& ctx, bool dry_run) {
  const std::string& p = redis_cfg_.key_prefix;
  std::vector<std::string> args = {std::to_string(now_ms()),
                                   list,
                                   ctx.queue_id,
                                   ctx.message_id,
                                   std::string(to_string(ctx.source)),
                                   address,
                                   std::to_string(sup_.events_maxlen),
                                   dry_run ? "1" : "0"};
  const auto& ladder = ladder_args();
  args.insert(args.end(), ladder.begin(), ladder.end());
  RedisValue v =
      run_script(kGate, {key_for(address), p + "u:{" + address + "}", p + "events"}, args);
  GateDecision d;
  if (v.type != RedisValue::array || v.elements.empty()) throw StoreError("gate: unexpected reply");
  const std::string r = str_of(v.elements[0]);
  Metrics::instance().inc(
      "bouncegate_gate_decisions_total",
      {{"result", r}, {"class", v.elements.size() > 1 ? str_of(v.elements[1]) : ""}});
  if (r == "pass") return d;
  d.result = r == "unsubscribed" ? GateResult::unsubscribed
             : r == "defer"      ? GateResult::defer
                                 : GateResult::reject;
  if (v.elements.size() < 12) throw StoreError("gate: short reply");
  d.entry = entry_from_script(address, v);
  d.list = str_of(v.elements[8]);
  return d;
}

std::optional<Entry> SuppressionStore::record(const OutcomeRecord& o, bool* duplicate) {
  const std::string& p = redis_cfg_.key_prefix;
  int64_t now = now_ms();
  std::string domain = o.counts_for_domain ? domain_of(o.address) : std::string();
  // Texts from the network are stored escaped (multi-line replies keep their line breaks):
  // nothing read back from Redis can drive a terminal or forge a log line.
  std::string text =
      escape_control_for_storage(o.text.size() > 2048 ? o.text.substr(0, 2048) : o.text);
  std::vector<std::string> args = {
      std::to_string(now),
      std::string(to_string(o.cls)),
      std::string(to_string(o.action)),
      escape_control_for_storage(o.code),
      text,
      std::string(to_string(o.ctx.source)),
      escape_control_for_storage(o.ctx.queue_id),
      escape_control_for_storage(o.ctx.message_id),
      o.rule,
      o.address,
      std::to_string(sup_.events_maxlen),
      std::to_string(sup_.stats_ttl.count() / 1000),
      o.ttl ? std::to_string(o.ttl->count()) : std::string(),
      escape_control_for_storage(o.reason),
      o.dedupe_id.empty() ? std::string() : std::to_string(o.dedupe_ttl.count()),
      o.verified};
  const auto& ladder = ladder_args();
  args.insert(args.end(), ladder.begin(), ladder.end());
  RedisValue v =
      run_script(kRecord,
                 {key_for(o.address), p + "events",
                  p + "stat:{" + (domain.empty() ? "-" : domain) + "}:" + hour_stamp(now),
                  p + "u:{" + o.address + "}",
                  p + "seen:" + (o.dedupe_id.empty() ? std::string("-") : o.dedupe_id)},
                 args);
  if (v.type != RedisValue::array || v.elements.empty())
    throw StoreError("record: unexpected reply");
  bool dup = v.elements[0].type == RedisValue::integer && v.elements[0].integer_value < 0;
  if (duplicate) *duplicate = dup;
  if (dup) return std::nullopt;
  Metrics::instance().inc(
      "bouncegate_outcomes_total",
      {{"class", std::string(to_string(o.cls))}, {"source", std::string(to_string(o.ctx.source))}});
  if (v.elements.size() < 12) return std::nullopt;
  return entry_from_script(o.address, v);
}

void SuppressionStore::unsubscribe(const std::string& address, const std::string& list,
                                   const EventContext& ctx) {
  const std::string& p = redis_cfg_.key_prefix;
  run_script(
      kUnsub, {p + "u:{" + address + "}", p + "events"},
      {std::to_string(now_ms()), list.empty() ? "*" : list, address,
       std::string(to_string(ctx.source)), std::to_string(sup_.events_maxlen), ctx.queue_id});
}

bool SuppressionStore::remove(const std::string& address, const EventContext& ctx) {
  const std::string& p = redis_cfg_.key_prefix;
  RedisValue v = run_script(kRemove, {key_for(address), p + "u:{" + address + "}", p + "events"},
                            {std::to_string(now_ms()), address, std::string(to_string(ctx.source)),
                             std::to_string(sup_.events_maxlen)});
  return int_of(v) > 0;
}

std::optional<Entry> SuppressionStore::get(const std::string& address) {
  std::string k = key_for(address);
  auto r = pool_.pipeline({{"HGETALL", k}, {"PTTL", k}});
  if (r[0].type != RedisValue::array || r[0].elements.empty()) return std::nullopt;
  return entry_from_hash(address, r[0], int_of(r[1]));
}

std::map<std::string, int64_t> SuppressionStore::unsubscriptions(const std::string& address) {
  RedisValue v = pool_.command({"HGETALL", redis_cfg_.key_prefix + "u:{" + address + "}"});
  std::map<std::string, int64_t> out;
  for (size_t i = 0; i + 1 < v.elements.size(); i += 2)
    out[v.elements[i].str] = int_of(v.elements[i + 1]);
  return out;
}

std::vector<Entry> SuppressionStore::scan(const ScanFilter& f) {
  std::vector<Entry> out;
  std::string prefix = redis_cfg_.key_prefix + "s:{";
  std::string cursor = "0";
  do {
    RedisValue v = pool_.command({"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"});
    if (v.type != RedisValue::array || v.elements.size() != 2) throw StoreError("scan: bad reply");
    cursor = v.elements[0].str;
    std::vector<std::vector<std::string>> cmds;
    std::vector<std::string> addrs;
    for (const auto& k : v.elements[1].elements) {
      std::string addr = k.str.substr(prefix.size(), k.str.size() - prefix.size() - 1);
      if (!f.domain.empty() && domain_of(addr) != f.domain) continue;
      addrs.push_back(addr);
      cmds.push_back({"HGETALL", k.str});
      cmds.push_back({"PTTL", k.str});
    }
    if (cmds.empty()) continue;
    auto r = pool_.pipeline(cmds);
    for (size_t i = 0; i < addrs.size(); ++i) {
      if (r[2 * i].elements.empty()) continue;  // expired between SCAN and HGETALL
      Entry e = entry_from_hash(addrs[i], r[2 * i], int_of(r[2 * i + 1]));
      if (!f.cls.empty() && e.cls != f.cls) continue;
      out.push_back(std::move(e));
      if (f.limit && out.size() >= f.limit) return out;
    }
  } while (cursor != "0");
  return out;
}

std::vector<Event> SuppressionStore::events_since(int64_t since_ms, size_t max) {
  std::vector<Event> out;
  std::string start = std::to_string(since_ms) + "-0";
  for (;;) {
    RedisValue v =
        pool_.command({"XRANGE", redis_cfg_.key_prefix + "events", start, "+", "COUNT", "1000"});
    if (v.type != RedisValue::array) throw StoreError("xrange: bad reply");
    if (v.elements.empty()) break;
    for (const auto& e : v.elements) {
      if (e.elements.size() != 2) continue;
      Event ev;
      ev.id = e.elements[0].str;
      const auto& kv = e.elements[1].elements;
      for (size_t i = 0; i + 1 < kv.size(); i += 2) ev.fields[kv[i].str] = kv[i + 1].str;
      ev.ts_ms = std::atoll(ev.get("ts").c_str());
      out.push_back(std::move(ev));
      if (max && out.size() >= max) return out;
    }
    start = "(" + v.elements.back().elements[0].str;
    if (v.elements.size() < 1000) break;
  }
  return out;
}

std::map<std::string, std::map<std::string, int64_t>> SuppressionStore::stats(
    int64_t since_ms, const std::string& domain) {
  std::map<std::string, std::map<std::string, int64_t>> out;
  std::string since_hour = hour_stamp(since_ms);
  std::string prefix = redis_cfg_.key_prefix + "stat:{";
  std::string pattern = prefix + (domain.empty() ? "*" : domain + "}:*");
  std::string cursor = "0";
  do {
    RedisValue v = pool_.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (v.type != RedisValue::array || v.elements.size() != 2) throw StoreError("scan: bad reply");
    cursor = v.elements[0].str;
    std::vector<std::vector<std::string>> cmds;
    std::vector<std::string> doms;
    for (const auto& k : v.elements[1].elements) {
      size_t close = k.str.rfind("}:");
      if (close == std::string::npos || close < prefix.size()) continue;
      if (k.str.substr(close + 2) < since_hour) continue;
      doms.push_back(k.str.substr(prefix.size(), close - prefix.size()));
      cmds.push_back({"HGETALL", k.str});
    }
    if (cmds.empty()) continue;
    auto r = pool_.pipeline(cmds);
    for (size_t i = 0; i < doms.size(); ++i)
      for (size_t j = 0; j + 1 < r[i].elements.size(); j += 2)
        out[doms[i]][r[i].elements[j].str] += int_of(r[i].elements[j + 1]);
  } while (cursor != "0");
  return out;
}

void SuppressionStore::remember_message(const std::string& message_id,
                                        const std::map<std::string, std::string>& fields,
                                        const std::vector<std::string>& recipients) {
  if (message_id.empty() || (fields.empty() && recipients.empty())) return;
  const std::string k = redis_cfg_.key_prefix + "mid:" + message_id;
  const std::string ttl = std::to_string(sup_.message_id_ttl.count());
  std::vector<std::string> hset = {"HSET", k};
  for (const auto& [f, v] : fields) {
    hset.push_back(f);
    hset.push_back(v);
  }
  if (!recipients.empty()) hset.insert(hset.end(), {"rcpts", "1"});
  std::vector<std::vector<std::string>> cmds = {hset, {"PEXPIRE", k, ttl}};
  if (!recipients.empty()) {
    const std::string rk = redis_cfg_.key_prefix + "midr:" + message_id;
    std::vector<std::string> sadd = {"SADD", rk};
    sadd.insert(sadd.end(), recipients.begin(), recipients.end());
    cmds.push_back(sadd);
    cmds.push_back({"PEXPIRE", rk, ttl});
  }
  auto r = pool_.pipeline(cmds);
  for (const auto& v : r)
    if (v.type == RedisValue::error) throw StoreError("remember_message: " + v.str);
}

bool SuppressionStore::message_had_recipient(const std::string& message_id,
                                             const std::string& address) {
  RedisValue v =
      pool_.command({"SISMEMBER", redis_cfg_.key_prefix + "midr:" + message_id, address});
  if (v.type == RedisValue::error) throw StoreError("message_had_recipient: " + v.str);
  return v.type == RedisValue::integer && v.integer_value == 1;
}

std::map<std::string, std::string> SuppressionStore::lookup_message(const std::string& message_id) {
  RedisValue v = pool_.command({"HGETALL", redis_cfg_.key_prefix + "mid:" + message_id});
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < v.elements.size(); i += 2)
    out[v.elements[i].str] = v.elements[i + 1].str;
  return out;
}

bool SuppressionStore::take_send_token(const std::string& bucket, int per_minute, int per_hour) {
  if (per_minute <= 0 && per_hour <= 0) return true;
  RedisValue v =
      run_script(kRate, {redis_cfg_.key_prefix + "rl:{" + bucket + "}"},
                 {std::to_string(now_ms()), std::to_string(per_minute), std::to_string(per_hour)});
  return int_of(v) == 1;
}

void SuppressionStore::ping() {
  RedisValue v = pool_.command({"PING"});
  if (v.type == RedisValue::error) throw StoreError("ping: " + v.str);
}

std::optional<Entry> SuppressionStore::record_or_journal(const OutcomeRecord& o, bool* journaled) {
  if (journaled) *journaled = false;
  try {
    auto e = record(o);
    if (journal_size() > 0) replay_journal();
    return e;
  } catch (const StoreError&) {
    if (sup_.journal_path.empty()) throw;
    std::lock_guard lock(journal_mu_);
    std::filesystem::create_directories(std::filesystem::path(sup_.journal_path).parent_path());
    std::ofstream out(sup_.journal_path, std::ios::app);
    if (!out) throw;
    out << esc(o.address) << '\t' << to_string(o.cls) << '\t' << to_string(o.action) << '\t'
        << esc(o.code) << '\t' << esc(o.text) << '\t' << esc(o.rule) << '\t'
        << to_string(o.ctx.source) << '\t' << esc(o.ctx.queue_id) << '\t' << esc(o.ctx.message_id)
        << '\t' << (o.ttl ? std::to_string(o.ttl->count()) : std::string()) << '\t' << esc(o.reason)
        << '\t' << (o.counts_for_domain ? "" : "-") << '\t' << esc(o.dedupe_id) << '\t'
        << (o.dedupe_id.empty() ? std::string() : std::to_string(o.dedupe_ttl.count())) << '\n';
    out.flush();
    if (!out) throw;
    if (journaled) *journaled = true;
    return std::nullopt;
  }
}

size_t SuppressionStore::journal_size() {
  // A replay interrupted by a crash leaves its work file; it counts until it is finished.
  size_t total = 0;
  for (const std::string& p : {sup_.journal_path, sup_.journal_path + ".replay"}) {
    std::error_code ec;
    auto n = std::filesystem::file_size(p, ec);
    if (!ec) total += static_cast<size_t>(n);
  }
  return total;
}

size_t SuppressionStore::replay_journal() {
  std::lock_guard lock(journal_mu_);
  std::string work = sup_.journal_path + ".replay";
  std::error_code ec;
  // A previous replay interrupted half-way is finished first; records are idempotent enough
  // (a lease is never shortened), so a repeated line does no harm.
  if (!std::filesystem::exists(work, ec)) {
    std::filesystem::rename(sup_.journal_path, work, ec);
    if (ec) return 0;
  }
  std::ifstream in(work);
  std::vector<std::string> failed;
  std::string line;
  size_t done = 0;
  bool down = false;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (down) {
      failed.push_back(line);
      continue;
    }
    auto f = split_unesc(line);
    if (f.size() < 11) continue;
    OutcomeRecord o;
    o.address = f[0];
    o.cls = outcome_class_from(f[1]).value_or(OutcomeClass::unknown);
    o.action = action_from(f[2]).value_or(Action::record);
    o.code = f[3];
    o.text = f[4];
    o.rule = f[5];
    o.ctx.source = source_from(f[6]).value_or(Source::relay);
    o.ctx.queue_id = f[7];
    o.ctx.message_id = f[8];
    if (!f[9].empty()) o.ttl = Millis(std::atoll(f[9].c_str()));
    o.reason = f[10];
    o.counts_for_domain = f.size() < 12 || f[11] != "-";  // field 12 is newer
    if (f.size() >= 14 && !f[12].empty()) {  // the idempotency key: a late apply counts once
      o.dedupe_id = f[12];
      o.dedupe_ttl = Millis(std::atoll(f[13].c_str()));
    }
    try {
      bool duplicate = false;
      record(o, &duplicate);
      if (!duplicate) ++done;
    } catch (const StoreError&) {
      down = true;
      failed.push_back(line);
    }
  }
  in.close();
  if (!failed.empty()) {
    std::ofstream out(sup_.journal_path, std::ios::app);
    for (const auto& l : failed) out << l << '\n';
  }
  std::filesystem::remove(work, ec);
  return done;
}

}  // namespace bouncegate
