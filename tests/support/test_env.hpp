#pragma once
// Helpers shared by the tests: a temp directory per test (kept and printed on failure), running
// the built furnace binary, the fake NVML library, and the engine probe for integration tests.

#include <furnace/core/context.hpp>
#include <furnace/util/process.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace furnace::testing {

class TempDir {
public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return m_path; }
  // Writes `content` to path()/rel (parents created) and returns the full path.
  std::string write(const std::string& rel, const std::string& content, int mode = 0644) const;

private:
  std::string m_path;
};

// The environment of this test process, as a map.
core::Env process_env();

// process_env() with `changes` applied: entries are added, a key "-NAME" removes NAME.
core::Env changed_env(const std::map<std::string, std::string>& changes);

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the built furnace with `args`; `env` entries are added to (or, with an empty value
// under the key "-NAME", removed from) this process's environment.
Run run_furnace(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {},
                const std::vector<std::string>& prefix = {});

// `argv` (PATH searched) with this process's environment changed by `env` (as changed_env), at
// most `timeout`; a command that cannot start has exit code -1 and the reason in `err`.
Run run_command(const std::vector<std::string>& argv,
                const std::map<std::string, std::string>& env,
                std::chrono::seconds timeout);

// Writes a fake NVML config and returns the env that makes furnace load the fake library.
std::map<std::string, std::string> fake_nvml_env(const TempDir& dir, const std::string& json);

// Eight GPUs of different generations, for the fake NVML.
std::string eight_mixed_gpus_json();

// True when an engine answers at DOCKER_HOST (or the default socket).
// `script` under /bin/sh -c, at most `timeout_s` seconds (an empty result when it cannot start).
util::ProcessOutput sh(const std::string& script, int timeout_s = 120);

// A whole file ("" when it cannot be read).
std::string read_text(const std::string& path);

// Polls `cond` every 100 ms until it holds (true) or `limit` passes (false).
bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit);

bool engine_available();

} // namespace furnace::testing

// Integration tests: skip without an engine on a developer's machine, fail under CI=true.
#define FURNACE_REQUIRE_ENGINE()                                                                   \
  do {                                                                                             \
    if (!::furnace::testing::engine_available()) {                                                 \
      const char* ci = std::getenv("CI"); /* NOLINT */                                             \
      if (ci != nullptr && std::string(ci) == "true") {                                            \
        FAIL() << "no engine at $DOCKER_HOST and CI=true: run 'scripts/test-engine.sh up'";        \
      }                                                                                            \
      GTEST_SKIP() << "no engine at $DOCKER_HOST (run 'scripts/test-engine.sh up')";               \
    }                                                                                              \
  } while (0)

// A prerequisite other than the engine: a developer's machine without it skips the test with
// `why`; under CI=true the test fails instead (a check that quietly does not run is no check).
#define FURNACE_REQUIRE(cond, why)                                                                 \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      const char* ci = std::getenv("CI"); /* NOLINT */                                             \
      if (ci != nullptr && std::string(ci) == "true") {                                            \
        FAIL() << "CI=true and a prerequisite is missing: " << why;                                \
      }                                                                                            \
      GTEST_SKIP() << why;                                                                         \
    }                                                                                              \
  } while (0)
