// An engine restart during an attached `furnace run` (RELIABILITY case 22), on a throwaway dockerd
// of this suite's own (socket, data root, exec root, pidfile and bridge under a temp dir; the
// shared test engine is never restarted). Its only image, debian:bookworm, comes from the shared
// engine (`docker save | docker load`); the project's image is FROM it with nothing to install.
// With live-restore the container runs on and furnace attaches to it again: the run ends with
// the command's own exit code and marker. Without it the restart ends the container: furnace
// says so (exit 125, not a silent 143), and once the engine is back no container is left.

#include "support/background.hpp"
#include "support/test_env.hpp"

#include <furnace/util/atomic_file.hpp>
#include <furnace/util/process.hpp>
#include <furnace/util/strings.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace furnace::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_image = "debian:bookworm";

bool alive(int pid) {
  auto stat = util::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) {
    return false;
  }
  const auto paren = stat->rfind(')');
  return paren != std::string::npos && (*stat)[paren + 2] != 'Z';
}

class RunEngineRestart : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || !util::find_in_path("dockerd", "/usr/sbin:/usr/bin:/usr/local/bin") ||
        !engine_available()) {
      return; // SetUp says why
    }
    std::string tmpl = "/tmp/frrXXXXXX"; // short: unix socket paths are limited to 107 bytes
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return;
    }
    s_dir = tmpl;
    // Its own bridge: `--bridge none` would delete the host's docker0 (the shared engine's).
    s_bridge = "frr" + std::to_string(::getpid() % 100000);
    const std::string subnet = "10.214." + std::to_string(::getpid() % 250) + ".1/24";
    sh("ip link add name " + s_bridge + " type bridge && ip addr add " + subnet + " dev " +
       s_bridge + " && ip link set " + s_bridge + " up");
    util::write_file_atomic(s_dir + "/daemon.json", "{}\n");
    if (!start_engine(false)) {
      return;
    }
    // The image, from the shared engine (DOCKER_HOST of this process).
    const auto loaded =
        sh("docker save " + std::string(k_image) + " | docker -H unix://" + socket() + " load");
    s_ready = loaded.status.ok();
    if (!s_ready) {
      std::cerr << "loading " << k_image << " failed: " << loaded.err << '\n';
    }
  }

  static void TearDownTestSuite() {
    if (s_dir.empty()) {
      return;
    }
    stop_engine();
    sh("grep -o ' " + s_dir + "[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l");
    sh("ip link del " + s_bridge);
    std::error_code ec;
    fs::remove_all(s_dir, ec);
    s_dir.clear();
  }

  void SetUp() override {
    if (::geteuid() != 0) {
      const char* ci = std::getenv("CI"); // NOLINT(concurrency-mt-unsafe)
      if (ci != nullptr && std::string(ci) == "true") {
        FAIL() << "a throwaway dockerd needs root, and CI=true";
      }
      GTEST_SKIP() << "a throwaway dockerd needs root";
    }
    FURNACE_REQUIRE_ENGINE(); // the shared one: it has the image to load
    ASSERT_FALSE(s_dir.empty()) << "no throwaway engine (dockerd missing?)";
    ASSERT_TRUE(s_ready) << "the throwaway engine did not start or load " << k_image << ": "
                         << util::read_file(s_dir + "/dockerd.log").value_or("");
    static int counter = 0;
    m_project = m_dir.path() + "/restart" + std::to_string(++counter);
    m_dir.write(fs::path(m_project).filename().string() + "/furnace.yaml",
                std::string("name: furnace-it-restart-") + std::to_string(::getpid()) +
                    "\nbase: " + k_image + "\n");
    m_root = fs::canonical(m_project).string();
  }

  void TearDown() override {
    if (!s_dir.empty() && s_ready) {
      docker("ps -aq --filter label=org.furnace.project=" + m_root +
             " | xargs -r docker -H unix://" + socket() + " rm -f");
    }
  }

  static std::string socket() { return s_dir + "/d.sock"; }

  static bool start_engine(bool live_restore) {
    std::vector<std::string> argv{"dockerd",
                                  "--config-file",
                                  s_dir + "/daemon.json",
                                  "--data-root",
                                  s_dir + "/data",
                                  "--exec-root",
                                  s_dir + "/x",
                                  "--pidfile",
                                  s_dir + "/dockerd.pid",
                                  "-H",
                                  "unix://" + socket(),
                                  "--bridge",
                                  s_bridge,
                                  "--iptables=false",
                                  "--ip-masq=false"};
    if (live_restore) {
      argv.emplace_back("--live-restore");
    }
    const pid_t child = ::fork();
    if (child < 0) {
      return false;
    }
    if (child == 0) {
      ::setsid();
      const int log = ::open((s_dir + "/dockerd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
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
    s_child = child;
    return wait_for([] { return docker("version --format '{{.Server.Version}}'").status.ok(); },
                    std::chrono::seconds(60));
  }

  static void stop_engine() {
    const int pid = std::atoi(util::read_file(s_dir + "/dockerd.pid").value_or("0").c_str());
    if (pid > 0 && alive(pid)) {
      ::kill(pid, SIGTERM);
      if (!wait_for([pid] { return !alive(pid); }, std::chrono::seconds(30))) {
        ::kill(pid, SIGKILL);
      }
    }
    if (s_child > 0) {
      int status = 0;
      ::waitpid(s_child, &status, 0);
      s_child = -1;
    }
  }

  // Restarts the engine as `systemctl restart docker` would: stop, then start.
  static bool restart_engine(bool live_restore) {
    stop_engine();
    return start_engine(live_restore);
  }

  static util::ProcessOutput docker(const std::string& args) {
    return sh("docker -H unix://" + socket() + " " + args);
  }

  std::map<std::string, std::string> env() const {
    return {{"DOCKER_HOST", "unix://" + socket()},
            {"HOME", m_dir.path() + "/home"},
            {"-XDG_DATA_HOME", ""},
            {"-XDG_CACHE_HOME", ""},
            {"-XDG_CONFIG_HOME", ""},
            {"-SUDO_USER", ""},
            {"-SUDO_UID", ""},
            {"-SUDO_GID", ""},
            {"FURNACE_DOCKER", "/usr/bin/docker"},
            {"FURNACE_BUILDER", "legacy"},
            {"FURNACE_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"},
            {"FURNACE_ENGINE_WAIT", "60"}};
  }

  std::string containers() const {
    return std::string(util::trim(
        docker("ps -a --filter label=org.furnace.project=" + m_root + " --format '{{.Names}}'")
            .out));
  }

  // furnace run in the background, its stdout and stderr in one file.
  Background start_run(const std::string& script) const {
    std::vector<std::string> envs;
    for (const auto& [k, v] : changed_env(env())) {
      envs.push_back(k + "=" + v);
    }
    return spawn_background({FURNACE_BINARY, "run", "-C", m_project, "--", "sh", "-c", script},
                            envs,
                            m_dir.path() + "/run.out");
  }

  nlohmann::json last_run() const {
    const auto h = run_furnace({"history", "-n", "1", "--json"}, env());
    return nlohmann::json::parse(h.out).at("runs").at(0);
  }

  TempDir m_dir;
  std::string m_project;
  std::string m_root;

  static std::string s_dir;
  static std::string s_bridge;
  static pid_t s_child;
  static bool s_ready;
};

std::string RunEngineRestart::s_dir;
std::string RunEngineRestart::s_bridge;
pid_t RunEngineRestart::s_child = -1;
bool RunEngineRestart::s_ready = false;

TEST_F(RunEngineRestart, with_live_restore_the_run_goes_on_and_ends_as_the_command_does) {
  ASSERT_TRUE(restart_engine(true)) << util::read_file(s_dir + "/dockerd.log").value_or("");
  // ~8 s of work that must survive the restart, then a marker and an exit code of its own.
  const Background b =
      start_run("echo started; i=0; while [ $i -lt 32 ]; do i=$((i+1)); sleep 0.25; done; "
                "echo finished > restart.marker; echo finished; exit 3");
  ASSERT_TRUE(wait_for([&] { return b.output().find("started") != std::string::npos; },
                       std::chrono::seconds(120)))
      << b.output();
  const std::string name = containers();
  ASSERT_FALSE(name.empty());
  ASSERT_TRUE(restart_engine(true));
  const int code = b.wait(std::chrono::seconds(90));
  const std::string out = b.output();
  EXPECT_EQ(code, 3) << out;
  EXPECT_NE(out.find("lost the connection to the engine during the run"), std::string::npos) << out;
  EXPECT_NE(out.find(name + " still runs (the engine kept it): attaching to it again"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("finished"), std::string::npos) << out;
  EXPECT_EQ(util::read_file(m_project + "/restart.marker").value_or(""), "finished\n");
  EXPECT_EQ(containers(), "") << "no container left, none duplicated";
  const auto run = last_run();
  EXPECT_EQ(run["name"], name);
  EXPECT_EQ(run["status"], "exited") << run;
  EXPECT_EQ(run["exit_code"], 3) << run;
}

TEST_F(RunEngineRestart, without_live_restore_the_run_ends_with_a_clear_error_and_no_container) {
  ASSERT_TRUE(restart_engine(false)) << util::read_file(s_dir + "/dockerd.log").value_or("");
  const Background b = start_run("echo started; while :; do sleep 0.25; done");
  ASSERT_TRUE(wait_for([&] { return b.output().find("started") != std::string::npos; },
                       std::chrono::seconds(120)))
      << b.output();
  const std::string name = containers();
  ASSERT_FALSE(name.empty());
  ASSERT_TRUE(restart_engine(false));
  const int code = b.wait(std::chrono::seconds(90));
  const std::string out = b.output();
  EXPECT_EQ(code, 125) << out;
  EXPECT_NE(out.find("furnace: error: the engine restarted during the run (the connection to it "
                     "was lost) and ended " +
                     name),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("'sudo furnace setup --live-restore'"), std::string::npos) << out;
  EXPECT_EQ(containers(), "") << "the stopped container is removed once the engine is back";
  const auto run = last_run();
  EXPECT_EQ(run["name"], name);
  EXPECT_NE(run["status"], "running") << run;
}

} // namespace
} // namespace furnace::testing
