#pragma once
// `furnace run`, `shell`, `ps`, `logs`, `stop` and `rerun`: the project's code in its environment,
// as the invoking user, on the GPUs asked for, recorded in the run history.

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/history/command.hpp>
#include <furnace/run/launcher.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace furnace::run {

struct RunPlan;
struct RunOutcome;

struct RunOptions {
  std::string path = ".";            // where furnace was started (the project is found upward)
  std::vector<std::string> command;  // empty: furnace.yaml's command, else a shell
  std::string gpus;                  // "" = furnace.yaml's gpus, else all
  std::vector<std::string> env;      // -e KEY[=VALUE]
  std::vector<std::string> ports;    // -p [ADDR:]HOST:CONTAINER
  std::vector<std::string> volumes;  // -v HOST:CONTAINER[:ro] (run/volume.hpp)
  std::string shm_size;              // "" = furnace.yaml's shm, else the default rule
  std::string ipc;                   // "host": the host's IPC namespace; "" / "private": our own
  std::string network;
  std::string memory;     // --memory; "" = furnace.yaml's, else the host's default
  std::string cpus;       // --cpus; likewise
  std::string pids_limit; // --pids-limit; likewise
  bool proxy_env = false; // forward proxy variables even when they carry credentials
  bool detach = false;
  bool dry_run = false;
  bool clean = false;                // remove leftovers of killed runs without asking
  bool shell = false;                // `furnace shell`: a shell even when furnace.yaml has a command
  std::string image;                 // rerun: this image id instead of building
  bool locked = false;               // build with --locked (rerun of a project with furnace.lock)
  std::string expect_image;          // rerun after its image was gone: the recorded image id
  // Front ends over run (`furnace lab`, run/lab.hpp): `adjust` changes the final plan before it
  // is printed (--dry-run) or run (mounts, labels, variables); `report` says how it started or
  // ended instead of run's own words and returns the exit code.
  std::function<core::Result<void>(RunPlan&)> adjust;
  std::function<int(const RunPlan&, const RunOutcome&)> report;
  std::string gui;                   // --gui[=x11|gl|none]; "" = furnace.yaml's gui (docs/gui.md)
};

// Exit code: the command's, 125 when furnace or the engine failed before it started (126/127 from
// the engine when the command cannot be run), 2 for a bad option, 0 for a started detached run.
// `launcher` starts the engine's CLI and reads the host's facts (SystemLauncher in production).
int run_run(core::Context& ctx, const RunOptions& options, engine::Engine& engine,
            gpu::GpuProbe& probe, Launcher& launcher);

struct ShellAttachOptions {
  std::string path = ".";
};
// `furnace shell --attach`: a shell in the project's running container (docker exec).
int run_shell_attach(core::Context& ctx, const ShellAttachOptions& options, engine::Engine& engine);

struct PsOptions {
  bool json = false;
};
int run_ps(core::Context& ctx, const PsOptions& options, engine::Engine& engine);

struct LogsOptions {
  std::string run; // id, container name or a unique prefix
  bool follow = false;
};
int run_logs(core::Context& ctx, const LogsOptions& options, engine::Engine& engine);

struct StopOptions {
  std::vector<std::string> runs;
  int grace_seconds = 10;
};
int run_stop(core::Context& ctx, const StopOptions& options, engine::Engine& engine);

struct RerunOptions {
  std::string run;
  bool dry_run = false;
  bool detach = false;
};
int run_rerun(core::Context& ctx, const RerunOptions& options, engine::Engine& engine,
              gpu::GpuProbe& probe, Launcher& launcher);

// `furnace show RUN`: the recorded run (history::run_show) with its image's facts from the verify
// cache (image::read_cached_facts; no container runs): "python", "framework" and "arch list"
// lines, and `image_facts` in the JSON (null when nothing is cached for the image).
int run_show(core::Context& ctx, const history::ShowOptions& options);

} // namespace furnace::run
