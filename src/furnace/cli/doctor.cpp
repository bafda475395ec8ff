#include "commands.hpp"

#include <furnace/doctor/doctor.hpp>

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
  cmd->callback([&ctx, &exit_code, opts] { exit_code = doctor::run_doctor(ctx, *opts); });
}

} // namespace furnace::cli
