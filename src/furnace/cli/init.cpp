// furnace init: write a commented furnace.yaml from what the resolver finds in the project.

#include "commands.hpp"

#include <furnace/gpu/probe_factory.hpp>
#include <furnace/project/init.hpp>

#include <memory>

namespace furnace::cli {

void register_init(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<project::InitOptions>();
  CLI::App* cmd = app.add_subcommand("init", "Write furnace.yaml with what furnace finds in the project");
  cmd->add_option("path", opts->path, "The project directory")->capture_default_str();
  cmd->add_flag("--force", opts->force, "Replace an existing furnace.yaml");
  cmd->add_flag("--print", opts->print, "Print the file instead of writing it");
  cmd->callback([&ctx, &exit_code, opts] {
    const std::unique_ptr<gpu::GpuProbe> probe = gpu::make_probe(ctx);
    exit_code = project::run_init(ctx, *opts, *probe);
  });
}

}  // namespace furnace::cli
