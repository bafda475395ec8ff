// The pure parts of `furnace run`: the docker command line (security rules, values out of argv,
// GPU and port syntax), ports, sizes, -e, the user layer, finding the project root; and the
// session loop on real child processes (exit codes, the tee into the log, signal relay).

#include "support/test_env.hpp"

#include <furnace/project/load.hpp>
#include <furnace/run/container_spec.hpp>
#include <furnace/run/session.hpp>
#include <furnace/run/support.hpp>
#include <furnace/run/user_layer.hpp>
#include <furnace/util/atomic_file.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <filesystem>
#include <thread>

namespace furnace::run {
namespace {

ContainerSpec full_spec() {
  ContainerSpec s;
  s.docker = "/usr/bin/docker";
  s.image = "furnace-user/mnist:0123456789ab";
  s.name = "mnist-a1b2c3";
  s.labels = {{"org.furnace.run", "mnist-a1b2c3"}};
  s.user = HostUser{1000, 1000, "alice", "/home/alice"};
  s.mounts = {Mount{"/home/alice/paper, v2", "/home/alice/paper, v2", false},
              Mount{"/data/imagenet", "/data/imagenet", true}};
  s.workdir = "/home/alice/paper, v2/src";
  s.gpus = GpuMode::devices;
  s.gpu_indices = {0, 2};
  s.shm_size = "6g";
  s.env = {{"HOME", "/home/alice"}, {"WANDB_API_KEY", "secret-value"}, {"PYTHONUNBUFFERED", "1"}};
  s.memory = "8g";
  s.cpus = "2.5";
  s.pids_limit = "4096";
  s.ports = {"127.0.0.1:8888:8888"};
  s.command = {"python", "train.py", "--lr", "3e-4"};
  return s;
}

TEST(RunCommand, docker_run_command_is_exact) {
  const EngineCommand c = docker_run_command(full_spec());
  const std::vector<std::string> want{
      "/usr/bin/docker",
      "run",
      "--init",
      "--name",
      "mnist-a1b2c3",
      "--label",
      "org.furnace.run=mnist-a1b2c3",
      "--security-opt",
      "no-new-privileges",
      "--user",
      "1000:1000",
      "--shm-size",
      "6g",
      "--ulimit",
      "memlock=-1",
      "--ulimit",
      "stack=67108864",
      "--memory",
      "8g",
      "--memory-swap",
      "8g",
      "--cpus",
      "2.5",
      "--pids-limit",
      "4096",
      "--gpus",
      "\"device=0,2\"",
      "--mount",
      "type=bind,\"source=/home/alice/paper, v2\",\"target=/home/alice/paper, v2\"",
      "--mount",
      "type=bind,source=/data/imagenet,target=/data/imagenet,readonly",
      "--workdir",
      "/home/alice/paper, v2/src",
      "--env",
      "PYTHONUNBUFFERED",
      "--env",
      "WANDB_API_KEY",
      "--env-file",
      "/dev/fd/3",
      "--publish",
      "127.0.0.1:8888:8888",
      "furnace-user/mnist:0123456789ab",
      "python",
      "train.py",
      "--lr",
      "3e-4"};
  EXPECT_EQ(c.argv, want);
  // Values travel in the CLI's environment; HOME (which the CLI reads itself) in the env file.
  EXPECT_EQ(c.env, (std::map<std::string, std::string>{{"PYTHONUNBUFFERED", "1"},
                                                       {"WANDB_API_KEY", "secret-value"}}));
  EXPECT_EQ(c.env_file, "HOME=/home/alice\n");
}

TEST(RunCommand, never_privileged_and_no_value_in_argv) {
  ContainerSpec s = full_spec();
  s.gpus = GpuMode::all;
  s.ipc_host = true;
  s.memlock_unlimited = false;
  s.interactive = s.tty = true;
  s.network = "host";
  s.env["LD_PRELOAD"] = "/x.so";
  const EngineCommand c = docker_run_command(s);
  for (const std::string& a : c.argv) {
    EXPECT_EQ(a.find("privileged"), std::string::npos);
    EXPECT_EQ(a.find("secret-value"), std::string::npos);
    EXPECT_EQ(a.find("--cap-add"), std::string::npos);
  }
  const auto has = [&](const std::vector<std::string>& seq) {
    return std::search(c.argv.begin(), c.argv.end(), seq.begin(), seq.end()) != c.argv.end();
  };
  EXPECT_TRUE(has({"--gpus", "all"}));
  EXPECT_TRUE(has({"--ipc", "host"}));
  EXPECT_FALSE(has({"--shm-size", "6g"})) << "shm is the host's with --ipc host";
  EXPECT_FALSE(has({"--ulimit", "memlock=-1"}));
  EXPECT_TRUE(has({"--network", "host"}));
  EXPECT_TRUE(has({"-i", "-t"}));
  EXPECT_TRUE(has({"--env-file", "/dev/fd/3"}));
  EXPECT_EQ(c.env_file, "HOME=/home/alice\nLD_PRELOAD=/x.so\n") << "the CLI must not load it";
  EXPECT_EQ(c.env.count("LD_PRELOAD"), 0U);
}

// Issue 12 item 2: `-e DOCKER_PASSWORD=…` (and every variable the CLI reads itself) never in argv.
TEST(RunCommand, values_the_cli_reads_itself_go_into_the_env_file_not_argv) {
  ContainerSpec s = full_spec();
  s.env = {{"DOCKER_PASSWORD", "pw-DOCKER"},
           {"LD_LIBRARY_PATH", "pw-LD"},
           {"HOME", "pw-HOME"},
           {"PATH", "pw-PATH"},
           {"TMPDIR", "pw-TMPDIR"},
           {"TOKEN", "pw-TOKEN"}};
  const EngineCommand c = docker_run_command(s);
  for (const std::string& a : c.argv) {
    EXPECT_EQ(a.find("pw-"), std::string::npos) << a;
  }
  EXPECT_EQ(c.env_file,
            "DOCKER_PASSWORD=pw-DOCKER\nHOME=pw-HOME\nLD_LIBRARY_PATH=pw-LD\n"
            "PATH=pw-PATH\nTMPDIR=pw-TMPDIR\n");
  EXPECT_EQ(c.env, (std::map<std::string, std::string>{{"TOKEN", "pw-TOKEN"}}));
  // None of them: no env file at all.
  s.env = {{"TOKEN", "x"}};
  const EngineCommand plain = docker_run_command(s);
  EXPECT_EQ(plain.env_file, "");
  EXPECT_EQ(std::find(plain.argv.begin(), plain.argv.end(), "--env-file"), plain.argv.end());
}

TEST(RunCommand, an_env_file_value_must_be_one_valid_line_and_errors_never_show_it) {
  EXPECT_TRUE(check_env_file_value("HOME", "/home/alice"));
  EXPECT_TRUE(check_env_file_value("DOCKER_X", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5"));
  EXPECT_TRUE(check_env_file_value("DOCKER_X", ""));
  for (const std::string& bad : {std::string("se\ncret"),
                                 std::string("se\rcret"),
                                 std::string("se\xff"
                                             "cret"),
                                 std::string("se\xc0\xaf"
                                             "cret"),
                                 std::string("se\xed\xa0\x80"
                                             "cret"),
                                 std::string("secret\xe2\x82"),
                                 std::string(70000, 's')}) {
    const auto r = check_env_file_value("DOCKER_PASSWORD", bad);
    ASSERT_FALSE(r) << bad.substr(0, 20);
    EXPECT_EQ(r.error().message.rfind("the value of DOCKER_PASSWORD ", 0), 0U) << r.error().message;
    EXPECT_EQ(r.error().message.find("cret"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("sss"), std::string::npos);
  }
  EXPECT_EQ(check_env_file_value("PATH", "a\nb").error().message,
            "the value of PATH has a line break: the docker CLI reads PATH itself, so furnace "
            "passes it in an env file, one line per variable");
}

TEST(RunCommand, control_characters_are_found_and_printed_escaped) {
  EXPECT_FALSE(has_control_char("/home/alice/a b,c:d=e"));
  EXPECT_TRUE(has_control_char("/home/a\nb"));
  EXPECT_TRUE(has_control_char(std::string("/x\x7f")));
  EXPECT_EQ(printable("/a\nb\tc\x01"
                      "d"),
            "/a\\nb\\tc\\x01d");
  EXPECT_EQ(size_bytes("512m"), 512ULL << 20U);
  EXPECT_EQ(size_bytes("2g"), 2ULL << 30U);
  EXPECT_EQ(size_bytes("1000"), 1000U);
  EXPECT_EQ(size_bytes("lots"), 0U);
}

TEST(RunCommand, ports_default_to_loopback) {
  EXPECT_EQ(*normalize_port("8888"), "127.0.0.1:8888:8888");
  EXPECT_EQ(*normalize_port("8080:80"), "127.0.0.1:8080:80");
  EXPECT_EQ(*normalize_port("6006:6006/udp"), "127.0.0.1:6006:6006/udp");
  EXPECT_EQ(*normalize_port("0.0.0.0:8080:80"), "0.0.0.0:8080:80");
  EXPECT_EQ(*normalize_port("[::1]:8080:80"), "[::1]:8080:80");
  for (const char* bad : {"", "x", "0", "70000", "8080:", ":80", "8080:80/sctp", "a:b:c", "1:2:3:4"}) {
    const auto r = normalize_port(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message.rfind(std::string("'") + bad + "' is not a port", 0), 0U)
        << r.error().message;
  }
}

TEST(RunCommand, shm_rule_and_sizes) {
  constexpr unsigned long long gib = 1ULL << 30U;
  EXPECT_EQ(default_shm_size(0), "1g");
  EXPECT_EQ(default_shm_size(2 * gib), "1g");
  EXPECT_EQ(default_shm_size(24 * gib), "6g");
  EXPECT_EQ(default_shm_size(512 * gib), "16g");
  for (const char* ok : {"64m", "8g", "1073741824", "512k", "2G"}) {
    EXPECT_TRUE(check_size(ok, "--shm-size")) << ok;
  }
  const auto bad = check_size("lots", "--shm-size");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "--shm-size 'lots' is not a size: expected a number with an "
                                 "optional unit b, k, m or g (\"8g\", \"512m\")");
  EXPECT_FALSE(check_size("0", "--shm-size"));
  EXPECT_FALSE(check_size("", "--shm-size"));
}

TEST(RunCommand, env_arguments) {
  const std::map<std::string, std::string> host{{"TOKEN", "t0k"}};
  EXPECT_EQ((**parse_env_arg("A=1=2", host)), (std::pair<std::string, std::string>{"A", "1=2"}));
  EXPECT_EQ((**parse_env_arg("TOKEN", host)), (std::pair<std::string, std::string>{"TOKEN", "t0k"}));
  EXPECT_FALSE(*parse_env_arg("UNSET", host)) << "a variable the shell does not have is skipped";
  const auto bad = parse_env_arg("1X=2", host);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'1X' is not a variable name"), std::string::npos);
}

TEST(RunUserLayer, names_tags_and_dockerfile) {
  EXPECT_EQ(passwd_name("alice", 1000), "alice");
  EXPECT_EQ(passwd_name("Alice Smith", 1000), "u1000");
  EXPECT_EQ(passwd_name("", 1000), "u1000");
  EXPECT_EQ(passwd_name("a;rm -rf /", 7), "u7") << "never into the shell script";
  const HostUser alice{1000, 1000, "alice", "/home/alice"};
  const HostUser bob{1001, 1001, "bob", "/home/bob"};
  const std::string tag = user_image_tag("mnist", "sha256:aa", alice);
  EXPECT_EQ(tag.rfind("furnace-user/mnist:", 0), 0U);
  EXPECT_EQ(tag.size(), std::string("furnace-user/mnist:").size() + 12);
  EXPECT_EQ(tag, user_image_tag("mnist", "sha256:aa", alice)) << "stable";
  EXPECT_NE(tag, user_image_tag("mnist", "sha256:aa", bob));
  EXPECT_NE(tag, user_image_tag("mnist", "sha256:bb", alice));
  const std::string df = user_dockerfile("furnace/mnist:0123456789ab", alice);
  EXPECT_NE(df.find("FROM furnace/mnist:0123456789ab\nUSER root\n"), std::string::npos) << df;
  EXPECT_NE(df.find("n=alice; u=1000; g=1000; h=/home/alice;"), std::string::npos) << df;
  EXPECT_NE(df.find("chown \"$u:$g\" \"$h\""), std::string::npos);
}

TEST(RunUserLayer, sudo_runs_as_the_caller) {
  if (::getuid() != 0) {
    GTEST_SKIP() << "needs root (sudo's variables only count for root)";
  }
  const auto u = invoking_user({{"SUDO_UID", "1234"}, {"SUDO_GID", "1235"}, {"SUDO_USER", "carol"}});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 1234U);
  EXPECT_EQ(u->gid, 1235U);
  EXPECT_EQ(u->name, "carol");
  EXPECT_EQ(u->home, "/home/carol");
  EXPECT_FALSE(invoking_user({})) << "plain root needs no layer";
  EXPECT_FALSE(invoking_user({{"SUDO_UID", "0"}, {"SUDO_GID", "0"}}));
}

TEST(RunProject, the_root_is_found_upward) {
  const testing::TempDir d;
  d.write("paper/furnace.yaml", "name: p\n");
  d.write("paper/src/models/.keep", "");
  d.write("repo/.git/HEAD", "ref: refs/heads/main\n");
  d.write("repo/a/b/.keep", "");
  d.write("loose/x/.keep", "");
  d.write("reqs/requirements.txt", "torch\n");
  d.write("reqs/src/.keep", "");
  const auto canon = [](const std::string& p) { return std::filesystem::canonical(p).string(); };
  EXPECT_EQ(project::find_root(d.path() + "/paper/src/models"), canon(d.path() + "/paper"));
  EXPECT_EQ(project::find_root(d.path() + "/repo/a/b"), canon(d.path() + "/repo"));
  EXPECT_EQ(project::find_root(d.path() + "/loose/x"), canon(d.path() + "/loose/x"));
  EXPECT_EQ(project::find_root(d.path() + "/reqs/src"), canon(d.path() + "/reqs"));
  EXPECT_EQ(project::find_root(d.path() + "/paper/"), canon(d.path() + "/paper"));
  EXPECT_EQ(project::find_root(d.path() + "/repo/a/../a/b"), canon(d.path() + "/repo"));
  d.write("mono/furnace.yaml", "name: m\n");
  d.write("mono/vendored/.git/HEAD", "");
  EXPECT_EQ(project::find_root(d.path() + "/mono/vendored"), canon(d.path() + "/mono"))
      << "furnace.yaml wins over a nearer .git";
}

TEST(RunSession, exit_code_and_both_streams_into_the_log) {
  const testing::TempDir d;
  const std::string log = d.path() + "/run.log";
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  SessionOptions o;
  o.output = Output::tee;
  o.log_fd = fd;
  const EngineCommand c{
      {"/bin/sh", "-c", "echo out-line; echo err-line >&2; exit 3"}, {{"X", "y"}}, {}};
  const auto r = run_session(c, testing::process_env(), o);
  ::close(fd);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->signal, 0);
  const auto text = util::read_file(log);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("out-line\n"), std::string::npos);
  EXPECT_NE(text->find("err-line\n"), std::string::npos);

  const auto missing = run_session(EngineCommand{{"/nonexistent/docker"}, {}, {}}, {}, o);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "cannot run /nonexistent/docker: No such file or directory");
}

// In a child process (handlers are process-wide): a SIGTERM to the session reaches the command.
TEST(RunSession, a_signal_is_relayed_and_a_second_one_forces) {
  for (const int second : {0, 1}) {
    const testing::TempDir d;
    const std::string marker = d.path() + "/forced";
    const pid_t pid = ::fork();
    if (pid == 0) {
      SessionOptions o;
      o.output = Output::inherit;
      o.force = [&](const std::string&) { util::write_file_atomic(marker, "yes"); };
      // `trap '' TERM` for the second round: the command ignores the first signal.
      const std::string script = second != 0 ? "trap '' TERM; sleep 30 & wait; sleep 30" : "exec sleep 30";
      const auto r = run_session(EngineCommand{{"/bin/sh", "-c", script}, {}, {}}, {}, o);
      ::_exit(r && r->signal == SIGTERM ? (r->exit_code == 128 + SIGKILL ? 40 : r->exit_code == 143 ? 41 : 42) : 43);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::kill(pid, SIGTERM);
    if (second != 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      ::kill(pid, SIGTERM);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), second != 0 ? 40 : 41);
    EXPECT_EQ(std::filesystem::exists(marker), second != 0);
  }
}

// RELIABILITY 25: a command (or PID 1) that ignores the signal does not keep the run alive: after
// the grace the container is removed by force, without a second signal.
TEST(RunSession, a_signal_the_command_ignores_is_escalated_after_the_grace) {
  const testing::TempDir d;
  const std::string marker = d.path() + "/forced";
  const pid_t pid = ::fork();
  if (pid == 0) {
    SessionOptions o;
    o.output = Output::inherit;
    o.grace = std::chrono::milliseconds(500);
    o.force = [&](const std::string& why) { util::write_file_atomic(marker, why); };
    const auto r = run_session(
        EngineCommand{{"/bin/sh", "-c", "trap '' TERM; sleep 30 & wait; sleep 30"}, {}, {}}, {}, o);
    ::_exit(r && r->signal == SIGTERM && r->forced && r->exit_code == 128 + SIGKILL ? 40 : 41);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto sent = std::chrono::steady_clock::now();
  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  const auto took = std::chrono::steady_clock::now() - sent;
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 40);
  EXPECT_EQ(util::read_file(marker).value_or(""), "SIGTERM did not end it within 0.5 s");
  EXPECT_GE(took, std::chrono::milliseconds(500));
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(RunOrphans, a_reused_pid_does_not_keep_a_dead_runs_furnace_alive) {
  engine::ContainerSummary c;
  c.name = "paper-abcdef";
  c.state = "running";
  c.labels = {{k_label_host, "me"}, {k_label_pid, std::to_string(::getpid())}};
  EXPECT_FALSE(is_orphan(c, "me")) << "no start time recorded (an older furnace): the pid decides";
  const std::string mine = process_start_time(::getpid());
  ASSERT_FALSE(mine.empty());
  ASSERT_TRUE(std::all_of(mine.begin(), mine.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      << mine;
  c.labels[k_label_pid_start] = mine;
  EXPECT_FALSE(is_orphan(c, "me"));
  // The same pid, but a process that started at another time: the kernel reused the pid.
  c.labels[k_label_pid_start] = std::to_string(std::stoull(mine) + 1);
  EXPECT_TRUE(is_orphan(c, "me"));
  EXPECT_FALSE(is_orphan(c, "another-host"));
  c.labels[k_label_pid] = "0";
  EXPECT_TRUE(is_orphan(c, "me"));
  EXPECT_EQ(process_start_time(0), "");
}

TEST(RunOrphans, the_start_time_is_read_after_the_last_parenthesis) {
  std::array<int, 2> go{};
  std::array<int, 2> renamed{};
  ASSERT_EQ(::pipe(go.data()), 0);
  ASSERT_EQ(::pipe(renamed.data()), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char c = 0;
    (void)!::read(go[0], &c, 1);
    ::prctl(PR_SET_NAME, "a) 1 2 (b"); // a command name that looks like fields
    (void)!::write(renamed[1], "r", 1);
    (void)!::read(go[0], &c, 1);
    ::_exit(0);
  }
  const std::string before = process_start_time(child);
  (void)!::write(go[1], "x", 1);
  char c = 0;
  (void)!::read(renamed[0], &c, 1);
  const std::string after = process_start_time(child);
  const auto stat = util::read_file("/proc/" + std::to_string(child) + "/stat");
  (void)!::write(go[1], "x", 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  for (const int fd : {go[0], go[1], renamed[0], renamed[1]}) {
    ::close(fd);
  }
  ASSERT_TRUE(stat.has_value());
  ASSERT_NE(stat->find("(a) 1 2 (b)"), std::string::npos) << *stat;
  ASSERT_FALSE(before.empty());
  EXPECT_EQ(after, before);
  EXPECT_GE(std::stoull(before), std::stoull(process_start_time(::getpid())));
}

TEST(RunOrphans, spent_containers_are_the_created_and_the_ended) {
  engine::ContainerSummary c;
  for (const char* s : {"created", "exited", "dead"}) {
    c.state = s;
    EXPECT_TRUE(is_spent(c)) << s;
  }
  for (const char* s : {"running", "paused", "restarting"}) {
    c.state = s;
    EXPECT_FALSE(is_spent(c)) << s;
  }
}

// The env file reaches the CLI as descriptor 3 of a memory file: readable through /dev/fd/3,
// never a path on disk.
TEST(RunSession, the_env_file_is_a_memory_file_at_descriptor_3) {
  const testing::TempDir d;
  const std::string log = d.path() + "/run.log";
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  SessionOptions o;
  o.output = Output::tee;
  o.log_fd = fd;
  EngineCommand c{{"/bin/sh", "-c", "cat /dev/fd/3; readlink /proc/self/fd/3"},
                  {},
                  "DOCKER_PASSWORD=hunter2\nHOME=/home/alice\n"};
  const auto r = run_session(c, testing::process_env(), o);
  ::close(fd);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 0);
  const auto text = util::read_file(log);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text,
            "DOCKER_PASSWORD=hunter2\nHOME=/home/alice\n/memfd:furnace-env-file (deleted)\n");
}

TEST(RunSession, signal_names) {
  EXPECT_EQ(signal_name(SIGINT), "SIGINT");
  EXPECT_EQ(signal_name(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(signal_name(99), "signal 99");
}

} // namespace
} // namespace furnace::run
