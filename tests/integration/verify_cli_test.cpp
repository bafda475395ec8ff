// furnace verify on the real engine: the example verifies (Python, torch, imports) and the build
// says so in one line; the second verify of the same image runs no container (a docker CLI that
// fails proves it); a requirement that cannot be imported fails with its module, line and
// exception; a conflicting pair fails `pip check`; and a stand-in framework build (a fake `torch`
// first on sys.path that reports CUDA 11.8 and only sm_70 kernels) on the fake NVML's H200 fails
// the arch check, naming the first release with sm_90 kernels. The fixtures are tiny images FROM
// the stand-in image whose distributions sit on PYTHONPATH, so that no index is needed.

#include "support/test_env.hpp"

#include <furnace/util/process.hpp>
#include <furnace/util/strings.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

namespace furnace::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_base = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";
// What examples/mnist (torch==2.9.1) resolves to without a GPU: the test engine's stand-in.
constexpr const char* k_example_base = "pytorch/pytorch:2.9.1-cuda13.0-cudnn9-runtime";

util::ProcessOutput docker(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"docker"};
  argv.insert(argv.end(), args.begin(), args.end());
  util::ProcessOptions o;
  o.env = process_env();
  o.timeout = std::chrono::milliseconds(300000);
  auto r = util::SystemRunner().run(argv, o);
  return r ? *r : util::ProcessOutput{};
}

// A distribution as installed files: <dir>/<module>/__init__.py and its .dist-info.
void write_dist(const TempDir& d,
                const std::string& dir,
                const std::string& name,
                const std::string& version,
                const std::string& init,
                const std::string& requires_dist = "") {
  std::string module = name;
  std::replace(module.begin(), module.end(), '-', '_');
  d.write(dir + "/" + module + "/__init__.py", init);
  const std::string info = dir + "/" + module + "-" + version + ".dist-info/";
  d.write(info + "METADATA",
          "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n" +
              (requires_dist.empty() ? "" : "Requires-Dist: " + requires_dist + "\n"));
  d.write(info + "top_level.txt", module + "\n");
  d.write(info + "INSTALLER", "pip\n");
}

class VerifyCli : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (!engine_available()) {
      return;
    }
    s_dir = new TempDir(); // NOLINT(cppcoreguidelines-owning-memory)
    s_prefix = "furnace-it-verify-" + std::to_string(::getpid());
    const TempDir& d = *s_dir;
    write_dist(d,
               "fixtures/broken/site",
               "furnace-fixture-broken",
               "1.0",
               "raise ImportError('furnace fixture: this module cannot be imported')\n");
    write_dist(
        d, "fixtures/conflict/site", "furnace-fixture-b", "1.0", "", "furnace-fixture-c>=2.0");
    write_dist(d, "fixtures/conflict/site", "furnace-fixture-c", "1.0", "");
    d.write("fixtures/arch/site/torch/__init__.py",
            "__version__ = '2.0.0'\n"
            "from . import version, cuda, backends\n");
    d.write("fixtures/arch/site/torch/version.py", "cuda = '11.8'\n");
    d.write("fixtures/arch/site/torch/cuda.py", "def get_arch_list():\n    return ['sm_70']\n");
    d.write("fixtures/arch/site/torch/backends/__init__.py", "from . import cudnn\n");
    d.write("fixtures/arch/site/torch/backends/cudnn.py", "def version():\n    return 8700\n");
    for (const char* kind : {"broken", "conflict", "arch"}) {
      const std::string dir = d.path() + "/fixtures/" + kind;
      d.write(std::string("fixtures/") + kind + "/Dockerfile",
              std::string("FROM ") + k_base +
                  "\nCOPY site /opt/furnace-fixtures\nENV PYTHONPATH=/opt/furnace-fixtures\n");
      const auto built = docker({"build", "-q", "-t", fixture(kind), dir});
      if (!built.status.ok()) {
        std::cerr << "fixture image " << kind << ": " << built.err << '\n';
      }
    }
  }

  static void TearDownTestSuite() {
    if (s_dir == nullptr) {
      return;
    }
    const auto ids = docker({"images", "-q", "--filter", "reference=furnace/" + s_prefix + "*"});
    std::set<std::string> unique;
    for (const std::string& id : util::split(ids.out, '\n')) {
      if (!id.empty() && unique.insert(id).second) {
        docker({"rmi", "-f", id});
      }
    }
    for (const char* kind : {"broken", "conflict", "arch"}) {
      docker({"rmi", "-f", fixture(kind)});
    }
    delete s_dir; // NOLINT(cppcoreguidelines-owning-memory)
    s_dir = nullptr;
  }

  void SetUp() override { FURNACE_REQUIRE_ENGINE(); }

  static std::string fixture(const std::string& kind) {
    return "furnace-it-fixture/" + s_prefix + "-" + kind + ":1";
  }

  // A project <name> with `base` and requirements.txt; returns its directory.
  std::string
  project(const std::string& name, const std::string& base, const std::string& requirements) const {
    m_dir.write(name + "/furnace.yaml",
                "name: " + s_prefix + "-" + name + "\nbase: " + base + "\n");
    m_dir.write(name + "/requirements.txt", requirements);
    return m_dir.path() + "/" + name;
  }

  std::map<std::string, std::string> env() const {
    return {{"HOME", m_dir.path() + "/home"},
            {"-XDG_CACHE_HOME", ""},
            {"-XDG_DATA_HOME", ""},
            {"-XDG_CONFIG_HOME", ""},
            {"FURNACE_DOCKER", "/usr/bin/docker"},
            {"FURNACE_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"}};
  }

  static nlohmann::json json_of(const ::furnace::testing::Run& r) {
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j;
  }

  static const nlohmann::json* failed(const nlohmann::json& report, const std::string& check) {
    for (const auto& c : report["checks"]) {
      if (c["check"] == check && c["status"] == "fail") {
        return &c;
      }
    }
    return nullptr;
  }

  TempDir m_dir;
  static inline TempDir* s_dir = nullptr;
  static inline std::string s_prefix;
};

TEST_F(VerifyCli, the_example_verifies_after_its_build_and_again_without_a_container) {
  const std::string src = std::string(FURNACE_SOURCE_DIR) + "/examples/mnist";
  const std::string dir = project("mnist", k_example_base, read_text(src + "/requirements.txt"));
  m_dir.write("mnist/train.py", read_text(src + "/train.py"));
  const auto built = run_furnace({"build", dir}, env());
  ASSERT_EQ(built.exit_code, 0) << built.err;
  const std::string tag(util::trim(built.out));
  EXPECT_NE(built.err.find("verified " + tag + ": Python 3.11."), std::string::npos) << built.err;
  EXPECT_NE(built.err.find(", torch 1.13"), std::string::npos) << built.err;
  EXPECT_NE(built.err.find("(CPU build), arch no GPU"), std::string::npos) << built.err;
  const std::string lock = read_text(dir + "/furnace.lock");
  EXPECT_NE(lock.find("\nframework: torch 1.13"), std::string::npos) << lock;
  EXPECT_NE(lock.find("\nos: Debian GNU/Linux 12 (bookworm)\n"), std::string::npos) << lock;

  // The same image again: the facts and checks come from the cache; the docker CLI (which would
  // fail) is never called.
  auto broken = env();
  broken["FURNACE_DOCKER"] = "/bin/false";
  const auto t0 = std::chrono::steady_clock::now();
  const auto again = run_furnace({"verify", "--json", dir}, broken);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  const auto report = json_of(again);
  EXPECT_EQ(report["schema_version"], 1);
  EXPECT_EQ(report["cached"], true);
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["image"], tag);
  EXPECT_EQ(report["facts"]["framework"], "torch");
  EXPECT_EQ(report["facts"]["python_path"].get<std::string>().empty(), false);
  bool numpy = false;
  for (const auto& c : report["checks"]) {
    numpy = numpy ||
            (c["check"] == "import" && c["status"] == "ok" &&
             c["message"].get<std::string>().find("of 2 requirements import") != std::string::npos);
  }
  EXPECT_TRUE(numpy) << report.dump(2);
  EXPECT_LT(ms, 1000.0);
  std::cout << "cached verify " << ms << " ms\n";

  // A no-op build says nothing of verify.
  const auto noop = run_furnace({"build", dir}, env());
  EXPECT_EQ(noop.err.find("verified"), std::string::npos) << noop.err;

  // The cached facts where users look: furnace images --json and furnace show of a run.
  const auto images = run_furnace({"images", "--json", s_prefix + "-mnist"}, env());
  ASSERT_EQ(images.exit_code, 0) << images.err;
  const auto listed = json_of(images);
  ASSERT_EQ(listed["images"].size(), 1U) << listed.dump(2);
  EXPECT_EQ(listed["images"][0]["tag"], tag);
  EXPECT_EQ(listed["images"][0]["facts"]["framework"], "torch");
  EXPECT_EQ(listed["images"][0]["facts"]["python"], report["facts"]["python"]);
  EXPECT_EQ(listed["images"][0]["facts"]["cuda"], "");
  const auto ran = run_furnace({"run", "-C", dir, "--", "true"}, env());
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  const auto shown = run_furnace({"show", "1"}, broken); // no container, no docker CLI
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("\npython:    3.11."), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("\nframework: torch 1.13"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("(CPU build)\n"), std::string::npos) << shown.out;
  const auto shown_json = json_of(run_furnace({"show", "--json", "1"}, broken));
  EXPECT_EQ(shown_json["run"]["image_facts"]["framework"], "torch");
}

TEST_F(VerifyCli, a_requirement_that_cannot_be_imported_names_module_line_and_exception) {
  const std::string dir =
      project("broken", fixture("broken"), "# the fixture\nfurnace-fixture-broken\n");
  const auto built = run_furnace({"build", dir}, env());
  EXPECT_EQ(built.exit_code, 1) << built.err;
  EXPECT_NE(built.out.find("furnace/" + s_prefix + "-broken:"), std::string::npos); // kept
  EXPECT_NE(built.err.find("verify failed for furnace/"), std::string::npos) << built.err;
  EXPECT_NE(built.err.find("'furnace verify' re-checks it"), std::string::npos) << built.err;
  const auto r = run_furnace({"verify", dir}, env());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("requirements.txt:2: cannot import furnace_fixture_broken (from "
                       "furnace-fixture-broken): ImportError: furnace fixture: this module "
                       "cannot be imported"),
            std::string::npos)
      << r.out << r.err;
}

TEST_F(VerifyCli, a_conflicting_pair_fails_pip_check) {
  const std::string dir = project("conflict", fixture("conflict"), "furnace-fixture-c\n");
  const auto r = run_furnace({"verify", "--json", dir}, env());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto report = json_of(r);
  const auto* c = failed(report, "pip-check");
  ASSERT_NE(c, nullptr) << report.dump(2);
  EXPECT_EQ((*c)["subject"], "furnace-fixture-b, furnace-fixture-c");
  EXPECT_NE((*c)["message"].get<std::string>().find("furnace-fixture-c>=2.0"), std::string::npos);
}

TEST_F(VerifyCli, a_build_without_kernels_for_the_h200_fails_the_arch_check) {
  const std::string dir = project("arch", fixture("arch"), "torch\n");
  auto e = env();
  for (const auto& [k, v] : fake_nvml_env(m_dir, R"({"init": "ok", "driver_version": "570.86.15",
    "cuda_driver_version": 12080, "gpus": [{"name": "NVIDIA H200",
    "uuid": "GPU-66666666-6666-6666-6666-666666666666", "cc": [9, 0],
    "memory_total_mib": 143771, "memory_used_mib": 0}]})")) {
    e[k] = v;
  }
  const auto r = run_furnace({"verify", "--json", dir}, e);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto report = json_of(r);
  EXPECT_EQ(report["arch"], "not ok");
  EXPECT_EQ(report["facts"]["cuda"], "11.8");
  const auto* c = failed(report, "arch");
  ASSERT_NE(c, nullptr) << report.dump(2);
  EXPECT_EQ((*c)["subject"], "sm_90");
  EXPECT_NE((*c)["message"].get<std::string>().find("NVIDIA H200"), std::string::npos);
  EXPECT_NE((*c)["fix"].get<std::string>().find("is the first release with sm_90 kernels"),
            std::string::npos)
      << (*c)["fix"];
}

// --gpus: the test engine's stand-in NVIDIA hook starts the container with --gpus, but there is no
// GPU behind it, and the stand-in image's torch is a CPU build: the device check fails with
// torch's own words, and a bad --gpus is a usage error before anything is built.
TEST_F(VerifyCli, gpus_runs_a_matrix_multiply_and_a_cpu_torch_fails_with_its_message) {
  const std::string dir = project("gpus", k_base, "torch\n");
  const auto r = run_furnace({"verify", "--json", "--gpus", "all", dir}, env());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto report = json_of(r);
  const auto* c = failed(report, "device");
  ASSERT_NE(c, nullptr) << report.dump(2);
  EXPECT_NE((*c)["message"].get<std::string>().find(
                "torch on the GPU (--gpus all) failed: torch.cuda.is_available() is False"),
            std::string::npos)
      << (*c)["message"];
  EXPECT_NE((*c)["cause"].get<std::string>().find("is a CPU build"), std::string::npos);
  // without --gpus the same image verifies (no device check)
  EXPECT_EQ(run_furnace({"verify", dir}, env()).exit_code, 0);
  const auto bad = run_furnace({"verify", "--gpus", "auto:0", dir}, env());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("the count must be at least 1"), std::string::npos) << bad.err;
}

} // namespace
} // namespace furnace::testing
