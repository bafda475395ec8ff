#include "plan.hpp"

#include <furnace/run/support.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

namespace furnace::run {

namespace {

namespace fs = std::filesystem;

// The container's environment: the base, furnace.yaml's, then -e (values from `env` for -e KEY).
core::Result<void> add_env(ContainerSpec& s, const project::FurnaceYaml& y, const RunOptions& o,
                           const RunInputs& in) {
  s.env = base_env(in.env, in.host.timezone);
  for (const auto& [k, v] : y.env) {
    s.env[k] = v;
  }
  for (const std::string& e : o.env) {
    auto kv = parse_env_arg(e, in.env);
    if (!kv) {
      return core::fail(kv.error());
    }
    if (*kv) {
      s.env[(*kv)->first] = (*kv)->second;
    }
  }
  if (s.user) {
    s.env["HOME"] = s.user->home;
  }
  return {};
}

core::Result<void> add_ports(ContainerSpec& s, const project::FurnaceYaml& y, const RunOptions& o) {
  std::vector<std::string> ports = y.ports;
  ports.insert(ports.end(), o.ports.begin(), o.ports.end());
  for (const std::string& p : ports) {
    auto n = normalize_port(p);
    if (!n) {
      return core::fail(n.error());
    }
    s.ports.push_back(*n);
  }
  return {};
}

// The command (the shell when none) and how it is attached: a terminal, stdin, or neither.
void add_command(ContainerSpec& s, const project::FurnaceYaml& y, const RunOptions& o,
                 const RunHost& h) {
  s.command = !o.command.empty() ? o.command
              : (!y.command.empty() && !o.shell) ? y.command
                                                 : std::vector<std::string>{};
  const bool shell = s.command.empty();
  if (shell) {
    s.command = shell_command();
  }
  s.tty = !o.detach && h.stdin_tty && h.stdout_tty;
  // stdin goes in when it is a terminal for a terminal session, or a pipe or file we were given.
  s.interactive = !o.detach && (s.tty || h.stdin_data || (shell && !h.stdin_tty));
}

history::RunRecord start_record(const image::BuiltImage& img, const ContainerSpec& s,
                                const RunOptions& o, const RunInputs& in) {
  history::RunRecord r;
  r.name = s.name;
  r.started_ms = in.now_ms;
  r.status = history::k_running;
  r.user = s.user ? s.user->name : "root";
  r.host = in.host.host_name;
  r.project = img.project_root;
  r.workdir = s.workdir;
  r.git_commit = in.git_commit;
  r.spec_hash = img.spec_hash;
  r.image_tag = img.tag;
  r.image_id = img.image_id;
  r.base_image = img.base_image;
  r.base_digest = img.base_digest;
  r.command = s.command;
  r.gpu_request = in.gpus.request;
  r.gpu_indices = in.gpus.indices;
  r.gpu_uuids = in.gpus.uuids;
  r.driver_version = in.gpus.driver;
  r.log_path = in.log_path;
  r.detached = o.detach;
  return r;
}

} // namespace

std::map<std::string, std::string> base_env(const core::Env& host, const std::string& timezone) {
  std::map<std::string, std::string> env{{"PYTHONUNBUFFERED", "1"}};
  for (const char* k : {"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                        "NO_PROXY", "TZ"}) {
    if (auto it = host.find(k); it != host.end()) {
      env[k] = it->second;
    }
  }
  if (env.count("TZ") == 0 && !timezone.empty()) {
    env["TZ"] = timezone;
  }
  return env;
}

core::Result<RunPlan> plan_run(const image::BuiltImage& img, const RunOptions& o,
                               const RunInputs& in) {
  const project::FurnaceYaml& y = img.yaml;
  const std::string& root = img.project_root;
  RunPlan plan;
  plan.detach = o.detach;
  ContainerSpec& s = plan.spec;
  s.docker = in.docker;
  s.name = in.name;
  s.image = in.image;
  s.user = in.rootless ? std::nullopt : in.host.user;
  const std::string target = y.workdir.empty() ? root : y.workdir;
  s.mounts.push_back(Mount{root, target, false});
  const fs::path rel = fs::path(in.here).lexically_relative(root);
  s.workdir = rel.empty() || rel == "." ? target : (fs::path(target) / rel).string();
  if (!y.datasets.empty()) {
    plan.warnings.push_back(fmt::format(
        "furnace.yaml 'datasets' ({}) are not mounted yet by this furnace", fmt::join(y.datasets, ", ")));
  }
  s.ipc_host = o.ipc == "host";
  s.shm_size = !o.shm_size.empty() ? o.shm_size
               : !y.shm.empty()    ? y.shm
                                   : default_shm_size(in.host.memory_bytes);
  if (auto ok = check_size(s.shm_size, "--shm-size"); !ok) {
    return core::fail(ok.error());
  }
  s.network = o.network;
  s.memlock_unlimited = in.host.engine_can_unlock_memory && !in.rootless;
  if (auto ok = add_env(s, y, o, in); !ok) {
    return core::fail(ok.error());
  }
  if (auto ok = add_ports(s, y, o); !ok) {
    return core::fail(ok.error());
  }
  add_command(s, y, o, in.host);
  s.gpus = in.gpus.mode;
  s.gpu_indices = in.gpus.indices;
  s.gpu_uuids = in.gpus.uuids;
  s.labels = {{k_label_run, s.name},
              {k_label_project, root},
              {k_label_user, s.user ? s.user->name : "root"},
              {k_label_host, in.host.host_name},
              {k_label_pid, std::to_string(in.host.pid)},
              {k_label_pid_start, in.host.pid_start},
              {k_label_gpus, in.gpus.mode == GpuMode::all
                                 ? "all"
                                 : fmt::format("{}", fmt::join(in.gpus.indices, ","))}};
  plan.record = start_record(img, s, o, in);
  return plan;
}

} // namespace furnace::run
