// Ingest driver: parse_feedback over a corpus of bounce/complaint messages, repeated for a
// fixed time, next to a baseline that reads the same files and touches every byte once.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "core/dsn.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Result {
  size_t messages = 0;
  size_t bytes = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(messages) / seconds : 0; }
  double mb_per_s() const { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0; }
};

// Calls `one(i)` on messages round-robin until `seconds` have passed (at least one full pass).
template <class One>
Result drive(size_t count, const std::vector<size_t>& sizes, double seconds, One one) {
  Result r;
  auto start = Clock::now();
  auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  do {
    for (size_t i = 0; i < count; ++i) {
      one(i);
      r.bytes += sizes[i];
    }
    r.messages += count;
  } while (Clock::now() < deadline);
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

void print(const char* name, const Result& r) {
  std::printf("%-9s %9zu messages in %.2fs = %9.0f/s  %7.1f MB/s\n", name, r.messages, r.seconds,
              r.rate(), r.mb_per_s());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: ingest_bench DIR [SECONDS]   (DIR holds *.eml messages)\n";
    return 64;
  }
  double seconds = argc > 2 ? std::stod(argv[2]) : 2.0;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(argv[1]))
    if (e.is_regular_file() && e.path().extension() == ".eml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::cerr << "ingest_bench: no .eml files in " << argv[1] << "\n";
    return 66;
  }
  std::vector<std::string> corpus;
  std::vector<size_t> sizes;
  for (const auto& f : files) {
    corpus.push_back(read_file(f));
    sizes.push_back(corpus.back().size());
  }
  size_t total = 0;
  for (size_t n : sizes) total += n;
  std::map<std::string, size_t> kinds;
  size_t recipients = 0;
  for (const auto& m : corpus) {
    auto p = bouncegate::parse_feedback(m);
    ++kinds[bouncegate::to_string(p.kind)];
    recipients += p.recipients.size();
  }
  std::printf("ingest_bench: %zu messages, %zu bytes, %zu recipients found;", corpus.size(), total,
              recipients);
  for (const auto& [k, n] : kinds) std::printf(" %s=%zu", k.c_str(), n);
  std::printf("\n");

  // Baseline: the floor of any ingest. Read the message from disk (page cache; the pipe from
  // Postfix costs about the same) and touch every byte once (count line ends).
  volatile size_t sink = 0;
  Result base = drive(corpus.size(), sizes, seconds, [&](size_t i) {
    std::string m = read_file(files[i]);
    sink = sink + static_cast<size_t>(std::count(m.begin(), m.end(), '\n'));
  });
  // Ingest: the same read, then parse_feedback.
  Result parse = drive(corpus.size(), sizes, seconds, [&](size_t i) {
    std::string m = read_file(files[i]);
    auto p = bouncegate::parse_feedback(m);
    sink = sink + p.recipients.size();
  });
  // Parser alone, bytes already in memory.
  Result parse_mem = drive(corpus.size(), sizes, seconds, [&](size_t i) {
    auto p = bouncegate::parse_feedback(corpus[i]);
    sink = sink + p.recipients.size();
  });
  print("read", base);
  print("parse", parse);
  print("parse-mem", parse_mem);
  std::printf("ratio parse/read: %.3f\n", base.rate() > 0 ? parse.rate() / base.rate() : 0);
  return recipients > 0 ? 0 : 1;
}
