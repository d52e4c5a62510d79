// Reply classification engine: compiles RuleSpecs once and matches them in order.
#include "core/classify.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace bouncegate {

extern const std::string_view kDefaultRulesYaml;

namespace {

std::array<int, 3> compile_code(const std::string& id, const std::string& p) {
  if (p.size() != 3)
    throw RuleError("rule " + id + ": code pattern '" + p + "' must be 3 characters");
  std::array<int, 3> out{};
  for (int i = 0; i < 3; ++i) {
    char c = p[i];
    if (c == 'x' || c == 'X' || c == '*')
      out[i] = -1;
    else if (c >= '0' && c <= '9')
      out[i] = c - '0';
    else
      throw RuleError("rule " + id + ": code pattern '" + p + "' may hold digits and x only");
  }
  return out;
}

int to_int(const std::string& id, const std::string& p, const std::string& s) {
  if (s.empty() || s.size() > 3 || s.find_first_not_of("0123456789") != std::string::npos)
    throw RuleError("rule " + id + ": enhanced pattern '" + p + "' has a bad number '" + s + "'");
  return std::stoi(s);
}

}  // namespace

namespace {

// Appends `token` with each bare address (the run of non-delimiters around an '@') replaced
// by a space: done here, in one pass, rather than by a regex whose cost is quadratic.
void append_without_bare_addresses(std::string& out, std::string_view token) {
  auto delimiter = [](char c) {
    return std::string_view("<>()[]\"',;:").find(c) != std::string_view::npos;
  };
  size_t done = 0;
  for (size_t at = token.find('@'); at != std::string_view::npos;
       at = token.find('@', std::max(at + 1, done))) {
    size_t b = at, e = at + 1;
    while (b > done && !delimiter(token[b - 1])) --b;
    while (e < token.size() && !delimiter(token[e])) ++e;
    if (b == at || e == at + 1) continue;  // "@" alone or at an edge: not an address
    out.append(token.substr(done, b - done));
    out += ' ';
    done = e;
  }
  out.append(token.substr(done));
}

constexpr size_t kMaxMatchedText = 8192;
constexpr size_t kMaxTokenLength = 80;
constexpr size_t kMaxTokenDots = 10;

}  // namespace

std::string text_for_matching(std::string_view reply_text) {
  // Session transcripts echo our own commands ("--> MAIL From:<a>", ">>> RCPT To:<b>"): what we
  // said is not what the server said about the recipient.
  static const std::regex our_commands(
      "(-->|>>>)\\s*(ehlo|helo|mail from|rcpt to|data|quit|rset|starttls|auth|bdat)\\b[^<>\\n]*",
      std::regex::ECMAScript | std::regex::icase | std::regex::optimize);
  static const std::regex identifiers(
      "<[^>\\s]*>"                       // <address>, <message-id>
      "|\\b(https?|ftp)://[^\\s]*"       // URLs
      "|\\b\\d{1,3}(\\.\\d{1,3}){3}\\b"  // IPv4
      // host names: labels ending in a two-letter or common generic TLD, so that dotted
      // diagnostics such as SMTPSEND.DNS.NonExistentDomain stay readable
      "|\\b([a-z0-9][a-z0-9-]*\\.)+([a-z]{2}|com|net|org|edu|gov|mil|int|info|biz|app|dev|"
      "cloud|email|online|site|xyz|top|mail|local|localdomain|invalid|test|example|arpa)\\b",
      std::regex::ECMAScript | std::regex::icase | std::regex::optimize);
  // Bounded cost: std::regex backtracks, and the identifier patterns cost the square of a
  // token's length. A run of more than 80 characters without white space is no phrase (an
  // identifier, an encoded blob or an attack): it goes first, and at most 8 kB are read.
  // So does a token of more than ten dots (no host name or phrase has that many).
  std::string text;
  text.reserve(std::min<size_t>(reply_text.size(), kMaxMatchedText));
  for (size_t i = 0; i < reply_text.size() && text.size() < kMaxMatchedText;) {
    size_t j = i;
    while (j < reply_text.size() && !std::isspace(static_cast<unsigned char>(reply_text[j]))) ++j;
    const std::string_view token = reply_text.substr(i, j - i);
    if (token.size() <= kMaxTokenLength &&
        static_cast<size_t>(std::count(token.begin(), token.end(), '.')) <= kMaxTokenDots)
      append_without_bare_addresses(text, token);
    else
      text += ' ';
    size_t k = j;
    while (k < reply_text.size() && std::isspace(static_cast<unsigned char>(reply_text[k]))) ++k;
    text.append(reply_text.substr(j, k - j));
    i = k;
  }
  if (text.size() > kMaxMatchedText) text.resize(kMaxMatchedText);
  if (text.find("-->") != std::string::npos || text.find(">>>") != std::string::npos)
    text = std::regex_replace(text, our_commands, " ");
  text = std::regex_replace(text, identifiers, " ");
  // What is left of "User (a@b) unknown" is "User ( ) unknown": empty brackets go, and runs of
  // white space become one space, so phrases read as they would without the identifier.
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '(' || c == '[' || c == '<') {
      const char close = c == '(' ? ')' : c == '[' ? ']' : '>';
      size_t j = i + 1;
      while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j]))) ++j;
      if (j < text.size() && text[j] == close) {
        i = j;
        c = ' ';
      }
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

Classifier::Classifier(const std::vector<RuleSpec>& rules) {
  for (const auto& spec : rules) {
    Compiled c;
    c.id = spec.id;
    c.concerns = spec.concerns;
    c.why = spec.why;
    c.permanent = spec.permanent;
    if (spec.id.empty())
      throw RuleError("a rule has no id (line " + std::to_string(spec.line) + ")");
    auto cls = outcome_class_from(spec.cls);
    if (!cls) throw RuleError("rule " + spec.id + ": unknown class '" + spec.cls + "'");
    c.cls = *cls;
    for (const auto& cmd : spec.commands) {
      auto sc = smtp_command_from(cmd);
      if (!sc) throw RuleError("rule " + spec.id + ": unknown command '" + cmd + "'");
      c.commands.push_back(*sc);
    }
    for (const auto& code : spec.codes) c.codes.push_back(compile_code(spec.id, code));
    for (const auto& e : spec.enhanced) {
      std::array<Range, 3> parts;
      size_t start = 0;
      for (int i = 0; i < 3; ++i) {
        size_t dot = e.find('.', start);
        if ((i < 2) == (dot == std::string::npos))
          throw RuleError("rule " + spec.id + ": enhanced pattern '" + e + "' needs three parts");
        std::string part =
            e.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (part == "x" || part == "X" || part == "*") {
          parts[i] = {-1, -1};
        } else if (auto dash = part.find('-'); dash != std::string::npos) {
          parts[i] = {to_int(spec.id, e, part.substr(0, dash)),
                      to_int(spec.id, e, part.substr(dash + 1))};
        } else {
          int v = to_int(spec.id, e, part);
          parts[i] = {v, v};
        }
        start = dot + 1;
      }
      c.enhanced.push_back(parts);
    }
    if (!spec.text.empty()) {
      for (unsigned char ch : spec.text)
        if (ch < 0x20 || ch == 0x7f)
          throw RuleError("rule " + spec.id +
                          ": control character in text (a \\b inside a double-quoted YAML "
                          "string is a backspace: use single quotes)");
      try {
        c.text = std::make_unique<std::regex>(
            spec.text, std::regex::ECMAScript | std::regex::icase | std::regex::optimize);
      } catch (const std::regex_error& e) {
        throw RuleError("rule " + spec.id + ": bad text regex: " + e.what());
      }
    }
    static const char* kConcerns[] = {
        "", "recipient", "recipient_domain", "sender", "sending_host", "message", "network"};
    if (std::find(std::begin(kConcerns), std::end(kConcerns), spec.concerns) == std::end(kConcerns))
      throw RuleError("rule " + spec.id + ": unknown concerns '" + spec.concerns + "'");
    // "hard" needs positive evidence about the recipient, and a permanent reply.
    if (c.cls == OutcomeClass::hard &&
        (!c.permanent || (spec.concerns != "recipient" && spec.concerns != "recipient_domain")))
      throw RuleError("rule " + spec.id +
                      ": a hard rule must say permanent: true and concern the recipient or "
                      "recipient_domain");
    if (c.commands.empty() && c.codes.empty() && c.enhanced.empty() && !c.text)
      throw RuleError("rule " + spec.id +
                      ": matches nothing in particular (give command, code, "
                      "enhanced or text)");
    rules_.push_back(std::move(c));
  }
}

bool Classifier::matches(const Compiled& r, SmtpCommand command, const Reply& reply,
                         std::optional<std::string>& text, std::string* phrase) const {
  if (!r.commands.empty()) {
    bool ok = false;
    for (auto c : r.commands) ok = ok || c == SmtpCommand::any || c == command;
    if (!ok) return false;
  }
  if (!r.codes.empty()) {
    if (reply.code == 0) return false;
    int d[3] = {reply.code / 100, reply.code / 10 % 10, reply.code % 10};
    bool ok = false;
    for (const auto& p : r.codes)
      ok = ok ||
           ((p[0] < 0 || p[0] == d[0]) && (p[1] < 0 || p[1] == d[1]) && (p[2] < 0 || p[2] == d[2]));
    if (!ok) return false;
  }
  if (!r.enhanced.empty()) {
    if (!reply.enhanced) return false;
    int v[3] = {reply.enhanced->cls, reply.enhanced->subject, reply.enhanced->detail};
    bool ok = false;
    for (const auto& p : r.enhanced) {
      bool m = true;
      for (int i = 0; i < 3; ++i)
        if (p[i].lo >= 0 && (v[i] < p[i].lo || v[i] > p[i].hi)) m = false;
      ok = ok || m;
    }
    if (!ok) return false;
  }
  if (r.permanent &&
      ((reply.code && reply.code / 100 != 5) || (reply.enhanced && reply.enhanced->cls != 5)))
    return false;
  // A reply to MAIL FROM, EHLO, AUTH, STARTTLS or the DATA command itself is about our session:
  // no recipient had been named to it, so it can never prove one dead.
  if (r.cls == OutcomeClass::hard &&
      (command == SmtpCommand::mail || command == SmtpCommand::ehlo ||
       command == SmtpCommand::auth || command == SmtpCommand::starttls ||
       command == SmtpCommand::data))
    return false;
  phrase->clear();
  if (r.text) {
    if (!text) text = text_for_matching(reply.text());  // built lazily: codes decide most
    std::smatch m;
    if (!std::regex_search(*text, m, *r.text)) return false;
    *phrase = m.str();
  }
  return true;
}

Classification Classifier::classify(SmtpCommand command, const Reply& reply) const {
  auto all = evidence(command, reply, 1);
  return all.front();
}

std::vector<Classification> Classifier::evidence(SmtpCommand command, const Reply& reply,
                                                 size_t max) const {
  if (!reply.valid) return {{OutcomeClass::unknown, "not-a-reply", "", "", "not an SMTP reply"}};
  std::optional<std::string> text;
  std::vector<Classification> out;
  std::string phrase;
  for (const auto& r : rules_) {
    if (out.size() >= max) break;
    if (matches(r, command, reply, text, &phrase))
      out.push_back({r.cls, r.id, r.concerns, phrase, r.why});
  }
  if (out.empty())
    out.push_back(
        {OutcomeClass::unknown, "no-rule", "", "", "no rule matched: recorded, never suppressed"});
  return out;
}

namespace {

std::vector<std::string> string_or_list(const YAML::Node& n, const std::string& where) {
  std::vector<std::string> out;
  if (!n) return out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (const auto& e : n) {
      if (!e.IsScalar()) throw RuleError(where + ": list entries must be strings");
      out.push_back(e.Scalar());
    }
  } else {
    throw RuleError(where + ": expected a string or a list of strings");
  }
  return out;
}

}  // namespace

std::vector<RuleSpec> parse_rules_yaml(std::string_view yaml_text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    throw RuleError(origin + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  YAML::Node list = root.IsMap() ? root["rules"] : root;
  if (!list || !list.IsSequence()) throw RuleError(origin + ": expected a list under 'rules'");
  std::vector<RuleSpec> out;
  for (const auto& n : list) {
    std::string where = origin + ":" + std::to_string(n.Mark().line + 1);
    if (!n.IsMap()) throw RuleError(where + ": a rule must be a mapping");
    RuleSpec r;
    r.line = n.Mark().line + 1;
    for (const auto& kv : n) {
      std::string key = kv.first.Scalar();
      std::string kw = origin + ":" + std::to_string(kv.first.Mark().line + 1) + ":" +
                       std::to_string(kv.first.Mark().column + 1) + ": rules." + key;
      if (key == "id")
        r.id = kv.second.Scalar();
      else if (key == "class")
        r.cls = kv.second.Scalar();
      else if (key == "command")
        r.commands = string_or_list(kv.second, kw);
      else if (key == "code")
        r.codes = string_or_list(kv.second, kw);
      else if (key == "enhanced")
        r.enhanced = string_or_list(kv.second, kw);
      else if (key == "text")
        r.text = kv.second.Scalar();
      else if (key == "why")
        r.why = kv.second.Scalar();
      else if (key == "concerns")
        r.concerns = kv.second.Scalar();
      else if (key == "permanent")
        r.permanent = kv.second.as<bool>();
      else
        throw RuleError(kw +
                        ": unknown key (expected id, class, command, code, enhanced, text, "
                        "concerns, permanent, why)");
    }
    out.push_back(std::move(r));
  }
  // Compile once here so errors carry the origin and line.
  try {
    Classifier check(out);
  } catch (const RuleError& e) {
    for (const auto& r : out)
      if (std::string(e.what()).find("rule " + r.id + ":") == 0)
        throw RuleError(origin + ":" + std::to_string(r.line) + ": " + e.what());
    throw RuleError(origin + ": " + e.what());
  }
  return out;
}

const std::vector<RuleSpec>& default_rule_specs() {
  static const std::vector<RuleSpec> specs =
      parse_rules_yaml(kDefaultRulesYaml, "default_rules.yaml");
  return specs;
}

}  // namespace bouncegate
