// furnace lab: Jupyter in the project's environment (run/lab.hpp, docs/lab.md).

#include "commands.hpp"

#include <furnace/gpu/probe_factory.hpp>
#include <furnace/run/lab.hpp>

#include <memory>

namespace furnace::cli {

void register_lab(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto o = std::make_shared<run::LabOptions>();
  CLI::App* cmd = app.add_subcommand(
      "lab",
      "JupyterLab (or Notebook) in the project's environment, as you, on 127.0.0.1 with a "
      "token: prints the URL; Ctrl-C stops it");
  cmd->add_option("-C,--directory", o->path, "Start as if in DIR (the project is found upward)");
  cmd->add_option(
      "--gpus", o->gpus, "As for 'furnace run' (default: furnace.yaml's gpus, else all)");
  cmd->add_option("-e,--env", o->env, "KEY=VALUE, or KEY to pass this shell's value")
      ->allow_extra_args(false);
  cmd->add_option("-v,--volume",
                  o->volumes,
                  "HOST:CONTAINER[:ro], as for 'furnace run' (furnace.yaml's datasets come too)")
      ->allow_extra_args(false);
  cmd->add_option(
      "--port", o->port, "The port on 127.0.0.1 (default: a free one the engine picks)");
  cmd->add_option("--shm-size", o->shm_size, "/dev/shm size, as for 'furnace run'");
  cmd->add_option("--memory", o->memory, "Memory limit, as for 'furnace run'");
  cmd->add_option("--cpus", o->cpus, "CPU limit, as for 'furnace run'");
  cmd->add_option("--network", o->network, "The engine network to join, as for 'furnace run'");
  cmd->add_flag(
      "-d,--detach", o->detach, "Leave it running in the background ('furnace stop NAME' ends it)");
  cmd->add_flag("--url", o->url, "Print the URL (with its token) of this project's running lab");
  cmd->add_flag("--no-browser", o->no_browser, "Do not open a browser on a desktop session");
  cmd->add_option("--timeout", o->timeout_s, "Seconds to wait for the server to answer")
      ->capture_default_str();
  cmd->add_flag("--dry-run", o->dry_run, "Print the engine command, shell-quoted; run nothing");
  cmd->callback([&ctx, &exit_code, o] {
    exit_code = with_engine(ctx, [&](engine::DockerApi& api) {
      const std::unique_ptr<gpu::GpuProbe> probe = gpu::make_probe(ctx);
      run::SystemLauncher launcher;
      return run::run_lab(ctx, *o, api, *probe, launcher);
    });
  });
}

} // namespace furnace::cli
