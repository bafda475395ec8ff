#include "atomic_file.hpp"
#include "ownership.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <random>

namespace furnace::util {
namespace {

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

SysError sys_error(const std::string& what, const std::string& path) {
  const int e = errno;
  return SysError{"cannot " + what + " " + path + ": " + std::strerror(e), e};
}

class Fd {
public:
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return m_fd; }
  // Forgets the descriptor without closing it (after an explicit close).
  void release() { m_fd = -1; }
  void reset() {
    if (m_fd >= 0) {
      ::close(m_fd);
      m_fd = -1;
    }
  }

private:
  int m_fd;
};

} // namespace

std::string atomic_temp_prefix(const std::string& path) {
  return dir_of(path) + "/." + base_of(path) + ".furnace-tmp-";
}

Expected<void, SysError> write_file_atomic(const std::string& path,
                                           std::string_view content,
                                           const AtomicWriteOptions& options) {
  std::random_device rd;
  const std::string tmp =
      atomic_temp_prefix(path) + std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000);
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    return Unexpected(sys_error("create", tmp));
  }
  auto fail = [&](const std::string& what, const std::string& p) {
    SysError err = sys_error(what, p);
    fd.reset();
    ::unlink(tmp.c_str());
    return Unexpected(std::move(err));
  };
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("write", tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (options.owner || options.group) {
    if (::fchown(fd.get(),
                 options.owner.value_or(static_cast<uid_t>(-1)),
                 options.group.value_or(static_cast<gid_t>(-1))) != 0) {
      return fail("chown", tmp);
    }
  } else if (!give_fd_to_directory_owner(fd.get(), dir_of(path))) {
    return fail("chown", tmp); // root writing into a user's directory: the file is theirs
  }
  if (::fchmod(fd.get(), options.mode) != 0) {
    return fail("chmod", tmp);
  }
  if (::fsync(fd.get()) != 0) {
    return fail("fsync", tmp);
  }
  const int closed = ::close(fd.get());
  fd.release();
  if (closed != 0) {
    // close() reports delayed write errors (NFS, ENOSPC); the descriptor is gone either way.
    const int e = errno;
    ::unlink(tmp.c_str());
    return Unexpected(SysError{"cannot write " + tmp + ": " + std::strerror(e), e});
  }
  if (options.hook) {
    options.hook("after-temp-write");
  }
  if (options.before_rename) {
    if (auto why = options.before_rename()) {
      ::unlink(tmp.c_str());
      return Unexpected(SysError{*why, 0});
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return Unexpected(
        SysError{"cannot rename " + tmp + " to " + path + ": " + std::strerror(e), e});
  }
  if (options.hook) {
    options.hook("after-rename");
  }
  const std::string dir = dir_of(path);
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || ::fsync(dfd.get()) != 0) {
    return Unexpected(sys_error("fsync directory", dir));
  }
  return {};
}

int remove_stale_temps(const std::string& path) {
  const std::string dir = dir_of(path);
  const std::string prefix = "." + base_of(path) + ".furnace-tmp-";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return 0;
  }
  int removed = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(prefix, 0) == 0 && ::unlink((dir + "/" + name).c_str()) == 0) {
      ++removed;
    }
  }
  ::closedir(d);
  return removed;
}

Expected<std::string, SysError> read_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return Unexpected(sys_error("open", path));
  }
  std::string out;
  std::array<char, 65536> buf{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Unexpected(sys_error("read", path));
    }
    if (n == 0) {
      break;
    }
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  return out;
}

} // namespace furnace::util
