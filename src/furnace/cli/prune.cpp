// furnace prune: remove the images of projects that are gone and the older builds of living ones.

#include "commands.hpp"

#include <furnace/image/images.hpp>

#include <memory>

namespace furnace::cli {

void register_prune(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<image::PruneOptions>();
  CLI::App* cmd = app.add_subcommand(
      "prune",
      "Remove furnace images of projects that no longer exist, and older builds of living ones");
  cmd->add_option("name", opts->names, "Only the images furnace/NAME");
  cmd->add_flag(
      "--dry-run", opts->dry_run, "Print the 'docker rmi' commands instead of running them");
  cmd->callback([&ctx, &exit_code, opts] {
    exit_code = with_engine(ctx, [&](engine::DockerApi& api) {
      util::DryRunRunner dry(ctx.ui.out());
      util::ProcessRunner& remover =
          opts->dry_run ? static_cast<util::ProcessRunner&>(dry) : ctx.runner;
      return image::run_prune(ctx, *opts, api, remover);
    });
  });
}

} // namespace furnace::cli
