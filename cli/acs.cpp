// bouncegate acs pull: what ACS's customer-managed suppression lists hold, imported as
// permanent entries (acs.suppression_lists; the push side runs in bouncegate-web).
#include <iostream>

#include "cli/cli.hpp"
#include "core/acs_lists.hpp"
#include "core/address.hpp"
#include "core/arm_client.hpp"
#include "core/escape.hpp"
#include "core/json.hpp"
#include "core/learn.hpp"

namespace bouncegate::cli {

namespace {

struct PullTally {
  size_t seen = 0, added = 0, present = 0, bad = 0, own = 0;
};

}  // namespace

int cmd_acs(Context& ctx) {
  const auto& pos = ctx.args.positional();
  if (pos.size() != 1 || pos[0] != "pull")
    throw UsageError("acs pull [--dry-run]: import what ACS's suppression lists hold");
  const Config& cfg = ctx.cfg();
  const AcsListsConfig& c = cfg.acs.suppression_lists;
  if (!c.configured()) {
    std::cerr << "bouncegate acs: no acs.suppression_lists.lists in " << ctx.config_path << "\n";
    return kConfig;
  }
  const bool dry_run = ctx.args.flag("dry-run");
  ArmClient arm(c);
  EventContext ec;
  ec.source = Source::acs;
  ec.actor = kAcsListActor;
  int status = kOk;
  for (const auto& t : c.targets) {
    const std::string name = t.domain + "/" + t.list;
    // A list scoped to one sender stops only that sender's mail: pulled as a block for every
    // sender it would over-suppress, so it is pulled only as unsubscribes from pull_list.
    if (!t.list_name.empty() && t.pull_list.empty()) {
      std::cerr << "bouncegate acs pull: " << escape_control(name) << " applies to sender '"
                << escape_control(t.list_name)
                << "' only: not pulled (set pull_list to import it as unsubscribes)\n";
      continue;
    }
    const bool as_unsubscribes = !t.list_name.empty();
    PullTally tally;
    std::vector<OutcomeRecord> batch;
    auto flush = [&] {
      if (!dry_run && !batch.empty()) ctx.store().record_batch(batch);
      batch.clear();
    };
    try {
      arm.for_each_address(t, [&](const std::string& resource, const std::string& email) {
        ++tally.seen;
        std::string why;
        auto a = normalize_address(email, &why);
        if (!a) {
          ++tally.bad;
          std::cerr << name << ": skipped '" << escape_control(email) << "': " << why << "\n";
          return;
        }
        // bouncegate's own pushes: what bouncegate holds decides them, not their copy at ACS
        // (pulled back, a pushed unsubscribe would come back as a permanent block).
        if (resource == acs_address_id(a->address)) {
          ++tally.own;
          return;
        }
        bool present = false;
        if (as_unsubscribes) {
          present = ctx.store().unsubscriptions(a->address).count(t.pull_list) > 0;
        } else {
          auto existing = ctx.store().get(a->address);
          present = existing && existing->action == Action::suppress_permanent;
        }
        if (present) {
          ++tally.present;  // pulling again changes nothing
          return;
        }
        ++tally.added;
        if (dry_run) {
          if (!ctx.json) std::cout << "would add " << escape_control(a->address) << "\n";
          return;
        }
        OutcomeRecord o = operator_entry(cfg, a->address, OutcomeClass::upstream_suppressed,
                                         RecordOrigin::import);
        o.action = Action::suppress_permanent;
        o.reason = "on ACS suppression list " + name;
        o.ctx = ec;
        batch.push_back(std::move(o));
        if (batch.size() >= 500) flush();
      });
      flush();
      if (!dry_run && tally.added > 0) ctx.store().log_import("acs:" + name, tally.added, ec);
    } catch (const std::exception& e) {
      flush();  // what was read is kept; a second pull goes on where this one stopped
      std::cerr << "bouncegate acs pull: " << escape_control(name) << ": "
                << escape_control(e.what()) << "\n";
      status = kTempFail;
    }
    if (ctx.json)
      std::cout << JsonObject()
                       .add("list", name)
                       .add("seen", static_cast<int64_t>(tally.seen))
                       .add(dry_run ? "would_add" : "added", static_cast<int64_t>(tally.added))
                       .add("already_suppressed", static_cast<int64_t>(tally.present))
                       .add("skipped", static_cast<int64_t>(tally.bad))
                       .add("pushed_by_bouncegate", static_cast<int64_t>(tally.own))
                       .str()
                << "\n";
    else
      std::cout << name << ": " << tally.seen << " addresses, " << tally.added
                << (dry_run ? " would be added, " : " added, ") << tally.present
                << (as_unsubscribes ? " already unsubscribed, "
                                    : " already suppressed permanently, ")
                << tally.own << " pushed by bouncegate, " << tally.bad << " skipped\n";
  }
  return status;
}

}  // namespace bouncegate::cli
