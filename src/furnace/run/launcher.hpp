#pragma once
// Launcher: where `furnace run` touches this process and this host. It reads the facts a run's
// plan depends on (terminals, memory, the engine's capabilities, the time zone, the host name,
// the invoking user), tells the time, and starts the engine's CLI, in the foreground (a session
// relaying signals) or under a supervisor (detached runs). SystemLauncher forks and reads /proc;
// tests give run_run a fake (tests/support/fake_runner.hpp) and assert on what it was asked.

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/run/container_spec.hpp>
#include <furnace/run/session.hpp>
#include <furnace/util/clock.hpp>

#include <functional>
#include <optional>
#include <string>

namespace furnace::run {

// What a run's plan needs to know about this host and this process, read once per run.
struct RunHost {
  bool stdin_tty = false;
  bool stdout_tty = false;
  bool stdin_data = false;          // stdin is a pipe or a file: its data goes in (-i)
  unsigned long long memory_bytes = 0; // MemTotal, for the default /dev/shm size
  bool engine_can_unlock_memory = true; // --ulimit memlock=-1 is possible
  // CAP_SYS_RESOURCE is in this host's bounding set: a root engine here may raise rlimits (not in
  // a container that dropped it, where every --ulimit above the hard limit fails).
  bool can_raise_limits = true;
  std::string timezone;             // /etc/timezone, "" when none
  std::string host_name;
  int pid = 0;                      // this furnace process (the label the leftovers check reads)
  std::string pid_start;            // its start time (/proc/PID/stat field 22), against pid reuse
  std::optional<HostUser> user;     // the invoking user; nullopt: plain root
};

class Launcher {
public:
  virtual ~Launcher() = default;
  virtual RunHost facts(const core::Env& env) = 0;
  virtual const util::Clock& clock() const = 0;
  // Runs `command` in the foreground and waits for it (see run_session).
  virtual core::Result<SessionResult> session(const EngineCommand& command, const core::Env& env,
                                              const SessionOptions& options) = 0;
  // Starts a supervisor for a detached run (see spawn_supervisor); returns its pid.
  virtual core::Result<int> supervise(const std::function<EngineCommand()>& make_command,
                                      const core::Env& env, int log_fd,
                                      const std::function<void(const SessionResult&)>& on_exit) = 0;
  // Whether the supervisor `pid` has ended; `block` waits until it has.
  virtual bool reap(int pid, bool block) = 0;
};

class SystemLauncher final : public Launcher {
public:
  RunHost facts(const core::Env& env) override;
  const util::Clock& clock() const override { return util::system_clock(); }
  core::Result<SessionResult> session(const EngineCommand& command, const core::Env& env,
                                      const SessionOptions& options) override;
  core::Result<int> supervise(const std::function<EngineCommand()>& make_command,
                              const core::Env& env, int log_fd,
                              const std::function<void(const SessionResult&)>& on_exit) override;
  bool reap(int pid, bool block) override;
};

} // namespace furnace::run
