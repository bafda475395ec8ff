#include "commands.hpp"

#include <furnace/doctor/doctor.hpp>
#include <furnace/doctor/gpu_selftest.hpp>
#include <furnace/registry/server.hpp>

#include <fmt/format.h>

#include <memory>

namespace furnace::cli {

void register_doctor(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<doctor::DoctorOptions>();
  CLI::App* cmd = app.add_subcommand(
      "doctor",
      "Check this host: engine, registry mirrors, GPUs and driver, NVIDIA Container "
      "Toolkit; print the exact fix for what is wrong (exit 1 when a check fails)");
  cmd->add_flag("--json", opts->json, "Print the report as JSON (schema: docs/doctor.md)");
  cmd->add_flag("--gpu-test",
                opts->gpu_test,
                "Also run a small container with all GPUs and report what it sees");
  cmd->add_option("--gpu-test-image",
                  opts->gpu_test_image,
                  "Image for --gpu-test (needs nothing but a shell; the toolkit adds nvidia-smi)")
      ->capture_default_str();
  // Diagnostic (scripts/gpu-check.sh, docs/doctor.md): the NVML probe on its own, checked.
  auto selftest = std::make_shared<bool>(false);
  cmd->add_flag("--gpu-selftest",
                *selftest,
                "Run the NVML probe alone and check what it sees (exit 1 on a doubtful value)")
      ->group("");
  cmd->callback([&ctx, &exit_code, opts, selftest] {
    if (*selftest) {
      exit_code = doctor::run_gpu_selftest(ctx, opts->json);
      return;
    }
    // A lab registry furnace runs on this host (the default directory): its disk (case 37).
    if (auto reg = registry::disk_health(ctx, "")) {
      doctor::Check c;
      c.id = "registry.disk";
      c.group = "registry";
      c.status = reg->disk.warn ? doctor::Status::warn : doctor::Status::ok;
      c.summary =
          fmt::format("the registry at {} ({}): {}", reg->address, reg->dir, reg->disk.line);
      c.details = {{"dir", reg->dir}, {"address", reg->address}};
      if (reg->disk.warn) {
        c.fix = "free space: delete unused tags and run 'furnace registry gc', or move the "
                "registry to a larger disk (furnace registry up --dir)";
      }
      opts->extra_checks.push_back(std::move(c));
    }
    exit_code = doctor::run_doctor(ctx, *opts);
  });
}

} // namespace furnace::cli
