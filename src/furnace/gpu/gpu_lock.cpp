#include "gpu_lock.hpp"

#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
constexpr const char* k_tmp_dir = "/tmp/furnace-gpu-locks";
constexpr const char* k_mutex_name = ".mutex";
constexpr std::string_view k_prefix = "gpu-";
constexpr std::string_view k_suffix = ".lock";
constexpr std::string_view k_index_prefix = "index-";
constexpr mode_t k_file_mode = 0666;
constexpr mode_t k_dir_mode = 01777;
constexpr const char* k_access_hint =
    "every user of the GPUs needs to write there: the directory mode 1777, its files mode 666";

class Fd {
public:
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  Fd& operator=(Fd&&) = delete;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (m_fd >= 0) {
      ::close(m_fd); // also releases a flock
    }
  }
  int get() const { return m_fd; }

private:
  int m_fd;
};

core::Error from_errno(int e, const std::string& message, std::string hint = k_access_hint) {
  const ErrorKind kind = (e == EACCES || e == EPERM) ? ErrorKind::permission : ErrorKind::io;
  return core::make_error(kind, message + ": " + std::strerror(e), std::move(hint));
}

// ---- the directory ----

std::string under(const std::string& root, const char* absolute) {
  std::string r = root;
  while (!r.empty() && r.back() == '/') {
    r.pop_back();
  }
  return r + absolute;
}

// Creates `path` (and its parents) with mode 1777 unless it is a directory already.
core::Result<void> make_shared_dir(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return {};
  }
  fs::create_directories(fs::path(path).parent_path(), ec); // a failure shows in mkdir
  if (::mkdir(path.c_str(), k_dir_mode) == 0) {
    if (::chmod(path.c_str(), k_dir_mode) != 0) { // the umask took bits away
      return core::fail(from_errno(errno, "cannot chmod 1777 " + path));
    }
    return {};
  }
  const int e = errno;
  if (e == EEXIST && fs::is_directory(path, ec)) {
    return {}; // another process made it first
  }
  return core::fail(from_errno(e, "cannot create the GPU lock directory " + path));
}

core::Result<std::string> shared_dir(const std::string& path) {
  if (auto made = make_shared_dir(path); !made) {
    core::Error e = made.error();
    e.hint = fmt::format("set FURNACE_LOCK_DIR to a directory every user can write, or create {} "
                         "with mode 1777",
                         path);
    return core::fail(std::move(e));
  }
  return path;
}

core::Result<std::string> lock_dir(const core::Env& env, const std::string& host_root) {
  if (auto it = env.find("FURNACE_LOCK_DIR"); it != env.end() && !it->second.empty()) {
    return shared_dir(it->second);
  }
  const std::string run = under(host_root, k_run_dir);
  const std::string tmp = under(host_root, k_tmp_dir);
  std::error_code ec;
  for (const std::string& existing : {run, tmp}) {
    if (fs::is_directory(existing, ec)) {
      return existing;
    }
  }
  if (make_shared_dir(run)) {
    return run;
  }
  return shared_dir(tmp);
}

// ---- shared files and the mutex ----

// open(2) of a file in a directory every user shares. Without O_CREAT first: with
// fs.protected_regular, O_CREAT on another user's file in a sticky directory fails (EACCES)
// even when the file's mode lets everyone write.
int open_or_create(const std::string& path, int flags) {
  flags |= O_CLOEXEC | O_NOFOLLOW;
  int fd = ::open(path.c_str(), flags);
  if (fd >= 0 || errno != ENOENT) {
    return fd;
  }
  fd = ::open(path.c_str(), flags | O_CREAT | O_EXCL, k_file_mode);
  if (fd >= 0 || errno != EEXIST) {
    return fd;
  }
  return ::open(path.c_str(), flags); // another process made it meanwhile
}

// Opens (creating) a file every user can write, whatever the umask. A file another user
// created keeps its mode (only the owner may change it).
core::Result<Fd> open_shared(const std::string& path, int flags) {
  Fd fd(open_or_create(path, flags));
  if (fd.get() < 0) {
    return core::fail(from_errno(errno, "cannot open " + path));
  }
  if (::fchmod(fd.get(), k_file_mode) != 0 && errno != EPERM) {
    return core::fail(from_errno(errno, "cannot chmod 666 " + path));
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
  auto fd = open_shared(path, O_RDWR);
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

core::Result<LockFile> read_lock(const std::string& dir, const std::string& name) {
  LockFile file;
  file.uuid = uuid_of(name);
  auto text = util::read_file(dir + "/" + name);
  if (!text) {
    if (text.error().error_number == ENOENT) {
      return file;
    }
    return core::fail(from_errno(text.error().error_number, "cannot read " + dir + "/" + name));
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

// Truncate, write, fsync: the mutex keeps readers out meanwhile.
core::Result<void>
write_lock(const std::string& dir, const std::string& name, const LockFile& file) {
  const std::string path = dir + "/" + name;
  std::string content;
  for (const Holder& h : file.holders) {
    content += render_holder(h);
  }
  auto fd = open_shared(path, O_WRONLY);
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
// file changed.
bool prune_stale(const std::string& name,
                 LockFile& file,
                 const GpuLocks::AliveFn& alive,
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

// Every lock, the stale ones cleared (noted in `notes`). Asks `alive` once per owner.
core::Result<LockFiles>
load_live(const std::string& dir, const GpuLocks::AliveFn& alive, std::vector<std::string>& notes) {
  auto files = load_all(dir);
  if (!files) {
    return files;
  }
  std::map<std::pair<int, std::string>, bool> known;
  const GpuLocks::AliveFn cached = [&](const LockOwner& owner) {
    const auto [it, added] = known.try_emplace({owner.pid, owner.run}, false);
    if (added) {
      it->second = alive(owner);
    }
    return it->second;
  };
  for (auto& [name, file] : *files) {
    if (prune_stale(name, file, cached, notes)) {
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

core::Result<GpuLocks>
GpuLocks::open(const core::Env& env, AliveFn alive, const std::string& host_root) {
  FURNACE_ASSERT(alive);
  auto dir = lock_dir(env, host_root);
  if (!dir) {
    return core::fail(dir.error());
  }
  return GpuLocks(std::move(*dir), std::move(alive));
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
  selection->notes.insert(selection->notes.end(), notes.begin(), notes.end());
  return selection;
}

core::Result<void> GpuLocks::release(const LockOwner& me, const std::vector<std::string>& uuids) {
  return rewrite_locks(
      m_dir, m_wait_limit, uuids, [&](LockFile& file) { return remove_owner(file, me); });
}

core::Result<void> GpuLocks::transfer(const LockOwner& from,
                                      const LockOwner& to,
                                      const std::vector<std::string>& uuids) {
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
