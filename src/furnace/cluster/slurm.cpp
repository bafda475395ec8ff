#include "slurm.hpp"

#include <furnace/util/process.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace furnace::cluster {

namespace {

using util::shell_join;
using util::shell_quote;

const std::string k_cont = " \\\n    "; // a continued command line

core::Error bad_value(std::string_view option, std::string_view value, std::string_view hint) {
  return core::make_error(
      core::ErrorKind::invalid,
      fmt::format("{} '{}' cannot be an #SBATCH value", option, run::printable(value)),
      std::string(hint));
}

bool only(std::string_view text, std::string_view extra) {
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

core::Result<void> check_options(const Job& job, const SlurmOptions& o) {
  if (!only(o.time, "0123456789:-")) {
    return core::fail(bad_value("--time", o.time, "give MINUTES, HH:MM:SS or DAYS-HH:MM:SS"));
  }
  if (!only(o.partition, "_.,-")) {
    return core::fail(
        bad_value("--partition", o.partition, "give the partition's name as sinfo shows it"));
  }
  // Slurm splits an #SBATCH line at blanks and reads quotes itself: a plain path only.
  if (!only(o.output, "/._-%+=@,~")) {
    return core::fail(
        bad_value("-o/--output", o.output, "choose a path of letters, digits and /._-%+=@,~ only"));
  }
  if (o.runtime == Runtime::docker) {
    return {};
  }
  for (const run::Mount& m : job.mounts) {
    for (const std::string* p : {&m.source, &m.target}) {
      if (p->find_first_of(",:") != std::string::npos) {
        return core::fail(core::ErrorKind::invalid,
                          fmt::format("the path '{}' has a ',' or ':', which {} reads as the end "
                                      "of a bind",
                                      run::printable(*p),
                                      o.runtime == Runtime::pyxis ? "pyxis" : "Apptainer"),
                          "rename the directory, or use '--runtime docker'");
      }
    }
  }
  return {};
}

std::string header(const Job& job, const SlurmOptions& o) {
  // SC2016: a word of the command with a '$' is single-quoted on purpose (it is the program's).
  std::string out = "#!/bin/bash\n# shellcheck disable=SC2016\n";
  out += fmt::format("# furnace export slurm: {} on {} node(s) with {} GPU(s) each, runtime {}.\n",
                     job.project_name,
                     job.nodes,
                     job.gpus,
                     o.runtime == Runtime::pyxis       ? "pyxis"
                     : o.runtime == Runtime::apptainer ? "apptainer"
                                                       : "docker");
  out += "# Submit with 'sbatch FILE'; docs/cluster.md says what each line does.\n";
  out += fmt::format("#SBATCH --job-name={}\n", job.name);
  out += fmt::format("#SBATCH --nodes={}\n", job.nodes);
  out += "#SBATCH --ntasks-per-node=1\n";
  if (job.gpus > 0) {
    out += fmt::format("#SBATCH --gres=gpu:{}\n", job.gpus);
  }
  if (!job.cpus.empty()) {
    out += fmt::format("#SBATCH --cpus-per-task={}\n", slurm_cpus(job.cpus));
  }
  if (!job.memory.empty()) {
    out += fmt::format("#SBATCH --mem={}\n", slurm_memory(job.memory));
  }
  if (!o.time.empty()) {
    out += fmt::format("#SBATCH --time={}\n", o.time);
  }
  if (!o.partition.empty()) {
    out += fmt::format("#SBATCH --partition={}\n", o.partition);
  }
  out += fmt::format("#SBATCH --output={}\n", o.output.empty() ? "furnace-%x-%j.out" : o.output);
  out += "set -euo pipefail\n\n";
  if (job.image.pinned()) {
    out += fmt::format("# The image, pinned by digest: {}\n", job.image.reference());
  } else {
    out += fmt::format("# WARNING: the image {} is NOT pinned by digest: the nodes run whatever "
                       "that tag is when the\n# job starts. Push it ('furnace push') and export "
                       "again, or give --image REGISTRY/REPO@sha256:DIGEST.\n",
                       job.image.reference());
  }
  return out;
}

// The variables furnace.yaml sets (values), then the ones passed by name.
std::string env_lines(const Job& job, const std::string& prefix) {
  std::string out;
  for (const auto& [k, v] : job.env) {
    out += fmt::format("export {}{}={}\n", prefix, k, shell_quote(v));
  }
  if (!prefix.empty()) {
    for (const std::string& n : job.env_names) {
      out +=
          fmt::format("if [ -n \"${{{0}+set}}\" ]; then export {1}{0}=\"${0}\"; fi\n", n, prefix);
    }
  }
  return out;
}

std::vector<std::string> torchrun_command(const Job& job) {
  std::vector<std::string> args{"--nproc_per_node=" + std::to_string(std::max(job.gpus, 1U))};
  const std::vector<std::string> rest = torchrun_args(job.command);
  args.insert(args.end(), rest.begin(), rest.end());
  return args;
}

// `exec torchrun ...` as a line of the per-node function (the rank words expand on each node).
std::string torchrun_line(const Job& job) {
  return fmt::format("torchrun --nnodes=\"$SLURM_NNODES\" --node_rank=\"$SLURM_NODEID\"{0}"
                     "--master_addr=\"$MASTER_ADDR\" --master_port=\"$MASTER_PORT\"{0}{1}",
                     k_cont,
                     shell_join(torchrun_command(job)));
}

std::string multi_node_intro(const Job& job) {
  return fmt::format(
      "\n# torchrun on every node; the first node of the job is the rendezvous.\n"
      "MASTER_NODE=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n1)\n"
      "# Its address as Slurm reaches it (NodeAddr; a node's name need not resolve).\n"
      "MASTER_ADDR=$(scontrol show node -o \"$MASTER_NODE\" | grep -o "
      "'NodeAddr=[^ ]*' | cut -d= -f2 || true)\n"
      "export MASTER_ADDR=${{MASTER_ADDR:-$MASTER_NODE}}\n"
      "export MASTER_PORT={}\n"
      "# One launch per node: srun starts it on each, where SLURM_NODEID is that "
      "node's rank.\n",
      job.port);
}

std::string pyxis(const Job& job) {
  std::string out = "# Registry credentials come from enroot's credentials file "
                    "($ENROOT_CONFIG_PATH/.credentials,\n# netrc format) on the nodes; none are "
                    "in this script.\n";
  out += env_lines(job, "");
  std::vector<std::string> mounts;
  for (const run::Mount& m : job.mounts) {
    mounts.push_back(m.source + ":" + m.target + (m.read_only ? ":ro" : ""));
  }
  std::vector<std::string> names;
  for (const auto& [k, v] : job.env) {
    names.push_back(k);
  }
  names.insert(names.end(), job.env_names.begin(), job.env_names.end());
  std::string srun = "srun";
  if (job.nodes > 1) {
    srun += " --ntasks-per-node=1";
  }
  srun += k_cont + shell_quote("--container-image=" + job.image.enroot());
  srun += k_cont + shell_quote(fmt::format("--container-mounts={}", fmt::join(mounts, ",")));
  srun += k_cont + shell_quote("--container-workdir=" + job.workdir);
  if (!names.empty()) {
    // Names only: pyxis takes their values from the job's environment.
    srun += k_cont + shell_quote(fmt::format("--container-env={}", fmt::join(names, ",")));
  }
  srun += k_cont + "--no-container-mount-home";
  if (job.nodes == 1) {
    return out + srun + k_cont + shell_join(job.command) + "\n";
  }
  out += multi_node_intro(job);
  out += "launch() {\n  exec " + torchrun_line(job) + "\n}\nexport -f launch\n";
  return out + srun + k_cont + "bash -c launch\n";
}

std::string apptainer_exec(const Job& job) {
  std::string out = "apptainer exec --nv --cleanenv";
  for (const run::Mount& m : job.mounts) {
    out +=
        k_cont + "--bind " + shell_quote(m.source + ":" + m.target + (m.read_only ? ":ro" : ":rw"));
  }
  out += k_cont + "--pwd " + shell_quote(job.workdir);
  out += k_cont + shell_quote("docker://" + job.image.reference());
  return out;
}

std::string apptainer(const Job& job) {
  std::string out = "# --cleanenv: the container sees only the APPTAINERENV_ variables below. "
                    "Registry credentials:\n# 'apptainer registry login' on the nodes, or "
                    "APPTAINER_DOCKER_USERNAME/PASSWORD in the job's environment.\n";
  out += env_lines(job, "APPTAINERENV_");
  const std::string gpus = job.gpus == 0 ? std::string()
                                         : "# The GPUs Slurm gave this job (on this node), and no "
                                           "others.\n" +
                                               std::string(job.nodes > 1 ? "  " : "") +
                                               "export APPTAINERENV_CUDA_VISIBLE_DEVICES="
                                               "\"${CUDA_VISIBLE_DEVICES:-}\"\n";
  if (job.nodes == 1) {
    return out + gpus + "exec " + apptainer_exec(job) + k_cont + shell_join(job.command) + "\n";
  }
  out += multi_node_intro(job);
  out += "launch() {\n";
  if (!gpus.empty()) {
    out += "  export APPTAINERENV_CUDA_VISIBLE_DEVICES=\"${CUDA_VISIBLE_DEVICES:-}\"\n";
  }
  out += "  exec " + apptainer_exec(job) + k_cont + torchrun_line(job) + "\n}\nexport -f launch\n";
  return out + "srun --ntasks-per-node=1 bash -c launch\n";
}

std::string furnace_run(const Job& job, const std::string& gpus, bool multi) {
  std::string out = fmt::format("\"$FURNACE\" run -C {}", shell_quote(job.here));
  if (multi) {
    out += " --network host -e MASTER_ADDR -e MASTER_PORT"; // the other nodes reach node 0's port
  }
  out += " --gpus " + gpus;
  for (const std::string& n : job.env_names) {
    if (n != "TZ" && n.find("proxy") == std::string::npos && n.find("PROXY") == std::string::npos) {
      out += " -e " + n; // furnace run takes proxies and TZ from the node itself
    }
  }
  if (!job.memory.empty()) {
    out += " --memory " + shell_quote(job.memory);
  }
  if (!job.cpus.empty()) {
    out += " --cpus " + shell_quote(job.cpus);
  }
  return out + " --";
}

std::string docker(const Job& job, const SlurmOptions& o) {
  std::string out = "# furnace on the nodes runs the project's image on the node's engine, as "
                    "'furnace run' does here\n# (built from the project and furnace.lock when the "
                    "node does not have it yet).\n";
  out += fmt::format("export FURNACE=${{FURNACE:-{}}}\n", shell_quote(o.furnace));
  if (!o.docker_host.empty()) {
    out += fmt::format("export DOCKER_HOST=${{DOCKER_HOST:-{}}}\n", shell_quote(o.docker_host));
  }
  // The host's indices of the GPUs the job got (what --gpus takes): SLURM_JOB_GPUS in the batch
  // step, SLURM_STEP_GPUS in an srun step; CUDA_VISIBLE_DEVICES where neither is set.
  const std::string pick = "${SLURM_STEP_GPUS:-${SLURM_JOB_GPUS:-${CUDA_VISIBLE_DEVICES:-}}}";
  const char* gpu_note = "# The GPUs Slurm gave the job, as this node's GPU indices.\n";
  if (job.nodes == 1) {
    if (job.gpus == 0) {
      return out + "exec " + furnace_run(job, "none", false) + k_cont + shell_join(job.command) +
             "\n";
    }
    out += gpu_note + std::string("gpus=") + pick + "\n";
    return out + "exec " + furnace_run(job, "\"${gpus:-none}\"", false) + k_cont +
           shell_join(job.command) + "\n";
  }
  out += multi_node_intro(job);
  out += "launch() {\n";
  std::string gpus = "none";
  if (job.gpus > 0) {
    out += "  " + std::string(gpu_note) + "  local gpus=" + pick + "\n";
    gpus = "\"${gpus:-none}\"";
  }
  out += "  exec " + furnace_run(job, gpus, true) + k_cont + torchrun_line(job) +
         "\n}\nexport -f launch\n";
  return out + "srun --ntasks-per-node=1 bash -c launch\n";
}

} // namespace

std::optional<Runtime> parse_runtime(std::string_view text) {
  if (text == "pyxis") {
    return Runtime::pyxis;
  }
  if (text == "apptainer") {
    return Runtime::apptainer;
  }
  if (text == "docker") {
    return Runtime::docker;
  }
  return std::nullopt;
}

std::string slurm_memory(const std::string& size) {
  if (size.empty()) {
    return {};
  }
  const unsigned long long bytes = run::size_bytes(size);
  constexpr unsigned long long k_mib = 1ULL << 20U;
  return fmt::format("{}M", std::max(1ULL, (bytes + k_mib - 1) / k_mib));
}

std::string slurm_cpus(const std::string& cpus) {
  if (cpus.empty()) {
    return {};
  }
  const double n = std::strtod(cpus.c_str(), nullptr);
  return std::to_string(std::max(1L, static_cast<long>(std::ceil(n))));
}

core::Result<std::string> render_slurm(const Job& job, const SlurmOptions& options) {
  if (auto ok = check_options(job, options); !ok) {
    return core::fail(ok.error());
  }
  std::string out = header(job, options);
  switch (options.runtime) {
  case Runtime::pyxis:
    return out + pyxis(job);
  case Runtime::apptainer:
    return out + apptainer(job);
  case Runtime::docker:
    return out + docker(job, options);
  }
  return out;
}

} // namespace furnace::cluster
