// furnace images: the images furnace built, with their project, size, age and use.

#include "commands.hpp"

#include <furnace/image/images.hpp>

#include <memory>

namespace furnace::cli {

void register_images(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<image::ImagesOptions>();
  CLI::App* cmd = app.add_subcommand(
      "images", "List furnace's images: project, tag, size, created, in use by a container");
  cmd->add_option("name", opts->names, "Only the images furnace/NAME");
  cmd->add_flag("--json",
                opts->json,
                "Print JSON (docs/build.md) with each image's cached facts instead of the table");
  cmd->callback([&ctx, &exit_code, opts] {
    exit_code = with_engine(
        ctx, [&](engine::DockerApi& api) { return image::run_images(ctx, *opts, api); });
  });
}

} // namespace furnace::cli
