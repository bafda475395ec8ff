#pragma once
// System files furnace edits (daemon.json): every host path resolved under a root ("/" in
// production, a temp dir in tests), symlinks followed to the file they name, timestamped backups
// that keep mode and owner, and the lock that serialises `furnace setup` runs.

#include <furnace/core/error.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace furnace::host {

// Resolves host paths under a root.
class Paths {
public:
  explicit Paths(std::string root);
  // "/etc/docker/daemon.json" -> "<root>/etc/docker/daemon.json" ("/" leaves it as it is).
  std::string host(const std::string& absolute) const;
  const std::string& root() const { return m_root; }

private:
  std::string m_root;
};

// Follows `path` (already under the root) through symlinks to the file to edit; absolute link
// targets are taken under the root. Errors: a loop, or more than 40 links.
core::Result<std::string> resolve_target(const Paths& paths, const std::string& path);

struct FileState {
  bool exists = false;
  std::string content;
  mode_t mode = 0644;
  uid_t uid = 0;
  gid_t gid = 0;
  std::int64_t mtime_ns = 0; // modification time, nanoseconds since the epoch
  ino_t inode = 0;
};

// How the file changed between two reads ("its content changed", "it was removed"); "" when it
// did not (same existence, content, modification time, inode, mode and owner).
std::string describe_change(const FileState& before, const FileState& now);

// Reads a system file; a missing file is `exists = false`. Errors: a directory, EACCES, EIO.
core::Result<FileState> read_system_file(const std::string& path);

// "<path>.furnace-backup-" — backups are that prefix plus a UTC timestamp (sortable).
std::string backup_prefix(const std::string& path);

// Writes a copy of `state` (same mode and owner) next to `path`, atomically. Returns its path.
core::Result<std::string> make_backup(const std::string& path,
                                      const FileState& state,
                                      std::chrono::system_clock::time_point now);

// The backups of `path`, oldest first.
std::vector<std::string> list_backups(const std::string& path);

// Removes all but the newest `keep` backups of `path`.
void prune_backups(const std::string& path, std::size_t keep);

// An exclusive flock on a file holding the owner's pid. Waits, telling `on_wait` who holds it.
class FileLock {
public:
  static core::Result<FileLock>
  acquire(const std::string& path,
          const std::function<void(const std::string& holder)>& on_wait,
          std::chrono::seconds timeout);
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

private:
  explicit FileLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

} // namespace furnace::host
