// The admin CLI's shared pieces: parsed arguments, exit codes, the verbs and the helpers more
// than one verb file uses. Options are declared once, in the verb table (cli/verbs.cpp).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/classify.hpp"
#include "core/config.hpp"
#include "core/entry_json.hpp"
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

// One verb's parsed arguments: the options given (by name, without "--"), the flags set and the
// positional arguments. Only options the verb declares ever get here.
class Args {
 public:
  Args() = default;
  Args(std::map<std::string, std::string> opts, std::vector<std::string> flags,
       std::vector<std::string> positional)
      : opts_(std::move(opts)), flags_(std::move(flags)), pos_(std::move(positional)) {}
  std::optional<std::string> opt(const std::string& name) const;
  std::string opt_or(const std::string& name, const std::string& def) const;
  bool flag(const std::string& name) const;
  const std::vector<std::string>& positional() const { return pos_; }

 private:
  std::map<std::string, std::string> opts_;
  std::vector<std::string> flags_;
  std::vector<std::string> pos_;
};

struct Context {
  Args args;
  std::string config_path;
  bool json = false;
  bool config_given = false;             // --config or $BOUNCEGATE_CONFIG, not the default path
  std::shared_ptr<const Config> config;  // loaded lazily by cfg()
  std::unique_ptr<SuppressionStore> store_;
  const Config& cfg();
  SuppressionStore& store();
};

using Verb = std::function<int(Context&)>;

// One option of a verb: `value` names its argument ("DURATION"); empty for a flag.
struct OptionSpec {
  std::string name;
  std::string value;
  std::string help;
};
struct VerbSpec {
  std::string name;
  std::string positionals;  // "ADDR", "[REPLY...]", "" for none
  std::string summary;
  std::vector<OptionSpec> options;
  Verb run;
};
// Every verb with its options and help: the one place usage text comes from.
const std::vector<VerbSpec>& verb_table();

// Helpers shared by the verb files (cli/common.cpp).
std::string need_address(const std::string& raw);
// A mailbox or a domain entry "*@domain" (add, show, remove): UsageError otherwise.
std::string need_entry_address(const std::string& raw);
void print_entry_text(const Entry& e);
EventContext cli_context(const Args& args);
// --since/--until: a duration ago ("7d") or an ISO time ("2026-11-27T10:00:00Z"); ms.
int64_t time_option(const Args& args, const std::string& name, int64_t def_ms);
// The rules after the first in Classifier::evidence: what the verdict outranked (explain).
std::string outranked_as_json(const std::vector<Classification>& evidence);
std::string outranked_as_text(const std::vector<Classification>& evidence);

// The verbs, by file.
int cmd_check_config(Context& ctx);  // inspect.cpp
int cmd_classify(Context& ctx);
int cmd_record(Context& ctx);  // entries.cpp
int cmd_gate(Context& ctx);
int cmd_show(Context& ctx);
int cmd_list(Context& ctx);
int cmd_add(Context& ctx);
int cmd_remove(Context& ctx);
int cmd_resubscribe(Context& ctx);
int cmd_import(Context& ctx);  // transfer.cpp
int cmd_export(Context& ctx);
int cmd_report(Context& ctx);  // report.cpp
int cmd_stats(Context& ctx);   // stats.cpp
int cmd_ingest(Context& ctx);  // ingest.cpp: DSN/ARF on stdin (Postfix pipe)
int cmd_token(Context& ctx);   // token.cpp: seal/open unsubscribe tokens
int cmd_acs(Context& ctx);     // acs.cpp: pull ACS's customer-managed suppression lists

}  // namespace bouncegate::cli
