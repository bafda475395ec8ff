// RELIABILITY case 28, disk full on the engine's data root: a throwaway dockerd (own socket,
// pidfile, exec root and a 64 MiB tmpfs as its data root; never the shared engine). `furnace
// build` of a project on the test registry's library/debian:<codename> (about
// 48 MiB compressed, so about 144 MiB by furnace's estimate) warns before the pull that it will
// not fit, fails with "no space left on device" plus the engine's `docker system df` table and
// the fix, and the engine still answers /_ping afterwards.

#include "support/test_env.hpp"

#include <furnace/engine/docker_api.hpp>
#include <furnace/engine/registry_probe.hpp>
#include <furnace/util/atomic_file.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace furnace {
namespace {

namespace fs = std::filesystem;

bool process_alive(int pid) {
  const std::string stat = testing::read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

std::string env_or(const char* key, const std::string& fallback) {
  const char* v = std::getenv(key); // NOLINT(concurrency-mt-unsafe)
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

class DiskFull : public ::testing::Test {
protected:
  void SetUp() override {
    FURNACE_REQUIRE(::geteuid() == 0, "a throwaway dockerd and a tmpfs mount need root");
    FURNACE_REQUIRE(testing::sh("command -v dockerd").status.ok(), "no dockerd binary");
    m_registry = "127.0.0.1:" + env_or("FURNACE_TEST_REGISTRY_PORT", "5757");
    auto reg = engine::probe_registry("http://" + m_registry, std::chrono::milliseconds(3000));
    FURNACE_REQUIRE(reg && reg->status == 200,
                    "no test registry on " + m_registry + " (run 'scripts/test-engine.sh up')");
    m_codename = testing::sh(". /etc/os-release && echo $VERSION_CODENAME").out;
    while (!m_codename.empty() && m_codename.back() == '\n') {
      m_codename.pop_back();
    }
    ASSERT_FALSE(m_codename.empty());

    std::string tmpl = "/tmp/fdfXXXXXX"; // short: a unix socket path has at most 107 bytes
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    m_dir = tmpl;
    fs::create_directories(m_dir + "/data");
    fs::create_directories(m_dir + "/project");
    ASSERT_TRUE(testing::sh("mount -t tmpfs -o size=64m furnace-it-diskfull " + m_dir + "/data")
                    .status.ok());
    m_mounted = true;
    m_bridge = "fdf" + std::to_string(::getpid() % 100000);
    const std::string subnet = "10.214." + std::to_string(::getpid() % 250) + ".1/24";
    ASSERT_TRUE(testing::sh("ip link add name " + m_bridge + " type bridge && ip addr add " +
                            subnet + " dev " + m_bridge + " && ip link set " + m_bridge + " up")
                    .status.ok());
    m_bridge_made = true;
  }

  void TearDown() override {
    if (m_dir.empty()) {
      return;
    }
    const int pid = std::atoi(testing::read_text(m_dir + "/dockerd.pid").c_str());
    if (pid > 0 && process_alive(pid)) {
      ::kill(pid, SIGTERM);
      for (int i = 0; i < 200 && process_alive(pid); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (process_alive(pid)) {
        ::kill(pid, SIGKILL);
      }
    }
    if (m_child > 0) {
      int ws = 0;
      ::waitpid(m_child, &ws, 0);
    }
    // What the engine mounted under the temp dir (deepest first), then the tmpfs itself.
    testing::sh("grep -o ' " + m_dir +
                "/[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l");
    if (m_mounted) {
      testing::sh("umount -l " + m_dir + "/data");
    }
    if (m_bridge_made) {
      testing::sh("ip link del " + m_bridge);
    }
    if (HasFailure()) {
      std::cerr << "dockerd log:\n" << testing::read_text(m_dir + "/dockerd.log") << '\n';
    }
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  // `mirror`: the test registry is the engine's Docker Hub mirror.
  void start_engine(bool mirror) {
    std::vector<std::string> argv{"dockerd",
                                  "--data-root",
                                  m_dir + "/data",
                                  "--exec-root",
                                  m_dir + "/x",
                                  "--pidfile",
                                  m_dir + "/dockerd.pid",
                                  "-H",
                                  "unix://" + m_dir + "/d.sock",
                                  "--bridge",
                                  m_bridge,
                                  "--iptables=false",
                                  "--ip-masq=false"};
    if (mirror) {
      argv.insert(argv.end(), {"--registry-mirror", "http://" + m_registry});
    }
    m_child = ::fork();
    ASSERT_GE(m_child, 0);
    if (m_child == 0) {
      ::setsid();
      const int log = ::open((m_dir + "/dockerd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(log, 1);
      ::dup2(log, 2);
      std::vector<char*> c;
      for (auto& a : argv) {
        c.push_back(a.data());
      }
      c.push_back(nullptr);
      ::execvp("dockerd", c.data());
      ::_exit(127);
    }
    ASSERT_TRUE(testing::wait_for([this] { return api().ping().has_value(); },
                                  std::chrono::milliseconds(60000)))
        << testing::read_text(m_dir + "/dockerd.log");
  }

  testing::Run build(const std::string& project, const std::string& home) const {
    return testing::run_furnace({"build", project},
                                {{"DOCKER_HOST", "unix://" + m_dir + "/d.sock"},
                                 {"HOME", home},
                                 {"XDG_CONFIG_HOME", home + "/config"},
                                 {"-XDG_CACHE_HOME", ""},
                                 {"-XDG_DATA_HOME", ""},
                                 {"FURNACE_DOCKER", "/usr/bin/docker"}});
  }

  engine::DockerApi api() const {
    return engine::DockerApi(engine::parse_host_uri("unix://" + m_dir + "/d.sock", "test").value());
  }

  std::string m_dir;
  std::string m_registry;
  std::string m_codename;
  std::string m_bridge;
  bool m_mounted = false;
  bool m_bridge_made = false;
  pid_t m_child = -1;
};

TEST_F(DiskFull, a_pull_larger_than_the_data_root_warns_fails_plainly_and_leaves_the_engine_up) {
  // Named with its registry: with a mirror, the engine falls back to Docker Hub after the mirror's
  // failure and reports only why Docker Hub failed (unreachable here).
  const std::string base = m_registry + "/library/debian:" + m_codename;
  start_engine(false);
  ASSERT_FALSE(HasFatalFailure());
  testing::TempDir home;
  const std::string project = m_dir + "/project";
  ASSERT_TRUE(util::write_file_atomic(project + "/furnace.yaml",
                                      "name: furnace-it-diskfull\nbase: " + base + "\n"));
  const auto r = build(project, home.path());
  EXPECT_NE(r.exit_code, 0) << r.err;
  // The preflight, before the pull: the estimate from the mirror's manifest and the free space.
  const auto warned = r.err.find("furnace: warning: pulling " + base + " needs about ");
  ASSERT_NE(warned, std::string::npos) << r.err;
  EXPECT_LT(warned, r.err.find("pulling " + base + "\n")) << r.err;
  EXPECT_NE(r.err.find("on the engine's data root " + m_dir + "/data, which has "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("from the manifest at http://" + m_registry), std::string::npos) << r.err;
  // The failure: plainly, with the engine's words, `docker system df` and the fix.
  EXPECT_NE(r.err.find("furnace: error: no space left on device: the engine's data root (" + m_dir +
                       "/data) is full"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("the engine's disk usage (docker system df):"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("TYPE"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Build Cache"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'furnace prune'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'docker system prune'"), std::string::npos) << r.err;
  // The engine is still healthy.
  auto ping = api().ping();
  EXPECT_TRUE(ping.has_value()) << (ping ? "" : ping.error().message);
  auto df = api().disk_usage();
  EXPECT_TRUE(df.has_value()) << (df ? "" : df.error().message);
}

// With a mirror the engine falls back to Docker Hub (unreachable here) after the mirror's "no space
// left on device" and reports only Docker Hub's failure: furnace, having warned, says that space
// may be the cause, and the engine stays up.
TEST_F(DiskFull, behind_a_mirror_the_failure_still_points_at_the_full_data_root) {
  const std::string base = "debian:" + m_codename;
  start_engine(true);
  ASSERT_FALSE(HasFatalFailure());
  testing::TempDir home;
  const std::string project = m_dir + "/project";
  ASSERT_TRUE(util::write_file_atomic(project + "/furnace.yaml",
                                      "name: furnace-it-diskfull\nbase: " + base + "\n"));
  const auto r = build(project, home.path());
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("furnace: warning: pulling " + base + " needs about "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("from the manifest at http://" + m_registry), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the engine's data root was short of space for this pull"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("'docker system prune'"), std::string::npos) << r.err;
  EXPECT_TRUE(api().ping().has_value());
}

} // namespace
} // namespace furnace
