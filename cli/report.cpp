// `bouncegate report`: the recorded events (full reply text, UTC times, ids) filtered by window,
// domain, class, source and address; `--case DOMAIN` writes an evidence bundle for a provider
// support ticket (Markdown summary and CSV) into a directory.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "cli/cli.hpp"
#include "core/address.hpp"
#include "core/csv.hpp"
#include "core/escape.hpp"
#include "core/event_filter.hpp"
#include "core/host_name.hpp"
#include "core/json.hpp"

namespace bouncegate::cli {
namespace {

// The whole reply an event holds: outcome texts carry the reply, manual ones only a reason.
std::string reply_of(const Event& ev) {
  std::string reply = ev.get("code");
  std::string text = ev.get("text");
  if (!text.empty())
    reply = (!reply.empty() && text.rfind(reply.substr(0, 3), 0) != 0) ? reply + " " + text : text;
  return reply;
}

const char* const kCsvHeader =
    "timestamp_utc,recipient,domain,class,action,reply,source,queue_id,message_id,rule,kind,"
    "verified,received_utc,provider_message_id,sender,remote_mta\n";

void csv_row(std::ostream& o, const Event& ev) {
  std::string addr = ev.get("addr");
  o << utc_iso(ev.ts_ms) << "," << csv_field(addr) << "," << csv_field(domain_of(addr)) << ","
    << ev.get("class") << "," << ev.get("action") << "," << csv_field(reply_of(ev)) << ","
    << ev.get("source") << "," << csv_field(ev.get("queue_id")) << ","
    << csv_field(ev.get("message_id")) << "," << csv_field(ev.get("rule")) << "," << ev.get("kind")
    << "," << ev.get("verified") << ","
    << (ev.get("received_ts").empty() ? "" : utc_iso(std::atoll(ev.get("received_ts").c_str())))
    << "," << csv_field(ev.get("provider_message_id")) << "," << csv_field(ev.get("sender")) << ","
    << csv_field(ev.get("remote_mta")) << "\n";
}

// Markdown table cell: one line, no pipe, control characters escaped.
std::string md_cell(const std::string& s) {
  std::string e = escape_control(s);
  std::string out;
  for (char c : e) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

// Blocks against the sender (reputation, sender, content) from delivery outcomes: what a
// provider's postmaster desk is asked about.
bool is_block(const Event& ev) {
  if (ev.get("kind") != "outcome") return false;
  auto c = outcome_class_from(ev.get("class"));
  return c && counts_as_block(*c);
}

int write_case(Context& ctx, const EventFilter& f, const std::vector<Event>& events) {
  std::string dir =
      ctx.args.opt_or("out", "bouncegate-case-" + f.domain + "-" + utc_iso(now_ms()).substr(0, 10));
  std::filesystem::create_directories(dir);
  std::vector<const Event*> blocks;
  for (const auto& ev : events)
    if (is_block(ev)) blocks.push_back(&ev);
  std::map<std::string, std::map<std::string, int64_t>> per_day;  // day -> class -> n
  std::map<std::string, std::pair<int64_t, std::pair<int64_t, int64_t>>> replies;  // n, first, last
  for (const auto* ev : blocks) {
    per_day[utc_iso(ev->ts_ms).substr(0, 10)][ev->get("class")]++;
    auto& r = replies[reply_of(*ev)];
    if (r.first++ == 0) r.second.first = ev->ts_ms;
    r.second.second = ev->ts_ms;
  }
  {
    std::ofstream csv(dir + "/replies.csv");
    csv << kCsvHeader;
    for (const auto* ev : blocks) csv_row(csv, *ev);
    if (!csv) throw std::runtime_error("cannot write " + dir + "/replies.csv");
  }
  {
    std::ofstream daily(dir + "/daily.csv");
    daily << "day_utc,class,count\n";
    for (const auto& [d, m] : per_day)
      for (const auto& [c, n] : m) daily << d << "," << c << "," << n << "\n";
    if (!daily) throw std::runtime_error("cannot write " + dir + "/daily.csv");
  }
  std::ofstream md(dir + "/README.md");
  md << "# Delivery blocked by " << md_cell(f.domain) << "\n\n"
     << "| | |\n|---|---|\n"
     << "| Recipient domain | " << md_cell(f.domain) << " |\n"
     << "| Window (UTC) | " << utc_iso(f.since) << " to " << utc_iso(f.until) << " |\n"
     << "| Blocked replies | " << blocks.size() << " |\n"
     << "| Distinct replies | " << replies.size() << " |\n"
     << "| Recorded by | " << md_cell(host_name()) << " |\n";
  const Config& cfg = ctx.cfg();
  if (!cfg.relay.upstream.host.empty())
    md << "| Sending through | " << md_cell(cfg.relay.upstream.host) << ":"
       << cfg.relay.upstream.port << " |\n";
  if (!blocks.empty())
    md << "| First / last | " << utc_iso(blocks.front()->ts_ms) << " / "
       << utc_iso(blocks.back()->ts_ms) << " |\n";
  md << "\n## Counts per day (UTC)\n\n| Day | Class | Count |\n|---|---|---|\n";
  for (const auto& [d, m] : per_day)
    for (const auto& [c, n] : m) md << "| " << d << " | " << c << " | " << n << " |\n";
  md << "\n## Distinct replies\n\n| Count | First seen | Last seen | Reply |\n|---|---|---|---|\n";
  for (const auto& [text, r] : replies)
    md << "| " << r.first << " | " << utc_iso(r.second.first) << " | " << utc_iso(r.second.second)
       << " | `" << md_cell(text) << "` |\n";
  md << "\n## Every blocked reply\n\n"
        "| Time (UTC) | Recipient | Class | Sender | Queue id | Message-ID | Provider message id "
        "| Receiving MTA | Reply |\n"
        "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto* ev : blocks)
    md << "| " << utc_iso(ev->ts_ms) << " | " << md_cell(ev->get("addr")) << " | "
       << ev->get("class") << " | " << md_cell(ev->get("sender")) << " | "
       << md_cell(ev->get("queue_id")) << " | " << md_cell(ev->get("message_id")) << " | "
       << md_cell(ev->get("provider_message_id")) << " | " << md_cell(ev->get("remote_mta"))
       << " | `" << md_cell(reply_of(*ev)) << "` |\n";
  md << "\nThe same rows are in replies.csv; daily.csv holds the counts per day.\n";
  if (!md) throw std::runtime_error("cannot write " + dir + "/README.md");
  if (ctx.json)
    std::cout << JsonObject()
                     .add("dir", dir)
                     .add("blocked", static_cast<int64_t>(blocks.size()))
                     .add("distinct_replies", static_cast<int64_t>(replies.size()))
                     .str()
              << "\n";
  else
    std::cout << dir << ": " << blocks.size() << " blocked replies (" << replies.size()
              << " distinct), README.md replies.csv daily.csv\n";
  return kOk;
}

}  // namespace

int cmd_report(Context& ctx) {
  std::string format = ctx.json ? "json" : ctx.args.opt_or("format", "text");
  if (format != "text" && format != "csv" && format != "json")
    throw UsageError("--format text|csv|json");
  EventFilter f;
  f.domain = ctx.args.opt_or("domain", "");
  f.cls = ctx.args.opt_or("class", "");
  f.source = ctx.args.opt_or("source", "");
  if (!f.cls.empty() && !outcome_class_from(f.cls)) throw UsageError("unknown --class " + f.cls);
  if (!f.source.empty() && !source_from(f.source)) throw UsageError("unknown --source " + f.source);
  if (auto a = ctx.args.opt("address")) f.address = need_address(*a);
  f.until = time_option(ctx.args, "until", now_ms());
  f.since = time_option(ctx.args, "since", f.until - 7 * 86'400'000ll);
  if (f.since > f.until) throw UsageError("--since is after --until");
  if (auto c = ctx.args.opt("case")) {
    std::string d = need_address("x@" + *c);
    f.domain = domain_of(d);
  }
  std::vector<Event> events;
  for (auto& ev : ctx.store().events_since(f.since))
    if (f.keep(ev)) events.push_back(std::move(ev));
  if (ctx.args.opt("case")) return write_case(ctx, f, events);

  if (format == "csv") std::cout << kCsvHeader;
  for (const auto& ev : events) {
    std::string addr = ev.get("addr");
    if (format == "csv") {
      csv_row(std::cout, ev);
    } else if (format == "json") {
      std::cout << event_json(ev) << "\n";
    } else {
      std::cout << utc_iso(ev.ts_ms) << " " << escape_control(addr) << " kind=" << ev.get("kind")
                << " class=" << ev.get("class") << " action=" << ev.get("action")
                << " source=" << ev.get("source")
                << (ev.get("queue_id").empty() ? ""
                                               : " queue_id=" + escape_control(ev.get("queue_id")))
                << (ev.get("kind") == "gate" ? " result=" + ev.get("result") : "")
                << (ev.get("verified").empty() ? "" : " verified=" + ev.get("verified"))
                << (ev.get("kind") == "import" ? " rows=" + ev.get("rows") : "");
      for (const char* k : {"sender", "provider_message_id", "remote_mta"})
        if (!ev.get(k).empty()) std::cout << " " << k << "=" << escape_control(ev.get(k));
      std::cout << "\n    " << escape_control(reply_of(ev)) << "\n";
    }
  }
  if (format == "text") std::cout << events.size() << " events\n";
  return kOk;
}

}  // namespace bouncegate::cli
