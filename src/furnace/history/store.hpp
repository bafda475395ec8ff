#pragma once
// The run history: every `furnace run` is a row in an SQLite database (by default
// $XDG_DATA_HOME/furnace/history.db), written when the run starts and again when it ends, so that
// `furnace history` and `furnace show` can say what ran where, with which image, GPUs and code.
// Several furnace processes write to one file at once: WAL journal, a busy timeout, one statement
// per change.

#include <furnace/core/context.hpp>
#include <furnace/core/error.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace furnace::history {

// RunRecord::status values.
inline constexpr const char* k_running = "running";
inline constexpr const char* k_exited = "exited"; // the command ended by itself (any exit code)
inline constexpr const char* k_failed = "failed"; // furnace or the engine failed before it: 125-127
inline constexpr const char* k_killed = "killed"; // ended by a signal
inline constexpr const char* k_lost = "lost";     // furnace died; how the run ended is unknown
inline constexpr const char* k_oom_killed = "oom-killed"; // killed for memory (OOMKilled, exit 137)
// A job handed to a cluster's scheduler (`furnace submit`): waiting for its nodes, cancelled
// (scancel, kubectl delete), or stopped at its time limit. It runs as k_running and ends as
// k_exited (exit 0), k_failed (with the job's exit code), k_oom_killed or one of these.
inline constexpr const char* k_pending = "pending";
inline constexpr const char* k_cancelled = "cancelled";
inline constexpr const char* k_timed_out = "timeout";

struct RunRecord {
  std::int64_t id = 0;              // assigned by insert (rowid, 1, 2, ...)
  std::string name;                 // container name, e.g. "furnace-mnist-7f3a2c"
  std::string container_id;         // "" until known
  std::int64_t started_ms = 0;      // unix ms
  std::int64_t ended_ms = 0;        // 0 = not ended (running, or lost)
  std::optional<int> exit_code;     // the command's exit code
  std::string signal;               // "SIGINT", "SIGTERM", "SIGKILL" when ended by one; ""
  std::string status;               // k_running, k_exited, k_failed, k_killed, k_oom_killed, k_lost
  std::string user;                 // invoking user name
  std::string host;                 // hostname
  std::string project;              // absolute project root
  std::string workdir;              // working directory inside the container
  std::string git_commit;           // "" when not a git repo
  bool git_dirty = false;           //
  std::string spec_hash;            // sha256 of furnace.yaml text
  std::string image_tag;            // furnace/mnist:abc123def456
  std::string image_id;             // sha256:...
  std::string base_image;           // pytorch/pytorch:1.13.1-...
  std::string base_digest;          // repo digest of the base, "" when unknown
  std::vector<std::string> command; // argv run in the container
  std::string gpu_request;          // what the user asked: "all", "none", "0,2", "auto:1"
  std::vector<unsigned> gpu_indices;
  std::vector<std::string> gpu_uuids;
  std::string driver_version; // "" without a GPU
  std::string log_path;       // the run's output log on the host
  bool detached = false;
  // A job submitted to a cluster (furnace submit): "slurm" or "k8s", and the scheduler's id for
  // it ("4242"; "NAMESPACE/NAME" for Kubernetes); "" for a run on this host.
  std::string scheduler;
  std::string job_id;
  std::string image_ref; // the image the job pulls: "REGISTRY/REPO@sha256:..." or a tag
  // The -v mounts as "HOST:CONTAINER[:ro]" (HOST absolute and resolved), and the limits the
  // container got ("" = none); a rerun repeats them. Empty in runs recorded before schema 3.
  std::vector<std::string> volumes;
  std::string memory;     // "8g"
  std::string cpus;       // "4"
  std::string pids_limit; // "4096"
};

struct Query {
  std::string project;   // "" = every project; else exact project root
  std::size_t limit = 0; // 0 = all; newest first
  bool running_only = false;
  bool open_jobs_only = false; // cluster jobs still pending or running (furnace submit)
};

// How long a statement waits for another process's write lock before failing.
inline constexpr std::chrono::milliseconds k_busy_timeout{5000};

class Store {
public:
  // Opens the database at `path`, creating the file (0600), its missing parent directories
  // (0700) and the schema; migrates an older schema. A write waits up to `busy_timeout` for
  // another process's lock. Errors: io (cannot create, read or write it), invalid (not a
  // furnace history database, or one from a newer furnace), timeout (locked); each names `path`
  // and says how to get going again.
  static core::Result<Store> open(const std::string& path,
                                  std::chrono::milliseconds busy_timeout = k_busy_timeout);

  // Records a new run; `r.id` is ignored. Returns its id (1, 2, ...; never reused).
  core::Result<std::int64_t> insert(const RunRecord& r);
  // Errors for the setters and finish: not_found when there is no run `id`, and those of open.
  core::Result<void> set_container(std::int64_t id, const std::string& container_id);
  core::Result<void> set_git_dirty(std::int64_t id, bool dirty);
  core::Result<void> finish(std::int64_t id,
                            std::int64_t ended_ms,
                            std::optional<int> exit_code,
                            const std::string& signal,
                            const std::string& status);

  // The runs `q` selects, newest (highest id) first.
  core::Result<std::vector<RunRecord>> list(const Query& q) const;
  // A run by id ("42"), by container name (the newest of that name), or by a unique name
  // prefix. Errors: not_found; invalid when a prefix matches several runs (listing them).
  core::Result<RunRecord> find(const std::string& key) const;

  const std::string& path() const { return m_path; }

private:
  struct Close {
    void operator()(sqlite3* db) const;
  };
  Store(sqlite3* db, std::string path) : m_db(db), m_path(std::move(path)) {}

  std::unique_ptr<sqlite3, Close> m_db;
  std::string m_path;
};

// $XDG_DATA_HOME/furnace/history.db (when XDG_DATA_HOME is absolute), else
// $HOME/.local/share/furnace/history.db.
std::string default_path(const core::Env& env);

} // namespace furnace::history
