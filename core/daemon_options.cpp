// The daemons' options through CLI11, as the admin CLI's (docs/design-notes.md: why CLI11).
#include "core/daemon_options.hpp"

#include <CLI/CLI.hpp>

#include "core/config.hpp"

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

}  // namespace bouncegate
