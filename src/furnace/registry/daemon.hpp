#pragma once
// The registry binary as a background process of furnace's: started in its own session with
// its output in a log file and its pid in a pidfile, found again by `status` (the pid alive and
// its command line the one furnace started), stopped by `down`.

#include <furnace/core/error.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace furnace::registry {

// Starts `argv` (argv[0] a full path) detached: a new session, stdin /dev/null, stdout and
// stderr appended to `log_file` (0600), then writes its pid to `pid_file`. Returns the pid.
// Errors: fork/exec failures (exec failures show in the log and as an early exit).
core::Result<int> spawn_detached(const std::vector<std::string>& argv,
                                 const std::string& log_file,
                                 const std::string& pid_file);

// True when `pid` runs and its command line contains `needle` (a reused pid does not count).
bool process_matches(int pid, const std::string& needle);

// SIGTERM, then SIGKILL after `grace`; true when it is gone.
bool stop_process(int pid, std::chrono::milliseconds grace);

} // namespace furnace::registry
