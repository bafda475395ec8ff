#pragma once
// GPU locks: advisory, shared by every user of the host, so that two runs started at the same
// instant with `--gpus auto` never get the same GPU.
//
// One directory: $FURNACE_LOCK_DIR when set; else /run/furnace/gpu when it exists; else
// /tmp/furnace-gpu-locks when it exists; else /run/furnace/gpu when it can be created (root);
// else /tmp/furnace-gpu-locks. A directory furnace creates gets mode 1777, like /tmp. (An
// existing /tmp directory wins over creating the /run one so that root and the other users keep
// to one directory whichever ran first.)
//
// One lock file per GPU, "gpu-<uuid>.lock" ("gpu-index-<N>.lock" for a GPU without a UUID),
// mode 0666 whatever the umask and never deleted, so that the sticky bit does not stop another
// user from freeing a stale lock. It holds one JSON line per owner:
//   {"uid":1000,"user":"alice","pid":4242,"run":"furnace-x-1","since_ms":1700000000000,"index":0}
// and is empty when the GPU is free. Every read-choose-write happens under an exclusive flock
// on the directory's `.mutex`, which makes an acquire atomic across processes.

#include <furnace/core/context.hpp>
#include <furnace/core/error.hpp>
#include <furnace/gpu/selection.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
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

// "gpu-GPU-8f2e….lock", or "gpu-index-3.lock" when `uuid` is empty. Characters other than
// letters, digits, '-' and '_' are written as %XX.
std::string lock_file_name(unsigned index, const std::string& uuid);

class GpuLocks {
public:
  // Whether an owner still holds its GPUs. The caller decides: typically pid_alive(owner.pid),
  // or the engine says the container `owner.run` is running.
  using AliveFn = std::function<bool(const LockOwner&)>;
  using Chooser = std::function<core::Result<Selection>(const std::vector<Claim>&)>;

  // Finds or creates the lock directory (see above); `host_root` prefixes /run and /tmp (tests).
  // Errors (io, permission) name the directory and the fix.
  static core::Result<GpuLocks>
  open(const core::Env& env, AliveFn alive, const std::string& host_root = "/");

  const std::string& dir() const { return m_dir; }

  // How long to wait for another process's `.mutex` before failing (10 s by default).
  void set_wait_limit(std::chrono::milliseconds limit) { m_wait_limit = limit; }

  // Under the mutex: reads every lock, clears those whose owner is not alive (noted in the
  // selection), calls `chooser` with the live claims of owners other than `me`, and writes `me`
  // into the lock of every chosen GPU (for `--gpus all` and lists too, so `auto` avoids them;
  // a GPU another run holds keeps that owner as well). Errors: the chooser's, or the
  // directory's (timeout on the mutex, io, permission).
  core::Result<Selection> acquire(const LockOwner& me, const Chooser& chooser);

  // Removes `me` (same pid and run) from the locks of `uuids`, never another owner. An empty
  // entry in `uuids` stands for every GPU without a UUID. Idempotent.
  core::Result<void> release(const LockOwner& me, const std::vector<std::string>& uuids);

  // Re-labels the locks of `uuids` that name `from` as held by `to` (e.g. once a detached
  // supervisor's pid is known).
  core::Result<void>
  transfer(const LockOwner& from, const LockOwner& to, const std::vector<std::string>& uuids);

  // Every live claim, for `furnace ps` (stale locks are cleared on the way).
  core::Result<std::vector<Claim>> claims();

private:
  GpuLocks(std::string dir, AliveFn alive) : m_dir(std::move(dir)), m_alive(std::move(alive)) {}

  std::string m_dir;
  AliveFn m_alive;
  std::chrono::milliseconds m_wait_limit{10000};
};

// Whether process `pid` exists (kill(pid, 0) succeeds or says EPERM).
bool pid_alive(int pid);

} // namespace furnace::gpu
