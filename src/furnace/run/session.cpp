#include "session.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <vector>

namespace furnace::run {

namespace {

constexpr std::array<int, 4> k_relayed{SIGINT, SIGTERM, SIGHUP, SIGQUIT};

int g_signal_pipe_write = -1; // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

extern "C" void on_signal(int signo) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(signo);
  (void)!::write(g_signal_pipe_write, &byte, 1);
  errno = saved;
}

// Our handlers for the session, the previous ones back on destruction.
class SignalRelay {
public:
  SignalRelay() {
    if (::pipe2(m_pipe.data(), O_CLOEXEC | O_NONBLOCK) != 0) {
      return;
    }
    g_signal_pipe_write = m_pipe[1];
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (std::size_t i = 0; i < k_relayed.size(); ++i) {
      ::sigaction(k_relayed[i], nullptr, &m_old[i]);
      // An ignored signal stays ignored (nohup, a background job of sh): the user asked for it.
      if (m_old[i].sa_handler != SIG_IGN) {
        ::sigaction(k_relayed[i], &sa, nullptr);
      }
    }
    ::sigaction(SIGCHLD, &sa, &m_old_chld);
    // The session relays them even where the caller blocks them (a clean-up that attaches to a
    // container again); the caller's mask comes back at the end.
    sigset_t relayed;
    sigemptyset(&relayed);
    for (const int sig : k_relayed) {
      sigaddset(&relayed, sig);
    }
    sigaddset(&relayed, SIGCHLD);
    ::sigprocmask(SIG_UNBLOCK, &relayed, &m_old_mask);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    ::sigaction(SIGPIPE, &ign, &m_old_pipe);
  }
  SignalRelay(const SignalRelay&) = delete;
  SignalRelay& operator=(const SignalRelay&) = delete;
  ~SignalRelay() {
    if (m_pipe[0] < 0) {
      return;
    }
    ::sigprocmask(SIG_SETMASK, &m_old_mask, nullptr); // first: a late signal stays pending
    for (std::size_t i = 0; i < k_relayed.size(); ++i) {
      ::sigaction(k_relayed[i], &m_old[i], nullptr);
    }
    ::sigaction(SIGCHLD, &m_old_chld, nullptr);
    ::sigaction(SIGPIPE, &m_old_pipe, nullptr);
    g_signal_pipe_write = -1;
    ::close(m_pipe[0]);
    ::close(m_pipe[1]);
  }
  int read_fd() const { return m_pipe[0]; }
  // Whether `signo` was ignored when the session started (the child keeps it ignored).
  bool ignored(int signo) const {
    for (std::size_t i = 0; i < k_relayed.size(); ++i) {
      if (k_relayed[i] == signo) {
        return m_old[i].sa_handler == SIG_IGN;
      }
    }
    return false;
  }
  bool ok() const { return m_pipe[0] >= 0; }

private:
  std::array<int, 2> m_pipe{-1, -1};
  std::array<struct sigaction, k_relayed.size()> m_old{};
  struct sigaction m_old_chld {};
  struct sigaction m_old_pipe {};
  sigset_t m_old_mask{};
};

std::vector<std::string> env_strings(const std::map<std::string, std::string>& env,
                                     const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> all = env;
  for (const auto& [k, v] : extra) {
    all[k] = v;
  }
  std::vector<std::string> out;
  out.reserve(all.size());
  for (const auto& [k, v] : all) {
    out.push_back(k + "=" + v);
  }
  return out;
}

void write_all(int fd, const char* data, std::size_t n) {
  while (n > 0 && fd >= 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return; // a closed reader (furnace run … | head) must not stop the run
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

// argv and environment as exec wants them, built before fork: the child only calls
// async-signal-safe functions.
struct ExecArgs {
  std::vector<std::string> strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
  ExecArgs(const std::vector<std::string>& args, std::vector<std::string> env) : strings(std::move(env)) {
    for (auto& e : strings) {
      envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    for (const auto& a : args) {
      argv.push_back(const_cast<char*>(a.c_str())); // NOLINT(cppcoreguidelines-pro-type-const-cast)
    }
    argv.push_back(nullptr);
  }
};

// In the child: default signal dispositions (ignored ones stay ignored), the descriptors, then
// exec. Never returns.
[[noreturn]] void exec_child(const ExecArgs& exec,
                             const SignalRelay& relay,
                             const SessionOptions& options,
                             int out_w,
                             int err_w,
                             int report_w,
                             int env_fd) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (const int s : k_relayed) {
    if (!relay.ignored(s)) {
      ::sigaction(s, &dfl, nullptr);
    }
  }
  ::sigaction(SIGCHLD, &dfl, nullptr);
  ::sigaction(SIGPIPE, &dfl, nullptr);
  if (options.own_group) {
    ::setpgid(0, 0);
  }
  if (out_w >= 0) {
    ::dup2(out_w, STDOUT_FILENO);
    ::dup2(err_w, STDERR_FILENO);
  }
  if (env_fd >= 0) {
    // The env file at the descriptor argv names, left open across exec (only this one).
    if (report_w == k_env_file_fd) {
      report_w = ::fcntl(report_w, F_DUPFD_CLOEXEC, k_env_file_fd + 1);
    }
    if (env_fd == k_env_file_fd) {
      ::fcntl(env_fd, F_SETFD, 0);
    } else {
      ::dup2(env_fd, k_env_file_fd);
    }
  }
  ::execvpe(exec.argv[0], exec.argv.data(), exec.envp.data());
  const int err = errno;
  (void)!::write(report_w, &err, sizeof err);
  ::_exit(127);
}

// The env file's text in a memory file (no path, no disk; closed on exec except where the child
// puts it). -1 when there is none.
core::Result<int> env_file_fd(const std::string& text) {
  if (text.empty()) {
    return -1;
  }
  const int fd = ::memfd_create("furnace-env-file", MFD_CLOEXEC);
  if (fd < 0) {
    return core::fail(core::ErrorKind::io, fmt::format("memfd_create: {}", std::strerror(errno)));
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      const int e = errno;
      ::close(fd);
      return core::fail(core::ErrorKind::io,
                        fmt::format("writing the env file: {}", std::strerror(e)));
    }
    done += static_cast<std::size_t>(w);
  }
  return fd;
}

} // namespace

std::string signal_name(int signal) {
  switch (signal) {
  case SIGINT: return "SIGINT";
  case SIGTERM: return "SIGTERM";
  case SIGHUP: return "SIGHUP";
  case SIGQUIT: return "SIGQUIT";
  case SIGKILL: return "SIGKILL";
  case SIGSEGV: return "SIGSEGV";
  case SIGABRT: return "SIGABRT";
  case SIGBUS: return "SIGBUS";
  case SIGPIPE: return "SIGPIPE";
  case SIGUSR1: return "SIGUSR1";
  case SIGUSR2: return "SIGUSR2";
  default: return fmt::format("signal {}", signal);
  }
}

core::Result<SessionResult> run_session(const EngineCommand& command,
                                        const std::map<std::string, std::string>& env,
                                        const SessionOptions& options) {
  SignalRelay relay;
  if (!relay.ok()) {
    return core::fail(core::ErrorKind::io, fmt::format("pipe: {}", std::strerror(errno)));
  }
  const bool tee = options.output == Output::tee;
  std::array<int, 2> out{-1, -1};
  std::array<int, 2> err{-1, -1};
  std::array<int, 2> report{-1, -1}; // exec's errno, or EOF when exec worked
  if ((tee && (::pipe2(out.data(), O_CLOEXEC) != 0 || ::pipe2(err.data(), O_CLOEXEC) != 0)) ||
      ::pipe2(report.data(), O_CLOEXEC) != 0) {
    return core::fail(core::ErrorKind::io, fmt::format("pipe: {}", std::strerror(errno)));
  }
  const ExecArgs exec(command.argv, env_strings(env, command.env));
  auto env_fd = env_file_fd(command.env_file);
  if (!env_fd) {
    return core::fail(env_fd.error());
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    if (*env_fd >= 0) {
      ::close(*env_fd);
    }
    return core::fail(core::ErrorKind::io, fmt::format("fork: {}", std::strerror(e)));
  }
  if (pid == 0) {
    exec_child(exec, relay, options, out[1], err[1], report[1], *env_fd);
  }
  if (*env_fd >= 0) {
    ::close(*env_fd); // the CLI has its own descriptor now
  }
  if (options.own_group) {
    ::setpgid(pid, pid); // also here: a Ctrl-C right after fork must not reach the CLI directly
  }
  for (const int fd : {out[1], err[1], report[1]}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  int exec_errno = 0;
  const ssize_t got = ::read(report[0], &exec_errno, sizeof exec_errno);
  ::close(report[0]);
  if (got != static_cast<ssize_t>(sizeof exec_errno) && options.on_started) {
    options.on_started();
  }

  SessionResult result;
  std::array<pollfd, 3> fds{pollfd{relay.read_fd(), POLLIN, 0}, pollfd{out[0], POLLIN, 0},
                            pollfd{err[0], POLLIN, 0}};
  int status = 0;
  bool exited = false;
  std::array<char, 65536> buf{};
  std::chrono::steady_clock::time_point first_signal;
  const auto force = [&](const std::string& why) {
    result.forced = true;
    if (options.force) {
      options.force(why);
    }
    ::kill(pid, SIGKILL);
  };
  while (!exited || fds[1].fd >= 0 || fds[2].fd >= 0) {
    if (!exited) {
      const pid_t w = ::waitpid(pid, &status, WNOHANG);
      exited = w == pid;
      if (exited) {
        continue;
      }
      if (result.signal != 0 && !result.forced && options.grace.count() > 0 &&
          std::chrono::steady_clock::now() - first_signal > options.grace) {
        force(fmt::format("{} did not end it within {:g} s",
                          signal_name(result.signal),
                          std::chrono::duration<double>(options.grace).count()));
      }
    }
    const int n = ::poll(fds.data(), fds.size(), exited ? 1000 : 200);
    if (n < 0 && errno != EINTR) {
      break;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      unsigned char s = 0;
      while (::read(fds[0].fd, &s, 1) == 1) {
        if (s == SIGCHLD || exited) {
          continue;
        }
        if (result.signal == 0) {
          result.signal = s;
          first_signal = std::chrono::steady_clock::now();
          ::kill(pid, s); // the CLI passes it on to the container's process
        } else if (!result.forced) {
          force("a second signal");
        }
      }
    }
    for (std::size_t i = 1; i < 3; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      const ssize_t r = ::read(fds[i].fd, buf.data(), buf.size());
      if (r <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        continue;
      }
      write_all(i == 1 ? STDOUT_FILENO : STDERR_FILENO, buf.data(), static_cast<std::size_t>(r));
      write_all(options.log_fd, buf.data(), static_cast<std::size_t>(r));
    }
  }
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("cannot run {}: {}", command.argv.front(), std::strerror(exec_errno)),
                      "install the docker CLI, or set FURNACE_DOCKER");
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

core::Result<int> spawn_supervisor(const std::function<EngineCommand()>& make_command,
                                   const std::map<std::string, std::string>& env, int log_fd,
                                   const std::function<void(const SessionResult&)>& on_exit) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    return core::fail(core::ErrorKind::io, fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid > 0) {
    return static_cast<int>(pid);
  }
  ::setsid();
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ::dup2(null_fd, STDIN_FILENO);
  // Never the caller's terminal or pipe: `NAME=$(furnace run -d …)` must return at once.
  const int out_fd = log_fd >= 0 ? log_fd : ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  ::dup2(out_fd, STDOUT_FILENO);
  ::dup2(out_fd, STDERR_FILENO);
  SessionOptions o;
  o.output = Output::inherit;
  o.own_group = true;
  auto r = run_session(make_command(), env, o);
  SessionResult result;
  if (r) {
    result = *r;
  } else {
    const std::string line = "furnace: error: " + r.error().message + "\n";
    write_all(STDERR_FILENO, line.data(), line.size());
    result.exit_code = 125;
  }
  on_exit(result);
  ::_exit(0);
}

} // namespace furnace::run
