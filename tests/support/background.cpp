#include "support/background.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

namespace furnace::testing {

int Background::wait(std::chrono::seconds limit) const {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

std::string Background::output() const {
  std::ifstream in(out_file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Background spawn_background(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env,
                            const std::string& out_file,
                            const SpawnOptions& options) {
  // Everything the child needs is built before fork: it only calls async-signal-safe functions.
  std::vector<std::string> a = argv;
  std::vector<std::string> e = env;
  std::vector<char*> ap;
  for (auto& s : a) {
    ap.push_back(s.data());
  }
  ap.push_back(nullptr);
  std::vector<char*> ep;
  for (auto& s : e) {
    ep.push_back(s.data());
  }
  ep.push_back(nullptr);
  Background b;
  b.out_file = out_file;
  b.pid = ::fork();
  if (b.pid == 0) {
    if (options.own_group) {
      ::setpgid(0, 0);
    }
    if (options.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    }
    const int fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (options.output_owner) {
      (void)!::fchown(fd, *options.output_owner, *options.output_owner);
    }
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::dup2(null_fd, 0);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execvpe(ap[0], ap.data(), ep.data());
    ::_exit(127);
  }
  return b;
}

} // namespace furnace::testing
