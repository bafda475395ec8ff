#pragma once
// furnace setup: the host half of the recipe (engine, docker group, registry mirror, NVIDIA
// runtime in daemon.json), done idempotently, atomically, backed up, applied with the least
// disruption and rolled back when the engine does not come back.

#include <furnace/core/context.hpp>
#include <furnace/host/daemon_json.hpp>

#include <string>
#include <vector>

namespace furnace::setup {

struct SetupOptions {
  std::vector<std::string> mirrors;
  std::vector<std::string> insecure_registries;
  bool allow_insecure = false;
  bool live_restore = false;
  bool nvidia_runtime = false;
  bool nvidia_default = false; // --default (with --nvidia-runtime)
  bool log_rotation = false;
  std::vector<std::string> add_users;
  bool yes = false;     // no question for the daemon.json change and a reload
  bool force = false;   // also restart with running containers
  bool dry_run = false; // print the plan only
  std::string root = "/";
  std::size_t keep_backups = 5;
};

// Runs the command; returns the exit code (0 done or nothing to change, 1 refused or failed,
// 2 bad options). Test hooks from `ctx.env`: FURNACE_TEST_CRASH_AT (after-temp-write,
// after-rename: SIGKILL there), FURNACE_TEST_INJECT_KEY (an extra key written after validation,
// to make dockerd fail).
int run_setup(core::Context& ctx, const SetupOptions& options);

// A line diff of `before` and `after` ("-"/"+"/" " prefixes), for the plan.
std::string diff_lines(const std::string& before, const std::string& after);

} // namespace furnace::setup
