// `bouncegate export` and `bouncegate import`: every suppression and unsubscription out and back
// in, CSV (RFC 4180) or JSON lines, streamed in constant memory with a progress line on a
// terminal. An import validates the whole file before writing a row.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>

#include "cli/cli.hpp"
#include "core/address.hpp"
#include "core/csv.hpp"
#include "core/escape.hpp"
#include "core/import_row.hpp"
#include "core/json.hpp"
#include "core/json_parse.hpp"
#include "core/learn.hpp"

namespace bouncegate::cli {
namespace {

const char* const kCsvHeader =
    "address,class,action,level,ttl_seconds,code,text,hits,source,first_seen,last_seen,reason,"
    "list,subdomains\n";

// Rows per pipelined write: large enough to hide the round trip, small enough for a steady
// progress line.
constexpr size_t kBatch = 1000;

// "\r12000 rows, 51000 rows/s, 40% (ETA 3s)" on stderr when it is a terminal, at most 4 a second.
class Progress {
 public:
  Progress(const char* verb, uint64_t total_bytes)
      : verb_(verb), total_(total_bytes), on_(isatty(STDERR_FILENO) == 1) {}
  void update(size_t rows, uint64_t bytes_done) {
    if (!on_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = secs > 0 ? static_cast<double>(rows) / secs : 0;
    std::fprintf(stderr, "\r%s: %zu rows, %.0f rows/s", verb_, rows, rate);
    if (total_ > 0 && bytes_done > 0 && bytes_done <= total_) {
      double frac = static_cast<double>(bytes_done) / static_cast<double>(total_);
      std::fprintf(stderr, ", %.0f%% (ETA %.0fs)", 100 * frac, secs / frac - secs);
    }
    std::fprintf(stderr, "   ");
    shown_ = true;
  }
  void done() {
    if (shown_) std::fprintf(stderr, "\n");
  }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  const char* verb_;
  uint64_t total_;
  bool on_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_{};
};

std::string iso_or_empty(int64_t ms) {
  return ms ? utc_iso(ms) : std::string();
}

// Reads rows from CSV (a header naming "address" first, or a plain one-column list) or JSON
// lines (export --json); the first non-blank character tells which.
class RowReader {
 public:
  explicit RowReader(std::istream& in) : in_(in), csv_(in) {
    int c;
    while ((c = in_.peek()) != EOF && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
      if (c == '\n') ++skipped_lines_;
      in_.get();
    }
    json_ = c == '{';
  }
  // False at the end; otherwise `row` is filled, or `error` says why the record is unusable.
  bool next(Row& row, std::string& error) {
    row.clear();
    error.clear();
    return json_ ? next_json(row, error) : next_csv(row, error);
  }
  size_t line() const { return json_ ? line_ : csv_.line() + skipped_lines_; }
  bool json() const { return json_; }

 private:
  bool next_json(Row& row, std::string& error) {
    std::string text;
    do {
      if (!std::getline(in_, text)) return false;
      ++line_;
    } while (text.find_first_not_of(" \t\r") == std::string::npos);
    if (auto r = row_from_json_line(text, &error)) row = std::move(*r);
    return true;
  }
  bool next_csv(Row& row, std::string& error) {
    std::vector<std::string> f;
    for (;;) {
      if (!csv_.next(f)) return false;
      if (!csv_.error().empty()) {
        error = csv_.error();
        return true;
      }
      if (f.size() == 1 && (f[0].empty() || f[0][0] == '#')) continue;
      if (header_.empty()) {
        if (f[0] == "address") {
          header_ = f;
          continue;
        }
        header_ = {"address"};
      }
      break;
    }
    for (size_t i = 0; i < header_.size() && i < f.size(); ++i) row[header_[i]] = csv_unguard(f[i]);
    return true;
  }

  std::istream& in_;
  CsvReader csv_;
  bool json_ = false;
  size_t line_ = 0, skipped_lines_ = 0;
  std::vector<std::string> header_;
};

}  // namespace

// Streams every entry, then every unsubscription (SCAN order, not sorted: constant memory).
int cmd_export(Context& ctx) {
  std::string format = ctx.json ? "json" : ctx.args.opt_or("format", "csv");
  if (format != "csv" && format != "json") throw UsageError("--format csv|json");
  const bool csv = format == "csv";
  std::string domain = ctx.args.opt_or("domain", "");
  if (csv) std::cout << kCsvHeader;
  Progress progress("export", 0);
  size_t rows = 0;
  ScanFilter f;
  f.domain = domain;
  ctx.store().for_each_entry(f, [&](const Entry& e) {
    if (!csv) {
      std::cout << entry_json(e) << "\n";
    } else {
      std::cout << csv_field(e.address) << "," << to_string(e.cls) << "," << to_string(e.action)
                << "," << e.level << "," << (e.ttl_ms < 0 ? -1 : e.ttl_ms / 1000) << ","
                << csv_field(e.code) << "," << csv_field(e.text) << "," << e.hits << "," << e.source
                << "," << iso_or_empty(e.first_ms) << "," << iso_or_empty(e.last_ms) << ","
                << csv_field(e.reason) << ","
                << "," << (e.subdomains ? "1" : "") << "\n";
    }
    progress.update(++rows, 0);
    return true;
  });
  ctx.store().for_each_unsubscription(domain, [&](const SuppressionStore::Unsubscription& u) {
    if (!csv)
      std::cout << JsonObject()
                       .add("address", u.address)
                       .add("class", "unsubscribe")
                       .add("action", "reject")
                       .add("list", u.list)
                       .add("unsubscribed_at", iso_or_empty(u.at_ms))
                       .add("source", u.source)
                       .str()
                << "\n";
    else
      std::cout << csv_field(u.address) << ",unsubscribe,reject,0,-1,,,0," << csv_field(u.source)
                << "," << iso_or_empty(u.at_ms) << ",,," << csv_field(u.list) << ",\n";
    progress.update(++rows, 0);
    return true;
  });
  std::cout.flush();
  progress.done();
  if (!std::cout) throw std::runtime_error("export: write failed");
  if (isatty(STDERR_FILENO) == 1)
    std::fprintf(stderr, "export: %zu rows in %.1fs\n", rows, progress.seconds());
  return kOk;
}

// Two passes: the whole file is checked first (nothing is written when any row is bad), then
// written in pipelined batches. Standard input is spooled to a temporary file for the second
// pass. Imported rows are not delivery outcomes: they count as "imported" in the per-domain
// statistics and the import writes one summary event.
int cmd_import(Context& ctx) {
  if (ctx.args.positional().size() != 1)
    throw UsageError("import FILE ('-' for stdin; CSV or JSON lines as export writes them)");
  std::string path = ctx.args.positional()[0];
  const bool dry_run = ctx.args.flag("dry-run");
  std::string name = path == "-" ? "(stdin)" : path;
  std::FILE* spool = nullptr;
  std::string spool_path;
  if (path == "-") {
    char tmpl[] = "/tmp/bouncegate-import.XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) throw std::runtime_error("cannot create a spool file in /tmp");
    spool_path = tmpl;
    spool = fdopen(fd, "w");
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) std::fwrite(buf, 1, n, spool);
    std::fclose(spool);
    path = spool_path;
  }
  struct Unlink {
    std::string p;
    ~Unlink() {
      if (!p.empty()) ::unlink(p.c_str());
    }
  } unlink_spool{spool_path};

  std::error_code ec;
  uint64_t total_bytes = std::filesystem::file_size(path, ec);
  auto pass = [&](const std::function<void(OutcomeRecord &&)>& take,
                  std::vector<std::string>& errors, Progress* progress) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError("cannot read " + escape_control(name));
    RowReader reader(in);
    Row row;
    std::string error;
    size_t rows = 0;
    while (reader.next(row, error)) {
      std::string where = name + ":" + std::to_string(reader.line()) + ": ";
      if (!error.empty()) {
        errors.push_back(where + error);
        if (!reader.json()) break;  // a broken CSV quote leaves nothing to read after it
        continue;
      }
      std::string why;
      auto o = record_for_row(ctx.cfg(), row, &why);
      if (!o) {
        errors.push_back(where + why);
        if (errors.size() >= 100) break;
        continue;
      }
      take(std::move(*o));
      if (progress) {
        auto pos = in.tellg();
        progress->update(++rows, pos < 0 ? total_bytes : static_cast<uint64_t>(pos));
      }
    }
  };

  std::vector<std::string> errors;
  size_t valid = 0;
  pass([&](OutcomeRecord&&) { ++valid; }, errors, nullptr);
  for (const auto& e : errors) std::cerr << e << "\n";
  if (!errors.empty()) {
    std::cerr << "bouncegate import: nothing written (" << errors.size()
              << (errors.size() >= 100 ? "+" : "") << " bad rows): fix the file and import again\n";
    return kDataErr;
  }
  size_t written = 0;
  if (!dry_run && valid > 0) {
    Progress progress("import", total_bytes);
    // Double-buffered: one batch is written (a pooled connection, another thread) while the
    // next is read and checked, so parsing and Redis's script time overlap.
    std::vector<OutcomeRecord> batch;
    batch.reserve(kBatch);
    std::future<size_t> in_flight;
    auto flush = [&] {
      if (in_flight.valid()) written += in_flight.get();
      if (batch.empty()) return;
      in_flight = std::async(std::launch::async, [&store = ctx.store(), b = std::move(batch)] {
        return store.record_batch(b);
      });
      batch = {};
      batch.reserve(kBatch);
    };
    pass(
        [&](OutcomeRecord&& o) {
          batch.push_back(std::move(o));
          if (batch.size() >= kBatch) flush();
        },
        errors, &progress);
    flush();
    if (in_flight.valid()) written += in_flight.get();
    progress.done();
    EventContext ec;
    ec.source = Source::cli;
    ctx.store().log_import(name, written, ec);
    if (isatty(STDERR_FILENO) == 1)
      std::fprintf(stderr, "import: %zu rows in %.1fs\n", written, progress.seconds());
  }
  size_t count = dry_run ? valid : written;
  if (ctx.json)
    std::cout << JsonObject().add(dry_run ? "valid" : "imported", static_cast<int64_t>(count)).str()
              << "\n";
  else
    std::cout << count << " rows " << (dry_run ? "valid" : "imported") << "\n";
  return kOk;
}

}  // namespace bouncegate::cli
