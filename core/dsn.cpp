// Bounce/complaint parser entry: which kind of report a message is (DSN, ARF, JMRP, SES,
// free-text bounce, auto-reply) and its recipients. The pieces live in mime, dsn_fields,
// bounce_text and bounce_ses.
#include "core/dsn.hpp"

#include <algorithm>
#include <string>

#include "core/dsn_detail.hpp"

namespace bouncegate {

using namespace dsn_detail;

namespace {

bool looks_like_message(std::string_view text) {
  // The first line must be a header field; binary junk and plain prose are not mail.
  std::size_t eol = text.find('\n');
  std::string_view first = text.substr(0, eol == std::string_view::npos ? text.size() : eol);
  std::size_t n = field_name_len(first);
  if (n == 0) return false;
  // Field names are printable ASCII by construction; also reject NUL-ridden headers.
  std::size_t head_end = text.find("\n\n");
  std::string_view head =
      text.substr(0, head_end == std::string_view::npos ? text.size() : head_end);
  return head.find('\0') == std::string_view::npos;
}

std::string verp_from_headers(const Headers& h) {
  for (std::string_view name : {"to", "delivered-to", "x-original-to", "envelope-to"}) {
    if (const std::string* v = find_header(h, name))
      for (const auto& a : addresses_in_header(*v))
        if (auto d = decode_verp(a)) return *d;
  }
  return {};
}

ParsedFeedback parse_impl(std::string_view raw) {
  ParsedFeedback out;
  std::string text = normalize_newlines(raw);
  std::string_view view = text;
  // mbox "From " separator line, as found in many archived bounces.
  if (view.rfind("From ", 0) == 0) {
    std::size_t eol = view.find('\n');
    view = eol == std::string_view::npos ? std::string_view() : view.substr(eol + 1);
  }
  if (trim(view).empty()) {
    out.kind = FeedbackKind::not_a_message;
    out.reason = "empty input";
    return out;
  }
  if (!looks_like_message(view)) {
    out.kind = FeedbackKind::not_a_message;
    out.reason = "no RFC 5322 header block";
    return out;
  }

  Part root;
  std::size_t budget = kMaxParts;
  parse_entity(view, 0, budget, root);
  Collected c;
  collect(root, c);
  // A report forwarded as an attachment (a mailbox rule, a help desk): the DSN or ARF is the
  // enclosed message itself. Read that report, not the wrapper around it.
  if (c.dsn_parts.empty() && c.feedback_parts.empty())
    for (const Part* e : c.enclosed)
      if (e->ct.type == "multipart/report") {
        Collected inner;
        for (const auto& ch : e->children) collect(ch, inner);
        if (!inner.dsn_parts.empty() || !inner.feedback_parts.empty()) {
          c = std::move(inner);
          break;
        }
      }

  const Headers* orig_headers = c.enclosed.empty() ? nullptr : &c.enclosed.front()->headers;
  if (orig_headers) out.original_message_id = original_message_id(*orig_headers);

  // Human-readable text: text parts outside the returned original; HTML only as a fallback.
  std::string human;
  for (const Part* p : c.texts) {
    human.append(p->body);
    human.push_back('\n');
  }
  if (trim(human).empty())
    for (const Part* p : c.htmls) {
      human.append(normalize_newlines(strip_html(p->body)));
      human.push_back('\n');
    }
  const std::vector<std::string_view> lines = split_lines(human);
  const std::size_t cut = find_original_start(lines);

  // The returned original may be inline in the text instead of a MIME part.
  Headers inline_orig;
  if (!orig_headers && cut < lines.size()) {
    std::size_t i = cut;
    while (i < lines.size() && field_name_len(lines[i]) == 0) ++i;
    if (i < lines.size()) {
      std::size_t off = static_cast<std::size_t>(lines[i].data() - human.data());
      parse_headers(std::string_view(human).substr(off), inline_orig);
      finish_headers(inline_orig);
      out.original_message_id = original_message_id(inline_orig);
    }
  }
  const Headers& returned = orig_headers ? *orig_headers : inline_orig;

  // SES notifications carry a JSON document instead of a report part.
  if (c.feedback_parts.empty() && c.dsn_parts.empty() &&
      human.find("notificationType") != std::string::npos) {
    std::size_t brace = human.find('{');
    if (brace != std::string::npos && parse_ses_json(json_document(human, brace), out)) {
      dedupe(out.recipients);
      return out;
    }
  }

  // ARF (RFC 5965).
  if (!c.feedback_parts.empty()) {
    out.kind = FeedbackKind::arf;
    std::vector<Field> fields = parse_field_groups(c.feedback_parts.front()->body);
    std::string type;
    std::vector<std::string> rcpt, removal;
    for (const Field& f : fields) {
      if (f.name == "feedback-type" && type.empty()) type = lower(trim(f.value));
      if (f.name == "original-rcpt-to") rcpt.push_back(clean_address(f.value));
      if (f.name == "removal-recipient") removal.push_back(clean_address(f.value));
      if (f.name == "reporting-mta" && out.reporting_mta.empty())
        out.reporting_mta = strip_type_prefix(f.value);
    }
    if (rcpt.empty()) rcpt = removal;
    if (rcpt.empty())
      for (const char* name : {"to", "delivered-to", "x-original-to"})
        if (rcpt.empty())
          if (const std::string* v = find_header(returned, name)) rcpt = addresses_in_header(*v);
    if (type.empty()) type = "abuse";
    for (auto& a : rcpt) {
      if (a.empty() || out.recipients.size() >= kMaxRecipients) continue;
      FailedRecipient r;
      r.recipient = std::move(a);
      r.action = "failed";
      r.feedback_type = type;
      out.recipients.push_back(std::move(r));
    }
    dedupe(out.recipients);
    return out;
  }

  // Microsoft JMRP (junk mail reporting program) complaints are not ARF: the complaint is the
  // returned original, whose X-HmXmrOriginalRecipient header names the complaining recipient.
  if (orig_headers)
    if (const std::string* jmrp = find_header(*orig_headers, "x-hmxmroriginalrecipient")) {
      out.kind = FeedbackKind::arf;
      for (auto& a : addresses_in_header(*jmrp)) {
        if (out.recipients.size() >= kMaxRecipients) break;
        FailedRecipient r;
        r.recipient = std::move(a);
        r.action = "failed";
        r.feedback_type = "abuse";
        out.recipients.push_back(std::move(r));
      }
      if (!out.recipients.empty()) {
        dedupe(out.recipients);
        return out;
      }
      out.kind = FeedbackKind::ignored;
      out.reason = "JMRP report without a recipient";
      return out;
    }

  // Structured delivery status, in its own part or pasted into the text.
  std::vector<FailedRecipient> rcpts;
  for (const Part* p : c.dsn_parts) parse_dsn_fields(p->body, out, rcpts);
  bool structured = !c.dsn_parts.empty();
  if (rcpts.empty()) {
    for (const Part* p : c.texts) {
      if (has_dsn_recipient_fields(p->body)) {
        parse_dsn_fields(p->body, out, rcpts);
        structured = structured || !rcpts.empty();
      }
    }
  }

  Evidence ev = gather_evidence(root, c, human);
  const bool bounce =
      structured || ev.bounce >= 3 || find_header(root.headers, "x-failed-recipients");
  if (!bounce) {
    out.kind = FeedbackKind::ignored;
    out.reason = ev.autoreply ? "auto-reply (" + ev.autoreply_why + ")" : "no bounce evidence";
    return out;
  }
  if (!structured && ev.autoreply && ev.bounce < 5 &&
      !find_header(root.headers, "x-failed-recipients")) {
    out.kind = FeedbackKind::ignored;
    out.reason = "auto-reply (" + ev.autoreply_why + ")";
    return out;
  }
  out.kind = structured ? FeedbackKind::dsn : FeedbackKind::nonstandard_bounce;

  // Addresses that belong to the sender side and must not be taken for recipients.
  std::vector<std::string> exclude;
  for (const char* name : {"from", "to", "return-path", "reply-to"})
    if (const std::string* v = find_header(root.headers, name))
      for (auto& a : addresses_in_header(*v)) exclude.push_back(a);
  for (const char* name : {"from", "return-path", "sender"})
    if (const std::string* v = find_header(returned, name))
      for (auto& a : addresses_in_header(*v)) exclude.push_back(a);

  std::vector<TextRecipient> mentions = text_recipients(lines, cut, exclude);
  {
    // DSN recipients that are no mailbox (a file, a pipe, a bare local part) borrow an
    // address from X-Failed-Recipients or the text when one is left unused.
    std::vector<std::string> alt;
    if (const std::string* xf = find_header(root.headers, "x-failed-recipients"))
      alt = addresses_in_header(*xf);
    for (const auto& m : mentions) alt.push_back(m.addr);
    for (auto& r : rcpts) {
      if (is_mailbox(r.recipient)) continue;
      for (const auto& a : alt) {
        bool used = false;
        for (const auto& o : rcpts) used = used || ieq(o.recipient, a);
        if (!used) {
          r.recipient = a;
          break;
        }
      }
    }
  }
  if (rcpts.empty()) {
    // X-Failed-Recipients names them outright; otherwise take them from the text.
    if (const std::string* xf = find_header(root.headers, "x-failed-recipients")) {
      for (auto& a : addresses_in_header(*xf)) {
        FailedRecipient r;
        r.recipient = std::move(a);
        rcpts.push_back(std::move(r));
      }
    }
    if (rcpts.empty())
      for (const auto& m : mentions) {
        FailedRecipient r;
        r.recipient = m.addr;
        rcpts.push_back(std::move(r));
      }
    // The returned original's To: is never taken as the bounced recipient: it names whom the
    // message was written to (a list, a Bcc'd copy, an alias), not whom the bounce is about.
    (void)returned;
  }
  // Recipient-less reports: a VERP return address still says who it was for.
  bool missing = rcpts.empty();
  for (const auto& r : rcpts) missing = missing || r.recipient.empty();
  if (missing) {
    std::string verp = verp_from_headers(root.headers);
    if (!verp.empty()) {
      if (rcpts.empty()) rcpts.emplace_back();
      for (auto& r : rcpts)
        if (r.recipient.empty()) r.recipient = verp;
    }
  }
  rcpts.erase(std::remove_if(rcpts.begin(), rcpts.end(),
                             [](const FailedRecipient& r) { return r.recipient.empty(); }),
              rcpts.end());
  annotate_from_text(rcpts, mentions, lines, cut);
  dedupe(rcpts);
  out.recipients = std::move(rcpts);
  if (out.recipients.empty()) out.reason = "bounce without identifiable recipient";
  return out;
}

}  // namespace

const char* to_string(FeedbackKind kind) {
  switch (kind) {
    case FeedbackKind::not_a_message:
      return "not_a_message";
    case FeedbackKind::ignored:
      return "ignored";
    case FeedbackKind::dsn:
      return "dsn";
    case FeedbackKind::arf:
      return "arf";
    case FeedbackKind::nonstandard_bounce:
      return "nonstandard_bounce";
  }
  return "unknown";
}

std::optional<std::string> decode_verp(std::string_view addr) {
  addr = trim(addr);
  if (!addr.empty() && addr.front() == '<') addr.remove_prefix(1);
  if (!addr.empty() && addr.back() == '>') addr.remove_suffix(1);
  std::size_t at = addr.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= addr.size()) return std::nullopt;
  std::string_view local = addr.substr(0, at);
  std::size_t eq = local.rfind('=');
  if (eq == std::string_view::npos) return std::nullopt;
  // The tag separator is '+' (sub-addressing) or, failing that, the last '-' before '='.
  std::size_t sep = local.find('+');
  if (sep == std::string_view::npos || sep > eq) sep = local.substr(0, eq).rfind('-');
  if (sep == std::string_view::npos || sep == 0 || sep + 1 >= eq) return std::nullopt;
  std::string_view user = local.substr(sep + 1, eq - sep - 1);
  std::string_view domain = local.substr(eq + 1);
  if (user.empty() || domain.empty() || domain.find('.') == std::string_view::npos ||
      domain.front() == '.' || domain.back() == '.')
    return std::nullopt;
  for (char c : user)
    if (!is_local_char(c)) return std::nullopt;
  for (char c : domain)
    if (!is_domain_char(c)) return std::nullopt;
  std::string out(user);
  out.push_back('@');
  out.append(lower(domain));
  return out;
}

ParsedFeedback parse_feedback(std::string_view raw_message) {
  try {
    return parse_impl(raw_message);
  } catch (...) {
    // Only allocation failure can get here; report rather than propagate into callers.
    ParsedFeedback out;
    out.kind = FeedbackKind::not_a_message;
    out.reason = "parser error";
    return out;
  }
}

}  // namespace bouncegate
