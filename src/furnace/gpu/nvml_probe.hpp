#pragma once
// NvmlProbe: GpuProbe through the driver's NVML library, loaded with dlopen at probe time so
// furnace runs (and says "no GPU") on hosts without the driver. The library path can be
// overridden, which is how the tests load a fake libnvidia-ml.so.

#include <furnace/gpu/gpu_probe.hpp>

#include <string>

namespace furnace::gpu {

class NvmlProbe final : public GpuProbe {
public:
  // `library`: a name for the dynamic loader ("libnvidia-ml.so.1") or a path.
  // `proc_root`: where /proc is, for naming the owners of GPU processes.
  explicit NvmlProbe(std::string library, std::string proc_root = "/proc")
      : m_library(std::move(library)), m_proc_root(std::move(proc_root)) {}
  core::Result<GpuInfo> probe() override;

private:
  std::string m_library;
  std::string m_proc_root;
};

// NVML's nvmlComputeMode_t value (0 default, 1 exclusive thread, 2 prohibited, 3 exclusive
// process); an unknown value counts as the default.
ComputeMode compute_mode_from_nvml(int mode);

// Fills user and command of a process from /proc/<pid>/status and /proc/<pid>/comm.
void describe_process(GpuProcess& p, const std::string& proc_root);

} // namespace furnace::gpu
