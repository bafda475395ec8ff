#include "plan.hpp"

#include <furnace/run/support.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

namespace furnace::run {

namespace {

namespace fs = std::filesystem;

// The container's environment: the base, furnace.yaml's, then -e (values from `env` for -e KEY).
core::Result<void> add_env(ContainerSpec& s,
                           const project::FurnaceYaml& y,
                           const RunOptions& o,
                           const RunInputs& in,
                           std::vector<std::string>& warnings) {
  BaseEnv base = base_env(in.env, in.host.timezone, o.proxy_env);
  s.env = std::move(base.env);
  for (const std::string& name : base.withheld) {
    warnings.push_back(fmt::format("{} carries credentials: it is not passed into the container "
                                   "('--proxy-env' passes it; its value then shows in 'docker "
                                   "inspect')",
                                   name));
  }
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
  for (const auto& [k, v] : s.env) {
    if (cli_reads(k)) {
      if (auto ok = check_env_file_value(k, v); !ok) {
        return ok;
      }
    }
  }
  return {};
}

// The memory, CPU and process limits, and /dev/shm within the memory limit (it counts against
// it): an explicit size over the limit is an error, the default shrinks to a quarter of it.
core::Result<void> add_limits(ContainerSpec& s,
                              const project::FurnaceYaml& y,
                              const RunOptions& o,
                              const RunInputs& in) {
  auto limits = resolve_limits(Limits{o.memory, o.cpus, o.pids_limit},
                               Limits{y.memory, y.cpus, y.pids_limit},
                               in.host_limits,
                               in.host.user ? in.host.user->name : "root");
  if (!limits) {
    return core::fail(limits.error());
  }
  s.memory = limits->memory;
  s.cpus = limits->cpus;
  s.pids_limit = limits->pids_limit;
  const std::string asked_shm = !o.shm_size.empty() ? o.shm_size : y.shm;
  const std::string shm_from = !o.shm_size.empty() ? "--shm-size" : "furnace.yaml's shm";
  s.shm_size = !asked_shm.empty() ? asked_shm : default_shm_size(in.host.memory_bytes);
  if (auto ok = check_size(s.shm_size, shm_from); !ok) {
    return ok;
  }
  const unsigned long long memory = size_bytes(s.memory);
  if (memory == 0 || s.ipc_host) {
    return {};
  }
  if (!asked_shm.empty() && size_bytes(asked_shm) > memory) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{} {} is larger than the memory limit {}: /dev/shm counts "
                                  "against it, so the run would be killed before it is full",
                                  shm_from,
                                  asked_shm,
                                  s.memory),
                      "give a smaller --shm-size (a quarter of the memory is furnace's default) "
                      "or a larger --memory");
  }
  if (asked_shm.empty() && size_bytes(s.shm_size) > memory / 4) {
    s.shm_size = fmt::format("{}m", std::max(1ULL, memory / 4 / (1ULL << 20U)));
  }
  return {};
}

// Host paths go into --mount and --workdir: a control character in one is refused up front
// (the CLI's own error about it is confusing, and the mount would not be the intended one).
core::Result<void> check_paths(const ContainerSpec& s) {
  for (const Mount& m : s.mounts) {
    for (const std::string* p : {&m.source, &m.target}) {
      if (has_control_char(*p)) {
        return core::fail(
            core::ErrorKind::invalid,
            fmt::format("the path '{}' has a control character: furnace does not "
                        "mount it",
                        printable(*p)),
            "rename the directory (no line breaks, tabs or other control characters)");
      }
    }
  }
  for (std::size_t i = 0; i < s.mounts.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (s.mounts[i].target == s.mounts[j].target) {
        return core::fail(core::ErrorKind::invalid,
                          fmt::format("two mounts at {} in the container ({} and {})",
                                      s.mounts[i].target, s.mounts[j].source, s.mounts[i].source),
                          "give each -v its own container path");
      }
    }
  }
  if (has_control_char(s.workdir)) {
    return core::fail(
        core::ErrorKind::invalid,
        fmt::format("the working directory '{}' has a control character", printable(s.workdir)),
        "rename the directory (no line breaks, tabs or other control characters)");
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
  // extra_mounts puts the -v mounts first, the datasets' after them.
  for (std::size_t i = 0; i < o.volumes.size() && i < in.mounts.size(); ++i) {
    const Mount& m = in.mounts[i];
    r.volumes.push_back(m.source + ":" + m.target + (m.read_only ? ":ro" : ""));
  }
  r.memory = s.memory;
  r.cpus = s.cpus;
  r.pids_limit = s.pids_limit;
  return r;
}

} // namespace

bool proxy_has_credentials(std::string_view value) {
  for (const std::string& entry : util::split(std::string(value), ',')) {
    std::string_view v = util::trim(entry);
    if (const auto scheme = v.find("://"); scheme != std::string_view::npos) {
      v.remove_prefix(scheme + 3);
    }
    // The authority ends at the first '/', '?' or '#'; user information is before its last '@'.
    const std::string_view authority = v.substr(0, v.find_first_of("/?#"));
    if (authority.find('@') != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

BaseEnv base_env(const core::Env& host, const std::string& timezone, bool proxy_env) {
  BaseEnv out;
  out.env = {{"PYTHONUNBUFFERED", "1"}};
  for (const char* k : {"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                        "NO_PROXY", "TZ"}) {
    if (auto it = host.find(k); it != host.end()) {
      if (std::string_view(k) != "TZ" && !proxy_env && proxy_has_credentials(it->second)) {
        out.withheld.emplace_back(k);
        continue;
      }
      out.env[k] = it->second;
    }
  }
  if (out.env.count("TZ") == 0 && !timezone.empty()) {
    out.env["TZ"] = timezone;
  }
  return out;
}

core::Result<void>
check_project_root(const std::string& root, const std::string& here, const std::string& home) {
  for (const std::string* p : {&here, &root}) {
    if (has_control_char(*p)) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("the path '{}' has a control character: furnace does not "
                                    "mount it",
                                    printable(*p)),
                        "rename the directory (no line breaks, tabs or other control characters)");
    }
  }
  const std::string hint = "run furnace from your project's directory, or 'furnace init' in a "
                           "subdirectory to make that the project";
  std::error_code ec;
  if (fs::path(root) == "/" || fs::equivalent(root, "/", ec)) {
    return core::fail(core::ErrorKind::invalid,
                      "the project root is / itself: furnace would mount the whole file system "
                      "read-write into the container",
                      hint);
  }
  if (!home.empty() && home != "/" && (root == home || fs::equivalent(root, home, ec))) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("the project root is your home directory {}: furnace would mount "
                                  "all of it read-write into the container",
                                  root),
                      hint);
  }
  return {};
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
  s.mounts.insert(s.mounts.end(), in.mounts.begin(), in.mounts.end());
  s.ipc_host = o.ipc == "host";
  if (auto ok = add_limits(s, y, o, in); !ok) {
    return core::fail(ok.error());
  }
  s.network = o.network;
  s.memlock_unlimited = in.host.engine_can_unlock_memory && !in.rootless;
  s.podman = in.podman;
  // Podman sets nofile and nproc to 1048576 as soon as any --ulimit is given; where no process
  // may raise a hard limit that fails every run, so Podman there gets none (docs/podman.md).
  s.ulimits = !in.podman || in.host.can_raise_limits;
  if (auto ok = add_env(s, y, o, in, plan.warnings); !ok) {
    return core::fail(ok.error());
  }
  if (in.gui) {
    add_gui(s, *in.gui);
  }
  if (auto ok = check_paths(s); !ok) {
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
