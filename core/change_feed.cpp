// Consumer-group reads, claims, acknowledgements and dead letters on bg:events.
#include "core/change_feed.hpp"

#include "core/redis_pool.hpp"

namespace bouncegate {

ChangeFeed::ChangeFeed(const RedisConfig& redis)
    : cfg_(redis), pool_(std::make_unique<RedisPool>(redis)) {}
ChangeFeed::~ChangeFeed() = default;

std::string ChangeFeed::events_key() const {
  return cfg_.key_prefix + "events";
}
std::string ChangeFeed::dead_key(const std::string& group) const {
  return cfg_.key_prefix + group + ":dead";  // bg:webhook:NAME:dead
}

void ChangeFeed::ensure_group(const std::string& group) {
  RedisValue v = pool_->command({"XGROUP", "CREATE", events_key(), group, "$", "MKSTREAM"});
  if (v.type == RedisValue::error && v.str.rfind("BUSYGROUP", 0) != 0)
    throw StoreError("xgroup create: " + v.str);
}

std::vector<Event> ChangeFeed::read_new(const std::string& group, const std::string& consumer,
                                        size_t count) {
  RedisValue v = pool_->command({"XREADGROUP", "GROUP", group, consumer, "COUNT",
                                 std::to_string(count), "STREAMS", events_key(), ">"});
  std::vector<Event> out;
  if (v.is_nil()) return out;
  if (v.type == RedisValue::error) throw StoreError("xreadgroup: " + v.str);
  // [[stream, [entry, ...]]]
  for (const auto& stream : v.elements)
    if (stream.elements.size() == 2)
      for (const auto& e : stream.elements[1].elements) out.push_back(event_from_stream_entry(e));
  return out;
}

std::vector<ChangeFeed::Pending> ChangeFeed::pending(const std::string& group, size_t count) {
  RedisValue v = pool_->command({"XPENDING", events_key(), group, "-", "+", std::to_string(count)});
  if (v.type == RedisValue::error) throw StoreError("xpending: " + v.str);
  std::vector<Pending> out;
  for (const auto& p : v.elements) {
    if (p.elements.size() != 4) continue;
    out.push_back({p.elements[0].str, p.elements[2].integer_value,
                   static_cast<int>(p.elements[3].integer_value)});
  }
  return out;
}

std::optional<Event> ChangeFeed::claim(const std::string& group, const std::string& consumer,
                                       const std::string& id, int64_t min_idle_ms) {
  // min-idle: of two processes that saw the entry due, only the first takes it (the claim
  // resets its idle time).
  RedisValue v =
      pool_->command({"XCLAIM", events_key(), group, consumer, std::to_string(min_idle_ms), id});
  if (v.type == RedisValue::error) throw StoreError("xclaim: " + v.str);
  if (v.elements.empty()) return std::nullopt;  // another process took it first
  if (v.elements[0].is_nil() || v.elements[0].elements.size() != 2) {
    ack(group, id);  // trimmed from the stream: nothing left to deliver
    return std::nullopt;
  }
  return event_from_stream_entry(v.elements[0]);
}

void ChangeFeed::ack(const std::string& group, const std::string& id) {
  RedisValue v = pool_->command({"XACK", events_key(), group, id});
  if (v.type == RedisValue::error) throw StoreError("xack: " + v.str);
}

void ChangeFeed::dead_letter(const std::string& group, const Event& ev, const std::string& reason) {
  std::vector<std::string> argv = {"XADD", dead_key(group), "MAXLEN", "~",           "100000",
                                   "*",    "event_id",      ev.id,    "dead_reason", reason};
  for (const auto& [k, val] : ev.fields) {
    argv.push_back(k);
    argv.push_back(val);
  }
  // One transaction: an entry refused by the dead-letter stream (out of memory) is not
  // acknowledged either, so it stays pending.
  auto r = pool_->pipeline({{"MULTI"}, argv, {"XACK", events_key(), group, ev.id}, {"EXEC"}});
  for (const auto& v : r)
    if (v.type == RedisValue::error) throw StoreError("dead letter: " + v.str);
  if (r.empty() || r.back().type != RedisValue::array)
    throw StoreError("dead letter: transaction not applied");
}

int64_t ChangeFeed::dead_letters(const std::string& group) {
  RedisValue v = pool_->command({"XLEN", dead_key(group)});
  return v.type == RedisValue::integer ? v.integer_value : 0;
}

}  // namespace bouncegate
