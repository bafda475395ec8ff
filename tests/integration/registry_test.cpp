// furnace registry / push / pull against real Distribution registries on 127.0.0.1 (the host's
// docker-registry binary, started by `furnace registry up` on free ports) and the shared test
// engine: an image built by furnace pushed, removed and pulled back by the digest furnace.lock
// records; login over TLS (401 without it, bcrypt htpasswd 0600); a push to a pull-through
// cache refused as read-only; a cache serving a second pull with no upstream blob fetch and
// with its upstream stopped. Each test cleans up its registries and images.

#include "support/test_env.hpp"

#include <furnace/image/lock.hpp>
#include <furnace/registry/http.hpp>
#include <furnace/util/atomic_file.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>

namespace furnace {
namespace {

namespace fs = std::filesystem;
using testing::run_command;
using testing::run_furnace;

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

unsigned file_mode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777U) : 0U;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

std::string base64(const std::string& in) {
  static constexpr char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned val = 0;
  int bits = -6;
  for (const char c : in) {
    val = (val << 8U) + static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 0) {
      out += k[(val >> static_cast<unsigned>(bits)) & 0x3FU];
      bits -= 6;
    }
  }
  if (bits > -6) {
    out += k[((val << 8U) >> static_cast<unsigned>(bits + 8)) & 0x3FU];
  }
  while (out.size() % 4 != 0) {
    out += '=';
  }
  return out;
}

class RegistryCli : public ::testing::Test {
protected:
  void SetUp() override {
    FURNACE_REQUIRE_ENGINE();
    FURNACE_REQUIRE(util::find_in_path("docker-registry", "/usr/bin:/usr/local/bin").has_value(),
                    "no docker-registry binary (apt-get install docker-registry)");
    m_nonce = std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 100000);
  }

  void TearDown() override {
    for (const auto& d : m_dirs) {
      (void)run_furnace({"registry", "down", "--dir", d});
    }
    for (const auto& i : m_images) {
      (void)docker({"rmi", "-f", i});
    }
    for (const auto& d : m_mounts) {
      (void)run_command({"umount", "-l", d}, {}, std::chrono::seconds(10));
    }
  }

  std::string dir(const std::string& name) const { return m_tmp.path() + "/" + name; }

  testing::Run up(const std::string& name,
                  std::vector<std::string> args,
                  const std::map<std::string, std::string>& env = {}) {
    m_dirs.push_back(dir(name));
    args.insert(args.begin(), {"registry", "up", "--dir", dir(name)});
    return run_furnace(args, env);
  }

  static testing::Run docker(std::vector<std::string> args,
                             const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), "docker");
    return run_command(args, env, std::chrono::seconds(300));
  }

  // An image of our own FROM the stand-in base with `mib` MiB of random data, so that a pull
  // really moves a layer; tagged `tag`.
  void build_random_image(const std::string& tag, int mib) {
    const std::string ctx = m_tmp.write("ctx-" + std::to_string(m_images.size()) + "/Dockerfile",
                                        "FROM debian:bookworm\nRUN head -c " + std::to_string(mib) +
                                            "M /dev/urandom > /furnace-it-blob # " + m_nonce +
                                            "\nLABEL org.furnace.stand-in=true\n");
    m_images.push_back(tag);
    // --no-cache: a layer cached from an earlier build would already be in the engine.
    auto b = docker({"build", "--no-cache", "-q", "-t", tag, fs::path(ctx).parent_path().string()},
                    {{"DOCKER_BUILDKIT", "0"}});
    ASSERT_EQ(b.exit_code, 0) << b.err;
  }

  // A furnace project on `base`; returns its directory.
  std::string project(const std::string& base) {
    const std::string name = "furnace-it-reg-" + m_nonce;
    m_tmp.write("project/furnace.yaml", "name: " + name + "\nbase: " + base + "\n");
    return m_tmp.path() + "/project";
  }

  image::Lock lock(const std::string& project_dir) const {
    auto text = util::read_file(project_dir + "/furnace.lock");
    EXPECT_TRUE(text);
    auto l = image::parse_lock(text.value_or(""), "furnace.lock");
    EXPECT_TRUE(l) << (l ? "" : l.error().message);
    return l.value_or(image::Lock{});
  }

  std::string image_id(const std::string& ref) {
    auto r = docker({"image", "inspect", "-f", "{{.Id}}", ref});
    return r.exit_code == 0 ? std::string(r.out.substr(0, r.out.find('\n'))) : "";
  }

  testing::TempDir m_tmp;
  std::string m_nonce;
  std::vector<std::string> m_dirs;
  std::vector<std::string> m_images;
  std::vector<std::string> m_mounts;
};

TEST_F(RegistryCli, an_image_built_by_furnace_is_pushed_removed_and_pulled_back_by_its_digest) {
  const std::string port = std::to_string(free_port());
  const std::string host = "127.0.0.1:" + port;
  auto u = up("store", {"--port", port});
  ASSERT_EQ(u.exit_code, 0) << u.out << u.err;
  EXPECT_NE(u.out.find("registry up at http://" + host + " (/usr/bin/docker-registry, pid "),
            std::string::npos)
      << u.out;

  const std::string base = "furnace-it/regbase-" + m_nonce + ":1";
  build_random_image(base, 4);
  const std::string proj = project(base);
  auto b = run_furnace({"build", "--no-verify", proj});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const std::string image = lock(proj).image;
  m_images.push_back(image);
  m_images.push_back(host + "/" + image);
  const std::string built_id = image_id(image);
  ASSERT_FALSE(built_id.empty());

  auto p = run_furnace({"push", proj, "--registry", host});
  ASSERT_EQ(p.exit_code, 0) << p.out << p.err;
  const image::Lock pushed = lock(proj);
  const std::string repo = image.substr(0, image.find(':'));
  EXPECT_EQ(pushed.pushed.rfind(host + "/" + repo + "@sha256:", 0), 0U) << pushed.pushed;
  EXPECT_EQ(pushed.pushed_id, built_id);

  auto st = run_furnace({"registry", "status", "--dir", dir("store")});
  EXPECT_EQ(st.exit_code, 0) << st.out << st.err;
  EXPECT_NE(st.out.find("registry: up at http://" + host), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("  " + image + "\n"), std::string::npos) << st.out;

  // Gone from this engine (the random layer too), then back from the registry.
  ASSERT_EQ(docker({"rmi", image, host + "/" + image, base}).exit_code, 0);
  ASSERT_TRUE(image_id(built_id).empty());
  auto pl = run_furnace({"pull", proj});
  ASSERT_EQ(pl.exit_code, 0) << pl.out << pl.err;
  EXPECT_NE(pl.err.find("Pull complete"), std::string::npos) << pl.err;
  EXPECT_EQ(image_id(image), built_id);

  // run --from-registry pulls when the image is missing, and runs it without a build.
  ASSERT_EQ(docker({"rmi", image, pushed.pushed}).exit_code, 0);
  // The run goes into a history of the test's own, not the caller's.
  auto r = run_furnace({"run", "--from-registry", "-C", proj, "--", "cat", "/furnace-it-blob"},
                       {{"XDG_DATA_HOME", dir("xdg-data")}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), 4U << 20U);
  EXPECT_EQ(r.err.find("Step 1/"), std::string::npos) << r.err; // no build
  EXPECT_EQ(image_id(image), built_id);

  // A lock whose id the registry's image does not have: refused, nothing tagged.
  image::Lock wrong = pushed;
  wrong.pushed_id = "sha256:" + std::string(64, '0');
  ASSERT_TRUE(util::write_file_atomic(proj + "/furnace.lock", image::render_lock(wrong)));
  ASSERT_EQ(docker({"rmi", image}).exit_code, 0);
  auto bad = run_furnace({"pull", proj});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("digest mismatch: " + pushed.pushed + " is image " + built_id +
                         ", but furnace.lock records sha256:000"),
            std::string::npos)
      << bad.err;
  EXPECT_TRUE(image_id(image).empty());

  // gc with the binary backend: stopped, collected, started again.
  auto gc = run_furnace({"registry", "gc", "--dir", dir("store")});
  EXPECT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  EXPECT_NE(gc.out.find("garbage-collect: "), std::string::npos) << gc.out;
  EXPECT_NE(gc.err.find("registry at " + host + " is up again"), std::string::npos) << gc.err;
  EXPECT_EQ(run_furnace({"registry", "status", "--dir", dir("store")}).exit_code, 0);
}

TEST_F(RegistryCli, login_needs_tls_anonymous_gets_401_and_the_htpasswd_is_bcrypt_0600) {
  const std::string port = std::to_string(free_port());
  const std::string host = "127.0.0.1:" + port;
  auto u = up("auth", {"--port", port, "--auth"});
  ASSERT_EQ(u.exit_code, 0) << u.out << u.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(u.out, m, std::regex("password ([A-Za-z0-9_-]{24}) \\(shown once")))
      << u.out;
  const std::string password = m[1];
  const std::string d = dir("auth");
  const std::string ca = d + "/certs/ca.crt";
  EXPECT_NE(u.out.find("CA certificate: " + ca), std::string::npos) << u.out;
  EXPECT_NE(u.out.find("/etc/docker/certs.d/" + host + "/ca.crt && docker login " + host),
            std::string::npos)
      << u.out;

  // Files: bcrypt, only root can read the secrets.
  const std::string htpasswd = testing::read_text(d + "/auth/htpasswd");
  EXPECT_EQ(htpasswd.rfind("furnace:$2b$10$", 0), 0U) << htpasswd;
  EXPECT_EQ(htpasswd.find(password), std::string::npos);
  EXPECT_EQ(file_mode(d + "/auth/htpasswd"), 0600U);
  EXPECT_EQ(file_mode(d + "/auth"), 0700U);
  EXPECT_EQ(file_mode(d + "/config.yml"), 0600U);
  EXPECT_EQ(file_mode(d + "/certs/server.key"), 0600U);
  EXPECT_EQ(file_mode(d + "/certs/ca.key"), 0600U);

  // Anonymous: 401 with the challenge, over TLS that the printed CA verifies.
  registry::HttpRequest req;
  req.url = "https://" + host + "/v2/";
  req.ca_file = ca;
  auto anon = registry::http_request(req);
  ASSERT_TRUE(anon) << anon.error().message;
  EXPECT_EQ(anon->status, 401);
  EXPECT_EQ(anon->header("WWW-Authenticate"), "Basic realm=\"furnace-registry\"");
  req.headers = {"Authorization: Basic " + base64("furnace:" + password)};
  auto ok = registry::http_request(req);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  // Plain HTTP on the TLS port gets no registry answer.
  registry::HttpRequest plain;
  plain.url = "http://" + host + "/v2/";
  plain.headers = req.headers;
  auto http = registry::http_request(plain);
  EXPECT_TRUE(!http || (http->status != 200 && http->status != 401 &&
                        http->header("Docker-Distribution-Api-Version").empty()));

  // A push without a login fails and says so; with `docker login` it goes through.
  const std::string proj = project("debian:bookworm");
  ASSERT_EQ(run_furnace({"build", "--no-verify", proj}).exit_code, 0);
  const std::string image = lock(proj).image;
  m_images.push_back(image);
  m_images.push_back(host + "/" + image);
  const std::string config = m_tmp.path() + "/docker-config";
  fs::create_directories(config);
  auto anon_push = run_furnace({"push", proj, "--registry", host}, {{"DOCKER_CONFIG", config}});
  EXPECT_EQ(anon_push.exit_code, 1);
  EXPECT_NE(anon_push.err.find("the registry wants a login"), std::string::npos) << anon_push.err;
  EXPECT_TRUE(lock(proj).pushed.empty());
  auto login = run_command(
      {"sh", "-c", "printf '%s' \"$PW\" | docker login -u furnace --password-stdin " + host},
      {{"PW", password}, {"DOCKER_CONFIG", config}},
      std::chrono::seconds(60));
  ASSERT_EQ(login.exit_code, 0) << login.err;
  auto pushed = run_furnace({"push", proj, "--registry", host}, {{"DOCKER_CONFIG", config}});
  EXPECT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_FALSE(lock(proj).pushed.empty());

  // `up` again with a password from stdin: the new one works, the old one no longer does.
  auto again =
      run_command({"sh",
                   "-c",
                   "printf '%s\\n' \"$PW\" | \"$FURNACE\" registry up --dir \"$DIR\" --port " +
                       port + " --auth --password-stdin"},
                  {{"PW", "second-Password-42"}, {"FURNACE", FURNACE_BINARY}, {"DIR", d}},
                  std::chrono::seconds(120));
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(again.out.find("second-Password-42"), std::string::npos) << again.out;
  auto old_pw = registry::http_request(req);
  ASSERT_TRUE(old_pw);
  EXPECT_EQ(old_pw->status, 401);
  req.headers = {"Authorization: Basic " + base64("furnace:second-Password-42")};
  auto new_pw = registry::http_request(req);
  ASSERT_TRUE(new_pw);
  EXPECT_EQ(new_pw->status, 200);
}

TEST_F(RegistryCli, a_push_to_a_pull_through_cache_is_refused_as_read_only) {
  const std::string up_port = std::to_string(free_port());
  ASSERT_EQ(up("upstream", {"--port", up_port}).exit_code, 0);
  const std::string port = std::to_string(free_port());
  auto c = up("cache", {"--port", port, "--proxy", "http://127.0.0.1:" + up_port});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("pull-through cache of http://127.0.0.1:" + up_port), std::string::npos)
      << c.out;

  const std::string proj = project("debian:bookworm");
  ASSERT_EQ(run_furnace({"build", "--no-verify", proj}).exit_code, 0);
  m_images.push_back(lock(proj).image);
  const auto start = std::chrono::steady_clock::now();
  auto p = run_furnace({"push", proj, "--registry", "127.0.0.1:" + port});
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_NE(p.err.find("furnace: error: cannot push to 127.0.0.1:" + port +
                       ": it is a pull-through cache, and a pull-through cache is read-only"),
            std::string::npos)
      << p.err;
  EXPECT_EQ(p.err.find("405"), std::string::npos) << p.err;
  // Said before pushing: no tag left, no minute of the engine's retries.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_TRUE(image_id("127.0.0.1:" + port + "/" + lock(proj).image).empty());
  EXPECT_TRUE(lock(proj).pushed.empty());

  // Upstream credentials (case 46): a file others can read is refused; from a 0600 file they go
  // into a 0600 config only, with the warning that the cache now serves that account's images.
  const std::string creds = m_tmp.write("creds", "labuser:upstream-Secret-7\n", 0644);
  const std::string port2 = std::to_string(free_port());
  const std::vector<std::string> args{
      "--port", port2, "--proxy", "http://127.0.0.1:" + up_port, "--proxy-credentials", creds};
  auto open = up("cache2", args);
  EXPECT_EQ(open.exit_code, 1);
  EXPECT_NE(open.err.find("is readable by others (mode 644)"), std::string::npos) << open.err;
  EXPECT_NE(open.err.find("hint: chmod 600 " + creds), std::string::npos) << open.err;
  ASSERT_EQ(::chmod(creds.c_str(), 0600), 0);
  auto ok = up("cache2", args);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.err.find("the cache serves that account's private images to everyone"),
            std::string::npos)
      << ok.err;
  EXPECT_EQ(ok.out.find("upstream-Secret-7"), std::string::npos);
  EXPECT_EQ(ok.err.find("upstream-Secret-7"), std::string::npos);
  EXPECT_EQ(file_mode(dir("cache2") + "/config.yml"), 0600U);
  EXPECT_NE(
      testing::read_text(dir("cache2") + "/config.yml").find("  password: \"upstream-Secret-7\""),
      std::string::npos);
}

// Case 37: a registry whose disk is 90% full is reported by `status` (a warning, exit 1) and by
// `furnace doctor` (registry.disk). The registry's directory, the default one under
// $XDG_DATA_HOME, is a 16 MiB tmpfs of the test's own.
TEST_F(RegistryCli, status_and_doctor_warn_when_the_registry_disk_is_ninety_percent_full) {
  FURNACE_REQUIRE(::geteuid() == 0, "mounting a small tmpfs needs root");
  const std::string small = "xdg/furnace/registry";
  const std::string d = dir(small);
  const std::map<std::string, std::string> xdg{{"XDG_DATA_HOME", dir("xdg")}};
  fs::create_directories(d);
  ASSERT_EQ(run_command({"mount", "-t", "tmpfs", "-o", "size=16m", "furnace-it-registry", d},
                        {},
                        std::chrono::seconds(10))
                .exit_code,
            0);
  m_mounts.push_back(d);
  const std::string port = std::to_string(free_port());
  auto u = up(small, {"--port", port});
  ASSERT_EQ(u.exit_code, 0) << u.out << u.err;
  auto fine = run_furnace({"registry", "status"}, xdg); // the default directory
  EXPECT_EQ(fine.exit_code, 0) << fine.out << fine.err;
  auto doctor_fine = run_furnace({"doctor", "--json"}, xdg);
  EXPECT_NE(doctor_fine.out.find("\"id\": \"registry.disk\",\n      \"status\": \"ok\""),
            std::string::npos)
      << doctor_fine.out;
  // Another registry on the same port is refused before it starts (it would seem to answer).
  auto taken = up("other", {"--port", port});
  EXPECT_EQ(taken.exit_code, 1);
  EXPECT_NE(taken.err.find("furnace: error: 127.0.0.1:" + port + " is already in use"),
            std::string::npos)
      << taken.err;
  ASSERT_EQ(testing::sh("head -c 15M /dev/zero > '" + d + "/data/filler'", 30).status.code, 0);
  auto full = run_furnace({"registry", "status", "--dir", d});
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_NE(full.out.find("free of 16.0 MiB (9"), std::string::npos) << full.out;
  EXPECT_NE(
      full.err.find("furnace: warning: the registry's disk is 90% full or more (" + d + "/data)"),
      std::string::npos)
      << full.err;
  EXPECT_NE(full.err.find("hint: delete unused tags, then 'furnace registry gc'"),
            std::string::npos)
      << full.err;
  auto json = run_furnace({"registry", "status", "--dir", d, "--json"});
  EXPECT_NE(json.out.find("\"warn\": true"), std::string::npos) << json.out;
  auto doctor = run_furnace({"doctor"}, xdg);
  EXPECT_NE(doctor.out.find("registry.disk"), std::string::npos) << doctor.out;
  EXPECT_NE(doctor.out.find("the registry at 127.0.0.1:" + port + " (" + d + "): "),
            std::string::npos)
      << doctor.out;
  auto doctor_json = run_furnace({"doctor", "--json"}, xdg);
  EXPECT_NE(doctor_json.out.find("\"id\": \"registry.disk\",\n      \"status\": \"warn\""),
            std::string::npos)
      << doctor_json.out;
}

TEST_F(RegistryCli, the_cache_serves_a_second_pull_without_upstream_blob_fetches_and_without_it) {
  const std::string up_port = std::to_string(free_port());
  ASSERT_EQ(up("upstream", {"--port", up_port}).exit_code, 0);
  const std::string repo = "furnace-it/cached-" + m_nonce;
  const std::string origin_ref = "127.0.0.1:" + up_port + "/" + repo + ":1";
  build_random_image(origin_ref, 8);
  ASSERT_EQ(docker({"push", origin_ref}).exit_code, 0);
  ASSERT_EQ(docker({"rmi", origin_ref}).exit_code, 0);

  const std::string port = std::to_string(free_port());
  auto c = up("cache", {"--port", port, "--proxy", "http://127.0.0.1:" + up_port, "--ttl", "72h"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  // Case 37: the cache deletes what expires.
  const std::string config = testing::read_text(dir("cache") + "/config.yml");
  EXPECT_NE(config.find("  delete:\n    enabled: true\n"), std::string::npos) << config;
  EXPECT_NE(config.find("  ttl: \"72h\"\n"), std::string::npos) << config;

  const std::string via_cache = "127.0.0.1:" + port + "/" + repo + ":1";
  m_images.push_back(via_cache);
  const std::string upstream_log = dir("upstream") + "/registry.log";
  const std::string blob_get = "\"GET /v2/" + repo + "/blobs/sha256:";
  const std::size_t before = count(testing::read_text(upstream_log), blob_get);

  auto first = docker({"pull", via_cache});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::size_t after_first = count(testing::read_text(upstream_log), blob_get);
  EXPECT_GE(after_first, before + 2) << "the first pull goes to the upstream (config and layer)";

  ASSERT_EQ(docker({"rmi", via_cache}).exit_code, 0);
  auto second = docker({"pull", via_cache});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(count(testing::read_text(upstream_log), blob_get), after_first)
      << "the second pull fetched blobs from the upstream";

  // The upstream gone: the cache still serves it.
  ASSERT_EQ(run_furnace({"registry", "down", "--dir", dir("upstream")}).exit_code, 0);
  ASSERT_EQ(docker({"rmi", via_cache}).exit_code, 0);
  auto third = docker({"pull", via_cache});
  EXPECT_EQ(third.exit_code, 0) << third.err;
  auto st = run_furnace({"registry", "status", "--dir", dir("cache"), "--json"});
  EXPECT_NE(st.out.find("\"proxy\": \"http://127.0.0.1:" + up_port + "\""), std::string::npos)
      << st.out;
}

// The container backend, with a registry:2-like image made here from the host's Distribution
// binary (no Docker Hub): a furnace-labelled container bound to 127.0.0.1 with a restart policy;
// gc runs in a container of the same image while the registry is stopped, then it is back.
TEST_F(RegistryCli, the_container_backend_runs_a_labelled_container_on_loopback_and_collects) {
  const std::string image = "furnace-it/registry:2-" + m_nonce;
  const std::string bin = m_tmp.path() + "/regctx/registry";
  fs::create_directories(fs::path(bin).parent_path());
  fs::copy_file("/usr/bin/docker-registry", bin);
  m_tmp.write("regctx/Dockerfile",
              "FROM debian:bookworm\nCOPY registry /bin/registry\nENTRYPOINT [\"/bin/registry\"]\n"
              "LABEL org.furnace.stand-in=true\n");
  m_images.push_back(image);
  ASSERT_EQ(
      docker({"build", "-q", "-t", image, m_tmp.path() + "/regctx"}, {{"DOCKER_BUILDKIT", "0"}})
          .exit_code,
      0);

  const std::string port = std::to_string(free_port());
  auto u = up("ctr", {"--port", port, "--image", image});
  ASSERT_EQ(u.exit_code, 0) << u.out << u.err;
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(u.out, m, std::regex("container (furnace-registry-[0-9a-f]{12}) of")))
      << u.out;
  const std::string name = m[1];
  auto inspect = docker({"inspect",
                         "-f",
                         "{{index .Config.Labels \"org.furnace.registry\"}} "
                         "{{.HostConfig.RestartPolicy.Name}} {{json .HostConfig.PortBindings}} "
                         "{{.HostConfig.Privileged}}",
                         name});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_EQ(inspect.out,
            dir("ctr") +
                " unless-stopped {\"5000/tcp\":[{\"HostIp\":\"127.0.0.1\","
                "\"HostPort\":\"" +
                port + "\"}]} false\n");

  const std::string ref = "127.0.0.1:" + port + "/furnace-it/in-container-" + m_nonce + ":1";
  build_random_image(ref, 1);
  ASSERT_EQ(docker({"push", ref}).exit_code, 0);
  auto st = run_furnace({"registry", "status", "--dir", dir("ctr")});
  EXPECT_EQ(st.exit_code, 0) << st.out << st.err;
  EXPECT_NE(st.out.find("runs as:  container " + name), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("  furnace-it/in-container-" + m_nonce + ":1\n"), std::string::npos)
      << st.out;

  auto gc = run_furnace({"registry", "gc", "--dir", dir("ctr")});
  EXPECT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  EXPECT_NE(gc.err.find("stopping the registry for garbage collection"), std::string::npos)
      << gc.err;
  EXPECT_NE(gc.out.find("garbage-collect: "), std::string::npos) << gc.out;
  EXPECT_EQ(run_furnace({"registry", "status", "--dir", dir("ctr")}).exit_code, 0);

  ASSERT_EQ(run_furnace({"registry", "down", "--dir", dir("ctr")}).exit_code, 0);
  EXPECT_NE(docker({"inspect", name}).exit_code, 0) << "the container is removed";
  auto after = run_furnace({"registry", "status", "--dir", dir("ctr")});
  EXPECT_EQ(after.exit_code, 1);
  EXPECT_NE(after.out.find("registry: down; was at http://127.0.0.1:" + port), std::string::npos)
      << after.out;
}

// A throwaway dockerd of this test's own (own socket, data root, pidfile, bridge; the shared
// engine is never touched), pointed at a cache by `furnace setup --mirror`: a Docker Hub name
// comes through the cache from its upstream, and `furnace doctor` marks the mirror unhealthy
// once the cache is down (case 27).
class RegistryMirror : public RegistryCli {
protected:
  void SetUp() override {
    RegistryCli::SetUp();
    if (IsSkipped() || HasFailure()) {
      return;
    }
    FURNACE_REQUIRE(::geteuid() == 0, "a throwaway dockerd needs root");
    FURNACE_REQUIRE(util::find_in_path("dockerd", "/usr/sbin:/usr/bin:/usr/local/bin").has_value(),
                    "no dockerd binary");
    std::string tmpl = "/tmp/frmXXXXXX"; // short: unix socket paths are limited to 107 bytes
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    m_engine_dir = tmpl;
    fs::create_directories(m_engine_dir + "/root/etc/docker");
    ASSERT_TRUE(util::write_file_atomic(m_engine_dir + "/root/etc/docker/daemon.json", "{}\n"));
    m_bridge = "frm" + std::to_string(::getpid() % 100000);
    const std::string subnet = "10.214." + std::to_string(::getpid() % 250) + ".1/24";
    ASSERT_EQ(run_command({"ip", "link", "add", "name", m_bridge, "type", "bridge"},
                          {},
                          std::chrono::seconds(10))
                  .exit_code,
              0);
    (void)run_command({"ip", "addr", "add", subnet, "dev", m_bridge}, {}, std::chrono::seconds(10));
    (void)run_command({"ip", "link", "set", m_bridge, "up"}, {}, std::chrono::seconds(10));
    const std::string cmd = "setsid dockerd --config-file '" + m_engine_dir +
                            "/root/etc/docker/daemon.json' --data-root '" + m_engine_dir +
                            "/data' --exec-root '" + m_engine_dir + "/x' --pidfile '" +
                            m_engine_dir + "/dockerd.pid' -H 'unix://" + socket() + "' --bridge " +
                            m_bridge + " --iptables=false --ip-masq=false >'" + m_engine_dir +
                            "/dockerd.log' 2>&1 </dev/null &";
    ASSERT_EQ(testing::sh(cmd, 10).status.code, 0);
    ASSERT_TRUE(testing::wait_for(
        [&] {
          return engine_docker({"version", "--format", "{{.Server.Version}}"}).exit_code == 0;
        },
        std::chrono::seconds(60)))
        << testing::read_text(m_engine_dir + "/dockerd.log");
  }

  void TearDown() override {
    RegistryCli::TearDown();
    if (m_engine_dir.empty()) {
      return;
    }
    const int pid = std::atoi(testing::read_text(m_engine_dir + "/dockerd.pid").c_str());
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      (void)testing::wait_for([&] { return ::kill(pid, 0) != 0; }, std::chrono::seconds(20));
      if (::kill(pid, 0) == 0) {
        ::kill(pid, SIGKILL);
      }
    }
    (void)testing::sh("grep -o ' " + m_engine_dir +
                          "[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l",
                      20);
    (void)run_command({"ip", "link", "del", m_bridge}, {}, std::chrono::seconds(10));
    if (!HasFailure()) {
      std::error_code ec;
      fs::remove_all(m_engine_dir, ec);
    } else {
      std::cerr << "kept " << m_engine_dir << " (dockerd log: " << m_engine_dir
                << "/dockerd.log)\n";
    }
  }

  std::string socket() const { return m_engine_dir + "/d.sock"; }
  std::map<std::string, std::string> engine_env() const {
    return {{"DOCKER_HOST", "unix://" + socket()}, {"HOME", m_engine_dir}};
  }
  testing::Run engine_docker(std::vector<std::string> args) const {
    args.insert(args.begin(), {"docker", "-H", "unix://" + socket()});
    return run_command(args, {}, std::chrono::seconds(300));
  }
  // The doctor's registry.mirror check as JSON text ("" when absent).
  std::string doctor_mirror_check() const {
    auto d = run_furnace({"doctor", "--json"}, engine_env());
    const auto at = d.out.find("\"id\": \"registry.mirror\"");
    if (at == std::string::npos) {
      return "";
    }
    const auto start = d.out.rfind('{', at);
    return d.out.substr(start, d.out.find('}', at) - start + 1);
  }

  std::string m_engine_dir;
  std::string m_bridge;
};

TEST_F(RegistryMirror, setup_points_an_engine_at_the_cache_and_doctor_marks_it_down_when_stopped) {
  const std::string up_port = std::to_string(free_port());
  ASSERT_EQ(up("upstream", {"--port", up_port}).exit_code, 0);
  const std::string hub_name = "library/furnace-it-hub-" + m_nonce;
  const std::string origin_ref = "127.0.0.1:" + up_port + "/" + hub_name + ":1";
  build_random_image(origin_ref, 1);
  ASSERT_EQ(docker({"push", origin_ref}).exit_code, 0);

  const std::string port = std::to_string(free_port());
  const std::string mirror = "http://127.0.0.1:" + port;
  auto c = up("cache", {"--port", port, "--proxy", "http://127.0.0.1:" + up_port});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("clients: sudo furnace setup --mirror " + mirror), std::string::npos)
      << c.out;

  auto s = run_furnace({"setup", "--root", m_engine_dir + "/root", "--yes", "--mirror", mirror},
                       engine_env());
  ASSERT_EQ(s.exit_code, 0) << s.out << s.err;
  auto mirrors = engine_docker({"info", "--format", "{{json .RegistryConfig.Mirrors}}"});
  EXPECT_EQ(mirrors.out, "[\"" + mirror + "/\"]\n");

  // A Docker Hub name: this engine has no way to Docker Hub, so only the mirror can answer.
  auto pull = engine_docker({"pull", "furnace-it-hub-" + m_nonce + ":1"});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(testing::read_text(dir("cache") + "/registry.log")
                .find("\"GET /v2/" + hub_name + "/blobs/sha256:"),
            std::string::npos);

  const std::string healthy = doctor_mirror_check();
  EXPECT_NE(healthy.find("\"status\": \"ok\""), std::string::npos) << healthy;
  ASSERT_EQ(run_furnace({"registry", "down", "--dir", dir("cache")}).exit_code, 0);
  const std::string down = doctor_mirror_check();
  EXPECT_NE(down.find("\"status\": \"warn\""), std::string::npos) << down;
  EXPECT_NE(down.find(mirror + "/ does not answer"), std::string::npos) << down;
  EXPECT_NE(down.find("pulls fall back to Docker Hub"), std::string::npos) << down;
}

} // namespace
} // namespace furnace
