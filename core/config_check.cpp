// The shared configuration check: keys, descriptor budget (core/descriptor_budget).
#include "core/config_check.hpp"

#include <sys/resource.h>

#include "core/descriptor_budget.hpp"
#include "core/unsubscribe.hpp"

namespace bouncegate {

std::vector<std::string> check_config_complete(const Config& cfg) {
  // The keys the milter seals with and the web daemon opens with: a file that cannot be read
  // is an error for every binary, not only the one that needs it first.
  (void)TokenKeyring::load(cfg.unsubscribe.key_files);
  std::vector<std::string> warnings;
  // Checked against this process's limit; the units set LimitNOFILE= (see docs/systemd.md).
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  if (auto w = descriptor_limit_warning(cfg, nofile.rlim_cur)) warnings.push_back(*w);
  return warnings;
}

}  // namespace bouncegate
