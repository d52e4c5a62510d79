// The daemons' command line, one parser for all three: --config FILE (else $BOUNCEGATE_CONFIG,
// else the default path), --check-config, --foreground, --help, --version.
#pragma once

#include <optional>
#include <string>

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

}  // namespace bouncegate
