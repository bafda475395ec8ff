#pragma once
// FakeGpuProbe: answers with a GpuInfo or an error the test sets, and counts probes.

#include <furnace/gpu/gpu_probe.hpp>

#include <optional>

namespace furnace::testing {

class FakeGpuProbe final : public gpu::GpuProbe {
public:
  core::Result<gpu::GpuInfo> probe() override {
    ++probes;
    if (error) {
      return core::fail(*error);
    }
    return info;
  }
  gpu::GpuInfo info;
  std::optional<core::Error> error;
  int probes = 0;

  static gpu::GpuInfo one_h200() {
    gpu::GpuInfo i;
    i.source = "nvml";
    i.driver_version = "550.54.15";
    i.cuda_driver_version = 12040;
    gpu::Gpu g;
    g.name = "NVIDIA H200";
    g.uuid = "GPU-66666666";
    g.cc_major = 9;
    g.memory_total = 143771ULL << 20;
    i.gpus.push_back(g);
    return i;
  }
};

} // namespace furnace::testing
