// Pushes suppressions, complaints and unsubscribes to ACS's suppression lists through ARM.
#include "web/acs_push.hpp"

#include "core/acs_lists.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/store.hpp"

namespace bouncegate::web {

namespace {
// What bouncegate holds now decides, not the change alone: a put is sent only while the
// address is still held (so a retried put never undoes a later remove), a removal only when
// nothing held would push it (a resubscribe from one list leaves a complaint in force).
bool still_blocked(SuppressionStore& store, const AcsListsConfig& c, const std::string& addr) {
  auto e = store.get(addr);
  if (e && e->action == Action::suppress_permanent) return true;
  for (const auto& [list, ms] : store.unsubscriptions(addr))
    for (const auto& pushed : c.unsubscribe_lists)
      if (list == pushed) return true;
  return false;
}
}  // namespace

bool AcsListPusher::attempt(const WebState& st, const Event& ev) {
  const AcsListsConfig& c = st.config->acs.suppression_lists;
  auto change = acs_list_change(ev, c);
  if (!change) return true;
  const bool put = change->op == AcsListChange::Op::put;
  if (put != still_blocked(*st.store, c, change->address)) return true;  // overtaken
  auto& metrics = Metrics::instance();
  try {
    if (built_for_ != st.config || !arm_) {
      arm_ = std::make_unique<ArmClient>(c, stop_, kPushAttempts);
      built_for_ = st.config;
    }
    for (const auto& t : c.targets) {
      if (put)
        arm_->put_address(t, change->address, change->notes);
      else
        arm_->remove_address(t, change->address);
    }
  } catch (const std::exception& e) {
    metrics.inc("bouncegate_acs_list_pushes_total",
                {{"op", put ? "put" : "remove"}, {"result", "error"}});
    log_event(LogLevel::warning, "", "ACS suppression list push failed",
              {{"event_id", ev.id}, {"op", put ? "put" : "remove"}, {"error", e.what()}});
    return false;
  }
  metrics.inc("bouncegate_acs_list_pushes_total",
              {{"op", put ? "put" : "remove"}, {"result", "ok"}});
  log_event(LogLevel::info, "", "ACS suppression lists updated",
            {{"event_id", ev.id},
             {"op", put ? "put" : "remove"},
             {"lists", std::to_string(c.targets.size())}});
  return true;
}

}  // namespace bouncegate::web
