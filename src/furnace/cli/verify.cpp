// furnace verify: the project's image checked against the project and this host.

#include "commands.hpp"

#include <furnace/gpu/probe_factory.hpp>
#include <furnace/image/command.hpp>

#include <memory>

namespace furnace::cli {

void register_verify(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<image::VerifyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "verify",
      "Check the project's image: Python, the framework's build against this host's GPUs and "
      "driver, pip check, every requirement imports");
  cmd->add_option("path", opts->path, "The project directory")->capture_default_str();
  cmd->add_flag("--json", opts->json, "The report as JSON (docs/verify.md)");
  cmd->add_option("--gpus",
                  opts->gpus,
                  "Also run a matrix multiply on these GPUs: all, N[,M], auto:N (none: not)")
      ->option_text("GPUS");
  cmd->callback([&ctx, &exit_code, opts] {
    opts->user = ctx.getenv("USER").value_or("");
    exit_code = with_engine(ctx, [&](engine::DockerApi& api) {
      const std::unique_ptr<gpu::GpuProbe> probe = gpu::make_probe(ctx);
      return image::run_verify(ctx, *opts, api, *probe);
    });
  });
}

} // namespace furnace::cli
