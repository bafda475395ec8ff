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
#include <furnace/run/gui.hpp>
#include <furnace/run/launcher.hpp>
#include <furnace/run/limits.hpp>

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
  bool podman = false;         // the engine is Podman (docs/podman.md)
  std::string docker = "docker"; // the engine's CLI
  core::Env env;               // furnace's environment (proxies, TZ, -e KEY)
  std::int64_t now_ms = 0;
  std::string log_path;        // the run's log on the host
  std::string git_commit;      // "" when the project is no git repository
  HostLimits host_limits;      // the admin's defaults and caps (/etc/furnace/config.yaml)
  std::vector<Mount> mounts;   // -v and the datasets, after the project's (run/volume.hpp)
  std::optional<GuiHost> gui;  // --gui: what prepare_gui made on the host (run/gui.hpp)
};

struct RunPlan {
  ContainerSpec spec;
  history::RunRecord record;         // as it is inserted when the run starts
  std::vector<std::string> warnings; // for the front end to say
  bool detach = false;
};

// Errors (usage: exit 2): a bad --shm-size, -e, -p, --memory, --cpus or --pids-limit value; a
// limit over the host's cap; a /dev/shm larger than the memory limit; a value for the env file
// that cannot be one line (check_env_file_value); a host path with a control character.
core::Result<RunPlan> plan_run(const image::BuiltImage& img, const RunOptions& options,
                               const RunInputs& in);

// The variables every run gets: proxies and the time zone from the host, unbuffered Python.
// A proxy variable whose URL carries credentials (`http://user:pass@proxy:3128`) is left out
// unless `proxy_env`; its name goes into `withheld` then.
struct BaseEnv {
  std::map<std::string, std::string> env;
  std::vector<std::string> withheld;
};
BaseEnv base_env(const core::Env& host, const std::string& timezone, bool proxy_env);

// Whether a proxy variable's value holds credentials: a URL with user information
// ("http://user:pass@host", "user@host:3128"), in any entry of a comma-separated list.
bool proxy_has_credentials(std::string_view value);

// Refuses a project root that would mount too much read-write: `/` itself, or the caller's
// home directory (`home`, compared after resolving symlinks); and any host path with a control
// character (`here` is where furnace was started). Errors (invalid) say what to do instead.
core::Result<void>
check_project_root(const std::string& root, const std::string& here, const std::string& home);

} // namespace furnace::run
