#include "support/fake_engine.hpp"
#include "support/fake_gpu.hpp"
#include "support/test_env.hpp"

#include <furnace/doctor/doctor.hpp>
#include <furnace/gpu/gpu_lock.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

namespace furnace::doctor {
namespace {

using testing::FakeEngine;
using testing::FakeGpuProbe;
using testing::TempDir;

struct Fixture {
  TempDir root;
  FakeEngine engine;
  FakeGpuProbe gpu;
  util::SystemRunner runner;
  Host host;

  Fixture() {
    root.write("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n");
    root.write("proc/1/comm", "systemd\n");
    host.engine = &engine;
    host.endpoint_source = "default";
    host.gpu = &gpu;
    host.runner = &runner;
    host.path_var = root.path() + "/bin";
    host.host_root = root.path();
    host.probe_registry = [](const std::string&) {
      return core::Result<engine::RegistryAnswer>(engine::RegistryAnswer{200, 0.004});
    };
    engine.engine_info.docker_root_dir = "/"; // statvfs under the temp root
    engine.engine_info.registry_mirrors = {"https://mirror.example/"};
    gpu.error = core::make_error(core::ErrorKind::not_found, "no NVIDIA driver: cannot load x");
  }

  const Check& check(const Report& r, const std::string& id) {
    for (const auto& c : r.checks) {
      if (c.id == id) {
        return c;
      }
    }
    static Check none;
    ADD_FAILURE() << "no check " << id;
    return none;
  }
};

TEST(Doctor, a_healthy_cpu_host_passes_with_one_gpu_warning) {
  Fixture f;
  Report r = run_checks(f.host, {});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(f.check(r, "engine.reachable").status, Status::ok);
  EXPECT_EQ(f.check(r, "engine.reachable").summary,
            "Docker Engine 20.10.24 at fake://engine (API 1.41, default)");
  EXPECT_EQ(f.check(r, "registry.mirror").summary,
            "https://mirror.example/ answers /v2/ (HTTP 200, 4 ms)");
  EXPECT_EQ(f.check(r, "gpu.driver").status, Status::warn);
  EXPECT_EQ(f.check(r, "gpu.driver").summary,
            "no NVIDIA driver: cannot load x: furnace will run on the CPU");
  EXPECT_EQ(f.check(r, "toolkit.installed").status, Status::ok);
  EXPECT_EQ(r.count(Status::fail), 0);
}

TEST(Doctor, stand_in_images_are_named_with_how_to_remove_them) {
  Fixture f;
  engine::ImageSummary official;
  official.id = "sha256:a";
  official.repo_tags = {"ubuntu:22.04"};
  engine::ImageSummary stand_in;
  stand_in.id = "sha256:b";
  stand_in.repo_tags = {"pytorch/pytorch:2.9.1-cuda13.0-cudnn9-runtime"};
  stand_in.labels = {{"org.furnace.stand-in", "true"}};
  engine::ImageSummary built_on_it = stand_in; // a project image inherits the label
  built_on_it.id = "sha256:c";
  built_on_it.repo_tags = {"furnace/mnist:0123456789ab"};
  f.engine.images = {official};
  Report clean = run_checks(f.host, {});
  for (const auto& c : clean.checks) {
    EXPECT_NE(c.id, "images.stand_in");
  }
  f.engine.images = {official, stand_in, built_on_it};
  Report r = run_checks(f.host, {});
  const Check& c = f.check(r, "images.stand_in");
  EXPECT_EQ(c.status, Status::warn);
  EXPECT_EQ(c.summary,
            "1 stand-in image under official names (Debian's CPU builds from furnace's test "
            "engine, no CUDA): pytorch/pytorch:2.9.1-cuda13.0-cudnn9-runtime");
  EXPECT_NE(c.fix.find("'docker rmi pytorch/pytorch:2.9.1-cuda13.0-cudnn9-runtime'"),
            std::string::npos)
      << c.fix;
}

TEST(Doctor, engine_not_installed_gives_the_install_command) {
  Fixture f;
  f.engine.down = core::make_error(core::ErrorKind::unavailable,
                                   "cannot connect to the engine at unix:///var/run/docker.sock: "
                                   "no such socket");
  f.host.path_var = f.root.path() + "/bin";
  Report r = run_checks(f.host, {});
  EXPECT_FALSE(r.ok());
  const Check& c = f.check(r, "engine.reachable");
  EXPECT_EQ(c.status, Status::fail);
  // dockerd may exist on the machine running the tests; either message is exact.
  const bool installed =
      util::find_in_path("dockerd", f.host.path_var + ":/usr/sbin:/usr/bin").has_value();
  EXPECT_EQ(c.fix,
            installed
                ? "the engine is installed but not running: sudo systemctl enable --now docker"
                : "no engine is installed: sudo apt-get install -y docker.io && sudo "
                  "systemctl enable --now docker");
}

TEST(Doctor, permission_denied_keeps_the_group_fix) {
  Fixture f;
  f.engine.down = core::make_error(core::ErrorKind::permission,
                                   "cannot connect to the engine at unix:///var/run/docker.sock: "
                                   "permission denied",
                                   "add yourself to the docker group with 'sudo usermod -aG docker "
                                   "$USER', then log out and back in (or run 'newgrp docker'); "
                                   "the docker group is root-equivalent");
  Report r = run_checks(f.host, {});
  const Check& c = f.check(r, "engine.reachable");
  EXPECT_EQ(c.status, Status::fail);
  EXPECT_NE(c.fix.find("sudo usermod -aG docker $USER"), std::string::npos);
}

TEST(Doctor, gpus_without_the_toolkit_fail_with_install_steps) {
  Fixture f;
  f.gpu.error.reset();
  f.gpu.info = FakeGpuProbe::one_h200();
  Report r = run_checks(f.host, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(f.check(r, "gpu.driver").summary,
            "NVIDIA driver 550.54.15, supports CUDA up to 12.4 (via nvml)");
  const Check& devs = f.check(r, "gpu.devices");
  ASSERT_EQ(devs.lines.size(), 1U);
  EXPECT_NE(devs.lines[0].find("NVIDIA H200  compute capability 9.0 (sm_90)"), std::string::npos);
  const Check& tk = f.check(r, "toolkit.installed");
  EXPECT_EQ(tk.status, Status::fail);
  EXPECT_NE(tk.fix.find("sudo apt-get install -y nvidia-container-toolkit"), std::string::npos);
}

TEST(Doctor, a_complete_gpu_host_is_all_ok) {
  Fixture f;
  f.gpu.error.reset();
  f.gpu.info = FakeGpuProbe::one_h200();
  f.root.write("bin/nvidia-ctk", "#!/bin/sh\n", 0755);
  f.root.write("bin/nvidia-container-runtime", "#!/bin/sh\n", 0755);
  f.root.write("etc/cdi/nvidia.yaml", "cdiVersion: 0.5.0\n");
  f.engine.engine_info.runtimes = {"io.containerd.runc.v2", "nvidia", "runc"};
  f.engine.engine_info.default_runtime = "nvidia";
  const std::string locks = f.root.path() + "/run/furnace/gpu";
  ASSERT_TRUE(gpu::make_lock_dir(locks, 0)); // as setup makes it (root, group 0: shared)
  Report r = run_checks(f.host, {});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(f.check(r, "gpu.locks").status, ::geteuid() == 0 ? Status::ok : Status::warn);
  EXPECT_EQ(f.check(r, "toolkit.runtime").status, Status::ok);
  EXPECT_EQ(f.check(r, "toolkit.default-runtime").summary, "default runtime is nvidia");
  EXPECT_EQ(f.check(r, "toolkit.cdi").summary, "CDI specifications: /etc/cdi/nvidia.yaml");
  EXPECT_EQ(r.count(Status::warn), ::geteuid() == 0 ? 0 : 1);
}

TEST(Doctor, gpu_locks_missing_warns_and_an_unsafe_directory_fails_with_the_fix) {
  Fixture f;
  f.gpu.error.reset();
  f.gpu.info = FakeGpuProbe::one_h200();
  Report missing = run_checks(f.host, {});
  const std::string dir = f.root.path() + "/run/furnace/gpu";
  EXPECT_EQ(f.check(missing, "gpu.locks").status, Status::warn);
  EXPECT_EQ(f.check(missing, "gpu.locks").summary,
            dir + " does not exist: until root's first run makes it, each user's GPU locks are "
                  "private (two users' 'auto' runs may pick the same GPU)");
  EXPECT_EQ(f.check(missing, "gpu.locks").fix,
            "sudo furnace setup (makes it now, and at every boot through "
            "/etc/tmpfiles.d/furnace.conf)");
  // What an older furnace (or another user) left: a directory every user may write.
  std::filesystem::create_directories(dir);
  ASSERT_EQ(::chmod(dir.c_str(), 01777), 0);
  Report unsafe = run_checks(f.host, {});
  EXPECT_EQ(f.check(unsafe, "gpu.locks").status, Status::fail);
  EXPECT_NE(f.check(unsafe, "gpu.locks").summary.find("refusing the GPU lock directory " + dir),
            std::string::npos)
      << f.check(unsafe, "gpu.locks").summary;
  EXPECT_NE(f.check(unsafe, "gpu.locks").fix.find("sudo rm -r " + dir), std::string::npos);
}

TEST(Doctor, a_gpu_in_exclusive_process_mode_is_shown_with_its_mode) {
  Fixture f;
  f.gpu.error.reset();
  f.gpu.info = FakeGpuProbe::one_h200();
  f.gpu.info.gpus[0].compute_mode = gpu::ComputeMode::exclusive_process;
  Report r = run_checks(f.host, {});
  const Check& c = f.check(r, "gpu.devices");
  ASSERT_FALSE(c.lines.empty());
  EXPECT_NE(c.lines[0].find("compute mode EXCLUSIVE_PROCESS"), std::string::npos) << c.lines[0];
  EXPECT_EQ(to_json(r)["gpu"]["gpus"][0]["compute_mode"], "exclusive_process");
}

TEST(Doctor, runtime_not_registered_is_a_warning_when_the_hook_exists) {
  Fixture f;
  f.gpu.error.reset();
  f.gpu.info = FakeGpuProbe::one_h200();
  f.root.write("bin/nvidia-container-runtime-hook", "#!/bin/sh\n", 0755);
  Report r = run_checks(f.host, {});
  const Check& c = f.check(r, "toolkit.runtime");
  EXPECT_EQ(c.status, Status::warn);
  EXPECT_EQ(c.fix, "sudo nvidia-ctk runtime configure --runtime=docker, then restart the engine");
}

TEST(Doctor, driver_not_loaded_fails) {
  Fixture f;
  f.gpu.error = core::make_error(core::ErrorKind::unavailable,
                                 "NVML failed to initialise: Driver Not Loaded",
                                 "sudo modprobe nvidia");
  Report r = run_checks(f.host, {});
  EXPECT_EQ(f.check(r, "gpu.driver").status, Status::fail);
  EXPECT_FALSE(r.ok());
}

TEST(Doctor, slow_storage_and_missing_or_dead_mirrors_warn) {
  Fixture f;
  f.engine.engine_info.storage_driver = "vfs";
  f.engine.engine_info.registry_mirrors.clear();
  Report r = run_checks(f.host, {});
  EXPECT_EQ(f.check(r, "engine.storage").status, Status::warn);
  EXPECT_EQ(f.check(r, "registry.mirrors").status, Status::warn);

  Fixture g;
  g.host.probe_registry = [](const std::string& url) {
    return core::Result<engine::RegistryAnswer>(
        core::fail(core::ErrorKind::timeout, url + "v2/: Timeout was reached"));
  };
  Report r2 = run_checks(g.host, {});
  const Check& m = g.check(r2, "registry.mirror");
  EXPECT_EQ(m.status, Status::warn);
  EXPECT_EQ(m.summary,
            "https://mirror.example/ does not answer: https://mirror.example/v2/: "
            "Timeout was reached");
}

TEST(Doctor, gpu_test_is_skipped_with_a_reason_when_the_engine_is_down) {
  Fixture f;
  f.engine.down = core::make_error(core::ErrorKind::unavailable, "down");
  DoctorOptions o;
  o.gpu_test = true;
  Report r = run_checks(f.host, o);
  EXPECT_EQ(f.check(r, "gpu.container").summary,
            "no GPU container test: the engine is not reachable");
}

TEST(DoctorReport, json_has_the_documented_shape) {
  Fixture f;
  Report r = run_checks(f.host, {});
  const auto j = to_json(r);
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_TRUE(j["checks"].is_array());
  for (const auto& c : j["checks"]) {
    for (const char* key : {"id", "group", "status", "summary", "fix", "details"}) {
      EXPECT_TRUE(c.contains(key)) << key;
    }
    const std::string s = c["status"];
    EXPECT_TRUE(s == "ok" || s == "warn" || s == "fail") << s;
  }
  EXPECT_EQ(j["engine"]["storage_driver"], "overlay2");
  EXPECT_TRUE(j["gpu"].is_null());
  EXPECT_EQ(j["counts"]["fail"], 0);
}

TEST(DoctorReport, human_output_lines_up_status_id_summary_and_fix) {
  Fixture f;
  f.engine.engine_info.registry_mirrors.clear();
  Report r = run_checks(f.host, {});
  std::ostringstream out;
  std::ostringstream err;
  core::Ui ui(out, err, false);
  print_human(r, ui);
  const std::string text = out.str();
  EXPECT_EQ(
      text.rfind("engine\n  ok    engine.reachable   Docker Engine 20.10.24 at fake://engine", 0),
      0U)
      << text;
  EXPECT_NE(text.find("  warn  registry.mirrors   no registry mirror"), std::string::npos) << text;
  EXPECT_NE(text.find("fix: add a mirror near you"), std::string::npos);
  EXPECT_NE(text.find("ok, 2 warn, 0 fail\n"), std::string::npos) << text;
}

TEST(FakeEngine, pull_adds_an_image_and_records_calls) {
  FakeEngine e;
  engine::ImageSummary img;
  img.id = "sha256:1";
  img.repo_tags = {"debian:bookworm"};
  e.pullable["debian:bookworm"] = img;
  EXPECT_FALSE(e.inspect_image("debian:bookworm"));
  int messages = 0;
  ASSERT_TRUE(e.pull("debian:bookworm", [&](const engine::PullProgress&) { ++messages; }));
  EXPECT_GT(messages, 0);
  EXPECT_TRUE(e.inspect_image("debian:bookworm"));
  EXPECT_EQ(e.calls,
            (std::vector<std::string>{"inspect_image debian:bookworm",
                                      "pull debian:bookworm",
                                      "inspect_image debian:bookworm"}));
}

} // namespace
} // namespace furnace::doctor
