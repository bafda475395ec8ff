#pragma once
// NvidiaSmiProbe: GpuProbe through the `nvidia-smi` CLI, for hosts where NVML cannot be loaded
// by furnace but the tool works (odd library paths, containers with only the tool mounted).

#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/util/process.hpp>

#include <string>

namespace furnace::gpu {

class NvidiaSmiProbe final : public GpuProbe {
public:
  NvidiaSmiProbe(util::ProcessRunner& runner, std::string path_var, std::string proc_root = "/proc")
      : m_runner(runner), m_path(std::move(path_var)), m_proc_root(std::move(proc_root)) {}
  core::Result<GpuInfo> probe() override;

private:
  util::ProcessRunner& m_runner;
  std::string m_path;
  std::string m_proc_root;
};

// Parsers for nvidia-smi's output (pure, tested on recorded output).
// `--query-gpu=index,name,uuid,compute_cap,memory.total,memory.used,driver_version,compute_mode
//  --format=csv,noheader,nounits` (compute_mode optional: older output has 7 fields)
core::Result<GpuInfo> parse_query_gpu(const std::string& csv);
// "CUDA Version: 12.4" in the banner of a plain `nvidia-smi`; 0 when absent.
int parse_cuda_version_banner(const std::string& text);
// `--query-compute-apps=gpu_uuid,pid,used_memory --format=csv,noheader,nounits`, added to the
// matching GPUs.
void parse_compute_apps(const std::string& csv, GpuInfo& info);

} // namespace furnace::gpu
