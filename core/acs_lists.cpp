// ACS suppression-list changes, ARM paths and bodies (Microsoft.Communication 2025-09-01 shapes).
#include "core/acs_lists.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>

#include "core/address.hpp"
#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/json.hpp"
#include "core/json_parse.hpp"

namespace bouncegate {

namespace {
bool pushed_list(const AcsListsConfig& c, const std::string& list) {
  return std::find(c.unsubscribe_lists.begin(), c.unsubscribe_lists.end(), list) !=
         c.unsubscribe_lists.end();
}
}  // namespace

std::optional<AcsListChange> acs_list_change(const Event& ev, const AcsListsConfig& c) {
  const std::string kind = ev.get("kind"), action = ev.get("action"), addr = ev.get("addr");
  if (addr.empty() || is_domain_entry(addr)) return std::nullopt;
  if (ev.get("source") == std::string("acs:") + kAcsListActor) return std::nullopt;
  AcsListChange ch;
  ch.address = addr;
  const std::string why =
      ev.get("class") + " (" + ev.get("source") + ", " + utc_iso(ev.ts_ms) + ")";
  if (kind == "outcome" || kind == "manual") {
    if (action == "suppress_permanent") {
      ch.notes = "bouncegate: " + why;
      return ch;
    }
    if (action == "reject" && pushed_list(c, ev.get("list").empty() ? "*" : ev.get("list"))) {
      ch.notes = "bouncegate: unsubscribed from " + (ev.get("list").empty() ? "*" : ev.get("list"));
      return ch;
    }
    return std::nullopt;
  }
  if (kind == "unsubscribe" && ev.get("new") != "0" && pushed_list(c, ev.get("list"))) {
    ch.notes = "bouncegate: unsubscribed from " + ev.get("list") + " (" + ev.get("source") + ")";
    return ch;
  }
  if ((kind == "remove" && ev.get("removed") != "0") ||
      (kind == "resubscribe" && ev.get("removed") != "0" && pushed_list(c, ev.get("list")))) {
    ch.op = AcsListChange::Op::remove;
    return ch;
  }
  return std::nullopt;
}

std::string acs_address_id(const std::string& address) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(address.data()), address.size(), d);
  static const char* hex = "0123456789abcdef";
  std::string id = "bg-";
  for (int i = 0; i < 20; ++i) {
    id += hex[d[i] >> 4];
    id += hex[d[i] & 15];
  }
  return id;
}

std::string acs_list_path(const AcsListsConfig& c, const AcsListTarget& t) {
  return "/subscriptions/" + form_encode(c.subscription_id) + "/resourceGroups/" +
         form_encode(c.resource_group) + "/providers/Microsoft.Communication/emailServices/" +
         form_encode(c.email_service) + "/domains/" + form_encode(t.domain) + "/suppressionLists/" +
         form_encode(t.list);
}

std::string acs_address_path(const AcsListsConfig& c, const AcsListTarget& t,
                             const std::string& address) {
  return acs_list_path(c, t) + "/suppressionListAddresses/" + acs_address_id(address) +
         "?api-version=" + form_encode(c.api_version);
}

std::string acs_addresses_path(const AcsListsConfig& c, const AcsListTarget& t) {
  return acs_list_path(c, t) +
         "/suppressionListAddresses?api-version=" + form_encode(c.api_version);
}

std::string acs_list_body(const AcsListTarget& t) {
  return "{\"properties\":" + JsonObject().add("listName", t.list_name).str() + "}";
}

std::string acs_address_body(const std::string& address, const std::string& notes) {
  return "{\"properties\":" +
         JsonObject().add("email", address).add("notes", notes.substr(0, 500)).str() + "}";
}

AcsAddressPage parse_acs_address_page(const std::string& body) {
  std::string why;
  auto doc = parse_json(body, &why);
  if (!doc || !doc->is_object()) throw std::runtime_error("the list answer is not JSON: " + why);
  const JsonValue* value = doc->find("value");
  if (!value || !value->is_array()) throw std::runtime_error("the list answer has no value array");
  AcsAddressPage page;
  for (const auto& item : value->items) {
    const JsonValue* props = item.find("properties");
    auto email = props ? props->string_at("email") : std::nullopt;
    if (!email) throw std::runtime_error("an address without properties.email");
    page.items.emplace_back(item.string_at("name").value_or(""), *email);
  }
  page.next_link = doc->string_at("nextLink").value_or("");
  return page;
}

}  // namespace bouncegate
