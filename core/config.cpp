// YAML → Config: the sections of the configuration file, read with the schema walker of
// core/config_section.hpp (applications and policies: core/config_features.cpp).
#include "core/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/access.hpp"
#include "core/acs_username.hpp"
#include "core/config_section.hpp"
#include "core/endpoint.hpp"
#include "core/mappings.hpp"

namespace bouncegate {

namespace {

// "90s" -> {90, "s"}: leading blanks trimmed, at most 2^40, a number required.
std::optional<std::pair<uint64_t, std::string_view>> number_and_unit(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  size_t i = 0;
  uint64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    n = n * 10 + (s[i] - '0');
    if (n > (1ull << 40)) return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  return std::pair{n, s.substr(i)};
}

}  // namespace

std::optional<Millis> parse_duration(std::string_view s) {
  auto nu = number_and_unit(s);
  if (!nu) return std::nullopt;
  auto [n, unit] = *nu;
  uint64_t mul;
  if (unit.empty() || unit == "s")
    mul = 1000;
  else if (unit == "ms")
    mul = 1;
  else if (unit == "m" || unit == "min")
    mul = 60'000;
  else if (unit == "h")
    mul = 3'600'000;
  else if (unit == "d")
    mul = 86'400'000;
  else if (unit == "w")
    mul = 7 * 86'400'000ull;
  else
    return std::nullopt;
  return Millis(static_cast<int64_t>(n * mul));
}

std::optional<uint64_t> parse_size(std::string_view s) {
  auto nu = number_and_unit(s);
  if (!nu) return std::nullopt;
  auto [n, unit_text] = *nu;
  std::string unit;
  for (char c : unit_text) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.empty() || unit == "b") return n;
  if (unit == "k" || unit == "kb" || unit == "kib") return n << 10;
  if (unit == "m" || unit == "mb" || unit == "mib") return n << 20;
  if (unit == "g" || unit == "gb" || unit == "gib") return n << 30;
  return std::nullopt;
}

std::string format_duration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  // Leases read like the ladder: 24h, 48h, 96h, then 7d, 14d.
  if (ms % 86'400'000 == 0 && ms >= 7 * 86'400'000ll) return std::to_string(ms / 86'400'000) + "d";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string RedisConfig::address_text() const {
  if (!sentinel_master.empty()) return "sentinel:" + sentinel_master;
  return unix_path.empty() ? host + ":" + std::to_string(port) : "unix:" + unix_path;
}

Action SuppressionConfig::action_for(OutcomeClass c) const {
  auto it = actions.find(c);
  return it == actions.end() ? Action::record : it->second;
}

namespace {

using namespace config_detail;

void load_redis(Section s, RedisConfig& r) {
  auto addr = s.get("address");
  if (addr && !addr.IsNull()) {
    std::string a = s.scalar(addr, "address");
    if (a.rfind("unix:", 0) == 0) {
      r.unix_path = a.substr(5);
      if (r.unix_path.empty() || r.unix_path[0] != '/')
        s.fail(addr, "address", "unix socket path must be absolute");
    } else {
      size_t colon = a.rfind(':');
      std::string host = colon == std::string::npos ? a : a.substr(0, colon);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      if (host.empty())
        s.fail(addr, "address", "expected host:port or unix:/path, got '" + a + "'");
      r.host = host;
      if (colon != std::string::npos) {
        std::string port = a.substr(colon + 1);
        char* end = nullptr;
        long p = std::strtol(port.c_str(), &end, 10);
        if (port.empty() || *end || p < 1 || p > 65535)
          s.fail(addr, "address", "bad port '" + port + "'");
        r.port = static_cast<int>(p);
      }
    }
  }
  auto pw = s.get("password_file");
  if (pw && !pw.IsNull()) {
    r.password_file = s.scalar(pw, "password_file");
    r.password = read_secret(s, pw, "password_file", r.password_file);
  }
  s.integer("database", r.database, 0, 15);
  s.str("key_prefix", r.key_prefix);
  s.duration("timeout", r.timeout, Millis(10), Millis(60'000));
  s.duration("connect_timeout", r.connect_timeout, Millis(10), Millis(60'000));
  s.integer("pool_size", r.pool_size, 1, 256);
  s.duration("reconnect_backoff", r.reconnect_backoff, Millis(0), Millis(60'000));
  auto sen = s.sub("sentinel");
  sen.str("master", r.sentinel_master);
  auto nodes = sen.get("nodes");
  if (nodes && !nodes.IsNull()) {
    if (!nodes.IsSequence()) sen.fail(nodes, "nodes", "expected a list of host:port");
    for (const auto& n : nodes) {
      std::string a = sen.scalar(n, "nodes");
      size_t colon = a.rfind(':');
      char* end = nullptr;
      long p = colon == std::string::npos ? 0 : std::strtol(a.c_str() + colon + 1, &end, 10);
      if (colon == std::string::npos || colon == 0 || *end || p < 1 || p > 65535)
        sen.fail(n, "nodes", "expected host:port, got '" + a + "'");
      r.sentinel_nodes.emplace_back(a.substr(0, colon), static_cast<int>(p));
    }
  }
  auto spw = sen.get("password_file");
  if (spw && !spw.IsNull())
    r.sentinel_password = read_secret(sen, spw, "password_file", sen.scalar(spw, "password_file"));
  sen.finish();
  if (!r.sentinel_master.empty() && r.sentinel_nodes.empty())
    sen.fail(s.node()["sentinel"], "nodes", "a sentinel master needs at least one node");
  if (r.sentinel_master.empty() && !r.sentinel_nodes.empty())
    sen.fail(s.node()["sentinel"], "master", "sentinel nodes need the master's name");
  s.finish();
}

void load_suppression(Section s, SuppressionConfig& c) {
  auto ladder = s.get("lease_ladder");
  if (ladder && !ladder.IsNull()) {
    if (!ladder.IsSequence() || ladder.size() == 0)
      s.fail(ladder, "lease_ladder", "expected a non-empty list of durations");
    c.lease_ladder.clear();
    for (const auto& e : ladder) {
      Millis d = s.duration_of(e, "lease_ladder", Millis(1000), Millis(86'400'000ll * 3650));
      if (!c.lease_ladder.empty() && d < c.lease_ladder.back())
        s.fail(e, "lease_ladder", "leases must not shrink along the ladder");
      c.lease_ladder.push_back(d);
    }
  }
  auto actions = s.sub("actions");
  for (int i = 0; i < kOutcomeClassCount; ++i) {
    auto cls = static_cast<OutcomeClass>(i);
    auto n = actions.get(std::string(to_string(cls)));
    if (!n || n.IsNull()) continue;
    std::string v = actions.scalar(n, std::string(to_string(cls)));
    auto a = action_from(v);
    if (!a)
      actions.fail(n, std::string(to_string(cls)),
                   "unknown action '" + v +
                       "' (suppress, suppress_permanent, defer, reject, record, ignore)");
    c.actions[cls] = *a;
  }
  actions.finish();
  s.str("reject_reply", c.reject_reply);
  s.str("defer_reply", c.defer_reply);
  s.str("complaint_reply", c.complaint_reply);
  s.str("unsubscribed_reply", c.unsubscribed_reply);
  s.choice<BadAddressMode>("on_bad_address", c.on_bad_address,
                           {{"tempfail", BadAddressMode::tempfail},
                            {"reject", BadAddressMode::reject},
                            {"accept", BadAddressMode::accept}});
  s.count("events_maxlen", c.events_maxlen, 1000, 100'000'000);
  s.duration("stats_ttl", c.stats_ttl, Millis(3'600'000), Millis(86'400'000ll * 3650));
  s.duration("message_id_ttl", c.message_id_ttl, Millis(60'000), Millis(86'400'000ll * 365));
  s.str("journal_path", c.journal_path);
  load_escalation(s.sub("escalation"), c.escalation);
  s.finish();
  // The reply templates must stay replies of the right kind.
  auto check_reply = [&](const std::string& key, const std::string& v, char cls) {
    if (v.size() < 4 || v[0] != cls || v[3] != ' ')
      s.fail(s.node()[key], key, std::string("must start with a ") + cls + "xx code and a space");
  };
  check_reply("reject_reply", c.reject_reply, '5');
  check_reply("complaint_reply", c.complaint_reply, '5');
  check_reply("unsubscribed_reply", c.unsubscribed_reply, '5');
  check_reply("defer_reply", c.defer_reply, '4');
}

// The defaults are data: core/rules/mappings.yaml (docs/classification.md shows them).
void fill_default_actions(SuppressionConfig& c) {
  for (auto [cls, act] : shipped_mappings().default_actions) c.actions.emplace(cls, act);
}

void load_classification(Section s, ClassificationConfig& c) {
  s.boolean("replace_defaults", c.replace_defaults);
  s.str("rules_file", c.rules_file);
  auto rules = s.get("rules");
  std::vector<RuleSpec> own;
  if (rules && !rules.IsNull()) {
    if (!rules.IsSequence()) s.fail(rules, "rules", "expected a list of rules");
    YAML::Emitter e;
    e << YAML::BeginMap << YAML::Key << "rules" << YAML::Value << rules << YAML::EndMap;
    try {
      own = parse_rules_yaml(e.c_str(), s.file());
    } catch (const RuleError& err) {
      // Re-anchor on the list so the line points into the operator's file.
      s.fail(rules, "rules", err.what());
    }
  }
  if (!c.rules_file.empty()) {
    std::ifstream in(c.rules_file);
    if (!in) s.fail(s.node()["rules_file"], "rules_file", "cannot read '" + c.rules_file + "'");
    std::stringstream buf;
    buf << in.rdbuf();
    try {
      auto file_rules = parse_rules_yaml(buf.str(), c.rules_file);
      own.insert(own.end(), file_rules.begin(), file_rules.end());
    } catch (const RuleError& err) {
      throw ConfigError(err.what());
    }
  }
  s.finish();
  c.rules = own;
  if (!c.replace_defaults) {
    const auto& d = default_rule_specs();
    c.rules.insert(c.rules.end(), d.begin(), d.end());
  }
  if (c.rules.empty())
    s.fail(s.node()["replace_defaults"], "replace_defaults",
           "no rules left: give rules or keep the defaults");
}

void load_milter(Section s, MilterConfig& m) {
  s.str("socket", m.socket);
  if (m.socket.rfind("inet:", 0) != 0 && m.socket.rfind("inet6:", 0) != 0 &&
      m.socket.rfind("unix:", 0) != 0 && m.socket.rfind("local:", 0) != 0)
    s.fail(s.node()["socket"], "socket", "expected inet:PORT@HOST, inet6:PORT@HOST or unix:/path");
  s.choice<StoreErrorMode>(
      "on_store_error", m.on_store_error,
      {{"tempfail", StoreErrorMode::tempfail}, {"accept", StoreErrorMode::accept}});
  s.str("store_error_reply", m.store_error_reply);
  if (m.store_error_reply.size() < 4 || m.store_error_reply[0] != '4')
    s.fail(s.node()["store_error_reply"], "store_error_reply", "must be a 4xx reply");
  s.boolean("shadow", m.shadow);
  s.boolean("gate", m.gate);
  s.duration("timeout", m.timeout, Millis(1000), Millis(86'400'000));
  s.integer("backlog", m.backlog, 1, 65535);
  s.endpoint("policy_listen", m.policy_listen, true);
  if (!m.policy_listen.empty()) {
    std::string why;
    auto ep = parse_endpoint(m.policy_listen, &why);
    if (ep && !ep->loopback)
      s.fail(s.node()["policy_listen"], "policy_listen",
             "'" + m.policy_listen +
                 "' is not a loopback address: the policy service answers "
                 "whoever connects, so it listens beside Postfix only");
  }
  s.integer("policy_max_connections", m.policy_max_connections, 1, 10000);
  s.duration("policy_idle", m.policy_idle, Millis(1000), Millis(86'400'000));
  s.finish();
}

void load_upstream(Section s, UpstreamConfig& u) {
  s.str("host", u.host);
  s.integer("port", u.port, 1, 65535);
  s.str("tls", u.tls);
  if (u.tls != "starttls" && u.tls != "implicit" && u.tls != "none")
    s.fail(s.node()["tls"], "tls", "expected starttls, implicit or none");
  s.boolean("insecure", u.insecure);
  if (u.tls == "none" && !u.insecure)
    s.fail(s.node()["tls"], "tls",
           "'none' sends credentials and mail in clear; it needs insecure: true");
  s.str("ca_file", u.ca_file);
  s.boolean("verify_hostname", u.verify_hostname);
  if (!u.verify_hostname && !u.insecure)
    s.fail(s.node()["verify_hostname"], "verify_hostname",
           "false accepts any certificate for any host; it needs insecure: true");
  s.str("username", u.username);
  auto pw = s.get("password_file");
  if (pw && !pw.IsNull()) {
    u.password_file = s.scalar(pw, "password_file");
    u.password = read_secret(s, pw, "password_file", u.password_file);
  }
  s.str("auth", u.auth);
  if (u.auth != "password" && u.auth != "xoauth2")
    s.fail(s.node()["auth"], "auth", "expected password or xoauth2");
  u.entra.scope = "https://communication.azure.com/.default";
  if (u.auth == "xoauth2" && !s.has("entra"))
    s.fail(s.node()["auth"], "auth",
           "xoauth2 needs an entra: section (tenant_id, client_id, a secret or certificate)");
  load_entra(s.sub("entra"), u.entra, u.auth == "xoauth2");
  if (u.auth == "xoauth2" && u.username.empty())
    s.fail(s.node()["auth"], "auth",
           "xoauth2 signs in as username (the ACS SMTP Username resource); set it");
  if (u.auth == "password" && !u.username.empty() && u.password.empty())
    s.fail(s.node()["username"], "username", "a username needs a password_file");
  // A malformed ACS sign-in name is refused here, with its line; an empty one by the relay
  // (the only binary that signs in), so the other daemons run before the credential is set.
  if (is_acs_host(u.host) && !u.username.empty())
    if (auto why = acs_username_problem(u.username))
      s.fail(s.node()["username"], "username", "not an ACS SMTP username: " + *why);
  s.str("helo", u.helo);
  s.duration("connect_timeout", u.connect_timeout, Millis(100), Millis(600'000));
  s.duration("command_timeout", u.command_timeout, Millis(100), Millis(3'600'000));
  s.duration("data_timeout", u.data_timeout, Millis(100), Millis(3'600'000));
  s.integer("pool_size", u.pool_size, 0, 1000);
  s.integer("max_connections", u.max_connections, 0, 100000);
  s.duration("connection_wait", u.connection_wait, Millis(0), Millis(600'000));
  s.integer("fleet_max_connections", u.fleet_max_connections, 0, 100000);
  s.duration("pool_idle", u.pool_idle, Millis(1000), Millis(3'600'000));
  s.finish();
}

void load_relay(Section s, RelayConfig& r) {
  s.endpoints("listen", r.listen);
  auto allow = s.get("allow");
  if (allow && !allow.IsNull()) {
    // Checked here so that every binary's check-config refuses a bad network, with its line.
    r.allow.clear();
    for (const auto& n : allow.IsSequence() ? allow : YAML::Node(YAML::NodeType::Sequence)) {
      std::string cidr = s.scalar(n, "allow");
      if (!parse_network(cidr)) s.fail(n, "allow", "not a network in CIDR form: '" + cidr + "'");
      r.allow.push_back(cidr);
    }
    if (!allow.IsSequence()) s.fail(allow, "allow", "expected a list of networks");
  }
  s.boolean("gate", r.gate);
  s.boolean("shadow", r.shadow);
  s.choice<StoreErrorMode>(
      "on_store_error", r.on_store_error,
      {{"tempfail", StoreErrorMode::tempfail}, {"accept", StoreErrorMode::accept}});
  s.integer("max_recipients", r.max_recipients, 1, 10000);
  s.size_value("max_message_size", r.max_message_size, 1024, 1ull << 32);
  s.integer("max_sessions", r.max_sessions, 1, 100000);
  s.str("hostname", r.hostname);
  s.duration("client_timeout", r.client_timeout, Millis(1000), Millis(3'600'000));
  load_upstream(s.sub("upstream"), r.upstream);
  auto rl = s.sub("rate_limit");
  rl.integer("per_minute", r.rate_per_minute, 0, 1'000'000);
  rl.integer("per_hour", r.rate_per_hour, 0, 100'000'000);
  rl.finish();
  s.duration("throttle_pause", r.throttle_pause, Millis(0), Millis(86'400'000));
  s.choice<BareNewline>("bare_newline", r.bare_newline,
                        {{"reject", BareNewline::reject}, {"normalize", BareNewline::normalize}});
  s.finish();
}

void load_web(Section s, WebConfig& w) {
  s.endpoint("listen", w.listen, false);
  auto sec = s.get("event_grid_secret_file");
  if (sec && !sec.IsNull()) {
    w.event_grid_secret_file = s.scalar(sec, "event_grid_secret_file");
    w.event_grid_secret = read_secret(s, sec, "event_grid_secret_file", w.event_grid_secret_file);
  }
  s.size_value("max_body", w.max_body, 1024, 64ull << 20);
  s.duration("request_timeout", w.request_timeout, Millis(100), Millis(600'000));
  s.duration("event_dedupe_ttl", w.event_dedupe_ttl, Millis(60'000), Millis(86'400'000ll * 30));
  load_api(s.sub("api"), w.api);
  s.finish();
}

void load_unsubscribe(Section s, UnsubscribeConfig& u) {
  s.strings("key_files", u.key_files);
  s.str("url_base", u.url_base);
  s.str("mailto", u.mailto);
  std::string existing = "keep";
  s.str("existing_header", existing);
  if (existing != "keep" && existing != "replace")
    s.fail(s.node()["existing_header"], "existing_header", "expected keep or replace");
  u.replace_existing = existing == "replace";
  std::string multi = "skip";
  s.str("multiple_recipients", multi);
  if (multi != "skip")
    s.fail(s.node()["multiple_recipients"], "multiple_recipients", "only 'skip' is supported");
  s.duration("token_max_age", u.token_max_age, Millis(3'600'000), Millis(86'400'000ll * 3650));
  auto lists = s.get("lists");
  if (lists && !lists.IsNull()) {
    if (!lists.IsSequence()) s.fail(lists, "lists", "expected a list");
    std::set<std::string> ids;
    for (size_t i = 0; i < lists.size(); ++i) {
      Section l(lists[i], s.join("lists") + "[" + std::to_string(i) + "]", s.file());
      UnsubscribeList e;
      l.str("id", e.id);
      l.str("sender", e.sender);
      l.str("list_id", e.list_id);
      l.finish();
      if (e.id.empty() || e.id == "*" || e.id.find_first_of(" \t|:") != std::string::npos)
        l.fail(lists[i], "id", "a list needs an id without spaces, '|', ':' and not '*'");
      if (e.sender.empty() && e.list_id.empty())
        l.fail(lists[i], "", "a list needs 'sender' or 'list_id' to match messages");
      if (!ids.insert(e.id).second) l.fail(lists[i], "id", "duplicate list id '" + e.id + "'");
      u.lists.push_back(e);
    }
  }
  s.finish();
  if (!u.lists.empty() && u.key_files.empty())
    s.fail(s.node()["lists"], "key_files", "lists are configured but no key file");
  if (!u.lists.empty() && u.url_base.empty() && u.mailto.empty())
    s.fail(s.node()["lists"], "url_base", "lists need url_base or mailto");
}

void load_logging(Section s, LoggingConfig& l) {
  std::string format = "text";
  s.str("format", format);
  if (format != "text" && format != "json")
    s.fail(s.node()["format"], "format", "expected text or json");
  l.json = format == "json";
  s.str("level", l.level);
  if (l.level != "debug" && l.level != "info" && l.level != "notice" && l.level != "warning" &&
      l.level != "error")
    s.fail(s.node()["level"], "level", "expected debug, info, notice, warning or error");
  s.finish();
}

void load_gate(Section s, GateConfig& g) {
  Section f = s.sub("local_filter");
  LocalFilterConfig& c = g.local_filter;
  f.boolean("enabled", c.enabled);
  std::string rate;
  f.str("false_positive_rate", rate);
  if (!rate.empty()) {
    // "1%" or "0.01"
    const bool pct = rate.back() == '%';
    const std::string num = pct ? rate.substr(0, rate.size() - 1) : rate;
    char* end = nullptr;
    double v = std::strtod(num.c_str(), &end);
    if (num.empty() || end != num.c_str() + num.size()) v = -1;
    if (pct) v /= 100.0;
    if (!(v >= 0.0001 && v <= 0.2))
      f.fail(f.node()["false_positive_rate"], "false_positive_rate",
             "expected a rate between 0.01% and 20% (\"1%\" or 0.01)");
    c.false_positive_rate = v;
  }
  f.duration("poll_every", c.poll_every, Millis(50), Millis(60'000));
  f.duration("rebuild_every", c.rebuild_every, Millis(10'000), Millis(86'400'000));
  f.count("min_capacity", c.min_capacity, 1000, 1'000'000'000);
  f.finish();
  s.finish();
}

void load_metrics(Section s, MetricsConfig& m) {
  s.endpoint("milter_listen", m.milter_listen, true);
  s.endpoint("relay_listen", m.relay_listen, true);
  s.endpoint("web_listen", m.web_listen, true);
  s.strings("top_domains", m.top_domains);
  s.finish();
}

}  // namespace

std::shared_ptr<const Config> load_config_text(const std::string& yaml, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": YAML syntax: " + e.msg);
  }
  auto cfg = std::make_shared<Config>();
  cfg->source_file = origin;
  try {
    Section top(root, "", origin);
    if (!root || root.IsNull()) throw ConfigError(origin + ": the file is empty");
    load_redis(top.sub("redis"), cfg->redis);
    load_suppression(top.sub("suppression"), cfg->suppression);
    fill_default_actions(cfg->suppression);
    load_gate(top.sub("gate"), cfg->gate);
    load_classification(top.sub("classification"), cfg->classification);
    load_milter(top.sub("milter"), cfg->milter);
    load_relay(top.sub("relay"), cfg->relay);
    load_web(top.sub("web"), cfg->web);
    load_unsubscribe(top.sub("unsubscribe"), cfg->unsubscribe);
    load_webhooks(top.sub("webhooks"), cfg->webhooks);
    load_acs(top.sub("acs"), cfg->acs);
    load_policies(top, cfg->policies, cfg->unsubscribe);
    auto fb = top.sub("feedback");
    fb.boolean("require_match", cfg->feedback.require_match);
    fb.finish();
    load_logging(top.sub("logging"), cfg->logging);
    load_metrics(top.sub("metrics"), cfg->metrics);
    top.finish();
    cfg->classifier = std::make_shared<Classifier>(cfg->classification.rules);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const RuleError& e) {
    throw ConfigError(e.what());
  }
  return cfg;
}

std::shared_ptr<const Config> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open configuration file");
  std::stringstream buf;
  buf << in.rdbuf();
  return load_config_text(buf.str(), path);
}

}  // namespace bouncegate
