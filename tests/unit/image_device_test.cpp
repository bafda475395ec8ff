// furnace verify --gpus: the matrix multiply on the device (image/device.hpp) — the GPUs asked
// for as docker arguments, the container's argv, its answer, and the finding it becomes.

#include "support/fake_runner.hpp"

#include <furnace/image/device.hpp>

#include <gtest/gtest.h>

#include <sstream>

namespace furnace::image {
namespace {

gpu::GpuInfo two_gpus() {
  gpu::GpuInfo info;
  info.driver_version = "550.54.15";
  for (unsigned i = 0; i < 2; ++i) {
    gpu::Gpu g;
    g.index = i;
    g.name = "NVIDIA H200";
    g.uuid = "GPU-" + std::to_string(i);
    g.cc_major = 9;
    g.memory_total = 143771ULL << 20;
    g.memory_used = (i == 0 ? 5000ULL : 10ULL) << 20;
    info.gpus.push_back(g);
  }
  return info;
}

gpu::GpuRequest request(const std::string& text) {
  return *gpu::parse_gpu_request(text);
}

using Args = std::vector<std::string>;

TEST(VerifyDevice, the_gpus_asked_for_become_docker_arguments) {
  EXPECT_EQ(*device_gpu_args(request("all"), std::nullopt, "me"), (Args{"--gpus", "all"}));
  EXPECT_EQ(*device_gpu_args(request("none"), two_gpus(), "me"), Args{});
  EXPECT_EQ(*device_gpu_args(request("1,0"), two_gpus(), "me"),
            (Args{"--gpus", "\"device=GPU-0,GPU-1\""})); // by UUID, like a run
  // auto: the GPU least in use
  EXPECT_EQ(*device_gpu_args(request("auto:1"), two_gpus(), "me"),
            (Args{"--gpus", "\"device=GPU-1\""}));
  const auto missing = device_gpu_args(request("3"), two_gpus(), "me");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("3"), std::string::npos) << missing.error().message;
  EXPECT_FALSE(device_gpu_args(request("auto:1"), std::nullopt, "me"));
}

TEST(VerifyDevice, the_plans_framework_is_the_one_tested) {
  resolve::Plan plan;
  ImageFacts facts;
  facts.framework = "jax";
  EXPECT_EQ(device_framework(plan, facts), "jax");
  plan.framework = "pytorch";
  EXPECT_EQ(device_framework(plan, facts), "torch");
  plan.framework = "tensorflow";
  EXPECT_EQ(device_framework(plan, facts), "tensorflow");
}

TEST(VerifyDevice, the_container_gets_the_gpus_and_the_images_python_and_its_answer_is_read) {
  std::ostringstream out;
  std::ostringstream err;
  core::Ui ui{out, err, false};
  testing::FakeRunner runner;
  runner.on("run",
            {0,
             "noise\n#furnace-device {\"device\": \"NVIDIA H200\", \"error\": \"\", "
             "\"framework\": \"torch\", \"ok\": true, \"result\": \"[[2.0, 3.0], [6.0, "
             "11.0]]\"}\n",
             ""});
  core::Context ctx{ui, runner, {{"FURNACE_DOCKER", "docker"}}, "/"};
  const auto r = run_device_check(
      ctx, "furnace/x:1", "/opt/conda/bin/python3", "torch", {"--gpus", "\"device=1\""});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->device, "NVIDIA H200");
  EXPECT_EQ(r->result, "[[2.0, 3.0], [6.0, 11.0]]");
  ASSERT_EQ(runner.calls.size(), 1U);
  EXPECT_EQ(runner.calls[0].rfind("docker run --rm --network none --gpus '\"device=1\"' --name "
                                  "furnace-gpu-check-",
                                  0),
            0U)
      << runner.calls[0];
  EXPECT_NE(runner.calls[0].find(" --label org.furnace.helper=gpu-check --init -e "
                                 "FURNACE_DEVICE_FRAMEWORK=torch --entrypoint "
                                 "/opt/conda/bin/python3 furnace/x:1 -c "),
            std::string::npos)
      << runner.calls[0];

  Report report;
  add_device_finding(*r, {}, "1", report);
  ASSERT_EQ(report.findings.size(), 1U);
  EXPECT_EQ(report.findings[0].check, "device");
  EXPECT_EQ(report.findings[0].status, Status::ok);
  EXPECT_EQ(report.findings[0].message,
            "torch matrix multiply on NVIDIA H200: [[2.0, 3.0], [6.0, 11.0]]");
}

TEST(VerifyDevice, a_container_the_engine_cannot_start_is_an_error_with_its_message) {
  std::ostringstream out;
  std::ostringstream err;
  core::Ui ui{out, err, false};
  testing::FakeRunner runner;
  runner.on("run",
            {125,
             "",
             "docker: Error response from daemon: could not select device driver "
             "\"\" with capabilities: [[gpu]].\n"});
  core::Context ctx{ui, runner, {{"FURNACE_DOCKER", "docker"}}, "/"};
  const auto r = run_device_check(ctx, "furnace/x:1", "", "torch", {"--gpus", "all"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, core::ErrorKind::remote);
  EXPECT_NE(r.error().message.find("(exit 125): docker: Error response from daemon: could not "
                                   "select device driver"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(runner.calls[0].find("--entrypoint python3 "), std::string::npos);
  // The failed container is removed by its name (a timeout kills the CLI, not the container).
  ASSERT_EQ(runner.calls.size(), 2U);
  const auto at = runner.calls[0].find("--name ") + 7;
  const std::string name = runner.calls[0].substr(at, runner.calls[0].find(' ', at) - at);
  EXPECT_EQ(name.rfind("furnace-gpu-check-", 0), 0U) << name;
  EXPECT_EQ(runner.calls[1], "docker rm -f " + name);
}

TEST(VerifyDevice, a_cpu_build_fails_with_the_frameworks_message_and_says_why) {
  const auto r = read_device_result(
      "#furnace-device {\"device\": \"\", \"error\": \"torch.cuda.is_available() is False (torch "
      "1.13.1 is a CPU build)\", \"framework\": \"torch\", \"ok\": false, \"result\": \"\"}\n");
  ASSERT_TRUE(r);
  ImageFacts facts;
  facts.framework = "torch";
  facts.framework_version = "1.13.1";
  Report report;
  add_device_finding(*r, facts, "all", report);
  ASSERT_EQ(report.findings.size(), 1U);
  const Finding& f = report.findings[0];
  EXPECT_EQ(f.status, Status::fail);
  EXPECT_EQ(f.subject, "--gpus all");
  EXPECT_EQ(f.message,
            "torch on the GPU (--gpus all) failed: torch.cuda.is_available() is False (torch "
            "1.13.1 is a CPU build)");
  EXPECT_EQ(f.cause, "the image's torch 1.13.1 is a CPU build");
  EXPECT_FALSE(report.ok());
  // a CUDA build that still sees no GPU points at the driver and the toolkit
  facts.cuda = "11.6";
  Report other;
  add_device_finding(*r, facts, "all", other);
  EXPECT_NE(other.findings[0].fix.find("furnace doctor"), std::string::npos);
  EXPECT_FALSE(read_device_result("no line\n#furnace-device not json\n"));
}

TEST(VerifyDevice, the_program_reports_one_line_for_each_framework) {
  const std::string p = device_program();
  for (const char* s : {"torch.cuda.is_available() is False",
                        "list_physical_devices",
                        "jax.devices()",
                        "#furnace-device ",
                        "[[2.0, 3.0], [6.0, 11.0]]"}) {
    EXPECT_NE(p.find(s), std::string::npos) << s;
  }
}

} // namespace
} // namespace furnace::image
