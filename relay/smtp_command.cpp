// SMTP command-line parsing for the relay: verbs, paths and ESMTP parameters.
#include "relay/smtp_command.hpp"

#include <cctype>

namespace bouncegate {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

Verb verb_from(std::string_view v) {
  static const std::pair<std::string_view, Verb> table[] = {
      {"HELO", Verb::helo}, {"EHLO", Verb::ehlo},         {"MAIL", Verb::mail},
      {"RCPT", Verb::rcpt}, {"DATA", Verb::data},         {"RSET", Verb::rset},
      {"NOOP", Verb::noop}, {"QUIT", Verb::quit},         {"VRFY", Verb::vrfy},
      {"EXPN", Verb::expn}, {"HELP", Verb::help},         {"STARTTLS", Verb::starttls},
      {"AUTH", Verb::auth}, {"XFORWARD", Verb::xforward}, {"BDAT", Verb::bdat}};
  for (const auto& [name, verb] : table)
    if (name == v) return verb;
  return Verb::unknown;
}

void parse_params(std::string_view rest, CommandLine& c) {
  while (!rest.empty()) {
    rest = trim(rest);
    if (rest.empty()) break;
    size_t sp = rest.find(' ');
    std::string_view word = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    size_t eq = word.find('=');
    std::string key = ascii_upper(word.substr(0, eq));
    if (key.empty()) {
      c.error = "empty parameter keyword";
      return;
    }
    for (char ch : key)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') {
        c.error = "bad parameter keyword " + key;
        return;
      }
    c.params.emplace_back(key,
                          eq == std::string_view::npos ? "" : std::string(word.substr(eq + 1)));
  }
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> words) {
  std::string u = ascii_upper(v);
  for (auto w : words)
    if (u == w) return true;
  return false;
}

bool is_notify(std::string_view v) {
  if (ascii_upper(v) == "NEVER") return true;
  while (!v.empty()) {
    size_t comma = v.find(',');
    if (!one_of(v.substr(0, comma), {"SUCCESS", "FAILURE", "DELAY"})) return false;
    if (comma == std::string_view::npos) return true;
    v.remove_prefix(comma + 1);
    if (v.empty()) return false;
  }
  return false;
}

// The grammar of each forwarded MAIL/RCPT parameter (RFC 1870, 6152, 6531, 3461).
void check_param_values(CommandLine& c) {
  for (const auto& [k, v] : c.params) {
    bool ok = true;
    if (k == "SIZE")
      ok = !v.empty() && v.size() <= 20 && v.find_first_not_of("0123456789") == std::string::npos;
    else if (k == "BODY")
      ok = one_of(v, {"7BIT", "8BITMIME", "BINARYMIME"});
    else if (k == "SMTPUTF8")
      ok = v.empty();
    else if (k == "RET")
      ok = one_of(v, {"FULL", "HDRS"});
    else if (k == "ENVID")
      ok = !v.empty() && v.size() <= 100 && is_xtext(v);
    else if (k == "NOTIFY")
      ok = is_notify(v);
    else if (k == "ORCPT")
      ok = v.find(';') != std::string::npos && v.find(';') > 0 && is_xtext(v);
    if (!ok) {
      c.error = "bad " + k + " parameter value";
      return;
    }
  }
}

// "FROM:<a@b> SIZE=1" after the verb: the path in brackets, then parameters.
void parse_path(std::string_view arg, std::string_view prefix, CommandLine& c) {
  if (arg.size() < prefix.size() || ascii_upper(arg.substr(0, prefix.size())) != prefix) {
    c.error = "expected " + std::string(prefix) + "<address>";
    return;
  }
  arg = trim(arg.substr(prefix.size()));
  if (arg.empty() || arg.front() != '<') {
    c.error = "address must be in angle brackets";
    return;
  }
  // A quoted local part may hold '>'; find the closing bracket outside quotes.
  bool quoted = false;
  size_t close = std::string_view::npos;
  for (size_t i = 1; i < arg.size(); ++i) {
    if (arg[i] == '\\' && quoted) {
      ++i;
    } else if (arg[i] == '"') {
      quoted = !quoted;
    } else if (arg[i] == '>' && !quoted) {
      close = i;
      break;
    }
  }
  if (close == std::string_view::npos) {
    c.error = "unterminated address";
    return;
  }
  std::string_view path = arg.substr(1, close - 1);
  // RFC 5321 4.1.2: a source route "@a,@b:user@c" is accepted and ignored.
  if (!path.empty() && path.front() == '@') {
    size_t colon = path.find(':');
    if (colon == std::string_view::npos) {
      c.error = "bad source route";
      return;
    }
    path = path.substr(colon + 1);
  }
  for (char ch : path)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
      c.error = "control character in address";
      return;
    }
  c.path = std::string(path);
  std::string_view rest = arg.substr(close + 1);
  if (!rest.empty() && rest.front() != ' ') {
    c.error = "text after the address";
    return;
  }
  parse_params(rest, c);
}

}  // namespace

bool is_xtext(std::string_view v) {
  for (size_t i = 0; i < v.size(); ++i) {
    unsigned char ch = static_cast<unsigned char>(v[i]);
    if (ch == '+') {
      if (i + 2 >= v.size()) return false;
      for (int k = 1; k <= 2; ++k) {
        char h = v[i + k];
        if (!((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'))) return false;
      }
      i += 2;
    } else if (ch < 33 || ch > 126 || ch == '=') {
      return false;
    }
  }
  return true;
}

std::string ascii_upper(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}

bool CommandLine::has(std::string_view keyword) const {
  for (const auto& [k, v] : params)
    if (k == keyword) return true;
  return false;
}

std::optional<std::string> CommandLine::param(std::string_view keyword) const {
  for (const auto& [k, v] : params)
    if (k == keyword) return v;
  return std::nullopt;
}

std::optional<uint64_t> CommandLine::declared_size() const {
  auto v = param("SIZE");
  if (!v || v->empty() || v->size() > 19) return std::nullopt;
  uint64_t n = 0;
  for (char ch : *v) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(ch - '0');
  }
  return n;
}

CommandLine parse_command_line(std::string_view line) {
  CommandLine c;
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  for (char ch : line)
    if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f) {
      c.control_character = true;
      c.error = ch == '\0' ? "NUL in command" : "control character in command";
      return c;
    }
  std::string_view t = trim(line);
  size_t sp = t.find(' ');
  c.verb_text = ascii_upper(t.substr(0, sp));
  c.verb = verb_from(c.verb_text);
  c.argument = std::string(sp == std::string_view::npos ? std::string_view() : trim(t.substr(sp)));
  switch (c.verb) {
    case Verb::mail:
      parse_path(c.argument, "FROM:", c);
      if (c.error.empty()) check_param_values(c);
      break;
    case Verb::rcpt:
      parse_path(c.argument, "TO:", c);
      if (c.error.empty() && c.path.empty()) c.error = "empty recipient";
      if (c.error.empty()) check_param_values(c);
      break;
    case Verb::xforward:
      parse_params(c.argument, c);
      break;
    case Verb::helo:
    case Verb::ehlo:
      if (c.argument.empty()) c.error = "a domain name or address literal is required";
      break;
    case Verb::data:
    case Verb::rset:
    case Verb::quit:
    case Verb::starttls:
      if (!c.argument.empty()) c.error = "no parameters allowed";
      break;
    default:
      break;
  }
  return c;
}

size_t CommandLineReader::feed(std::string_view bytes) {
  size_t used = 0;
  while (used < bytes.size() && !done_) {
    char ch = bytes[used++];
    if (ch == '\n') {
      done_ = true;
      bare_lf_ = last_ != '\r';
      break;
    }
    last_ = ch;
    // Past the limit the rest of the line is dropped, not kept: memory stays bounded.
    if (line_.size() + 2 > kMaxCommandLine)
      too_long_ = true;
    else
      line_ += ch;
  }
  return used;
}

std::string CommandLineReader::take() {
  std::string out;
  out.swap(line_);
  if (!out.empty() && out.back() == '\r') out.pop_back();
  done_ = false;
  too_long_ = false;
  bare_lf_ = false;
  last_ = 0;
  return out;
}

}  // namespace bouncegate
