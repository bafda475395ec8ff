#include <furnace/project/host_facts.hpp>
#include <furnace/project/resolve_command.hpp>
#include <furnace/resolve/compat.hpp>
#include <furnace/resolve/report.hpp>
#include <furnace/resolve/resolver.hpp>
#include <furnace/deps/parsers.hpp>

#include "support/fake_gpu.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace {

using namespace furnace;
using namespace furnace::resolve;

bool is_version(const std::string& s) { return deps::parse_version(s).has_value(); }

TEST(CompatTables, every_row_is_well_formed) {
  const Tables& t = builtin_tables();
  EXPECT_GE(t.torch.size(), 190U);
  EXPECT_GE(t.tensorflow.size(), 38U);
  EXPECT_GE(t.cuda.size(), 30U);
  EXPECT_GE(t.gpus.size(), 58U);
  const std::regex torch_tag(R"(^\d+\.\d+(\.\d+)?-cuda\d+(\.\d+)?-cudnn\d+(\.\d+)?-(devel|runtime)$)");
  const std::regex tf_tag(R"(^\d+\.\d+\.\d+-gpu(-py3)?(-jupyter)?$)");
  const std::regex cuda_tag(R"(^\d+\.\d+(\.\d+)?(-cudnn\d*)?-(devel|runtime|base)-ubuntu\d+\.\d+$)");
  for (const TorchRow& r : t.torch) {
    SCOPED_TRACE("torch.csv:" + std::to_string(r.line));
    EXPECT_TRUE(r.cuda == "cpu" || t.find_cuda(r.cuda) != nullptr) << r.cuda;
    EXPECT_TRUE(is_version(r.python_min.value));
    EXPECT_TRUE(is_version(r.python_max.value));
    EXPECT_FALSE(r.source.empty());
    EXPECT_FALSE(r.pip_index.empty());
    if (r.cuda != "cpu") {
      EXPECT_FALSE(r.sm_archs.empty());
    }
    for (const Cell& tag : r.docker_tags) {
      EXPECT_TRUE(std::regex_match(tag.value, torch_tag)) << tag.value;
      // "cuda9" names CUDA 9.0 in the oldest tags
      const std::string major = r.cuda.substr(0, r.cuda.find('.'));
      EXPECT_TRUE(tag.value.find("-cuda" + r.cuda + "-") != std::string::npos ||
                  (r.cuda == major + ".0" && tag.value.find("-cuda" + major + "-") != std::string::npos))
          << tag.value;
    }
  }
  for (const TfRow& r : t.tensorflow) {
    SCOPED_TRACE("tensorflow.csv:" + std::to_string(r.line));
    EXPECT_NE(t.find_cuda(r.cuda), nullptr) << r.cuda;
    EXPECT_FALSE(r.source.empty());
    // a few patch releases have no official image (2.12.1, 2.13.1, …): the notes say so
    EXPECT_TRUE(!r.docker_tags.empty() || r.version.at(2) != 0) << r.version_text;
    for (const Cell& tag : r.docker_tags) {
      EXPECT_TRUE(std::regex_match(tag.value, tf_tag)) << tag.value;
      EXPECT_EQ(tag.value.rfind(r.version_text, 0), 0U) << tag.value;
    }
  }
  for (const CudaRow& r : t.cuda) {
    SCOPED_TRACE("cuda.csv:" + std::to_string(r.line));
    EXPECT_TRUE(r.min_driver.empty() ? r.min_driver.unverified : is_version(r.min_driver.value));
    EXPECT_FALSE(r.sm_min.empty());
    EXPECT_FALSE(r.source.empty());
    if (!r.image_example.empty()) {
      EXPECT_TRUE(std::regex_match(r.image_example.value, cuda_tag)) << r.image_example.value;
    }
  }
  for (const GpuRow& g : t.gpus) {
    EXPECT_GT(g.cc_major, 0) << g.name;
    EXPECT_FALSE(g.source.empty());
  }
}

TEST(CompatTables, keeps_uncertainty_marks) {
  const Tables& t = builtin_tables();
  const CudaRow* c134 = t.find_cuda("13.4");
  ASSERT_NE(c134, nullptr);
  EXPECT_TRUE(c134->min_driver.unverified);
  EXPECT_TRUE(c134->min_driver.empty());
  bool any = false;
  for (const TorchRow& r : t.torch) {
    any = any || r.cudnn.unverified;
  }
  EXPECT_TRUE(any);
}

TEST(CompatTables, finds_gpus_by_the_names_drivers_report) {
  const Tables& t = builtin_tables();
  EXPECT_EQ(t.find_gpu("NVIDIA H200")->name, "H200");
  EXPECT_EQ(t.find_gpu("Tesla V100-SXM2-32GB")->name, "Tesla V100");
  EXPECT_EQ(t.find_gpu("NVIDIA GeForce RTX 3090")->cc_minor, 6);
  EXPECT_EQ(t.find_gpu("NVIDIA A100-SXM4-80GB")->name, "A100");
  EXPECT_EQ(t.find_gpu("NVIDIA RTX 6000 Ada Generation")->name, "RTX 6000 Ada");
  EXPECT_EQ(t.find_gpu("GeForce RTX 3080 Ti")->cc_major, 8);
  EXPECT_EQ(t.find_gpu("Banana 9000"), nullptr);
}

TEST(CompatTables, parses_csv_quoting) {
  const auto rows = parse_csv("a,b\n\"x, y\",\"say \"\"hi\"\"\"\r\n");
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[1][0], "x, y");
  EXPECT_EQ(rows[1][1], "say \"hi\"");
  auto bad = parse_tables("torch\n1,2\n", "", "", "");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "torch.csv:2: expected 13 fields, found 2");
}

Host host_for(const std::vector<std::string>& gpus, const std::string& driver) {
  core::Result<gpu::GpuInfo> none = core::fail(core::ErrorKind::not_found, "no driver");
  return *project::make_host(none, gpus, driver, builtin_tables());
}

deps::Spec requirements(const std::string& text) {
  deps::Spec s;
  deps::parse_requirements_txt(text, "requirements.txt", {}, s);
  return s;
}

TEST(Resolver, explains_missing_kernels_and_offers_the_first_release_with_them) {
  const Plan p = resolve::resolve(requirements("numpy\ntorch==1.4.0\n"), host_for({"H200"}, "550.54.15"), {});
  EXPECT_FALSE(p.ok);
  ASSERT_GE(p.reasons.size(), 3U);
  EXPECT_EQ(p.reasons[0].message, "framework pytorch: torch==1.4.0 (requirements.txt:2)");
  bool kernels = false;
  for (const Reason& r : p.reasons) {
    kernels = kernels || r.message.rfind("torch 1.4.0+cu101 has no kernels for sm_90 (H200)", 0) == 0;
  }
  EXPECT_TRUE(kernels);
  ASSERT_FALSE(p.alternatives.empty());
  EXPECT_EQ(p.alternatives[0].framework_version, "2.0.0");
  EXPECT_EQ(p.alternatives[0].cuda, "11.8");
  EXPECT_EQ(p.alternatives[0].note, "the first newer release with sm_90 kernels");
}

TEST(Resolver, allow_incompatible_picks_the_pin_with_a_warning) {
  Overrides o;
  o.allow_incompatible = true;
  const Plan p = resolve::resolve(requirements("torch==1.4.0\n"), host_for({"H200"}, "550.54.15"), o);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.base_image, "pytorch/pytorch:1.4-cuda10.1-cudnn7-runtime");
  bool warned = false;
  for (const Warning& w : p.warnings) {
    warned = warned || w.code == "incompatible";
  }
  EXPECT_TRUE(warned);
}

TEST(Resolver, loose_range_on_h200_lands_on_a_cuda_11_8_or_newer_build) {
  Overrides o;
  o.version = ">=1.7,<2.1";
  const Plan p = resolve::resolve(requirements("torch>=1.7\n"), host_for({"H200"}, "535.104.05"), o);
  ASSERT_TRUE(p.ok);
  // torch>=1.7 dates the project to late 2020: the first release after it with sm_90 kernels
  EXPECT_EQ(p.framework_version, "2.0.0");
  EXPECT_EQ(p.cuda.value_or(""), "11.8");
}

TEST(Resolver, old_driver_is_refused_or_uses_minor_version_compatibility) {
  const Plan p = resolve::resolve(requirements("torch==2.0.1\n"), host_for({"V100"}, "450.80.02"), {});
  ASSERT_TRUE(p.ok);
  bool compat = false;
  for (const Warning& w : p.warnings) {
    compat = compat || w.code == "minor_version_compat";
  }
  EXPECT_TRUE(compat);
  const Plan q = resolve::resolve(requirements("torch==2.1.0+cu121\n"), host_for({"V100"}, "470.82.01"), {});
  EXPECT_FALSE(q.ok);
  bool driver = false;
  for (const Reason& r : q.reasons) {
    driver = driver || r.message.find("CUDA 12.1 needs driver >= 530.30.02") != std::string::npos;
  }
  EXPECT_TRUE(driver);
}

TEST(Resolver, ampere_runs_sm_80_cubins_and_kepler_needs_cuda_11) {
  const Plan ada = resolve::resolve(requirements("torch==1.7.1\n"), host_for({"RTX 4090"}, "550.54.15"), {});
  ASSERT_TRUE(ada.ok);
  EXPECT_EQ(ada.cuda.value_or(""), "11.0");
  const Plan k80 = resolve::resolve(requirements("torch==2.1.0\n"), host_for({"K80"}, "470.82.01"), {});
  ASSERT_TRUE(k80.ok);
  EXPECT_EQ(k80.cuda.value_or(""), "11.8");
}

TEST(Resolver, no_gpu_still_plans_the_cuda_image) {
  const Plan p = resolve::resolve(requirements("torch==1.13.1\n"), host_for({}, ""), {});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.base_image, "pytorch/pytorch:1.13.1-cuda11.7-cudnn8-runtime");
  bool no_gpu = false;
  for (const Warning& w : p.warnings) {
    no_gpu = no_gpu || w.code == "no_gpu";
  }
  EXPECT_TRUE(no_gpu);
}

TEST(Resolver, overrides_replace_the_project) {
  Overrides o;
  o.framework = "tensorflow";
  o.version = "2.4.0";
  o.python = "3.8";
  const Plan p = resolve::resolve(requirements("torch==1.4.0\n"), host_for({"8.6"}, "470.82.01"), o);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.framework.value_or(""), "tensorflow");
  // the 2.4.0 image ships Python 3.6: the wheel on Ubuntu 20.04's 3.8
  EXPECT_EQ(p.base_image, "nvidia/cuda:11.0.3-cudnn8-runtime-ubuntu20.04");
  EXPECT_EQ(p.python, "3.8");
  Overrides c;
  c.cuda = "10.2";
  const Plan q = resolve::resolve(requirements("torch==1.9.0\n"), host_for({"sm_70"}, "470.82.01"), c);
  ASSERT_TRUE(q.ok);
  EXPECT_EQ(q.cuda.value_or(""), "10.2");
}

TEST(Resolver, contradicting_project_says_which_constraint) {
  deps::Spec s = requirements("torch==2.0.1\n");
  deps::parse_environment_yml("dependencies:\n  - cudatoolkit=10.1\n", "environment.yml", {}, s);
  const Plan p = resolve::resolve(s, host_for({"V100"}, "535.104.05"), {});
  EXPECT_FALSE(p.ok);
  ASSERT_GE(p.reasons.size(), 3U);
  EXPECT_EQ(p.reasons[1].message, "no build satisfies all of the project's constraints");
  EXPECT_EQ(p.reasons[2].message,
            "torch 2.0.1+cu118: cudatoolkit==10.1.* (environment.yml:2) asks for CUDA 10.1");
  ASSERT_FALSE(p.alternatives.empty());
  EXPECT_EQ(p.alternatives[0].framework_version, "2.0.1");
}

TEST(HostOverride, rejects_unknown_gpus_and_bad_drivers) {
  core::Result<gpu::GpuInfo> none = core::fail(core::ErrorKind::not_found, "no driver");
  auto bad = project::make_host(none, {"Banana 9000"}, "", builtin_tables());
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "unknown GPU 'Banana 9000'");
  EXPECT_EQ(bad.error().exit_code, 2);
  auto drv = project::make_host(none, {}, "five", builtin_tables());
  ASSERT_FALSE(drv.has_value());
  EXPECT_EQ(drv.error().message, "invalid driver version 'five'");
  auto two = project::make_host(none, {"V100,H200"}, "", builtin_tables());
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(two->gpus.size(), 2U);
}

TEST(Report, json_has_the_documented_keys) {
  const Plan p = resolve::resolve(requirements("torch==1.4.0\n"), host_for({"V100"}, "470.82.01"), {});
  const nlohmann::json j = to_json(p);
  for (const char* k : {"framework", "framework_version", "python", "cuda", "cudnn", "base_image",
                        "packages", "evidence", "warnings", "alternatives", "host", "ok", "reasons"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["framework"], "pytorch");
  EXPECT_EQ(j["cuda"], "10.1");
  EXPECT_EQ(j["packages"][0]["source"], "requirements.txt:1");
  EXPECT_EQ(j["host"]["gpus"][0]["sm"], "sm_70");
  EXPECT_EQ(j["ok"], true);
}

TEST(Command, runs_against_a_directory_and_a_fake_probe) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("furnace_resolve_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "requirements.txt") << "torch==1.4.0\nbad line here\n";
  std::ostringstream out;
  std::ostringstream err;
  core::Ui ui(out, err, false);
  util::SystemRunner runner;
  core::Context ctx{ui, runner, {}, "/"};
  furnace::testing::FakeGpuProbe probe;
  probe.info = furnace::testing::FakeGpuProbe::one_h200();
  project::ResolveOptions o;
  o.path = dir.string();
  o.json = true;
  EXPECT_EQ(project::run_resolve(ctx, o, probe), 3);
  EXPECT_EQ(probe.probes, 1);
  const auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["ok"], false);
  EXPECT_NE(err.str().find("furnace: warning: requirements.txt:2: cannot read requirement "
                           "'bad line here'"),
            std::string::npos)
      << err.str();
  std::ostringstream out2;
  core::Ui ui2(out2, err, false);
  core::Context ctx2{ui2, runner, {}, "/"};
  o.json = false;
  o.gpus = {"V100"};
  o.driver = "470.82.01";
  EXPECT_EQ(project::run_resolve(ctx2, o, probe), 0);
  EXPECT_EQ(probe.probes, 1) << "--gpu and --driver plan without asking this host";
  EXPECT_NE(out2.str().find("image        pytorch/pytorch:1.4-cuda10.1-cudnn7-runtime"),
            std::string::npos)
      << out2.str();
  o.path = (dir / "missing").string();
  EXPECT_EQ(project::run_resolve(ctx2, o, probe), 1);
  std::filesystem::remove_all(dir);
}

// README command 1 runs examples/mnist on whatever the lab has: its pin must have an official
// image for every GPU generation from Maxwell to Blackwell (issue 12, item 14).
TEST(Command, the_example_resolves_from_maxwell_to_blackwell) {
  const std::string dir = std::string(FURNACE_SOURCE_DIR) + "/examples/mnist";
  util::SystemRunner runner;
  furnace::testing::FakeGpuProbe probe;
  const std::vector<std::pair<std::string, std::string>> hosts = {
      {"GTX 980", "570.86.15"}, {"P100", "570.86.15"}, {"V100", "570.86.15"},
      {"A100", "570.86.15"},    {"H100", "570.86.15"}, {"H200", "580.95.05"},
      {"B200", "570.86.15"},    {"B200", "580.95.05"}, {"RTX 5090", "575.51.02"}};
  for (const auto& [gpu, driver] : hosts) {
    std::ostringstream out;
    std::ostringstream err;
    core::Ui ui(out, err, false);
    core::Context ctx{ui, runner, {}, "/"};
    project::ResolveOptions o;
    o.path = dir;
    o.json = true;
    o.gpus = {gpu};
    o.driver = driver;
    EXPECT_EQ(project::run_resolve(ctx, o, probe), 0) << gpu << " " << driver << ": " << err.str();
    const auto j = nlohmann::json::parse(out.str());
    EXPECT_EQ(j["ok"], true) << gpu;
    EXPECT_EQ(j["framework_version"], "2.9.1") << gpu;
    EXPECT_EQ(j["base_image"].get<std::string>().rfind("pytorch/pytorch:2.9.1-cuda", 0), 0U)
        << gpu << ": " << j["base_image"];
  }
  EXPECT_EQ(probe.probes, 0);
}

}  // namespace
