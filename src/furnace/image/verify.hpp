#pragma once
// The checks of `furnace verify`, as a pure function of values: the image's facts and what ran in
// it (facts.hpp), the plan it was built for, and the host's GPUs and driver. `pip check`, the
// import of every requirement's top-level modules, the framework's build against each GPU's
// architecture (its kernels, or PTX the driver JIT-compiles) and the driver against the build's
// CUDA. Each failure carries a cause and a fix where furnace knows one.

#include <furnace/core/ui.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/image/facts.hpp>
#include <furnace/resolve/compat.hpp>
#include <furnace/resolve/resolver.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace furnace::image {

enum class Status { ok, warn, fail };

struct Finding {
  std::string check; // "python", "framework", "pip-check", "import", "arch", "driver"
  Status status = Status::ok;
  std::string subject; // the module, GPU or package it is about ("cv2", "sm_90")
  std::string message;
  std::string cause; // "" when furnace knows none
  std::string fix;
  std::string source; // the requirement's file:line, for an import
};

struct Report {
  std::string image;    // "furnace/x:abc123…"
  std::string image_id; // "sha256:…"
  bool cached = false;  // the facts came from the cache: no container ran
  ImageFacts facts;
  std::string arch; // "ok", "ok (PTX JIT)", "not ok", "no GPU", "unknown"
  std::vector<Finding> findings;

  bool ok() const; // no finding failed
};

// The checks. `host` is nullopt on a host without a (working) NVIDIA driver: the arch and driver
// checks then say the image runs on the CPU.
Report check(const ProbeResult& probe,
             const resolve::Plan& plan,
             const std::optional<gpu::GpuInfo>& host,
             const resolve::Tables& tables = resolve::builtin_tables());

// "verified furnace/x:abc: Python 3.11.2, torch 1.13.1 (CUDA 11.6), arch ok"; "verify failed …:
// 2 problems" when a check failed.
std::string summary_line(const Report& report);

// `furnace verify --json` (schema_version 1; docs/verify.md).
nlohmann::json to_json(const Report& report);

// The facts and every finding on `ui.out()`, the summary line last.
void print_report(const Report& report, core::Ui& ui);

// The failed findings on stderr, as warnings with their cause and fix.
void warn_failures(const Report& report, core::Ui& ui);

} // namespace furnace::image
