// furnace on Podman's Docker-compatible socket, for real: Debian's podman runs `podman system
// service` (rootful) on a socket under the suite's temp directory, with a store of its own there
// (never the shared Docker engine's), the test engine's debian:bookworm loaded into it. furnace
// then runs with DOCKER_HOST at that socket and FURNACE_DOCKER=podman, as a non-root user:
// doctor says Podman, build, run (the caller's uid, exit codes, SIGTERM), run -d / ps / stop, and
// the history. The test machines cannot raise rlimits: containers.conf has default_ulimits = []
// and the service uses cgroupfs (docs/podman.md).

#include "support/background.hpp"
#include "support/test_env.hpp"

#include <furnace/util/process.hpp>
#include <furnace/util/strings.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace furnace::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_user = "furnace-it";
constexpr unsigned k_uid = 4242;

// A process of the suite in the background (own process group), its output in a file; with
// `die_with_us` it gets SIGKILL when this test process dies, whatever the way.
pid_t spawn(const std::vector<std::string>& argv,
            const std::vector<std::string>& envs,
            const std::string& out_file,
            bool die_with_us) {
  SpawnOptions o;
  o.own_group = true;
  o.die_with_parent = die_with_us;
  return spawn_background(argv, envs, out_file, o).pid;
}

// Exit code of `pid` (128+n for a signal), -1 after `limit` (then it is killed).
int wait_exit(pid_t pid, std::chrono::seconds limit) {
  int status = 0;
  const bool done = wait_for([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, limit);
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class PodmanCli : public ::testing::Test {
protected:
  static bool podman_installed() { return sh("command -v podman").status.ok(); }

  static void SetUpTestSuite() {
    const auto t0 = std::chrono::steady_clock::now();
    if (!podman_installed() || !engine_available()) {
      return; // SetUp says why
    }
    if (::getpwnam(k_user) == nullptr) {
      sh("useradd --uid " + std::to_string(k_uid) + " --create-home " + k_user);
    }
    s_dir = new TempDir(); // NOLINT(cppcoreguidelines-owning-memory)
    const std::string d = s_dir->path();
    ::chmod(d.c_str(), 0755); // the test user reaches the socket and the project
    s_dir->write("containers.conf",
                 "[containers]\n"
                 "# the test machines cannot raise rlimits\n"
                 "default_ulimits = []\n"
                 "[engine]\n"
                 "cgroup_manager = \"cgroupfs\"\n");
    s_dir->write("storage.conf",
                 "[storage]\n"
                 "driver = \"overlay\"\n"
                 "graphroot = \"" +
                     d +
                     "/storage\"\n"
                     "runroot = \"" +
                     d + "/run\"\n");
    s_socket = d + "/sock/podman.sock";
    fs::create_directories(d + "/sock");
    s_podman_env =
        "CONTAINERS_CONF=" + d + "/containers.conf CONTAINERS_STORAGE_CONF=" + d + "/storage.conf";
    // The test engine's stand-in, into Podman's own store under the name FROM asks for.
    const auto load =
        sh("set -e; docker save debian:bookworm | env " + s_podman_env + " podman load -q; env " +
               s_podman_env + " podman tag debian:bookworm docker.io/library/debian:bookworm",
           180);
    if (!load.status.ok()) {
      s_setup_error = "podman load: " + load.out + load.err;
      return;
    }
    std::vector<std::string> envs;
    for (const auto& [k, v] : process_env()) {
      envs.push_back(k + "=" + v);
    }
    envs.push_back("CONTAINERS_CONF=" + d + "/containers.conf");
    envs.push_back("CONTAINERS_STORAGE_CONF=" + d + "/storage.conf");
    s_service = spawn({"podman",
                       "--cgroup-manager=cgroupfs",
                       "system",
                       "service",
                       "--time=0",
                       "unix://" + s_socket},
                      envs,
                      d + "/service.log",
                      true);
    const bool up = wait_for(
        [&] {
          return sh("curl -sf --max-time 2 --unix-socket " + s_socket + " http://podman/_ping")
                     .out == "OK";
        },
        std::chrono::seconds(20));
    if (!up) {
      s_setup_error =
          "podman system service did not answer in 20 s: " + read_text(d + "/service.log");
      return;
    }
    sh("chown " + std::to_string(k_uid) + " " + s_socket);
    s_project = d + "/project";
    s_name = "furnace-it-podman-" + std::to_string(::getpid());
    s_dir->write("project/furnace.yaml", "name: " + s_name + "\nbase: debian:bookworm\n");
    s_dir->write("home/.keep", "");
    sh("chown -R " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + s_project + " " +
       d + "/home");
    s_ready = true;
    std::cerr << "podman suite set up in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - t0)
                     .count()
              << " ms\n";
  }

  static void TearDownTestSuite() {
    if (s_dir == nullptr) {
      return;
    }
    const std::string d = s_dir->path();
    if (s_service > 0) {
      sh("env " + s_podman_env + " podman rm -af -t 0 >/dev/null 2>&1", 60);
      ::kill(-s_service, SIGTERM);
      if (wait_exit(s_service, std::chrono::seconds(10)) < 0) {
        ::kill(-s_service, SIGKILL);
      }
      s_service = -1;
    }
    // Podman's overlay store leaves mounts under the directory; without them it can go.
    sh("awk '{print $2}' /proc/self/mounts | grep '^" + d +
       "/' | sort -r | xargs -r -n1 umount -l");
    delete s_dir; // NOLINT(cppcoreguidelines-owning-memory)
    s_dir = nullptr;
  }

  void SetUp() override {
    FURNACE_REQUIRE(podman_installed(), "podman is not installed (scripts/deps.sh installs it)");
    FURNACE_REQUIRE_ENGINE(); // the stand-in debian:bookworm comes from the test engine
    ASSERT_TRUE(s_ready) << s_setup_error;
  }

  // furnace's environment: the suite's home, Podman's socket and CLI, no GPU. CONTAINER_HOST is
  // unset: furnace points the podman CLI at DOCKER_HOST itself.
  static std::map<std::string, std::string> env() {
    return {{"HOME", s_dir->path() + "/home"},
            {"-XDG_DATA_HOME", ""},
            {"-XDG_CACHE_HOME", ""},
            {"-XDG_CONFIG_HOME", ""},
            {"-XDG_RUNTIME_DIR", ""},
            {"-CONTAINER_HOST", ""},
            {"DOCKER_HOST", "unix://" + s_socket},
            {"FURNACE_DOCKER", "podman"},
            {"CONTAINERS_CONF", s_dir->path() + "/containers.conf"},
            {"FURNACE_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"},
            {"-http_proxy", ""},
            {"-https_proxy", ""},
            {"-HTTP_PROXY", ""},
            {"-HTTPS_PROXY", ""}};
  }
  static std::vector<std::string> as_user() {
    return {"setpriv",
            "--reuid=" + std::to_string(k_uid),
            "--regid=" + std::to_string(k_uid),
            "--init-groups"};
  }
  static ::furnace::testing::Run furnace(const std::vector<std::string>& args) {
    return run_furnace(args, env(), as_user());
  }
  static nlohmann::json last_run() {
    const auto h = furnace({"history", "-n", "1", "--json"});
    const auto j = nlohmann::json::parse(h.out);
    return j.at("runs").at(0);
  }
  // The service's containers of the project (any state), one name per line.
  static std::string containers() {
    return sh("env " + s_podman_env + " CONTAINER_HOST=unix://" + s_socket +
              " podman ps -a --filter label=org.furnace.project=" + s_project +
              " --format '{{.Names}}'")
        .out;
  }

  static TempDir* s_dir;
  static std::string s_socket;
  static std::string s_podman_env;
  static std::string s_project;
  static std::string s_name;
  static std::string s_setup_error;
  static pid_t s_service;
  static bool s_ready;
};

TempDir* PodmanCli::s_dir = nullptr;
std::string PodmanCli::s_socket;
std::string PodmanCli::s_podman_env;
std::string PodmanCli::s_project;
std::string PodmanCli::s_name;
std::string PodmanCli::s_setup_error;
pid_t PodmanCli::s_service = -1;
bool PodmanCli::s_ready = false;

TEST_F(PodmanCli, doctor_finds_podman_at_docker_host) {
  const auto r = furnace({"doctor", "--json"});
  const auto j = nlohmann::json::parse(r.out);
  const auto& e = j.at("engine");
  EXPECT_EQ(e.at("podman"), true) << e;
  EXPECT_EQ(e.at("endpoint"), "unix://" + s_socket);
  EXPECT_EQ(e.at("source"), "DOCKER_HOST");
  EXPECT_EQ(e.at("docker_root_dir"), s_dir->path() + "/storage") << "Podman's own store";
  bool reachable = false;
  for (const auto& c : j.at("checks")) {
    if (c.at("id") == "engine.reachable") {
      reachable = true;
      EXPECT_EQ(c.at("status"), "ok") << c;
      EXPECT_NE(c.at("summary").get<std::string>().find("Podman"), std::string::npos) << c;
    }
  }
  EXPECT_TRUE(reachable) << r.out;
}

// Build, then runs in the same order a user would: the image is built once.
TEST_F(PodmanCli, build_run_exit_code_and_history) {
  // No Python in debian:bookworm: nothing for verify to check.
  const auto b = furnace({"build", "--no-verify", s_project});
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
  const std::string tag =
      std::string(util::trim(b.out.substr(b.out.rfind('\n', b.out.size() - 2) + 1)));
  EXPECT_EQ(tag.rfind("furnace/" + s_name + ":", 0), 0U) << b.out;
  EXPECT_TRUE(
      sh("curl -sf --unix-socket " + s_socket + " http://podman/v1.41/images/" + tag + "/json")
          .status.ok())
      << tag << " is not in Podman's store";

  // The caller's uid and name inside, files on the mount theirs, the exit code through.
  const auto r = furnace(
      {"run", "-C", s_project, "--", "sh", "-c", "id -u; whoami; touch made-inside; exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find(std::to_string(k_uid) + "\n" + k_user + "\n"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat((s_project + "/made-inside").c_str(), &st), 0) << r.err;
  EXPECT_EQ(st.st_uid, k_uid);
  EXPECT_EQ(containers(), "") << "removed after the run";

  const auto run = last_run();
  EXPECT_EQ(run["status"], "exited");
  EXPECT_EQ(run["exit_code"], 3);
  EXPECT_EQ(run["user"], k_user);
  EXPECT_EQ(run["command"],
            (nlohmann::json{"sh", "-c", "id -u; whoami; touch made-inside; exit 3"}));
  EXPECT_EQ(read_text(run["log_path"].get<std::string>()).find(k_user) != std::string::npos, true);
}

TEST_F(PodmanCli, sigterm_reaches_the_command_and_leaves_no_container) {
  std::vector<std::string> argv = as_user();
  argv.insert(
      argv.end(),
      {FURNACE_BINARY,
       "run",
       "-C",
       s_project,
       "--",
       "sh",
       "-c",
       "trap 'echo got-term; trap - TERM; kill -TERM $$' TERM; echo started; sleep 120 & wait"});
  std::vector<std::string> envs;
  for (const auto& [k, v] : changed_env(env())) {
    envs.push_back(k + "=" + v);
  }
  const std::string out = s_dir->path() + "/sigterm.out";
  const pid_t pid = spawn(argv, envs, out, true);
  ASSERT_TRUE(wait_for([&] { return read_text(out).find("started") != std::string::npos; },
                       std::chrono::seconds(30)))
      << read_text(out);
  ::kill(pid, SIGTERM);
  const int code = wait_exit(pid, std::chrono::seconds(30));
  EXPECT_EQ(code, 128 + SIGTERM) << read_text(out);
  EXPECT_NE(read_text(out).find("got-term"), std::string::npos) << "the command saw SIGTERM\n"
                                                                << read_text(out);
  EXPECT_TRUE(wait_for([] { return containers().empty(); }, std::chrono::seconds(10)))
      << containers();
  const auto run = last_run();
  EXPECT_EQ(run["status"], "killed");
  EXPECT_EQ(run["signal"], "SIGTERM");
}

TEST_F(PodmanCli, a_detached_run_is_in_ps_and_logs_and_stop_ends_it) {
  const auto d = furnace(
      {"run", "-d", "-C", s_project, "--", "sh", "-c", "echo hello-from-podman; exec sleep 120"});
  ASSERT_EQ(d.exit_code, 0) << d.out << d.err;
  const std::string name = d.out.substr(0, d.out.find(' ')); // "NAME ID"
  ASSERT_FALSE(name.empty()) << d.err;
  ASSERT_TRUE(wait_for([&] { return containers().find(name) != std::string::npos; },
                       std::chrono::seconds(20)))
      << containers();
  const auto ps = furnace({"ps", "--json"});
  ASSERT_EQ(ps.exit_code, 0) << ps.err;
  bool shown = false;
  const auto listed = nlohmann::json::parse(ps.out);
  for (const auto& c : listed.at("runs")) {
    if (c.at("name") == name) {
      shown = true;
      EXPECT_EQ(c.at("state"), "running") << c;
      EXPECT_EQ(c.at("user"), k_user);
      EXPECT_EQ(c.at("project"), fs::canonical(s_project).string());
    }
  }
  EXPECT_TRUE(shown) << name << " " << ps.out;
  EXPECT_TRUE(wait_for(
      [&] {
        return furnace({"logs", name}).out.find("hello-from-podman") != std::string::npos;
      },
      std::chrono::seconds(10)))
      << furnace({"logs", name}).err;
  const auto stop = furnace({"stop", "--time", "1", name});
  EXPECT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  EXPECT_TRUE(wait_for([] { return containers().empty(); }, std::chrono::seconds(20)))
      << containers();
  const auto h = furnace({"history", "--json"});
  EXPECT_NE(h.out.find("\"" + name + "\""), std::string::npos) << h.out;
}

} // namespace
} // namespace furnace::testing
