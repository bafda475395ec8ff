#pragma once
// Reloading and restarting the engine that reads a daemon.json, and checking it came back:
// systemd when it manages docker (`systemctl reload|restart docker`), otherwise the dockerd
// process itself (SIGHUP to reload; SIGTERM and the same argv again to restart).

#include <furnace/core/error.hpp>
#include <furnace/util/process.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace furnace::setup {

struct EngineControl {
  enum class Manager { none, systemd, process };
  Manager manager = Manager::none;
  int pid = 0;                   // the dockerd process (process and systemd)
  std::string exe;               // /proc/PID/exe, to start the same binary again
  std::vector<std::string> argv; // its argv
  std::string log_path;          // where a dockerd furnace restarts writes its output
  std::string endpoint_uri;      // DOCKER_HOST-style address for health checks

  std::string describe_reload() const;
  std::string describe_restart() const;
};

// SIGHUP (or systemctl reload). Errors: the signal or systemctl failed.
core::Result<void> reload_engine(EngineControl& engine, util::ProcessRunner& runner);

// Stops the engine and starts it again; waits for it to answer. Errors carry the engine's own
// message (journal or log tail) when it does not come back.
core::Result<void>
restart_engine(EngineControl& engine, util::ProcessRunner& runner, std::chrono::seconds timeout);

// Pings the engine until it answers or `timeout` passes.
bool wait_engine_up(const std::string& endpoint_uri,
                    std::chrono::milliseconds timeout,
                    int watch_pid = 0);

// What the engine logged lately: the journal (systemd), or the file its stderr goes to.
std::string engine_log_tail(const EngineControl& engine, util::ProcessRunner& runner);

// The last line of `log` that says why dockerd stopped ("failed to start daemon: …").
std::string engine_error_from_log(const std::string& log);

} // namespace furnace::setup
