#pragma once
// Running other programs: an argv vector in (never a shell string), exit status and output out.
// ProcessRunner is the seam; DryRunRunner prints the quoted argv instead of running it.

#include <furnace/util/expected.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::util {

struct SysError {
  std::string message; // "cannot run nvidia-smi: No such file or directory"
  int error_number = 0;
};

struct ExitStatus {
  int code = -1;  // exit code when the process exited
  int signal = 0; // the signal that ended it, otherwise 0
  bool timed_out = false;
  bool ok() const { return signal == 0 && code == 0 && !timed_out; }
};

struct ProcessOutput {
  ExitStatus status;
  std::string out;
  std::string err;
};

struct ProcessOptions {
  std::chrono::milliseconds timeout{0}; // 0: no limit; otherwise SIGKILL when it runs over
  std::optional<std::map<std::string, std::string>> env; // replaces the environment when set
  bool capture = true; // false: the child inherits stdout and stderr
  // With capture off: the child's stdout goes to our stderr, keeping our stdout for results
  // (a legacy `docker build` prints its progress on stdout).
  bool stdout_to_stderr = false;
  // With capture on: the child's stdout and stderr share one pipe (their order kept) and each
  // chunk goes to `on_output` as it arrives, not into ProcessOutput's `out`/`err`. A long build
  // streams to the terminal and into its log this way.
  std::function<void(std::string_view chunk)> on_output;
};

class ProcessRunner {
public:
  virtual ~ProcessRunner() = default;
  // Runs `argv` (argv[0] is looked up in PATH) and waits for it. Fails only when the program
  // cannot be started; a non-zero exit is a successful run with that status.
  virtual Expected<ProcessOutput, SysError> run(const std::vector<std::string>& argv,
                                                const ProcessOptions& options) = 0;
};

class SystemRunner final : public ProcessRunner {
public:
  Expected<ProcessOutput, SysError> run(const std::vector<std::string>& argv,
                                        const ProcessOptions& options) override;
};

// Prints each command, shell-quoted, to `out` and reports success without running anything.
class DryRunRunner final : public ProcessRunner {
public:
  explicit DryRunRunner(std::ostream& out) : m_out(out) {}
  Expected<ProcessOutput, SysError> run(const std::vector<std::string>& argv,
                                        const ProcessOptions& options) override;

private:
  std::ostream& m_out;
};

// Quotes `arg` for a POSIX shell only when it needs it.
std::string shell_quote(const std::string& arg);
std::string shell_join(const std::vector<std::string>& argv);

// The full path of `name` in the colon-separated `path_var`, if an executable file is there.
std::optional<std::string> find_in_path(const std::string& name, const std::string& path_var);

} // namespace furnace::util
