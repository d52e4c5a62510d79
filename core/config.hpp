// Typed, immutable configuration loaded from one YAML file. Unknown keys, wrong types and
// out-of-range values are errors naming file:line:column and the key path.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/classify.hpp"
#include "core/outcome.hpp"

namespace bouncegate {

using Millis = std::chrono::milliseconds;

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "90s", "24h", "7d", "250ms", "1w"; bare numbers are seconds. nullopt when malformed.
std::optional<Millis> parse_duration(std::string_view s);
// "10MB", "512k", "1GiB", bare bytes. Decimal and binary suffixes both mean 1024-based.
std::optional<uint64_t> parse_size(std::string_view s);
// "24h" / "96h" / "7d" / "90s" for display: days from a week on, else the largest unit that
// divides evenly (the ladder reads as written in the YAML).
std::string format_duration(Millis d);

struct RedisConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  // set when address is unix:/path
  std::string password_file;
  std::string password;  // read from password_file at load; never logged
  int database = 0;
  std::string key_prefix = "bg:";
  Millis timeout{250};
  Millis connect_timeout{500};
  int pool_size = 8;
  Millis reconnect_backoff{1000};
  // Redis Sentinel: when `sentinel_master` is set, the master's address is asked of the
  // sentinels (in order) on every new connection, so a failover is followed.
  std::string sentinel_master;
  std::vector<std::pair<std::string, int>> sentinel_nodes;
  std::string sentinel_password;  // read from sentinel.password_file; never logged
  std::string address_text() const;
};

// suppression.on_bad_address: a recipient address that cannot be canonicalised (so cannot be
// looked up) is never passed silently. tempfail: 451 4.1.3, the sender retries and the
// operator sees a warning; reject: 553 5.1.3; accept: passed ungated, with a warning.
enum class BadAddressMode { tempfail, reject, accept };

// Soft-bounce escalation for one class: `after` outcomes about the recipient's mailbox within
// `within` become a suppression on its own ladder.
struct EscalationPolicy {
  int after = 0;  // distinct messages (queue id or Message-ID), not retries of one
  Millis within{0};
  std::vector<Millis> ladder;
  Action action = Action::defer;  // defer (450, Postfix keeps the mail) or suppress (550)
};

struct SuppressionConfig {
  std::vector<Millis> lease_ladder{std::chrono::hours(24), std::chrono::hours(48),
                                   std::chrono::hours(96), std::chrono::hours(24 * 7),
                                   std::chrono::hours(24 * 14)};
  std::map<OutcomeClass, Action> actions;  // class -> action, defaults filled at load
  // Reply templates: {rcpt} {code} {until} {class} {level} {lease} {list}
  std::string reject_reply =
      "550 5.1.1 <{rcpt}>: recipient suppressed after hard bounce ({code}), retry after {until}";
  std::string defer_reply =
      "450 4.2.0 <{rcpt}>: recipient deferred after bounce ({code}), retry after {until}";
  std::string complaint_reply =
      "550 5.7.1 <{rcpt}>: recipient complained about mail from this sender";
  std::string unsubscribed_reply = "550 5.7.1 <{rcpt}>: recipient unsubscribed from list {list}";
  size_t events_maxlen = 1000000;
  Millis stats_ttl{std::chrono::hours(24 * 35)};
  Millis message_id_ttl{std::chrono::hours(24 * 7)};
  std::string journal_path = "/var/lib/bouncegate/journal";
  BadAddressMode on_bad_address = BadAddressMode::tempfail;
  // suppression.escalation: per class; empty (the default): soft outcomes never suppress.
  std::map<OutcomeClass, EscalationPolicy> escalation;
  Action action_for(OutcomeClass c) const;
};

// gate.local_filter (core/local_filter): a Bloom filter of the suppressed set in each gating
// process, so clean recipients pass without a Redis round trip. Off by default.
struct LocalFilterConfig {
  bool enabled = false;
  double false_positive_rate = 0.01;  // the share of clean recipients still asked of Redis
  Millis poll_every{1000};            // how often the event stream is read
  Millis rebuild_every{600'000};      // a fresh filter (drops removed entries); also the
                                      // longest the filter serves without hearing from Redis
  size_t min_capacity = 100'000;      // members the filter is sized for at least
};

struct GateConfig {
  LocalFilterConfig local_filter;
};

struct ClassificationConfig {
  std::vector<RuleSpec> rules;  // YAML rules first, then the defaults unless replace_defaults
  bool replace_defaults = false;
  std::string rules_file;
};

enum class StoreErrorMode { tempfail, accept };

// relay.bare_newline (SMTP smuggling): what a CR or LF outside a CRLF pair turns into.
enum class BareNewline {
  reject,     // the command (500 5.5.2) or message (550 5.5.2) is refused
  normalize,  // it becomes CRLF on the way upstream; a lone "." it makes is dot-stuffed
};

struct UnsubscribeList {
  std::string id;
  std::string sender;   // envelope sender glob, e.g. "news@example.com" or "*@news.example.com"
  std::string list_id;  // match on an existing List-Id header (glob)
};

struct UnsubscribeConfig {
  std::vector<std::string> key_files;  // newest first seals; all open
  std::string url_base;                // https://unsub.example.com/u/
  std::string mailto;                  // unsubscribe@example.com
  bool replace_existing = false;       // existing_header: keep | replace
  bool skip_multiple_recipients = true;
  Millis token_max_age{std::chrono::hours(24 * 365)};
  std::vector<UnsubscribeList> lists;
};

// The reply when the store cannot be asked (core/store_failure); milter.store_error_reply
// overrides it for the milter.
inline constexpr std::string_view kDefaultStoreErrorReply =
    "451 4.3.0 suppression store unavailable, try again later";

struct MilterConfig {
  std::string socket = "inet:8891@127.0.0.1";
  StoreErrorMode on_store_error = StoreErrorMode::tempfail;
  std::string store_error_reply{kDefaultStoreErrorReply};
  bool shadow = false;
  bool gate = true;
  Millis timeout{std::chrono::seconds(7200)};
  int backlog = 128;
  // Postfix's SMTPD access policy delegation (check_policy_service): the same RCPT gate over
  // connections Postfix keeps open across sessions. Empty: off. Loopback only.
  std::string policy_listen;
  int policy_max_connections = 256;               // Postfix opens one per smtpd process
  Millis policy_idle{std::chrono::seconds(600)};  // longer than smtpd_policy_service_max_idle
};

// An Entra ID application signing in with the OAuth 2.0 client-credentials grant (ACS SMTP
// XOAUTH2, the ARM suppression-list API): a client secret or a certificate, from files.
struct EntraConfig {
  std::string tenant_id;  // GUID or verified domain
  std::string client_id;  // the application (client) id, a GUID
  std::string client_secret_file;
  std::string client_secret;                       // read at load; never logged
  std::string certificate_file, private_key_file;  // PEM; the assertion is signed with the key
  std::string certificate_pem, private_key_pem;    // read at load; the key is never logged
  std::string assertion_alg = "PS256";             // PS256 (x5t#S256) | RS256 (x5t)
  // Empty: https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token
  std::string token_endpoint;
  std::string scope;    // set by the user of the section (communication / management)
  std::string ca_file;  // for the token endpoint; empty: system store
  Millis refresh_before{std::chrono::minutes(5)};  // a token is renewed this long before it ends
  Millis timeout{std::chrono::seconds(10)};
  bool configured() const { return !client_id.empty(); }
  std::string endpoint() const {
    return token_endpoint.empty()
               ? "https://login.microsoftonline.com/" + tenant_id + "/oauth2/v2.0/token"
               : token_endpoint;
  }
};

struct UpstreamConfig {
  std::string host = "smtp.azurecomm.net";
  int port = 587;
  std::string tls = "starttls";  // starttls | implicit | none
  bool insecure = false;
  std::string ca_file;  // empty: system store
  bool verify_hostname = true;
  std::string username;
  std::string password_file;
  std::string password;  // read at load; never logged
  // password: AUTH PLAIN/LOGIN with password_file | xoauth2: AUTH XOAUTH2 with an Entra token
  std::string auth = "password";
  EntraConfig entra;  // for xoauth2; scope https://communication.azure.com/.default
  std::string helo;   // empty: the machine's host name
  Millis connect_timeout{std::chrono::seconds(30)};
  Millis command_timeout{std::chrono::seconds(300)};
  Millis data_timeout{std::chrono::seconds(600)};
  int pool_size = 4;
  Millis pool_idle{std::chrono::seconds(60)};
  // Upstream connections this relay may hold open at once (busy and idle); 0: no cap. A
  // session that finds them all busy waits up to connection_wait for one, then hears 451.
  int max_connections = 0;
  Millis connection_wait{std::chrono::seconds(10)};
  // The same cap for every relay sharing this Redis (slots in bg:upstream:slots); 0: none.
  int fleet_max_connections = 0;
};

struct RelayConfig {
  std::vector<std::string> listen{"127.0.0.1:10025"};
  std::vector<std::string> allow{"127.0.0.0/8", "::1/128"};
  bool gate = true;
  // Never refuse at the gate: log and count would-refuse, forward (no lease bump, no hit).
  bool shadow = false;
  // Store unreachable at the RCPT gate or the rate-limit check: tempfail (451 4.3.0, Postfix
  // retries) or accept (forward ungated; the milter may already have gated the recipient).
  StoreErrorMode on_store_error = StoreErrorMode::tempfail;
  int max_recipients = 50;
  uint64_t max_message_size = 10 * 1024 * 1024;
  int max_sessions = 1000;
  std::string hostname;  // banner name; empty: host name
  Millis client_timeout{std::chrono::seconds(300)};
  UpstreamConfig upstream;
  int rate_per_minute = 0;  // 0: unlimited
  int rate_per_hour = 0;
  Millis throttle_pause{std::chrono::seconds(60)};
  // A CR or LF outside a CRLF pair, in commands and message data: refused (500/550 5.5.2),
  // or normalised to CRLF. Either way no byte sequence can end DATA upstream early.
  BareNewline bare_newline = BareNewline::reject;
};

// One bearer token of the HTTP API (web.api.tokens): a name (logged, written as the source of
// its changes), a scope, and the secret read from a file or credential (never logged).
struct ApiToken {
  std::string name;
  bool write = false;  // scope write (read, and every change); else read only
  std::string token_file;
  std::string secret;
};

struct ApiConfig {
  std::vector<ApiToken> tokens;  // empty: /api/v1/ answers 404
  size_t max_batch = 1000;       // addresses per check, rows per import request
  size_t page_size = 100;        // default GET /suppressions limit (at most 1000)
};

struct WebConfig {
  std::string listen = "127.0.0.1:8025";
  std::string event_grid_secret_file;
  std::string event_grid_secret;  // read at load; never logged
  uint64_t max_body = 1024 * 1024;
  Millis request_timeout{std::chrono::seconds(10)};
  Millis event_dedupe_ttl{std::chrono::hours(48)};
  ApiConfig api;
};

struct LoggingConfig {
  bool json = false;
  std::string level = "info";  // debug | info | notice | warning | error
};

struct MetricsConfig {
  std::string milter_listen;  // empty: off
  std::string relay_listen;
  std::string web_listen;
  std::vector<std::string> top_domains;
};

// Feedback that arrives by mail (DSN bounces, ARF and other complaints).
struct FeedbackConfig {
  // Anyone can mail the bounce address: only a report tied to mail this site relayed (the
  // bg:mid: record of its original Message-ID, naming the reported recipient) may suppress.
  // Others are recorded with verified=no and counted, never acted on.
  bool require_match = true;
};

// policies: per sender (envelope sender glob) or list, which classes of entries do not refuse
// its mail (a transactional stream that a marketing unsubscribe must not block).
struct SenderPolicy {
  std::string name;
  std::vector<std::string> senders;  // envelope sender globs, case-insensitive
  std::vector<std::string> lists;    // unsubscribe list ids
  std::vector<OutcomeClass> bypass;  // entries of these classes (and "unsubscribe") pass
};

// webhooks: signed POSTs of suppression changes, delivered at least once by bouncegate-web.
struct WebhookEndpoint {
  std::string name;
  std::string url;  // http://127.0.0.1:9000/hook or https://host/path (certificate verified)
  std::string secret_file;
  std::string secret;                // HMAC-SHA256 key, read at load; never logged
  std::vector<std::string> changes;  // empty: every change
};

struct WebhookConfig {
  std::vector<WebhookEndpoint> endpoints;
  int max_attempts = 12;  // then the change goes to the dead-letter stream
  Millis backoff{std::chrono::seconds(10)};
  Millis backoff_max{std::chrono::hours(1)};
  Millis timeout{std::chrono::seconds(10)};
  Millis expiry_sweep{std::chrono::seconds(10)};  // how often due leases are looked at
  std::string consumer;                           // consumer name; empty: the host name
};

// acs.suppression_lists: ACS's customer-managed suppression lists (Azure Resource Manager
// suppressionLists / suppressionListAddresses of an Email Communication Services domain).
struct AcsListTarget {
  std::string domain;     // the sending domain's resource name (e.g. mail.example.com)
  std::string list;       // the suppressionLists resource name ([A-Za-z0-9-]+)
  std::string list_name;  // properties.listName: a sender username; "" = every sender
  // `acs pull` of a list scoped to one sender (list_name set): its addresses become
  // unsubscribes from this bouncegate list; empty: such a list is not pulled.
  std::string pull_list;
};
struct AcsListsConfig {
  std::string subscription_id, resource_group, email_service;
  std::vector<AcsListTarget> targets;
  bool push = false;  // permanent decisions go to every target list (bouncegate-web)
  // Unsubscribes from these lists are pushed too ("*": the every-list unsubscribe); an ACS
  // list stops every message of its senders, so the default pushes only "*".
  std::vector<std::string> unsubscribe_lists{"*"};
  std::string endpoint = "https://management.azure.com";  // a stand-in in tests
  std::string ca_file;  // for the endpoint; empty: the system store
  std::string api_version = "2025-09-01";
  EntraConfig entra;               // scope https://management.azure.com/.default
  double requests_per_second = 5;  // ARM allows writes at 10/s per principal; leave headroom
  int max_attempts = 6;            // per request: 429 (Retry-After), 5xx, transport errors
  Millis retry_max{std::chrono::seconds(60)};  // the longest Retry-After honoured at once
  bool configured() const { return !targets.empty(); }
};
struct AcsConfig {
  AcsListsConfig suppression_lists;
};

struct Config {
  std::string source_file;
  RedisConfig redis;
  SuppressionConfig suppression;
  GateConfig gate;
  ClassificationConfig classification;
  MilterConfig milter;
  RelayConfig relay;
  WebConfig web;
  WebhookConfig webhooks;
  AcsConfig acs;
  std::vector<SenderPolicy> policies;  // first match wins
  UnsubscribeConfig unsubscribe;
  FeedbackConfig feedback;
  LoggingConfig logging;
  MetricsConfig metrics;
  std::shared_ptr<const Classifier> classifier;  // compiled from classification.rules
};

// Loads and validates; throws ConfigError("file:line:column: key.path: message").
// Secrets named by *_file keys are read here; $CREDENTIALS_DIRECTORY/<name> is tried when a
// secret file name is relative.
std::shared_ptr<const Config> load_config(const std::string& path);
std::shared_ptr<const Config> load_config_text(const std::string& yaml, const std::string& origin);

inline constexpr const char* kDefaultConfigPath = "/etc/bouncegate/bouncegate.yaml";

}  // namespace bouncegate
