// `bouncegate token seal --list ID ADDR` / `bouncegate token open TOKEN`: the same unsubscribe
// tokens the milter puts into List-Unsubscribe, with keys from unsubscribe.key_files.
#include <iostream>

#include "cli/cli.hpp"
#include "core/address.hpp"
#include "core/json.hpp"
#include "core/unsubscribe.hpp"

namespace bouncegate::cli {

int cmd_token(Context& ctx) {
  const auto& pos = ctx.args.positional();
  if (pos.size() != 2 || (pos[0] != "seal" && pos[0] != "open"))
    throw UsageError("token seal --list ID ADDR | token open TOKEN");
  const UnsubscribeConfig& uc = ctx.cfg().unsubscribe;
  auto keys = TokenKeyring::load(uc.key_files);
  if (keys.empty()) throw ConfigError(ctx.cfg().source_file + ": unsubscribe.key_files is empty");
  int64_t now_s = now_ms() / 1000;

  if (pos[0] == "seal") {
    auto list = ctx.args.opt("list");
    if (!list || list->empty()) throw UsageError("token seal needs --list ID");
    std::string why;
    auto addr = normalize_address(pos[1], &why);
    if (!addr) throw UsageError("'" + pos[1] + "' is not a usable address: " + why);
    std::string token = keys.seal(*list, addr->address, now_s);
    if (ctx.json)
      std::cout << JsonObject()
                       .add("token", token)
                       .add("list", *list)
                       .add("address", addr->address)
                       .add("header", build_list_unsubscribe(uc, token))
                       .str()
                << "\n";
    else
      std::cout << token << "\n";
    return kOk;
  }

  std::string why;
  auto claims = keys.open(pos[1], now_s, uc.token_max_age.count() / 1000, &why);
  if (!claims) {
    if (ctx.json)
      std::cout << JsonObject().add("ok", false).add("error", why).str() << "\n";
    else
      std::cerr << "bouncegate token: cannot open token: " << why << "\n";
    return kDataErr;
  }
  if (ctx.json)
    std::cout << JsonObject()
                     .add("ok", true)
                     .add("list", claims->list)
                     .add("address", claims->address)
                     .add("issued", utc_iso(claims->issued_s * 1000))
                     .add("key_id", claims->key_id)
                     .str()
              << "\n";
  else
    std::cout << "list=" << claims->list << " address=" << claims->address
              << " issued=" << utc_iso(claims->issued_s * 1000) << " key_id=" << claims->key_id
              << "\n";
  return kOk;
}

}  // namespace bouncegate::cli
