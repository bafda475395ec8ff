#include "gpu_probe.hpp"

#include <fmt/format.h>

namespace furnace::gpu {

std::string Gpu::compute_capability() const {
  return fmt::format("{}.{}", cc_major, cc_minor);
}

std::string Gpu::sm() const {
  return fmt::format("sm_{}{}", cc_major, cc_minor);
}

std::string compute_mode_name(ComputeMode mode) {
  switch (mode) {
  case ComputeMode::shared:
    return "default";
  case ComputeMode::exclusive_thread:
    return "exclusive_thread";
  case ComputeMode::prohibited:
    return "prohibited";
  case ComputeMode::exclusive_process:
    return "exclusive_process";
  }
  return "default";
}

std::string cuda_version_string(int v) {
  if (v <= 0) {
    return "";
  }
  return fmt::format("{}.{}", v / 1000, (v % 1000) / 10);
}

std::string GpuInfo::cuda_version() const {
  return cuda_version_string(cuda_driver_version);
}

} // namespace furnace::gpu
