// furnace export slurm|k8s and furnace submit --slurm|--k8s: the project's run for a cluster.

#include "commands.hpp"

#include <furnace/cluster/command.hpp>
#include <furnace/gpu/probe_factory.hpp>

#include <memory>

namespace furnace::cluster {
namespace {

// The options export and submit share; `slurm`/`k8s` say which targets' options to add.
void add_common(CLI::App* cmd, ExportOptions& o) {
  cmd->add_option(
      "-C,--directory", o.path, "Export as if started in DIR (the project is found upward)");
  cmd->add_option("--gpus",
                  o.gpus,
                  "GPUs per node (default: furnace.yaml's gpus counted: none 0, 0,1 2, auto:N N; "
                  "else 1)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option(
         "--nodes", o.nodes, "Nodes; more than 1 launches the command with torchrun on each")
      ->capture_default_str();
  cmd->add_option("--cpus", o.cpus, "CPUs per node (default: furnace.yaml's cpus)");
  cmd->add_option(
      "--mem,--memory", o.memory, "Memory per node (\"32g\"; default: furnace.yaml's memory)");
  cmd->add_option("--shm-size", o.shm_size, "/dev/shm size (default as for furnace run)");
  cmd->add_option(
         "-e,--env",
         o.env,
         "KEY or KEY=VALUE: passed to the job by name (its value never goes into the file)")
      ->allow_extra_args(false);
  cmd->add_option("--image",
                  o.image,
                  "The image to run, REGISTRY/REPO@sha256:DIGEST (default: the project's, by the "
                  "digest 'furnace push' left)");
  cmd->add_option(
      "--registry", o.registry, "The registry the cluster pulls from (picks its digest)");
  cmd->add_option(
      "--name", o.name, "The job's name (default: the project's name and 6 hex digits)");
}

void add_slurm(CLI::App* cmd, ExportOptions& o) {
  cmd->add_option("--runtime", o.runtime, "How the nodes run the container (default pyxis)")
      ->check(CLI::IsMember({"pyxis", "apptainer", "docker"}));
  cmd->add_option("--time", o.time, "Time limit (\"02:00:00\")");
  cmd->add_option("--partition", o.partition, "The Slurm partition");
  cmd->add_option("--log", o.log, "The job's output file (#SBATCH --output)");
  cmd->add_option("--port", o.port, "torchrun's rendezvous port on the first node (--nodes > 1)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
}

void add_k8s(CLI::App* cmd, ExportOptions& o) {
  cmd->add_option("--namespace", o.ns, "The Kubernetes namespace");
  cmd->add_option("--pull-secret", o.pull_secret, "The image pull Secret's name");
  cmd->add_option("--project-volume",
                  o.project_volume,
                  "Where the project is on the cluster: pvc:CLAIM or nfs:SERVER:/PATH");
  cmd->add_option("--dataset-volume",
                  o.dataset_volumes,
                  "TARGET=pvc:CLAIM or TARGET=nfs:SERVER:/PATH for a dataset mounted at TARGET")
      ->allow_extra_args(false);
}

template <class Fn> int with_tools(core::Context& ctx, Fn fn) {
  return cli::with_engine(ctx, [&](engine::DockerApi& api) {
    const std::unique_ptr<gpu::GpuProbe> probe = gpu::make_probe(ctx);
    run::SystemLauncher launcher;
    return fn(api, *probe, launcher);
  });
}

} // namespace
} // namespace furnace::cluster

namespace furnace::cli {

void register_export(CLI::App& app, core::Context& ctx, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "export", "Write the project's run for a cluster: an sbatch script or a Kubernetes Job");
  cmd->require_subcommand(1);
  for (const auto target : {cluster::Target::slurm, cluster::Target::k8s}) {
    auto opts = std::make_shared<cluster::ExportOptions>();
    opts->target = target;
    const bool slurm = target == cluster::Target::slurm;
    CLI::App* sub = cmd->add_subcommand(
        slurm ? "slurm" : "k8s",
        slurm
            ? "An sbatch script (pyxis, apptainer or docker): furnace export slurm [OPTIONS] -- CMD"
            : "A Kubernetes Job (Indexed, with a Service, for --nodes > 1): furnace export k8s "
              "[OPTIONS] -- CMD");
    cluster::add_common(sub, *opts);
    slurm ? cluster::add_slurm(sub, *opts) : cluster::add_k8s(sub, *opts);
    sub->add_option("-o,--output", opts->output, "Write to FILE instead of stdout");
    sub->callback([&ctx, &exit_code, opts] {
      opts->command = trailing_args();
      exit_code = cluster::with_tools(ctx, [&](auto& api, auto& probe, auto& launcher) {
        return cluster::run_export(ctx, *opts, api, probe, launcher);
      });
    });
  }
}

void register_submit(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<cluster::ExportOptions>();
  auto k8s = std::make_shared<bool>(false);
  auto slurm = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "submit",
      "Submit the project's run to Slurm (sbatch) or Kubernetes (kubectl) and record "
      "it: furnace submit --slurm|--k8s [OPTIONS] -- CMD");
  auto* s = cmd->add_flag("--slurm", *slurm, "Submit with sbatch");
  auto* k = cmd->add_flag("--k8s", *k8s, "Apply with kubectl");
  s->excludes(k);
  cluster::add_common(cmd, *opts);
  cluster::add_slurm(cmd, *opts);
  cluster::add_k8s(cmd, *opts);
  cmd->callback([&ctx, &exit_code, opts, k8s, slurm] {
    if (*k8s == *slurm) {
      ctx.ui.error(core::make_error(
          core::ErrorKind::invalid, "submit to which scheduler?", "give --slurm or --k8s"));
      exit_code = 2;
      return;
    }
    opts->target = *k8s ? cluster::Target::k8s : cluster::Target::slurm;
    opts->command = trailing_args();
    exit_code = cluster::with_tools(ctx, [&](auto& api, auto& probe, auto& launcher) {
      return cluster::run_submit(ctx, *opts, api, probe, launcher);
    });
  });
}

} // namespace furnace::cli
