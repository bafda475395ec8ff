#pragma once
// What the run commands share: where run logs go, the history (optional: a broken database warns
// and the run goes on), the labels furnace puts on its containers, and leftovers of killed runs.

#include <furnace/core/context.hpp>
#include <furnace/core/labels.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/history/store.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace furnace::run {

inline constexpr const char* k_label_run = "org.furnace.run";         // the run's name
inline constexpr const char* k_label_project = "org.furnace.project"; // the project root
inline constexpr const char* k_label_user = core::k_label_user; // setup reads it too
inline constexpr const char* k_label_gpus = "org.furnace.gpus";       // "0,2", "all", ""
inline constexpr const char* k_label_pid = "org.furnace.pid";         // the watching furnace
// Its start time (field 22 of /proc/PID/stat, clock ticks since boot): a pid the kernel reused
// for another process does not keep a dead run's furnace alive.
inline constexpr const char* k_label_pid_start = "org.furnace.pid-start";
inline constexpr const char* k_label_host = "org.furnace.host";

// An interactive shell in any image: bash where it is there, else sh.
inline const std::vector<std::string>& shell_command() {
  static const std::vector<std::string> k_shell{
      "/bin/sh", "-c", "if [ -x /bin/bash ]; then exec /bin/bash; else exec /bin/sh; fi"};
  return k_shell;
}

// A rootless engine (its socket under /run/user/UID) maps the container's root to the user
// already: no --user, no user layer, and it cannot raise the locked-memory limit.
inline bool rootless_engine(const engine::Engine& engine) {
  return engine.endpoint().find("/run/user/") != std::string::npos;
}

std::int64_t now_ms();
std::string host_name();

// "<data dir>/furnace/logs/run-<name>.log".
std::string run_log_path(const core::Env& env, const std::string& run_name);

// The history database, or nullopt after a warning (a corrupt or locked database never stops a
// run).
std::optional<history::Store> open_history_or_warn(core::Context& ctx);

// The history, opened on first use (a run opens it once its container is starting, so that the
// open overlaps with the CLI's start-up), with one warning when it cannot be opened.
class LazyHistory {
public:
  explicit LazyHistory(core::Context& ctx) : m_ctx(ctx) {}
  history::Store* get();
  void close() { m_store.reset(); m_tried = false; }

private:
  core::Context& m_ctx;
  std::optional<history::Store> m_store;
  bool m_tried = false;
};

// The start time of process `pid` (field 22 of /proc/PID/stat, after the command's parentheses);
// "" when there is no such process.
std::string process_start_time(int pid);

// Whether the run `name` that ended with exit 137 was killed for memory: the container's
// OOMKilled state while it still exists, else the engine's "oom" event for it between `since_ms`
// and `until_ms`. Asked only for exit 137, so a normal run makes no extra engine call.
bool oom_killed(engine::Engine& engine,
                const std::string& name,
                int exit_code,
                std::int64_t since_ms,
                std::int64_t until_ms);

// What to say about a run killed for memory: the limit it had ("" = none) and what to do.
core::Error oom_error(const std::string& name, const std::string& memory_limit);

// A furnace container whose furnace process is gone (killed) on this host: its pid is not
// alive, or is alive with another start time than the label records (the pid was reused).
bool is_orphan(const engine::ContainerSummary& c, const std::string& this_host);

// An orphan that never ran or has ended ("created", "exited", "dead"): nothing in it can be lost,
// so the next furnace run of its project removes it without asking.
bool is_spent(const engine::ContainerSummary& c);

// Removes `c` and marks its history record lost.
void remove_leftover(core::Context& ctx, engine::Engine& engine, history::Store* store,
                     const engine::ContainerSummary& c);

} // namespace furnace::run
