// furnace run / shell / ps / logs / stop / rerun: the project's code in its environment.

#include "commands.hpp"

#include <furnace/cluster/command.hpp>
#include <furnace/gpu/probe_factory.hpp>
#include <furnace/registry/push.hpp>
#include <furnace/run/command.hpp>

#include <memory>

namespace furnace::cli {

namespace {

// The options `run` and `shell` share.
void add_run_options(CLI::App* cmd, run::RunOptions& o) {
  cmd->add_option("-C,--directory", o.path, "Run as if started in DIR (the project is found upward)");
  cmd->add_option("--gpus", o.gpus,
                  "all, none, a list like 0,2, or auto[:N] (the N least used GPUs nobody else "
                  "has); default: furnace.yaml's gpus, else all");
  cmd->add_option("-e,--env", o.env, "KEY=VALUE, or KEY to pass this shell's value")->allow_extra_args(false);
  cmd->add_option("-p,--publish", o.ports,
                  "[ADDRESS:]HOST_PORT:PORT; bound to 127.0.0.1 unless an address is given")
      ->allow_extra_args(false);
  cmd->add_option("-v,--volume", o.volumes,
                  "HOST_PATH:CONTAINER_PATH[:ro]: mount a host directory or file (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--shm-size", o.shm_size,
                  "/dev/shm size (default: a quarter of the memory, 1g to 16g; see docs/run.md)");
  cmd->add_option("--memory",
                  o.memory,
                  "Memory limit (\"16g\"); default: furnace.yaml's memory, else the host's "
                  "(/etc/furnace/config.yaml); /dev/shm counts against it");
  cmd->add_option("--cpus", o.cpus, "CPU limit (\"4\", \"1.5\"); default as for --memory");
  cmd->add_option(
      "--pids-limit", o.pids_limit, "Process limit (\"4096\"); default as for --memory");
  cmd->add_flag("--proxy-env",
                o.proxy_env,
                "Pass the host's http(s)_proxy/no_proxy even when they hold credentials (then "
                "visible in 'docker inspect')");
  cmd->add_option("--ipc", o.ipc, "host: share the host's IPC namespace (and its /dev/shm)")
      ->check(CLI::IsMember({"host", "private"}));
  cmd->add_option("--network", o.network,
                  "The engine network to join, for the build too (host: reach the host's 127.0.0.1)");
  cmd->add_flag("--gui", o.gui,
                "Show the container's X11 windows on your display (--gui=gl: with OpenGL); "
                "default: furnace.yaml's gui (docs/gui.md)");
  cmd->add_flag("--dry-run", o.dry_run, "Print the engine command, shell-quoted; run nothing");
  cmd->add_flag("--clean", o.clean, "Remove this project's containers left by killed runs");
}

template <class Fn> void engine_callback(CLI::App* cmd, core::Context& ctx, int& exit_code, Fn fn) {
  cmd->callback([&ctx, &exit_code, cmd, fn] {
    exit_code = with_engine(ctx, [&](engine::DockerApi& api) { return fn(api, cmd); });
  });
}

} // namespace

void register_run(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<run::RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run a command in the project's environment (built when needed), as you, on the GPUs "
             "you choose: furnace run [OPTIONS] [--] CMD [ARGS...]");
  add_run_options(cmd, *opts);
  cmd->add_flag("-d,--detach", opts->detach, "Run in the background; prints the run's name");
  auto from_registry = std::make_shared<bool>(false);
  cmd->add_flag("--from-registry", *from_registry,
                "Run the image furnace.lock records as pushed (furnace push), pulled from the lab "
                "registry when missing, instead of building");
  cmd->prefix_command();
  cmd->allow_extras();
  engine_callback(cmd, ctx, exit_code, [&ctx, opts, from_registry](engine::DockerApi& api,
                                                                   CLI::App* self) {
    if (*from_registry) { // the lock's pushed image instead of a build (registry/push.hpp)
      auto id = registry::pull_locked_image(ctx, api, registry::PullOptions{opts->path, ""});
      if (!id) {
        ctx.ui.error(id.error());
        return 125;
      }
      opts->image = *id;
    }
    opts->command = self->remaining();
    const auto& after = trailing_args();
    if (!opts->command.empty() && !after.empty()) {
      opts->command.emplace_back("--"); // CMD's own "--" (`git diff -- f`), not furnace's
    }
    opts->command.insert(opts->command.end(), after.begin(), after.end());
    const std::unique_ptr<gpu::GpuProbe> probe = gpu::make_probe(ctx);
    run::SystemLauncher launcher;
    return run::run_run(ctx, *opts, api, *probe, launcher);
  });
}

void register_shell(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<run::RunOptions>();
  auto attach = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("shell", "An interactive shell in the project's environment");
  add_run_options(cmd, *opts);
  cmd->add_flag("--attach", *attach, "Open the shell in the project's running container instead");
  engine_callback(cmd, ctx, exit_code, [&ctx, opts, attach](engine::DockerApi& api, CLI::App*) {
    if (*attach) {
      return run::run_shell_attach(ctx, run::ShellAttachOptions{opts->path}, api);
    }
    opts->shell = true;
    const std::unique_ptr<gpu::GpuProbe> probe = gpu::make_probe(ctx);
    run::SystemLauncher launcher;
    return run::run_run(ctx, *opts, api, *probe, launcher);
  });
}

void register_ps(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<run::PsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "ps", "furnace's containers on this host, every user's: project, user, GPUs, image, uptime");
  cmd->add_flag("--json", opts->json, "Machine-readable output");
  engine_callback(cmd, ctx, exit_code,
                  [&ctx, opts](engine::DockerApi& api, CLI::App*) { return run::run_ps(ctx, *opts, api); });
}

void register_logs(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<run::LogsOptions>();
  CLI::App* cmd = app.add_subcommand("logs", "The output of a run (its log file)");
  cmd->add_option("run", opts->run, "The run: its id, its name, or a unique prefix")->required();
  cmd->add_flag("-f,--follow", opts->follow, "Keep printing until the run ends");
  engine_callback(cmd, ctx, exit_code, [&ctx, opts](engine::DockerApi& api, CLI::App*) {
    // A job submitted to a cluster: its scheduler's output (docs/cluster.md).
    if (auto code = cluster::job_logs(ctx, opts->run, opts->follow)) {
      return *code;
    }
    return run::run_logs(ctx, *opts, api);
  });
}

void register_stop(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<run::StopOptions>();
  CLI::App* cmd = app.add_subcommand("stop", "Stop runs (SIGTERM, then SIGKILL after --time)");
  cmd->add_option("runs", opts->runs, "Runs: ids, names or unique prefixes")->required();
  cmd->add_option("-t,--time", opts->grace_seconds, "Seconds to wait before SIGKILL")
      ->capture_default_str();
  engine_callback(cmd, ctx, exit_code,
                  [&ctx, opts](engine::DockerApi& api, CLI::App*) { return run::run_stop(ctx, *opts, api); });
}

void register_rerun(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<run::RerunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "rerun", "Run a recorded run again: same image, same command, as many GPUs");
  cmd->add_option("run", opts->run, "The run: its id, its name, or a unique prefix")->required();
  cmd->add_flag("-d,--detach", opts->detach, "Run in the background");
  cmd->add_flag("--dry-run", opts->dry_run, "Print the engine command; run nothing");
  engine_callback(cmd, ctx, exit_code, [&ctx, opts](engine::DockerApi& api, CLI::App*) {
    const std::unique_ptr<gpu::GpuProbe> probe = gpu::make_probe(ctx);
    run::SystemLauncher launcher;
    return run::run_rerun(ctx, *opts, api, *probe, launcher);
  });
}

} // namespace furnace::cli
