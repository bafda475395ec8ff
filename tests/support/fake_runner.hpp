#pragma once
// The process seams' fakes: FakeRunner (util::ProcessRunner) answers commands from rules and
// records each argv; FakeLauncher (run::Launcher) is the host and the engine CLI of `furnace run`:
// settable facts, a settable clock, sessions that end as the test says, recorded. Both are tested
// in tests/unit/support_fakes_test.cpp.

#include <furnace/run/launcher.hpp>
#include <furnace/util/clock.hpp>
#include <furnace/util/process.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace furnace::testing {

class FakeRunner final : public util::ProcessRunner {
public:
  struct Answer {
    int code = 0;
    std::string out;
    std::string err;
  };

  // A command whose arguments after argv[0], shell-joined, start with `prefix` gets `answer`;
  // the rule added last wins. Others get `fallback`.
  void on(std::string prefix, Answer answer) { m_rules.emplace_back(std::move(prefix), std::move(answer)); }

  util::Expected<util::ProcessOutput, util::SysError>
  run(const std::vector<std::string>& argv, const util::ProcessOptions& options) override;

  Answer fallback;                         // exit 0, no output, unless the test says otherwise
  std::optional<util::SysError> not_found; // set: no command can be started
  std::vector<std::string> calls;          // every argv, shell-joined, in order

private:
  std::vector<std::pair<std::string, Answer>> m_rules;
};

class FixedClock final : public util::Clock {
public:
  explicit FixedClock(std::int64_t ms) : now(ms) {}
  std::int64_t now_ms() const override { return now; }
  std::int64_t now;
};

class FakeLauncher final : public run::Launcher {
public:
  FakeLauncher();

  run::RunHost facts(const core::Env& env) override;
  const util::Clock& clock() const override { return time; }
  core::Result<run::SessionResult> session(const run::EngineCommand& command, const core::Env& env,
                                           const run::SessionOptions& options) override;
  core::Result<int> supervise(const std::function<run::EngineCommand()>& make_command,
                              const core::Env& env, int log_fd,
                              const std::function<void(const run::SessionResult&)>& on_exit) override;
  // The supervisor has ended once end_supervised() ran.
  bool reap(int /*pid*/, bool /*block*/) override { return !m_pending_exit; }
  // Ends the supervised run: its on_exit runs now (records the end, removes the container).
  void end_supervised();

  // What the test controls.
  run::RunHost host;                        // facts() answers it
  FixedClock time{1700000000000};
  run::SessionResult result;                // how every session ends
  std::optional<core::Error> cannot_start;  // set: the CLI cannot be started
  int signals = 0;                          // relay this many signals (a second one forces)
  std::function<void(const run::EngineCommand&)> on_start; // called as the "container" starts

  // What furnace asked.
  std::vector<run::EngineCommand> commands; // each session's (or supervisor's) command
  std::vector<std::string> output_log;      // what went into each session's log fd, in order
  int forced = 0;                           // how often the force callback ran

private:
  std::function<void()> m_pending_exit;
};

} // namespace furnace::testing
