#include "fake_runner.hpp"

#include <unistd.h>

namespace furnace::testing {

util::Expected<util::ProcessOutput, util::SysError>
FakeRunner::run(const std::vector<std::string>& argv, const util::ProcessOptions& options) {
  calls.push_back(util::shell_join(argv));
  if (not_found) {
    return util::Unexpected<util::SysError>(*not_found);
  }
  const std::string args =
      argv.size() > 1 ? util::shell_join(std::vector<std::string>(argv.begin() + 1, argv.end()))
                      : std::string();
  const Answer* answer = &fallback;
  for (auto it = m_rules.rbegin(); it != m_rules.rend(); ++it) {
    if (args.starts_with(it->first)) {
      answer = &it->second;
      break;
    }
  }
  util::ProcessOutput out;
  out.status.code = answer->code;
  if (options.on_output) {
    options.on_output(answer->out + answer->err);
  } else {
    out.out = answer->out;
    out.err = answer->err;
  }
  return out;
}

FakeLauncher::FakeLauncher() {
  host.host_name = "testhost";
  host.pid = 4242;
  host.memory_bytes = 32ULL << 30U;
}

run::RunHost FakeLauncher::facts(const core::Env& /*env*/) {
  return host;
}

core::Result<run::SessionResult> FakeLauncher::session(const run::EngineCommand& command,
                                                       const core::Env& /*env*/,
                                                       const run::SessionOptions& options) {
  commands.push_back(command);
  if (cannot_start) {
    return core::fail(*cannot_start);
  }
  if (on_start) {
    on_start(command);
  }
  if (options.on_started) {
    options.on_started();
  }
  const std::string line = "output of " + command.argv.back() + "\n";
  if (options.log_fd >= 0) {
    (void)!::write(options.log_fd, line.data(), line.size());
  }
  output_log.push_back(line);
  if (signals > 1) {
    ++forced;
    if (options.force) {
      options.force("a second signal");
    }
  }
  return result;
}

core::Result<int> FakeLauncher::supervise(const std::function<run::EngineCommand()>& make_command,
                                          const core::Env& /*env*/, int /*log_fd*/,
                                          const std::function<void(const run::SessionResult&)>& on_exit) {
  const run::EngineCommand command = make_command();
  commands.push_back(command);
  if (cannot_start) {
    return core::fail(*cannot_start);
  }
  if (on_start) {
    on_start(command);
  }
  m_pending_exit = [on_exit, r = result] { on_exit(r); };
  return 4343;
}

void FakeLauncher::end_supervised() {
  if (m_pending_exit) {
    auto exit = std::move(m_pending_exit);
    m_pending_exit = nullptr;
    exit();
  }
}

} // namespace furnace::testing
