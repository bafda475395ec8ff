// furnace setup against a real dockerd: a throwaway second engine per test (own data root, exec
// root, pidfile, socket and daemon.json under a --root temp dir), never the shared test engine.
// Reload keeps containers; a change dockerd refuses is rolled back; repeated runs change nothing;
// the docker-group step keeps a user's other groups.

#include "support/test_env.hpp"

#include <furnace/engine/docker_api.hpp>
#include <furnace/util/atomic_file.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

namespace furnace {
namespace {

namespace fs = std::filesystem;
using testing::run_furnace;

int read_pid(const std::string& pidfile) {
  return std::atoi(util::read_file(pidfile).value_or("0").c_str());
}

bool alive(int pid) {
  auto stat = util::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) {
    return false;
  }
  const auto paren = stat->rfind(')');
  return paren != std::string::npos && (*stat)[paren + 2] != 'Z';
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

class SetupEngine : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "a throwaway dockerd needs root";
    }
    if (!util::find_in_path("dockerd", "/usr/sbin:/usr/bin:/usr/local/bin")) {
      GTEST_SKIP() << "no dockerd binary";
    }
    std::string tmpl = "/tmp/fsdXXXXXX"; // short: unix socket paths are limited to 107 bytes
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    m_dir = tmpl;
    m_root = m_dir + "/root";
    fs::create_directories(m_root + "/etc/docker");
    ASSERT_TRUE(util::write_file_atomic(daemon_json(), "{\n  \"debug\": false\n}\n"));
    m_socket = m_dir + "/d.sock";
    // Its own bridge: with `--bridge none` dockerd deletes the host's docker0 at start, which
    // takes the networking away from the shared test engine.
    m_bridge = "fsd" + std::to_string(::getpid() % 100000);
    const std::string subnet = "10.213." + std::to_string(::getpid() % 250) + ".1/24";
    util::SystemRunner runner;
    ASSERT_TRUE(run_ok(runner, {"ip", "link", "add", "name", m_bridge, "type", "bridge"}));
    ASSERT_TRUE(run_ok(runner, {"ip", "addr", "add", subnet, "dev", m_bridge}));
    ASSERT_TRUE(run_ok(runner, {"ip", "link", "set", m_bridge, "up"}));
    start_engine();
  }

  static bool run_ok(util::ProcessRunner& runner, const std::vector<std::string>& argv) {
    auto r = runner.run(argv, {});
    return r && r->status.ok();
  }

  void TearDown() override {
    if (m_dir.empty()) {
      return;
    }
    std::shared_ptr<void> drop_bridge(nullptr, [this](void*) {
      util::SystemRunner runner;
      (void)run_ok(runner, {"ip", "link", "del", m_bridge});
    });
    const int pid = read_pid(m_dir + "/dockerd.pid");
    if (pid > 0 && alive(pid)) {
      ::kill(pid, SIGTERM);
      for (int i = 0; i < 200 && alive(pid); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (alive(pid)) {
        ::kill(pid, SIGKILL);
      }
    }
    if (m_child > 0) {
      int ws = 0;
      ::waitpid(m_child, &ws, WNOHANG);
    }
    // Unmount anything the engine left (overlay mounts, the exec root's netns files).
    util::SystemRunner runner;
    util::ProcessOptions o;
    o.timeout = std::chrono::milliseconds(20000);
    (void)runner.run({"sh",
                      "-c",
                      "grep -o ' " + m_dir +
                          "[^ ]*' /proc/self/mountinfo | sort -r | "
                          "xargs -r -n1 umount -l"},
                     o);
    if (!HasFailure()) {
      std::error_code ec;
      fs::remove_all(m_dir, ec);
    } else {
      std::cerr << "kept " << m_dir << " (dockerd log: " << m_dir << "/dockerd.log)\n";
    }
  }

  void start_engine() {
    const std::vector<std::string> argv{"dockerd",
                                        "--config-file",
                                        daemon_json(),
                                        "--data-root",
                                        m_dir + "/data",
                                        "--exec-root",
                                        m_dir + "/x",
                                        "--pidfile",
                                        m_dir + "/dockerd.pid",
                                        "-H",
                                        "unix://" + m_socket,
                                        "--bridge",
                                        m_bridge,
                                        "--iptables=false",
                                        "--ip-masq=false"};
    m_child = ::fork();
    ASSERT_GE(m_child, 0);
    if (m_child == 0) {
      ::setsid();
      const int log = ::open((m_dir + "/dockerd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(log, 1);
      ::dup2(log, 2);
      std::vector<std::string> args = argv;
      std::vector<char*> c;
      for (auto& a : args) {
        c.push_back(a.data());
      }
      c.push_back(nullptr);
      ::execvp("dockerd", c.data());
      ::_exit(127);
    }
    ASSERT_TRUE(wait_up(std::chrono::seconds(60)))
        << util::read_file(m_dir + "/dockerd.log").value_or("");
  }

  bool wait_up(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (api().ping()) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  engine::DockerApi api() {
    return engine::DockerApi(engine::parse_host_uri("unix://" + m_socket, "test").value());
  }

  std::string daemon_json() const { return m_root + "/etc/docker/daemon.json"; }
  std::string dockerd_log() const { return util::read_file(m_dir + "/dockerd.log").value_or(""); }

  std::map<std::string, std::string> env() const {
    return {{"DOCKER_HOST", "unix://" + m_socket},
            {"HOME", m_dir},
            {"PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}};
  }

  testing::Run setup(std::vector<std::string> args,
                     std::map<std::string, std::string> extra = {}) const {
    args.insert(args.begin(), {"setup", "--root", m_root, "--yes"});
    auto e = env();
    e.insert(extra.begin(), extra.end());
    return run_furnace(args, e);
  }

  testing::Run docker(std::vector<std::string> args) const {
    util::SystemRunner runner;
    util::ProcessOptions o;
    o.timeout = std::chrono::milliseconds(180000);
    args.insert(args.begin(), {"docker", "-H", "unix://" + m_socket});
    auto r = runner.run(args, o);
    testing::Run out;
    if (r) {
      out.exit_code = r->status.code;
      out.out = r->out;
      out.err = r->err;
    }
    return out;
  }

  std::string m_dir;
  std::string m_root;
  std::string m_socket;
  std::string m_bridge;
  pid_t m_child = -1;
};

TEST_F(SetupEngine, a_mirror_is_applied_by_reload_and_a_running_container_survives) {
  auto r = setup({"--mirror", "http://127.0.0.1:5757"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("reloaded the engine (SIGHUP to dockerd (pid "), std::string::npos) << r.out;
  auto info = api().info();
  ASSERT_TRUE(info);
  ASSERT_EQ(info->registry_mirrors, std::vector<std::string>{"http://127.0.0.1:5757/"});

  // A container that must outlive the next reload; its image comes through the new mirror.
  auto pull = docker({"pull", "debian:bookworm"});
  if (pull.exit_code != 0) {
    FAIL() << "the mirror at 127.0.0.1:5757 has no debian:bookworm: " << pull.err;
  }
  auto run = docker({"run", "-d", "--network", "none", "debian:bookworm", "sleep", "600"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string id = std::string(run.out.substr(0, 64));
  auto started = docker({"inspect", "-f", "{{.State.StartedAt}}", id});
  ASSERT_EQ(started.exit_code, 0);

  auto again = setup({"--live-restore", "--insecure-registry", "127.0.0.1:5757"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("then: reload the engine"), std::string::npos) << again.out;
  auto after = docker({"inspect", "-f", "{{.State.StartedAt}} {{.State.Running}}", id});
  EXPECT_EQ(after.out, started.out.substr(0, started.out.size() - 1) + " true\n");
  info = api().info();
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->live_restore);
  (void)docker({"rm", "-f", id});
}

TEST_F(SetupEngine, a_change_dockerd_refuses_is_rolled_back_and_the_engine_is_up) {
  const std::string before = util::read_file(daemon_json()).value();
  const int old_pid = read_pid(m_dir + "/dockerd.pid");
  // log-opts needs a restart; the injected key makes dockerd refuse the file.
  auto r = setup({"--log-rotation", "--force"}, {{"FURNACE_TEST_INJECT_KEY", "furnace-bogus-key"}});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("then: restart the engine (stop dockerd (pid"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("furnace: error: the engine refused the new configuration: "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("furnace-bogus-key"), std::string::npos) << r.err; // dockerd's own words
  EXPECT_NE(r.err.find("was restored; the engine is up with the previous configuration"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(util::read_file(daemon_json()).value(), before);
  EXPECT_TRUE(wait_up(std::chrono::seconds(10)));
  const int new_pid = read_pid(m_dir + "/dockerd.pid");
  EXPECT_NE(new_pid, old_pid);
  EXPECT_TRUE(alive(new_pid));
}

TEST_F(SetupEngine, a_reload_dockerd_refuses_is_rolled_back_without_a_restart) {
  const std::string before = util::read_file(daemon_json()).value();
  const int pid = read_pid(m_dir + "/dockerd.pid");
  auto r = setup({"--mirror", "http://127.0.0.1:5757"},
                 {{"FURNACE_TEST_INJECT_KEY", "furnace-bogus-key"}});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("furnace: error: the engine refused the new configuration: "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("furnace-bogus-key"), std::string::npos) << r.err; // dockerd's own words
  EXPECT_EQ(util::read_file(daemon_json()).value(), before);
  EXPECT_EQ(read_pid(m_dir + "/dockerd.pid"), pid); // never restarted
  auto info = api().info();
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->registry_mirrors.empty());
}

TEST_F(SetupEngine, a_restart_only_change_applies_after_a_restart) {
  auto r = setup({"--log-rotation"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("restarted the engine"), std::string::npos) << r.out;
  EXPECT_TRUE(api().ping());
}

TEST_F(SetupEngine, a_restart_with_running_containers_needs_force) {
  auto run = docker({"run", "-d", "--network", "none", "debian:bookworm", "sleep", "600"});
  if (run.exit_code != 0) {
    // No image yet in this engine: take it through the mirror flag of the shared engine's registry.
    ASSERT_EQ(setup({"--mirror", "http://127.0.0.1:5757"}).exit_code, 0);
    if (docker({"pull", "debian:bookworm"}).exit_code != 0) {
      FAIL() << "no debian:bookworm in the test registry";
    }
    run = docker({"run", "-d", "--network", "none", "debian:bookworm", "sleep", "600"});
  }
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string before = util::read_file(daemon_json()).value();
  auto r = setup({"--log-rotation"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("a restart stops these 1 running container(s):"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(run.out.substr(0, 12)), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("run again with --force"), std::string::npos) << r.err;
  EXPECT_EQ(util::read_file(daemon_json()).value(), before);
  (void)docker({"rm", "-f", run.out.substr(0, 64)});
}

TEST_F(SetupEngine, a_hundred_runs_are_byte_identical_and_reload_once) {
  auto first = setup({"--mirror", "http://127.0.0.1:5757", "--live-restore"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string content = util::read_file(daemon_json()).value();
  const std::size_t reloads = count(dockerd_log(), "reload");
  for (int i = 0; i < 100; ++i) {
    auto r = setup({"--mirror", "http://127.0.0.1:5757", "--live-restore"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_NE(r.out.find("nothing to change"), std::string::npos) << r.out;
  }
  EXPECT_EQ(util::read_file(daemon_json()).value(), content);
  EXPECT_EQ(count(dockerd_log(), "reload"), reloads);
  std::size_t backups = 0;
  for (const auto& e : fs::directory_iterator(m_root + "/etc/docker")) {
    backups += e.path().filename().string().find(".furnace-backup-") != std::string::npos ? 1U : 0U;
  }
  EXPECT_EQ(backups, 1U);
}

TEST_F(SetupEngine, a_flag_of_the_running_dockerd_conflicts) {
  // The throwaway runs with -H and --bridge: a file "hosts" would stop it from starting.
  ASSERT_TRUE(util::write_file_atomic(daemon_json(), "{\"hosts\": [\"unix:///tmp/x.sock\"]}\n"));
  const std::string before = util::read_file(daemon_json()).value();
  auto r = setup({"--live-restore"});
  // A conflict already in the file: a reload would fail, so nothing is changed.
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(util::read_file(daemon_json()).value(), before);
  EXPECT_NE(r.err.find("\"hosts\" is set both in"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("by the flag '-H unix://" + m_socket + "' of the running dockerd (pid"),
            std::string::npos)
      << r.err;
}

class SetupGroup : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root to create a test user";
    }
    util::SystemRunner runner;
    util::ProcessOptions o;
    o.timeout = std::chrono::milliseconds(20000);
    m_had_docker_group = ::getgrnam("docker") != nullptr;
    for (const auto& cmd : std::vector<std::vector<std::string>>{
             {"groupadd", "fsgrpa"},
             {"groupadd", "fsgrpb"},
             {"useradd", "-M", "-G", "fsgrpa,fsgrpb", "fsuser"}}) {
      auto r = runner.run(cmd, o);
      ASSERT_TRUE(r && r->status.ok()) << util::shell_join(cmd) << (r ? r->err : r.error().message);
    }
  }
  void TearDown() override {
    util::SystemRunner runner;
    util::ProcessOptions o;
    o.timeout = std::chrono::milliseconds(20000);
    (void)runner.run({"userdel", "fsuser"}, o);
    (void)runner.run({"groupdel", "fsgrpa"}, o);
    (void)runner.run({"groupdel", "fsgrpb"}, o);
    if (!m_had_docker_group) {
      (void)runner.run({"groupdel", "docker"}, o);
    }
  }
  bool m_had_docker_group = false;
};

TEST_F(SetupGroup, adding_to_the_docker_group_keeps_every_other_group) {
  auto r = run_furnace({"setup", "--add-user", "fsuser", "--yes"},
                       {{"PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("the docker group is root-equivalent"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("newgrp docker"), std::string::npos) << r.err;
  util::SystemRunner runner;
  auto id = runner.run({"id", "-nG", "fsuser"}, {});
  ASSERT_TRUE(id);
  for (const char* g : {"fsgrpa", "fsgrpb", "docker"}) {
    EXPECT_NE(id->out.find(g), std::string::npos) << g << ": " << id->out;
  }
  auto again = run_furnace({"setup", "--add-user", "fsuser", "--yes"},
                           {{"PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("fsuser is already in the docker group"), std::string::npos)
      << again.out;
}

TEST_F(SetupGroup, without_yes_and_a_terminal_nobody_is_added) {
  auto r = run_furnace({"setup", "--add-user", "fsuser"},
                       {{"PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("the docker group is root-equivalent"), std::string::npos) << r.err;
  util::SystemRunner runner;
  auto id = runner.run({"id", "-nG", "fsuser"}, {});
  ASSERT_TRUE(id);
  EXPECT_EQ(id->out.find("docker"), std::string::npos) << id->out;
}

TEST_F(SetupGroup, dry_run_prints_an_append_only_command) {
  auto r = run_furnace({"setup", "--add-user", "fsuser", "--dry-run"},
                       {{"PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("gpasswd -a fsuser docker"), std::string::npos) << r.out;
  util::SystemRunner runner;
  auto id = runner.run({"id", "-nG", "fsuser"}, {});
  ASSERT_TRUE(id);
  EXPECT_EQ(id->out.find("docker"), std::string::npos) << id->out;
}

} // namespace
} // namespace furnace

namespace furnace {
namespace {

TEST(SetupDiskFull, enospc_is_reported_and_the_original_is_intact) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to mount a tmpfs";
  }
  testing::TempDir dir;
  const std::string etc = dir.path() + "/root/etc/docker";
  fs::create_directories(etc);
  util::SystemRunner runner;
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(20000);
  auto mounted = runner.run({"mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", etc}, o);
  if (!mounted || !mounted->status.ok()) {
    GTEST_SKIP() << "cannot mount a tmpfs here";
  }
  const std::string original = "{\n  \"debug\": true\n}\n";
  ASSERT_TRUE(util::write_file_atomic(etc + "/daemon.json", original));
  // Fill the file system to the last byte.
  (void)runner.run({"dd", "if=/dev/zero", "of=" + etc + "/fill", "bs=1k"}, o);
  auto r = run_furnace({"setup", "--root", dir.path() + "/root", "--yes", "--live-restore"},
                       {{"DOCKER_HOST", "unix:///nonexistent/d.sock"}});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_EQ(util::read_file(etc + "/daemon.json").value_or(""), original);
  std::size_t others = 0;
  for (const auto& e : fs::directory_iterator(etc)) {
    others += e.path().filename() != "daemon.json" && e.path().filename() != "fill" ? 1U : 0U;
  }
  EXPECT_EQ(others, 0U); // no temp file, no partial backup
  (void)runner.run({"umount", etc}, o);
}

} // namespace
} // namespace furnace
