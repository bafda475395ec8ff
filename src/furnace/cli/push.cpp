// furnace push / pull: the project's image through the lab registry, checked against furnace.lock.

#include "commands.hpp"

#include <furnace/registry/push.hpp>

#include <memory>

namespace furnace::cli {

void register_push(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<registry::PushOptions>();
  CLI::App* cmd = app.add_subcommand(
      "push", "Push the project's image to the lab registry and record its digest in furnace.lock");
  cmd->add_option("path", opts->path, "The project directory (found upward)")
      ->capture_default_str();
  cmd->add_option("--registry",
                  opts->registry,
                  "HOST:PORT of the registry (default: where furnace.lock says it went)");
  cmd->callback([&ctx, &exit_code, opts] {
    exit_code = with_engine(
        ctx, [&](engine::DockerApi& api) { return registry::run_push(ctx, api, *opts); });
  });
}

void register_pull(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<registry::PullOptions>();
  CLI::App* cmd = app.add_subcommand(
      "pull",
      "Get the image furnace.lock records as pushed, instead of building it; refuses an "
      "image whose digest differs");
  cmd->add_option("path", opts->path, "The project directory (found upward)")
      ->capture_default_str();
  cmd->add_option("--registry",
                  opts->registry,
                  "HOST:PORT to pull from instead of the registry furnace.lock names");
  cmd->callback([&ctx, &exit_code, opts] {
    exit_code = with_engine(
        ctx, [&](engine::DockerApi& api) { return registry::run_pull(ctx, api, *opts); });
  });
}

} // namespace furnace::cli
