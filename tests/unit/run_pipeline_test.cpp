// `furnace run` end to end over the fakes: FakeEngine (the engine API), FakeRunner (the CLI
// builds), FakeLauncher (the session, the supervisor, the host's facts, the clock). Exit codes,
// signals, the history record, the user layer, dry runs and bad options, without Docker; the
// same paths against the real engine are in tests/integration/run_cli_test.cpp.

#include "support/fake_engine.hpp"
#include "support/fake_gpu.hpp"
#include "support/fake_run.hpp"
#include "support/fake_runner.hpp"
#include "support/test_env.hpp"

#include <furnace/core/ui.hpp>
#include <furnace/history/store.hpp>
#include <furnace/image/ensure.hpp>
#include <furnace/run/command.hpp>
#include <furnace/run/plan.hpp>
#include <furnace/run/support.hpp>
#include <furnace/util/atomic_file.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <sstream>

namespace furnace::run {
namespace {

constexpr const char* k_base = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";

std::string joined(const EngineCommand& c) {
  return util::shell_join(c.argv);
}

// The value after `flag` in `argv` ("" when absent).
std::string flag_value(const std::vector<std::string>& argv, const std::string& flag) {
  const auto it = std::find(argv.begin(), argv.end(), flag);
  return it == argv.end() || it + 1 == argv.end() ? std::string() : *(it + 1);
}

RunOptions command(std::vector<std::string> argv) {
  RunOptions o;
  o.command = std::move(argv);
  return o;
}

class RunPipeline : public ::testing::Test {
protected:
  void SetUp() override {
    m_project = m_dir.path() + "/paper";
    m_dir.write("paper/furnace.yaml", std::string("name: paper\nbase: ") + k_base + "\n");
    m_dir.write("paper/train.py", "print('hi')\n");
    m_env = testing::run_test_env(m_dir.path());
    testing::base_image_without_gpu(m_engine, m_probe, k_base);
    // The project's image exists already (with its lock): the run builds nothing.
    m_tag = tag_now();
    engine::ImageSummary built;
    built.id = "sha256:project";
    built.repo_tags = {m_tag};
    m_engine.images.push_back(built);
    m_dir.write("paper/furnace.lock", "# test\nimage: " + m_tag + "\n");
    m_engine.calls.clear();
  }

  core::Context context() { return core::Context{m_ui, m_runner, m_env, m_host_root}; }

  std::string tag_now() {
    core::Context ctx = context();
    image::ImageRequest r;
    r.path = m_project;
    r.dry_run = true;
    auto img = image::ensure_image(ctx, r, m_engine, m_probe);
    EXPECT_TRUE(img.has_value()) << m_err.str();
    return img ? img->tag : std::string();
  }

  int run(RunOptions o) {
    o.path = m_project;
    core::Context ctx = context();
    return run_run(ctx, o, m_engine, m_probe, m_launcher);
  }

  std::vector<history::RunRecord> records() { return testing::recorded_runs(m_env); }

  testing::TempDir m_dir;
  std::string m_host_root = "/";
  std::string m_project;
  std::string m_tag;
  core::Env m_env;
  std::ostringstream m_out;
  std::ostringstream m_err;
  core::Ui m_ui{m_out, m_err, false};
  testing::FakeEngine m_engine;
  testing::FakeGpuProbe m_probe;
  testing::FakeRunner m_runner;
  testing::FakeLauncher m_launcher;
};

TEST_F(RunPipeline, returns_the_commands_exit_code_and_records_the_run) {
  m_launcher.result.exit_code = 3;
  m_launcher.time.now = 1700000123000;
  EXPECT_EQ(run(command({"python", "train.py"})), 3) << m_err.str();
  ASSERT_EQ(m_launcher.commands.size(), 1U);
  const std::vector<std::string>& argv = m_launcher.commands[0].argv;
  EXPECT_EQ(joined(m_launcher.commands[0]).rfind("docker run --init ", 0), 0U)
      << joined(m_launcher.commands[0]);
  EXPECT_EQ(std::vector<std::string>(argv.end() - 3, argv.end()),
            (std::vector<std::string>{m_tag, "python", "train.py"}));
  EXPECT_NE(m_err.str().find("no GPU for this run (no NVIDIA driver): running on the CPU"),
            std::string::npos) << m_err.str();
  EXPECT_EQ(m_out.str(), ""); // nothing built: the run is quiet
  const auto recs = records();
  ASSERT_EQ(recs.size(), 1U);
  const history::RunRecord& r = recs[0];
  EXPECT_EQ(r.name, flag_value(argv, "--name"));
  EXPECT_EQ(r.status, history::k_exited);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.started_ms, 1700000123000);
  EXPECT_EQ(r.image_tag, m_tag);
  EXPECT_EQ(r.image_id, "sha256:project");
  EXPECT_EQ(r.base_image, k_base);
  EXPECT_EQ(r.host, "testhost");
  EXPECT_EQ(r.command, (std::vector<std::string>{"python", "train.py"}));
  EXPECT_EQ(r.gpu_request, "all");
  EXPECT_TRUE(r.gpu_indices.empty());
  // The session's output went into the run's log; the container is gone afterwards.
  auto log = util::read_file(r.log_path);
  ASSERT_TRUE(log.has_value()) << r.log_path;
  EXPECT_NE(log->find("output of train.py\n"), std::string::npos) << *log;
  // One engine call after the CLI: the exited container is removed (not by force).
  EXPECT_NE(std::find(m_engine.calls.begin(), m_engine.calls.end(), "remove_container " + r.name),
            m_engine.calls.end());
}

// A base image from the test engine (label org.furnace.stand-in) is named as what it is on every
// run, also when nothing is built: it must never pass for the official image.
TEST_F(RunPipeline, a_stand_in_base_image_is_said_on_every_run) {
  EXPECT_EQ(run(command({"true"})), 0) << m_err.str();
  EXPECT_EQ(m_err.str().find("STAND-IN"), std::string::npos) << m_err.str();
  for (auto& img : m_engine.images) {
    if (img.id == "sha256:base") {
      img.labels["org.furnace.stand-in"] = "true";
      img.labels["org.furnace.stand-in.note"] = "Debian's CPU torch";
    }
  }
  for (int i = 0; i < 2; ++i) { // the full path, then the no-op cache
    m_err.str("");
    EXPECT_EQ(run(command({"true"})), 0) << m_err.str();
    EXPECT_NE(m_err.str().find(std::string("warning: ") + k_base +
                               " is a STAND-IN made by furnace's test engine (Debian's CPU "
                               "torch), not the official image"),
              std::string::npos)
        << i << ": " << m_err.str();
  }
}

TEST_F(RunPipeline, a_relayed_signal_is_recorded_and_said) {
  m_launcher.result = SessionResult{130, SIGINT, false};
  EXPECT_EQ(run(command({"sleep", "100"})), 130);
  const auto recs = records();
  ASSERT_EQ(recs.size(), 1U);
  EXPECT_EQ(recs[0].status, history::k_killed);
  EXPECT_EQ(recs[0].signal, "SIGINT");
  EXPECT_NE(m_err.str().find(recs[0].name + " stopped (SIGINT), exit 130"), std::string::npos)
      << m_err.str();
}

TEST_F(RunPipeline, a_second_signal_removes_the_container_by_force) {
  m_launcher.result = SessionResult{137, SIGTERM, true};
  m_launcher.signals = 2;
  EXPECT_EQ(run(command({"sleep", "100"})), 137);
  const std::string name = records().at(0).name;
  EXPECT_NE(m_err.str().find("a second signal: removing " + name + " by force"), std::string::npos);
  EXPECT_NE(std::find(m_engine.calls.begin(), m_engine.calls.end(), "remove_container " + name + " force"),
            m_engine.calls.end());
}

// The engine restarts during a run: the CLI loses its connection (exit 125) and the engine is
// down for a moment. With live-restore the container runs on: furnace attaches to it again and
// the run ends as the command does.
TEST_F(RunPipeline, an_engine_restart_with_live_restore_attaches_again) {
  m_env["FURNACE_ENGINE_WAIT"] = "10";
  std::string name;
  m_launcher.on_start = [&](const EngineCommand& c) {
    if (c.argv.at(1) == "run") {
      name = flag_value(c.argv, "--name");
      engine::ContainerDetails d;
      d.name = name;
      d.id = "0123456789abcdef";
      d.status = "running";
      d.running = true;
      m_engine.containers.push_back(d);
      m_engine.down = core::make_error(core::ErrorKind::unavailable, "connection refused");
      m_engine.up_after_pings = 3;
      m_launcher.result = SessionResult{125, 0, false}; // "error waiting for container: EOF"
    } else {
      m_engine.containers.at(0).running = false; // attached again, the command ends
      m_engine.containers.at(0).status = "exited";
      m_launcher.result = SessionResult{0, 0, false};
    }
  };
  EXPECT_EQ(run(command({"python", "train.py"})), 0) << m_err.str();
  ASSERT_EQ(m_launcher.commands.size(), 2U);
  EXPECT_EQ(joined(m_launcher.commands[1]), "docker attach --sig-proxy=true --no-stdin " + name);
  EXPECT_NE(m_err.str().find("lost the connection to the engine during the run"), std::string::npos)
      << m_err.str();
  EXPECT_NE(m_err.str().find(name + " still runs (the engine kept it): attaching to it again"),
            std::string::npos)
      << m_err.str();
  const auto recs = records();
  ASSERT_EQ(recs.size(), 1U);
  EXPECT_EQ(recs[0].status, history::k_exited);
  EXPECT_EQ(recs[0].exit_code, 0);
  EXPECT_TRUE(m_engine.containers.empty());
  EXPECT_EQ(std::count(m_engine.calls.begin(),
                       m_engine.calls.end(),
                       "remove_container " + name + " force"),
            0)
      << "a container the engine kept is never removed by force";
}

// Without live-restore the engine's restart ends the container: an error (125), the container's
// end recorded, and the exited container removed once the engine is back.
TEST_F(RunPipeline, an_engine_restart_without_live_restore_ends_the_run_with_an_error) {
  m_env["FURNACE_ENGINE_WAIT"] = "10";
  std::string name;
  m_launcher.on_start = [&](const EngineCommand& c) {
    name = flag_value(c.argv, "--name");
    engine::ContainerDetails d;
    d.name = name;
    d.id = "0123456789abcdef";
    d.status = "exited";
    d.exit_code = 143;
    m_engine.containers.push_back(d);
    m_engine.down = core::make_error(core::ErrorKind::unavailable, "connection refused");
    m_engine.up_after_pings = 2;
  };
  m_launcher.result = SessionResult{125, 0, false};
  EXPECT_EQ(run(command({"python", "train.py"})), 125);
  ASSERT_EQ(m_launcher.commands.size(), 1U) << "nothing to attach to";
  EXPECT_NE(m_err.str().find("furnace: error: the engine restarted during the run (the connection "
                             "to it was lost) and ended " +
                             name + " (exit 143)"),
            std::string::npos)
      << m_err.str();
  EXPECT_NE(m_err.str().find("'sudo furnace setup --live-restore'"), std::string::npos);
  const auto recs = records();
  ASSERT_EQ(recs.size(), 1U);
  EXPECT_EQ(recs[0].status, history::k_killed);
  EXPECT_EQ(recs[0].exit_code, 143);
  EXPECT_TRUE(m_engine.containers.empty()) << "removed once the engine was back";
}

// An engine that does not come back: the container may still run, so it is left to the engine
// (not recorded as ended, its GPUs not released), and furnace says how to find it.
TEST_F(RunPipeline, an_engine_that_does_not_come_back_leaves_the_run_to_it) {
  m_env["FURNACE_ENGINE_WAIT"] = "0";
  m_launcher.on_start = [&](const EngineCommand&) {
    m_engine.down = core::make_error(core::ErrorKind::unavailable, "connection refused");
  };
  m_launcher.result = SessionResult{125, 0, false};
  EXPECT_EQ(run(command({"python", "train.py"})), 125);
  const auto recs = records();
  ASSERT_EQ(recs.size(), 1U);
  EXPECT_EQ(recs[0].status, history::k_running);
  EXPECT_NE(m_err.str().find("the engine did not come back within 0 s: " + recs[0].name +
                             " may still run"),
            std::string::npos)
      << m_err.str();
  EXPECT_NE(m_err.str().find("'furnace stop " + recs[0].name + "' ends it"), std::string::npos);
}

// Leftovers of killed runs (case 24): one created but never started (furnace killed between
// create and start) and one that ended are removed by the next run without asking; a running
// one is only named (it may hold work).
TEST_F(RunPipeline, the_next_run_removes_created_and_ended_orphans_and_names_running_ones) {
  const std::string root = std::filesystem::canonical(m_project).string();
  const auto orphan = [&](const std::string& name, const std::string& state) {
    engine::ContainerDetails d;
    d.name = name;
    d.id = name + "-id";
    d.status = state;
    d.running = state == "running";
    d.labels = {{k_label_run, name},
                {k_label_project, root},
                {k_label_host, "testhost"},
                {k_label_pid, "0"}}; // no such process: its furnace is gone
    m_engine.containers.push_back(d);
  };
  orphan("paper-created", "created");
  orphan("paper-exited", "exited");
  orphan("paper-running", "running");
  EXPECT_EQ(run(command({"true"})), 0) << m_err.str();
  EXPECT_NE(m_err.str().find("removed paper-created (left by a killed run)"), std::string::npos)
      << m_err.str();
  EXPECT_NE(m_err.str().find("removed paper-exited (left by a killed run)"), std::string::npos);
  EXPECT_NE(m_err.str().find("left by killed runs: paper-running"), std::string::npos);
  ASSERT_EQ(m_engine.containers.size(), 1U);
  EXPECT_EQ(m_engine.containers[0].name, "paper-running");
}

TEST_F(RunPipeline, a_cli_that_cannot_start_is_125_and_recorded_as_failed) {
  m_launcher.cannot_start = core::make_error(core::ErrorKind::not_found, "cannot run docker: No such file or directory");
  EXPECT_EQ(run(command({"true"})), 125);
  EXPECT_NE(m_err.str().find("furnace: error: cannot run docker: No such file or directory"),
            std::string::npos) << m_err.str();
  const auto recs = records();
  ASSERT_EQ(recs.size(), 1U);
  EXPECT_EQ(recs[0].status, history::k_failed);
  EXPECT_EQ(recs[0].exit_code, 125);
}

TEST_F(RunPipeline, the_invoking_user_gets_a_layer_and_runs_as_themselves) {
  m_launcher.host.user = HostUser{1000, 1000, "alice", "/home/alice"};
  EXPECT_EQ(run(command({"id"})), 0) << m_err.str();
  ASSERT_EQ(m_runner.calls.size(), 1U);
  EXPECT_EQ(
      m_runner.calls[0].rfind("docker build --quiet --force-rm --label "
                              "org.furnace.user-layer-of=sha256:project --tag furnace-user/paper:",
                              0),
      0U)
      << m_runner.calls[0];
  const std::vector<std::string>& argv = m_launcher.commands.at(0).argv;
  EXPECT_EQ(flag_value(argv, "--user"), "1000:1000");
  EXPECT_EQ(argv[argv.size() - 2].rfind("furnace-user/paper:", 0), 0U);
  EXPECT_EQ(records().at(0).user, "alice");
  EXPECT_NE(m_err.str().find("adding user alice (1000:1000)"), std::string::npos);
}

TEST_F(RunPipeline, a_dry_run_prints_the_command_and_runs_and_records_nothing) {
  RunOptions o;
  o.command = {"python", "train.py"};
  o.dry_run = true;
  EXPECT_EQ(run(o), 0) << m_err.str();
  EXPECT_EQ(m_out.str().rfind("docker run --init ", 0), 0U) << m_out.str();
  EXPECT_NE(m_out.str().find(" " + m_tag + " python train.py\n"), std::string::npos) << m_out.str();
  EXPECT_TRUE(m_launcher.commands.empty());
  EXPECT_TRUE(records().empty());
}

TEST_F(RunPipeline, a_bad_option_is_a_usage_error_before_anything_runs) {
  m_launcher.host.user = HostUser{1000, 1000, "alice", "/home/alice"};
  RunOptions o;
  o.command = {"true"};
  o.ports = {"not-a-port"};
  EXPECT_EQ(run(o), 2);
  EXPECT_TRUE(m_runner.calls.empty()); // no user layer built
  EXPECT_TRUE(m_launcher.commands.empty());
}

TEST_F(RunPipeline, a_detached_run_prints_its_name_and_its_supervisor_records_the_end) {
  m_launcher.on_start = [this](const EngineCommand& c) {
    engine::ContainerDetails d;
    d.name = flag_value(c.argv, "--name");
    d.id = "0123456789abcdef";
    d.status = "running";
    d.running = true;
    m_engine.containers.push_back(d);
  };
  RunOptions o;
  o.command = {"python", "train.py"};
  o.detach = true;
  EXPECT_EQ(run(o), 0) << m_err.str();
  auto recs = records();
  ASSERT_EQ(recs.size(), 1U);
  EXPECT_EQ(m_out.str(), recs[0].name + " 0123456789ab\n");
  EXPECT_TRUE(recs[0].detached);
  EXPECT_EQ(recs[0].status, history::k_running);
  // The supervisor's pid is in the label it starts the container with.
  EXPECT_EQ(std::count(m_launcher.commands[0].argv.begin(), m_launcher.commands[0].argv.end(),
                       "org.furnace.pid=" + std::to_string(::getpid())),
            1);
  m_launcher.result.exit_code = 0;
  m_engine.containers.at(0).running = false; // the command ended: its CLI exits
  m_engine.containers.at(0).status = "exited";
  m_launcher.end_supervised();
  recs = records();
  EXPECT_EQ(recs.at(0).status, history::k_exited);
  EXPECT_EQ(recs.at(0).exit_code, 0);
  EXPECT_TRUE(m_engine.containers.empty());
}

// The supervisor of a detached run settles an engine restart the same way: it attaches again to
// the container the engine kept, and records the command's own end.
TEST_F(RunPipeline, a_detached_runs_supervisor_attaches_again_after_an_engine_restart) {
  m_env["FURNACE_ENGINE_WAIT"] = "10";
  m_launcher.on_start = [this](const EngineCommand& c) {
    if (c.argv.at(1) == "attach") {
      m_engine.containers.at(0).running = false; // attached again, the command ends
      m_engine.containers.at(0).status = "exited";
      m_launcher.result = SessionResult{4, 0, false};
      return;
    }
    engine::ContainerDetails d;
    d.name = flag_value(c.argv, "--name");
    d.id = "0123456789abcdef";
    d.status = "running";
    d.running = true;
    m_engine.containers.push_back(d);
  };
  RunOptions o;
  o.command = {"python", "train.py"};
  o.detach = true;
  EXPECT_EQ(run(o), 0) << m_err.str();
  const std::string name = records().at(0).name;
  // The engine restarts: the supervisor's CLI loses its connection, the engine comes back.
  m_engine.down = core::make_error(core::ErrorKind::unavailable, "connection refused");
  m_engine.up_after_pings = 2;
  m_launcher.result = SessionResult{125, 0, false};
  m_launcher.end_supervised();
  ASSERT_EQ(m_launcher.commands.size(), 2U);
  EXPECT_EQ(joined(m_launcher.commands[1]), "docker attach --sig-proxy=true --no-stdin " + name);
  const auto recs = records();
  EXPECT_EQ(recs.at(0).status, history::k_exited);
  EXPECT_EQ(recs.at(0).exit_code, 4);
  EXPECT_TRUE(m_engine.containers.empty());
}

// The engine's word that it is Podman reaches the command line: on a host whose processes cannot
// raise a hard limit, no --ulimit (Podman would then ask for nofile=1048576 and fail every run).
TEST_F(RunPipeline, a_podman_engine_where_limits_cannot_rise_gets_no_ulimit) {
  m_launcher.host.can_raise_limits = false;
  m_launcher.host.engine_can_unlock_memory = false;
  ASSERT_EQ(run(command({"true"})), 0) << m_err.str();
  m_engine.is_podman = true;
  ASSERT_EQ(run(command({"true"})), 0) << m_err.str();
  ASSERT_EQ(m_launcher.commands.size(), 2U);
  EXPECT_EQ(flag_value(m_launcher.commands[0].argv, "--ulimit"), "stack=67108864")
      << "Docker keeps it: it does not raise nofile";
  EXPECT_EQ(flag_value(m_launcher.commands[1].argv, "--ulimit"), "")
      << joined(m_launcher.commands[1]);
}

// plan_run alone: a pure value.
TEST(RunPlan, the_plan_is_a_value_of_its_inputs) {
  image::BuiltImage img;
  img.project_root = "/home/alice/paper";
  img.project_name = "paper";
  img.tag = "furnace/paper:0123456789ab";
  img.yaml.env = {{"WANDB_MODE", "offline"}};
  img.yaml.datasets = {"imagenet"};
  RunOptions o;
  o.command = {"python", "train.py"};
  o.env = {"SECRET"};
  RunInputs in;
  in.here = "/home/alice/paper/src";
  in.name = "paper-abcdef";
  in.image = "furnace-user/paper:fedcba987654";
  in.gpus.mode = GpuMode::devices;
  in.gpus.indices = {1};
  in.gpus.uuids = {"GPU-11111111-2222-3333-4444-555555555555"};
  in.gpus.request = "1";
  in.host.user = HostUser{1000, 1000, "alice", "/home/alice"};
  in.host.memory_bytes = 64ULL << 30U;
  in.host.timezone = "Europe/Berlin";
  in.host.host_name = "gpu1";
  in.host.pid = 77;
  in.env = {{"SECRET", "s3cret"}, {"https_proxy", "http://proxy:3128"}};
  in.now_ms = 5;
  in.mounts = {Mount{"/mnt/furnace/imagenet", "/datasets/imagenet", true}};
  auto plan = plan_run(img, o, in);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  const ContainerSpec& s = plan->spec;
  EXPECT_EQ(s.workdir, "/home/alice/paper/src");
  // The datasets (and -v) come after the project, as the front end resolved them.
  ASSERT_EQ(s.mounts.size(), 2U);
  EXPECT_EQ(s.mounts[1].source, "/mnt/furnace/imagenet");
  EXPECT_EQ(s.mounts[1].target, "/datasets/imagenet");
  EXPECT_TRUE(s.mounts[1].read_only);
  EXPECT_EQ(s.shm_size, "16g");
  EXPECT_EQ(s.env, (std::map<std::string, std::string>{{"HOME", "/home/alice"},
                                                      {"PYTHONUNBUFFERED", "1"},
                                                      {"SECRET", "s3cret"},
                                                      {"TZ", "Europe/Berlin"},
                                                      {"WANDB_MODE", "offline"},
                                                      {"https_proxy", "http://proxy:3128"}}));
  EXPECT_EQ(s.labels.at("org.furnace.gpus"), "1");
  EXPECT_EQ(s.labels.at("org.furnace.pid"), "77");
  EXPECT_EQ(s.labels.at("org.furnace.user"), "alice");
  EXPECT_FALSE(s.tty);
  EXPECT_EQ(plan->record.started_ms, 5);
  EXPECT_EQ(plan->record.gpu_request, "1");
  EXPECT_TRUE(plan->warnings.empty());
  // The secret's value is never in argv.
  const EngineCommand cmd = docker_run_command(s);
  EXPECT_EQ(std::find(cmd.argv.begin(), cmd.argv.end(), "SECRET=s3cret"), cmd.argv.end());
  // The container gets the locked GPU by UUID, not by an index the runtime may number otherwise.
  const auto gpus = std::find(cmd.argv.begin(), cmd.argv.end(), "--gpus");
  ASSERT_NE(gpus, cmd.argv.end());
  EXPECT_EQ(*std::next(gpus), "\"device=GPU-11111111-2222-3333-4444-555555555555\"");
  in.rootless = true;
  auto rootless = plan_run(img, o, in);
  ASSERT_TRUE(rootless.has_value());
  EXPECT_FALSE(rootless->spec.user.has_value());
  EXPECT_FALSE(rootless->spec.memlock_unlimited);
}

// Issue 12 item 8 (RELIABILITY case 32): an OOM-killed run is recorded as such, and said with
// its limit. The engine's "oom" event is the evidence (the container is gone, --rm).
TEST_F(RunPipeline, an_oom_killed_run_is_recorded_and_said_with_its_limit) {
  m_launcher.result.exit_code = 137;
  // The container's state says OOMKilled (the engine keeps it until furnace removes it).
  m_launcher.on_start = [this](const EngineCommand& c) {
    engine::ContainerDetails d;
    d.name = flag_value(c.argv, "--name");
    d.status = "exited";
    d.exit_code = 137;
    d.oom_killed = true;
    m_engine.containers.push_back(d);
  };
  RunOptions o = command({"python", "train.py"});
  o.memory = "2g";
  EXPECT_EQ(run(o), 137);
  const auto recs = records();
  ASSERT_EQ(recs.size(), 1U);
  EXPECT_EQ(recs[0].status, history::k_oom_killed);
  EXPECT_EQ(recs[0].exit_code, 137);
  EXPECT_EQ(recs[0].signal, "SIGKILL");
  EXPECT_NE(m_err.str().find("furnace: error: " + recs[0].name +
                             " was killed for using more than its memory limit --memory 2g "
                             "(OOMKilled, exit 137)\n  hint: give it more with --memory"),
            std::string::npos)
      << m_err.str();
  const std::vector<std::string>& argv = m_launcher.commands.at(0).argv;
  EXPECT_EQ(flag_value(argv, "--memory"), "2g");
  EXPECT_EQ(flag_value(argv, "--shm-size"), "512m") << "the default /dev/shm fits in the limit";
  EXPECT_TRUE(m_engine.containers.empty()) << "removed after it was asked";

  // The container gone already: the engine's "oom" event tells.
  m_launcher.on_start = [this](const EngineCommand& c) {
    const std::string name = flag_value(c.argv, "--name");
    const long long t = (m_launcher.time.now + 500) * 1000000;
    m_engine.events[name] = {engine::ContainerEvent{"start", t - 1, {}},
                             engine::ContainerEvent{"oom", t, {}},
                             engine::ContainerEvent{"die", t + 1, {{"exitCode", "137"}}}};
  };
  EXPECT_EQ(run(o), 137);
  EXPECT_EQ(records().at(0).status, history::k_oom_killed);
}

TEST_F(RunPipeline, a_137_without_an_oom_event_is_a_plain_kill_and_a_normal_run_asks_nothing) {
  m_launcher.result.exit_code = 137;
  EXPECT_EQ(run(command({"true"})), 137);
  EXPECT_EQ(records().at(0).status, history::k_killed);
  EXPECT_EQ(m_err.str().find("OOMKilled"), std::string::npos);
  m_engine.calls.clear();
  m_launcher.result.exit_code = 0;
  EXPECT_EQ(run(command({"true"})), 0);
  for (const std::string& c : m_engine.calls) {
    EXPECT_EQ(c.rfind("container_events", 0), std::string::npos) << "no extra engine call: " << c;
  }
}

// The admin's /etc/furnace/config.yaml, under a temp host root: its default applies when the user
// gives none; more than its cap is refused naming the file and the key; a user's own cap wins.
TEST_F(RunPipeline, host_limits_give_defaults_and_caps_per_user) {
  m_host_root = m_dir.path() + "/root";
  m_dir.write(
      "root/etc/furnace/config.yaml",
      "run:\n  defaults: {memory: 8g, cpus: 4}\n  caps: {memory: 16g, cpus: 8, pids_limit: 2048}\n"
      "  users:\n    bob: {caps: {memory: 64g}}\n");
  m_launcher.host.user = HostUser{1000, 1000, "alice", "/home/alice"};
  EXPECT_EQ(run(command({"true"})), 0) << m_err.str();
  std::vector<std::string> argv = m_launcher.commands.back().argv;
  EXPECT_EQ(flag_value(argv, "--memory"), "8g");
  EXPECT_EQ(flag_value(argv, "--cpus"), "4");
  EXPECT_EQ(flag_value(argv, "--pids-limit"), "2048") << "no default: the cap is the limit";

  RunOptions o = command({"true"});
  o.memory = "32g";
  EXPECT_EQ(run(o), 2);
  EXPECT_NE(m_err.str().find("furnace: error: --memory 32g is more than this host allows alice (" +
                             m_host_root +
                             "/etc/furnace/config.yaml: run.caps.memory: 16g)\n"
                             "  hint: ask for 16g or less (the host's admin sets the caps)"),
            std::string::npos)
      << m_err.str();
  const std::size_t ran = m_launcher.commands.size();
  m_launcher.host.user = HostUser{1001, 1001, "bob", "/home/bob"};
  EXPECT_EQ(run(o), 0) << m_err.str();
  ASSERT_EQ(m_launcher.commands.size(), ran + 1);
  EXPECT_EQ(flag_value(m_launcher.commands.back().argv, "--memory"), "32g");
  // furnace.yaml's value counts as asked, and is named so.
  m_dir.write("paper/furnace.yaml", std::string("name: paper\nbase: ") + k_base + "\ncpus: 12\n");
  m_err.str("");
  EXPECT_EQ(run(command({"true"})), 2);
  EXPECT_NE(m_err.str().find("furnace.yaml's cpus 12 is more than this host allows bob (" +
                             m_host_root + "/etc/furnace/config.yaml: run.caps.cpus: 8)"),
            std::string::npos)
      << m_err.str();
  // A broken admin file stops the run, naming it.
  m_dir.write("root/etc/furnace/config.yaml", "run:\n  caps: {memroy: 1g}\n");
  m_err.str("");
  EXPECT_EQ(run(command({"true"})), 125);
  EXPECT_NE(m_err.str().find("config.yaml:2:10: unknown key 'run.caps.memroy'"), std::string::npos)
      << m_err.str();
}

// Issue 12 item 5: a project root of / or $HOME itself is refused before anything is built.
TEST_F(RunPipeline, the_home_directory_as_the_project_root_is_refused) {
  m_dir.write("home/.git/HEAD", "ref: refs/heads/main\n");
  m_dir.write("home/notes/.keep", "");
  RunOptions o = command({"true"});
  o.path = m_dir.path() + "/home/notes";
  core::Context ctx = context();
  EXPECT_EQ(run_run(ctx, o, m_engine, m_probe, m_launcher), 2);
  EXPECT_NE(m_err.str().find("furnace: error: the project root is your home directory " +
                             m_dir.path() +
                             "/home: furnace would mount all of it read-write into "
                             "the container\n  hint: run furnace from your project's directory, or "
                             "'furnace init' in a subdirectory to make that the project"),
            std::string::npos)
      << m_err.str();
  EXPECT_TRUE(m_launcher.commands.empty());
  EXPECT_TRUE(m_runner.calls.empty());
}

TEST(RunPlan, project_roots_of_slash_and_home_and_control_characters_are_refused) {
  const testing::TempDir d;
  d.write("home/paper/.keep", "");
  const std::string home = d.path() + "/home";
  std::filesystem::create_symlink(home, d.path() + "/home-link");
  EXPECT_TRUE(check_project_root(home + "/paper", home + "/paper", home));
  const auto slash = check_project_root("/", "/tmp", home);
  ASSERT_FALSE(slash);
  EXPECT_EQ(slash.error().message,
            "the project root is / itself: furnace would mount the whole "
            "file system read-write into the container");
  EXPECT_FALSE(check_project_root(d.path() + "/home-link", d.path() + "/home-link", home))
      << "the home directory through a symlink";
  const auto nl = check_project_root("/tmp/a\nb", "/tmp/a\nb", home);
  ASSERT_FALSE(nl);
  EXPECT_EQ(nl.error().message,
            "the path '/tmp/a\\nb' has a control character: furnace does not mount it");
  EXPECT_EQ(nl.error().hint,
            "rename the directory (no line breaks, tabs or other control characters)");
}

// A plan for `root` with options `o` (the inputs of the_plan_is_a_value_of_its_inputs, smaller).
core::Result<RunPlan> plan_for(const RunOptions& o,
                               const core::Env& env = {},
                               const std::string& root = "/home/alice/paper") {
  image::BuiltImage img;
  img.project_root = root;
  img.project_name = "paper";
  img.tag = "furnace/paper:0123456789ab";
  RunInputs in;
  in.here = root;
  in.name = "paper-abcdef";
  in.image = img.tag;
  in.host.user = HostUser{1000, 1000, "alice", "/home/alice"};
  in.host.memory_bytes = 64ULL << 30U;
  in.env = env;
  return plan_run(img, o, in);
}

// Issue 12 item 2: proxy URLs with credentials stay on the host unless --proxy-env.
TEST(RunPlan, proxies_with_credentials_are_withheld_unless_proxy_env) {
  EXPECT_FALSE(proxy_has_credentials("http://proxy.lab:3128"));
  EXPECT_FALSE(proxy_has_credentials("http://proxy.lab:3128/path@x"));
  EXPECT_FALSE(proxy_has_credentials("localhost,127.0.0.1,.lab"));
  EXPECT_TRUE(proxy_has_credentials("http://user:pa@ss@proxy.lab:3128"));
  EXPECT_TRUE(proxy_has_credentials("http://user@proxy.lab:3128/"));
  EXPECT_TRUE(proxy_has_credentials("user:pass@proxy.lab:3128"));
  EXPECT_TRUE(proxy_has_credentials("localhost, http://u:p@other:1"));
  const core::Env env{{"http_proxy", "http://alice:s3cret@proxy.lab:3128"},
                      {"HTTPS_PROXY", "http://proxy.lab:3128"},
                      {"no_proxy", "localhost"}};
  RunOptions o;
  o.command = {"true"};
  auto plan = plan_for(o, env);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->spec.env.count("http_proxy"), 0U);
  EXPECT_EQ(plan->spec.env.at("HTTPS_PROXY"), "http://proxy.lab:3128");
  EXPECT_EQ(plan->spec.env.at("no_proxy"), "localhost");
  ASSERT_EQ(plan->warnings.size(), 1U);
  EXPECT_EQ(plan->warnings[0],
            "http_proxy carries credentials: it is not passed into the container "
            "('--proxy-env' passes it; its value then shows in 'docker inspect')");
  o.proxy_env = true;
  plan = plan_for(o, env);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->spec.env.at("http_proxy"), "http://alice:s3cret@proxy.lab:3128");
  EXPECT_TRUE(plan->warnings.empty());
  // Still never in argv.
  const EngineCommand cmd = docker_run_command(plan->spec);
  for (const std::string& a : cmd.argv) {
    EXPECT_EQ(a.find("s3cret"), std::string::npos) << a;
  }
}

TEST(RunPlan, a_value_for_the_env_file_that_is_not_one_line_is_refused) {
  RunOptions o;
  o.command = {"true"};
  o.env = {"DOCKER_CONFIG=/a\nb"};
  auto plan = plan_for(o);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message.rfind("the value of DOCKER_CONFIG has a line break", 0), 0U)
      << plan.error().message;
  o.env = {"TOKEN=multi\nline"};
  EXPECT_TRUE(plan_for(o)) << "other variables travel in the CLI's environment, any bytes";
}

// RELIABILITY case 33 (part): /dev/shm counts against --memory.
TEST(RunPlan, shm_larger_than_the_memory_limit_is_refused_and_the_default_fits) {
  RunOptions o;
  o.command = {"true"};
  o.memory = "4g";
  o.shm_size = "8g";
  auto plan = plan_for(o);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message,
            "--shm-size 8g is larger than the memory limit 4g: /dev/shm "
            "counts against it, so the run would be killed before it is full");
  EXPECT_EQ(plan.error().hint,
            "give a smaller --shm-size (a quarter of the memory is furnace's "
            "default) or a larger --memory");
  o.shm_size = "2g";
  plan = plan_for(o);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->spec.shm_size, "2g");
  o.shm_size.clear();
  plan = plan_for(o);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->spec.shm_size, "1024m") << "a quarter of the limit, not of the host";
  o.memory.clear();
  plan = plan_for(o);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->spec.shm_size, "16g");
  o.memory = "lots";
  plan = plan_for(o);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message,
            "--memory 'lots' is not a memory size of at least 6m (\"8g\", \"512m\")");
  o.memory.clear();
  o.cpus = "0";
  EXPECT_EQ(plan_for(o).error().message, "--cpus '0' is not a number of CPUs (\"4\", \"1.5\")");
  o.cpus.clear();
  o.pids_limit = "-1";
  EXPECT_EQ(plan_for(o).error().message,
            "--pids-limit '-1' is not a number of processes (\"4096\")");
}

TEST(RunPlan, a_mount_with_a_control_character_is_refused) {
  RunOptions o;
  o.command = {"true"};
  auto plan = plan_for(o, {}, "/home/alice/pa\tper");
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message,
            "the path '/home/alice/pa\\tper' has a control character: furnace does not mount it");
  EXPECT_TRUE(plan_for(o, {}, "/home/alice/a b,c:d=e\"f"));
}

TEST(RunLimits, the_host_file_is_parsed_strictly) {
  auto h = parse_host_limits("mirror: x\nrun:\n  defaults: {memory: 8g}\n  caps: {cpus: '2.5'}\n"
                             "  users:\n    carol: {caps: {pids_limit: 100}}\n",
                             "/etc/furnace/config.yaml");
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->defaults.memory, "8g");
  EXPECT_EQ(h->caps.cpus, "2.5");
  EXPECT_EQ(h->user_caps.at("carol").pids_limit, "100");
  const auto err = [](const std::string& text) {
    auto r = parse_host_limits(text, "/etc/furnace/config.yaml");
    return r ? std::string() : r.error().message;
  };
  EXPECT_EQ(err("run:\n  caps: {memory: huge}\n"),
            "/etc/furnace/config.yaml:2:18: run.caps.memory 'huge' is not a memory size of at "
            "least 6m (\"8g\", \"512m\")");
  EXPECT_EQ(err("run:\n  limits: {}\n"), "/etc/furnace/config.yaml:2:3: unknown key 'run.limits'");
  EXPECT_EQ(err("run:\n  users:\n    dave: {memory: 1g}\n"),
            "/etc/furnace/config.yaml:3:11: 'run.users.dave' must be a mapping with one key, caps");
  EXPECT_EQ(err(""), "");
  EXPECT_EQ(err("run: [1]\n"),
            "/etc/furnace/config.yaml:1:6: 'run' must be a mapping of defaults, caps and users");
  EXPECT_TRUE(load_host_limits("/nonexistent-root")) << "no file: no limits";
}

// Podman: GPUs through CDI, and no --ulimit at all where no process may raise a hard limit (any
// --ulimit makes Podman ask for nofile=1048576, which fails there); Docker keeps its stack limit.
TEST(RunPlan, podman_gets_cdi_gpus_and_no_ulimit_where_limits_cannot_rise) {
  image::BuiltImage img;
  img.project_root = "/p";
  img.project_name = "p";
  RunOptions o;
  o.command = {"true"};
  RunInputs in;
  in.here = "/p";
  in.name = "p-abcdef";
  in.image = "furnace/p:0123456789ab";
  in.gpus.mode = GpuMode::devices;
  in.gpus.indices = {1, 3};
  in.gpus.uuids = {"GPU-1", "GPU-3"};
  in.host.memory_bytes = 8ULL << 30U;
  in.host.can_raise_limits = false;
  const auto argv = [&] {
    auto plan = plan_run(img, o, in);
    EXPECT_TRUE(plan.has_value());
    return docker_run_command(plan->spec).argv;
  };
  const auto has = [](const std::vector<std::string>& a, const std::vector<std::string>& seq) {
    return std::search(a.begin(), a.end(), seq.begin(), seq.end()) != a.end();
  };
  auto docker = argv();
  EXPECT_TRUE(has(docker, {"--ulimit", "stack=67108864"}));
  EXPECT_TRUE(has(docker, {"--gpus", "\"device=GPU-1,GPU-3\""}));

  in.podman = true;
  auto podman = argv();
  EXPECT_EQ(std::find(podman.begin(), podman.end(), "--ulimit"), podman.end());
  EXPECT_EQ(std::find(podman.begin(), podman.end(), "--gpus"), podman.end());
  EXPECT_TRUE(
      has(podman, {"--device", "nvidia.com/gpu=GPU-1", "--device", "nvidia.com/gpu=GPU-3"}));
  EXPECT_TRUE(has(podman, {"--init"})) << "catatonit, Podman's init, forwards signals";

  in.host.can_raise_limits = true;
  EXPECT_TRUE(has(argv(), {"--ulimit", "stack=67108864"}));
  in.gpus.mode = GpuMode::all;
  EXPECT_TRUE(has(argv(), {"--device", "nvidia.com/gpu=all"}));
  in.gpus.uuids = {"GPU-1", ""};
  in.gpus.mode = GpuMode::devices;
  EXPECT_TRUE(has(argv(), {"--device", "nvidia.com/gpu=1", "--device", "nvidia.com/gpu=3"}))
      << "by index when a UUID is missing";
}

} // namespace
} // namespace furnace::run
