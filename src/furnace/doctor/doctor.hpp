#pragma once
// furnace doctor: checks a host the way an expert would — engine, registry mirrors, GPUs and
// driver, NVIDIA Container Toolkit, optionally a GPU container — and says the exact fix.

#include <furnace/core/context.hpp>
#include <furnace/doctor/report.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/engine/registry_probe.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/util/process.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace furnace::doctor {

struct DoctorOptions {
  bool json = false;
  bool gpu_test = false;
  std::string gpu_test_image = "ubuntu:22.04";
  // Checks a front end adds to the report (the lab registry's disk, from registry/), reported
  // after the others.
  std::vector<Check> extra_checks;
};

// What the checks look at; tests swap each part.
struct Host {
  engine::Engine* engine = nullptr; // null when the endpoint could not even be resolved
  std::optional<core::Error> endpoint_error;
  std::string endpoint_source; // "default", "DOCKER_HOST", "context x"
  bool engine_is_local = true; // a unix socket: its data root is on this host
  gpu::GpuProbe* gpu = nullptr;
  util::ProcessRunner* runner = nullptr;
  std::string path_var;        // PATH, for finding the toolkit's binaries and the docker CLI
  std::string host_root = "/"; // files (/etc/os-release, /etc/cdi, /proc/1/comm) are read under it
  std::function<core::Result<engine::RegistryAnswer>(const std::string& url)> probe_registry;
};

// Runs every check. Never fails: what cannot be checked becomes a failed or warned check.
Report run_checks(Host& host, const DoctorOptions& options);

// The command: builds the real Host from `ctx`, prints (human or JSON), returns the exit code
// (0 when nothing failed, 1 otherwise).
int run_doctor(core::Context& ctx, const DoctorOptions& options);

} // namespace furnace::doctor
