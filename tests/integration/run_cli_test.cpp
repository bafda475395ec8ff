// furnace run / ps / logs / stop / history against the real engine and the stand-in pytorch
// image: the example trains as a non-root user (files on the mount are theirs; whoami, $HOME and
// getpwuid work in a root image), signals leave no container, a killed furnace leaves an orphan
// that ps shows and --clean removes, two concurrent auto:1 runs get different GPUs (fake NVML plus
// the test engine's stand-in NVIDIA hook), an 8-worker DataLoader passes with the default /dev/shm
// and dies with 64m, proxies arrive, values stay out of argv, and the history records each end.

#include "support/background.hpp"
#include "support/test_env.hpp"

#include <furnace/util/process.hpp>
#include <furnace/util/strings.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

extern char** environ; // NOLINT

namespace furnace::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_base = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";
// What examples/mnist (torch==2.9.1) resolves to without a GPU: the test engine's stand-in.
constexpr const char* k_example_base = "pytorch/pytorch:2.9.1-cuda13.0-cudnn9-runtime";
constexpr const char* k_user = "furnace-it";
constexpr unsigned k_uid = 4242;

// `argv` in the background, its output in a file the test user owns (the sudo test checks that
// nothing in the suite's tree is root's).
Background spawn_command(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env,
                         const std::string& out_file) {
  std::vector<std::string> envs;
  for (const auto& [k, v] : changed_env(env)) {
    envs.push_back(k + "=" + v);
  }
  SpawnOptions o;
  o.output_owner = k_uid;
  return spawn_background(argv, envs, out_file, o);
}

Background spawn_furnace(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env,
                         const std::string& out_file,
                         const std::vector<std::string>& prefix = {}) {
  std::vector<std::string> argv = prefix;
  argv.emplace_back(FURNACE_BINARY);
  argv.insert(argv.end(), args.begin(), args.end());
  return spawn_command(argv, env, out_file);
}

// The engine's containers of `project` (any state), one name per line.
std::string containers_of(const std::string& project) {
  return sh("docker ps -a --filter label=org.furnace.project=" + project +
            " --format '{{.Names}}'")
      .out;
}

// One project (a copy of examples/mnist under a name of its own) and one image for the suite.
class RunCli : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (!engine_available()) {
      return;
    }
    // The non-root caller: a user of the docker group.
    if (::getpwnam(k_user) == nullptr) {
      sh(std::string("useradd --uid ") + std::to_string(k_uid) + " --create-home --groups docker " +
         k_user);
    }
    s_dir = new TempDir();  // NOLINT(cppcoreguidelines-owning-memory)
    s_name = "furnace-it-run-" + std::to_string(::getpid());
    s_project = s_dir->path() + "/project";
    const std::string src = std::string(FURNACE_SOURCE_DIR) + "/examples/mnist";
    for (const char* f : {"train.py", "requirements.txt"}) {
      s_dir->write(std::string("project/") + f, read_text(src + "/" + f));
    }
    s_dir->write("project/furnace.yaml", "name: " + s_name + "\nbase: " + k_example_base +
                                             "\ncommand: [python, train.py, --samples, '1200']\n");
    s_dir->write("project/sub/dir/.keep", "");
    s_dir->write("home/.keep", "");
    // The whole tree belongs to the test user (mkdtemp made it 0700 for root).
    sh("chown -R " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + s_dir->path());
  }

  static void TearDownTestSuite() {
    if (s_dir == nullptr) {
      return;
    }
    sh("docker ps -aq --filter label=org.furnace.project=" + s_project + " | xargs -r docker rm -f");
    sh("docker images -q --filter reference='furnace/" + s_name +
       "*' --filter reference='furnace-user/" + s_name + "*' | sort -u | xargs -r docker rmi -f");
    delete s_dir; // NOLINT(cppcoreguidelines-owning-memory)
    s_dir = nullptr;
  }

  void SetUp() override { FURNACE_REQUIRE_ENGINE(); }

  // Environment of a run: the suite's home (history, logs, cache), the 20.10 CLI, no GPU.
  static std::map<std::string, std::string> env() {
    return {{"HOME", s_dir->path() + "/home"},
            {"-XDG_DATA_HOME", ""},
            {"-XDG_CACHE_HOME", ""},
            {"-XDG_CONFIG_HOME", ""},
            {"FURNACE_DOCKER", "/usr/bin/docker"},
            {"FURNACE_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"},
            {"-http_proxy", ""},
            {"-https_proxy", ""},
            {"-HTTP_PROXY", ""},
            {"-HTTPS_PROXY", ""}};
  }
  // As the test user.
  static std::vector<std::string> as_user() {
    return {"setpriv", "--reuid=" + std::to_string(k_uid), "--regid=" + std::to_string(k_uid),
            "--init-groups"};
  }
  static ::furnace::testing::Run furnace(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& extra = {}) {
    auto e = env();
    for (const auto& [k, v] : extra) {
      e[k] = v;
    }
    return run_furnace(args, e, as_user());
  }
  static nlohmann::json last_run() {
    const auto h = furnace({"history", "-n", "1", "--json"});
    const auto j = nlohmann::json::parse(h.out);
    return j.at("runs").at(0);
  }

  static TempDir* s_dir;
  static std::string s_name;
  static std::string s_project;
};

TempDir* RunCli::s_dir = nullptr;
std::string RunCli::s_name;
std::string RunCli::s_project;

TEST_F(RunCli, the_example_trains_as_the_caller_and_the_history_records_it) {
  const auto r = furnace({"run", "-C", s_project});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("epoch 1: accuracy"), std::string::npos) << r.out;
  const std::string ckpt = s_project + "/checkpoints/mnist_cnn.pt";
  ASSERT_TRUE(fs::exists(ckpt)) << r.out << r.err;
  struct stat st {};
  ASSERT_EQ(::stat(ckpt.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, k_uid) << "the checkpoint must belong to the caller, not root";
  EXPECT_EQ(st.st_gid, k_uid);

  const auto run = last_run();
  EXPECT_EQ(run["status"], "exited");
  EXPECT_EQ(run["exit_code"], 0);
  EXPECT_EQ(run["user"], k_user);
  EXPECT_EQ(run["project"], fs::canonical(s_project).string());
  EXPECT_EQ(run["command"], (nlohmann::json{"python", "train.py", "--samples", "1200"}));
  EXPECT_EQ(run["image_tag"].get<std::string>().rfind("furnace/" + s_name + ":", 0), 0U) << run;
  EXPECT_EQ(run["base_image"], k_example_base);
  EXPECT_FALSE(run["image_id"].get<std::string>().empty());
  // The output is in the run's log too.
  EXPECT_NE(read_text(run["log_path"].get<std::string>()).find("epoch 1: accuracy"),
            std::string::npos);
  const auto logs = furnace({"logs", run["name"].get<std::string>()});
  EXPECT_NE(logs.out.find("saved checkpoints/mnist_cnn.pt"), std::string::npos) << logs.err;
}

TEST_F(RunCli, the_caller_is_known_inside_a_root_image_from_any_subfolder) {
  const std::string script =
      "whoami; echo home=$HOME; pwd; "
      "python -c 'import os, pwd; print(\"pw=\" + pwd.getpwuid(os.getuid()).pw_name)'; "
      "touch $HOME/written && echo home-writable; touch made-inside";
  const auto r = furnace({"run", "-C", s_project + "/sub/dir", "--", "sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(std::string(k_user) + "\nhome=/home/" + k_user + "\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(fs::canonical(s_project).string() + "/sub/dir\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::string("pw=") + k_user), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("home-writable"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat((s_project + "/sub/dir/made-inside").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, k_uid);
}

TEST_F(RunCli, exit_codes_pass_through_and_the_history_records_each_end) {
  EXPECT_EQ(furnace({"run", "-C", s_project, "--", "sh", "-c", "exit 3"}).exit_code, 3);
  auto run = last_run();
  EXPECT_EQ(run["status"], "exited");
  EXPECT_EQ(run["exit_code"], 3);

  // A crash: the command dies of SIGSEGV.
  EXPECT_EQ(furnace({"run", "-C", s_project, "--", "sh", "-c", "kill -SEGV $$"}).exit_code, 139);
  run = last_run();
  EXPECT_EQ(run["status"], "killed");
  EXPECT_EQ(run["signal"], "SIGSEGV");
  EXPECT_EQ(run["exit_code"], 139);

  // A command that does not exist: the engine's 127, recorded as a failure to start.
  const auto missing = furnace({"run", "-C", s_project, "--", "no-such-command-here"});
  EXPECT_EQ(missing.exit_code, 127) << missing.err;
  run = last_run();
  EXPECT_EQ(run["status"], "failed");
  EXPECT_EQ(containers_of(fs::canonical(s_project).string()), "");
}

// A command that traps the signal: it writes which one it got into the project and exits with
// a code of its own, which proves the signal reached it (furnace -> CLI -> init -> command).
constexpr const char* k_trapping =
    "trap 'echo INT > sig.marker; exit 71' INT; trap 'echo TERM > sig.marker; exit 72' TERM; "
    "trap 'echo HUP > sig.marker; exit 73' HUP; echo started; while :; do sleep 0.1; done";

TEST_F(RunCli, sigint_sigterm_and_sighup_reach_the_command_and_leave_no_container) {
  const std::string root = fs::canonical(s_project).string();
  const std::map<int, std::pair<std::string, int>> expected{
      {SIGINT, {"INT", 71}}, {SIGTERM, {"TERM", 72}}, {SIGHUP, {"HUP", 73}}};
  for (const auto& [sig, want] : expected) {
    fs::remove(s_project + "/sig.marker");
    const Background b = spawn_furnace({"run", "-C", s_project, "--", "sh", "-c", k_trapping},
                                       env(),
                                       s_dir->path() + "/signal" + std::to_string(sig) + ".out",
                                       as_user());
    ASSERT_TRUE(wait_for([&] { return b.output().find("started") != std::string::npos; },
                         std::chrono::seconds(60)))
        << b.output();
    ::kill(b.pid, sig);
    const int code = b.wait(std::chrono::seconds(30));
    EXPECT_EQ(code, want.second) << "signal " << sig << ": " << b.output();
    EXPECT_EQ(read_text(s_project + "/sig.marker"), want.first + "\n") << "signal " << sig;
    EXPECT_EQ(containers_of(root), "") << "signal " << sig;
    const auto run = last_run();
    EXPECT_EQ(run["status"], "killed");
    EXPECT_EQ(run["signal"], "SIG" + want.first);
    EXPECT_EQ(run["exit_code"], want.second);
  }
}

// RELIABILITY 25: a command that ignores SIGINT and SIGTERM (as a PID 1 without handlers does):
// one Ctrl-C still ends the run, by force once the grace (FURNACE_STOP_GRACE) is over.
TEST_F(RunCli, a_command_that_ignores_the_signal_is_removed_after_the_grace) {
  const std::string root = fs::canonical(s_project).string();
  auto e = env();
  e["FURNACE_STOP_GRACE"] = "2";
  const Background b =
      spawn_furnace({"run",
                     "-C",
                     s_project,
                     "--",
                     "sh",
                     "-c",
                     "trap '' INT TERM; echo started; while :; do sleep 0.1; done"},
                    e,
                    s_dir->path() + "/ignore.out",
                    as_user());
  ASSERT_TRUE(wait_for([&] { return b.output().find("started") != std::string::npos; },
                       std::chrono::seconds(60)))
      << b.output();
  const auto sent = std::chrono::steady_clock::now();
  ::kill(b.pid, SIGINT);
  const int code = b.wait(std::chrono::seconds(30));
  const auto took = std::chrono::steady_clock::now() - sent;
  EXPECT_EQ(code, 128 + SIGKILL) << b.output();
  EXPECT_GE(took, std::chrono::seconds(2));
  EXPECT_LT(took, std::chrono::seconds(15));
  EXPECT_NE(b.output().find("SIGINT did not end it within 2 s: removing "), std::string::npos)
      << b.output();
  EXPECT_EQ(containers_of(root), "");
  const auto run = last_run();
  EXPECT_EQ(run["status"], "killed");
  EXPECT_EQ(run["signal"], "SIGINT");
}

// A terminal session over ssh that drops: the pty's master closes (here: `script` is killed), the
// kernel hangs up the terminal and the session gets SIGHUP; it reaches the command, and the
// container is stopped and removed with nobody left to watch.
TEST_F(RunCli, a_terminal_session_that_hangs_up_stops_and_removes_its_container) {
  const std::string root = fs::canonical(s_project).string();
  fs::remove(s_project + "/sig.marker");
  const std::string cmd = std::string(FURNACE_BINARY) + " run -C " + s_project + " -- sh -c " +
                          util::shell_quote(k_trapping);
  // `script -qc CMD /dev/null` runs CMD on a new pty: furnace sees a terminal (a -t session).
  auto e = env();
  std::vector<std::string> prefix = as_user();
  prefix.insert(prefix.end(), {"script", "-qfc", cmd, "/dev/null"});
  const Background session = spawn_command(prefix, e, s_dir->path() + "/session.out");
  ASSERT_TRUE(wait_for([&] { return session.output().find("started") != std::string::npos; },
                       std::chrono::seconds(60)))
      << session.output();
  ASSERT_NE(containers_of(root), "");
  ::kill(session.pid, SIGKILL); // the connection drops: the pty's master side closes
  session.wait(std::chrono::seconds(10));
  EXPECT_TRUE(
      wait_for([&] { return fs::exists(s_project + "/sig.marker"); }, std::chrono::seconds(30)));
  EXPECT_EQ(read_text(s_project + "/sig.marker"), "HUP\n");
  EXPECT_TRUE(wait_for([&] { return containers_of(root).empty(); }, std::chrono::seconds(30)))
      << containers_of(root);
  EXPECT_TRUE(wait_for([&] { return last_run()["status"] == "killed"; }, std::chrono::seconds(10)))
      << last_run();
  EXPECT_EQ(last_run()["signal"], "SIGHUP");
}

// furnace killed between the container's create and its start (case 24): the next furnace run
// of the project removes the Created container by its labels, and the history says it was lost.
// The CLI stand-in creates the container, then kills its furnace, as a SIGKILL would land.
TEST_F(RunCli, a_run_killed_between_create_and_start_is_collected_by_the_next_run) {
  const std::string root = fs::canonical(s_project).string();
  const std::string wrapper = s_dir->path() + "/create-then-die.sh";
  s_dir->write("create-then-die.sh",
               "#!/bin/sh\n"
               "if [ \"$1\" = run ]; then shift; /usr/bin/docker create \"$@\" >/dev/null; "
               "kill -KILL $PPID; exit 137; fi\n"
               "exec /usr/bin/docker \"$@\"\n",
               0755);
  sh("chown " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + wrapper);
  // The image and the user layer first, with the real CLI: the wrapper must meet the run's own
  // `docker run`, not the probe's after a build (ctest runs this test in a process of its own).
  const auto warm = furnace({"run", "-C", s_project, "--", "true"});
  ASSERT_EQ(warm.exit_code, 0) << warm.err;
  const auto killed =
      furnace({"run", "-C", s_project, "--", "true"}, {{"FURNACE_DOCKER", wrapper}});
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  const std::string name = std::string(util::trim(containers_of(root)));
  ASSERT_FALSE(name.empty());
  EXPECT_EQ(util::trim(sh("docker inspect -f '{{.State.Status}}' " + name).out), "created");
  const auto next = furnace({"run", "-C", s_project, "--", "true"});
  EXPECT_EQ(next.exit_code, 0) << next.err;
  EXPECT_NE(next.err.find("removed " + name + " (left by a killed run)"), std::string::npos)
      << next.err;
  EXPECT_EQ(containers_of(root), "");
  const auto show = furnace({"show", name, "--json"});
  EXPECT_EQ(nlohmann::json::parse(show.out)["run"]["status"], "lost") << show.out;
}

TEST_F(RunCli, a_killed_furnace_leaves_an_orphan_that_ps_shows_and_clean_removes) {
  const std::string root = fs::canonical(s_project).string();
  const Background b = spawn_furnace(
      {"run", "-C", s_project, "--", "python", "-c",
       "import time\nprint('started', flush=True)\ntime.sleep(120)"},
      env(), s_dir->path() + "/kill.out", as_user());
  ASSERT_TRUE(wait_for([&] { return b.output().find("started") != std::string::npos; },
                       std::chrono::seconds(60)))
      << b.output();
  ::kill(b.pid, SIGKILL);
  b.wait(std::chrono::seconds(10));
  const std::string name = std::string(util::trim(containers_of(root)));
  ASSERT_FALSE(name.empty());
  ASSERT_EQ(name.find('\n'), std::string::npos) << name;

  const auto ps = furnace({"ps", "--json"});
  ASSERT_EQ(ps.exit_code, 0) << ps.err;
  bool shown = false;
  const auto listed = nlohmann::json::parse(ps.out);
  for (const auto& c : listed["runs"]) {
    if (c["name"] == name) {
      shown = true;
      EXPECT_EQ(c["state"], "orphaned");
      EXPECT_EQ(c["user"], k_user);
      EXPECT_EQ(c["project"], root);
    }
  }
  EXPECT_TRUE(shown) << "[" << name << "] " << ps.out;

  // The next run of the project says so; with --clean it removes the leftover.
  const auto warned = furnace({"run", "-C", s_project, "--", "true"});
  EXPECT_NE(warned.err.find("left by killed runs: " + name), std::string::npos) << warned.err;
  EXPECT_NE(containers_of(root).find(name), std::string::npos);
  const auto cleaned = furnace({"run", "-C", s_project, "--clean", "--", "true"});
  EXPECT_EQ(cleaned.exit_code, 0) << cleaned.err;
  EXPECT_NE(cleaned.err.find("removed " + name), std::string::npos) << cleaned.err;
  EXPECT_EQ(containers_of(root), "");
  const auto show = furnace({"show", name, "--json"});
  EXPECT_EQ(nlohmann::json::parse(show.out)["run"]["status"], "lost") << show.out;
}

TEST_F(RunCli, two_concurrent_auto_runs_get_different_gpus) {
  auto e = env();
  const std::string gpus = R"({"init": "ok", "driver_version": "570.86.15", "cuda_driver_version": 12080,
    "gpus": [
      {"name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-aaaaaaaa-0000-0000-0000-000000000000", "cc": [8, 0],
       "memory_total_mib": 81920, "memory_used_mib": 0},
      {"name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-aaaaaaaa-1111-1111-1111-111111111111", "cc": [8, 0],
       "memory_total_mib": 81920, "memory_used_mib": 0}]})";
  for (const auto& [k, v] : fake_nvml_env(*s_dir, gpus)) {
    e[k] = v;
  }
  sh("chmod 0644 " + s_dir->path() + "/nvml.json && chown " + std::to_string(k_uid) + ":" +
     std::to_string(k_uid) + " " + s_dir->path() + "/nvml.json");
  // The toolkit's hook on PATH: the engine can hand out GPUs (the test engine's stand-in hook).
  const char* state = std::getenv("FURNACE_TEST_STATE"); // NOLINT(concurrency-mt-unsafe)
  const std::string hook_dir =
      std::string(state != nullptr && *state != '\0' ? state : "/run/furnace-test") +
      "/fake-nvidia-toolkit";
  ASSERT_TRUE(fs::exists(hook_dir + "/nvidia-container-runtime-hook"))
      << "the test engine was started without its NVIDIA hook: 'scripts/test-engine.sh down && up'";
  e["PATH"] = hook_dir + ":" + process_env()["PATH"];
  e["FURNACE_LOCK_DIR"] = s_dir->path() + "/locks";
  const std::string script = "echo gpus=$NVIDIA_VISIBLE_DEVICES; sleep 4";
  std::vector<Background> runs;
  for (int i = 0; i < 2; ++i) {
    runs.push_back(spawn_furnace({"run", "-C", s_project, "--gpus", "auto:1", "--", "sh", "-c", script},
                                 e, s_dir->path() + "/gpu" + std::to_string(i) + ".out", as_user()));
  }
  std::set<std::string> seen;
  for (const Background& b : runs) {
    EXPECT_EQ(b.wait(std::chrono::seconds(120)), 0) << b.output();
    const std::string out = b.output();
    const auto at = out.find("gpus=");
    ASSERT_NE(at, std::string::npos) << out;
    seen.insert(out.substr(at, out.find('\n', at) - at));
  }
  // By UUID: the GPU each run locked is the GPU its container was given.
  EXPECT_EQ(seen, (std::set<std::string>{"gpus=GPU-aaaaaaaa-0000-0000-0000-000000000000",
                                         "gpus=GPU-aaaaaaaa-1111-1111-1111-111111111111"}));
  // Both locks were released: two more runs get a GPU each again.
  const auto again = run_furnace({"run", "-C", s_project, "--gpus", "auto:2", "--", "sh", "-c",
                                  "echo gpus=$NVIDIA_VISIBLE_DEVICES"}, e, as_user());
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("gpus=GPU-aaaaaaaa-0000-0000-0000-000000000000,"
                          "GPU-aaaaaaaa-1111-1111-1111-111111111111"),
            std::string::npos)
      << again.out;
  const auto run = last_run();
  EXPECT_EQ(run["gpu_request"], "auto:2");
  EXPECT_EQ(run["gpu_indices"], (nlohmann::json{0, 1}));
  EXPECT_EQ(run["driver_version"], "570.86.15");
}

TEST_F(RunCli, a_gpu_in_exclusive_process_mode_with_a_process_is_never_shared) {
  // RELIABILITY case 31: GPU 0 takes one process at a time and pid 1 (root's) has it.
  auto e = env();
  const std::string gpus = R"({"init": "ok", "driver_version": "570.86.15", "cuda_driver_version": 12080,
    "gpus": [
      {"name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-eeeeeeee-0000-0000-0000-000000000000", "cc": [9, 0],
       "memory_total_mib": 81920, "memory_used_mib": 1024, "compute_mode": "exclusive_process",
       "processes": [{"pid": 1, "used_mib": 1024}]},
      {"name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-eeeeeeee-1111-1111-1111-111111111111", "cc": [9, 0],
       "memory_total_mib": 81920, "memory_used_mib": 30000}]})";
  for (const auto& [k, v] : fake_nvml_env(*s_dir, gpus)) {
    e[k] = v;
  }
  sh("chmod 0644 " + s_dir->path() + "/nvml.json");
  const char* state = std::getenv("FURNACE_TEST_STATE"); // NOLINT(concurrency-mt-unsafe)
  const std::string hook_dir =
      std::string(state != nullptr && *state != '\0' ? state : "/run/furnace-test") +
      "/fake-nvidia-toolkit";
  ASSERT_TRUE(fs::exists(hook_dir + "/nvidia-container-runtime-hook"))
      << "the test engine was started without its NVIDIA hook: 'scripts/test-engine.sh down && up'";
  e["PATH"] = hook_dir + ":" + process_env()["PATH"];
  e["FURNACE_LOCK_DIR"] = s_dir->path() + "/exclusive-locks";
  const std::string busy = "GPU 0 (NVIDIA H100 80GB HBM3): compute mode EXCLUSIVE_PROCESS and in "
                           "use by root (";
  // auto: the other GPU, although more of its memory is in use; the busy one is named.
  const auto picked = run_furnace({"run", "-C", s_project, "--gpus", "auto:1", "--", "sh", "-c",
                                   "echo gpus=$NVIDIA_VISIBLE_DEVICES"},
                                  e, as_user());
  EXPECT_EQ(picked.exit_code, 0) << picked.err;
  EXPECT_NE(picked.out.find("gpus=GPU-eeeeeeee-1111-1111-1111-111111111111"), std::string::npos)
      << picked.out;
  EXPECT_NE(picked.err.find(busy), std::string::npos) << picked.err;
  // Asked for by index: refused before any container, naming the GPU's user.
  const auto asked = run_furnace({"run", "-C", s_project, "--gpus", "0", "--", "true"}, e, as_user());
  EXPECT_EQ(asked.exit_code, 125) << asked.err;
  EXPECT_NE(asked.err.find("furnace: error: --gpus '0': " + busy), std::string::npos) << asked.err;
  EXPECT_NE(asked.err.find("it takes one process at a time"), std::string::npos) << asked.err;
  // all: the free GPU only, by UUID.
  const auto all = run_furnace({"run", "-C", s_project, "--gpus", "all", "--", "sh", "-c",
                                "echo gpus=$NVIDIA_VISIBLE_DEVICES"},
                               e, as_user());
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("gpus=GPU-eeeeeeee-1111-1111-1111-111111111111\n"), std::string::npos)
      << all.out;
  EXPECT_NE(all.err.find("left out of this run"), std::string::npos) << all.err;
}

TEST_F(RunCli, explicit_gpus_without_a_gpu_is_an_error_and_default_runs_on_the_cpu) {
  const auto cpu = furnace({"run", "-C", s_project, "--", "true"});
  EXPECT_EQ(cpu.exit_code, 0) << cpu.err;
  EXPECT_NE(cpu.err.find("running on the CPU"), std::string::npos) << cpu.err;
  const auto asked = furnace({"run", "-C", s_project, "--gpus", "0", "--", "true"});
  EXPECT_EQ(asked.exit_code, 125) << asked.err;
  EXPECT_NE(asked.err.find("furnace doctor"), std::string::npos) << asked.err;
  const auto bad = furnace({"run", "-C", s_project, "--gpus", "auto:0", "--", "true"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

// RELIABILITY case 33: an 8-worker DataLoader passes with furnace's default /dev/shm; with
// Docker's 64m it fails, and the failure is the shared-memory one: a worker dies of SIGBUS
// (PyTorch: "DataLoader worker ... is killed by signal: Bus error") and a plain write of more
// than /dev/shm holds gets ENOSPC.
TEST_F(RunCli, an_8_worker_dataloader_needs_the_default_shm_and_dies_with_64m) {
  s_dir->write("project/loader.py",
               "import torch\n"
               "from torch.utils.data import DataLoader, Dataset\n"
               "class Big(Dataset):\n"
               "    def __len__(self): return 256\n"
               "    def __getitem__(self, i): return torch.ones(1024, 1024)  # 4 MiB\n"
               "n = 0\n"
               "for batch in DataLoader(Big(), batch_size=16, num_workers=8, prefetch_factor=2):\n"
               "    n += batch.shape[0]\n"
               "print('loaded', n)\n");
  s_dir->write("project/fill_shm.py",
               "import errno\n"
               "try:\n"
               "    with open('/dev/shm/fill', 'wb') as f:\n"
               "        f.write(b'x' * (96 << 20))\n"
               "    print('wrote 96m into /dev/shm')\n"
               "except OSError as e:\n"
               "    print('shm-error', errno.errorcode[e.errno])\n"
               "    raise SystemExit(3)\n");
  sh("chown " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + s_project + "/loader.py " + s_project +
     "/fill_shm.py");
  const auto ok = furnace({"run", "-C", s_project, "--", "python", "loader.py"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("loaded 256"), std::string::npos) << ok.out << ok.err;
  const auto small = furnace({"run", "-C", s_project, "--shm-size", "64m", "--", "python", "loader.py"});
  EXPECT_EQ(small.exit_code, 1) << "64m of /dev/shm must not be enough: " << small.out;
  EXPECT_EQ(small.out.find("loaded 256"), std::string::npos);
  EXPECT_NE((small.out + small.err).find("is killed by signal: Bus error"), std::string::npos)
      << small.out << small.err;

  const auto filled = furnace({"run", "-C", s_project, "--", "python", "fill_shm.py"});
  EXPECT_EQ(filled.exit_code, 0) << filled.out << filled.err;
  EXPECT_NE(filled.out.find("wrote 96m into /dev/shm"), std::string::npos) << filled.out;
  const auto full =
      furnace({"run", "-C", s_project, "--shm-size", "64m", "--", "python", "fill_shm.py"});
  EXPECT_EQ(full.exit_code, 3) << full.out << full.err;
  EXPECT_NE(full.out.find("shm-error ENOSPC"), std::string::npos) << full.out;

  // /dev/shm counts against --memory: more shm than memory is refused before anything runs.
  const auto over =
      furnace({"run", "-C", s_project, "--memory", "1g", "--shm-size", "2g", "--", "true"});
  EXPECT_EQ(over.exit_code, 2) << over.err;
  EXPECT_NE(over.err.find("furnace: error: --shm-size 2g is larger than the memory limit 1g"),
            std::string::npos)
      << over.err;
}

TEST_F(RunCli, proxies_arrive_and_values_stay_out_of_the_command_line) {
  const std::map<std::string, std::string> proxies{{"http_proxy", "http://127.0.0.1:3128"},
                                                   {"HTTPS_PROXY", "http://127.0.0.1:3129"},
                                                   {"no_proxy", "localhost"},
                                                   {"SECRET_TOKEN", "hunter2-value"}};
  const auto r = furnace({"run", "-C", s_project, "-e", "SECRET_TOKEN", "-e", "MODE=fast", "--", "env"},
                         proxies);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* line : {"http_proxy=http://127.0.0.1:3128\n", "HTTPS_PROXY=http://127.0.0.1:3129\n",
                           "no_proxy=localhost\n", "SECRET_TOKEN=hunter2-value\n", "MODE=fast\n",
                           "PYTHONUNBUFFERED=1\n"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << " in\n" << r.out;
  }
  const auto dry = furnace({"run", "-C", s_project, "--dry-run", "-e", "SECRET_TOKEN", "-p", "8888",
                            "-p", "0.0.0.0:8080:80", "--", "env"},
                           proxies);
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  const std::string cmd = util::split(dry.out, '\n').at(util::split(dry.out, '\n').size() - 2);
  EXPECT_EQ(cmd.find("--privileged"), std::string::npos);
  EXPECT_EQ(cmd.find("hunter2"), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("--env SECRET_TOKEN "), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("--publish 127.0.0.1:8888:8888"), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("--publish 0.0.0.0:8080:80"), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("--user 4242:4242"), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("--init"), std::string::npos) << cmd;
}

TEST_F(RunCli, detached_runs_are_followed_stopped_and_recorded) {
  const auto started = furnace({"run", "-C", s_project, "-d", "--", "python", "-c",
                                "import time\nfor i in range(600):\n    print('tick', i)\n    time.sleep(0.1)"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const std::string name = util::split(started.out, ' ').front();
  ASSERT_FALSE(name.empty()) << started.out;
  EXPECT_TRUE(wait_for([&] { return furnace({"logs", name}).out.find("tick 3") != std::string::npos; },
                       std::chrono::seconds(30)));
  const auto ps = furnace({"ps"});
  EXPECT_NE(ps.out.find(name), std::string::npos) << ps.out;
  // logs -f ends when the run ends: stop it while following.
  auto e = env();
  const Background follow = spawn_furnace({"logs", "-f", name}, e, s_dir->path() + "/follow.out", as_user());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto stopped = furnace({"stop", name});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_EQ(follow.wait(std::chrono::seconds(20)), 0) << follow.output();
  EXPECT_NE(follow.output().find("tick 3"), std::string::npos);
  EXPECT_EQ(containers_of(fs::canonical(s_project).string()), "");
  const auto show = nlohmann::json::parse(furnace({"show", name, "--json"}).out)["run"];
  EXPECT_EQ(show["status"], "killed") << show;
  EXPECT_EQ(show["signal"], "SIGTERM") << show;
  EXPECT_EQ(show["detached"], true);
}


TEST_F(RunCli, rerun_uses_the_recorded_image_and_command) {
  const auto first = furnace({"run", "-C", s_project, "--", "sh", "-c", "echo rerun-marker $((6*7))"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto original = last_run();
  const auto again = furnace({"rerun", std::to_string(original["id"].get<long long>())});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("rerun-marker 42"), std::string::npos) << again.out;
  const auto second = last_run();
  EXPECT_NE(second["id"], original["id"]);
  EXPECT_EQ(second["image_id"], original["image_id"]);
  EXPECT_EQ(second["command"], original["command"]);
  EXPECT_EQ(second["gpu_indices"], original["gpu_indices"]);
  // The image gone: rebuilt from furnace.lock, and said so.
  const std::string image_id = original["image_id"].get<std::string>();
  sh("docker images -q --filter reference='furnace-user/" + s_name + "*' | sort -u | xargs -r docker rmi -f");
  sh("docker rmi -f " + image_id);
  const auto rebuilt = furnace({"rerun", std::to_string(original["id"].get<long long>())});
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt.err;
  EXPECT_NE(rebuilt.out.find("rerun-marker 42"), std::string::npos) << rebuilt.out;
  EXPECT_NE(rebuilt.err.find("is gone: building the project again from its furnace.lock"),
            std::string::npos)
      << rebuilt.err;

  const auto missing = furnace({"rerun", "999999"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no run '999999'"), std::string::npos) << missing.err;
}

TEST_F(RunCli, a_shell_reads_commands_from_a_pipe) {
  util::SystemRunner runner;
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(120000);
  o.env = changed_env(env());
  std::vector<std::string> argv = as_user();
  argv.insert(argv.end(), {"/bin/sh", "-c",
                           std::string("echo 'whoami; echo shell-ok' | ") + FURNACE_BINARY +
                               " shell -C " + s_project});
  const auto r = runner.run(argv, o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.code, 0) << r->err;
  EXPECT_NE(r->out.find(std::string(k_user) + "\nshell-ok\n"), std::string::npos) << r->out << r->err;
}

TEST_F(RunCli, a_corrupt_history_warns_and_the_run_goes_on) {
  const testing::TempDir home;
  home.write(".local/share/furnace/history.db", std::string(8192, 'x'));
  sh("chown -R " + std::to_string(k_uid) + " " + home.path());
  const auto r = furnace({"run", "-C", s_project, "--", "echo", "still-ran"}, {{"HOME", home.path()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("still-ran"), std::string::npos);
  EXPECT_NE(r.err.find("furnace: warning: the run history is not available"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("history.db"), std::string::npos) << r.err;
}


TEST_F(RunCli, a_project_without_furnace_yaml_runs_from_the_resolvers_plan) {
  const testing::TempDir d;
  const std::string name = "furnace-it-noyaml-" + std::to_string(::getpid());
  const std::string project = d.path() + "/" + name;
  d.write(name + "/requirements.txt",
          "--extra-index-url https://download.pytorch.org/whl/cu116\ntorch==1.13.1+cu116\n");
  d.write(name + "/src/.keep", "");
  sh("chown -R " + std::to_string(k_uid) + " " + d.path());
  const auto r = furnace({"run", "-C", project + "/src", "--", "python", "-c",
                          "import os, torch; print(torch.__version__[:4], os.getcwd())"});
  sh("docker images -q --filter reference='furnace*/" + name + "*' | sort -u | xargs -r docker rmi -f");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1.13 " + fs::canonical(project).string() + "/src"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(project + "/furnace.yaml")) << "nothing written into the project";
  EXPECT_EQ(last_run()["base_image"], k_base);
}


TEST_F(RunCli, shell_attach_opens_a_shell_in_the_running_container) {
  const auto started = furnace({"run", "-C", s_project, "-d", "--", "sleep", "60"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const std::string name = util::split(started.out, ' ').front();
  util::SystemRunner runner;
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(60000);
  o.env = changed_env(env());
  std::vector<std::string> argv = as_user();
  argv.insert(argv.end(), {"/bin/sh", "-c",
                           std::string("echo 'whoami; echo attached-to $(hostname)' | ") +
                               FURNACE_BINARY + " shell --attach -C " + s_project});
  const auto r = runner.run(argv, o);
  furnace({"stop", "-t", "1", name});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.code, 0) << r->err;
  EXPECT_NE(r->out.find(std::string(k_user) + "\nattached-to "), std::string::npos) << r->out << r->err;
  const auto none = furnace({"shell", "--attach", "-C", s_project});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no running container of"), std::string::npos) << none.err;
}

// sudo -E furnace build / run with the caller's HOME, in the caller's project: the lock, the
// build's staging and log, the history (with SQLite's WAL files), the run's log and the caches
// are the caller's, who goes on without furnace failing on a root-owned file (issue 12, item 4).
TEST_F(RunCli, under_sudo_what_furnace_writes_for_the_caller_stays_theirs) {
  auto e = env();
  e["SUDO_UID"] = std::to_string(k_uid);
  e["SUDO_GID"] = std::to_string(k_uid);
  e["SUDO_USER"] = k_user;
  // The baseline: what the suite's earlier tests wrote as root (their output files) is the
  // caller's, so that whatever is root-owned afterwards is furnace's doing.
  sh("chown -R " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + s_dir->path());
  const auto built = run_furnace({"build", "--force", "--no-verify", s_project}, e); // as root
  ASSERT_EQ(built.exit_code, 0) << built.err;
  const auto ran = run_furnace({"run", "-C", s_project, "--", "true"}, e);
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_EQ(last_run()["exit_code"], 0);
  const auto left = sh("find " + s_dir->path() + " -mindepth 1 ! -uid " + std::to_string(k_uid) +
                       " -o -mindepth 1 ! -gid " + std::to_string(k_uid));
  EXPECT_EQ(left.out, "") << "root-owned after sudo";
  EXPECT_NE(sh("find " + s_dir->path() + "/home -name '*.db-wal'").out, "") << "the WAL was checked";
  EXPECT_TRUE(fs::exists(s_project + "/furnace.lock"));
  // The caller goes on as themselves.
  EXPECT_EQ(furnace({"history", "-n", "1"}).exit_code, 0);
  const auto again = furnace({"run", "-C", s_project, "--", "true"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

// RELIABILITY case 50: a command that tries to take the host (mount, chown of a project file to
// root, setuid) fails, because it runs as the caller without capabilities and with
// no-new-privileges; the host's file keeps its owner; the history says who ran which image.
TEST_F(RunCli, an_escalation_attempt_fails_and_host_files_keep_their_owner) {
  s_dir->write("project/victim.txt", "mine\n");
  sh("chown " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + s_project +
     "/victim.txt");
  const auto r = furnace(
      {"run", "-C", s_project, "--", "sh", "-c",
       "mount -t tmpfs none /tmp 2>/dev/null; echo mount=$?; "
       "chown 0:0 victim.txt 2>/dev/null; echo chown=$?; "
       "cp /bin/sh /tmp/sh && chmod u+s /tmp/sh && /tmp/sh -c 'id -u' 2>/dev/null; "
       "grep -h '^CapEff' /proc/self/status; grep -h '^NoNewPrivs' /proc/self/status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // mount(8) and chown fail (a non-zero status): no CAP_SYS_ADMIN, no CAP_CHOWN.
  EXPECT_NE(r.out.find("mount="), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("mount=0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("chown="), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("chown=0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::to_string(k_uid) + "\n"), std::string::npos)
      << "the setuid copy stays the caller: " << r.out;
  EXPECT_NE(r.out.find("CapEff:\t0000000000000000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NoNewPrivs:\t1"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat((s_project + "/victim.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, k_uid);
  const auto run = last_run();
  EXPECT_EQ(run["user"], k_user);
  EXPECT_EQ(run["image_id"].get<std::string>().rfind("sha256:", 0), 0U);
  EXPECT_EQ(run["project"], fs::canonical(s_project).string());
}

// Every process's command line, by pid.
std::map<int, std::string> all_command_lines() {
  std::map<int, std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    out[std::stoi(name)] = read_text(e.path().string() + "/cmdline");
  }
  return out;
}

// Files under `dir` (down to `depth` levels, not following links) whose content holds `needle`.
std::vector<std::string>
files_holding(const std::string& dir, const std::string& needle, int depth) {
  std::vector<std::string> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
       end;
       it != end;
       it.increment(ec)) {
    if (ec) {
      break;
    }
    if (it.depth() >= depth) {
      it.disable_recursion_pending();
    }
    if (it->is_regular_file(ec) && it->file_size(ec) < (1U << 20U) &&
        read_text(it->path().string()).find(needle) != std::string::npos) {
      found.push_back(it->path().string());
    }
  }
  return found;
}

// Issue 12 item 2, RELIABILITY case 39 (for -e): secrets given to a run never show in a
// process's command line while it runs (sampled every 10 ms), reach the container, and leave no
// file behind. DOCKER_PASSWORD (a variable the docker CLI reads itself, so it goes through the
// env file) comes by name from furnace's environment: in no command line, ever. API_TOKEN is
// given as -e NAME=VALUE: the user typed it into furnace's own command line, which furnace
// overwrites as it starts; after that it is in no command line either.
TEST_F(RunCli, a_secret_given_with_e_never_shows_in_a_command_line_and_leaves_no_file) {
  const std::string secret = "s3cr3t-" + std::to_string(::getpid()) + "-DOCKER";
  const std::string token = "t0k3n-" + std::to_string(::getpid()) + "-PLAIN";
  auto e = env();
  e["DOCKER_PASSWORD"] = secret;
  const Background b = spawn_furnace({"run",
                                      "-C",
                                      s_project,
                                      "-e",
                                      "DOCKER_PASSWORD",
                                      "-e",
                                      "API_TOKEN=" + token,
                                      "--",
                                      "python",
                                      "-c",
                                      "import os, time\n"
                                      "print('reversed', os.environ['DOCKER_PASSWORD'][::-1], "
                                      "os.environ['API_TOKEN'][::-1], flush=True)\n"
                                      "time.sleep(3)"},
                                     e,
                                     s_dir->path() + "/secret.out",
                                     as_user());
  int samples = 0;
  bool leaked = false;
  bool hidden = false; // furnace's own command line was seen with API_TOKEN=***
  std::string where;
  int code = -2;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& [pid, line] : all_command_lines()) {
      const bool own_start = pid == b.pid && !hidden; // furnace before it hid the value
      if (pid == b.pid &&
          line.find("API_TOKEN=" + std::string(token.size(), '*')) != std::string::npos) {
        hidden = true;
      }
      if (line.find(secret) != std::string::npos ||
          (line.find(token) != std::string::npos && !own_start)) {
        leaked = true;
        where = std::to_string(pid) + ": " + line;
      }
    }
    ++samples;
    int status = 0;
    if (::waitpid(b.pid, &status, WNOHANG) == b.pid) {
      code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(hidden) << "furnace's own command line must lose the value";
  EXPECT_EQ(code, 0) << b.output();
  EXPECT_FALSE(leaked) << "in a command line: " << where;
  EXPECT_GT(samples, 100) << "the run must have been sampled while it ran";
  const std::string out = b.output();
  EXPECT_NE(out.find("reversed " + std::string(secret.rbegin(), secret.rend()) + " " +
                     std::string(token.rbegin(), token.rend())),
            std::string::npos)
      << out;
  // No env file left anywhere furnace writes: the home (logs, history, cache), /tmp, the runtime
  // dir.
  for (const std::string& dir :
       {s_dir->path(), std::string("/tmp"), std::string("/run/user/") + std::to_string(k_uid)}) {
    for (const std::string* s : {&secret, &token}) {
      EXPECT_EQ(files_holding(dir, *s, dir == "/tmp" ? 1 : 16), std::vector<std::string>{}) << dir;
    }
  }
  EXPECT_EQ(furnace({"history", "--json"}).out.find(secret), std::string::npos);
  // What --dry-run shows is what runs: the env file by descriptor, no value.
  const auto dry =
      furnace({"run", "-C", s_project, "--dry-run", "-e", "DOCKER_PASSWORD", "--", "env"},
              {{"DOCKER_PASSWORD", secret}});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.out.find(secret), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("--env-file /dev/fd/3"), std::string::npos) << dry.out;
}

TEST_F(RunCli, proxy_credentials_stay_on_the_host_unless_proxy_env) {
  const std::map<std::string, std::string> proxies{
      {"http_proxy", "http://alice:pr0xy-pw@127.0.0.1:3128"},
      {"https_proxy", "http://127.0.0.1:3129"}};
  const auto r = furnace({"run", "-C", s_project, "--", "env"}, proxies);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("pr0xy-pw"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("https_proxy=http://127.0.0.1:3129\n"), std::string::npos) << r.out;
  EXPECT_NE(
      r.err.find("furnace: warning: http_proxy carries credentials: it is not passed into the "
                 "container ('--proxy-env' passes it"),
      std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("pr0xy-pw"), std::string::npos) << r.err;
  const auto forwarded = furnace({"run", "-C", s_project, "--proxy-env", "--", "env"}, proxies);
  ASSERT_EQ(forwarded.exit_code, 0) << forwarded.err;
  EXPECT_NE(forwarded.out.find("http_proxy=http://alice:pr0xy-pw@127.0.0.1:3128\n"),
            std::string::npos)
      << forwarded.out;
}

// RELIABILITY case 13: project paths with a space, ',', ':', '=' and '"' are mounted exactly
// (docker inspect's Mounts); a newline is refused before anything runs; a symlink to / and the
// home directory as the project root are refused.
TEST_F(RunCli, hostile_project_paths_are_mounted_exactly_or_refused) {
  const std::string weird = s_dir->path() + "/we ird,pro:ject=x\"y";
  for (const char* f : {"train.py", "requirements.txt", "furnace.yaml"}) {
    fs::create_directories(weird + "/sub dir");
    fs::copy_file(s_project + "/" + f, weird + "/" + f, fs::copy_options::overwrite_existing);
  }
  sh("chown -R " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " '" + s_dir->path() + "'");
  const std::string real = fs::canonical(weird).string();
  const auto started = furnace({"run", "-C", weird + "/sub dir", "-d", "--", "sleep", "60"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const std::string name = util::split(started.out, ' ').front();
  const auto mounts =
      nlohmann::json::parse(sh("docker inspect --format '{{json .Mounts}}' " + name).out);
  const auto workdir =
      std::string(util::trim(sh("docker inspect --format '{{.Config.WorkingDir}}' " + name).out));
  furnace({"stop", "-t", "1", name});
  ASSERT_EQ(mounts.size(), 1U) << mounts;
  EXPECT_EQ(mounts[0]["Type"], "bind");
  EXPECT_EQ(mounts[0]["Source"], real);
  EXPECT_EQ(mounts[0]["Destination"], real);
  EXPECT_EQ(mounts[0]["RW"], true);
  EXPECT_EQ(workdir, real + "/sub dir");

  // A newline in the path: refused up front, nothing started.
  const std::string nl = s_dir->path() + "/new\nline";
  fs::create_directories(nl);
  fs::copy_file(s_project + "/furnace.yaml", nl + "/furnace.yaml");
  sh("chown -R " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " '" + nl + "'");
  const auto refused = furnace({"run", "-C", nl, "--", "true"});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("furnace: error: the path '" + fs::canonical(s_dir->path()).string() +
                             "/new\\nline' has a control character: furnace does not mount it\n"
                             "  hint: rename the directory"),
            std::string::npos)
      << refused.err;
  EXPECT_NE(last_run()["project"], fs::canonical(nl).string()) << "nothing ran, nothing recorded";

  // A symlink to / as the project directory, and the home directory itself.
  const std::string link = s_dir->path() + "/to-root";
  fs::create_symlink("/", link);
  sh("chown -h " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + link);
  const auto slash = furnace({"run", "-C", link, "--", "true"});
  EXPECT_EQ(slash.exit_code, 2) << slash.err;
  EXPECT_NE(slash.err.find("furnace: error: the project root is / itself"), std::string::npos)
      << slash.err;
  s_dir->write("home/.git/HEAD", "ref: refs/heads/main\n");
  s_dir->write("home/notes/.keep", "");
  sh("chown -R " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + s_dir->path() + "/home");
  const auto home = furnace({"run", "-C", s_dir->path() + "/home/notes", "--", "true"});
  fs::remove_all(s_dir->path() + "/home/.git");
  EXPECT_EQ(home.exit_code, 2) << home.err;
  EXPECT_NE(home.err.find("is your home directory"), std::string::npos) << home.err;
  EXPECT_NE(home.err.find("'furnace init' in a subdirectory"), std::string::npos) << home.err;
}

// Issue 12 item 8, RELIABILITY case 32: the limits reach the engine, and a run over its memory
// limit is killed, recorded as oom-killed (exit 137) and said with the limit.
TEST_F(RunCli, limits_reach_the_engine_and_an_oom_kill_is_recorded_with_its_limit) {
  const auto started = furnace({"run",
                                "-C",
                                s_project,
                                "-d",
                                "--memory",
                                "256m",
                                "--cpus",
                                "1.5",
                                "--pids-limit",
                                "100",
                                "--",
                                "sleep",
                                "60"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const std::string name = util::split(started.out, ' ').front();
  const std::string host = std::string(
      util::trim(sh("docker inspect --format '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} "
                    "{{.HostConfig.PidsLimit}} {{.HostConfig.ShmSize}}' " +
                    name)
                     .out));
  // RELIABILITY case 42: never privileged, no capability added, no-new-privileges, and the
  // project the only mount (no docker.sock).
  const std::string safe = std::string(util::trim(
      sh("docker inspect --format '{{.HostConfig.Privileged}} {{json .HostConfig.CapAdd}} "
         "{{json .HostConfig.SecurityOpt}} {{len .Mounts}} {{range .Mounts}}{{.Source}}{{end}}' " +
         name)
          .out));
  furnace({"stop", "-t", "1", name});
  EXPECT_EQ(host, "268435456 1500000000 100 67108864") << "shm: a quarter of the limit";
  EXPECT_EQ(safe, "false null [\"no-new-privileges\"] 1 " + fs::canonical(s_project).string());

  const auto oom = furnace({"run",
                            "-C",
                            s_project,
                            "--memory",
                            "128m",
                            "--",
                            "python",
                            "-c",
                            "blocks = []\n"
                            "while True:\n"
                            "    blocks.append(bytearray(16 << 20))\n"});
  EXPECT_EQ(oom.exit_code, 137) << oom.err;
  const auto run = last_run();
  EXPECT_EQ(run["status"], "oom-killed") << run;
  EXPECT_EQ(run["exit_code"], 137);
  EXPECT_NE(oom.err.find("furnace: error: " + run["name"].get<std::string>() +
                         " was killed for using more than its memory limit --memory 128m "
                         "(OOMKilled, exit 137)\n  hint: give it more with --memory"),
            std::string::npos)
      << oom.err;
  EXPECT_EQ(containers_of(fs::canonical(s_project).string()), "");
  const auto over = furnace({"run", "-C", s_project, "--cpus", "lots", "--", "true"});
  EXPECT_EQ(over.exit_code, 2);
  EXPECT_NE(over.err.find("--cpus 'lots' is not a number of CPUs"), std::string::npos) << over.err;
}

} // namespace
} // namespace furnace::testing
