#pragma once
// The GpuProbe main() uses: NVML first, nvidia-smi when NVML cannot be loaded.
// FURNACE_NVML_LIBRARY overrides the library (tests point it at a fake).

#include <furnace/core/context.hpp>
#include <furnace/gpu/gpu_probe.hpp>

#include <memory>

namespace furnace::gpu {

std::unique_ptr<GpuProbe> make_probe(const core::Context& ctx);

} // namespace furnace::gpu
