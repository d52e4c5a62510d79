// Free-text bounce heuristics: is a message a bounce at all, where the returned original
// starts, and which addresses the human text names as failed recipients.
#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "core/dsn_detail.hpp"

namespace bouncegate::dsn_detail {

// ---------------------------------------------------------------------------------------------
// Free text

std::string strip_html(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  for (std::size_t i = 0; i < html.size(); ++i) {
    char c = html[i];
    if (c == '<') {
      std::size_t e = html.find('>', i);
      if (e == std::string_view::npos) break;
      std::string_view tag = html.substr(i + 1, e - i - 1);
      if (istarts(tag, "br") || istarts(tag, "p") || istarts(tag, "/p") || istarts(tag, "div") ||
          istarts(tag, "/div") || istarts(tag, "tr") || istarts(tag, "/tr") || istarts(tag, "li"))
        out.push_back('\n');
      else
        out.push_back(' ');
      i = e;
    } else if (c == '&') {
      static const std::pair<std::string_view, char> ents[] = {
          {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&nbsp;", ' '}, {"&quot;", '"'}};
      bool done = false;
      for (const auto& [ent, ch] : ents) {
        if (istarts(html.substr(i), ent)) {
          out.push_back(ch);
          i += ent.size() - 1;
          done = true;
          break;
        }
      }
      if (!done) out.push_back(c);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool is_original_header_name(std::string_view n) {
  static constexpr std::string_view names[] = {"received",
                                               "return-path",
                                               "message-id",
                                               "dkim-signature",
                                               "from",
                                               "to",
                                               "subject",
                                               "date",
                                               "mime-version",
                                               "x-mailer",
                                               "delivered-to",
                                               "reply-to",
                                               "content-type",
                                               "x-received",
                                               "arc-seal",
                                               "x-originating-ip",
                                               "domainkey-signature",
                                               "authentication-results",
                                               "cc",
                                               "content-transfer-encoding",
                                               "user-agent",
                                               "x-google-smtp-source",
                                               "references",
                                               "in-reply-to",
                                               "x-original-to",
                                               "sender",
                                               "errors-to"};
  for (auto x : names)
    if (ieq(n, x)) return true;
  return false;
}

// Line index where the returned copy of the original message starts inside free text.
std::size_t find_original_start(const std::vector<std::string_view>& lines) {
  static constexpr std::string_view always[] = {"below this line",
                                                "message headers follow",
                                                "headers follow",
                                                "is a copy of",
                                                "original message follows",
                                                "original message headers",
                                                "copy of the message",
                                                "copy of your message",
                                                "undelivered message follows",
                                                "returned message follows",
                                                "unsent message below",
                                                "original message ---",
                                                "original message --",
                                                "header of the original",
                                                "headers of the original",
                                                "message header follows",
                                                "original message is attached",
                                                "content of the original message"};
  static constexpr std::string_view framed[] = {
      "original", "copy", "header", "returned", "undelivered", "rfc822", "message follows"};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view t = trim(lines[i]);
    if (t.empty()) continue;
    if (t.size() < 160) {
      for (auto k : always)
        if (icontains(t, k)) return i;
      const bool frame = t.size() >= 2 && !is_alnum(t[0]) && t[0] == t[1] && t[0] != '<';
      if (frame)
        for (auto k : framed)
          if (icontains(t, k)) return i;
    }
    // A run of typical message header fields at column 0 is the returned original.
    std::size_t n = field_name_len(lines[i]);
    if (n > 0 && is_original_header_name(lines[i].substr(0, n))) {
      int known = 0;
      bool strong = false;
      for (std::size_t j = i; j < lines.size() && j < i + 40; ++j) {
        if (lines[j].empty()) break;
        if (is_wsp(lines[j][0])) continue;
        std::size_t m = field_name_len(lines[j]);
        if (m == 0) break;
        std::string_view name = lines[j].substr(0, m);
        if (is_original_header_name(name)) ++known;
        // Summaries quoted in bounce text use To/Cc/Subject/Date; a real header copy has more.
        if (!ieq(name, "to") && !ieq(name, "cc") && !ieq(name, "subject") && !ieq(name, "date") &&
            is_original_header_name(name))
          strong = true;
      }
      if (known >= 3 && strong) return i;
    }
  }
  return lines.size();
}

bool subject_is_bounce(std::string_view s) {
  static constexpr std::string_view words[] = {"undeliver",
                                               "delivery status notification",
                                               "failure notice",
                                               "returned mail",
                                               "mail delivery failed",
                                               "delivery failure",
                                               "delivery failed",
                                               "could not be delivered",
                                               "non-delivery",
                                               "nondelivery",
                                               "non delivery",
                                               "not delivered",
                                               "delivery problem",
                                               "mail system error",
                                               "returned to sender",
                                               "delivery notification",
                                               "failed delivery",
                                               "delivery has failed",
                                               "mail delivery",
                                               "message not delivered",
                                               "unable to deliver",
                                               "rejected",
                                               "bounce",
                                               "mail failure",
                                               "delayed mail",
                                               "warning: could not send",
                                               "undelivered",
                                               "unzustellbar",
                                               "delivery error",
                                               "failure delivery",
                                               "failed mail",
                                               "permanent failure",
                                               "notification de",
                                               "error sending",
                                               "mail could not",
                                               "could not send",
                                               "errors from"};
  for (auto w : words)
    if (icontains(s, w)) return true;
  return false;
}

bool text_is_bounce(std::string_view s) {
  static constexpr std::string_view phrases[] = {"could not be delivered",
                                                 "unable to deliver",
                                                 "permanent error",
                                                 "address(es) failed",
                                                 "user unknown",
                                                 "delivery to the following",
                                                 "did not reach",
                                                 "undeliverable",
                                                 "delivery has failed",
                                                 "was not delivered",
                                                 "permanent fatal error",
                                                 "remote host said",
                                                 "smtp error",
                                                 "could not deliver",
                                                 "delivery failed",
                                                 "not be delivered",
                                                 "failed permanently",
                                                 "mailbox unavailable",
                                                 "error delivering",
                                                 "delivery attempt",
                                                 "couldn't be delivered",
                                                 "message was not sent",
                                                 "the following addresses",
                                                 "following recipient",
                                                 "no such user",
                                                 "undelivered",
                                                 "delivery problem",
                                                 "mail delivery",
                                                 "returned to the sender",
                                                 "rejected your message",
                                                 "the mail system",
                                                 "giving up",
                                                 "could not be sent",
                                                 "wasn't able to deliver",
                                                 "message could not",
                                                 "delivery status",
                                                 "transcript of session"};
  for (auto p : phrases)
    if (icontains(s, p)) return true;
  return false;
}

Evidence gather_evidence(const Part& root, const Collected& c, std::string_view human) {
  Evidence ev;
  const Headers& h = root.headers;
  std::string from = lower(header_or_empty(h, "from"));
  std::string subject = header_or_empty(h, "subject");
  if (icontains(from, "mailer-daemon") || icontains(from, "postmaster") ||
      icontains(from, "mail delivery") || icontains(from, "mail-daemon") ||
      icontains(from, "mailer_daemon") || icontains(from, "post_master") ||
      icontains(from, "mail administrator") || icontains(from, "mail system") ||
      icontains(from, "delivery subsystem"))
    ev.bounce += 2;
  if (find_header(h, "x-failed-recipients")) ev.bounce += 3;
  if (subject_is_bounce(subject)) ev.bounce += 2;
  if (const std::string* rp = find_header(h, "return-path"); rp && strip_angles(*rp).empty())
    ev.bounce += 1;
  if (root.ct.type == "multipart/report") ev.bounce += 2;
  if (!c.enclosed.empty()) ev.bounce += 1;
  if (text_is_bounce(human)) ev.bounce += 2;

  std::string as = lower(header_or_empty(h, "auto-submitted"));
  if (istarts(as, "auto-replied")) ev.autoreply_why = "Auto-Submitted: auto-replied";
  if (find_header(h, "x-autoreply") || find_header(h, "x-autorespond") ||
      find_header(h, "x-autoresponder"))
    ev.autoreply_why = "X-Autoreply header";
  if (ieq(trim(header_or_empty(h, "precedence")), "auto_reply"))
    ev.autoreply_why = "Precedence: auto_reply";
  static constexpr std::string_view subj[] = {
      "out of office", "out of the office", "automatic reply", "auto reply",
      "autoreply",     "auto-reply",        "auto response",   "autoresponse",
      "auto-response", "away from",         "vacation",        "abwesenheit",
      "absence",       "away until",        "on leave",        "auto:"};
  for (auto s : subj)
    if (icontains(subject, s)) ev.autoreply_why = "auto-reply subject";
  ev.autoreply = !ev.autoreply_why.empty();
  return ev;
}

// Shapes an address taken from the returned headers ("Name <a@b>", lists).
std::vector<std::string> addresses_in_header(std::string_view v) {
  std::vector<std::string> out;
  for (auto& hit : find_addresses(v, 50)) out.push_back(std::move(hit.addr));
  return out;
}

bool contains_addr(const std::vector<std::string>& v, std::string_view a) {
  for (const auto& x : v)
    if (ieq(x, a)) return true;
  return false;
}

// Words that, right before an address, mark it as the failed recipient.
bool recipient_context(std::string_view before) {
  std::string b = lower(before.substr(before.size() > 48 ? before.size() - 48 : 0));
  while (!b.empty() && (is_space(b.back()) || b.back() == '<' || b.back() == '"' ||
                        b.back() == ':' || b.back() == '\'' || b.back() == '('))
    b.pop_back();
  if (b.size() >= 4 && b.compare(b.size() - 4, 4, "from") == 0) return false;
  static constexpr std::string_view tails[] = {
      "rcpt to",          "to",   "for",     "recipient",    "recipients",   "address",
      "addressee",        "user", "mailbox", "destinatario", "destinataire", "empfanger",
      "recipient address"};
  for (auto t : tails)
    if (b.size() >= t.size() && b.compare(b.size() - t.size(), t.size(), t) == 0 &&
        (b.size() == t.size() || !is_alpha(b[b.size() - t.size() - 1])))
      return true;
  return false;
}

std::string_view lstrip_bullets(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && (is_space(line[i]) || line[i] == '*' || line[i] == '-' ||
                             line[i] == '>' || line[i] == '#' || line[i] == '+'))
    ++i;
  // Sendmail transcripts: "550 <user@host>... User unknown".
  if (i + 4 <= line.size() && (line[i] == '4' || line[i] == '5') && is_digit(line[i + 1]) &&
      is_digit(line[i + 2]) && (line[i + 3] == ' ' || line[i + 3] == '-')) {
    i += 4;
    while (i < line.size() && is_wsp(line[i])) ++i;
  }
  return line.substr(i);
}

// Best-effort recipient discovery in the human-readable part of a free-text bounce.
std::vector<TextRecipient> recipients_from_text(const std::vector<std::string_view>& lines,
                                                std::size_t end,
                                                const std::vector<std::string>& exclude) {
  std::vector<TextRecipient> line_start, labelled, anywhere;
  auto add = [](std::vector<TextRecipient>& v, const std::string& a, std::size_t ln) {
    for (const auto& x : v)
      if (ieq(x.addr, a)) return;
    if (v.size() < kMaxRecipients) v.push_back({a, ln});
  };
  for (std::size_t i = 0; i < end && i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.find('@') == std::string_view::npos) continue;
    std::string_view body = lstrip_bullets(line);
    const std::size_t body_off = static_cast<std::size_t>(body.data() - line.data());
    for (const AddrHit& hit : find_addresses(line)) {
      if (is_daemon_address(hit.addr) || contains_addr(exclude, hit.addr)) continue;
      std::size_t rel = hit.pos - std::min(hit.pos, body_off);
      std::string_view lead = hit.pos >= body_off ? body.substr(0, rel) : std::string_view();
      std::string_view before = line.substr(0, hit.pos);
      // Message-ID-like tokens are not recipients.
      if (icontains(before.substr(before.size() > 16 ? before.size() - 16 : 0), "message-id"))
        continue;
      const bool at_start = hit.pos >= body_off && (lead.empty() || lead == "<" || lead == "\"");
      if (at_start) {
        add(line_start, hit.addr, i);
      } else if (recipient_context(before)) {
        add(labelled, hit.addr, i);
      } else if (!istarts(hit.addr, "postmaster@")) {
        add(anywhere, hit.addr, i);
      }
    }
  }
  if (!line_start.empty()) return line_start;
  if (!labelled.empty()) return labelled;
  return anywhere;
}

// Text recipients; when nothing but the sender side's own addresses is listed (a message to
// oneself), the listed lines still win over guessing.
std::vector<TextRecipient> text_recipients(const std::vector<std::string_view>& lines,
                                           std::size_t end,
                                           const std::vector<std::string>& exclude) {
  std::vector<TextRecipient> r = recipients_from_text(lines, end, exclude);
  if (!r.empty() || exclude.empty()) return r;
  std::vector<TextRecipient> all = recipients_from_text(lines, end, {});
  std::vector<TextRecipient> listed;
  for (auto& m : all) {
    std::string_view body = lstrip_bullets(lines[m.line]);
    if (!body.empty() && body[0] == '<') body.remove_prefix(1);
    if (istarts(body, m.addr)) listed.push_back(m);
  }
  return listed;
}

std::string original_message_id(const Headers& h) {
  if (const std::string* v = find_header(h, "message-id")) return strip_angles(*v);
  return {};
}

bool looks_delayed(std::string_view text) {
  static constexpr std::string_view words[] = {
      "will continue",      "will be retried",        "still trying",
      "warning only",       "not yet been delivered", "delayed",
      "will retry",         "delivery delayed",       "has been delayed",
      "still being retried"};
  for (auto w : words)
    if (icontains(text, w)) return true;
  return false;
}

// True when `s` holds a word of at least three letters (not just punctuation or brackets).
bool has_words(std::string_view s) {
  int run = 0;
  for (char c : s) {
    run = is_alpha(c) ? run + 1 : 0;
    if (run >= 3) return true;
  }
  return false;
}

bool mentions_any(std::string_view line, const std::vector<FailedRecipient>& rcpts) {
  for (const auto& r : rcpts)
    if (!r.recipient.empty() && ifind(line, lower(r.recipient)) != std::string_view::npos)
      return true;
  return false;
}

// A recipient's reason ends where another failed recipient is named (listings repeat, one
// block per recipient) or where header fields of a returned or forwarded message begin, also
// when quoted with '>': neither is the reason for this recipient.
bool ends_reason_segment(std::string_view line, const std::vector<FailedRecipient>& rcpts,
                         std::string_view self) {
  for (const auto& r : rcpts)
    if (!r.recipient.empty() && !ieq(r.recipient, self) &&
        ifind(line, lower(r.recipient)) != std::string_view::npos)
      return true;
  std::size_t i = 0;
  while (i < line.size() && (line[i] == '>' || is_wsp(line[i]))) ++i;
  std::string_view t = line.substr(i);
  std::size_t n = field_name_len(t);
  if (n == 0) return false;
  static constexpr std::string_view names[] = {
      "received",      "return-path",  "message-id",       "dkim-signature",
      "mime-version",  "content-type", "x-received",       "authentication-results",
      "reporting-mta", "arrival-date", "received-from-mta"};
  for (auto x : names)
    if (ieq(t.substr(0, n), x)) return true;
  return false;
}

// Per-recipient evidence from free text: the lines from its mention to the next one.
void annotate_from_text(std::vector<FailedRecipient>& rcpts,
                        const std::vector<TextRecipient>& mentions,
                        const std::vector<std::string_view>& lines, std::size_t end) {
  std::string whole;
  for (std::size_t i = 0; i < end && i < lines.size(); ++i) {
    whole.append(lines[i]);
    whole.push_back('\n');
  }
  const std::string whole_status = find_status(whole);
  std::string whole_diag;
  for (std::size_t i = 0; i < end && i < lines.size(); ++i) {
    if (!find_reply_code(lines[i]).empty() || !find_status(lines[i]).empty()) {
      whole_diag = collapse_ws(lines[i], kMaxDiagnostic);
      break;
    }
  }
  std::vector<std::size_t> starts;
  for (const auto& m : mentions) starts.push_back(m.line);
  for (auto& r : rcpts) {
    std::size_t from = end;
    for (const auto& m : mentions)
      if (ieq(m.addr, r.recipient)) from = m.line;
    if (from >= end) {
      // Not mentioned in the listing (e.g. from X-Failed-Recipients): find any mention.
      for (std::size_t i = 0; i < end && i < lines.size(); ++i)
        if (ifind(lines[i], lower(r.recipient)) != std::string_view::npos) {
          from = i;
          break;
        }
    }
    std::string segment;
    if (from < end) {
      std::size_t to = end;
      for (std::size_t s : starts)
        if (s > from && s < to) to = s;
      for (std::size_t i = from + 1; i < to && i < lines.size(); ++i)
        if (ends_reason_segment(lines[i], rcpts, r.recipient)) to = i;
      std::string_view first = lines[from];
      std::size_t p = ifind(first, lower(r.recipient));
      std::string_view lead;
      if (p != std::string_view::npos) {
        lead = first.substr(0, p);
        first = first.substr(p + r.recipient.size());
      }
      segment.append(first);
      for (std::size_t i = from + 1; i < to && i < lines.size() && segment.size() < 4096; ++i) {
        segment.push_back('\n');
        segment.append(lines[i]);
      }
      // "Unknown user: a@b", or the reason on the line above the address (Lotus Notes, IMail):
      // when nothing after the address says anything, what precedes it is the reason.
      if (!has_words(segment)) {
        std::string before(lead);
        // The nearest non-blank line above, within three lines, naming no recipient.
        for (std::size_t k = from; !has_words(before) && k > 0 && from - k < 3; --k) {
          if (mentions_any(lines[k - 1], rcpts)) break;
          if (!trim(lines[k - 1]).empty()) before = std::string(lines[k - 1]);
        }
        if (has_words(before)) segment = before + "\n" + segment;
      }
    }
    const std::string seg_status = find_status(segment);
    // A DSN's generic x.0.0 yields to the specific code the text gives for this recipient.
    const bool generic = r.status.size() == 5 && r.status.compare(1, 4, ".0.0") == 0;
    if (generic && !seg_status.empty() && seg_status[0] == r.status[0]) r.status = seg_status;
    if (r.status.empty()) r.status = seg_status;
    // What the whole text says belongs to a recipient only when it is the only one: with
    // several, one recipient's 5.1.1 must never become another's.
    const bool only_one = rcpts.size() == 1;
    if (r.status.empty() && only_one) r.status = whole_status;
    if (r.diagnostic.empty()) {
      std::string d = collapse_ws(segment, kMaxDiagnostic);
      while (!d.empty() && std::string_view(">:.,;)\"' ").find(d.front()) != std::string_view::npos)
        d.erase(0, 1);
      r.diagnostic =
          (only_one && find_reply_code(d).empty() && find_status(d).empty() && !whole_diag.empty())
              ? whole_diag
              : d;
    }
    if (r.reply_code.empty()) r.reply_code = find_reply_code(r.diagnostic);
    if (r.remote_mta.empty()) {
      std::size_t hp = ifind(segment, "host ");
      if (hp != std::string::npos) {
        std::size_t s = hp + 5, e = s;
        while (e < segment.size() && (is_domain_char(segment[e]))) ++e;
        std::string host = segment.substr(s, e - s);
        if (host.find('.') != std::string::npos && is_alpha(host.back()))
          r.remote_mta = lower(host);
      }
    }
    if (r.action.empty()) {
      // No Action field (or free text): infer it from the status class.
      if (r.status.rfind('2', 0) == 0)
        r.action = "delivered";
      else
        r.action = (r.status.rfind('4', 0) == 0 && looks_delayed(whole)) ? "delayed" : "failed";
    }
  }
}

void dedupe(std::vector<FailedRecipient>& rcpts) {
  std::vector<FailedRecipient> out;
  for (auto& r : rcpts) {
    bool dup = false;
    for (auto& o : out)
      if (!r.recipient.empty() && ieq(o.recipient, r.recipient)) {
        dup = true;
        // Keep the most informative copy of each field.
        if (o.status.empty()) o.status = r.status;
        if (o.diagnostic.empty()) o.diagnostic = r.diagnostic;
        if (o.action.empty()) o.action = r.action;
        break;
      }
    if (!dup) out.push_back(std::move(r));
  }
  rcpts = std::move(out);
}

}  // namespace bouncegate::dsn_detail
