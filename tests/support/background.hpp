#pragma once
// A process in the background for integration tests (a furnace run to signal, a service to
// start): its stdout and stderr in a file, stdin from /dev/null.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace furnace::testing {

struct SpawnOptions {
  bool own_group = false;              // setpgid(0, 0): signals to the test's group miss it
  bool die_with_parent = false;        // PR_SET_PDEATHSIG SIGKILL: never outlives the test
  std::optional<uid_t> output_owner;   // chown of the output file (a suite owned by a test user)
};

struct Background {
  pid_t pid = -1;
  std::string out_file;

  // The exit code (128+n for a signal); -1 after `limit`, when the process is killed.
  int wait(std::chrono::seconds limit) const;
  std::string output() const;
};

// Starts `argv` (PATH searched) with exactly `env` ("KEY=VALUE" entries).
Background spawn_background(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env,
                            const std::string& out_file,
                            const SpawnOptions& options = {});

} // namespace furnace::testing
