#include "git.hpp"

#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <vector>

extern char** environ; // NOLINT

namespace furnace::run {

namespace fs = std::filesystem;

// The commit HEAD names, read from .git without running git ("" when none).
std::string git_commit(const std::string& root) {
  fs::path git = fs::path(root) / ".git";
  std::error_code ec;
  if (fs::is_regular_file(git, ec)) { // a worktree: "gitdir: <path>"
    auto text = util::read_file(git.string());
    if (!text || !text->starts_with("gitdir: ")) {
      return {};
    }
    git = fs::path(root) / std::string(util::trim(text->substr(8)));
  }
  auto head = util::read_file((git / "HEAD").string());
  if (!head) {
    return {};
  }
  const std::string h(util::trim(*head));
  if (!h.starts_with("ref: ")) {
    return h;
  }
  const std::string ref = h.substr(5);
  if (auto direct = util::read_file((git / ref).string())) {
    return std::string(util::trim(*direct));
  }
  auto packed = util::read_file((git / "packed-refs").string());
  for (const std::string& line : util::split(packed ? *packed : std::string(), '\n')) {
    if (line.size() > 41 && line.substr(41) == ref) {
      return line.substr(0, 40);
    }
  }
  return {};
}

GitDirtyCheck::GitDirtyCheck(const std::string& root) {
  std::array<int, 2> p{-1, -1};
  if (root.empty() || ::pipe2(p.data(), O_CLOEXEC) != 0) {
    return;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<std::string> args{"git", "-C", root, "status", "--porcelain", "--untracked-files=no"};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawnp(&pid, "git", &fa, nullptr, argv.data(), environ) == 0) {
    m_pid = pid;
    m_read = p[0];
  } else {
    ::close(p[0]);
  }
  ::close(p[1]);
  posix_spawn_file_actions_destroy(&fa);
}

bool GitDirtyCheck::dirty() {
  if (m_pid <= 0) {
    return m_dirty;
  }
  std::array<char, 4096> buf{};
  ssize_t n = 0;
  while ((n = ::read(m_read, buf.data(), buf.size())) > 0 || (n < 0 && errno == EINTR)) {
    m_dirty = m_dirty || n > 0;
  }
  ::close(m_read);
  int status = 0;
  while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
  }
  m_dirty = m_dirty && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  m_pid = -1;
  return m_dirty;
}

} // namespace furnace::run
