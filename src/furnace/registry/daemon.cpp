#include "daemon.hpp"

#include <furnace/util/atomic_file.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

namespace furnace::registry {

core::Result<int> spawn_detached(const std::vector<std::string>& argv,
                                 const std::string& log_file,
                                 const std::string& pid_file) {
  std::vector<std::string> args = argv;
  std::vector<char*> c;
  c.reserve(args.size() + 1);
  for (auto& a : args) {
    c.push_back(a.data());
  }
  c.push_back(nullptr);
  int pipefd[2];
  // exec_pipe: closed by a successful exec (O_CLOEXEC), so the caller returns only once the
  // daemon runs its own program (a status check before that would see furnace's command line).
  int exec_pipe[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    return core::fail(core::ErrorKind::io, fmt::format("pipe: {}", std::strerror(errno)));
  }
  const pid_t child = ::fork();
  if (child < 0) {
    return core::fail(core::ErrorKind::io, fmt::format("fork: {}", std::strerror(errno)));
  }
  if (child == 0) {
    // The first child starts a session and forks the daemon, so that it is nobody's child here
    // and never becomes a zombie of furnace's.
    ::close(pipefd[0]);
    ::close(exec_pipe[0]);
    ::setsid();
    const pid_t grandchild = ::fork();
    if (grandchild != 0) {
      const int pid = grandchild;
      (void)!::write(pipefd[1], &pid, sizeof pid);
      ::_exit(grandchild < 0 ? 1 : 0);
    }
    const int null = ::open("/dev/null", O_RDONLY);
    const int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (null < 0 || log < 0) {
      ::_exit(126);
    }
    ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    for (int fd = 3; fd < 1024; ++fd) {
      if (fd != exec_pipe[1]) {
        ::close(fd);
      }
    }
    ::execv(c[0], c.data());
    const int err = errno;
    (void)!::write(exec_pipe[1], &err, sizeof err);
    const std::string msg = fmt::format("furnace: cannot run {}: {}\n", c[0], std::strerror(err));
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  ::close(exec_pipe[1]);
  int pid = -1;
  const ssize_t n = ::read(pipefd[0], &pid, sizeof pid);
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  int exec_errno = 0;
  ssize_t e = 0;
  do {
    e = ::read(exec_pipe[0], &exec_errno, sizeof exec_errno);
  } while (e < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (n != static_cast<ssize_t>(sizeof pid) || pid <= 0) {
    return core::fail(core::ErrorKind::io, "cannot start the registry process");
  }
  if (e == static_cast<ssize_t>(sizeof exec_errno)) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("cannot run {}: {}", argv.front(), std::strerror(exec_errno)));
  }
  util::AtomicWriteOptions o;
  o.mode = 0644;
  auto w = util::write_file_atomic(pid_file, fmt::format("{}\n", pid), o);
  if (!w) {
    ::kill(pid, SIGTERM);
    return core::fail(core::ErrorKind::io, w.error().message);
  }
  return pid;
}

bool process_matches(int pid, const std::string& needle) {
  if (pid <= 0) {
    return false;
  }
  auto stat = util::read_file(fmt::format("/proc/{}/stat", pid));
  if (!stat) {
    return false;
  }
  const auto paren = stat->rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat->size() || (*stat)[paren + 2] == 'Z') {
    return false;
  }
  auto cmdline = util::read_file(fmt::format("/proc/{}/cmdline", pid));
  if (!cmdline) {
    return false;
  }
  for (char& ch : *cmdline) {
    if (ch == '\0') {
      ch = ' ';
    }
  }
  return cmdline->find(needle) != std::string::npos;
}

bool stop_process(int pid, std::chrono::milliseconds grace) {
  // Gone: no such process, or a zombie whose threads have all exited (a Go program's main
  // thread can be a zombie while the others still hold its sockets).
  auto gone = [pid] {
    auto stat = util::read_file(fmt::format("/proc/{}/stat", pid));
    if (!stat) {
      return true;
    }
    const auto paren = stat->rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat->size() || (*stat)[paren + 2] != 'Z') {
      return false;
    }
    std::error_code ec;
    for (const auto& t :
         std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
      auto ts = util::read_file((t.path() / "stat").string());
      const auto tp = ts ? ts->rfind(')') : std::string::npos;
      if (ts && tp != std::string::npos && tp + 2 < ts->size() && (*ts)[tp + 2] != 'Z' &&
          (*ts)[tp + 2] != 'X') {
        return false;
      }
    }
    return true;
  };
  if (::kill(pid, SIGTERM) != 0) {
    return errno == ESRCH;
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (gone()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  for (int i = 0; i < 100 && !gone(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return gone();
}

} // namespace furnace::registry
