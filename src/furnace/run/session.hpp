#pragma once
// Running the engine's CLI for a container and staying in charge of it: signals are relayed (the
// CLI passes them on to the container's process), a second Ctrl-C forces the container away, the
// output is teed into the run's log, and the exit status comes back. For detached runs the same
// loop runs in a supervisor process of its own session, writing into the log.

#include <furnace/core/error.hpp>
#include <furnace/run/container_spec.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>

namespace furnace::run {

struct SessionResult {
  int exit_code = 0; // the CLI's: the command's code, 125-127 when it did not start, 128+n
  int signal = 0;    // the first signal furnace received and relayed; 0 when none
  bool forced = false; // a second signal or the grace ran out: the container was removed by force
};

enum class Output {
  tee,     // the CLI's stdout/stderr pass through pipes to ours and into `log_fd`
  inherit, // the CLI writes to our descriptors (a terminal, or the supervisor's log)
};

struct SessionOptions {
  Output output = Output::tee;
  int log_fd = -1;        // Output::tee: where the copy goes; -1 = none
  bool own_group = true;  // the CLI in its own process group (not for a terminal session: the
                          // CLI must stay in the terminal's foreground group to read it)
  // Called on the second signal, or when the command has not ended `grace` after the first (a
  // PID 1 or command that ignores it): removes the container by force. `why` says which.
  std::function<void(const std::string& why)> force;
  // 0: no escalation, only a second signal forces.
  std::chrono::milliseconds grace{0};
  // Called once the CLI runs: work that need not delay the container (the history record)
  // overlaps with the CLI's own start-up.
  std::function<void()> on_started;
};

// Runs `command` (argv and extra environment on top of `env`) and waits for it, relaying
// SIGINT, SIGTERM, SIGHUP and SIGQUIT. Errors: the CLI could not be started.
core::Result<SessionResult> run_session(const EngineCommand& command,
                                        const std::map<std::string, std::string>& env,
                                        const SessionOptions& options);

// Forks a supervisor: a new session with stdin from /dev/null and stdout/stderr into `log_fd`,
// which runs `make_command()` (made in the supervisor, which can name its own pid) with
// run_session, then `on_exit` (in the supervisor), and exits.
// Returns the supervisor's pid to the caller. Errors: fork failed.
core::Result<int> spawn_supervisor(const std::function<EngineCommand()>& make_command,
                                   const std::map<std::string, std::string>& env, int log_fd,
                                   const std::function<void(const SessionResult&)>& on_exit);

// "SIGINT" for 2; "signal 99" for unknown numbers.
std::string signal_name(int signal);

} // namespace furnace::run
