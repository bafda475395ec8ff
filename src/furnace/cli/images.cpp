// furnace images: the images furnace built, with their project, size, age and use.

#include "commands.hpp"

#include <furnace/build/images.hpp>
#include <furnace/engine/docker_api.hpp>
#include <furnace/engine/endpoint.hpp>

#include <memory>

namespace furnace::cli {

void register_images(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<build::ImagesOptions>();
  CLI::App* cmd = app.add_subcommand(
      "images", "List furnace's images: project, tag, size, created, in use by a container");
  cmd->add_option("name", opts->names, "Only the images furnace/NAME");
  cmd->callback([&ctx, &exit_code, opts] {
    auto endpoint = engine::resolve_endpoint(ctx.env);
    if (!endpoint) {
      ctx.ui.error(endpoint.error());
      exit_code = endpoint.error().exit_code;
      return;
    }
    engine::DockerApi api(*endpoint);
    exit_code = build::run_images(ctx, *opts, api);
  });
}

} // namespace furnace::cli
