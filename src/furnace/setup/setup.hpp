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
  bool install_engine = false; // no engine answers: install docker.io / start and enable it
  bool yes = false;            // no question for the daemon.json change and a reload (never for the
                               // engine install or for adding $SUDO_USER to the docker group)
  bool force = false;          // also restart with running containers
  bool dry_run = false;        // print the plan only
  std::string root = "/";
  std::size_t keep_backups = 5;
};

// Runs the command; returns the exit code (0 done or nothing to change, 1 refused or failed,
// 2 bad options or a consent that was not given). Test builds read fault hooks from `ctx.env`
// (setup/test_hooks.hpp).
int run_setup(core::Context& ctx, const SetupOptions& options);

// A line diff of `before` and `after` ("-"/"+"/" " prefixes), for the plan.
std::string diff_lines(const std::string& before, const std::string& after);

} // namespace furnace::setup
