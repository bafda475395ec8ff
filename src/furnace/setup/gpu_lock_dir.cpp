#include "gpu_lock_dir.hpp"

#include <furnace/gpu/gpu_lock.hpp>
#include <furnace/util/atomic_file.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

namespace furnace::setup {
namespace {

constexpr const char* k_lock_dir = "/run/furnace/gpu";
constexpr mode_t k_group_mode = 03770;
constexpr mode_t k_root_mode = 0700;

std::string name_of_group(gid_t gid) {
  group gr{};
  group* found = nullptr;
  std::array<char, 4096> buf{};
  if (::getgrgid_r(gid, &gr, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return found->gr_name;
  }
  return std::to_string(gid);
}

bool furnace_entry(const std::string& name) {
  return name == ".mutex" || (name.rfind("gpu-", 0) == 0 && name.size() > 9 &&
                              name.compare(name.size() - 5, 5, ".lock") == 0);
}

// The lock files in `dir` (root's, checked) after its owner or mode changed: a file nobody should
// trust (another name, a link, writable by everyone, owned outside root and the group: what an
// older furnace's 1777 directory let anyone leave) is removed; root's own files get the group and
// mode the group's members need. Each change is a line in `done`.
core::Result<void> tidy_lock_files(const std::string& dir,
                                   std::optional<gid_t> gid,
                                   bool dry_run,
                                   std::vector<std::string>& done) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!furnace_entry(name)) {
      continue;
    }
    const std::string path = dir + "/" + name;
    struct stat sb {};
    if (::lstat(path.c_str(), &sb) != 0) {
      continue;
    }
    const bool trusted = S_ISREG(sb.st_mode) && sb.st_nlink == 1 && (sb.st_mode & S_IWOTH) == 0 &&
                         (sb.st_uid == 0 || (gid && sb.st_gid == *gid));
    if (!trusted) {
      if (!dry_run && ::unlink(path.c_str()) != 0) {
        return core::fail(core::ErrorKind::io,
                          fmt::format("cannot remove {}: {}", path, std::strerror(errno)));
      }
      done.push_back(fmt::format("{} {} (owner {}, mode {:04o}, {} link(s)): not to be trusted",
                                 dry_run ? "would remove" : "removed",
                                 path,
                                 sb.st_uid,
                                 sb.st_mode & 07777U,
                                 sb.st_nlink));
      continue;
    }
    const mode_t want = gid ? 0660 : 0600;
    if (sb.st_uid != 0 || ((gid ? sb.st_gid == *gid : true) && (sb.st_mode & 07777U) == want)) {
      continue;
    }
    if (!dry_run) {
      const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      struct stat now {};
      const bool same = fd >= 0 && ::fstat(fd, &now) == 0 && now.st_ino == sb.st_ino &&
                        now.st_dev == sb.st_dev && S_ISREG(now.st_mode) && now.st_nlink == 1;
      const bool set = same && (!gid || ::fchown(fd, 0, *gid) == 0) && ::fchmod(fd, want) == 0;
      const int e = errno;
      if (fd >= 0) {
        ::close(fd);
      }
      if (!set) {
        return core::fail(core::ErrorKind::io,
                          fmt::format("cannot set the group and mode of {}: {}",
                                      path,
                                      same ? std::strerror(e) : "it changed meanwhile"));
      }
    }
    done.push_back(fmt::format("{} {} to {:04o}{}",
                               dry_run ? "would set" : "set",
                               path,
                               want,
                               gid ? " in group " + name_of_group(*gid) : std::string()));
  }
  return {};
}

} // namespace

std::string tmpfiles_line(const std::string& group) {
  return group.empty() ? fmt::format("d {} 0700 root root -", k_lock_dir)
                       : fmt::format("d {} 3770 root {} -", k_lock_dir, group);
}

core::Result<std::vector<std::string>> prepare_gpu_lock_dir(const host::Paths& paths, DryRun dry) {
  const bool dry_run = dry == DryRun::yes;
  std::vector<std::string> done;
  const std::optional<gid_t> gid = gpu::lock_group();
  const std::string group = gid ? name_of_group(*gid) : std::string();
  const mode_t mode = gid ? k_group_mode : k_root_mode;
  const std::string dir = paths.host(k_lock_dir);
  const std::string owners =
      gid ? fmt::format("root:{} {:04o}", group, mode) : fmt::format("root:root {:04o}", mode);

  struct stat sb {};
  if (::lstat(dir.c_str(), &sb) != 0) {
    if (!dry_run) {
      auto made = gpu::make_lock_dir(dir, gid);
      if (!made) {
        return core::fail(made.error());
      }
    }
    done.push_back(fmt::format("{} {} ({}: the GPU locks of every user{})",
                               dry_run ? "would create" : "created",
                               dir,
                               owners,
                               gid ? " in group " + group : std::string()));
  } else if (S_ISDIR(sb.st_mode) && sb.st_uid == 0 &&
             ((gid && sb.st_gid != *gid) || (sb.st_mode & 07777U) != mode)) {
    // Root's own directory with another group or mode (made before the group existed, or by an
    // older furnace): set them; what is inside is checked file by file when used.
    if (!dry_run &&
        ((gid && ::chown(dir.c_str(), 0, *gid) != 0) || ::chmod(dir.c_str(), mode) != 0)) {
      return core::fail(core::ErrorKind::io,
                        fmt::format("cannot set {} on {}: {}", owners, dir, std::strerror(errno)));
    }
    done.push_back(fmt::format("{} {} to {} (was {}:{} {:04o})",
                               dry_run ? "would set" : "set",
                               dir,
                               owners,
                               "root",
                               name_of_group(sb.st_gid),
                               sb.st_mode & 07777U));
    if (auto tidy = tidy_lock_files(dir, gid, dry_run, done); !tidy) {
      return core::fail(tidy.error());
    }
  }
  if (!dry_run) {
    if (auto ok = gpu::check_lock_dir(dir); !ok) {
      return core::fail(ok.error());
    }
  }

  const std::string conf = paths.host(k_tmpfiles_conf);
  const std::string content =
      "# furnace: the GPU lock directory, made again at every boot (furnace setup wrote this)\n" +
      tmpfiles_line(group) + "\n";
  auto current = host::read_system_file(conf);
  if (!current || !current->exists || current->content != content) {
    if (!dry_run) {
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(conf).parent_path(), ec);
      util::AtomicWriteOptions o;
      o.mode = 0644;
      if (auto w = util::write_file_atomic(conf, content, o); !w) {
        return core::fail(core::ErrorKind::io,
                          fmt::format("cannot write {}: {}", conf, w.error().message));
      }
    }
    done.push_back(fmt::format("{} {} ({}): systemd makes the lock directory at every boot",
                               dry_run ? "would write" : "wrote",
                               conf,
                               tmpfiles_line(group)));
  }
  return done;
}

} // namespace furnace::setup
