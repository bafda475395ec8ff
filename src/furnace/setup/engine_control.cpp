#include "engine_control.hpp"

#include <furnace/engine/docker_api.hpp>
#include <furnace/engine/endpoint.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>

namespace furnace::setup {
namespace {

using core::ErrorKind;

// Running and not a zombie.
bool process_alive(int pid) {
  auto stat = util::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) {
    return false;
  }
  const auto paren = stat->rfind(')');
  return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] != 'Z';
}

// Starts argv detached (own session, reparented to init), output appended to `log_path`.
// Returns the pid of the started process.
core::Result<int> spawn_detached(const std::string& exe,
                                 const std::vector<std::string>& argv,
                                 const std::string& log_path) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    return core::fail(ErrorKind::io, std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<std::string> args = argv;
  std::vector<char*> cargs;
  for (auto& a : args) {
    cargs.push_back(a.data());
  }
  cargs.push_back(nullptr);
  const pid_t child = ::fork();
  if (child < 0) {
    return core::fail(ErrorKind::io, std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    ::setsid();
    const pid_t grandchild = ::fork();
    if (grandchild != 0) {
      const int pid = grandchild;
      (void)!::write(pipefd[1], &pid, sizeof pid);
      ::_exit(0);
    }
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      ::dup2(devnull, STDIN_FILENO);
    }
    if (log >= 0) {
      ::dup2(log, STDOUT_FILENO);
      ::dup2(log, STDERR_FILENO);
    }
    if (::chdir("/") != 0) {
      ::_exit(127);
    }
    ::execv(exe.c_str(), cargs.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  int pid = 0;
  const ssize_t n = ::read(pipefd[0], &pid, sizeof pid);
  ::close(pipefd[0]);
  int ws = 0;
  ::waitpid(child, &ws, 0);
  if (n != static_cast<ssize_t>(sizeof pid)) {
    return core::fail(ErrorKind::io, "cannot start " + exe);
  }
  return pid;
}

bool wait_gone(int pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (process_alive(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

std::string journal_tail(util::ProcessRunner& runner) {
  util::ProcessOptions opts;
  opts.timeout = std::chrono::milliseconds(5000);
  auto r = runner.run({"journalctl", "-u", "docker", "-n", "30", "--no-pager", "-o", "cat"}, opts);
  return r ? r->out : std::string();
}

} // namespace

std::string EngineControl::describe_reload() const {
  switch (manager) {
  case Manager::systemd:
    return "systemctl reload docker";
  case Manager::process:
    return fmt::format("SIGHUP to dockerd (pid {})", pid);
  case Manager::none:
    break;
  }
  return "nothing (the engine is not running)";
}

std::string EngineControl::describe_restart() const {
  switch (manager) {
  case Manager::systemd:
    return "systemctl restart docker";
  case Manager::process:
    return fmt::format("stop dockerd (pid {}) and start it again with the same arguments", pid);
  case Manager::none:
    break;
  }
  return "nothing (the engine is not running)";
}

std::string engine_log_tail(const EngineControl& engine, util::ProcessRunner& runner) {
  if (engine.manager == EngineControl::Manager::systemd) {
    return journal_tail(runner);
  }
  if (engine.manager != EngineControl::Manager::process || engine.pid <= 0) {
    return "";
  }
  std::error_code ec;
  const auto target =
      std::filesystem::read_symlink("/proc/" + std::to_string(engine.pid) + "/fd/2", ec);
  if (ec || !std::filesystem::is_regular_file(target, ec)) {
    return "";
  }
  const std::string log = util::read_file(target.string()).value_or(std::string());
  constexpr std::size_t k_tail = 16384;
  return log.size() > k_tail ? log.substr(log.size() - k_tail) : log;
}

std::string engine_error_from_log(const std::string& log) {
  std::string best;
  std::string last;
  for (const auto& line : util::split(log, '\n')) {
    const std::string_view l = util::trim(line);
    if (l.empty()) {
      continue;
    }
    last = std::string(l);
    if (l.find("failed to start daemon") != std::string_view::npos ||
        l.find("unable to configure the Docker daemon") != std::string_view::npos ||
        l.find("directives") != std::string_view::npos ||
        l.find("Error reconfiguring") != std::string_view::npos) {
      best = std::string(l);
    }
  }
  return best.empty() ? last : best;
}

core::Result<void> reload_engine(EngineControl& engine, util::ProcessRunner& runner) {
  if (engine.manager == EngineControl::Manager::systemd) {
    util::ProcessOptions opts;
    opts.timeout = std::chrono::milliseconds(60000);
    auto r = runner.run({"systemctl", "reload", "docker"}, opts);
    if (!r || !r->status.ok()) {
      return core::fail(ErrorKind::remote,
                        "systemctl reload docker failed: " +
                            (r ? std::string(util::trim(r->err)) : r.error().message));
    }
    return {};
  }
  if (engine.manager == EngineControl::Manager::process) {
    if (::kill(engine.pid, SIGHUP) != 0) {
      return core::fail(
          ErrorKind::permission,
          fmt::format("cannot signal dockerd (pid {}): {}", engine.pid, std::strerror(errno)),
          "run as root: sudo furnace setup …");
    }
  }
  return {};
}

bool wait_engine_up(const std::string& endpoint_uri,
                    std::chrono::milliseconds timeout,
                    int watch_pid) {
  auto ep = engine::parse_host_uri(endpoint_uri, "engine");
  if (!ep) {
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    engine::DockerApi::Timeouts t;
    t.connect = std::chrono::milliseconds(1000);
    t.call = std::chrono::milliseconds(2000);
    engine::DockerApi api(*ep, t);
    if (api.ping()) {
      return true;
    }
    if (watch_pid > 0 && !process_alive(watch_pid)) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

core::Result<void>
restart_engine(EngineControl& engine, util::ProcessRunner& runner, std::chrono::seconds timeout) {
  if (engine.manager == EngineControl::Manager::systemd) {
    util::ProcessOptions opts;
    opts.timeout = std::chrono::milliseconds(timeout);
    auto r = runner.run({"systemctl", "restart", "docker"}, opts);
    if (!r || !r->status.ok() || !wait_engine_up(engine.endpoint_uri, timeout)) {
      return core::fail(ErrorKind::remote, engine_error_from_log(journal_tail(runner)));
    }
    return {};
  }
  if (engine.manager != EngineControl::Manager::process) {
    return {};
  }
  if (engine.pid > 0 && process_alive(engine.pid)) {
    if (::kill(engine.pid, SIGTERM) != 0) {
      return core::fail(
          ErrorKind::permission,
          fmt::format("cannot stop dockerd (pid {}): {}", engine.pid, std::strerror(errno)));
    }
    if (!wait_gone(engine.pid, std::chrono::milliseconds(timeout))) {
      return core::fail(
          ErrorKind::timeout,
          fmt::format("dockerd (pid {}) did not stop within {} s", engine.pid, timeout.count()));
    }
  }
  const std::size_t log_start = util::read_file(engine.log_path).value_or(std::string()).size();
  auto pid = spawn_detached(engine.exe, engine.argv, engine.log_path);
  if (!pid) {
    return core::fail(pid.error());
  }
  engine.pid = *pid;
  if (!wait_engine_up(engine.endpoint_uri, timeout, engine.pid)) {
    const std::string log = util::read_file(engine.log_path).value_or(std::string());
    std::string msg = engine_error_from_log(log.size() > log_start ? log.substr(log_start) : "");
    if (process_alive(engine.pid)) {
      ::kill(engine.pid, SIGTERM);
      wait_gone(engine.pid, std::chrono::milliseconds(10000));
    }
    return core::fail(ErrorKind::remote,
                      msg.empty() ? "dockerd did not answer after the restart" : msg);
  }
  return {};
}

} // namespace furnace::setup
