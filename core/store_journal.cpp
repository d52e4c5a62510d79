// The suppression store's local journal: outcomes that could not reach Redis are appended to
// suppression.journal_path (one tab-separated line each) and replayed, idempotently, later.
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

#include "core/store.hpp"

namespace bouncegate {
namespace {

// Journal lines: tab-separated fields with \t, \n and \\ escaped.
std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\')
      o += "\\\\";
    else if (c == '\t')
      o += "\\t";
    else if (c == '\n')
      o += "\\n";
    else if (c == '\r')
      o += "\\r";
    else
      o += c;
  }
  return o;
}
std::vector<std::string> split_unesc(const std::string& line) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\t') {
      out.emplace_back();
    } else if (c == '\\' && i + 1 < line.size()) {
      char n = line[++i];
      out.back() += n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n;
    } else {
      out.back() += c;
    }
  }
  return out;
}

// One lock per journal file for the whole process: after a reload the old store (still
// writing for the sessions that started before) and the new one share the file.
std::mutex& journal_mutex(const std::string& path) {
  static std::mutex guard;
  static std::map<std::string, std::unique_ptr<std::mutex>> locks;
  std::lock_guard lock(guard);
  auto& m = locks[path];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

}  // namespace

RecordResult SuppressionStore::record_or_journal(const OutcomeRecord& o) {
  RecordResult e;
  try {
    e = record(o);
  } catch (const StoreError&) {
    if (sup_.journal_path.empty()) throw;
    return journal_record(o);
  }
  replay_if_journal_may_hold();
  return e;
}

void SuppressionStore::replay_if_journal_may_hold() {
  // The journal is looked at only while it may hold something (two stat calls a record
  // otherwise): from the start until it is seen empty, and again after each append.
  if (!journal_maybe_.load(std::memory_order_relaxed)) return;
  if (journal_size() > 0) {
    try {
      replay_journal();
    } catch (const StoreError&) {
      // What was kept stays kept; the relay's periodic replay tries again.
    }
  } else
    journal_maybe_.store(false, std::memory_order_relaxed);
}

RecordResult SuppressionStore::journal_record(const OutcomeRecord& o) {
  if (sup_.journal_path.empty()) throw StoreError("no suppression.journal_path to keep it in");
  {
    std::lock_guard lock(journal_mutex(sup_.journal_path));
    std::filesystem::create_directories(std::filesystem::path(sup_.journal_path).parent_path());
    std::ofstream out(sup_.journal_path, std::ios::app);
    if (!out) throw StoreError("journal " + sup_.journal_path + " not writable");
    out << esc(o.address) << '\t' << to_string(o.cls) << '\t' << to_string(o.action) << '\t'
        << esc(o.code) << '\t' << esc(o.text) << '\t' << esc(o.rule) << '\t'
        << to_string(o.ctx.source) << '\t' << esc(o.ctx.queue_id) << '\t' << esc(o.ctx.message_id)
        << '\t' << (o.ttl ? std::to_string(o.ttl->count()) : std::string()) << '\t' << esc(o.reason)
        << '\t' << (o.counts_for_domain ? "" : "-") << '\t' << esc(o.dedupe_id) << '\t'
        << (o.dedupe_id.empty() ? std::string() : std::to_string(o.dedupe_ttl.count())) << '\t'
        << esc(o.verified) << '\t' << to_string(o.origin) << '\t' << esc(o.list) << '\t'
        << o.first_seen_ms << '\t' << o.last_seen_ms << '\t' << (o.about_mailbox ? "m" : "") << '\t'
        << (o.subdomains ? "1" : "") << '\t' << o.occurred_ms << '\t' << esc(o.provider_message_id)
        << '\t' << esc(o.sender) << '\t' << esc(o.remote_mta) << '\t' << (o.steps_lease ? "1" : "")
        << '\n';
    out.flush();
    if (!out) throw StoreError("journal " + sup_.journal_path + " not writable");
  }
  journal_maybe_.store(true, std::memory_order_relaxed);
  RecordResult r;
  r.journaled = true;
  return r;
}

size_t SuppressionStore::journal_size() {
  // A replay interrupted by a crash leaves its work file; it counts until it is finished.
  size_t total = 0;
  for (const std::string& p : {sup_.journal_path, sup_.journal_path + ".replay"}) {
    std::error_code ec;
    auto n = std::filesystem::file_size(p, ec);
    if (!ec) total += static_cast<size_t>(n);
  }
  return total;
}

size_t SuppressionStore::replay_journal() {
  std::lock_guard lock(journal_mutex(sup_.journal_path));
  std::string work = sup_.journal_path + ".replay";
  std::error_code ec;
  // A previous replay interrupted half-way is finished first; records are idempotent enough
  // (a lease is never shortened), so a repeated line does no harm.
  if (!std::filesystem::exists(work, ec)) {
    std::filesystem::rename(sup_.journal_path, work, ec);
    if (ec) return 0;
  }
  std::ifstream in(work);
  std::vector<std::string> failed;
  std::string line;
  size_t done = 0;
  bool down = false;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (down) {
      failed.push_back(line);
      continue;
    }
    auto f = split_unesc(line);
    if (f.size() < 11) continue;
    OutcomeRecord o;
    o.address = f[0];
    o.cls = outcome_class_from(f[1]).value_or(OutcomeClass::unknown);
    o.action = action_from(f[2]).value_or(Action::record);
    o.code = f[3];
    o.text = f[4];
    o.rule = f[5];
    o.ctx.source = source_from(f[6]).value_or(Source::relay);
    o.ctx.queue_id = f[7];
    o.ctx.message_id = f[8];
    if (!f[9].empty()) o.ttl = Millis(std::atoll(f[9].c_str()));
    o.reason = f[10];
    o.counts_for_domain = f.size() < 12 || f[11] != "-";  // field 12 is newer
    if (f.size() >= 14 && !f[12].empty()) {  // the idempotency key: a late apply counts once
      o.dedupe_id = f[12];
      o.dedupe_ttl = Millis(std::atoll(f[13].c_str()));
    }
    if (f.size() >= 18) {  // fields 15-18 are newer
      o.verified = f[14];
      o.origin = record_origin_from(f[15]).value_or(RecordOrigin::outcome);
      o.list = f[16];
      o.first_seen_ms = std::atoll(f[17].c_str());
    }
    if (f.size() >= 19) o.last_seen_ms = std::atoll(f[18].c_str());
    if (f.size() >= 21) {  // fields 20-21 are newer
      o.about_mailbox = f[19] == "m";
      o.subdomains = f[20] == "1";
    }
    if (f.size() >= 26) {  // fields 22-26 are newer
      o.occurred_ms = std::atoll(f[21].c_str());
      o.provider_message_id = f[22];
      o.sender = f[23];
      o.remote_mta = f[24];
      o.steps_lease = f[25] == "1";
    }
    try {
      if (!record(o).duplicate) ++done;
    } catch (const StoreError&) {
      down = true;
      failed.push_back(line);
    }
  }
  in.close();
  if (!failed.empty()) {
    std::ofstream out(sup_.journal_path, std::ios::app);
    for (const auto& l : failed) out << l << '\n';
  }
  std::filesystem::remove(work, ec);
  return done;
}

}  // namespace bouncegate
