#include "system_file.hpp"

#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>

namespace furnace::host {
namespace {

using core::ErrorKind;

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

core::Error from_errno(int e, const std::string& message) {
  const ErrorKind kind = (e == EACCES || e == EPERM) ? ErrorKind::permission
                         : e == ENOENT               ? ErrorKind::not_found
                                                     : ErrorKind::io;
  return core::make_error(kind, message + ": " + std::strerror(e));
}

} // namespace

Paths::Paths(std::string root) : m_root(std::move(root)) {
  while (m_root.size() > 1 && m_root.back() == '/') {
    m_root.pop_back();
  }
  if (m_root.empty()) {
    m_root = "/";
  }
}

std::string Paths::host(const std::string& absolute) const {
  return m_root == "/" ? absolute : m_root + absolute;
}

core::Result<std::string> resolve_target(const Paths& paths, const std::string& path) {
  std::string cur = path;
  for (int hops = 0; hops < 40; ++hops) {
    std::array<char, 4096> buf{};
    const ssize_t n = ::readlink(cur.c_str(), buf.data(), buf.size() - 1);
    if (n < 0) {
      return cur; // not a link (or missing): this is the file
    }
    std::string target(buf.data(), static_cast<std::size_t>(n));
    cur = target.starts_with("/") ? paths.host(target) : dir_of(cur) + "/" + target;
  }
  return core::fail(ErrorKind::invalid,
                    fmt::format("{}: too many levels of symbolic links", path),
                    "point the link at a regular file");
}

core::Result<FileState> read_system_file(const std::string& path) {
  FileState st;
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) {
    if (errno == ENOENT) {
      return st;
    }
    return core::fail(from_errno(errno, "cannot read " + path));
  }
  if (S_ISDIR(sb.st_mode)) {
    return core::fail(ErrorKind::invalid,
                      fmt::format("{} is a directory, not a file", path),
                      "move it away; dockerd cannot read it either");
  }
  if (!S_ISREG(sb.st_mode)) {
    return core::fail(ErrorKind::invalid, fmt::format("{} is not a regular file", path));
  }
  auto content = util::read_file(path);
  if (!content) {
    return core::fail(from_errno(content.error().error_number, "cannot read " + path));
  }
  st.exists = true;
  st.content = std::move(*content);
  st.mode = sb.st_mode & 07777;
  st.uid = sb.st_uid;
  st.gid = sb.st_gid;
  st.mtime_ns = static_cast<std::int64_t>(sb.st_mtim.tv_sec) * 1000000000 + sb.st_mtim.tv_nsec;
  st.inode = sb.st_ino;
  return st;
}

std::string describe_change(const FileState& before, const FileState& now) {
  if (before.exists != now.exists) {
    return before.exists ? "it was removed" : "it was created";
  }
  if (!before.exists) {
    return "";
  }
  if (before.content != now.content) {
    return "its content changed";
  }
  if (before.inode != now.inode) {
    return "it was replaced by another file";
  }
  if (before.mtime_ns != now.mtime_ns) {
    return "it was written to (its modification time changed)";
  }
  if (before.mode != now.mode || before.uid != now.uid || before.gid != now.gid) {
    return "its mode or owner changed";
  }
  return "";
}

std::string backup_prefix(const std::string& path) {
  return path + ".furnace-backup-";
}

core::Result<std::string> make_backup(const std::string& path,
                                      const FileState& state,
                                      std::chrono::system_clock::time_point now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::array<char, 32> stamp{};
  std::strftime(stamp.data(), stamp.size(), "%Y%m%dT%H%M%SZ", &tm);
  std::string backup = backup_prefix(path) + stamp.data();
  for (int i = 1; ::access(backup.c_str(), F_OK) == 0; ++i) {
    backup = backup_prefix(path) + stamp.data() + "." + std::to_string(i);
  }
  util::AtomicWriteOptions opts;
  opts.mode = state.mode;
  opts.owner = state.uid;
  opts.group = state.gid;
  if (auto ok = util::write_file_atomic(backup, state.content, opts); !ok) {
    return core::fail(
        from_errno(ok.error().error_number, "cannot back up " + path + " to " + backup));
  }
  return backup;
}

std::vector<std::string> list_backups(const std::string& path) {
  const std::string dir = dir_of(path);
  const std::string prefix = backup_prefix(path).substr(dir.size() + (dir == "/" ? 0 : 1));
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return out;
  }
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.starts_with(prefix) && name.find(".furnace-tmp-") == std::string::npos) {
      out.push_back((dir == "/" ? "/" : dir + "/") + name);
    }
  }
  ::closedir(d);
  // "…Z" < "…Z.1" < "…Z.2" as strings for the same second; the stamp orders the rest.
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    const auto ka = a.rfind('Z');
    const auto kb = b.rfind('Z');
    const std::string sa = a.substr(0, ka);
    const std::string sb = b.substr(0, kb);
    if (sa != sb) {
      return sa < sb;
    }
    const int na = a.size() > ka + 2 ? std::atoi(a.c_str() + ka + 2) : 0;
    const int nb = b.size() > kb + 2 ? std::atoi(b.c_str() + kb + 2) : 0;
    return na < nb;
  });
  return out;
}

void prune_backups(const std::string& path, std::size_t keep) {
  auto all = list_backups(path);
  if (all.size() <= keep) {
    return;
  }
  for (std::size_t i = 0; i + keep < all.size(); ++i) {
    ::unlink(all[i].c_str());
  }
}

core::Result<FileLock> FileLock::acquire(const std::string& path,
                                         const std::function<void(const std::string&)>& on_wait,
                                         std::chrono::seconds timeout) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return core::fail(from_errno(errno, "cannot open the lock file " + path));
  }
  FileLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      return core::fail(from_errno(errno, "cannot lock " + path));
    }
    auto holder = util::read_file(path);
    if (on_wait) {
      on_wait(holder ? std::string(util::trim(*holder)) : std::string("?"));
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return core::fail(ErrorKind::timeout,
                          fmt::format("another furnace setup (pid {}) still holds {}",
                                      holder ? std::string(util::trim(*holder)) : "?",
                                      path),
                          "wait for it to finish, then run furnace setup again");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return lock;
}

FileLock::FileLock(FileLock&& other) noexcept : m_fd(other.m_fd) {
  other.m_fd = -1;
}

FileLock::~FileLock() {
  if (m_fd >= 0) {
    ::close(m_fd); // releases the flock
  }
}

} // namespace furnace::host
