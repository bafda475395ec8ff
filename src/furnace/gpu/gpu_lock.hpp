#pragma once
// GPU locks: advisory, shared by every user of the host who may start GPU containers, so that two
// runs started at the same instant with `--gpus auto` never get the same GPU.
//
// One directory, which only root (and the members of one group) can create entries in:
// - $FURNACE_LOCK_DIR when set (made when missing);
// - else /run/furnace/gpu when it exists;
// - else, for root, /run/furnace/gpu, made root:furnace (or root:docker: the users who can start
//   containers) with mode 3770 (`furnace setup` also makes it at every boot through
//   /etc/tmpfiles.d/furnace.conf), or root:root 0700 when neither group exists;
// - else, for another user, a private directory (<state>/gpu-locks, mode 0700) with a warning:
//   other users' runs do not see those locks.
// A directory is refused (naming it, its owner and mode, and the fix) when it is a symbolic link,
// belongs to anyone but root or the caller, lets other users in at all (mode & 007), or lets a
// group write when root does not own it. A directory furnace did not make keeps its mode.
//
// One lock file per GPU, "gpu-<uuid>.lock" ("gpu-index-<N>.lock" for a GPU without a UUID), mode
// 0660 in a group directory (0600 otherwise), never deleted. It holds one JSON line per owner:
//   {"uid":1000,"user":"alice","pid":4242,"run":"furnace-x-1","since_ms":1700000000000,"index":0}
// and is empty when the GPU is free. A lock file is opened without following symbolic links and
// refused unless it is a regular file with one link, belonging to root, the caller or the
// directory's group, and not writable by others; furnace changes the mode only of files it has
// just created. Every read-choose-write happens under an exclusive flock on the directory's
// `.mutex`, which makes an acquire atomic across processes.
//
// Liveness: an owner holds a shared flock on the lock file of each GPU it took for as long as it
// holds the GPU (a detached run's supervisor inherits it). A line is live when its container runs
// (the engine says so), or when some process holds the file's flock and the line's pid is alive.
// So a line nobody holds the file for (a forged one naming pid 1, or one a killed furnace left) is
// stale and cleared by the next run; only a real process can keep a GPU locked.

#include <furnace/core/context.hpp>
#include <furnace/core/error.hpp>
#include <furnace/gpu/selection.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace furnace::gpu {

// Who holds a GPU. An owner is the pair (pid, run).
struct LockOwner {
  unsigned uid = 0;
  std::string user;
  int pid = 0;
  std::string run;           // the container's name
  std::int64_t since_ms = 0; // Unix time in milliseconds
};

// Whether process `pid` exists (kill(pid, 0) succeeds or says EPERM).
bool pid_alive(int pid);

// How a lock's owner is known to be alive (see the header comment).
struct Liveness {
  std::function<bool(int pid)> process = pid_alive;
  // Whether the container named `run` is running; unset: the engine is not asked.
  std::function<bool(const std::string& run)> container;
};

// "gpu-GPU-8f2e….lock", or "gpu-index-3.lock" when `uuid` is empty. Characters other than
// letters, digits, '-' and '_' are written as %XX.
std::string lock_file_name(unsigned index, const std::string& uuid);

// The group a shared lock directory gets: `furnace` when it exists, else `docker`; nullopt when
// neither does.
std::optional<gid_t> lock_group();

// Makes `path` (and missing parents, mode 0755) the way furnace wants a lock directory: for root,
// root:`group` mode 3770 (root:root 0700 without a group); for another user, 0700. An existing
// directory is left as it is. Returns whether it made it. Errors: io, permission.
core::Result<bool> make_lock_dir(const std::string& path, std::optional<gid_t> group);

// Checks that `path` is a lock directory no other user can tamper with (see the header comment).
// Errors (permission, io, not_found) name the directory, its owner and mode, and the fix.
core::Result<void> check_lock_dir(const std::string& path);

class GpuLocks {
public:
  using Chooser = std::function<core::Result<Selection>(const std::vector<Claim>&)>;

  // Finds or makes the lock directory (see above) and checks it; `host_root` prefixes /run
  // (tests). Errors (io, permission) name the directory and the fix.
  static core::Result<GpuLocks>
  open(const core::Env& env, Liveness alive, const std::string& host_root = "/");

  const std::string& dir() const { return m_dir; }

  // Set when the locks are private to this user (no shared directory): a warning to show.
  const std::optional<core::Error>& warning() const { return m_warning; }

  // How long to wait for another process's `.mutex` before failing (10 s by default).
  void set_wait_limit(std::chrono::milliseconds limit) { m_wait_limit = limit; }

  // Under the mutex: reads every lock, clears those whose owner is not alive (noted in the
  // selection), calls `chooser` with the live claims of owners other than `me`, writes `me`
  // into the lock of every chosen GPU (for `--gpus all` and lists too, so `auto` avoids them;
  // a GPU another run holds keeps that owner as well) and holds those files' flock. Errors: the
  // chooser's, or the directory's (timeout on the mutex, io, permission, a lock file refused).
  core::Result<Selection> acquire(const LockOwner& me, const Chooser& chooser);

  // Removes `me` (same pid and run) from the locks of `uuids`, never another owner, and lets go
  // of their flock. An empty entry in `uuids` stands for every GPU without a UUID. Idempotent.
  core::Result<void> release(const LockOwner& me, const std::vector<std::string>& uuids);

  // Re-labels the locks of `uuids` that name `from` as held by `to` (e.g. once a detached
  // supervisor's pid is known).
  core::Result<void>
  transfer(const LockOwner& from, const LockOwner& to, const std::vector<std::string>& uuids);

  // Every live claim, for `furnace ps` (stale locks are cleared on the way).
  core::Result<std::vector<Claim>> claims();

  // An open file descriptor, closed (and its flock released) on destruction.
  class Fd {
  public:
    explicit Fd(int fd = -1) : m_fd(fd) {}
    Fd(Fd&& other) noexcept;
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    int get() const { return m_fd; }

  private:
    int m_fd;
  };

private:
  GpuLocks(std::string dir, Liveness alive) : m_dir(std::move(dir)), m_alive(std::move(alive)) {}

  std::string m_dir;
  Liveness m_alive;
  std::chrono::milliseconds m_wait_limit{10000};
  std::optional<core::Error> m_warning;
  // The shared flock an owner (pid, run) holds on a lock file (by name).
  std::map<std::tuple<int, std::string, std::string>, Fd> m_held;
};

} // namespace furnace::gpu
