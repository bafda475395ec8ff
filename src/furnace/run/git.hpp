#pragma once
// What the history records about the project's git state: the commit HEAD names (read from .git,
// without running git) and whether tracked files changed (`git status`, beside the container).

#include <string>

namespace furnace::run {

// The commit HEAD names, read from .git without running git ("" when none).
std::string git_commit(const std::string& root);

// `git status` of the project, running beside the container (a large repository takes long
// enough to be felt); `dirty()` collects its answer. An empty root starts nothing.
class GitDirtyCheck {
public:
  explicit GitDirtyCheck(const std::string& root);
  GitDirtyCheck(const GitDirtyCheck&) = delete;
  GitDirtyCheck& operator=(const GitDirtyCheck&) = delete;
  ~GitDirtyCheck() { (void)dirty(); }

  // Whether git listed a changed tracked file; false when git could not tell.
  bool dirty();

private:
  int m_pid = -1;
  int m_read = -1;
  bool m_dirty = false;
};

} // namespace furnace::run
