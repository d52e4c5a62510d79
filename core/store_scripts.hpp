// The store's Lua scripts (core/lua/*.lua, compiled in) with the names of their keys and
// arguments: one list per script, from which both the Lua prelude (KEY.<name>, ARG.<name>) and
// the C++ argument vectors are built, so the two sides cannot disagree on a position.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bouncegate::store_scripts {

enum Id {
  kGate,
  kRecord,
  kUnsubscribe,
  kRemove,
  kRate,
  kResubscribe,
  kCheck,
  kSweep,
  kSlots,
  kCount
};

struct Script {
  const char* name;               // "gate": the op label in metrics
  std::vector<const char*> keys;  // KEYS in order
  std::vector<const char*> args;  // named ARGV in order; more (the lease ladder) may follow
  std::string body;               // prelude + the file
  std::string sha;                // SHA-1 of body, for EVALSHA
};

const Script& script(Id id);

// Builds an argument vector by name: every named argument must be set once, in any order.
class Args {
 public:
  explicit Args(Id id);
  Args& set(std::string_view name, std::string value);
  // The vector in the script's order, then `extra` (the ladder); throws std::logic_error when
  // an argument was not set.
  std::vector<std::string> done(const std::vector<std::string>& extra = {}) const;

 private:
  const Script& s_;
  std::vector<std::string> values_;
  std::vector<bool> set_;
};

}  // namespace bouncegate::store_scripts
