#pragma once
// The no-op `furnace build` without reading the project again. After a full no-op, a small file
// under <cache dir>/furnace/noop/ records what the tag was computed from: a stat() line for every
// file and directory the full path read (furnace.yaml, the directories it listed, the dependency
// files and what they include, the user config, furnace.lock, the furnace binary itself) and what
// the GPU probe said. A later build whose inputs all stat the same (and whose base image still has
// the recorded id, and whose tag is still there) is the same no-op: it skips the resolver, the
// renderer and the hash. Any difference, or a missing or unreadable file, takes the full path.

#include <furnace/core/context.hpp>
#include <furnace/gpu/gpu_probe.hpp>

#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace furnace::image {

struct NoopEntry {
  std::string root; // the project directory, as load_project names it
  std::vector<std::pair<std::string, std::string>> inputs; // path -> stat_line(path)
  std::string gpu;                                         // gpu_fingerprint() of the probe
  std::string user_config; // its path: another $XDG_CONFIG_HOME is another input
  std::string tag;
  std::string project_name;
  bool has_yaml = false;  // the project has a furnace.yaml
  std::string spec_hash;  // sha256 of furnace.yaml's text
  std::string base_image; // the FROM image
  std::string base_id;    // its id when the tag was computed
  std::string plan_json;
  std::vector<std::string> warnings; // what the full path warned about, in order
  std::vector<std::string> notes;    // the renderer's notes (said unless called by `furnace run`)
};

// <cache dir>/noop/<first 16 hex digits of sha256(root)>.json.
std::string noop_entry_path(const core::Env& env, const std::string& root);

// How `path` looks to stat() (following links): "f|d|o dev ino size mtime ctime" with
// nanoseconds, "missing" or "error N". Equal lines: the same file, unchanged.
std::string stat_line(const std::string& path);

// What of the probe's answer a plan can depend on (source, driver, CUDA version, each GPU's
// name, uuid, compute capability and memory size; or the error), as one line.
std::string gpu_fingerprint(const core::Result<gpu::GpuInfo>& probed);

// The files and directories the full path reads for the project at `root`: the directories the
// project walk lists, the files the spec parser reads (includes too), furnace.yaml, `conda_file`
// (furnace.yaml's `conda`, "" when none), `user_config`, furnace.lock and the running binary.
// Sorted, without duplicates.
std::vector<std::string>
noop_inputs(const std::string& root, const std::string& conda_file, const std::string& user_config);

// The entry at `path`; nullopt when there is none or it does not parse (it is only a cache).
std::optional<NoopEntry> read_noop_entry(const std::string& path);

// Whether every input of `entry` stats as recorded and the probe said `gpu` then too.
bool noop_entry_matches(const NoopEntry& entry, const std::string& gpu);

// The coarse wall clock, the one the kernel stamps files with: read it before reading inputs.
timespec coarse_now();

// Stats `inputs` into `entry` and writes it to `path` atomically, unless an input changed at or
// after `started` (a change in the same clock tick as the read could be missed by the next stat;
// on a filesystem whose times are coarse or not from this host's clock, 2 s before). Returns
// whether it was written; a failure to write is no error (the next no-op takes the full path).
bool write_noop_entry(const std::string& path,
                      NoopEntry entry,
                      const std::vector<std::string>& inputs,
                      timespec started);

} // namespace furnace::image
