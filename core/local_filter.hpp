// gate.local_filter: a per-process Bloom filter of every address (and *@domain) that has a
// suppression entry or an unsubscription, built from Redis and kept current from the event
// stream; "surely not there" passes the RCPT gate without a round trip. No Redis client types.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"

namespace bouncegate {

class BloomFilter;
class RedisPool;

class LocalFilter {
 public:
  LocalFilter(const RedisConfig& redis, const LocalFilterConfig& cfg);
  ~LocalFilter();  // stops the follower thread
  LocalFilter(const LocalFilter&) = delete;
  LocalFilter& operator=(const LocalFilter&) = delete;

  // Builds the first filter in the background and then follows the event stream.
  void start();
  // A started filter when the configuration enables it, else null.
  static std::shared_ptr<LocalFilter> start_if_enabled(const Config& cfg);
  // False only when a current filter holds none of `names`: each of them surely has no entry
  // and no unsubscription. True when any may, and whenever the filter is not built, has not
  // read the event stream for ten polls (at least 5 s), or knows entries arrive unseen (an
  // import is being written, or the stream was trimmed past it) until it has read the keys
  // again: it then stands aside and Redis decides.
  bool may_hold_any(const std::vector<std::string>& names) const;
  // `name` is about to have an entry (this process just recorded an outcome that may make
  // one): in the filter at once, before its event is read from the stream.
  void note(const std::string& name) const;

  struct Status {
    bool ready = false;
    size_t members = 0;    // addresses and domains added since the last build
    size_t bytes = 0;      // the filter's bit array
    int64_t built_ms = 0;  // when the current filter was built (steady clock)
    int64_t heard_ms = 0;  // last successful read of the stream (steady clock)
  };
  Status status() const;
  // Builds a fresh filter now (tests, and the follower after an import).
  void rebuild();

 private:
  void run();
  void follow();
  bool stale() const;
  int64_t silence_ms() const;
  std::string events_key() const;

  RedisConfig redis_;
  LocalFilterConfig cfg_;
  std::unique_ptr<RedisPool> pool_;
  mutable std::mutex mu_;  // guards filter_, last_id_, times, members_
  std::shared_ptr<BloomFilter> filter_;
  std::string last_id_ = "0-0";
  int64_t built_ms_ = 0, heard_ms_ = 0;
  size_t members_ = 0;
  bool stale_ = false;  // entries may exist that the filter has not seen: stand aside
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace bouncegate
