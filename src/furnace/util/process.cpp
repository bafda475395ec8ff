#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

namespace furnace::util {
namespace {

class Pipe {
public:
  Pipe() {
    if (::pipe2(m_fds.data(), O_CLOEXEC) != 0) {
      m_fds = {-1, -1};
    }
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    close_read();
    close_write();
  }
  bool ok() const { return m_fds[0] >= 0; }
  int read_end() const { return m_fds[0]; }
  int write_end() const { return m_fds[1]; }
  void close_read() { close_fd(0); }
  void close_write() { close_fd(1); }

private:
  void close_fd(std::size_t i) {
    if (m_fds.at(i) >= 0) {
      ::close(m_fds.at(i));
      m_fds.at(i) = -1;
    }
  }
  std::array<int, 2> m_fds{-1, -1};
};

std::vector<std::string> env_strings(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) {
    out.push_back(k + "=" + v);
  }
  return out;
}

std::vector<char*> c_array(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

ExitStatus decode(int wstatus) {
  ExitStatus st;
  if (WIFEXITED(wstatus)) {
    st.code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    st.signal = WTERMSIG(wstatus);
    st.code = 128 + st.signal;
  }
  return st;
}

} // namespace

namespace {

// argv[0] as a path: looked up in the PATH of the child's environment (or ours).
Expected<std::string, SysError> find_executable(const std::vector<std::string>& argv,
                                                const ProcessOptions& options) {
  std::string path_var;
  if (options.env) {
    auto it = options.env->find("PATH");
    path_var = it == options.env->end() ? "/usr/local/bin:/usr/bin:/bin" : it->second;
  } else {
    const char* p = ::getenv("PATH"); // NOLINT(concurrency-mt-unsafe): read before fork
    path_var = p ? p : "/usr/local/bin:/usr/bin:/bin";
  }
  std::string exe = argv[0];
  if (exe.find('/') == std::string::npos) {
    auto found = find_in_path(exe, path_var);
    if (!found) {
      return Unexpected(SysError{"cannot run " + argv[0] + ": not found in PATH", ENOENT});
    }
    exe = *found;
  }
  return exe;

}

// Reads the child's pipes until they close or the deadline passes; returns whether it passed.
bool pump_output(std::array<pollfd, 2>& fds, int open_fds, const ProcessOptions& options,
                 std::chrono::steady_clock::time_point deadline, ProcessOutput& result) {
  std::array<char, 8192> buf{};
  bool timed_out = false;
  while (open_fds > 0) {
    int wait_ms = -1;
    if (options.timeout.count() > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left.count());
    }
    const int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      if (n == 0) {
        timed_out = true;
      }
      break;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds.at(i).fd < 0 || fds.at(i).revents == 0) {
        continue;
      }
      const ssize_t r = ::read(fds.at(i).fd, buf.data(), buf.size());
      if (r > 0 && options.on_output) {
        options.on_output(std::string_view(buf.data(), static_cast<std::size_t>(r)));
      } else if (r > 0) {
        (i == 0 ? result.out : result.err).append(buf.data(), static_cast<std::size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        fds.at(i).fd = -1;
        --open_fds;
      }
    }
  }
  return timed_out;
}

} // namespace

Expected<ProcessOutput, SysError> SystemRunner::run(const std::vector<std::string>& argv,
                                                    const ProcessOptions& options) {
  if (argv.empty()) {
    return Unexpected(SysError{"empty command", EINVAL});
  }
  auto found_exe = find_executable(argv, options);
  if (!found_exe) {
    return Unexpected(found_exe.error());
  }
  const std::string exe = *found_exe;
  Pipe out_pipe;
  Pipe err_pipe;
  Pipe exec_pipe; // reports an exec failure from the child
  if (!out_pipe.ok() || !err_pipe.ok() || !exec_pipe.ok()) {
    return Unexpected(SysError{std::string("pipe: ") + std::strerror(errno), errno});
  }
  std::vector<std::string> args = argv;
  std::vector<char*> c_args = c_array(args);
  std::vector<std::string> envs;
  std::vector<char*> c_env;
  if (options.env) {
    envs = env_strings(*options.env);
    c_env = c_array(envs);
  }

  const pid_t pid = ::fork();
  if (pid < 0) {
    return Unexpected(SysError{std::string("fork: ") + std::strerror(errno), errno});
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    if (options.capture) {
      ::dup2(out_pipe.write_end(), STDOUT_FILENO);
      ::dup2(options.on_output ? out_pipe.write_end() : err_pipe.write_end(), STDERR_FILENO);
    } else if (options.stdout_to_stderr) {
      ::dup2(STDERR_FILENO, STDOUT_FILENO);
    }
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0 && options.capture) {
      ::dup2(devnull, STDIN_FILENO);
    }
    if (options.env) {
      ::execve(exe.c_str(), c_args.data(), c_env.data());
    } else {
      ::execv(exe.c_str(), c_args.data());
    }
    const int e = errno;
    (void)!::write(exec_pipe.write_end(), &e, sizeof e);
    ::_exit(127);
  }
  out_pipe.close_write();
  err_pipe.close_write();
  exec_pipe.close_write();

  int exec_errno = 0;
  if (::read(exec_pipe.read_end(), &exec_errno, sizeof exec_errno) ==
      static_cast<ssize_t>(sizeof exec_errno)) {
    int ws = 0;
    ::waitpid(pid, &ws, 0);
    return Unexpected(
        SysError{"cannot run " + argv[0] + ": " + std::strerror(exec_errno), exec_errno});
  }

  ProcessOutput result;
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  std::array<pollfd, 2> fds{pollfd{out_pipe.read_end(), POLLIN, 0},
                            pollfd{err_pipe.read_end(), POLLIN, 0}};
  int open_fds = options.capture ? 2 : 0;
  if (!options.capture) {
    fds[0].fd = -1;
    fds[1].fd = -1;
  } else if (options.on_output) {
    fds[1].fd = -1; // stderr shares stdout's pipe
    open_fds = 1;
  }
  bool timed_out = pump_output(fds, open_fds, options, deadline, result);
  int ws = 0;
  if (timed_out || (!options.capture && options.timeout.count() > 0)) {
    // Without capture we still honour the limit by polling waitpid.
    while (!timed_out) {
      const pid_t r = ::waitpid(pid, &ws, WNOHANG);
      if (r == pid) {
        result.status = decode(ws);
        return result;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        timed_out = true;
        break;
      }
      ::usleep(10000);
    }
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  result.status = decode(ws);
  result.status.timed_out = timed_out;
  return result;
}

Expected<ProcessOutput, SysError> DryRunRunner::run(const std::vector<std::string>& argv,
                                                    const ProcessOptions& /*options*/) {
  m_out << shell_join(argv) << '\n';
  ProcessOutput out;
  out.status.code = 0;
  return out;
}

std::string shell_quote(const std::string& arg) {
  if (arg.empty()) {
    return "''";
  }
  bool safe = true;
  for (const char c : arg) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::strchr("@%_-+=:,./", c) != nullptr;
    if (!ok) {
      safe = false;
      break;
    }
  }
  if (safe) {
    return arg;
  }
  std::string out = "'";
  for (const char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) {
      out += ' ';
    }
    out += shell_quote(a);
  }
  return out;
}

std::optional<std::string> find_in_path(const std::string& name, const std::string& path_var) {
  std::size_t start = 0;
  while (start <= path_var.size()) {
    const std::size_t end = path_var.find(':', start);
    std::string dir = path_var.substr(start, end == std::string::npos ? end : end - start);
    if (dir.empty()) {
      dir = ".";
    }
    std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return std::nullopt;
}

} // namespace furnace::util
