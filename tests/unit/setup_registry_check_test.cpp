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
