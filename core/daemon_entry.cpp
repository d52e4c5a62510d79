// The daemons' front door: options through CLI11 (docs/design-notes.md: why CLI11), the
// configuration loaded and checked, logging set up.
#include "core/daemon_entry.hpp"

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "core/config_check.hpp"
#include "core/log.hpp"

namespace bouncegate {

std::optional<int> parse_daemon_options(const std::string& name, const std::string& summary,
                                        const std::string& check_help,
                                        const std::string& exit_codes, int argc,
                                        const char* const* argv, DaemonOptions& out) {
  CLI::App app{summary, name};
  app.set_version_flag("--version", name + " " + BOUNCEGATE_VERSION);
  out.config_path = kDefaultConfigPath;
  app.add_option("--config", out.config_path, "the configuration file")
      ->envname("BOUNCEGATE_CONFIG")
      ->type_name("FILE")
      ->capture_default_str();
  app.add_flag("--check-config", out.check_config, check_help);
  app.add_flag("--foreground", out.foreground,
               "accepted for service managers: the daemon always runs in the foreground");
  app.footer("Exit codes: " + exit_codes +
             ".\nSignals: SIGHUP reloads the configuration, SIGTERM stops.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 64;
  }
  return std::nullopt;
}

DaemonStart daemon_front_door(const DaemonSpec& spec, int argc, const char* const* argv) {
  DaemonStart start;
  DaemonOptions opts;
  if (auto rc = parse_daemon_options(spec.name, spec.summary, spec.check_help, spec.exit_codes,
                                     argc, argv, opts)) {
    start.exit = *rc;
    return start;
  }
  start.config_path = opts.config_path;
  std::vector<std::string> warnings;
  try {
    start.config = load_config(opts.config_path);
    if (spec.extra_check) spec.extra_check(*start.config);
    warnings = check_config_complete(*start.config);
  } catch (const std::exception& e) {
    std::cerr << spec.name << ": " << e.what() << "\n";
    start.exit = 78;  // EX_CONFIG
    return start;
  }
  if (opts.check_config) {
    for (const auto& w : warnings) std::cerr << spec.name << ": warning: " << w << "\n";
    std::cout << start.config->source_file << ": ok"
              << (spec.describe ? " (" + spec.describe(*start.config) + ")" : std::string())
              << "\n";
    start.exit = 0;
    return start;
  }
  log_configure(start.config->logging.json, start.config->logging.level, spec.name);
  // A peer that closed its socket (Redis, a client, the upstream) must cost one error, not the
  // process: hiredis and libcurl write with write(2), which raises SIGPIPE on a dead peer.
  std::signal(SIGPIPE, SIG_IGN);
  for (const auto& w : warnings) log_event(LogLevel::warning, "", w);
  return start;
}

}  // namespace bouncegate
