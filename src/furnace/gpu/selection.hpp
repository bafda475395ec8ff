#pragma once
// Which GPUs a run gets: the `--gpus` value (all, none, a list, auto[:N]) and the choice on a
// shared host, where `auto` takes the GPUs with the least memory in use that no other user's
// processes and no other run's lock (gpu_lock.hpp) occupy. Pure: the probe's GpuInfo and the
// live locks come in as arguments.

#include <furnace/core/error.hpp>
#include <furnace/gpu/gpu_probe.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::gpu {

struct GpuRequest {
  enum class Kind { all, none, list, automatic };
  Kind kind = Kind::all;
  std::vector<unsigned> indices; // Kind::list, in the user's order, no duplicates
  unsigned count = 1;            // Kind::automatic
  std::string text;              // as written, for messages and history ("auto:2")
};

// Parses "all", "none", "0", "0,2", "auto", "auto:2". Errors (kind invalid, exit 2) name the
// value and the valid forms: "--gpus 'auto:0': the count must be at least 1".
core::Result<GpuRequest> parse_gpu_request(std::string_view text);

struct Selection {
  std::vector<unsigned> indices;  // sorted
  std::vector<std::string> uuids; // same order ("" for a GPU the driver gave no UUID)
  // One line per GPU skipped (auto) or taken although busy (all, list), and why:
  // "GPU 1 (NVIDIA H200): in use by alice (python, 12.0 GiB)",
  // "GPU 3 (NVIDIA H200): locked by bob's run furnace-x-1 since 14:02".
  std::vector<std::string> notes;
};

// A lock on a GPU held by a live run. A claim names its GPU by UUID, or by index when the GPU
// has no UUID (`uuid` empty).
struct Claim {
  unsigned index = 0;
  std::string uuid;
  std::string owner_user;
  std::string run_name;
  std::int64_t since_ms = 0; // Unix time in milliseconds
};

// Which GPUs `request` gets on `info` for the user `me`, given the `claims` of other runs. A GPU
// no process of the run could use is never handed out: compute mode PROHIBITED, or
// EXCLUSIVE_PROCESS with a process on it (anyone's, the caller's too).
// - all: every other GPU (none on a host without GPUs); the left-out ones, locks and other
//   users' processes are noted. Error (unavailable) when every GPU is left out.
// - none: no GPU.
// - list: those GPUs, busy ones noted. Error (not_found) naming the index and the GPUs present
//   when an index does not exist; (unavailable) naming the GPU, its mode and its user when one
//   cannot be used.
// - automatic: the `count` GPUs without other users' processes and without another run's lock,
//   least memory in use first (ties: lower index); the skipped ones are noted. Error
//   (unavailable) when fewer are free: how many are, each busy GPU and why.
core::Result<Selection> choose(const GpuRequest& request,
                               const GpuInfo& info,
                               const std::string& me,
                               const std::vector<Claim>& claims);

// The value of docker's `--gpus` for these GPUs: "\"device=GPU-…,GPU-…\"" when every GPU has a
// UUID (`uuids` as long as `indices`), else "\"device=0,2\"". By UUID, the GPU locked (locks are
// by UUID) is the GPU the container sees, whatever order the container runtime numbers them in.
// The CLI reads --gpus as CSV: a list needs the quotes inside the value.
std::string docker_gpus_value(const std::vector<unsigned>& indices,
                              const std::vector<std::string>& uuids);

// "14:02": the local time of day of `since_ms`.
std::string clock_time(std::int64_t since_ms);

} // namespace furnace::gpu
