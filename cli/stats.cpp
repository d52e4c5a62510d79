// `bouncegate stats`: per-domain outcome counts from the hourly counters, over a window, by
// domain (with a trend line of the bounce and block rate), by hour or day, or by class.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>

#include "cli/cli.hpp"
#include "core/csv.hpp"
#include "core/json.hpp"
#include "core/stats_tally.hpp"

namespace bouncegate::cli {
namespace {

std::string rate(int64_t part, int64_t total) {
  if (total == 0) return "-";
  char buf[16];
  snprintf(buf, sizeof buf, "%.1f%%",
           100.0 * static_cast<double>(part) / static_cast<double>(total));
  return buf;
}

// One block character per bucket, scaled to the highest rate in the line; "·" for a bucket
// without outcomes.
std::string sparkline(const std::vector<std::pair<int64_t, int64_t>>& part_total) {
  static const char* kBars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  double top = 0;
  for (auto [p, t] : part_total)
    if (t > 0) top = std::max(top, static_cast<double>(p) / static_cast<double>(t));
  std::string out;
  for (auto [p, t] : part_total) {
    if (t == 0) {
      out += "·";
      continue;
    }
    double r = static_cast<double>(p) / static_cast<double>(t);
    int i = top > 0 ? static_cast<int>(r / top * 7.0 + 0.5) : 0;
    out += kBars[std::clamp(i, 0, 7)];
  }
  return out;
}

// "2026112710" -> bucket label: hour "2026-11-27T10", day "2026-11-27".
std::string bucket_of(const std::string& hour, bool by_day) {
  if (hour.size() < 10) return hour;
  std::string d = hour.substr(0, 4) + "-" + hour.substr(4, 2) + "-" + hour.substr(6, 2);
  return by_day ? d : d + "T" + hour.substr(8, 2);
}

// Every bucket label from since to until, so a trend shows quiet hours too.
std::vector<std::string> buckets_between(int64_t since, int64_t until, bool by_day) {
  std::vector<std::string> out;
  const int64_t step = by_day ? 86'400'000 : 3'600'000;
  for (int64_t t = since - since % step; t <= until && out.size() < 24 * 400; t += step) {
    std::string iso = utc_iso(t);  // 2026-11-27T10:00:00Z
    out.push_back(by_day ? iso.substr(0, 10) : iso.substr(0, 13));
  }
  return out;
}

void print_row(const std::string& format, const std::vector<std::string>& keys,
               const std::vector<std::string>& key_names, const Tally& t,
               const std::string& trend) {
  if (format == "json") {
    JsonObject o;
    for (size_t i = 0; i < keys.size(); ++i) o.add(key_names[i], keys[i]);
    add_tally_fields(o, t);
    std::cout << o.str() << "\n";
    return;
  }
  const char* sep = format == "csv" ? "," : " ";
  for (const auto& k : keys) std::cout << (format == "csv" ? csv_field(k) : k) << sep;
  std::cout << t.total << sep << t.delivered << sep << t.hard << sep << t.soft << sep
            << t.reputation << sep << t.other() << sep << rate(t.delivered, t.total) << sep
            << rate(t.bounces(), t.total) << sep << rate(t.blocks, t.total) << sep << t.unverified
            << sep << t.entries;
  if (format == "table" && !trend.empty()) std::cout << sep << trend;
  std::cout << "\n";
}

}  // namespace

int cmd_stats(Context& ctx) {
  std::string by = ctx.args.opt_or("by", "domain");
  if (by != "domain" && by != "class" && by != "hour" && by != "day")
    throw UsageError("--by domain|hour|day|class");
  std::string format = ctx.json ? "json" : ctx.args.opt_or("format", "table");
  if (format != "table" && format != "csv" && format != "json")
    throw UsageError("--format table|csv|json");
  int64_t until = time_option(ctx.args, "until", now_ms());
  int64_t since = time_option(ctx.args, "since", until - 7 * 86'400'000ll);
  if (since > until) throw UsageError("--since is after --until");
  auto hourly = ctx.store().stats_by_hour(since, until, ctx.args.opt_or("domain", ""));

  if (by == "class") {
    std::map<std::string, int64_t> per;
    for (const auto& [d, hours] : hourly)
      for (const auto& [h, m] : hours)
        for (const auto& [c, n] : m) per[c] += n;
    if (format == "csv") std::cout << "class,count\n";
    for (const auto& [c, n] : per) {
      if (format == "json")
        std::cout << JsonObject().add("class", c).add("count", n).str() << "\n";
      else
        std::cout << c << (format == "csv" ? "," : " ") << n << "\n";
    }
    return kOk;
  }
  const std::string columns =
      "total delivered hard soft reputation other delivered% bounce% block% unverified "
      "operator_entries";
  auto header = [&](const std::string& keys, bool trend) {
    if (format == "json") return;
    std::string h =
        keys + " " + columns + (trend && format == "table" ? " trend(bounce|block)" : "");
    if (format == "csv")
      for (auto& c : h)
        if (c == ' ') c = ',';
    std::cout << h << "\n";
  };
  if (by == "domain") {
    // The trend: one bucket per day, or per hour for windows up to two days.
    const bool trend_by_day = until - since > 2 * 86'400'000ll;
    auto buckets = buckets_between(since, until, trend_by_day);
    header("domain", true);
    for (const auto& [d, hours] : hourly) {
      Tally all;
      std::map<std::string, Tally> per_bucket;
      for (const auto& [h, m] : hours)
        for (const auto& [c, n] : m) {
          all.add(c, n);
          per_bucket[bucket_of(h, trend_by_day)].add(c, n);
        }
      std::vector<std::pair<int64_t, int64_t>> bounce, block;
      for (const auto& b : buckets) {
        const Tally& t = per_bucket[b];
        bounce.emplace_back(t.bounces(), t.total);
        block.emplace_back(t.blocks, t.total);
      }
      print_row(format, {d}, {"domain"}, all, sparkline(bounce) + "|" + sparkline(block));
    }
    return kOk;
  }
  const bool by_day = by == "day";
  std::map<std::pair<std::string, std::string>, Tally> rows;  // (bucket, domain)
  for (const auto& [d, hours] : hourly)
    for (const auto& [h, m] : hours)
      for (const auto& [c, n] : m) rows[{bucket_of(h, by_day), d}].add(c, n);
  header(std::string(by_day ? "day" : "hour") + " domain", false);
  for (const auto& [k, t] : rows)
    print_row(format, {k.first, k.second}, {by_day ? "day" : "hour", "domain"}, t, "");
  return kOk;
}

}  // namespace bouncegate::cli
