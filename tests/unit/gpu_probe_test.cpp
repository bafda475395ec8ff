#include "support/fake_gpu.hpp"
#include "support/test_env.hpp"

#include <furnace/gpu/nvidia_smi_probe.hpp>
#include <furnace/gpu/nvml_probe.hpp>

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace furnace::gpu {
namespace {

using testing::TempDir;

// The fake library reads its config from the environment at first use, so each case runs in
// a child process: a fresh dlopen of the fake with its own config.
core::Result<GpuInfo> probe_with(const std::string& config_json,
                                 const std::string& library,
                                 std::string* calls = nullptr) {
  TempDir dir;
  const std::string cfg = dir.write("nvml.json", config_json);
  const std::string log = dir.path() + "/calls.log";
  ::setenv("FAKE_NVML_CONFIG", cfg.c_str(), 1); // NOLINT(concurrency-mt-unsafe)
  ::setenv("FAKE_NVML_LOG", log.c_str(), 1);    // NOLINT(concurrency-mt-unsafe)
  NvmlProbe probe(library);
  auto r = probe.probe();
  ::unsetenv("FAKE_NVML_CONFIG"); // NOLINT(concurrency-mt-unsafe)
  ::unsetenv("FAKE_NVML_LOG");    // NOLINT(concurrency-mt-unsafe)
  if (calls != nullptr) {
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    *calls = ss.str();
  }
  return r;
}

// Each death-free child: fork so the fake's static config is read afresh.
template <class F> void in_child(F f) {
  ::fflush(nullptr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    f();
    ::_exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's expectations failed (see above)";
}

TEST(NvmlProbe, no_library_means_no_driver) {
  NvmlProbe probe("/nonexistent/libnvidia-ml.so.1");
  auto r = probe.probe();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, core::ErrorKind::not_found);
  EXPECT_EQ(r.error().message,
            "no NVIDIA driver: cannot load /nonexistent/libnvidia-ml.so.1 (not found)");
}

TEST(NvmlProbe, library_without_a_loaded_driver_says_modprobe) {
  in_child([] {
    auto r = probe_with(R"({"init": "driver_not_loaded"})", FURNACE_FAKE_NVML);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, core::ErrorKind::unavailable);
    EXPECT_EQ(r.error().message, "NVML failed to initialise: Driver Not Loaded");
    EXPECT_NE(r.error().hint.find("sudo modprobe nvidia"), std::string::npos);
  });
}

TEST(NvmlProbe, version_mismatch_says_reboot) {
  in_child([] {
    auto r = probe_with(R"({"init": "rm_mismatch"})", FURNACE_FAKE_NVML);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().hint.find("reboot the host"), std::string::npos);
  });
}

TEST(NvmlProbe, driver_with_zero_gpus) {
  in_child([] {
    auto r = probe_with(
        R"({"init": "ok", "driver_version": "535.183.01", "cuda_driver_version": 12020, "gpus": []})",
        FURNACE_FAKE_NVML);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->driver_version, "535.183.01");
    EXPECT_EQ(r->cuda_version(), "12.2");
    EXPECT_TRUE(r->gpus.empty());
  });
}

TEST(NvmlProbe, eight_mixed_gpus_with_their_compute_capabilities) {
  in_child([] {
    std::string calls;
    auto r = probe_with(testing::eight_mixed_gpus_json(), FURNACE_FAKE_NVML, &calls);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->source, "nvml");
    EXPECT_EQ(r->driver_version, "570.86.15");
    EXPECT_EQ(r->cuda_version(), "12.8");
    ASSERT_EQ(r->gpus.size(), 8U);
    std::vector<std::string> ccs;
    for (const auto& g : r->gpus) {
      ccs.push_back(g.compute_capability());
    }
    EXPECT_EQ(ccs,
              (std::vector<std::string>{"7.0", "7.5", "8.0", "8.6", "8.9", "9.0", "9.0", "10.0"}));
    EXPECT_EQ(r->gpus[7].sm(), "sm_100");
    EXPECT_EQ(r->gpus[6].name, "NVIDIA H200");
    EXPECT_EQ(r->gpus[6].memory_total, 143771ULL * 1024 * 1024);
    EXPECT_EQ(r->gpus[6].memory_used, 2048ULL * 1024 * 1024);
    ASSERT_EQ(r->gpus[2].processes.size(), 1U);
    EXPECT_EQ(r->gpus[2].processes[0].pid, 1U);
    EXPECT_EQ(r->gpus[2].processes[0].used_memory, 39000ULL * 1024 * 1024);
    EXPECT_FALSE(r->gpus[2].processes[0].user.empty()); // pid 1 always has an owner
    // furnace releases NVML when done.
    EXPECT_NE(calls.find("nvmlShutdown"), std::string::npos);
  });
}

TEST(NvmlProbe, reads_each_gpus_compute_mode) {
  in_child([] {
    std::string calls;
    auto r = probe_with(R"({"init": "ok", "driver_version": "570.86.15", "gpus": [
        {"name": "A", "uuid": "GPU-a", "cc": [9, 0]},
        {"name": "B", "uuid": "GPU-b", "cc": [9, 0], "compute_mode": "exclusive_process",
         "processes": [{"pid": 1, "used_mib": 10}]},
        {"name": "C", "uuid": "GPU-c", "cc": [9, 0], "compute_mode": "prohibited"},
        {"name": "D", "uuid": "GPU-d", "cc": [9, 0], "compute_mode": 1}]})",
                        FURNACE_FAKE_NVML,
                        &calls);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->gpus.size(), 4U);
    EXPECT_EQ(r->gpus[0].compute_mode, ComputeMode::shared);
    EXPECT_EQ(r->gpus[1].compute_mode, ComputeMode::exclusive_process);
    EXPECT_EQ(r->gpus[2].compute_mode, ComputeMode::prohibited);
    EXPECT_EQ(r->gpus[3].compute_mode, ComputeMode::exclusive_thread);
    EXPECT_TRUE(r->gpus[1].exclusive());
    EXPECT_TRUE(r->gpus[3].exclusive());
    EXPECT_FALSE(r->gpus[0].exclusive());
    EXPECT_EQ(compute_mode_name(r->gpus[1].compute_mode), "exclusive_process");
    EXPECT_NE(calls.find("nvmlDeviceGetComputeMode"), std::string::npos);
  });
}

TEST(NvidiaSmi, parses_the_compute_mode_when_present) {
  auto r = parse_query_gpu("0, NVIDIA H200, GPU-aaaa, 9.0, 143771, 1024, 550.54.15, "
                           "Exclusive_Process\n"
                           "1, NVIDIA H200, GPU-bbbb, 9.0, 143771, 0, 550.54.15, Prohibited\n"
                           "2, NVIDIA H200, GPU-cccc, 9.0, 143771, 0, 550.54.15, Default\n");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->gpus.size(), 3U);
  EXPECT_EQ(r->gpus[0].compute_mode, ComputeMode::exclusive_process);
  EXPECT_EQ(r->gpus[1].compute_mode, ComputeMode::prohibited);
  EXPECT_EQ(r->gpus[2].compute_mode, ComputeMode::shared);
}

TEST(NvidiaSmi, parses_query_output) {
  const std::string csv = "0, NVIDIA H200, GPU-aaaa, 9.0, 143771, 1024, 550.54.15\n"
                          "1, Tesla V100-PCIE-16GB, GPU-bbbb, 7.0, 16384, 0, 550.54.15\n";
  auto r = parse_query_gpu(csv);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->gpus.size(), 2U);
  EXPECT_EQ(r->gpus[0].sm(), "sm_90");
  EXPECT_EQ(r->gpus[1].name, "Tesla V100-PCIE-16GB");
  EXPECT_EQ(r->gpus[1].memory_total, 16384ULL * 1024 * 1024);
  EXPECT_EQ(r->driver_version, "550.54.15");
  auto bad = parse_query_gpu("0, only, three\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "nvidia-smi output line 1: expected 7 fields, got 3: '0, only, three'");
}

TEST(NvidiaSmi, reads_the_cuda_version_from_the_banner) {
  EXPECT_EQ(parse_cuda_version_banner("| NVIDIA-SMI 550.54.15  Driver Version: 550.54.15  CUDA "
                                      "Version: 12.4     |"),
            12040);
  EXPECT_EQ(parse_cuda_version_banner("no banner"), 0);
}

TEST(NvidiaSmi, probe_runs_the_tool_and_falls_back_cleanly) {
  TempDir dir;
  dir.write(
      "bin/nvidia-smi",
      "#!/bin/sh\n"
      "case \"$1\" in\n"
      "  --query-gpu=*) echo '0, NVIDIA A100-SXM4-40GB, GPU-cccc, 8.0, 40960, 512, 535.104.05' ;;\n"
      "  --query-compute-apps=*) echo 'GPU-cccc, 1, 500' ;;\n"
      "  *) echo '| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2 |' ;;\n"
      "esac\n",
      0755);
  util::SystemRunner runner;
  NvidiaSmiProbe probe(runner, dir.path() + "/bin:/usr/bin:/bin");
  auto r = probe.probe();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->source, "nvidia-smi");
  EXPECT_EQ(r->cuda_version(), "12.2");
  ASSERT_EQ(r->gpus.size(), 1U);
  EXPECT_EQ(r->gpus[0].compute_capability(), "8.0");
  ASSERT_EQ(r->gpus[0].processes.size(), 1U);
  EXPECT_EQ(r->gpus[0].processes[0].used_memory, 500ULL * 1024 * 1024);

  NvidiaSmiProbe missing(runner, dir.path() + "/nothing");
  auto m = missing.probe();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind, core::ErrorKind::not_found);
}

TEST(NvidiaSmi, a_failing_tool_is_unavailable_not_absent) {
  TempDir dir;
  dir.write("bin/nvidia-smi",
            "#!/bin/sh\necho 'NVIDIA-SMI has failed because it couldn'\"'\"'t communicate with the "
            "NVIDIA driver.'\nexit 9\n",
            0755);
  util::SystemRunner runner;
  NvidiaSmiProbe probe(runner, dir.path() + "/bin");
  auto r = probe.probe();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, core::ErrorKind::unavailable);
  EXPECT_EQ(r.error().message,
            "nvidia-smi failed: NVIDIA-SMI has failed because it couldn't "
            "communicate with the NVIDIA driver.");
}

} // namespace
} // namespace furnace::gpu

namespace furnace::gpu {
namespace {

// `furnace run` builds, then chooses GPUs: NVML is asked once for both.
TEST(MemoProbe, asks_the_driver_once_and_repeats_errors_too) {
  testing::FakeGpuProbe fake;
  fake.info = testing::FakeGpuProbe::one_h200();
  MemoProbe memo(fake);
  EXPECT_EQ(memo.probe()->gpus.size(), 1U);
  EXPECT_EQ(memo.probe()->gpus.front().name, "NVIDIA H200");
  EXPECT_EQ(fake.probes, 1);
  testing::FakeGpuProbe none;
  none.error = core::make_error(core::ErrorKind::not_found, "no NVIDIA driver");
  MemoProbe memo_none(none);
  EXPECT_FALSE(memo_none.probe());
  EXPECT_EQ(memo_none.probe().error().message, "no NVIDIA driver");
  EXPECT_EQ(none.probes, 1);
}

} // namespace
} // namespace furnace::gpu
