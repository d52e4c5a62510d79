// The configuration sections for applications and policies: soft-bounce escalation, the HTTP
// API's tokens, sender policies, webhooks and Entra sign-in (the schema walker is
// core/config_section.hpp).
#include <fstream>

#include "core/acs_username.hpp"
#include "core/client_assertion.hpp"
#include "core/config_section.hpp"

namespace bouncegate::config_detail {

std::string read_secret(const Section& s, const YAML::Node& at, const std::string& key,
                        const std::string& path) {
  // A relative name is a systemd credential (LoadCredential=) of the running unit when it has
  // one by that name, else a file beside the configuration file: so the same YAML works for
  // every daemon, the CLI and the ingest pipe, whichever credentials their unit loads.
  std::vector<std::string> tried;
  if (!path.empty() && path[0] != '/') {
    if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"))
      tried.push_back(std::string(dir) + "/" + path);
    std::string base = s.file();
    size_t slash = base.rfind('/');
    tried.push_back((slash == std::string::npos ? std::string(".") : base.substr(0, slash)) + "/" +
                    path);
  } else {
    tried.push_back(path);
  }
  std::ifstream in;
  std::string p;
  bool opened = false;
  for (const auto& candidate : tried) {
    in.open(candidate, std::ios::binary);
    p = candidate;
    if ((opened = in.is_open())) break;
    in.clear();
  }
  if (!opened) {
    std::string where;
    for (const auto& t : tried) where += (where.empty() ? "" : "' or '") + t;
    s.fail(at, key, "cannot read secret file '" + where + "'");
  }
  std::stringstream buf;
  buf << in.rdbuf();
  std::string v = buf.str();
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  if (v.empty()) s.fail(at, key, "secret file '" + p + "' is empty");
  return v;
}

// suppression.escalation.CLASS: {after: N, within: 7d, ladder: [24h, 72h, 7d]}. Only a class
// that can speak of the recipient's own mailbox escalates (soft: mailbox full, owner changed);
// every other recorded class is about the sender, the message or the network.
void load_escalation(Section s, std::map<OutcomeClass, EscalationPolicy>& out) {
  for (const auto& kv : s.node()) {
    std::string name = kv.first.as<std::string>();
    auto cls = outcome_class_from(name);
    if (!cls || *cls != OutcomeClass::soft)
      s.fail(kv.first, name,
             "only soft outcomes escalate: other recorded classes are about the sender, the "
             "message or the network, never the recipient's mailbox");
    Section p = s.sub(name);
    EscalationPolicy e;
    e.after = 3;
    e.within = Millis(86'400'000ll * 7);
    e.ladder = {std::chrono::hours(24), std::chrono::hours(72), std::chrono::hours(24 * 7)};
    p.integer("after", e.after, 2, 1000);
    p.choice<Action>("action", e.action,
                     {{"defer", Action::defer}, {"suppress", Action::suppress}});
    p.duration("within", e.within, Millis(60'000), Millis(86'400'000ll * 365));
    auto ladder = p.get("ladder");
    if (ladder && !ladder.IsNull()) {
      if (!ladder.IsSequence() || ladder.size() == 0)
        p.fail(ladder, "ladder", "expected a non-empty list of durations");
      e.ladder.clear();
      for (const auto& d : ladder) {
        Millis m = p.duration_of(d, "ladder", Millis(1000), Millis(86'400'000ll * 3650));
        if (!e.ladder.empty() && m < e.ladder.back())
          p.fail(d, "ladder", "leases must not shrink along the ladder");
        e.ladder.push_back(m);
      }
    }
    p.finish();
    out[*cls] = e;
  }
  s.finish();
}

void load_api(Section s, ApiConfig& a) {
  s.count("max_batch", a.max_batch, 1, 10'000);
  s.count("page_size", a.page_size, 1, 1000);
  auto tokens = s.get("tokens");
  if (tokens && !tokens.IsNull()) {
    if (!tokens.IsSequence()) s.fail(tokens, "tokens", "expected a list");
    std::set<std::string> names;
    for (size_t i = 0; i < tokens.size(); ++i) {
      Section t(tokens[i], s.join("tokens") + "[" + std::to_string(i) + "]", s.file());
      ApiToken k;
      t.str("name", k.name);
      std::string scope = "read";
      t.str("scope", scope);
      if (scope != "read" && scope != "write")
        t.fail(tokens[i]["scope"], "scope", "expected read or write");
      k.write = scope == "write";
      auto f = t.get("token_file");
      if (!f || f.IsNull()) t.fail(tokens[i], "token_file", "a token needs a token_file");
      k.token_file = t.scalar(f, "token_file");
      k.secret = read_secret(t, f, "token_file", k.token_file);
      t.finish();
      if (k.name.empty() ||
          k.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != std::string::npos)
        t.fail(tokens[i], "name", "a token needs a name of letters, digits, '-', '_' or '.'");
      if (k.secret.size() < 16) t.fail(f, "token_file", "the token is shorter than 16 characters");
      if (!names.insert(k.name).second)
        t.fail(tokens[i], "name", "duplicate token name '" + k.name + "'");
      a.tokens.push_back(k);
    }
  }
  s.finish();
}

void load_policies(Section& top, std::vector<SenderPolicy>& out, const UnsubscribeConfig& u) {
  auto ps = top.get("policies");
  if (!ps || ps.IsNull()) return;
  if (!ps.IsSequence()) top.fail(ps, "policies", "expected a list");
  std::set<std::string> names;
  for (size_t i = 0; i < ps.size(); ++i) {
    Section p(ps[i], "policies[" + std::to_string(i) + "]", top.file());
    SenderPolicy sp;
    p.str("name", sp.name);
    p.strings("senders", sp.senders);
    p.strings("lists", sp.lists);
    std::vector<std::string> bypass;
    p.strings("bypass", bypass);
    p.finish();
    if (sp.name.empty() || !names.insert(sp.name).second)
      p.fail(ps[i], "name", "a policy needs a name of its own");
    if (sp.senders.empty() && sp.lists.empty())
      p.fail(ps[i], "senders", "a policy needs senders or lists to match mail");
    for (const auto& l : sp.lists) {
      const UnsubscribeList* found = nullptr;
      for (const auto& ul : u.lists)
        if (ul.id == l) found = &ul;
      if (!found) p.fail(ps[i]["lists"], "lists", "no unsubscribe list '" + l + "'");
      // The RCPT gate knows a list only from the envelope sender, never from List-Id.
      if (found->sender.empty())
        p.fail(ps[i]["lists"], "lists",
               "list '" + l + "' is matched by List-Id only, after RCPT: name its senders instead");
    }
    if (bypass.empty()) p.fail(ps[i], "bypass", "a policy needs the classes it lets through");
    for (const auto& b : bypass) {
      auto c = outcome_class_from(b);
      if (!c) p.fail(ps[i]["bypass"], "bypass", "unknown class '" + b + "'");
      sp.bypass.push_back(*c);
    }
    out.push_back(sp);
  }
}

void load_webhooks(Section s, WebhookConfig& w) {
  s.integer("max_attempts", w.max_attempts, 1, 1000);
  s.duration("backoff", w.backoff, Millis(10), Millis(86'400'000));
  s.duration("backoff_max", w.backoff_max, Millis(10), Millis(86'400'000ll * 7));
  s.duration("timeout", w.timeout, Millis(100), Millis(600'000));
  s.duration("expiry_sweep", w.expiry_sweep, Millis(100), Millis(3'600'000));
  s.str("consumer", w.consumer);
  static const std::set<std::string> kChanges = {"suppressed", "escalated",    "released",
                                                 "expired",    "unsubscribed", "resubscribed",
                                                 "complaint",  "imported"};
  auto eps = s.get("endpoints");
  if (eps && !eps.IsNull()) {
    if (!eps.IsSequence()) s.fail(eps, "endpoints", "expected a list");
    std::set<std::string> names;
    for (size_t i = 0; i < eps.size(); ++i) {
      Section e(eps[i], s.join("endpoints") + "[" + std::to_string(i) + "]", s.file());
      WebhookEndpoint ep;
      e.str("name", ep.name);
      e.str("url", ep.url);
      e.strings("changes", ep.changes);
      auto f = e.get("secret_file");
      if (!f || f.IsNull()) e.fail(eps[i], "secret_file", "an endpoint needs a secret_file");
      ep.secret_file = e.scalar(f, "secret_file");
      ep.secret = read_secret(e, f, "secret_file", ep.secret_file);
      e.finish();
      if (ep.name.empty() ||
          ep.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
        e.fail(eps[i], "name", "an endpoint needs a name of lower-case letters, digits, '-', '_'");
      if (ep.name == "acs-push")
        e.fail(eps[i], "name", "'acs-push' is the ACS suppression-list push's own consumer group");
      if (!names.insert(ep.name).second)
        e.fail(eps[i], "name", "duplicate endpoint name '" + ep.name + "'");
      if (ep.url.rfind("http://", 0) != 0 && ep.url.rfind("https://", 0) != 0)
        e.fail(eps[i]["url"], "url", "expected http://host[:port]/path or https://...");
      if (ep.secret.size() < 16)
        e.fail(f, "secret_file", "the secret is shorter than 16 characters");
      for (const auto& c : ep.changes)
        if (!kChanges.count(c))
          e.fail(eps[i]["changes"], "changes",
                 "unknown change '" + c +
                     "' (suppressed, escalated, released, expired, unsubscribed, resubscribed, "
                     "complaint, imported)");
      w.endpoints.push_back(ep);
    }
  }
  if (w.backoff_max < w.backoff) s.fail(s.node()["backoff_max"], "backoff_max", "below backoff");
  s.finish();
}

void load_entra(Section s, EntraConfig& e, bool needed) {
  s.str("tenant_id", e.tenant_id);
  s.str("client_id", e.client_id);
  s.str("token_endpoint", e.token_endpoint);
  s.str("scope", e.scope);
  s.str("ca_file", e.ca_file);
  s.str("assertion_alg", e.assertion_alg);
  s.duration("refresh_before", e.refresh_before, Millis(0), Millis(86'400'000));
  s.duration("timeout", e.timeout, Millis(100), Millis(60'000));
  auto secret = s.get("client_secret_file");
  if (secret && !secret.IsNull()) {
    e.client_secret_file = s.scalar(secret, "client_secret_file");
    e.client_secret = read_secret(s, secret, "client_secret_file", e.client_secret_file);
    if (e.client_secret.empty()) s.fail(secret, "client_secret_file", "the secret file is empty");
  }
  auto cert = s.get("certificate_file");
  auto key = s.get("private_key_file");
  if (cert && !cert.IsNull()) {
    e.certificate_file = s.scalar(cert, "certificate_file");
    e.certificate_pem = read_secret(s, cert, "certificate_file", e.certificate_file) + "\n";
    if (!key || key.IsNull())
      s.fail(cert, "certificate_file", "a certificate needs its private_key_file");
    e.private_key_file = s.scalar(key, "private_key_file");
    e.private_key_pem = read_secret(s, key, "private_key_file", e.private_key_file) + "\n";
    if (auto why = signing_credential_problem(e.certificate_pem, e.private_key_pem))
      s.fail(cert, "certificate_file", *why);
  } else if (key && !key.IsNull()) {
    s.fail(key, "private_key_file", "a private key needs its certificate_file");
  }
  s.finish();
  if (e.assertion_alg != "PS256" && e.assertion_alg != "RS256")
    s.fail(s.node()["assertion_alg"], "assertion_alg", "expected PS256 or RS256");
  if (!e.token_endpoint.empty() && e.token_endpoint.rfind("https://", 0) != 0)
    s.fail(s.node()["token_endpoint"], "token_endpoint",
           "expected https://...: the client secret or assertion goes to it");
  if (!needed && e.client_id.empty()) return;
  // Where a missing or wrong value is reported: the key when it is there, else the section.
  auto at = [&](const char* key) {
    const YAML::Node& n = s.node();
    return n && n.IsMap() && n[key] ? n[key] : n;
  };
  if (!is_guid(e.client_id))
    s.fail(at("client_id"), "client_id", "expected the application (client) id, a GUID");
  if (e.tenant_id.empty() || e.tenant_id.find("..") != std::string::npos ||
      e.tenant_id.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != std::string::npos)
    s.fail(at("tenant_id"), "tenant_id",
           "expected the directory (tenant) id, a GUID or a verified domain");
  if (e.client_secret.empty() == e.certificate_pem.empty())
    s.fail(at("client_secret_file"), "client_secret_file",
           "give either client_secret_file or certificate_file with private_key_file");
}

void load_acs(Section s, AcsConfig& a) {
  Section l = s.sub("suppression_lists");
  AcsListsConfig& c = a.suppression_lists;
  l.str("subscription_id", c.subscription_id);
  l.str("resource_group", c.resource_group);
  l.str("email_service", c.email_service);
  l.boolean("push", c.push);
  l.strings("unsubscribe_lists", c.unsubscribe_lists);
  l.str("endpoint", c.endpoint);
  l.str("ca_file", c.ca_file);
  l.str("api_version", c.api_version);
  l.integer("max_attempts", c.max_attempts, 1, 100);
  l.duration("retry_max", c.retry_max, Millis(0), Millis(3'600'000));
  int rps = static_cast<int>(c.requests_per_second);
  l.integer("requests_per_second", rps, 1, 100);
  c.requests_per_second = rps;
  auto targets = l.get("lists");
  const bool any = targets && !targets.IsNull();
  if (any) {
    if (!targets.IsSequence()) l.fail(targets, "lists", "expected a list");
    for (size_t i = 0; i < targets.size(); ++i) {
      Section t(targets[i], l.join("lists") + "[" + std::to_string(i) + "]", l.file());
      AcsListTarget target;
      t.str("domain", target.domain);
      t.str("list", target.list);
      t.str("list_name", target.list_name);
      t.str("pull_list", target.pull_list);
      t.finish();
      if (target.domain.empty() || target.domain == "." || target.domain == ".." ||
          target.domain.find_first_of("/?#% ") != std::string::npos)
        t.fail(targets[i], "domain", "each list needs the domain resource's name");
      if (target.list.empty() || target.list.size() > 253 ||
          target.list.find_first_not_of(
              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") !=
              std::string::npos)
        t.fail(targets[i], "list", "a suppression list name is 1-253 letters, digits or '-'");
      c.targets.push_back(target);
    }
  }
  c.entra.scope = "https://management.azure.com/.default";
  if (any && !l.has("entra"))
    l.fail(targets, "lists",
           "the lists need an entra: section (an application with rights on the domain)");
  load_entra(l.sub("entra"), c.entra, any);
  l.finish();
  if (!any) {
    if (c.push) l.fail(l.node()["push"], "push", "push needs lists to push to");
    s.finish();
    return;
  }
  auto at = [&](const char* key) {
    const YAML::Node& n = l.node();
    return n[key] ? n[key] : n;
  };
  if (!is_guid(c.subscription_id))
    l.fail(at("subscription_id"), "subscription_id", "expected the Azure subscription id, a GUID");
  auto plain = [](const std::string& v) {
    return !v.empty() && v != "." && v != ".." && v.find_first_of("/?#% ") == std::string::npos;
  };
  if (!plain(c.resource_group))
    l.fail(at("resource_group"), "resource_group", "expected the resource group's name");
  if (!plain(c.email_service))
    l.fail(at("email_service"), "email_service",
           "expected the Email Communication Services resource's name");
  if (c.endpoint.rfind("https://", 0) != 0)
    l.fail(at("endpoint"), "endpoint", "expected https://...: a bearer token goes to it");
  s.finish();
}

}  // namespace bouncegate::config_detail
