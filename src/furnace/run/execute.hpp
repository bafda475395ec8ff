#pragma once
// execute: a planned run, carried out. The container runs through the Launcher (in the
// foreground, or under a supervisor when detached), its start and end go into the history, the
// container is gone and the GPUs are released afterwards whatever happened, and the outcome comes
// back for the front end to report.

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/gpu/gpu_lock.hpp>
#include <furnace/run/launcher.hpp>
#include <furnace/run/plan.hpp>
#include <furnace/run/support.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace furnace::run {

// The GPU locks a run holds (none in a dry run or without GPUs); execute releases them, or moves
// them into a detached run's supervisor.
struct GpuLease {
  std::optional<gpu::GpuLocks> locks;
  gpu::LockOwner owner;
  std::vector<std::string> uuids;
};

struct RunOutcome {
  int exit_code = 0;  // the command's; 125 when it did not start (126/127 from the engine)
  int signal = 0;     // the first signal furnace relayed to it; 0 when none
  bool oom_killed = false; // killed for memory (the engine's OOMKilled; exit 137)
  // A detached run that did not start: why (a foreground run has said it as it happened).
  std::optional<core::Error> error;
  // Detached runs: the container's id once it runs (or ran: `finished` when it was over with
  // exit 0 before furnace looked).
  std::string container_id;
  bool finished = false;
};

// After a run's CLI has exited: what became of its container. The usual end costs one engine
// call (the exited container is removed). When the engine went away (a restart: the CLI lost its
// connection), it waits for the engine ($FURNACE_ENGINE_WAIT s, 60 by default), then tells a
// container the engine kept (live-restore: `attach` runs `docker attach` and the loop settles
// that end) from one that ended with the engine (an error: exit 125, the container's exit code
// recorded). A container that still runs after a signal furnace relayed is stopped; after a second
// signal it is removed by force.
struct Settled {
  SessionResult recorded;           // the end to record (the command's, or the container's)
  int exit_code = 0;                // furnace's exit code
  bool left = false;                // it may still run, left to the engine: no recorded end, the
                                    // GPU locks stay
  std::optional<core::Error> error; // to say (the engine restarted, did not come back)
};
struct SettleHooks {
  std::function<void(const std::string&)> warn;
  // Attaches to the container again and waits (a session relaying signals); none: leave it.
  std::function<core::Result<SessionResult>(const EngineCommand&)> attach;
};
Settled settle_container(engine::Engine& engine,
                         const ContainerSpec& spec,
                         SessionResult result,
                         const core::Env& env,
                         const SettleHooks& hooks);

// `docker attach --sig-proxy=true [--no-stdin] NAME` (stdin only for a terminal session).
EngineCommand docker_attach_command(const ContainerSpec& spec);

// Runs `plan` (its record gets its id). `store` is the history, opened lazily.
RunOutcome execute(core::Context& ctx, RunPlan& plan, engine::Engine& engine, Launcher& launcher,
                   LazyHistory& store, GpuLease& gpus);

} // namespace furnace::run
