// furnace ide's pure half: the devcontainer.json a RunPlan renders as (golden files, with GPUs
// and without), what stays out of it (secrets, the run's own labels), the PyCharm values, and
// the rule for a file that is already there (furnace's own is refreshed, anyone else's is shown
// as a unified diff and left alone unless --force). The devcontainer CLI starting the file for
// real is tests/integration/ide_test.cpp.

#include <furnace/run/devcontainer.hpp>
#include <furnace/run/plan.hpp>
#include <furnace/util/atomic_file.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

namespace furnace::run {
namespace {

namespace fs = std::filesystem;

const fs::path k_golden = fs::path(FURNACE_SOURCE_DIR) / "tests/unit/golden/ide";

// Compares `actual` with golden/ide/`name`; FURNACE_UPDATE_GOLDEN=1 rewrites it (and skips).
void expect_golden(const std::string& name, const std::string& actual) {
  const fs::path p = k_golden / name;
  const char* update = std::getenv("FURNACE_UPDATE_GOLDEN"); // NOLINT(concurrency-mt-unsafe)
  if (update != nullptr && std::string(update) == "1") {
    ASSERT_TRUE(util::write_file_atomic(p.string(), actual));
    GTEST_SKIP() << "rewrote " << p;
  }
  auto expected = util::read_file(p.string());
  ASSERT_TRUE(expected) << "missing golden file " << p << " (FURNACE_UPDATE_GOLDEN=1 writes it)";
  EXPECT_EQ(actual, *expected) << "golden file " << p << " differs";
}

// A plan as `furnace ide` makes it: alice's project, her user layer, two GPUs chosen by UUID.
RunPlan plan_with(GpuMode mode, const std::optional<GuiHost>& gui = std::nullopt) {
  image::BuiltImage img;
  img.project_root = "/home/alice/paper";
  img.project_name = "paper";
  img.tag = "furnace/paper:0123456789ab";
  img.yaml.env = {{"WANDB_MODE", "offline"}};
  img.yaml.ports = {"8888"};
  RunOptions o;
  o.env = {"WANDB_API_KEY", "HF_HOME=/data/hf"};
  o.ports = {"6006:6006"};
  o.memory = "64g";
  RunInputs in;
  in.here = "/home/alice/paper";
  in.name = "paper";
  in.image = "furnace-user/paper:fedcba987654";
  in.gpus.mode = mode;
  if (mode == GpuMode::devices) {
    in.gpus.indices = {1, 3};
    in.gpus.uuids = {"GPU-11111111-2222-3333-4444-555555555555",
                     "GPU-33333333-2222-3333-4444-555555555555"};
    in.gpus.request = "1,3";
  }
  in.host.user = HostUser{1000, 1000, "alice", "/home/alice"};
  in.host.memory_bytes = 256ULL << 30U;
  in.host.timezone = "Europe/Berlin";
  in.host.host_name = "gpu1";
  in.host.pid = 77;
  in.env = {{"WANDB_API_KEY", "k-123456"}, {"https_proxy", "http://proxy:3128"}};
  o.proxy_env = true;
  in.env["http_proxy"] = "http://bob:pw@proxy:3128";
  in.gui = gui;
  auto plan = plan_run(img, o, in);
  EXPECT_TRUE(plan.has_value()) << plan.error().message;
  return *plan;
}

IdeInput input() {
  IdeInput in;
  in.project_name = "paper";
  in.python = "/opt/conda/bin/python3";
  in.from_host = {"WANDB_API_KEY"};
  return in;
}

// The JSON below the comment header.
nlohmann::json body_of(const std::string& text) {
  return nlohmann::json::parse(text.substr(text.find('{')));
}

TEST(IdeRender, gpus_chosen_by_uuid_golden) {
  expect_golden("gpus.devcontainer.json",
                render_devcontainer(plan_with(GpuMode::devices), input()));
}

TEST(IdeRender, no_gpu_golden) {
  IdeInput in = input();
  in.python = "/usr/bin/python3";
  expect_golden("cpu.devcontainer.json", render_devcontainer(plan_with(GpuMode::none), in));
}

TEST(IdeRender, pycharm_values_golden) {
  IdeInput in = input();
  in.tool = "pycharm";
  expect_golden("gpus.pycharm.txt", render_pycharm(plan_with(GpuMode::devices), in));
}

TEST(IdeRender, the_file_runs_what_furnace_run_runs_and_keeps_secret_values_out) {
  const RunPlan plan = plan_with(GpuMode::devices);
  const std::string text = render_devcontainer(plan, input());
  const nlohmann::json j = body_of(text);
  EXPECT_EQ(j["image"], "furnace-user/paper:fedcba987654");
  EXPECT_EQ(j["workspaceMount"], "type=bind,source=/home/alice/paper,target=/home/alice/paper");
  EXPECT_EQ(j["workspaceFolder"], "/home/alice/paper");
  EXPECT_EQ(j["remoteUser"], "alice");
  EXPECT_EQ(j["updateRemoteUserUID"], true);
  EXPECT_EQ(j["forwardPorts"], (nlohmann::json{8888, 6006}));
  // The key's value stays out of the file; the IDE's environment gives it.
  EXPECT_EQ(text.find("k-123456"), std::string::npos) << text;
  EXPECT_EQ(j["containerEnv"]["WANDB_API_KEY"], "${localEnv:WANDB_API_KEY}");
  EXPECT_EQ(j["containerEnv"]["https_proxy"], "http://proxy:3128");
  EXPECT_EQ(j["containerEnv"]["http_proxy"], "${localEnv:http_proxy}"); // --proxy-env, a password
  EXPECT_EQ(text.find("bob:pw"), std::string::npos);
  EXPECT_EQ(j["containerEnv"]["HF_HOME"], "/data/hf");
  EXPECT_FALSE(j["containerEnv"].contains("HOME"));
  const auto args = j["runArgs"].get<std::vector<std::string>>();
  const auto has = [&](const std::string& a) {
    return std::find(args.begin(), args.end(), a) != args.end();
  };
  EXPECT_TRUE(has("--init"));
  EXPECT_TRUE(has("--security-opt=no-new-privileges"));
  EXPECT_TRUE(has("--shm-size=16g"));
  EXPECT_TRUE(has("--ulimit=memlock=-1"));
  EXPECT_TRUE(has("--memory=64g"));
  EXPECT_TRUE(
      has("--gpus=\"device=GPU-11111111-2222-3333-4444-555555555555,GPU-33333333-2222-3333-4444-"
          "555555555555\""));
  EXPECT_TRUE(has("--label=org.furnace.ide=vscode"));
  EXPECT_TRUE(has("--label=org.furnace.project=/home/alice/paper"));
  // Not a run's: `furnace run` would take the container for a killed run's leftover.
  for (const std::string& a : args) {
    EXPECT_EQ(a.find("org.furnace.run="), std::string::npos) << a;
    EXPECT_EQ(a.find("org.furnace.pid"), std::string::npos) << a;
    EXPECT_EQ(a.rfind("--name", 0), std::string::npos) << a;
    EXPECT_EQ(a.rfind("--env", 0), std::string::npos) << a;
  }
  // No hostRequirements.gpu: the devcontainer CLI would add `--gpus all` after runArgs and
  // hand the container every GPU (or run the NVIDIA hook twice with all of them).
  EXPECT_FALSE(j.contains("hostRequirements"));
  const nlohmann::json all = body_of(render_devcontainer(plan_with(GpuMode::all), input()));
  EXPECT_FALSE(all.contains("hostRequirements"));
  EXPECT_NE(all["runArgs"].dump().find("\"--gpus=all\""), std::string::npos) << all.dump();
}

TEST(IdeRender, other_mounts_of_the_plan_go_into_mounts) {
  RunPlan plan = plan_with(GpuMode::none);
  plan.spec.mounts.push_back(Mount{"/tmp/.X11-unix", "/tmp/.X11-unix", true});
  plan.spec.mounts.push_back(Mount{"/data/a,b", "/data", false});
  plan.spec.env["DISPLAY"] = ":0";
  const nlohmann::json j = body_of(render_devcontainer(plan, input()));
  EXPECT_EQ(j["mounts"],
            (nlohmann::json{"type=bind,source=/tmp/.X11-unix,target=/tmp/.X11-unix,readonly",
                            "type=bind,\"source=/data/a,b\",target=/data"}));
  EXPECT_EQ(j["containerEnv"]["DISPLAY"], ":0");
}

// furnace ide --gui: the X sockets and the project's lasting cookie, both read-only, and the
// display's variables (the devcontainer CLI does not forward X11 itself); no --ipc host.
TEST(IdeRender, gui_golden) {
  GuiHost g;
  g.mode = GuiMode::x11;
  g.display = ":0.0";
  g.socket_dir = "/tmp/.X11-unix";
  g.cookie_file = "/home/alice/.local/state/furnace/ide-gui/paper-0123456789ab/Xauthority";
  const std::string text = render_devcontainer(plan_with(GpuMode::none, g), input());
  expect_golden("gui.devcontainer.json", text);
  const nlohmann::json j = body_of(text);
  EXPECT_EQ(j["mounts"],
            (nlohmann::json{"type=bind,source=/tmp/.X11-unix,target=/tmp/.X11-unix,readonly",
                            "type=bind,source=" + g.cookie_file +
                                ",target=/tmp/.furnace-Xauthority,readonly"}));
  EXPECT_EQ(j["containerEnv"]["DISPLAY"], ":0.0");
  EXPECT_EQ(j["containerEnv"]["XAUTHORITY"], "/tmp/.furnace-Xauthority");
  EXPECT_EQ(j["containerEnv"]["QT_X11_NO_MITSHM"], "1");
  EXPECT_EQ(j.dump().find("--ipc"), std::string::npos);
  EXPECT_EQ(j.dump().find("xhost"), std::string::npos);
}

TEST(IdeRender, a_root_caller_gets_no_remote_user) {
  RunPlan plan = plan_with(GpuMode::none);
  plan.spec.user.reset();
  const nlohmann::json j = body_of(render_devcontainer(plan, input()));
  EXPECT_FALSE(j.contains("remoteUser"));
  EXPECT_FALSE(j.contains("updateRemoteUserUID"));
}

TEST(IdeWriteRule, furnaces_own_file_is_refreshed_and_anyone_elses_is_refused_without_force) {
  const std::string old_text = render_devcontainer(plan_with(GpuMode::none), input());
  const std::string new_text = render_devcontainer(plan_with(GpuMode::devices), input());
  EXPECT_TRUE(written_by_furnace_unchanged(old_text));
  EXPECT_EQ(decide_write(std::nullopt, new_text, false), IdeWrite::create);
  EXPECT_EQ(decide_write(new_text, new_text, false), IdeWrite::up_to_date);
  EXPECT_EQ(decide_write(old_text, new_text, false), IdeWrite::refresh);
  // Edited by hand: the hash no longer matches.
  std::string edited = old_text;
  edited.insert(edited.rfind('}'), "  ,\"postCreateCommand\": \"pip install -e .\"\n");
  EXPECT_FALSE(written_by_furnace_unchanged(edited));
  EXPECT_EQ(decide_write(edited, new_text, false), IdeWrite::refuse);
  EXPECT_EQ(decide_write(edited, new_text, true), IdeWrite::replace);
  const std::string hand = "{\n  \"image\": \"mine\"\n}\n";
  EXPECT_FALSE(written_by_furnace_unchanged(hand));
  EXPECT_EQ(decide_write(hand, new_text, false), IdeWrite::refuse);
  EXPECT_EQ(decide_write(hand, new_text, true), IdeWrite::replace);
  // A forged header with the wrong hash is no pass either.
  EXPECT_EQ(decide_write("// furnace-sha256: 00\n" + hand, new_text, false), IdeWrite::refuse);
}

TEST(IdeWriteRule, the_diff_is_unified_with_context_and_hunks) {
  std::string before;
  std::string after;
  for (int i = 1; i <= 20; ++i) {
    before += "line " + std::to_string(i) + "\n";
    after += (i == 5    ? std::string("changed 5")
              : i == 18 ? std::string("changed 18")
                        : "line " + std::to_string(i)) +
             "\n";
  }
  after += "added\n";
  EXPECT_EQ(unified_diff(before, after, "a/x", "b/x"),
            "--- a/x\n+++ b/x\n"
            "@@ -2,7 +2,7 @@\n line 2\n line 3\n line 4\n-line 5\n+changed 5\n line 6\n line 7\n"
            " line 8\n"
            "@@ -15,6 +15,7 @@\n line 15\n line 16\n line 17\n-line 18\n+changed 18\n line 19\n"
            " line 20\n+added\n");
  EXPECT_EQ(unified_diff(before, before, "a", "b"), "");
  EXPECT_EQ(unified_diff("", "x\n", "a", "b"), "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n");
}

TEST(IdeRender, dockerfile_mode_builds_the_projects_dockerfile_with_the_user_layer) {
  const RunPlan plan = plan_with(GpuMode::none);
  IdeInput in = input();
  in.build = true;
  const nlohmann::json j = body_of(render_devcontainer(plan, in));
  EXPECT_FALSE(j.contains("image"));
  EXPECT_EQ(j["build"], (nlohmann::json{{"dockerfile", "Dockerfile"}, {"context", "."}}));
  const auto files = render_build_files("FROM base:1\nCOPY requirements.txt /r.txt\n",
                                        {{"requirements.txt", "numpy\n"}},
                                        plan.spec.user,
                                        "vscode");
  ASSERT_EQ(files.size(), 2U);
  const std::string& df = files.at("Dockerfile");
  EXPECT_EQ(df.rfind("# Written by 'furnace ide vscode --dockerfile'", 0), 0U) << df;
  EXPECT_NE(df.find("\nFROM base:1\nCOPY requirements.txt /r.txt\n\nUSER root\nRUN set -e; "
                    "n=alice; u=1000; g=1000; h=/home/alice;"),
            std::string::npos)
      << df;
  EXPECT_EQ(df.find("FROM -"), std::string::npos) << df;
  EXPECT_TRUE(written_by_furnace_unchanged(df));
  const std::string& req = files.at("requirements.txt");
  EXPECT_TRUE(written_by_furnace_unchanged(req));
  EXPECT_EQ(req.substr(req.find('\n', req.find("furnace-sha256")) + 1), "numpy\n");
  EXPECT_EQ(decide_write(std::string("numpy\ntorch\n"), req, false), IdeWrite::refuse);
  EXPECT_EQ(decide_write(req + "scipy\n", req, false), IdeWrite::refuse); // edited
}

TEST(IdeRender, secret_looking_names) {
  for (const char* n :
       {"WANDB_API_KEY", "HF_TOKEN", "aws_secret_access_key", "DB_PASSWORD", "GITHUB_AUTH"}) {
    EXPECT_TRUE(ide_secret_name(n)) << n;
  }
  for (const char* n : {"PYTHONUNBUFFERED",
                        "TZ",
                        "WANDB_MODE",
                        "HF_HOME",
                        "https_proxy",
                        "DISPLAY",
                        "XAUTHORITY"}) {
    EXPECT_FALSE(ide_secret_name(n)) << n;
  }
}

} // namespace
} // namespace furnace::run
