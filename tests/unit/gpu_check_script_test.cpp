// scripts/gpu-check.sh and `furnace doctor --gpu-selftest` against the fake NVML library, so the
// script is known to work before a real GPU is lent: the built binary, no engine, no network.

#include "support/test_env.hpp"

#include <furnace/doctor/gpu_selftest.hpp>
#include <furnace/util/process.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>

namespace furnace {
namespace {

using testing::TempDir;

// The start of a line of the self-test's report: "  ok   gpu0.memory                  ".
std::string item(const std::string& status, const std::string& name) {
  return fmt::format("  {:<4} {:<28} ", status, name);
}

constexpr const char* k_a100 =
    R"({"init": "ok", "driver_version": "570.86.15", "cuda_driver_version": 12080,
  "gpus": [
    {"name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-aaaaaaaa-0000-0000-0000-000000000000", "cc": [8, 0],
     "memory_total_mib": 81920, "memory_used_mib": 1024, "compute_mode": "exclusive_process",
     "processes": [{"pid": 1, "used_mib": 1000}]},
    {"name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-aaaaaaaa-1111-1111-1111-111111111111", "cc": [8, 0],
     "memory_total_mib": 81920, "memory_used_mib": 0}]})";

testing::Run run_script(const TempDir& dir,
                        const std::string& nvml_json,
                        std::map<std::string, std::string> extra = {},
                        const std::vector<std::string>& args = {}) {
  std::map<std::string, std::string> env = testing::fake_nvml_env(dir, nvml_json);
  env["FURNACE"] = FURNACE_BINARY;
  env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"; // no engine is needed
  env["HOME"] = dir.path();
  env["PATH"] = "/usr/local/bin:/usr/bin:/bin"; // no nvidia-smi on the test machine
  for (auto& [k, v] : extra) {
    env[k] = v;
  }
  std::vector<std::string> argv{"bash", std::string(FURNACE_SOURCE_DIR) + "/scripts/gpu-check.sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::run_command(argv, env, std::chrono::seconds(120));
}

TEST(GpuCheckScript, passes_against_the_fake_driver_without_an_engine) {
  TempDir dir;
  const auto r = run_script(dir, k_a100);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("furnace:   " + std::string(FURNACE_BINARY)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NVML self-test passed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(item("ok", "gpu0.compute_mode") + "exclusive_process"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ok    gpu.devices              2 GPUs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GPU 0 NVIDIA A100-SXM4-80GB GPU-aaaaaaaa-0000-0000-0000-000000000000 sm "
                       "8.0, mode exclusive_process, 1 process(es)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("host     driver 570.86.15, CUDA 12.8, NVIDIA A100-SXM4-80GB (sm_80)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("image    pytorch/pytorch:2.9.1-cuda"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gpu-check: PASS"), std::string::npos) << r.out;
}

TEST(GpuCheckScript, fails_and_says_why_when_the_driver_is_not_loaded) {
  TempDir dir;
  const auto r = run_script(dir, R"({"init": "driver_not_loaded"})");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find(item("FAIL", "nvml.probe") + "NVML failed to initialise: Driver Not Loaded"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("gpu-check: FAIL: NVML self-test (exit 1)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gpu-check: FAIL: doctor: a gpu check is not ok"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("gpu-check: FAIL: resolve: no plan for this host's GPUs"), std::string::npos)
      << r.out;
}

std::string hopper(std::string json) {
  for (auto at = json.find("[8, 0]"); at != std::string::npos; at = json.find("[8, 0]")) {
    json.replace(at, 6, "[9, 0]");
  }
  for (auto at = json.find("A100-SXM4-80GB"); at != std::string::npos;
       at = json.find("A100-SXM4-80GB")) {
    json.replace(at, 14, "H100 80GB HBM3");
  }
  return json;
}

TEST(GpuCheckScript, passes_on_an_h100_like_the_lent_machine) {
  TempDir dir;
  const auto r = run_script(dir, hopper(k_a100));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("NVIDIA H100 80GB HBM3 (sm_90)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gpu-check: PASS"), std::string::npos) << r.out;
}

TEST(GpuCheckScript, a_project_no_build_of_which_runs_on_the_gpus_fails_with_the_reasons) {
  // torch 1.13.1 with CUDA 11.6 has no kernels for Hopper: said, not hidden.
  TempDir dir;
  dir.write("old/requirements.txt", "torch==1.13.1\n");
  dir.write("old/furnace.yaml", "name: old\ncuda: \"11.6\"\n");
  const auto r = run_script(dir, hopper(k_a100), {}, {dir.path() + "/old"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("NVML self-test passed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("has no kernels for sm_90"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gpu-check: FAIL: resolve: no plan for this host's GPUs"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("gpu-check: FAIL: NVML"), std::string::npos) << r.out;
}

TEST(GpuCheckScript, without_a_furnace_binary_it_exits_2_and_builds_nothing) {
  TempDir dir;
  const auto r = run_script(dir, k_a100, {{"FURNACE", dir.path() + "/no-furnace"}});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("gpu-check: FURNACE=" + dir.path() + "/no-furnace is not an executable"),
            std::string::npos)
      << r.err;
}

TEST(GpuCheckScript, the_selftest_compares_with_nvidia_smi_and_fails_on_a_disagreement) {
  TempDir dir;
  // An nvidia-smi that reports another UUID for GPU 0 (and the right rest).
  dir.write("bin/nvidia-smi",
            "#!/bin/sh\n"
            "case \"$1\" in\n"
            "  --query-gpu=*) echo '0, NVIDIA A100-SXM4-80GB, GPU-ffffffff, 8.0, 81920, 1024, "
            "570.86.15, Exclusive_Process'\n"
            "                 echo '1, NVIDIA A100-SXM4-80GB, GPU-aaaaaaaa-1111-1111-1111-"
            "111111111111, 8.0, 81920, 0, 570.86.15, Default' ;;\n"
            "  --query-compute-apps=*) ;;\n"
            "  *) echo '| NVIDIA-SMI 570.86.15   Driver Version: 570.86.15   CUDA Version: 12.8 |' "
            ";;\n"
            "esac\n",
            0755);
  auto env = testing::fake_nvml_env(dir, k_a100);
  env["PATH"] = dir.path() + "/bin:/usr/bin:/bin";
  const auto r = testing::run_furnace({"doctor", "--gpu-selftest"}, env);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find(item("FAIL", "smi.gpu0.uuid") +
                       "NVML GPU-aaaaaaaa-0000-0000-0000-000000000000, nvidia-smi GPU-ffffffff"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(item("ok", "smi.gpu1.uuid")), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(item("ok", "smi.gpu0.compute_mode")), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(item("ok", "smi.cuda")), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NVML self-test FAILED"), std::string::npos) << r.out;
}

TEST(GpuSelftest, garbage_from_a_wrong_struct_layout_fails) {
  gpu::GpuInfo info;
  info.driver_version = "570.86.15";
  info.cuda_driver_version = 12080;
  gpu::Gpu g;
  g.name = "NVIDIA H200";
  g.uuid = "GPU-1";
  g.cc_major = 9;
  g.memory_total = 1ULL << 37;
  g.memory_used = 1ULL << 50; // more than the total
  g.processes.push_back(gpu::GpuProcess{0, 1ULL << 60, "", ""});
  info.gpus = {g};
  const auto items = doctor::selftest_items(info, std::nullopt);
  std::vector<std::string> failed;
  for (const auto& i : items) {
    if (!i.ok) {
      failed.push_back(i.name);
    }
  }
  EXPECT_EQ(failed, (std::vector<std::string>{"gpu0.memory", "gpu0.processes"}));
  const auto none =
      doctor::selftest_items(core::fail(core::ErrorKind::not_found, "no driver"), std::nullopt);
  ASSERT_EQ(none.size(), 1U);
  EXPECT_FALSE(none[0].ok);
  EXPECT_EQ(none[0].detail, "no driver");
}

} // namespace
} // namespace furnace
