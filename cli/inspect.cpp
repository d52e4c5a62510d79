// `bouncegate check-config` and `bouncegate classify`: what the configuration and the rules say,
// without touching Redis.
#include <iostream>

#include "cli/cli.hpp"
#include "core/classify.hpp"
#include "core/config_check.hpp"
#include "core/escape.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/received_reply.hpp"

namespace bouncegate::cli {

int cmd_check_config(Context& ctx) {
  const Config& c = ctx.cfg();
  for (const auto& w : check_config_complete(c))
    std::cerr << "bouncegate check-config: warning: " << w << "\n";
  if (ctx.json) {
    std::cout << JsonObject()
                     .add("ok", true)
                     .add("file", c.source_file)
                     .add("rules", static_cast<int64_t>(c.classifier->size()))
                     .str()
              << "\n";
  } else {
    std::cout << c.source_file << ": ok (" << c.classifier->size() << " classification rules, "
              << c.suppression.lease_ladder.size() << " lease steps, redis "
              << c.redis.address_text() << ")\n";
  }
  return kOk;
}

int cmd_classify(Context& ctx) {
  const bool explain = ctx.args.flag("explain");
  auto command = smtp_command_from(ctx.args.opt_or("command", "any"));
  if (!command)
    throw UsageError("unknown --command (CONNECT, EHLO, MAIL, RCPT, DATA, DATA-END, any)");
  std::vector<std::string> replies = ctx.args.positional();
  if (replies.empty()) {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) replies.push_back(line);
    }
  }
  if (replies.empty()) throw UsageError("classify needs a reply as argument or on stdin");
  // Classification needs no Redis; the config only adds rules and actions.
  std::shared_ptr<const Config> cfg;
  try {
    cfg = std::make_shared<Config>(ctx.cfg());
  } catch (const ConfigError&) {
    if (ctx.config_given) throw;
    cfg = load_config_text("redis: {}\n", "(built-in defaults)");
  }
  for (const auto& text : replies) {
    // "\n" written literally in an argument separates lines of a multi-line reply.
    std::string t;
    t.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == 'n') {
        t += '\n';
        ++i;
      } else {
        t += text[i];
      }
    }
    Reply r = parse_reply(t);
    if (!r.valid) r = reply_from_status("", t);
    const auto evidence = cfg->classifier->evidence(*command, r);
    const Classification& c = evidence.front();
    const std::string outranked_json = outranked_as_json(evidence);
    const std::string outranked_text = outranked_as_text(evidence);
    Action a = cfg->suppression.action_for(c.cls);
    std::string enhanced = r.enhanced ? r.enhanced->str() : "";
    const bool permanent = (!r.code || r.code / 100 == 5) && (!r.enhanced || r.enhanced->cls == 5);
    const std::string matched_against = text_for_matching(r.text());
    if (ctx.json) {
      JsonObject o;
      o.add("reply", text)
          .add("basic", r.code ? std::to_string(r.code) : "")
          .add("enhanced", enhanced)
          .add("class", to_string(c.cls))
          .add("action", to_string(a))
          .add("rule", c.rule_id)
          .add("command", to_string(*command));
      if (explain)
        o.add("concerns", c.concerns)
            .add("permanent", permanent)
            .add("text_matched", matched_against)
            .add("phrase", c.matched_text)
            .add("why", c.why)
            .add_raw("outranked", outranked_json);
      std::cout << o.str() << "\n";
    } else {
      std::cout << "reply=" << log_quote(text)
                << " basic=" << (r.code ? std::to_string(r.code) : "-")
                << " enhanced=" << (enhanced.empty() ? "-" : enhanced)
                << " class=" << to_string(c.cls) << " action=" << to_string(a)
                << " rule=" << c.rule_id << "\n";
      if (explain) {
        std::cout << "  stage:      " << to_string(*command) << "\n"
                  << "  permanent:  " << (permanent ? "yes (5xx / 5.x.x or no code)" : "no") << "\n"
                  << "  read as:    " << escape_control(matched_against) << "\n"
                  << "  phrase:     "
                  << (c.matched_text.empty() ? "(none: decided by codes or stage)"
                                             : escape_control(c.matched_text))
                  << "\n"
                  << "  concerns:   " << (c.concerns.empty() ? "-" : c.concerns) << "\n"
                  << "  why:        " << c.why << "\n"
                  << "  outranked:  " << outranked_text << "\n";
      }
    }
  }
  return kOk;
}

}  // namespace bouncegate::cli
