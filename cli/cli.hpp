// The admin CLI's shared pieces: argument parsing, exit codes and the verb table.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/store.hpp"

namespace bouncegate::cli {

// sysexits.h values, as Postfix's pipe(8) understands them.
enum Exit : int {
  kOk = 0,
  kNotFound = 1,
  kUsage = 64,
  kDataErr = 65,
  kUnavailable = 69,
  kTempFail = 75,
  kConfig = 78,
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "--name value", "--name=value" and "--flag"; the rest are positional.
class Args {
 public:
  Args(const std::vector<std::string>& argv, const std::vector<std::string>& flags);
  std::optional<std::string> opt(const std::string& name) const;
  std::string opt_or(const std::string& name, const std::string& def) const;
  bool flag(const std::string& name) const;
  const std::vector<std::string>& positional() const { return pos_; }
  // Throws UsageError when an option that no verb reads was given.
  void reject_unknown(const std::vector<std::string>& known) const;

 private:
  std::map<std::string, std::string> opts_;
  std::vector<std::string> flags_;
  std::vector<std::string> pos_;
};

struct Context {
  Args args;
  std::string config_path;
  bool json = false;
  std::shared_ptr<const Config> config;  // loaded lazily by load()
  std::unique_ptr<SuppressionStore> store_;
  const Config& cfg();
  SuppressionStore& store();
};

using Verb = std::function<int(Context&)>;

// Verbs defined in other files of cli/ (registered in main.cpp's table).
int cmd_ingest(Context& ctx);  // ingest.cpp: DSN/ARF on stdin (Postfix pipe)
int cmd_token(Context& ctx);   // token.cpp: seal/open unsubscribe tokens

}  // namespace bouncegate::cli
