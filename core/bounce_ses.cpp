// Provider bounce formats: Amazon SES notifications (JSON, direct or inside SNS), read with
// the project's JSON parser.
#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "core/dsn_detail.hpp"
#include "core/json_parse.hpp"

namespace bouncegate::dsn_detail {

// ---------------------------------------------------------------------------------------------
// Amazon SES / SNS JSON notifications (bounce, complaint, delivery) sent as mail bodies.

// Reads the JSON string literal starting at `pos` (which must be '"').
// ---------------------------------------------------------------------------------------------
// Amazon SES notifications (JSON, directly or inside an SNS envelope), read with the project's
// JSON parser: a key inside a string or another object is never mistaken for the field.

// The JSON document starting at `open` ('{'), bounded by its closing brace (skipping strings).
std::string_view json_document(std::string_view s, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i)
        if (s[i] == '\\') ++i;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return s.substr(open, i + 1 - open);
    }
  }
  return s.substr(open);
}

std::string json_str(const JsonValue* obj, std::string_view key) {
  if (!obj) return {};
  return obj->string_at(key).value_or("");
}

// The original's RFC 5322 Message-ID: mail.commonHeaders.messageId, else the Message-ID in
// mail.headers; SES's own mail.messageId is not the header and never used.
std::string ses_original_message_id(const JsonValue* mail) {
  if (!mail) return {};
  std::string mid = json_str(mail->find("commonHeaders"), "messageId");
  if (mid.empty())
    if (const JsonValue* hs = mail->find("headers"); hs && hs->is_array())
      for (const auto& h : hs->items)
        if (ieq(json_str(&h, "name"), "message-id")) mid = json_str(&h, "value");
  return strip_angles(mid);
}

// Returns true when `doc` is an SES notification; fills `out` accordingly.
bool parse_ses_json(std::string_view doc, ParsedFeedback& out) {
  std::string why;
  auto root = parse_json(doc, &why);
  if (!root) {
    // Notifications mailed by SNS arrive folded at 76 columns, line breaks inside strings
    // included; a JSON line break outside a string is white space, so removing them all
    // restores the document.
    std::string unfolded;
    for (char c : doc)
      if (c != '\n' && c != '\r') unfolded += c;
    root = parse_json(unfolded, &why);
  }
  if (!root || !root->is_object()) return false;
  // Delivered through SNS the notification is a JSON string in the "Message" member.
  if (auto inner = root->string_at("Message"); inner && !root->find("notificationType"))
    return parse_ses_json(*inner, out);
  std::string type = json_str(&*root, "notificationType");
  if (type.empty()) type = json_str(&*root, "eventType");
  type = lower(type);
  if (type != "bounce" && type != "complaint" && type != "delivery") return false;
  out.original_message_id = ses_original_message_id(root->find("mail"));
  auto recipients = [](const JsonValue* section, std::string_view key) {
    const JsonValue* a = section ? section->find(key) : nullptr;
    return a && a->is_array() ? &a->items : nullptr;
  };
  if (type == "complaint") {
    const JsonValue* c = root->find("complaint");
    out.kind = FeedbackKind::arf;
    std::string ft = lower(json_str(c, "complaintFeedbackType"));
    if (ft.empty()) ft = "abuse";
    if (auto* list = recipients(c, "complainedRecipients"))
      for (const auto& obj : *list) {
        if (out.recipients.size() >= kMaxRecipients) break;
        FailedRecipient r;
        r.recipient = clean_address(json_str(&obj, "emailAddress"));
        r.action = "failed";
        r.feedback_type = ft;
        if (!r.recipient.empty()) out.recipients.push_back(std::move(r));
      }
    return true;
  }
  out.kind = FeedbackKind::nonstandard_bounce;
  if (type == "delivery") {
    const JsonValue* d = root->find("delivery");
    out.reporting_mta = strip_type_prefix(json_str(d, "reportingMTA"));
    std::string resp = json_str(d, "smtpResponse");
    if (auto* list = recipients(d, "recipients"))
      for (const auto& a : *list) {
        if (!a.is_string() || out.recipients.size() >= kMaxRecipients) continue;
        FailedRecipient r;
        r.recipient = clean_address(a.text);
        r.action = "delivered";
        r.diagnostic = resp;
        r.status = find_status(resp, "2");
        r.reply_code = find_reply_code(resp);
        if (!r.recipient.empty()) out.recipients.push_back(std::move(r));
      }
    return true;
  }
  const JsonValue* b = root->find("bounce");
  out.reporting_mta = strip_type_prefix(json_str(b, "reportingMTA"));
  if (auto* list = recipients(b, "bouncedRecipients"))
    for (const auto& obj : *list) {
      if (out.recipients.size() >= kMaxRecipients) break;
      FailedRecipient r;
      r.recipient = clean_address(json_str(&obj, "emailAddress"));
      r.action = action_word(json_str(&obj, "action"));
      r.status = find_status(json_str(&obj, "status"), "245");
      r.diagnostic = strip_type_prefix(json_str(&obj, "diagnosticCode"));
      fill_from_diagnostic(r);
      if (r.action.empty()) r.action = "failed";
      if (!r.recipient.empty()) out.recipients.push_back(std::move(r));
    }
  return true;
}

}  // namespace bouncegate::dsn_detail
