// `furnace run` end to end over the fakes: FakeEngine (the engine API), FakeRunner (the CLI
// builds), FakeLauncher (the session, the supervisor, the host's facts, the clock). Exit codes,
// signals, the history record, the user layer, dry runs and bad options, without Docker; the
// same paths against the real engine are in tests/integration/run_cli_test.cpp.

#include "support/fake_engine.hpp"
#include "support/fake_gpu.hpp"
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
    m_env = {{"HOME", m_dir.path() + "/home"},
             {"XDG_CONFIG_HOME", m_dir.path() + "/config"},
             {"XDG_DATA_HOME", m_dir.path() + "/data"},
             {"XDG_CACHE_HOME", m_dir.path() + "/cache"},
             {"FURNACE_BUILDER", "buildkit"},
             {"FURNACE_DOCKER", "docker"}};
    engine::ImageSummary base;
    base.id = "sha256:base";
    base.repo_tags = {k_base};
    m_engine.images.push_back(base);
    m_probe.error = core::make_error(core::ErrorKind::not_found, "no NVIDIA driver");
    // The project's image exists already (with its lock): the run builds nothing.
    m_tag = tag_now();
    engine::ImageSummary built;
    built.id = "sha256:project";
    built.repo_tags = {m_tag};
    m_engine.images.push_back(built);
    m_dir.write("paper/furnace.lock", "# test\nimage: " + m_tag + "\n");
    m_engine.calls.clear();
  }

  core::Context context() { return core::Context{m_ui, m_runner, m_env, "/"}; }

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

  std::vector<history::RunRecord> records() {
    auto store = history::Store::open(history::default_path(m_env));
    EXPECT_TRUE(store.has_value());
    auto list = store->list(history::Query{});
    EXPECT_TRUE(list.has_value());
    return list ? *list : std::vector<history::RunRecord>{};
  }

  testing::TempDir m_dir;
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
  auto plan = plan_run(img, o, in);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  const ContainerSpec& s = plan->spec;
  EXPECT_EQ(s.workdir, "/home/alice/paper/src");
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
  EXPECT_EQ(plan->warnings,
            (std::vector<std::string>{"furnace.yaml 'datasets' (imagenet) are not mounted yet by this furnace"}));
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

} // namespace
} // namespace furnace::run
