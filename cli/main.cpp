// bouncegate admin CLI entry: global options (--config, --json, --version), one subcommand per
// verb from the verb table (CLI11), and the mapping from failures to sysexits codes.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/cli.hpp"
#include "core/config.hpp"

namespace {

const char* const kExitCodes =
    "Global options (before or after the verb): --config FILE (else $BOUNCEGATE_CONFIG, else\n"
    "/etc/bouncegate/bouncegate.yaml), --json, --version.\n"
    "Exit codes: 0 ok, 1 not found, 64 usage, 65 bad input, 69 Redis unavailable,\n"
    "            75 temporary failure, 78 bad configuration.";

}  // namespace

int main(int argc, char** argv) {
  using namespace bouncegate;
  using namespace bouncegate::cli;
  CLI::App app{
      "bouncegate: inspect and change the suppression cache, classify replies, read "
      "bounces and reports",
      "bouncegate"};
  app.set_version_flag("--version", std::string("bouncegate ") + BOUNCEGATE_VERSION);
  std::string config_path = kDefaultConfigPath;
  bool json = false;
  app.add_option("--config", config_path, "the configuration file")
      ->envname("BOUNCEGATE_CONFIG")
      ->type_name("FILE");
  app.add_flag("--json", json, "JSON output, one object per line");
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the verb too
  app.footer(kExitCodes);

  // Values by verb and option; map nodes stay put, so CLI11 may hold references into them.
  std::map<std::string, std::map<std::string, std::string>> values;
  std::map<std::string, std::vector<std::string>> positionals;
  std::map<std::string, CLI::App*> subs;
  for (const VerbSpec& v : verb_table()) {
    CLI::App* sub = app.add_subcommand(v.name, v.summary);
    sub->footer(kExitCodes);
    subs[v.name] = sub;
    for (const OptionSpec& o : v.options) {
      if (o.value.empty())
        sub->add_flag("--" + o.name, o.help);
      else
        sub->add_option("--" + o.name, values[v.name][o.name], o.help)->type_name(o.value);
    }
    if (!v.positionals.empty()) {
      // "ADDR", "[REPLY...]" name the positional; a richer form is shown as its description.
      std::string name;
      for (char c : v.positionals)
        if ((c >= 'A' && c <= 'Z') || c == '-') name += c;
      bool plain = name.size() + 5 >= v.positionals.size();
      sub->add_option(plain ? name : std::string("ARGS"), positionals[v.name], v.positionals)
          ->type_name("");
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsage;
  }

  const VerbSpec* verb = nullptr;
  for (const VerbSpec& v : verb_table())
    if (subs[v.name]->parsed()) verb = &v;
  if (!verb) return kUsage;
  std::map<std::string, std::string> opts;
  std::vector<std::string> flags;
  CLI::App* sub = subs[verb->name];
  for (const OptionSpec& o : verb->options) {
    if (sub->get_option("--" + o.name)->count() == 0) continue;
    if (o.value.empty())
      flags.push_back(o.name);
    else
      opts[o.name] = values[verb->name][o.name];
  }
  try {
    // Set from --config or $BOUNCEGATE_CONFIG (CLI11 counts both).
    const bool config_given = app.get_option("--config")->count() > 0;
    Context ctx{Args(std::move(opts), std::move(flags), positionals[verb->name]),
                config_path,
                json,
                config_given,
                nullptr,
                nullptr};
    return verb->run(ctx);
  } catch (const UsageError& e) {
    std::cerr << "bouncegate " << verb->name << ": " << e.what() << "\n"
              << "Run 'bouncegate " << verb->name << " --help' for its options.\n";
    return kUsage;
  } catch (const ConfigError& e) {
    std::cerr << "bouncegate: " << e.what() << "\n";
    return kConfig;
  } catch (const StoreError& e) {
    std::cerr << "bouncegate: suppression store unavailable: " << e.what() << "\n";
    return kUnavailable;
  } catch (const std::exception& e) {
    std::cerr << "bouncegate " << verb->name << ": " << e.what() << "\n";
    return kUsage;
  }
}
