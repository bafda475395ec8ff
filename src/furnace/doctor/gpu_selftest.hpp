#pragma once
// `furnace doctor --gpu-selftest` (diagnostic, hidden from --help): the NVML probe on its own,
// against the real driver, with what it sees and whether that is believable — sane values for
// every field (a wrong struct layout or symbol version shows as garbage), and the same GPUs as
// nvidia-smi reports when that tool is there. scripts/gpu-check.sh runs it on a lent GPU machine.

#include <furnace/core/context.hpp>
#include <furnace/gpu/gpu_probe.hpp>

#include <optional>
#include <string>
#include <vector>

namespace furnace::doctor {

struct SelftestItem {
  std::string name; // "nvml.load", "gpu0.memory", "smi.uuid"
  bool ok = false;
  std::string detail;
};

// The checks on what NVML answered (`nvml`) and, when nvidia-smi ran, what it answered (`smi`;
// nullopt when the tool is not installed). Pure.
std::vector<SelftestItem> selftest_items(const core::Result<gpu::GpuInfo>& nvml,
                                         const std::optional<core::Result<gpu::GpuInfo>>& smi);

// Runs the NVML probe (the library from FURNACE_NVML_LIBRARY, else libnvidia-ml.so.1) and
// nvidia-smi when on PATH, prints what NVML sees and each item (JSON with `json`); 0 when every
// item is ok, 1 otherwise.
int run_gpu_selftest(core::Context& ctx, bool json);

} // namespace furnace::doctor
