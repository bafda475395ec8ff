#include "probe_factory.hpp"

#include <furnace/gpu/nvidia_smi_probe.hpp>
#include <furnace/gpu/nvml_probe.hpp>

namespace furnace::gpu {
namespace {

class FallbackProbe final : public GpuProbe {
public:
  FallbackProbe(std::unique_ptr<GpuProbe> first, std::unique_ptr<GpuProbe> second)
      : m_first(std::move(first)), m_second(std::move(second)) {}

  core::Result<GpuInfo> probe() override {
    auto a = m_first->probe();
    if (a || a.error().kind != core::ErrorKind::not_found) {
      return a;
    }
    auto b = m_second->probe();
    if (b || b.error().kind != core::ErrorKind::not_found) {
      return b;
    }
    return a; // neither found a driver: NVML's message says what was looked for
  }

private:
  std::unique_ptr<GpuProbe> m_first;
  std::unique_ptr<GpuProbe> m_second;
};

} // namespace

std::unique_ptr<GpuProbe> make_probe(const core::Context& ctx) {
  const std::string library = ctx.getenv("FURNACE_NVML_LIBRARY").value_or("libnvidia-ml.so.1");
  const std::string proc_root = ctx.host_root == "/" ? "/proc" : ctx.host_root + "/proc";
  return std::make_unique<FallbackProbe>(
      std::make_unique<NvmlProbe>(library, proc_root),
      std::make_unique<NvidiaSmiProbe>(
          ctx.runner, ctx.getenv("PATH").value_or("/usr/bin:/bin"), proc_root));
}

} // namespace furnace::gpu
