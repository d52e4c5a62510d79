// ACS SMTP usernames: the two documented forms pass, malformed ones are named, and a
// malformed name in the configuration is refused with its line.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "core/acs_username.hpp"
#include "core/config.hpp"

namespace bouncegate {
namespace {

TEST(AcsUsername, HostsAndForms) {
  EXPECT_TRUE(is_acs_host("smtp.azurecomm.net"));
  EXPECT_TRUE(is_acs_host("SMTP.AzureComm.NET."));
  EXPECT_FALSE(is_acs_host("azurecomm.net.example.com"));
  EXPECT_FALSE(is_acs_host("localhost"));
  const std::string app = "aaaa1111-bbbb-2222-3333-aaaa111122bb";
  const std::string tenant = "aaaa1111-bbbb-2222-3333-aaaa11112222";
  // An SMTP Username resource: free form or an address.
  EXPECT_FALSE(acs_username_problem("smtpusername1"));
  EXPECT_FALSE(acs_username_problem("newuser1@contoso.com"));
  EXPECT_FALSE(acs_username_problem("relay.sender"));
  // The three-part form, with dots or pipes.
  EXPECT_FALSE(acs_username_problem("contosoACSService." + app + "." + tenant));
  EXPECT_FALSE(acs_username_problem("contosoACSService|" + app + "|" + tenant));
  EXPECT_TRUE(acs_username_problem(""));
  EXPECT_NE(acs_username_problem("acs." + app + ".aaaa1111-bbbb-2222-3333-aaaa1111222x")
                ->find("tenant id"),
            std::string::npos);
  EXPECT_NE(acs_username_problem("acs|not-a-guid|" + tenant)->find("application id"),
            std::string::npos);
  EXPECT_TRUE(acs_username_problem("|" + app + "|" + tenant));
  EXPECT_TRUE(acs_username_problem("user name"));
  EXPECT_TRUE(acs_username_problem("a@b@c"));
  EXPECT_TRUE(acs_username_problem("@contoso.com"));
}

TEST(AcsUsername, MalformedNameInTheConfigurationNamesItsLine) {
  std::string why;
  const std::string secret = "/tmp/bouncegate-acs-username-test.secret";
  std::ofstream(secret) << "entra-client-secret\n";
  try {
    load_config_text(
        "redis: {address: 127.0.0.1:1}\nrelay:\n  upstream:\n    host: smtp.azurecomm.net\n"
        "    username: 'acs|nope|nope'\n    password_file: " +
            secret + "\n",
        "acs.yaml");
  } catch (const ConfigError& e) {
    why = e.what();
  }
  EXPECT_NE(why.find("acs.yaml:5"), std::string::npos) << why;
  EXPECT_NE(why.find("not an ACS SMTP username"), std::string::npos) << why;
  std::remove(secret.c_str());
}

}  // namespace
}  // namespace bouncegate
