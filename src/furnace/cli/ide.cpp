// furnace ide vscode|pycharm: the project's container as a Dev Container file (docs/ide.md).

#include "commands.hpp"

#include <furnace/gpu/probe_factory.hpp>
#include <furnace/run/ide.hpp>

#include <memory>

namespace furnace::cli {

void register_ide(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<run::IdeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "ide",
      "Write .devcontainer/devcontainer.json for VS Code or PyCharm: the container 'furnace "
      "run' would start (image, mount, user, GPUs, /dev/shm, limits)");
  cmd->add_option("tool",
                  opts->tool,
                  "vscode or pycharm (pycharm also prints the values for its "
                  "Docker interpreter dialog)")
      ->required()
      ->check(CLI::IsMember({"vscode", "pycharm"}));
  run::RunOptions& o = opts->run;
  cmd->add_option("-C,--directory", o.path, "As if started in DIR (the project is found upward)");
  cmd->add_option("--gpus",
                  o.gpus,
                  "all, none, a list like 0,2, or auto[:N], as for 'furnace run' (written by "
                  "UUID, not locked: the IDE starts the container later)");
  cmd->add_option(
         "-e,--env", o.env, "KEY=VALUE, or KEY: taken from the IDE's environment (${localEnv:KEY})")
      ->allow_extra_args(false);
  cmd->add_option("-p,--publish", o.ports, "A port the IDE forwards ([ADDRESS:]HOST_PORT:PORT)")
      ->allow_extra_args(false);
  cmd->add_option("-v,--volume",
                  o.volumes,
                  "HOST:CONTAINER[:ro], as for 'furnace run' (furnace.yaml's datasets come too)")
      ->allow_extra_args(false);
  cmd->add_option("--shm-size", o.shm_size, "/dev/shm size, as for 'furnace run'");
  cmd->add_option("--memory", o.memory, "Memory limit, as for 'furnace run'");
  cmd->add_option("--cpus", o.cpus, "CPU limit, as for 'furnace run'");
  cmd->add_option("--pids-limit", o.pids_limit, "Process limit, as for 'furnace run'");
  cmd->add_option("--ipc", o.ipc, "host: share the host's IPC namespace")
      ->check(CLI::IsMember({"host", "private"}));
  cmd->add_option("--network", o.network, "The engine network to join, for the build too");
  cmd->add_flag("--proxy-env",
                o.proxy_env,
                "Pass proxy variables that hold credentials (as ${localEnv:NAME}, never their "
                "values)");
  cmd->add_flag("--gui",
                o.gui,
                "Show the container's X11 windows on this host's display (--gui=gl: with "
                "OpenGL): its socket, DISPLAY and a cookie kept for the project under "
                "~/.local/state/furnace; default: furnace.yaml's gui (docs/ide.md)");
  cmd->add_flag("--dockerfile",
                opts->dockerfile,
                "Let the IDE build the image from the generated Dockerfile (written next to the "
                "file) instead of naming furnace's image");
  cmd->add_flag("--force",
                opts->force,
                "Replace a devcontainer.json (or, with --dockerfile, a file beside it) that "
                "someone else wrote or edited");
  cmd->callback([&ctx, &exit_code, opts] {
    exit_code = with_engine(ctx, [&](engine::DockerApi& api) {
      const std::unique_ptr<gpu::GpuProbe> probe = gpu::make_probe(ctx);
      run::SystemLauncher launcher;
      return run::run_ide(ctx, *opts, api, *probe, launcher);
    });
  });
}

} // namespace furnace::cli
