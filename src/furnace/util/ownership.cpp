#include <furnace/util/ownership.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

namespace furnace::util {

namespace fs = std::filesystem;

std::optional<Owner> owner_for_entries_of(const std::string& dir) {
  if (::geteuid() != 0) {
    return std::nullopt;
  }
  struct stat st {};
  if (::stat(dir.empty() ? "." : dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid == 0) {
    return std::nullopt;
  }
  return Owner{st.st_uid, st.st_gid};
}

bool give_to_directory_owner(const std::string& path) {
  const auto owner = owner_for_entries_of(fs::path(path).parent_path().string());
  if (!owner) {
    return true;
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return false;
  }
  if (st.st_uid == owner->uid && st.st_gid == owner->gid) {
    return true;
  }
  return ::lchown(path.c_str(), owner->uid, owner->gid) == 0;
}

bool give_fd_to_directory_owner(int fd, const std::string& dir) {
  const auto owner = owner_for_entries_of(dir);
  return !owner || ::fchown(fd, owner->uid, owner->gid) == 0;
}

void give_tree_to_directory_owner(const std::string& path) {
  const auto owner = owner_for_entries_of(fs::path(path).parent_path().string());
  std::error_code ec;
  if (!owner || !fs::exists(fs::symlink_status(path, ec))) {
    return;
  }
  auto give = [&](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0 && st.st_uid == 0) {
      (void)::lchown(p.c_str(), owner->uid, owner->gid);
    }
  };
  give(path);
  if (!fs::is_directory(fs::symlink_status(path, ec))) {
    return;
  }
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    give(it->path());
  }
}

bool make_directories(const std::string& path, std::error_code& ec) {
  ec.clear();
  // The missing directories, outermost first.
  std::vector<fs::path> missing;
  for (fs::path p = fs::path(path).lexically_normal(); !p.empty() && p != p.root_path();
       p = p.parent_path()) {
    if (p.filename().empty()) {
      continue; // a trailing slash
    }
    if (fs::exists(p, ec)) {
      break;
    }
    missing.insert(missing.begin(), p);
  }
  ec.clear();
  fs::create_directories(path, ec);
  if (ec) {
    return false;
  }
  for (const fs::path& p : missing) {
    (void)give_to_directory_owner(p.string());
  }
  return true;
}

} // namespace furnace::util
