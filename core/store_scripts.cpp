// Script table of the suppression store: names, prelude and digests of core/lua/*.lua.
#include "core/store_scripts.hpp"

#include <openssl/sha.h>

#include <cstdio>
#include <stdexcept>

namespace bouncegate {
namespace lua {  // generated from core/lua/*.lua at configure time
extern const std::string_view gate_lua, record_lua, unsubscribe_lua, remove_lua, rate_lua,
    resubscribe_lua, check_lua, sweep_lua, slots_lua;
}  // namespace lua

namespace store_scripts {
namespace {

std::vector<Script> build() {
  std::vector<Script> v = {
      {"gate",
       // domain: "*@" the recipient's domain; the parents' domain entries follow it as KEYS.
       // expiry: the due-time index of leases (a sorted set: member address, score expiry ms).
       {"entry", "unsubscribed", "events", "expiry", "domain"},
       {"now", "list", "queue_id", "message_id", "source", "addr", "maxlen", "dry_run", "scope",
        "bypass"},
       std::string(lua::gate_lua),
       ""},
      // verified: '', yes or no (no: counted as "unverified"); origin: outcome, manual, import;
      // ttl_override_ms, dedupe_ttl_ms, first_seen_ms, last_seen_ms: '' for none; subdomains: '1'
      // when a domain entry ("*@d") covers the sub-domains of d too; esc_after, esc_within_ms,
      // esc_ladder (ms, comma-separated): this outcome counts toward escalation ('': it does not);
      // ts: the outcome's own time (the event's ts; now is kept as received_ts); step: '1' to
      // step an existing lease one level (the upstream's own suppression list refused).
      {"record",
       // soft: the count of soft outcomes toward suppression.escalation.
       {"entry", "events", "stats", "unsubscribed", "seen", "soft", "expiry"},
       {"now",
        "class",
        "action",
        "code",
        "text",
        "source",
        "queue_id",
        "message_id",
        "rule",
        "addr",
        "maxlen",
        "stats_ttl_s",
        "ttl_override_ms",
        "reason",
        "dedupe_ttl_ms",
        "verified",
        "origin",
        "list",
        "first_seen_ms",
        "last_seen_ms",
        "subdomains",
        "esc_after",
        "esc_within_ms",
        "esc_ladder",
        "esc_action",
        "esc_message",
        "ts",
        "provider_message_id",
        "sender",
        "remote_mta",
        "step"},
       std::string(lua::record_lua),
       ""},
      {"unsubscribe",
       {"unsubscribed", "events"},
       {"now", "list", "addr", "source", "maxlen", "queue_id"},
       std::string(lua::unsubscribe_lua),
       ""},
      {"remove",
       {"entry", "unsubscribed", "events", "expiry", "soft"},
       {"now", "addr", "source", "maxlen"},
       std::string(lua::remove_lua),
       ""},
      // refund: '1' gives one token back to each bucket that has a count (no cap needed: a
      // refund follows a take, and the bucket refills to its cap anyway).
      {"rate",
       {"bucket"},
       {"now", "per_minute", "per_hour", "refund"},
       std::string(lua::rate_lua),
       ""},
      {"resubscribe",
       {"unsubscribed", "events"},
       {"now", "list", "addr", "source", "maxlen"},
       std::string(lua::resubscribe_lua),
       ""},
      // Read only: what gate would answer (the API's batch check). Domain keys as for gate.
      {"check",
       {"entry", "unsubscribed", "domain"},
       {"list", "bypass"},
       std::string(lua::check_lua),
       ""},
      // Due leases: entries gone get one "expired" event each (entry_prefix: "bg:s:{").
      {"sweep",
       {"expiry", "events"},
       {"now", "maxlen", "limit", "entry_prefix"},
       std::string(lua::sweep_lua),
       ""},
      // The fleet's upstream connection slots (relay.upstream.fleet_max_connections).
      {"slots", {"slots"}, {"op", "ttl", "max", "member"}, std::string(lua::slots_lua), ""},
  };
  for (auto& s : v) {
    std::string prelude = "local KEY = {";
    for (size_t i = 0; i < s.keys.size(); ++i)
      prelude += std::string(i ? ", " : "") + s.keys[i] + " = KEYS[" + std::to_string(i + 1) + "]";
    prelude += "}\nlocal ARG = {";
    for (size_t i = 0; i < s.args.size(); ++i)
      prelude += std::string(i ? ", " : "") + s.args[i] + " = ARGV[" + std::to_string(i + 1) + "]";
    prelude += "}\nlocal NFIXED = " + std::to_string(s.args.size()) + "\n";
    prelude += "local NKEYS = " + std::to_string(s.keys.size()) + "\n";
    s.body = prelude + s.body;
    unsigned char d[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(s.body.data()), s.body.size(), d);
    char hex[SHA_DIGEST_LENGTH * 2 + 1];
    for (int i = 0; i < SHA_DIGEST_LENGTH; ++i) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    s.sha = hex;
  }
  return v;
}

}  // namespace

const Script& script(Id id) {
  static const std::vector<Script> all = build();
  return all.at(static_cast<size_t>(id));
}

Args::Args(Id id) : s_(script(id)), values_(s_.args.size()), set_(s_.args.size(), false) {}

Args& Args::set(std::string_view name, std::string value) {
  for (size_t i = 0; i < s_.args.size(); ++i)
    if (name == s_.args[i]) {
      values_[i] = std::move(value);
      set_[i] = true;
      return *this;
    }
  throw std::logic_error(std::string(s_.name) + " script has no argument " + std::string(name));
}

std::vector<std::string> Args::done(const std::vector<std::string>& extra) const {
  for (size_t i = 0; i < set_.size(); ++i)
    if (!set_[i])
      throw std::logic_error(std::string(s_.name) + " script: argument " + s_.args[i] + " not set");
  std::vector<std::string> out = values_;
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

}  // namespace store_scripts
}  // namespace bouncegate
