#include "gpu_lock.hpp"

#include <furnace/core/dirs.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>
#include <utility>

namespace furnace::gpu {

namespace {

using core::ErrorKind;
namespace fs = std::filesystem;

constexpr const char* k_run_dir = "/run/furnace/gpu";
constexpr const char* k_mutex_name = ".mutex";
constexpr std::string_view k_prefix = "gpu-";
constexpr std::string_view k_suffix = ".lock";
constexpr std::string_view k_index_prefix = "index-";
constexpr mode_t k_group_dir_mode = 03770; // setgid: files get the group; sticky: no deleting
constexpr mode_t k_private_dir_mode = 0700;
constexpr mode_t k_group_file_mode = 0660;
constexpr mode_t k_private_file_mode = 0600;
constexpr const char* k_setup_hint = "'sudo furnace setup' makes /run/furnace/gpu for every user";

using Fd = GpuLocks::Fd;

core::Error from_errno(int e, const std::string& message, std::string hint = {}) {
  const ErrorKind kind = (e == EACCES || e == EPERM) ? ErrorKind::permission : ErrorKind::io;
  if (hint.empty() && kind == ErrorKind::permission) {
    hint = "the GPU locks are for root and the members of the directory's group (furnace, else "
           "docker): ask an admin to add you ('sudo furnace setup --add-user NAME')";
  }
  return core::make_error(kind, message + ": " + std::strerror(e), std::move(hint));
}

std::string user_name(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  std::array<char, 4096> buf{};
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return fmt::format("uid {}", uid);
}

std::string group_name(gid_t gid) {
  group gr{};
  group* found = nullptr;
  std::array<char, 4096> buf{};
  if (::getgrgid_r(gid, &gr, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return found->gr_name;
  }
  return fmt::format("gid {}", gid);
}

std::optional<gid_t> group_id(const char* name) {
  group gr{};
  group* found = nullptr;
  std::array<char, 4096> buf{};
  if (::getgrnam_r(name, &gr, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return found->gr_gid;
  }
  return std::nullopt;
}

std::string mode_text(mode_t mode) {
  return fmt::format("{:04o}", mode & 07777U);
}

// ---- the directory ----

std::string under(const std::string& root, const char* absolute) {
  std::string r = root;
  while (!r.empty() && r.back() == '/') {
    r.pop_back();
  }
  return r + absolute;
}

core::Error refused_dir(const std::string& path, const struct stat& sb, const std::string& why) {
  return core::make_error(
      ErrorKind::permission,
      fmt::format("refusing the GPU lock directory {} (owner {}, group {}, mode {}): {}",
                  path,
                  user_name(sb.st_uid),
                  group_name(sb.st_gid),
                  mode_text(sb.st_mode),
                  why),
      fmt::format("remove it ('sudo rm -r {}') when no furnace run is active; {}, or set "
                  "FURNACE_LOCK_DIR to a directory of your own",
                  path,
                  k_setup_hint));
}

// The facts lock files are checked against.
struct DirFacts {
  gid_t gid = 0;
  bool group_shared = false; // root's directory with group write: the group's members share it
};

core::Result<DirFacts> dir_facts(const std::string& path) {
  struct stat sb {};
  if (::lstat(path.c_str(), &sb) != 0) {
    const int e = errno;
    if (e == ENOENT) {
      return core::fail(ErrorKind::not_found,
                        fmt::format("the GPU lock directory {} does not exist", path),
                        k_setup_hint);
    }
    return core::fail(from_errno(e, "cannot look at the GPU lock directory " + path));
  }
  if (S_ISLNK(sb.st_mode)) {
    return core::fail(refused_dir(path,
                                  sb,
                                  "it is a symbolic link, which another user may point "
                                  "anywhere"));
  }
  if (!S_ISDIR(sb.st_mode)) {
    return core::fail(refused_dir(path, sb, "it is not a directory"));
  }
  const uid_t me = ::geteuid();
  if (sb.st_uid != 0 && sb.st_uid != me) {
    return core::fail(refused_dir(
        path,
        sb,
        fmt::format("it belongs to {}, not to root or you: its owner could forge or remove locks",
                    user_name(sb.st_uid))));
  }
  if ((sb.st_mode & S_IRWXO) != 0) {
    return core::fail(refused_dir(path,
                                  sb,
                                  "every user may enter it: anyone could forge, remove or hold "
                                  "the locks (the mode must end in 0, like 3770)"));
  }
  if ((sb.st_mode & S_IWGRP) != 0 && sb.st_uid != 0) {
    return core::fail(refused_dir(
        path,
        sb,
        fmt::format("group {} may write in a directory of yours (only root's may be shared)",
                    group_name(sb.st_gid))));
  }
  return DirFacts{sb.st_gid, (sb.st_mode & S_IWGRP) != 0};
}

} // namespace

std::optional<gid_t> lock_group() {
  if (auto g = group_id("furnace")) {
    return g;
  }
  return group_id("docker");
}

core::Result<bool> make_lock_dir(const std::string& path, std::optional<gid_t> group) {
  struct stat sb {};
  if (::lstat(path.c_str(), &sb) == 0) {
    return false;
  }
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec); // a failure shows in mkdir
  const bool root = ::geteuid() == 0;
  const bool shared = root && group.has_value();
  const mode_t mode = shared ? k_group_dir_mode : k_private_dir_mode;
  if (::mkdir(path.c_str(), 0700) != 0) {
    const int e = errno;
    if (e == EEXIST) {
      return false; // another process made it first
    }
    return core::fail(from_errno(e,
                                 "cannot create the GPU lock directory " + path,
                                 fmt::format("{}, or set FURNACE_LOCK_DIR to a directory of "
                                             "your own",
                                             k_setup_hint)));
  }
  // Group and mode after the directory is ours and closed to everyone (mkdir 0700).
  if (shared && ::chown(path.c_str(), 0, *group) != 0) {
    return core::fail(from_errno(errno, "cannot chown the GPU lock directory " + path));
  }
  if (::chmod(path.c_str(), mode) != 0) {
    return core::fail(from_errno(errno, fmt::format("cannot chmod {} {}", mode_text(mode), path)));
  }
  return true;
}

core::Result<void> check_lock_dir(const std::string& path) {
  auto facts = dir_facts(path);
  if (!facts) {
    return core::fail(facts.error());
  }
  return {};
}

namespace {

struct ChosenDir {
  std::string path;
  std::optional<core::Error> warning;
};

core::Result<ChosenDir> lock_dir(const core::Env& env, const std::string& host_root) {
  if (auto it = env.find("FURNACE_LOCK_DIR"); it != env.end() && !it->second.empty()) {
    if (auto made = make_lock_dir(it->second, lock_group()); !made) {
      return core::fail(made.error());
    }
    return ChosenDir{it->second, std::nullopt};
  }
  const std::string run = under(host_root, k_run_dir);
  struct stat sb {};
  if (::lstat(run.c_str(), &sb) == 0) {
    return ChosenDir{run, std::nullopt}; // checked by the caller, whoever made it
  }
  if (::geteuid() == 0) {
    if (auto made = make_lock_dir(run, lock_group()); !made) {
      return core::fail(made.error());
    }
    return ChosenDir{run, std::nullopt};
  }
  const std::string mine = core::dirs_from_env(env).state + "/gpu-locks";
  if (auto made = make_lock_dir(mine, std::nullopt); !made) {
    return core::fail(made.error());
  }
  return ChosenDir{
      mine,
      core::make_error(ErrorKind::unavailable,
                       fmt::format("{} does not exist: the GPU locks in {} are yours alone, and "
                                   "other users' furnace runs do not see them",
                                   run,
                                   mine),
                       k_setup_hint)};
}

// ---- shared files and the mutex ----

core::Error refused_file(const std::string& path, const struct stat& sb, const std::string& why) {
  return core::make_error(
      ErrorKind::permission,
      fmt::format("refusing the GPU lock file {} (owner {}, group {}, mode {}, {} link(s)): {}",
                  path,
                  user_name(sb.st_uid),
                  group_name(sb.st_gid),
                  mode_text(sb.st_mode),
                  sb.st_nlink,
                  why),
      fmt::format("remove it ('sudo rm {}') when no furnace run is active: furnace makes a new one",
                  path));
}

// Whether the open file `fd` may be a lock file of the directory `dir`.
core::Result<void> check_file(int fd, const std::string& path, const DirFacts& dir, bool created) {
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) {
    return core::fail(from_errno(errno, "cannot look at " + path));
  }
  if (!S_ISREG(sb.st_mode)) {
    return core::fail(refused_file(path, sb, "it is not a regular file"));
  }
  if (sb.st_nlink != 1) {
    return core::fail(refused_file(
        path, sb, "it has another name (a hard link): furnace would write into that file"));
  }
  const uid_t me = ::geteuid();
  const bool group_member_file = dir.group_shared && sb.st_gid == dir.gid;
  if (sb.st_uid != 0 && sb.st_uid != me && !group_member_file) {
    return core::fail(refused_file(
        path,
        sb,
        fmt::format("it belongs to {}, who is neither root, you, nor in the directory's group",
                    user_name(sb.st_uid))));
  }
  if ((sb.st_mode & S_IWOTH) != 0) {
    return core::fail(refused_file(path, sb, "every user may write it"));
  }
  if ((sb.st_mode & S_IWGRP) != 0 && sb.st_gid != dir.gid && !created) {
    return core::fail(
        refused_file(path, sb, fmt::format("group {} may write it", group_name(sb.st_gid))));
  }
  return {};
}

// Opens a file of the lock directory `dir` without following a symbolic link, creating it (with
// the directory's file mode) when `create` and it is missing, and checks it (check_file). Without
// O_CREAT first: with fs.protected_regular, O_CREAT on another user's file in a sticky directory
// fails (EACCES) even when its mode lets us write.
enum class Create { no, yes };

core::Result<Fd>
open_lock_file(const std::string& dir, const std::string& name, int flags, Create create) {
  auto facts = dir_facts(dir);
  if (!facts) {
    return core::fail(facts.error());
  }
  const std::string path = dir + "/" + name;
  flags |= O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
  bool created = false;
  Fd fd(::open(path.c_str(), flags));
  if (fd.get() < 0 && errno == ENOENT && create == Create::yes) {
    const mode_t mode = facts->group_shared ? k_group_file_mode : k_private_file_mode;
    fd = Fd(::open(path.c_str(), flags | O_CREAT | O_EXCL, mode));
    created = fd.get() >= 0;
    if (!created && errno == EEXIST) {
      fd = Fd(::open(path.c_str(), flags)); // another process made it meanwhile
    }
    // Ours, just made: the umask may have taken bits away.
    if (created && ::fchmod(fd.get(), mode) != 0) {
      return core::fail(
          from_errno(errno, fmt::format("cannot chmod {} {}", mode_text(mode), path)));
    }
  }
  if (fd.get() < 0) {
    const int e = errno;
    if (e == ELOOP) {
      return core::fail(
          ErrorKind::permission,
          fmt::format("refusing the GPU lock file {}: it is a symbolic link", path),
          fmt::format("remove it ('sudo rm {}') when no furnace run is active", path));
    }
    if (e == ENOENT) {
      return fd; // no such lock: the caller decides
    }
    return core::fail(from_errno(e, "cannot open " + path));
  }
  if (auto ok = check_file(fd.get(), path, *facts, created); !ok) {
    return core::fail(ok.error());
  }
  return fd;
}

std::string duration_text(std::chrono::milliseconds d) {
  return d.count() % 1000 == 0 ? fmt::format("{} s", d.count() / 1000)
                               : fmt::format("{} ms", d.count());
}

// The directory's `.mutex`, locked; waits at most `limit` for another process to let go.
core::Result<Fd> lock_mutex(const std::string& dir, std::chrono::milliseconds limit) {
  const std::string path = dir + "/" + k_mutex_name;
  auto fd = open_lock_file(dir, k_mutex_name, O_RDONLY, Create::yes);
  if (!fd) {
    return fd;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::chrono::milliseconds pause{1};
  while (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) {
      continue;
    }
    if (errno != EWOULDBLOCK) {
      return core::fail(from_errno(errno, "cannot lock " + path));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return core::fail(
          ErrorKind::timeout,
          fmt::format("another process has held {} for over {}", path, duration_text(limit)),
          fmt::format("which process holds it is unknown: look for a stuck furnace ('fuser {}') "
                      "and check the locks in {}",
                      path,
                      dir));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds{20});
  }
  return fd;
}

// ---- lock files ----

struct Holder {
  LockOwner owner;
  unsigned index = 0;
};

struct LockFile {
  std::string uuid; // "" for a GPU without one (gpu-index-N.lock)
  std::vector<Holder> holders;
  std::size_t unreadable = 0; // lines that are no owner (a write cut short by a crash)
};

using LockFiles = std::map<std::string, LockFile>; // by file name

bool same_owner(const LockOwner& a, const LockOwner& b) {
  return a.pid == b.pid && a.run == b.run;
}

std::optional<Holder> parse_holder(const std::string& line) {
  try {
    const nlohmann::json j = nlohmann::json::parse(line);
    Holder h;
    h.owner.uid = j.at("uid").get<unsigned>();
    h.owner.user = j.at("user").get<std::string>();
    h.owner.pid = j.at("pid").get<int>();
    h.owner.run = j.at("run").get<std::string>();
    h.owner.since_ms = j.at("since_ms").get<std::int64_t>();
    h.index = j.value("index", 0U);
    return h;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::string render_holder(const Holder& h) {
  nlohmann::ordered_json j;
  j["uid"] = h.owner.uid;
  j["user"] = h.owner.user;
  j["pid"] = h.owner.pid;
  j["run"] = h.owner.run;
  j["since_ms"] = h.owner.since_ms;
  j["index"] = h.index;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// The UUID a lock file's name stands for ("" for gpu-index-N.lock).
std::string uuid_of(std::string_view name) {
  name = name.substr(k_prefix.size(), name.size() - k_prefix.size() - k_suffix.size());
  if (name.substr(0, k_index_prefix.size()) == k_index_prefix) {
    return {};
  }
  std::string uuid;
  for (std::size_t i = 0; i < name.size(); ++i) {
    unsigned byte = 0;
    if (name[i] == '%' && i + 2 < name.size() &&
        std::from_chars(name.data() + i + 1, name.data() + i + 3, byte, 16).ptr ==
            name.data() + i + 3) {
      uuid += static_cast<char>(byte);
      i += 2;
    } else {
      uuid += name[i];
    }
  }
  return uuid;
}

bool is_lock_name(std::string_view name) {
  return name.size() > k_prefix.size() + k_suffix.size() &&
         name.substr(0, k_prefix.size()) == k_prefix &&
         name.substr(name.size() - k_suffix.size()) == k_suffix;
}

// Reads the whole open file `fd`.
core::Result<std::string> read_all(int fd, const std::string& path) {
  std::string text;
  std::array<char, 4096> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return core::fail(from_errno(errno, "cannot read " + path));
    }
    if (n == 0) {
      return text;
    }
    text.append(buf.data(), static_cast<std::size_t>(n));
  }
}

core::Result<LockFile> read_lock(const std::string& dir, const std::string& name) {
  LockFile file;
  file.uuid = uuid_of(name);
  auto fd = open_lock_file(dir, name, O_RDONLY, Create::no);
  if (!fd) {
    return core::fail(fd.error());
  }
  if (fd->get() < 0) {
    return file; // gone meanwhile
  }
  auto text = read_all(fd->get(), dir + "/" + name);
  if (!text) {
    return core::fail(text.error());
  }
  for (const std::string& line : util::split(*text, '\n')) {
    if (util::trim(line).empty()) {
      continue;
    }
    if (auto holder = parse_holder(line)) {
      file.holders.push_back(std::move(*holder));
    } else {
      ++file.unreadable;
    }
  }
  return file;
}

// Truncate, write, fsync, on a file checked to be one of ours: the mutex keeps readers out
// meanwhile.
core::Result<void>
write_lock(const std::string& dir, const std::string& name, const LockFile& file) {
  const std::string path = dir + "/" + name;
  std::string content;
  for (const Holder& h : file.holders) {
    content += render_holder(h);
  }
  auto fd = open_lock_file(dir, name, O_WRONLY, Create::yes);
  if (!fd) {
    return core::fail(fd.error());
  }
  if (::ftruncate(fd->get(), 0) != 0) {
    return core::fail(from_errno(errno, "cannot truncate " + path));
  }
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n =
        ::pwrite(fd->get(), content.data() + done, content.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno != EINTR) {
      return core::fail(from_errno(errno, "cannot write " + path));
    }
    done += n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  if (::fsync(fd->get()) != 0) {
    return core::fail(from_errno(errno, "cannot sync " + path));
  }
  return {};
}

// Whether some process holds the flock of lock file `name` (an owner that is still there).
core::Result<bool> flock_held(const std::string& dir, const std::string& name) {
  auto fd = open_lock_file(dir, name, O_RDONLY, Create::no);
  if (!fd) {
    return core::fail(fd.error());
  }
  if (fd->get() < 0) {
    return false;
  }
  while (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return true;
    }
    if (errno != EINTR) {
      return core::fail(from_errno(errno, "cannot lock " + dir + "/" + name));
    }
  }
  return false; // closing the descriptor lets go at once
}

core::Result<LockFiles> load_all(const std::string& dir) {
  std::error_code ec;
  LockFiles files;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!is_lock_name(name)) {
      continue;
    }
    auto file = read_lock(dir, name);
    if (!file) {
      return core::fail(file.error());
    }
    files.emplace(name, std::move(*file));
  }
  if (ec) {
    return core::fail(from_errno(ec.value(), "cannot list the GPU locks in " + dir));
  }
  return files;
}

// Drops the holders that are not alive and the unreadable lines, noting each; true when the
// file changed. `alive` says whether an owner is.
bool prune_stale(const std::string& name,
                 LockFile& file,
                 const std::function<bool(const LockOwner&)>& alive,
                 std::vector<std::string>& notes) {
  std::vector<Holder> live;
  for (Holder& h : file.holders) {
    if (alive(h.owner)) {
      live.push_back(std::move(h));
      continue;
    }
    notes.push_back(fmt::format("GPU {}: cleared a stale lock (run {} of {}, pid {}, since {})",
                                h.index,
                                h.owner.run,
                                h.owner.user,
                                h.owner.pid,
                                clock_time(h.owner.since_ms)));
  }
  const bool changed = live.size() != file.holders.size() || file.unreadable > 0;
  if (file.unreadable > 0) {
    notes.push_back(fmt::format("{}: cleared {} unreadable line(s)", name, file.unreadable));
  }
  file.holders = std::move(live);
  file.unreadable = 0;
  return changed;
}

// Every lock, the stale ones cleared (noted in `notes`). A line is live when its container runs,
// or when some process holds the file's flock and its pid is alive. Asks the engine once per run.
core::Result<LockFiles>
load_live(const std::string& dir, const Liveness& alive, std::vector<std::string>& notes) {
  auto files = load_all(dir);
  if (!files) {
    return files;
  }
  std::map<std::string, bool> running;
  const auto container_runs = [&](const std::string& run) {
    if (!alive.container) {
      return false;
    }
    const auto [it, added] = running.try_emplace(run, false);
    if (added) {
      it->second = alive.container(run);
    }
    return it->second;
  };
  for (auto& [name, file] : *files) {
    if (file.holders.empty() && file.unreadable == 0) {
      continue;
    }
    auto held = flock_held(dir, name);
    if (!held) {
      return core::fail(held.error());
    }
    const bool file_held = *held;
    const auto owner_alive = [&](const LockOwner& o) {
      return (file_held && alive.process && alive.process(o.pid)) || container_runs(o.run);
    };
    if (prune_stale(name, file, owner_alive, notes)) {
      if (auto written = write_lock(dir, name, file); !written) {
        return core::fail(written.error());
      }
    }
  }
  return files;
}

std::vector<Claim> claims_of(const LockFiles& files, const LockOwner* skip) {
  std::vector<Claim> claims;
  for (const auto& [name, file] : files) {
    for (const Holder& h : file.holders) {
      if (skip == nullptr || !same_owner(*skip, h.owner)) {
        claims.push_back(Claim{h.index, file.uuid, h.owner.user, h.owner.run, h.owner.since_ms});
      }
    }
  }
  return claims;
}

bool remove_owner(LockFile& file, const LockOwner& owner) {
  return std::erase_if(file.holders, [&](const Holder& h) { return same_owner(h.owner, owner); }) >
         0;
}

// Writes `me` into the lock of every GPU in `selection`; on a failure, takes back what it wrote.
core::Result<void> write_owner(const std::string& dir,
                               LockFiles& files,
                               const LockOwner& me,
                               const Selection& selection) {
  FURNACE_ASSERT(selection.uuids.size() == selection.indices.size());
  std::vector<std::string> written;
  for (std::size_t i = 0; i < selection.indices.size(); ++i) {
    const std::string name = lock_file_name(selection.indices[i], selection.uuids[i]);
    LockFile& file = files[name];
    file.uuid = selection.uuids[i];
    remove_owner(file, me);
    file.holders.push_back(Holder{me, selection.indices[i]});
    if (auto w = write_lock(dir, name, file); !w) {
      written.push_back(name);
      for (const std::string& n : written) {
        remove_owner(files[n], me);
        (void)write_lock(dir, n, files[n]); // best effort; the lock is stale once we exit
      }
      return w;
    }
    written.push_back(name);
  }
  return {};
}

// Under the mutex: applies `change` to the lock of each GPU in `uuids` ("" standing for every
// GPU without a UUID) and writes the ones it changed.
core::Result<void> rewrite_locks(const std::string& dir,
                                 std::chrono::milliseconds limit,
                                 const std::vector<std::string>& uuids,
                                 const std::function<bool(LockFile&)>& change) {
  auto mutex = lock_mutex(dir, limit);
  if (!mutex) {
    return core::fail(mutex.error());
  }
  auto files = load_all(dir);
  if (!files) {
    return core::fail(files.error());
  }
  for (auto& [name, file] : *files) {
    if (std::find(uuids.begin(), uuids.end(), file.uuid) == uuids.end() || !change(file)) {
      continue;
    }
    if (auto written = write_lock(dir, name, file); !written) {
      return written;
    }
  }
  return {};
}

} // namespace

std::string lock_file_name(unsigned index, const std::string& uuid) {
  if (uuid.empty()) {
    return fmt::format("{}{}{}{}", k_prefix, k_index_prefix, index, k_suffix);
  }
  std::string name(k_prefix);
  for (const char c : uuid) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_') {
      name += c;
    } else {
      name += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return name + std::string(k_suffix);
}

GpuLocks::Fd::Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}

GpuLocks::Fd& GpuLocks::Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = std::exchange(other.m_fd, -1);
  }
  return *this;
}

GpuLocks::Fd::~Fd() {
  if (m_fd >= 0) {
    ::close(m_fd); // also lets go of a flock (once no other descriptor shares it)
  }
}

core::Result<GpuLocks>
GpuLocks::open(const core::Env& env, Liveness alive, const std::string& host_root) {
  auto dir = lock_dir(env, host_root);
  if (!dir) {
    return core::fail(dir.error());
  }
  if (auto ok = check_lock_dir(dir->path); !ok) {
    return core::fail(ok.error());
  }
  GpuLocks locks(std::move(dir->path), std::move(alive));
  locks.m_warning = std::move(dir->warning);
  return locks;
}

core::Result<Selection> GpuLocks::acquire(const LockOwner& me, const Chooser& chooser) {
  auto mutex = lock_mutex(m_dir, m_wait_limit);
  if (!mutex) {
    return core::fail(mutex.error());
  }
  std::vector<std::string> notes;
  auto files = load_live(m_dir, m_alive, notes);
  if (!files) {
    return core::fail(files.error());
  }
  auto selection = chooser(claims_of(*files, &me));
  if (!selection) {
    return selection;
  }
  if (auto written = write_owner(m_dir, *files, me, *selection); !written) {
    return core::fail(written.error());
  }
  // Holding the files' flock is what keeps the lines live (see the header comment).
  for (std::size_t i = 0; i < selection->indices.size(); ++i) {
    const std::string name = lock_file_name(selection->indices[i], selection->uuids[i]);
    auto key = std::make_tuple(me.pid, me.run, name);
    if (m_held.count(key) != 0) {
      continue;
    }
    auto fd = open_lock_file(m_dir, name, O_RDONLY, Create::no);
    if (fd && fd->get() >= 0 && ::flock(fd->get(), LOCK_SH | LOCK_NB) == 0) {
      m_held.emplace(std::move(key), std::move(*fd));
    }
  }
  selection->notes.insert(selection->notes.end(), notes.begin(), notes.end());
  return selection;
}

core::Result<void> GpuLocks::release(const LockOwner& me, const std::vector<std::string>& uuids) {
  auto done = rewrite_locks(
      m_dir, m_wait_limit, uuids, [&](LockFile& file) { return remove_owner(file, me); });
  std::erase_if(m_held, [&](const auto& held) {
    const auto& [pid, run, name] = held.first;
    return pid == me.pid && run == me.run &&
           std::find(uuids.begin(), uuids.end(), uuid_of(name)) != uuids.end();
  });
  return done;
}

core::Result<void> GpuLocks::transfer(const LockOwner& from,
                                      const LockOwner& to,
                                      const std::vector<std::string>& uuids) {
  // The flock goes with the label (a supervisor forked from this process holds the same ones).
  for (auto it = m_held.begin(); it != m_held.end();) {
    const auto& [pid, run, name] = it->first;
    if (pid == from.pid && run == from.run &&
        std::find(uuids.begin(), uuids.end(), uuid_of(name)) != uuids.end()) {
      auto key = std::make_tuple(to.pid, to.run, name);
      Fd fd = std::move(it->second);
      it = m_held.erase(it);
      m_held.insert_or_assign(std::move(key), std::move(fd));
    } else {
      ++it;
    }
  }
  return rewrite_locks(m_dir, m_wait_limit, uuids, [&](LockFile& file) {
    const auto held = std::find_if(file.holders.begin(), file.holders.end(), [&](const Holder& h) {
      return same_owner(h.owner, from);
    });
    if (held == file.holders.end()) {
      return false;
    }
    const unsigned index = held->index;
    remove_owner(file, from);
    remove_owner(file, to);
    file.holders.push_back(Holder{to, index});
    return true;
  });
}

core::Result<std::vector<Claim>> GpuLocks::claims() {
  auto mutex = lock_mutex(m_dir, m_wait_limit);
  if (!mutex) {
    return core::fail(mutex.error());
  }
  std::vector<std::string> notes;
  auto files = load_live(m_dir, m_alive, notes);
  if (!files) {
    return core::fail(files.error());
  }
  return claims_of(*files, nullptr);
}

bool pid_alive(int pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

} // namespace furnace::gpu
