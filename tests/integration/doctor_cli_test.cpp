// furnace doctor as a user runs it: the built binary against the real test engine, a missing
// socket, a socket the user may not open, and the fake NVIDIA driver.

#include "support/test_env.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace furnace {
namespace {

using testing::run_furnace;
using testing::TempDir;

const std::map<std::string, std::string> k_no_gpu{
    {"FURNACE_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"},
    {"PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}};

TEST(DoctorCli, passes_against_the_test_engine) {
  FURNACE_REQUIRE_ENGINE();
  auto r = run_furnace({"doctor"}, k_no_gpu);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("  ok    engine.reachable   Docker Engine "), std::string::npos) << r.out;
  for (const char* id : {"engine.version",
                         "engine.storage",
                         "engine.disk",
                         "registry.mirror",
                         "gpu.driver",
                         "toolkit.installed"}) {
    EXPECT_NE(r.out.find(id), std::string::npos) << id << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("answers /v2/ (HTTP 200"), std::string::npos) << r.out;
}

TEST(DoctorCli, json_is_valid_and_stable) {
  FURNACE_REQUIRE_ENGINE();
  auto r = run_furnace({"doctor", "--json"}, k_no_gpu);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_EQ(j["engine"]["api_version"].get<std::string>().rfind("1.", 0), 0U);
  EXPECT_FALSE(j["engine"]["registry_mirrors"].empty());
  EXPECT_TRUE(j["gpu"].is_null());
  EXPECT_TRUE(r.err.empty()) << r.err; // --json keeps stderr quiet on success
}

TEST(DoctorCli, a_missing_socket_fails_with_the_fix) {
  auto r = run_furnace({"doctor"},
                       {{"DOCKER_HOST", "unix:///nonexistent"},
                        {"FURNACE_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("  fail  engine.reachable   cannot connect to the engine at "
                       "unix:///nonexistent: no such socket"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("fix: DOCKER_HOST points at unix:///nonexistent; unset it or point it at a "
                       "running engine"),
            std::string::npos)
      << r.out;
}

TEST(DoctorCli, an_unsupported_docker_host_is_named) {
  auto r = run_furnace({"doctor", "--json"}, {{"DOCKER_HOST", "ssh://me@gpu"}});
  EXPECT_EQ(r.exit_code, 1);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["checks"][0]["id"], "engine.reachable");
  EXPECT_EQ(j["checks"][0]["summary"], "DOCKER_HOST: unsupported engine address 'ssh://me@gpu'");
}

TEST(DoctorCli, a_user_outside_the_docker_group_is_told_to_join_it) {
  FURNACE_REQUIRE_ENGINE();
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to switch to an unprivileged user";
  }
  // A copy of the binary every user may run, then run it as nobody against the real socket.
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  const std::string bin = dir.path() + "/furnace";
  std::filesystem::copy_file(FURNACE_BINARY, bin);
  ::chmod(bin.c_str(), 0755);
  util::SystemRunner runner;
  util::ProcessOptions o;
  o.env = std::map<std::string, std::string>{
      {"PATH", "/usr/bin:/bin"}, {"HOME", dir.path()}, {"FURNACE_NVML_LIBRARY", "/nonexistent"}};
  auto r =
      runner.run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin, "doctor"}, o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status.code, 1) << r->out << r->err;
  EXPECT_NE(r->out.find("  fail  engine.reachable   cannot connect to the engine at "
                        "unix:///var/run/docker.sock: permission denied"),
            std::string::npos)
      << r->out;
  EXPECT_NE(r->out.find("fix: add yourself to the docker group with 'sudo usermod -aG docker "
                        "$USER', then log out and back in (or run 'newgrp docker')"),
            std::string::npos)
      << r->out;
}

TEST(DoctorCli, reports_eight_fake_gpus_with_their_compute_capabilities) {
  FURNACE_REQUIRE_ENGINE();
  TempDir dir;
  auto env = testing::fake_nvml_env(dir, testing::eight_mixed_gpus_json());
  env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  auto r = run_furnace({"doctor", "--json"}, env);
  // GPUs but no NVIDIA Container Toolkit on this machine: that check fails.
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  std::vector<std::string> ccs;
  for (const auto& g : j["gpu"]["gpus"]) {
    ccs.push_back(g["compute_capability"]);
  }
  EXPECT_EQ(ccs,
            (std::vector<std::string>{"7.0", "7.5", "8.0", "8.6", "8.9", "9.0", "9.0", "10.0"}));
  EXPECT_EQ(j["gpu"]["cuda_version"], "12.8");
  EXPECT_EQ(j["gpu"]["driver_version"], "570.86.15");
  bool toolkit_failed = false;
  for (const auto& c : j["checks"]) {
    if (c["id"] == "toolkit.installed") {
      toolkit_failed = c["status"] == "fail";
    }
  }
  EXPECT_TRUE(toolkit_failed);

  auto human = run_furnace({"doctor"}, env);
  EXPECT_NE(human.out.find("GPU 7  NVIDIA B200  compute capability 10.0 (sm_100)"),
            std::string::npos)
      << human.out;
}

TEST(DoctorCli, fake_driver_cases_no_driver_and_zero_gpus) {
  TempDir dir;
  auto env = testing::fake_nvml_env(dir, R"({"init": "driver_not_loaded"})");
  env["DOCKER_HOST"] = "unix:///nonexistent";
  auto r = run_furnace({"doctor", "--json"}, env);
  auto j = nlohmann::json::parse(r.out);
  for (const auto& c : j["checks"]) {
    if (c["id"] == "gpu.driver") {
      EXPECT_EQ(c["status"], "fail");
      EXPECT_EQ(c["summary"], "NVML failed to initialise: Driver Not Loaded");
    }
  }
  auto env0 = testing::fake_nvml_env(
      dir,
      R"({"init": "ok", "driver_version": "535.1", "cuda_driver_version": 12020, "gpus": []})");
  env0["DOCKER_HOST"] = "unix:///nonexistent";
  auto r0 = run_furnace({"doctor", "--json"}, env0);
  j = nlohmann::json::parse(r0.out);
  EXPECT_TRUE(j["gpu"]["gpus"].empty());
  for (const auto& c : j["checks"]) {
    if (c["id"] == "gpu.devices") {
      EXPECT_EQ(c["status"], "warn");
      EXPECT_EQ(c["summary"], "the driver is loaded but reports no GPU");
    }
  }
}

TEST(DoctorCli, gpu_test_reports_the_engine_refusing_gpus) {
  FURNACE_REQUIRE_ENGINE();
  auto r = run_furnace({"doctor", "--json", "--gpu-test", "--gpu-test-image", "debian:bookworm"},
                       k_no_gpu);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& last = j["checks"].back();
  EXPECT_EQ(last["id"], "gpu.container");
  EXPECT_EQ(last["status"], "fail");
  // An engine without the toolkit refuses the GPU request; the test engine has a stand-in hook
  // (scripts/test-engine.sh) and hands out a "GPU", but the image has no nvidia-smi: either way
  // the engine's own words are quoted.
  const std::string summary = last["summary"].get<std::string>();
  const bool no_driver = summary.find("could not select device driver") != std::string::npos;
  const bool no_smi = summary.find("nvidia-smi") != std::string::npos;
  EXPECT_TRUE(no_driver || no_smi) << last;
  if (no_driver) {
    EXPECT_NE(last["fix"].get<std::string>().find("install the NVIDIA Container Toolkit"),
              std::string::npos);
  }
}

TEST(Cli, version_help_and_usage_errors) {
  auto v = run_furnace({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("furnace 0.2.0 (commit ", 0), 0U) << v.out;
  auto h = run_furnace({"doctor", "--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("--gpu-test"), std::string::npos);
  auto u = run_furnace({"doctor", "--no-such-flag"});
  EXPECT_EQ(u.exit_code, 2);
  EXPECT_NE(u.err.find("furnace: error: "), std::string::npos);
}

} // namespace
} // namespace furnace
