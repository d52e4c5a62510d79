// The schema walker the configuration loader is built from (core/config*.cpp only): a Section
// records which keys were read, so unknown keys, wrong types and out-of-range values are
// reported with file:line:column and key path; and secret files read beside the YAML.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/endpoint.hpp"

namespace bouncegate::config_detail {

// One mapping being read; remembers consumed keys so that the rest can be reported.
class Section {
 public:
  Section(YAML::Node node, std::string path, const std::string& file)
      : node_(std::move(node)), path_(std::move(path)), file_(file) {
    if (node_ && !node_.IsNull() && !node_.IsMap()) fail(node_, "", "expected a mapping");
  }

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key,
                         const std::string& msg) const {
    auto m = at.Mark();
    std::ostringstream o;
    o << file_ << ":" << (m.line + 1) << ":" << (m.column + 1) << ": " << join(key) << ": " << msg;
    throw ConfigError(o.str());
  }
  std::string join(const std::string& key) const {
    if (key.empty()) return path_.empty() ? "(top level)" : path_;
    return path_.empty() ? key : path_ + "." + key;
  }

  YAML::Node get(const std::string& key) {
    used_.insert(key);
    if (!node_ || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    return node_[key];
  }
  bool has(const std::string& key) const { return node_ && node_.IsMap() && node_[key]; }

  std::string scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "expected a single value");
    return n.Scalar();
  }

  void str(const std::string& key, std::string& out) {
    auto n = get(key);
    if (n && !n.IsNull()) out = scalar(n, key);
  }
  void integer(const std::string& key, int& out, int lo, int hi) {
    auto n = get(key);
    if (!n || n.IsNull()) return;
    std::string s = scalar(n, key);
    char* end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end) fail(n, key, "expected an integer, got '" + s + "'");
    if (v < lo || v > hi)
      fail(n, key,
           "value " + s + " out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    out = static_cast<int>(v);
  }
  void size_value(const std::string& key, uint64_t& out, uint64_t lo, uint64_t hi) {
    auto n = get(key);
    if (!n || n.IsNull()) return;
    std::string s = scalar(n, key);
    auto v = parse_size(s);
    if (!v) fail(n, key, "expected a size like 10MB or 512k, got '" + s + "'");
    if (*v < lo || *v > hi) fail(n, key, "size " + s + " out of range");
    out = *v;
  }
  void count(const std::string& key, size_t& out, size_t lo, size_t hi) {
    int v = static_cast<int>(out);
    integer(key, v, static_cast<int>(lo), static_cast<int>(hi));
    out = static_cast<size_t>(v);
  }
  void boolean(const std::string& key, bool& out) {
    auto n = get(key);
    if (!n || n.IsNull()) return;
    std::string s = scalar(n, key);
    if (s == "true" || s == "yes" || s == "on")
      out = true;
    else if (s == "false" || s == "no" || s == "off")
      out = false;
    else
      fail(n, key, "expected true or false, got '" + s + "'");
  }
  Millis duration_of(const YAML::Node& n, const std::string& key, Millis lo, Millis hi) const {
    std::string s = scalar(n, key);
    auto v = parse_duration(s);
    if (!v) fail(n, key, "expected a duration like 90s, 24h or 7d, got '" + s + "'");
    if (*v < lo || *v > hi)
      fail(n, key,
           "duration " + s + " out of range [" + format_duration(lo) + ", " + format_duration(hi) +
               "]");
    return *v;
  }
  void duration(const std::string& key, Millis& out, Millis lo, Millis hi) {
    auto n = get(key);
    if (n && !n.IsNull()) out = duration_of(n, key, lo, hi);
  }
  // A listen address, checked here so that check-config refuses what a daemon would.
  void endpoint(const std::string& key, std::string& out, bool may_be_empty) {
    auto n = get(key);
    if (!n || n.IsNull()) return;
    out = scalar(n, key);
    if (out.empty() && may_be_empty) return;
    std::string why;
    if (!parse_endpoint(out, &why)) fail(n, key, "'" + out + "': " + why);
  }
  void endpoints(const std::string& key, std::vector<std::string>& out) {
    strings(key, out);
    auto n = get(key);
    std::string why;
    for (size_t i = 0; i < out.size(); ++i)
      if (!parse_endpoint(out[i], &why))
        fail(n && n.IsSequence() ? n[i] : n, key, "'" + out[i] + "': " + why);
  }
  void strings(const std::string& key, std::vector<std::string>& out) {
    auto n = get(key);
    if (!n || n.IsNull()) return;
    out.clear();
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return;
    }
    if (!n.IsSequence()) fail(n, key, "expected a list of strings");
    for (const auto& e : n) out.push_back(scalar(e, key));
  }
  template <typename E>
  void choice(const std::string& key, E& out,
              const std::vector<std::pair<std::string, E>>& options) {
    auto n = get(key);
    if (!n || n.IsNull()) return;
    std::string s = scalar(n, key);
    std::string names;
    for (const auto& [name, value] : options) {
      if (name == s) {
        out = value;
        return;
      }
      names += (names.empty() ? "" : ", ") + name;
    }
    fail(n, key, "unknown value '" + s + "' (expected one of " + names + ")");
  }
  Section sub(const std::string& key) { return Section(get(key), join(key), file_); }

  // Reports the first key that no reader asked for.
  void finish() const {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      std::string k = kv.first.Scalar();
      if (!used_.count(k)) {
        std::string known;
        for (const auto& u : used_) known += (known.empty() ? "" : ", ") + u;
        fail(kv.first, k, "unknown key (known here: " + known + ")");
      }
    }
  }
  const YAML::Node& node() const { return node_; }
  const std::string& file() const { return file_; }

 private:
  YAML::Node node_;
  std::string path_;
  const std::string& file_;
  std::set<std::string> used_;
};

// The secret a file (or systemd credential) named at `at` holds, trailing newlines removed.
std::string read_secret(const Section& s, const YAML::Node& at, const std::string& key,
                        const std::string& path);

// The sections of core/config_features.cpp.
void load_escalation(Section s, std::map<OutcomeClass, EscalationPolicy>& out);
void load_api(Section s, ApiConfig& a);
void load_policies(Section& top, std::vector<SenderPolicy>& out, const UnsubscribeConfig& u);
void load_webhooks(Section s, WebhookConfig& w);
// An Entra application's client-credentials sign-in; `needed`: the section must be complete.
void load_entra(Section s, EntraConfig& e, bool needed);
void load_acs(Section s, AcsConfig& a);

}  // namespace bouncegate::config_detail
