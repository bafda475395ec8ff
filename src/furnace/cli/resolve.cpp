// furnace resolve: which framework, CUDA, Python and base image a project needs on this host.

#include "commands.hpp"

#include <furnace/gpu/probe_factory.hpp>
#include <furnace/project/load.hpp>
#include <furnace/project/resolve_command.hpp>

#include <memory>

namespace furnace::cli {

void register_resolve(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<project::ResolveOptions>();
  CLI::App* cmd = app.add_subcommand(
      "resolve",
      "Pick the framework version, CUDA, Python and base image for a project on this host");
  cmd->add_option("path", opts->path, "The project directory")->capture_default_str();
  cmd->add_flag("--json", opts->json, "Print the plan as JSON (see docs/resolve.md)");
  cmd->add_option("--gpu", opts->gpus,
                  "Plan for this GPU instead of this host's: a name (H200, 'RTX 3090') or a "
                  "compute capability (8.6, sm_90); repeatable")
      ->expected(1)
      ->take_all();
  cmd->add_option("--driver", opts->driver, "Plan for this NVIDIA driver version (e.g. 535.104.05)");
  cmd->add_option("--framework", opts->overrides.framework, "Use this framework")
      ->check(CLI::IsMember({"pytorch", "torch", "tensorflow", "tf", "jax"}));
  cmd->add_option("--version", opts->overrides.version,
                  "Use this framework version (or a specifier such as '>=2.0,<2.3')");
  cmd->add_option("--python", opts->overrides.python, "Use this Python version (e.g. 3.10)");
  cmd->add_option("--cuda", opts->overrides.cuda, "Use this CUDA version (e.g. 11.8)");
  cmd->add_option("--as-of", opts->overrides.as_of,
                  "Plan as of this date (YYYY-MM-DD) instead of the project's own era")
      ->check([](const std::string& v) {
        const bool ok = v.size() == 10 && v[4] == '-' && v[7] == '-' &&
                        v.find_first_not_of("0123456789-") == std::string::npos;
        return ok ? std::string() : std::string("--as-of takes a date as YYYY-MM-DD, e.g. 2019-06-01");
      });
  cmd->add_flag("--latest", opts->overrides.latest,
                "Ignore the project's era: the newest release its files allow");
  cmd->add_flag("--allow-incompatible", opts->overrides.allow_incompatible,
                "Pick the project's choice even when this host cannot run it (with a warning)");
  cmd->callback([&ctx, &exit_code, opts] {
    auto pins = project::add_yaml_pins(opts->path, opts->overrides);
    if (!pins) {
      ctx.ui.error(pins.error());
      exit_code = pins.error().exit_code;
      return;
    }
    for (const std::string& note : *pins) {
      ctx.ui.info(note);
    }
    const std::unique_ptr<gpu::GpuProbe> probe = gpu::make_probe(ctx);
    exit_code = project::run_resolve(ctx, *opts, *probe);
  });
}

}  // namespace furnace::cli
