// furnace build: the project's image, built only when its content hash is new.

#include "commands.hpp"

#include <furnace/image/command.hpp>
#include <furnace/gpu/probe_factory.hpp>

#include <memory>

namespace furnace::cli {

void register_build(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<image::BuildOptions>();
  CLI::App* cmd = app.add_subcommand(
      "build", "Build the project's image (furnace/NAME:HASH) unless it is already there");
  cmd->add_option("path", opts->path, "The project directory")->capture_default_str();
  cmd->add_flag("--force", opts->force, "Build even when the image for this content exists");
  cmd->add_flag("--dry-run", opts->dry_run, "Print the build command instead of running it");
  cmd->add_option("--network",
                  opts->network,
                  "The network of the build's RUN steps, passed to the builder ('host' reaches a "
                  "package index on this host's 127.0.0.1); not part of the image's hash")
      ->option_text("NAME");
  cmd->add_flag("--locked",
                opts->locked,
                "Build from furnace.lock (its base image, its pip versions) and fail when the "
                "image differs from it");
  cmd->add_flag("--no-verify",
                opts->no_verify,
                "Skip the checks after a build (imports, pip check, the GPU architectures)");
  cmd->callback([&ctx, &exit_code, opts] {
    exit_code = with_engine(ctx, [&](engine::DockerApi& api) {
      const std::unique_ptr<gpu::GpuProbe> probe = gpu::make_probe(ctx);
      return image::run_build(ctx, *opts, api, *probe);
    });
  });
}

} // namespace furnace::cli
