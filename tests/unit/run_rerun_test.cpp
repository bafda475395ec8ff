// `furnace rerun` repeats what the history recorded of a run besides its image and command: the
// -v mounts and the limits (schema 2). The plan records them; the rerun's engine command carries
// them again; a -v host directory that is gone refuses the rerun before anything starts.
// FakeEngine, FakeLauncher and a real history file under a temp XDG_DATA_HOME.

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
#include <furnace/util/process.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace furnace::run {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_base = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";

std::string flag_value(const std::vector<std::string>& argv, const std::string& flag) {
  const auto it = std::find(argv.begin(), argv.end(), flag);
  return it == argv.end() || it + 1 == argv.end() ? std::string() : *(it + 1);
}

TEST(RunRecordSettings, the_plan_records_the_v_mounts_but_not_the_datasets_and_the_limits) {
  image::BuiltImage img;
  img.project_root = "/home/alice/paper";
  img.project_name = "paper";
  img.tag = "furnace/paper:0123456789ab";
  RunInputs in;
  in.here = "/home/alice/paper";
  in.name = "paper-abcdef";
  in.image = img.tag;
  in.host.memory_bytes = 8ULL << 30U;
  // extra_mounts: the -v mounts first (resolved), then the datasets.
  in.mounts = {Mount{"/srv/data set", "/data", true},
               Mount{"/srv/out", "/out", false},
               Mount{"/mnt/furnace/imagenet", "/datasets/imagenet", true}};
  RunOptions o;
  o.volumes = {"../data set:/data:ro", "/srv/out:/out"};
  o.memory = "2g";
  o.cpus = "1.5";
  o.pids_limit = "100";
  auto plan = plan_run(img, o, in);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->record.volumes,
            (std::vector<std::string>{"/srv/data set:/data:ro", "/srv/out:/out"}));
  EXPECT_EQ(plan->record.memory, "2g");
  EXPECT_EQ(plan->record.cpus, "1.5");
  EXPECT_EQ(plan->record.pids_limit, "100");
  o.volumes.clear();
  o.memory.clear();
  o.cpus.clear();
  o.pids_limit.clear();
  in.mounts.resize(1);
  plan = plan_run(img, o, in);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_TRUE(plan->record.volumes.empty());
  EXPECT_EQ(plan->record.memory, "");
}

class RerunSettings : public ::testing::Test {
protected:
  void SetUp() override {
    m_project = m_dir.path() + "/paper";
    m_data = m_dir.path() + "/data set";
    m_dir.write("paper/furnace.yaml", std::string("name: paper\nbase: ") + k_base + "\n");
    m_dir.write("paper/train.py", "print('hi')\n");
    m_dir.write("data set/x.txt", "x\n");
    m_env = testing::run_test_env(m_dir.path());
    testing::base_image_without_gpu(m_engine, m_probe, k_base);
    core::Context ctx = context();
    image::ImageRequest r;
    r.path = m_project;
    r.dry_run = true;
    auto img = image::ensure_image(ctx, r, m_engine, m_probe);
    ASSERT_TRUE(img.has_value()) << m_err.str();
    engine::ImageSummary built;
    built.id = "sha256:project";
    built.repo_tags = {img->tag};
    m_engine.images.push_back(built);
    m_dir.write("paper/furnace.lock", "# test\nimage: " + img->tag + "\n");
  }

  core::Context context() { return core::Context{m_ui, m_runner, m_env, "/"}; }

  std::vector<history::RunRecord> records() { return testing::recorded_runs(m_env); }

  testing::TempDir m_dir;
  std::string m_project;
  std::string m_data;
  core::Env m_env;
  std::ostringstream m_out;
  std::ostringstream m_err;
  core::Ui m_ui{m_out, m_err, false};
  testing::FakeEngine m_engine;
  testing::FakeGpuProbe m_probe;
  testing::FakeRunner m_runner;
  testing::FakeLauncher m_launcher;
};

TEST_F(RerunSettings, a_rerun_mounts_the_same_directories_with_the_same_limits) {
  RunOptions o;
  o.path = m_project;
  o.command = {"python", "train.py"};
  o.volumes = {m_data + ":/data:ro"};
  o.memory = "2g";
  o.cpus = "1.5";
  o.pids_limit = "100";
  core::Context ctx = context();
  ASSERT_EQ(run_run(ctx, o, m_engine, m_probe, m_launcher), 0) << m_err.str();
  const auto first = records();
  ASSERT_EQ(first.size(), 1U);
  const std::string real = fs::canonical(m_data).string();
  EXPECT_EQ(first[0].volumes, std::vector<std::string>{real + ":/data:ro"});
  EXPECT_EQ(first[0].memory, "2g");
  ASSERT_EQ(m_launcher.commands.size(), 1U);
  const auto first_argv = m_launcher.commands[0].argv;

  RerunOptions ro;
  ro.run = std::to_string(first[0].id);
  ASSERT_EQ(run_rerun(ctx, ro, m_engine, m_probe, m_launcher), 0) << m_err.str();
  ASSERT_EQ(m_launcher.commands.size(), 2U);
  const auto& argv = m_launcher.commands[1].argv;
  EXPECT_EQ(flag_value(argv, "--memory"), "2g");
  EXPECT_EQ(flag_value(argv, "--cpus"), "1.5");
  EXPECT_EQ(flag_value(argv, "--pids-limit"), "100");
  const std::string joined = util::shell_join(argv);
  EXPECT_NE(joined.find(real), std::string::npos) << joined;
  EXPECT_NE(joined.find("/data"), std::string::npos) << joined;
  const auto both = records();
  ASSERT_EQ(both.size(), 2U);
  EXPECT_EQ(both[0].volumes, first[0].volumes);
  EXPECT_EQ(both[0].memory, "2g");
  EXPECT_EQ(both[0].cpus, "1.5");
  EXPECT_EQ(both[0].pids_limit, "100");

  // The host directory gone: refused, naming it, before any container or record.
  fs::remove_all(m_data);
  m_err.str("");
  EXPECT_EQ(run_rerun(ctx, ro, m_engine, m_probe, m_launcher), 125);
  EXPECT_NE(m_err.str().find("furnace: error: run " + ro.run + " mounted " + real + " (-v " + real +
                             ":/data:ro), which no longer exists"),
            std::string::npos)
      << m_err.str();
  EXPECT_NE(m_err.str().find("furnace run -v NEW_PATH:/data:ro"), std::string::npos) << m_err.str();
  EXPECT_EQ(m_launcher.commands.size(), 2U);
  EXPECT_EQ(records().size(), 2U);
}

} // namespace
} // namespace furnace::run
