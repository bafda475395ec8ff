#pragma once
// GpuProbe: what the NVIDIA driver on a host reports — driver version, the newest CUDA it
// supports, each GPU with its compute capability, memory and processes. A host without a GPU is
// a normal answer (an empty list from a probe that found no driver is reported as an error of
// kind not_found, which callers treat as "CPU-only host").

#include <furnace/core/error.hpp>

#include <optional>
#include <string>
#include <vector>

namespace furnace::gpu {

struct GpuProcess {
  unsigned pid = 0;
  unsigned long long used_memory = 0; // bytes; 0 when the driver does not say
  std::string user;                   // owner of the process on this host, "" when unknown
  std::string command;                // short name from /proc, "" when unknown
};

// Who may create CUDA contexts on a GPU (NVML's nvmlComputeMode_t, in its order).
enum class ComputeMode {
  shared,            // NVML "Default": any number of processes
  exclusive_thread,  // deprecated; treated like exclusive_process
  prohibited,        // no process at all
  exclusive_process, // one process at a time
};

// "default", "exclusive_thread", "prohibited", "exclusive_process" (doctor --json).
std::string compute_mode_name(ComputeMode mode);

struct Gpu {
  unsigned index = 0;
  std::string name; // "NVIDIA H200"
  std::string uuid; // "GPU-…"
  int cc_major = 0; // compute capability 9.0 -> 9, 0
  int cc_minor = 0;
  unsigned long long memory_total = 0; // bytes
  unsigned long long memory_used = 0;  // bytes
  std::vector<GpuProcess> processes;
  ComputeMode compute_mode = ComputeMode::shared;

  std::string compute_capability() const; // "9.0"
  std::string sm() const;                 // "sm_90"
  // EXCLUSIVE_PROCESS (or the old EXCLUSIVE_THREAD): a second process cannot use it.
  bool exclusive() const {
    return compute_mode == ComputeMode::exclusive_process ||
           compute_mode == ComputeMode::exclusive_thread;
  }
};

struct GpuInfo {
  std::string source;          // "nvml" or "nvidia-smi"
  std::string driver_version;  // "550.54.15"
  int cuda_driver_version = 0; // NVML encoding: 12040 for CUDA 12.4; 0 when unknown
  std::vector<Gpu> gpus;

  std::string cuda_version() const; // "12.4", "" when unknown
};

class GpuProbe {
public:
  virtual ~GpuProbe() = default;
  // Queries the driver. Errors: not_found when no NVIDIA driver is installed (no library, no
  // nvidia-smi); unavailable when one is installed but not working (module not loaded, …).
  virtual core::Result<GpuInfo> probe() = 0;
};

// Asks `probe` once and gives every later caller the same answer: one NVML query per process,
// however many steps (no-op check, resolver, GPU choice) want it.
class MemoProbe final : public GpuProbe {
public:
  explicit MemoProbe(GpuProbe& probe) : m_probe(probe) {}
  core::Result<GpuInfo> probe() override {
    if (!m_result) {
      m_result = m_probe.probe();
    }
    return *m_result;
  }

private:
  GpuProbe& m_probe;
  std::optional<core::Result<GpuInfo>> m_result;
};

// "12.4" from 12040.
std::string cuda_version_string(int nvml_cuda_version);

} // namespace furnace::gpu
