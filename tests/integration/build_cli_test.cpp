// furnace build against the real engine and the stand-in pytorch image: BuildKit (the 20.10
// client) and the legacy builder (the 28.x client), the no-op rebuild, a 2 GiB file that stays
// out of the context, and the image actually runs torch.

#include "support/test_env.hpp"

#include <furnace/util/process.hpp>
#include <furnace/util/strings.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

namespace furnace::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_base = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";

util::ProcessOutput docker(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/docker"};
  argv.insert(argv.end(), args.begin(), args.end());
  util::SystemRunner runner;
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(300000);
  auto r = runner.run(argv, o);
  return r ? *r : util::ProcessOutput{};
}

std::string trim_nl(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
    s.pop_back();
  }
  return s;
}

class BuildCli : public ::testing::Test {
protected:
  void SetUp() override {
    FURNACE_REQUIRE_ENGINE();
    static int counter = 0;
    m_name = "furnace-it-build-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    m_project = m_dir.path() + "/project";
    m_dir.write("project/furnace.yaml", "name: " + m_name + "\nbase: " + k_base + "\napt: [jq]\n");
    m_dir.write("project/train.py", "import torch\nprint(torch.__version__)\n");
    m_env = {{"HOME", m_dir.path() + "/home"},
             {"XDG_CONFIG_HOME", m_dir.path() + "/config"},
             {"-XDG_CACHE_HOME", ""}};
  }

  void TearDown() override {
    if (m_name.empty()) {
      return;
    }
    const auto ids = docker({"images", "-q", "furnace/" + m_name});
    for (const std::string& id : util::split(ids.out, '\n')) {
      if (!id.empty()) {
        docker({"rmi", "-f", id});
      }
    }
  }

  // A sparse 2 GiB file in the project: it must not reach the daemon.
  void add_big_file() const {
    fs::create_directories(m_project + "/data");
    const int fd = ::open((m_project + "/data/big.bin").c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 2LL << 30), 0);
    ::close(fd);
  }

  TempDir m_dir;
  std::string m_name;
  std::string m_project;
  std::map<std::string, std::string> m_env;
};

TEST_F(BuildCli, buildkit_builds_runs_torch_and_noop_rebuild_skips_the_builder) {
  add_big_file();
  auto env = m_env;
  env["FURNACE_DOCKER"] = "/usr/bin/docker";  // the 20.10 client: DOCKER_BUILDKIT=1
  const auto dry = run_furnace({"build", m_project, "--dry-run"}, env);
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.out.rfind("DOCKER_BUILDKIT=1 /usr/bin/docker build -t furnace/" + m_name + ":", 0), 0U) << dry.out;

  const auto t0 = std::chrono::steady_clock::now();
  const auto built = run_furnace({"build", m_project}, env);
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(built.exit_code, 0) << built.err;
  const std::string tag = trim_nl(built.out);
  EXPECT_EQ(tag.rfind("furnace/" + m_name + ":", 0), 0U);
  EXPECT_LT(build_s, 120.0) << "the 2 GiB file must not be sent";

  const auto torch = docker({"run", "--rm", tag, "python3", "-c", "import torch; print(torch.__version__)"});
  EXPECT_TRUE(torch.status.ok()) << torch.err;
  EXPECT_EQ(trim_nl(torch.out).substr(0, 4), "1.13");
  EXPECT_TRUE(docker({"run", "--rm", tag, "jq", "--version"}).status.ok());
  const auto labels = docker({"inspect", "-f", "{{index .Config.Labels \"org.furnace.project\"}}", tag});
  EXPECT_EQ(trim_nl(labels.out), fs::canonical(m_project).string());

  // The staged context holds only the Dockerfile.
  const std::string hash12 = tag.substr(tag.find(':') + 1);
  std::vector<std::string> staged;
  for (const auto& e : fs::directory_iterator(m_dir.path() + "/home/.cache/furnace/build/" + hash12)) {
    staged.push_back(e.path().filename().string());
  }
  EXPECT_EQ(staged, std::vector<std::string>{"Dockerfile"});

  // No change: no builder. A docker CLI that fails proves it is never called.
  auto broken = env;
  broken["FURNACE_DOCKER"] = "/bin/false";
  const auto t1 = std::chrono::steady_clock::now();
  const auto again = run_furnace({"build", m_project}, broken);
  const double noop_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(trim_nl(again.out), tag);
  EXPECT_NE(again.err.find("is up to date"), std::string::npos) << again.err;
  EXPECT_LT(noop_ms, 1000.0);
  std::cout << "first build " << build_s << " s, no-op rebuild " << noop_ms << " ms\n";

  // --force calls the builder (which fails here, proving the call).
  EXPECT_NE(run_furnace({"build", m_project, "--force"}, broken).exit_code, 0);
}

TEST_F(BuildCli, legacy_builder_with_the_28_client) {
  if (!fs::exists("/usr/local/bin/docker")) {
    GTEST_SKIP() << "no /usr/local/bin/docker (28.x client)";
  }
  auto env = m_env;
  env["FURNACE_DOCKER"] = "/usr/local/bin/docker";
  const auto dry = run_furnace({"build", m_project, "--dry-run"}, env);
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  if (dry.out.find("buildx build") != std::string::npos) {
    GTEST_SKIP() << "this 28.x client has buildx";
  }
  EXPECT_EQ(dry.out.rfind("DOCKER_BUILDKIT=0 /usr/local/bin/docker build", 0), 0U) << dry.out;
  const auto built = run_furnace({"build", m_project}, env);
  ASSERT_EQ(built.exit_code, 0) << built.err;
  const std::string tag = trim_nl(built.out);
  const std::string hash12 = tag.substr(tag.find(':') + 1);
  const std::string dockerfile = m_dir.path() + "/home/.cache/furnace/build/" + hash12 + "/Dockerfile";
  ASSERT_TRUE(fs::exists(dockerfile));
  EXPECT_TRUE(docker({"run", "--rm", tag, "jq", "--version"}).status.ok());
}

TEST_F(BuildCli, invalid_furnace_yaml_is_reported_with_position) {
  m_dir.write("project/furnace.yaml", "name: x\naptt: [jq]\n");
  const auto r = run_furnace({"build", m_project, "--dry-run"}, m_env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("furnace: error: furnace.yaml:2:1: unknown key 'aptt' (did you mean 'apt'?)"),
            std::string::npos)
      << r.err;
  m_name.clear();
}

TEST_F(BuildCli, init_writes_once_and_parses_back) {
  fs::remove(m_project + "/furnace.yaml");
  m_dir.write("project/requirements.txt", "torch==1.13.1\nopencv-python\n");
  const auto printed = run_furnace({"init", m_project, "--print"}, m_env);
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_NE(printed.out.find("requirements:\n  - requirements.txt\n"), std::string::npos) << printed.out;
  EXPECT_FALSE(fs::exists(m_project + "/furnace.yaml"));
  ASSERT_EQ(run_furnace({"init", m_project}, m_env).exit_code, 0);
  EXPECT_TRUE(fs::exists(m_project + "/furnace.yaml"));
  const auto again = run_furnace({"init", m_project}, m_env);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos);
  EXPECT_EQ(run_furnace({"init", m_project, "--force"}, m_env).exit_code, 0);
  // furnace build reads it back (a dry run parses and resolves it).
  const auto dry = run_furnace({"build", m_project, "--dry-run"}, m_env);
  EXPECT_EQ(dry.err.find("furnace.yaml:"), std::string::npos) << dry.err;
  m_name.clear();
}

}  // namespace
}  // namespace furnace::testing
