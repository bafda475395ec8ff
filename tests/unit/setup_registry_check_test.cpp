// Mirror and insecure-registry checks, the way dockerd checks them; passwords never echoed.

#include <furnace/setup/registry_check.hpp>
#include <furnace/setup/user_config.hpp>

#include <gtest/gtest.h>

namespace furnace {
namespace {

TEST(MirrorCheck, domain_roots_are_accepted) {
  EXPECT_EQ(setup::validate_mirror("https://mirror.example/").value(), "https://mirror.example");
  EXPECT_EQ(setup::validate_mirror("http://127.0.0.1:5757").value(), "http://127.0.0.1:5757");
}

TEST(MirrorCheck, paths_schemes_and_credentials_are_refused) {
  auto path = setup::validate_mirror("https://m/foo");
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().message,
            "invalid mirror: path, query, or fragment at end of the URI \"https://m/foo\"");
  EXPECT_EQ(path.error().exit_code, 2);
  auto ftp = setup::validate_mirror("ftp://m");
  ASSERT_FALSE(ftp);
  EXPECT_EQ(ftp.error().message, "invalid mirror: unsupported scheme \"ftp\" in \"ftp://m\"");
  auto creds = setup::validate_mirror("https://u:p4ssw0rd@m");
  ASSERT_FALSE(creds);
  EXPECT_EQ(creds.error().message,
            "invalid mirror: username/password not allowed in URI \"https://u:xxxxx@m\"");
  EXPECT_EQ(creds.error().message.find("p4ssw0rd"), std::string::npos);
  EXPECT_EQ(creds.error().hint.find("p4ssw0rd"), std::string::npos);
  EXPECT_FALSE(setup::validate_mirror("https://m?x=1"));
  EXPECT_FALSE(setup::validate_mirror("mirror.example"));
}

TEST(MaskCredentials, passwords_in_text_are_masked) {
  EXPECT_EQ(setup::mask_credentials_in_text(
                R"("http-proxy": "http://ann:s3cr3t@proxy:3128", "no-proxy": "x")"),
            R"("http-proxy": "http://ann:xxxxx@proxy:3128", "no-proxy": "x")");
  EXPECT_EQ(setup::mask_credentials_in_text("https://m.example/v2/"), "https://m.example/v2/");
}

// Issue 12 item 2: a password holding '@' or '"' leaked its tail (or all of it) through the
// plan's mask.
TEST(MaskCredentials, passwords_with_at_signs_and_quotes_are_masked_whole) {
  const std::string at = R"("http-proxy": "http://ann:p@ss@w0rd@proxy:3128",)";
  EXPECT_EQ(setup::mask_credentials_in_text(at), R"("http-proxy": "http://ann:xxxxx@proxy:3128",)");
  // As daemon.json holds it: the quote escaped.
  const std::string quote = R"("https-proxy": "http://ann:pa\"ss@proxy:3128", "x": 1)";
  EXPECT_EQ(setup::mask_credentials_in_text(quote),
            R"("https-proxy": "http://ann:xxxxx@proxy:3128", "x": 1)");
  const std::string both = "proxy http://ann:a@b\\\"c/d@proxy:3128 refused";
  const std::string masked = setup::mask_credentials_in_text(both);
  EXPECT_EQ(masked, "proxy http://ann:xxxxx@proxy:3128 refused");
  // Two URLs on one line, the second with a password, the first without.
  EXPECT_EQ(setup::mask_credentials_in_text("https://m.example http://u:s@cr3t@p:1"),
            "https://m.example http://u:xxxxx@p:1");
  // The URL form used in messages.
  EXPECT_EQ(setup::mask_credentials("https://u:p@ss\"w@m"), "https://u:xxxxx@m");
  auto mirror = setup::validate_mirror("https://u:p@ss@m");
  ASSERT_FALSE(mirror);
  EXPECT_EQ(mirror.error().message.find("ss@"), std::string::npos) << mirror.error().message;
}

// Issue 12 item 3: a name that starts with "127." is not the loopback address.
TEST(InsecureRegistry, loopback_is_an_address_never_a_name_that_looks_like_one) {
  using setup::AllowInsecure;
  EXPECT_TRUE(setup::is_loopback_registry("127.0.0.1:5000"));
  EXPECT_TRUE(setup::is_loopback_registry("127.10.20.30"));
  EXPECT_TRUE(setup::is_loopback_registry("[::1]:5000"));
  EXPECT_TRUE(setup::is_loopback_registry("::1"));
  EXPECT_TRUE(setup::is_loopback_registry("127.0.0.0/8"));
  EXPECT_TRUE(setup::is_loopback_registry("127.1.0.0/16"));
  EXPECT_FALSE(setup::is_loopback_registry("127.0.0.1.nip.io:5000"));
  EXPECT_FALSE(setup::is_loopback_registry("127.0.0.1.nip.io"));
  EXPECT_FALSE(setup::is_loopback_registry("127.evil.example:443"));
  EXPECT_FALSE(setup::is_loopback_registry("127.0.0.0/4"));
  EXPECT_FALSE(setup::is_loopback_registry("127.0.0.0/x"));
  EXPECT_FALSE(setup::is_loopback_registry("128.0.0.1:5000"));
  auto nip = setup::validate_insecure_registry("127.0.0.1.nip.io:5000", AllowInsecure::no);
  ASSERT_FALSE(nip);
  EXPECT_NE(nip.error().message.find("is not on this host"), std::string::npos)
      << nip.error().message;
  EXPECT_NE(nip.error().hint.find("--allow-insecure"), std::string::npos);
}

TEST(InsecureRegistry, loopback_is_fine_elsewhere_needs_consent) {
  using setup::AllowInsecure;
  EXPECT_TRUE(setup::validate_insecure_registry("127.0.0.1:5000", AllowInsecure::no));
  EXPECT_TRUE(setup::validate_insecure_registry("localhost:5000", AllowInsecure::no));
  EXPECT_FALSE(setup::validate_insecure_registry("10.0.0.5:5000", AllowInsecure::no));
  EXPECT_TRUE(setup::validate_insecure_registry("10.0.0.5:5000", AllowInsecure::yes));
  EXPECT_FALSE(setup::validate_insecure_registry("0.0.0.0/0", AllowInsecure::yes));
  EXPECT_FALSE(setup::validate_insecure_registry("http://10.0.0.5:5000", AllowInsecure::yes));
}

TEST(UserConfig, presets_urls_and_unknown_values) {
  EXPECT_EQ(setup::check_user_config_value("mirror.pip", "tuna").value(), "tuna");
  EXPECT_EQ(setup::mirror_url("mirror.pip", "tuna").value(),
            "https://pypi.tuna.tsinghua.edu.cn/simple");
  EXPECT_EQ(setup::check_user_config_value("mirror.apt", "https://m.example/debian/").value(),
            "https://m.example/debian");
  EXPECT_FALSE(setup::check_user_config_value("mirror.apt", "nowhere"));
  EXPECT_FALSE(setup::check_user_config_value("mirror.nope", "tuna"));
  auto secret = setup::check_user_config_value("mirror.pip", "https://u:s3cret@pypi.example");
  ASSERT_FALSE(secret);
  EXPECT_EQ(secret.error().message.find("s3cret"), std::string::npos);
}

} // namespace
} // namespace furnace
