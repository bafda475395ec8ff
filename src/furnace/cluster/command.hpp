#pragma once
// `furnace export slurm|k8s` and `furnace submit --slurm|--k8s`: the project's RunPlan (the one
// `furnace run` would execute) rendered for a cluster's scheduler, and for submit handed to it
// (sbatch, kubectl apply) and recorded in the run history. `furnace history`, `show` and `logs`
// follow a submitted job through the scheduler (sync_jobs, job_logs).

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/history/store.hpp>
#include <furnace/run/launcher.hpp>

#include <optional>
#include <string>
#include <vector>

namespace furnace::cluster {

enum class Target { slurm, k8s };

struct ExportOptions {
  Target target = Target::slurm;
  std::string path = ".";           // where furnace was started (-C)
  std::vector<std::string> command; // empty: furnace.yaml's command
  int gpus = -1;                    // per node; -1: from furnace.yaml's gpus (gpus_per_node)
  unsigned nodes = 1;
  std::string cpus;             // per node; "" = furnace.yaml's, else the scheduler's default
  std::string memory;           //
  std::string shm_size;         //
  std::vector<std::string> env; // -e KEY[=VALUE]: passed by name, never written
  std::string output;           // -o FILE: write here instead of stdout
  std::string image;            // --image REF@DIGEST: this image, no build
  std::string registry;         // the registry the cluster pulls from (picks the repo digest)
  std::string name;             // the job's name; "" = "<project>-<6 hex>"
  // Slurm
  std::string runtime = "pyxis";
  std::string time;
  std::string partition;
  std::string log;       // #SBATCH --output; "" = furnace-%x-%j.out (submit: its own)
  unsigned port = 29500; // torchrun's rendezvous port on the first node
  // Kubernetes
  std::string ns;
  std::string pull_secret;
  std::string project_volume;               // pvc:CLAIM | nfs:SERVER:/PATH
  std::vector<std::string> dataset_volumes; // TARGET=pvc:CLAIM | TARGET=nfs:SERVER:/PATH
};

// Prints (or writes to -o) the script or manifest. Exit code: 0; 2 for a bad option; 1 when the
// image cannot be built or found.
int run_export(core::Context& ctx,
               const ExportOptions& options,
               engine::Engine& engine,
               gpu::GpuProbe& probe,
               run::Launcher& launcher);

// Exports, submits (sbatch --parsable / kubectl apply) and records the job. Prints the run's
// name and the scheduler's job id. Exit code: 0; 2 for a bad option; 1 when the scheduler
// refused it or its command is missing (the error says which, and where the script is).
int run_submit(core::Context& ctx,
               const ExportOptions& options,
               engine::Engine& engine,
               gpu::GpuProbe& probe,
               run::Launcher& launcher);

// Asks the schedulers about the recorded jobs still pending or running and records what
// changed (state, exit code, end). Quiet when nothing is open; a scheduler that does not answer
// leaves its jobs as they are.
void sync_jobs(core::Context& ctx, history::Store& store);
// The same with the user's history; nothing when it cannot be opened.
void sync_jobs(core::Context& ctx);

// `furnace logs [-f] RUN` of a submitted job: the Slurm output file (followed until the job
// ends), or `kubectl logs`. nullopt when RUN is no recorded cluster job.
std::optional<int> job_logs(core::Context& ctx, const std::string& run, bool follow);

// GPUs per node when --gpus is not given, from furnace.yaml's `gpus`: "none" 0, a list its
// length, "auto:N" N, anything else ("all", "") 1.
unsigned gpus_per_node(const std::string& yaml_gpus);

// The history status of a Slurm state ("COMPLETED", "CANCELLED by 0", "OUT_OF_MEMORY", ...):
// pending, running, exited, failed, cancelled, timeout or oom-killed; "" for an unknown state.
std::string status_of_slurm_state(const std::string& state);

} // namespace furnace::cluster
