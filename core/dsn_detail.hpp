// Internals of the bounce parser shared by its files (mime, dsn_fields, bounce_text,
// bounce_ses, dsn): part tree, field and evidence records, and helpers. Not a public API.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/dsn.hpp"

namespace bouncegate::dsn_detail {

// Limits keep hostile input (deep nesting, thousands of parts) from costing much.
constexpr int kMaxDepth = 12;
constexpr std::size_t kMaxParts = 400;
constexpr std::size_t kMaxDiagnostic = 1000;
constexpr std::size_t kMaxRecipients = 500;

struct Header {
  std::string name;  // lower case
  std::string value;
};

using Headers = std::vector<Header>;
struct ContentType {
  std::string type = "text/plain";
  std::vector<std::pair<std::string, std::string>> params;
  std::string param(std::string_view name) const {
    for (const auto& p : params)
      if (p.first == name) return p.second;
    return {};
  }
};

struct Part {
  Headers headers;
  ContentType ct;
  std::string body;  // decoded body of leaf parts
  std::vector<Part> children;
  bool enclosed = false;  // the returned original message (message/rfc822, *-headers)
};

struct Collected {
  std::vector<const Part*> dsn_parts;
  std::vector<const Part*> feedback_parts;
  std::vector<const Part*> enclosed;
  std::vector<const Part*> texts;
  std::vector<const Part*> htmls;
};

struct AddrHit {
  std::size_t pos;  // offset of the first character of the address in the scanned text
  std::size_t len;
  std::string addr;  // normalised
};

// One "Name: value" field of a DSN or feedback-report part, with its group (recipient) index.
struct Field {
  std::string name;  // lower case
  std::string value;
  int group;
};

struct Evidence {
  int bounce = 0;
  bool autoreply = false;
  std::string autoreply_why;
};

struct TextRecipient {
  std::string addr;
  std::size_t line;  // line index of the mention that made it a recipient
};

char lc(char c);
bool is_wsp(char c);
bool is_space(char c);
bool is_digit(char c);
bool is_alpha(char c);
bool is_alnum(char c);
std::string lower(std::string_view s);
bool ieq(std::string_view a, std::string_view b);
bool istarts(std::string_view s, std::string_view prefix);
std::size_t ifind(std::string_view hay, std::string_view needle, std::size_t from = 0);
bool icontains(std::string_view hay, std::string_view needle);
std::string_view trim(std::string_view s);
std::string collapse_ws(std::string_view s, std::size_t limit = std::string::npos);
std::vector<std::string_view> split_lines(std::string_view text);
std::string normalize_newlines(std::string_view in);
const std::string* find_header(const Headers& h, std::string_view lname);
std::string header_or_empty(const Headers& h, std::string_view lname);
std::size_t field_name_len(std::string_view line);
std::size_t parse_headers(std::string_view text, Headers& out);
void finish_headers(Headers& h);
ContentType parse_content_type(std::string_view v);
std::string decode_base64(std::string_view in);
int hex_value(char c);
std::string decode_quoted_printable(std::string_view in);
std::string decode_body(const Headers& h, std::string_view body);
bool is_enclosed_type(const std::string& t);
bool is_delimiter(std::string_view line, std::string_view delim, bool& close);
void parse_body(std::string_view body, int depth, std::size_t& budget, Part& out);
void parse_entity(std::string_view text, int depth, std::size_t& budget, Part& out);
void collect(const Part& p, Collected& c);
bool is_local_char(char c);
bool is_domain_char(char c);
std::string lower_domain(std::string_view addr);
std::string decode_imcea_smtp(std::string_view v);
std::vector<AddrHit> find_addresses(std::string_view s, std::size_t limit = 64);
std::string decode_utf8_address(std::string_view v);
std::string decode_encoded_words(std::string_view v);
std::string clean_address(std::string_view v);
std::string strip_angles(std::string_view v);
std::string strip_type_prefix(std::string_view v);
std::string find_status(std::string_view s, std::string_view classes = "45");
std::string find_last_status(std::string_view s);
std::string find_reply_code(std::string_view s);
bool is_daemon_address(std::string_view addr);
std::vector<Field> parse_field_groups(std::string_view body);
bool has_dsn_recipient_fields(std::string_view body);
std::string action_word(std::string_view v);
void fill_from_diagnostic(FailedRecipient& r);
bool is_mailbox(std::string_view a);
void parse_dsn_fields(std::string_view body, ParsedFeedback& out,
                      std::vector<FailedRecipient>& rcpts);
std::string strip_html(std::string_view html);
bool is_original_header_name(std::string_view n);
std::size_t find_original_start(const std::vector<std::string_view>& lines);
bool subject_is_bounce(std::string_view s);
bool text_is_bounce(std::string_view s);
Evidence gather_evidence(const Part& root, const Collected& c, std::string_view human);
std::vector<std::string> addresses_in_header(std::string_view v);
bool contains_addr(const std::vector<std::string>& v, std::string_view a);
bool recipient_context(std::string_view before);
std::string_view lstrip_bullets(std::string_view line);
std::vector<TextRecipient> recipients_from_text(const std::vector<std::string_view>& lines,
                                                std::size_t end,
                                                const std::vector<std::string>& exclude);
std::vector<TextRecipient> text_recipients(const std::vector<std::string_view>& lines,
                                           std::size_t end,
                                           const std::vector<std::string>& exclude);
std::string original_message_id(const Headers& h);
bool looks_delayed(std::string_view text);
void annotate_from_text(std::vector<FailedRecipient>& rcpts,
                        const std::vector<TextRecipient>& mentions,
                        const std::vector<std::string_view>& lines, std::size_t end);
void dedupe(std::vector<FailedRecipient>& rcpts);
std::string_view json_document(std::string_view s, std::size_t open);
bool parse_ses_json(std::string_view doc, ParsedFeedback& out);

}  // namespace bouncegate::dsn_detail
