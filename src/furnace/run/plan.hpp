#pragma once
// plan_run: a run as a value. From the project's image, the options, the GPUs chosen and the
// host's facts, the container (argv, environment names with their values kept apart, mounts,
// labels, user, shm) and the history record it starts with. Pure: `--dry-run` prints it, and
// `lab`, `ide` and `export` render the same plan in their own shapes.

#include <furnace/core/error.hpp>
#include <furnace/history/store.hpp>
#include <furnace/image/ensure.hpp>
#include <furnace/run/command.hpp>
#include <furnace/run/container_spec.hpp>
#include <furnace/run/launcher.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace furnace::run {

// The GPUs a run gets (already locked for it by the caller).
struct GpuChoice {
  GpuMode mode = GpuMode::none;
  std::vector<unsigned> indices;
  std::vector<std::string> uuids;
  std::string driver;          // "" without a GPU
  std::string request = "none"; // what was asked: "all", "0,2", "auto:1"
};

// What a plan is made from besides the image and the options.
struct RunInputs {
  std::string here;            // where furnace was started (absolute): the working directory
  std::string name;            // the container's name
  std::string image;           // the image to run (the user layer's tag, or the project's)
  GpuChoice gpus;
  RunHost host;
  bool rootless = false;       // a rootless engine: no --user, no memlock
  std::string docker = "docker"; // the engine's CLI
  core::Env env;               // furnace's environment (proxies, TZ, -e KEY)
  std::int64_t now_ms = 0;
  std::string log_path;        // the run's log on the host
  std::string git_commit;      // "" when the project is no git repository
};

struct RunPlan {
  ContainerSpec spec;
  history::RunRecord record;         // as it is inserted when the run starts
  std::vector<std::string> warnings; // for the front end to say
  bool detach = false;
};

// Errors (usage: exit 2): a bad --shm-size, -e or -p value.
core::Result<RunPlan> plan_run(const image::BuiltImage& img, const RunOptions& options,
                               const RunInputs& in);

// The variables every run gets: proxies and the time zone from the host, unbuffered Python.
std::map<std::string, std::string> base_env(const core::Env& host, const std::string& timezone);

} // namespace furnace::run
