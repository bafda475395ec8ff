#include "launcher.hpp"

#include <furnace/run/support.hpp>
#include <furnace/run/user_layer.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

namespace furnace::run {

namespace {

unsigned long long host_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  unsigned long long kb = 0;
  while (in >> key >> kb) {
    if (key == "MemTotal:") {
      return kb * 1024;
    }
    in.ignore(256, '\n');
  }
  return 0;
}

// Whether CAP_SYS_RESOURCE is in the capability set `field` ("CapEff:", "CapBnd:") of a
// /proc/PID/status file; an unreadable file or field counts as yes.
bool has_cap_sys_resource(const std::string& status_path, std::string_view field) {
  auto status = util::read_file(status_path);
  if (!status) {
    return true;
  }
  constexpr unsigned long long k_cap_sys_resource = 1ULL << 24U;
  const auto at = status->find(field);
  if (at == std::string::npos) {
    return true;
  }
  const unsigned long long caps = std::strtoull(status->c_str() + at + field.size(), nullptr, 16);
  return (caps & k_cap_sys_resource) != 0;
}

// Whether a local engine may raise the locked-memory limit (CAP_SYS_RESOURCE, or no hard limit).
// Unknown (a remote engine, no pid file) counts as yes: that is every normal root engine.
bool engine_can_unlock_memory() {
  auto pid = util::read_file("/var/run/docker.pid");
  if (!pid) {
    return true;
  }
  return has_cap_sys_resource(fmt::format("/proc/{}/status", util::trim(*pid)), "CapEff:");
}

// Whether CAP_SYS_RESOURCE is in this process's bounding set: without it, no root process of
// this host (an engine included) can raise a hard rlimit.
bool host_can_raise_limits() {
  return has_cap_sys_resource("/proc/self/status", "CapBnd:");
}

} // namespace

RunHost SystemLauncher::facts(const core::Env& env) {
  RunHost h;
  h.stdin_tty = ::isatty(STDIN_FILENO) == 1;
  h.stdout_tty = ::isatty(STDOUT_FILENO) == 1;
  struct stat st {};
  h.stdin_data = ::fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode));
  h.memory_bytes = host_memory();
  h.engine_can_unlock_memory = engine_can_unlock_memory();
  h.can_raise_limits = host_can_raise_limits();
  if (auto tz = util::read_file("/etc/timezone"); tz) {
    h.timezone = std::string(util::trim(*tz));
  }
  h.host_name = host_name();
  h.pid = static_cast<int>(::getpid());
  h.pid_start = process_start_time(h.pid);
  h.user = invoking_user(env);
  return h;
}

core::Result<SessionResult> SystemLauncher::session(const EngineCommand& command,
                                                    const core::Env& env,
                                                    const SessionOptions& options) {
  return run_session(command, env, options);
}

core::Result<int> SystemLauncher::supervise(const std::function<EngineCommand()>& make_command,
                                            const core::Env& env, int log_fd,
                                            const std::function<void(const SessionResult&)>& on_exit) {
  return spawn_supervisor(make_command, env, log_fd, on_exit);
}

bool SystemLauncher::reap(int pid, bool block) {
  int status = 0;
  return ::waitpid(pid, &status, block ? 0 : WNOHANG) == pid;
}

} // namespace furnace::run
