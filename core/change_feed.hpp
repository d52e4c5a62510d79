// The event stream read as a change feed: one Redis consumer group per webhook endpoint, so each
// endpoint acknowledges on its own, and entries not acknowledged stay pending (in Redis) across
// restarts. No Redis client types here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/store_records.hpp"

namespace bouncegate {

class RedisPool;

class ChangeFeed {
 public:
  explicit ChangeFeed(const RedisConfig& redis);
  ~ChangeFeed();
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // Creates the group at the stream's end ("$": changes from now on) unless it exists.
  void ensure_group(const std::string& group);
  // Entries never delivered to this group, up to `count`; they become pending for `consumer`.
  std::vector<Event> read_new(const std::string& group, const std::string& consumer, size_t count);
  struct Pending {
    std::string id;
    int64_t idle_ms = 0;
    int deliveries = 0;  // times handed out so far
  };
  std::vector<Pending> pending(const std::string& group, size_t count);
  // Takes a pending entry idle for `min_idle_ms` at least for `consumer` (its delivery count
  // goes up); nullopt when another consumer took it first, or when it was trimmed from the
  // stream meanwhile (it is acknowledged then).
  std::optional<Event> claim(const std::string& group, const std::string& consumer,
                             const std::string& id, int64_t min_idle_ms);
  void ack(const std::string& group, const std::string& id);
  // Gives up on an entry: copied to the group's dead-letter stream with the reason, then
  // acknowledged.
  void dead_letter(const std::string& group, const Event& ev, const std::string& reason);
  int64_t dead_letters(const std::string& group);

 private:
  std::string events_key() const;
  std::string dead_key(const std::string& group) const;
  RedisConfig cfg_;
  std::unique_ptr<RedisPool> pool_;
};

}  // namespace bouncegate
