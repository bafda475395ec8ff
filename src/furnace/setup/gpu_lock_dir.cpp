#include "gpu_lock_dir.hpp"

#include <furnace/gpu/gpu_lock.hpp>
#include <furnace/util/atomic_file.hpp>

#include <fmt/format.h>

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
