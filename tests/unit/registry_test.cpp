// The lab registry's pure parts: the generated Distribution config, the listen and upstream
// rules, bcrypt htpasswd lines, the disk warning, the state record, the push error that names a
// pull-through cache, the catalog read from storage, and furnace.lock's pushed digest.

#include "support/test_env.hpp"

#include <furnace/image/lock.hpp>
#include <furnace/registry/auth.hpp>
#include <furnace/registry/daemon.hpp>
#include <furnace/registry/push.hpp>
#include <furnace/registry/server.hpp>
#include <furnace/registry/server_config.hpp>
#include <furnace/util/atomic_file.hpp>

#include <gtest/gtest.h>

#include <crypt.h>

#include <filesystem>

namespace furnace {
namespace {

using registry::ServerConfig;

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(RegistryConfig, a_plain_store_has_delete_purging_and_health_and_nothing_else) {
  ServerConfig c;
  c.listen = "127.0.0.1:5000";
  c.storage_dir = "/srv/reg/data";
  c.http_secret = "s3cret";
  const std::string y = registry::render_config(c);
  EXPECT_TRUE(has(y, "  filesystem:\n    rootdirectory: \"/srv/reg/data\"\n")) << y;
  EXPECT_TRUE(has(y, "  delete:\n    enabled: true\n")) << y;
  EXPECT_TRUE(has(y, "    uploadpurging:\n      enabled: true\n")) << y;
  EXPECT_TRUE(has(y, "    readonly:\n      enabled: false\n")) << y;
  EXPECT_TRUE(has(y, "  addr: \"127.0.0.1:5000\"\n")) << y;
  EXPECT_TRUE(has(y, "health:\n  storagedriver:\n    enabled: true\n")) << y;
  EXPECT_FALSE(has(y, "proxy:")) << y;
  EXPECT_FALSE(has(y, "auth:")) << y;
  EXPECT_FALSE(has(y, "tls:")) << y;
  EXPECT_EQ(y, registry::render_config(c)); // the same config gives the same bytes
}

TEST(RegistryConfig, a_cache_has_its_upstream_and_ttl_and_login_has_tls) {
  ServerConfig c;
  c.listen = "0.0.0.0:5000";
  c.storage_dir = "/var/lib/registry";
  c.proxy_url = "https://registry-1.docker.io";
  c.proxy_ttl = "72h";
  c.proxy_username = "lab";
  c.proxy_password = "pa\"ss";
  c.htpasswd = "/auth/htpasswd";
  c.tls_cert = "/certs/server.crt";
  c.tls_key = "/certs/server.key";
  const std::string y = registry::render_config(c);
  EXPECT_TRUE(has(y, "proxy:\n  remoteurl: \"https://registry-1.docker.io\"\n")) << y;
  EXPECT_TRUE(has(y, "  username: \"lab\"\n  password: \"pa\\\"ss\"\n")) << y; // quoted safely
  EXPECT_TRUE(has(y, "  ttl: \"72h\"\n")) << y;
  EXPECT_TRUE(
      has(y, "auth:\n  htpasswd:\n    realm: furnace-registry\n    path: \"/auth/htpasswd\"\n"))
      << y;
  EXPECT_TRUE(
      has(y, "  tls:\n    certificate: \"/certs/server.crt\"\n    key: \"/certs/server.key\"\n"))
      << y;
  EXPECT_TRUE(has(y, "  delete:\n    enabled: true\n")) << y;
}

TEST(RegistryListen, loopback_is_fine_a_lan_address_needs_login_or_consent) {
  EXPECT_EQ(registry::listen_address("127.0.0.1", 5000, false, false).value(), "127.0.0.1:5000");
  auto open = registry::listen_address("10.1.2.3", 5000, false, false);
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().exit_code, 2);
  EXPECT_TRUE(has(open.error().message, "without --auth")) << open.error().message;
  EXPECT_TRUE(has(open.error().hint, "--allow-insecure")) << open.error().hint;
  EXPECT_EQ(registry::listen_address("10.1.2.3", 5000, true, false).value(), "10.1.2.3:5000");
  EXPECT_EQ(registry::listen_address("0.0.0.0", 443, false, true).value(), "0.0.0.0:443");
  EXPECT_FALSE(registry::listen_address("127.0.0.1", 0, false, false));
  EXPECT_FALSE(registry::listen_address("127.0.0.1", 70000, false, false));
  EXPECT_FALSE(registry::listen_address("registry.lab", 5000, true, false));
  EXPECT_TRUE(registry::is_loopback_host("127.8.9.10"));
  EXPECT_FALSE(registry::is_loopback_host("127.0.0.1.example"));
}

TEST(RegistryUpstream, docker_hub_by_default_roots_only_and_no_password_in_the_url) {
  EXPECT_EQ(registry::proxy_upstream("").value(), "https://registry-1.docker.io");
  EXPECT_EQ(registry::proxy_upstream("http://127.0.0.1:5001/").value(), "http://127.0.0.1:5001");
  EXPECT_FALSE(registry::proxy_upstream("ftp://m"));
  EXPECT_FALSE(registry::proxy_upstream("https://m/v2/x"));
  auto creds = registry::proxy_upstream("https://me:hunter2@m");
  ASSERT_FALSE(creds);
  EXPECT_FALSE(has(creds.error().message, "hunter2"));
  EXPECT_FALSE(has(creds.error().hint, "hunter2"));
  EXPECT_TRUE(has(creds.error().hint, "--proxy-credentials")) << creds.error().hint;
}

TEST(RegistryAuth, htpasswd_lines_are_bcrypt_and_verify) {
  auto line = registry::htpasswd_line("alice", "correct horse");
  ASSERT_TRUE(line) << line.error().message;
  ASSERT_EQ(line->rfind("alice:$2b$10$", 0), 0U) << *line;
  const std::string hash = line->substr(6);
  crypt_data data{};
  EXPECT_EQ(std::string(::crypt_r("correct horse", hash.c_str(), &data)), hash);
  crypt_data other{};
  EXPECT_NE(std::string(::crypt_r("wrong", hash.c_str(), &other)), hash);
  EXPECT_NE(registry::htpasswd_line("alice", "correct horse").value(), *line); // salted
  EXPECT_FALSE(registry::htpasswd_line("a:b", "x"));
  EXPECT_FALSE(registry::htpasswd_line("a", ""));
  EXPECT_FALSE(registry::htpasswd_line("a", "x\ny"));
}

TEST(RegistryAuth, tokens_are_random_and_url_safe) {
  const std::string a = registry::random_token(18).value();
  const std::string b = registry::random_token(18).value();
  EXPECT_EQ(a.size(), 24U);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST(RegistryDisk, warns_at_ninety_percent_full) {
  const std::uint64_t gib = 1ULL << 30U;
  auto ok = registry::disk_report(5 * gib, 11 * gib, 100 * gib);
  EXPECT_FALSE(ok.warn);
  EXPECT_EQ(ok.line, "5.0 GiB used by the registry; 11.0 GiB free of 100 GiB (89% full)");
  auto full = registry::disk_report(5 * gib, 10 * gib, 100 * gib);
  EXPECT_TRUE(full.warn);
  EXPECT_EQ(full.line, "5.0 GiB used by the registry; 10.0 GiB free of 100 GiB (90% full)");
  EXPECT_EQ(registry::human_bytes(512), "512 B");
  EXPECT_EQ(registry::human_bytes(1536), "1.5 KiB");
}

TEST(RegistryState, round_trips_and_names_the_file_when_broken) {
  registry::State s;
  s.backend = registry::Backend::container;
  s.address = "127.0.0.1:5000";
  s.tls = true;
  s.auth = true;
  s.proxy = "http://127.0.0.1:5001";
  s.container = "furnace-registry-abc";
  s.image = "registry:2";
  auto back = registry::parse_state(registry::render_state(s), "/r/furnace-registry.json");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->backend, registry::Backend::container);
  EXPECT_EQ(back->address, s.address);
  EXPECT_TRUE(back->tls);
  EXPECT_EQ(back->proxy, s.proxy);
  EXPECT_EQ(back->container, s.container);
  auto bad = registry::parse_state("{", "/r/furnace-registry.json");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(has(bad.error().message, "/r/furnace-registry.json")) << bad.error().message;
}

TEST(RegistryPush, a_pull_through_cache_answer_is_said_as_read_only_not_405) {
  const std::string docker_said =
      "The push refers to repository [127.0.0.1:5001/furnace/x]\n"
      "5f70bf18a086: Preparing\nunsupported: The operation is unsupported.\n";
  const core::Error e =
      registry::push_error("127.0.0.1:5001/furnace/x:1", "127.0.0.1:5001", docker_said);
  EXPECT_TRUE(has(e.message, "pull-through cache is read-only")) << e.message;
  EXPECT_FALSE(has(e.message, "405"));
  const core::Error login =
      registry::push_error("h:1/furnace/x:1", "h:1", "denied\nno basic auth credentials\n");
  EXPECT_TRUE(has(login.message, "wants a login")) << login.message;
  EXPECT_EQ(login.hint.rfind("docker login h:1", 0), 0U) << login.hint;
  EXPECT_EQ(registry::registry_host("127.0.0.1:5000/").value(), "127.0.0.1:5000");
  EXPECT_FALSE(registry::registry_host("http://127.0.0.1:5000"));
  EXPECT_FALSE(registry::registry_host("h:1/ns"));
}

TEST(RegistryStorage, the_catalog_is_read_from_the_files) {
  testing::TempDir dir;
  const std::string v2 = "data/docker/registry/v2/repositories/";
  dir.write(v2 + "furnace/mnist/_manifests/tags/ee987f33f45d/current/link", "sha256:1");
  dir.write(v2 + "furnace/mnist/_manifests/tags/aaa/current/link", "sha256:2");
  dir.write(v2 + "library/debian/_manifests/tags/bookworm/current/link", "sha256:3");
  dir.write(v2 + "library/debian/_layers/sha256/x/link", "sha256:4");
  EXPECT_EQ(registry::catalog_from_storage(dir.path() + "/data"),
            (std::vector<std::string>{
                "furnace/mnist:aaa", "furnace/mnist:ee987f33f45d", "library/debian:bookworm"}));
  EXPECT_TRUE(registry::catalog_from_storage(dir.path() + "/none").empty());
}

TEST(RegistryDaemon, a_started_process_is_found_by_its_command_line_and_stopped) {
  testing::TempDir dir;
  const std::string pidfile = dir.path() + "/d.pid";
  auto pid = registry::spawn_detached({"/bin/sleep", "37"}, dir.path() + "/d.log", pidfile);
  ASSERT_TRUE(pid) << pid.error().message;
  EXPECT_EQ(util::read_file(pidfile).value_or(""), std::to_string(*pid) + "\n");
  // Returned only after the exec: the command line is already the program's.
  EXPECT_TRUE(registry::process_matches(*pid, "/bin/sleep 37"));
  EXPECT_FALSE(registry::process_matches(*pid, "docker-registry"));
  EXPECT_TRUE(registry::stop_process(*pid, std::chrono::milliseconds(5000)));
  EXPECT_FALSE(registry::process_matches(*pid, "/bin/sleep 37"));
  auto missing = registry::spawn_detached(
      {"/nonexistent/registry"}, dir.path() + "/e.log", dir.path() + "/e.pid");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "cannot run /nonexistent/registry: No such file or directory");
}

TEST(LockPushed, the_pushed_digest_and_id_round_trip_and_are_absent_until_pushed) {
  image::Lock lock;
  lock.image = "furnace/x:0123456789ab";
  lock.base = "debian:bookworm";
  lock.base_id = "sha256:b";
  EXPECT_FALSE(has(image::render_lock(lock), "pushed"));
  lock.pushed = "127.0.0.1:5000/furnace/x@sha256:d";
  lock.pushed_id = "sha256:i";
  const std::string text = image::render_lock(lock);
  EXPECT_TRUE(has(text, "pushed: 127.0.0.1:5000/furnace/x@sha256:d\npushed-id: sha256:i\n"))
      << text;
  auto back = image::parse_lock(text, "furnace.lock");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->pushed, lock.pushed);
  EXPECT_EQ(back->pushed_id, lock.pushed_id);
}

} // namespace
} // namespace furnace
