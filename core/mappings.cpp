// Loads core/rules/mappings.yaml (compiled in) into lookup tables; every entry is checked.
#include "core/mappings.hpp"

#include <yaml-cpp/yaml.h>

#include <set>
#include <stdexcept>

namespace bouncegate {

extern const std::string_view kMappingsYaml;  // generated from core/rules/mappings.yaml

namespace {

std::string need(const YAML::Node& n, const char* key, const std::string& where) {
  if (!n[key] || !n[key].IsScalar())
    throw std::logic_error("mappings: " + where + ": missing '" + key + "'");
  return n[key].as<std::string>();
}

std::vector<StatusMapping> statuses(const YAML::Node& list, const char* word_key,
                                    const char* table) {
  std::vector<StatusMapping> out;
  if (!list || !list.IsSequence()) throw std::logic_error(std::string("mappings: no ") + table);
  for (const auto& n : list) {
    StatusMapping m;
    m.word = need(n, word_key, table);
    std::string where = std::string(table) + " " + m.word;
    m.why = need(n, "why", where);
    if (n["outcome"] && n["outcome"].as<std::string>() == "none") {
      m.outcome = false;
      out.push_back(m);
      continue;
    }
    m.through_rules = n["through_rules"] && n["through_rules"].as<bool>();
    m.never_suppress = n["never_suppress"] && n["never_suppress"].as<bool>();
    if (n["class"]) {
      auto c = outcome_class_from(n["class"].as<std::string>());
      if (!c) throw std::logic_error("mappings: " + where + ": unknown class");
      m.cls = *c;
      m.rule = need(n, "rule", where);
    } else if (!m.through_rules) {
      throw std::logic_error("mappings: " + where + ": needs a class or through_rules");
    }
    out.push_back(m);
  }
  return out;
}

const StatusMapping* find(const std::vector<StatusMapping>& v, std::string_view w) {
  for (const auto& m : v)
    if (m.word == w) return &m;
  return nullptr;
}

}  // namespace

const StatusMapping* Mappings::acs(std::string_view status) const {
  return find(acs_status, status);
}
const StatusMapping* Mappings::dsn(std::string_view action) const {
  return find(dsn_action, action);
}

Mappings parse_mappings(const std::string& yaml) {
  YAML::Node root = YAML::Load(yaml);
  Mappings m;
  auto acts = root["default_actions"];
  if (!acts || !acts.IsSequence()) throw std::logic_error("mappings: no default_actions");
  for (const auto& n : acts) {
    auto c = outcome_class_from(need(n, "class", "default_actions"));
    auto a = action_from(need(n, "action", "default_actions"));
    need(n, "why", "default_actions");
    if (!c || !a) throw std::logic_error("mappings: default_actions: unknown class or action");
    m.default_actions.emplace_back(*c, *a);
  }
  std::set<OutcomeClass> seen;
  for (const auto& [c, a] : m.default_actions) seen.insert(c);
  if (seen.size() != m.default_actions.size() ||
      m.default_actions.size() != static_cast<size_t>(kOutcomeClassCount))
    throw std::logic_error("mappings: default_actions must name every class once");
  m.acs_status = statuses(root["acs_status"], "status", "acs_status");
  m.dsn_action = statuses(root["dsn_action"], "action", "dsn_action");
  return m;
}

const Mappings& shipped_mappings() {
  static const Mappings m = parse_mappings(std::string(kMappingsYaml));
  return m;
}

}  // namespace bouncegate
