#pragma once
// `furnace export slurm`: a Job as an sbatch script, for one of three ways a Slurm cluster runs
// containers: pyxis (NVIDIA's srun plugin over enroot), Apptainer, or Docker with furnace on the
// nodes. More than one node is a torchrun launch on each. Pure: the same job and options give the
// same text (golden tests); every word from the user is shell-quoted, and no value of a variable
// other than furnace.yaml's own goes into the script (docs/cluster.md).

#include <furnace/cluster/job.hpp>
#include <furnace/core/error.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace furnace::cluster {

enum class Runtime { pyxis, apptainer, docker };

// "pyxis", "apptainer", "docker"; nullopt for anything else.
std::optional<Runtime> parse_runtime(std::string_view text);

struct SlurmOptions {
  Runtime runtime = Runtime::pyxis;
  std::string time;      // --time ("02:00:00", "1-00:00:00"); "" = the partition's default
  std::string partition; // "" = the cluster's default
  std::string output;    // the job's output file; "" = "furnace-%x-%j.out" in the submit directory
  // The docker runtime: the furnace on the nodes (default: the one that exports), and the engine
  // it talks to ("" = the node's default).
  std::string furnace = "furnace";
  std::string docker_host;
};

// Errors (invalid, usage): a time, partition or output path that cannot be an #SBATCH value; a
// mount path with ',' or ':' (pyxis and Apptainer separate binds with them).
core::Result<std::string> render_slurm(const Job& job, const SlurmOptions& options);

// "32g" -> "32768M" (Slurm's --mem counts MiB); "" for "".
std::string slurm_memory(const std::string& size);

// "1.5" -> "2": Slurm counts whole CPUs; "" for "".
std::string slurm_cpus(const std::string& cpus);

} // namespace furnace::cluster
