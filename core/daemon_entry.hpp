// The daemons' front door, one for all three: the command line (--config FILE, else
// $BOUNCEGATE_CONFIG, else the default path; --check-config, --foreground, --help, --version),
// the configuration loaded and checked the same way (core/config_check plus the daemon's own
// check), --check-config answered, logging set up. Signals and readiness stay in each daemon:
// the milter must take them with sigwait beside libmilter's own signal thread, the relay and web
// on their Asio io_context. SIGPIPE is ignored here for all three.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/config.hpp"

namespace bouncegate {

struct DaemonOptions {
  std::string config_path;
  bool check_config = false;
  bool foreground = false;  // accepted by every daemon: they always run in the foreground
};

// Parses argv for the daemon `name` ("bouncegate-milter"); `check_help` says what
// --check-config checks, `exit_codes` lists the codes this daemon returns ("0 ok, 64 usage, ...").
// Returns the exit code when the process should stop here (--help and
// --version: 0, a usage error: 64, with the message on stderr); nullopt to go on.
std::optional<int> parse_daemon_options(const std::string& name, const std::string& summary,
                                        const std::string& check_help,
                                        const std::string& exit_codes, int argc,
                                        const char* const* argv, DaemonOptions& out);

struct DaemonSpec {
  std::string name;        // "bouncegate-relay"
  std::string summary;     // first line of --help
  std::string check_help;  // what --check-config checks
  std::string exit_codes;  // "0 ok, 64 usage, ..."
  // The daemon's own checks beyond the shared ones; throws (ConfigError) to refuse.
  std::function<void(const Config&)> extra_check;
  // The "(...)" of the "FILE: ok (...)" line --check-config prints.
  std::function<std::string(const Config&)> describe;
};

struct DaemonStart {
  std::optional<int> exit;  // set: stop with this code (help, version, check, bad config)
  std::string config_path;
  std::shared_ptr<const Config> config;
};

// Options, configuration and checks; with logging configured for `spec.name` when it goes on.
DaemonStart daemon_front_door(const DaemonSpec& spec, int argc, const char* const* argv);

}  // namespace bouncegate
