#include "nvml_probe.hpp"

#include <fmt/format.h>

#include <dlfcn.h>
#include <pwd.h>

#include <array>
#include <fstream>
#include <sstream>

namespace furnace::gpu {
namespace {

// The slice of the NVML ABI furnace uses (types and values from the NVML API reference).
using nvmlReturn_t = int;
using nvmlDevice_t = void*;
constexpr nvmlReturn_t k_nvml_success = 0;
constexpr nvmlReturn_t k_nvml_error_no_permission = 4;
constexpr nvmlReturn_t k_nvml_error_insufficient_size = 7;
constexpr nvmlReturn_t k_nvml_error_driver_not_loaded = 9;
constexpr nvmlReturn_t k_nvml_error_lib_rm_version_mismatch = 18;
constexpr unsigned k_name_size = 96;
constexpr unsigned k_uuid_size = 96;
constexpr unsigned k_driver_size = 96;

struct NvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct NvmlProcessInfoV1 {
  unsigned int pid;
  unsigned long long used_gpu_memory;
};
struct NvmlProcessInfoV2 {
  unsigned int pid;
  unsigned long long used_gpu_memory;
  unsigned int gpu_instance_id;
  unsigned int compute_instance_id;
};

class Library {
public:
  explicit Library(const std::string& name)
      : m_handle(::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)) {}
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
  ~Library() {
    if (m_handle != nullptr) {
      ::dlclose(m_handle);
    }
  }
  bool loaded() const { return m_handle != nullptr; }
  template <class F> F symbol(const char* name) const {
    return reinterpret_cast<F>(::dlsym(m_handle, name));
  }

private:
  void* m_handle;
};

using InitFn = nvmlReturn_t (*)();
using ErrorStringFn = const char* (*)(nvmlReturn_t);
using DriverVersionFn = nvmlReturn_t (*)(char*, unsigned);
using CudaVersionFn = nvmlReturn_t (*)(int*);
using CountFn = nvmlReturn_t (*)(unsigned*);
using HandleFn = nvmlReturn_t (*)(unsigned, nvmlDevice_t*);
using StringFn = nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned);
using CcFn = nvmlReturn_t (*)(nvmlDevice_t, int*, int*);
using MemoryFn = nvmlReturn_t (*)(nvmlDevice_t, NvmlMemory*);
using ComputeModeFn = nvmlReturn_t (*)(nvmlDevice_t, int*);
using ProcsV2Fn = nvmlReturn_t (*)(nvmlDevice_t, unsigned*, NvmlProcessInfoV2*);
using ProcsV1Fn = nvmlReturn_t (*)(nvmlDevice_t, unsigned*, NvmlProcessInfoV1*);

template <class Info, class Fn> std::vector<GpuProcess> read_processes(Fn fn, nvmlDevice_t dev) {
  std::vector<GpuProcess> out;
  std::array<Info, 128> infos{};
  auto count = static_cast<unsigned>(infos.size());
  const nvmlReturn_t rc = fn(dev, &count, infos.data());
  if (rc != k_nvml_success && rc != k_nvml_error_insufficient_size) {
    return out;
  }
  for (unsigned i = 0; i < count && i < infos.size(); ++i) {
    GpuProcess p;
    p.pid = infos.at(i).pid;
    // NVML reports "not available" as ULLONG_MAX.
    p.used_memory = infos.at(i).used_gpu_memory == ~0ULL ? 0 : infos.at(i).used_gpu_memory;
    out.push_back(p);
  }
  return out;
}

} // namespace

ComputeMode compute_mode_from_nvml(int mode) {
  switch (mode) {
  case 1:
    return ComputeMode::exclusive_thread;
  case 2:
    return ComputeMode::prohibited;
  case 3:
    return ComputeMode::exclusive_process;
  default:
    return ComputeMode::shared;
  }
}

void describe_process(GpuProcess& p, const std::string& proc_root) {
  const std::string dir = fmt::format("{}/{}", proc_root, p.pid);
  std::ifstream comm(dir + "/comm");
  std::getline(comm, p.command);
  std::ifstream status(dir + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) == 0) {
      std::istringstream ss(line.substr(4));
      unsigned uid = 0;
      if (ss >> uid) {
        passwd pw{};
        passwd* found = nullptr;
        std::array<char, 4096> buf{};
        if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
          p.user = found->pw_name;
        } else {
          p.user = fmt::format("uid {}", uid);
        }
      }
      break;
    }
  }
}

core::Result<GpuInfo> NvmlProbe::probe() {
  const Library lib(m_library);
  if (!lib.loaded()) {
    const char* why = ::dlerror();
    std::string reason = why != nullptr ? why : "not found";
    if (reason.find("cannot open shared object file") != std::string::npos) {
      reason = "not found"; // dlerror repeats the name; say it once
    }
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("no NVIDIA driver: cannot load {} ({})", m_library, reason),
                      "on a GPU server, install the NVIDIA driver (Debian: 'sudo apt-get install "
                      "nvidia-driver', Ubuntu: 'sudo ubuntu-drivers install') and reboot");
  }
  auto init = lib.symbol<InitFn>("nvmlInit_v2");
  auto shutdown = lib.symbol<InitFn>("nvmlShutdown");
  auto error_string = lib.symbol<ErrorStringFn>("nvmlErrorString");
  if (init == nullptr || shutdown == nullptr) {
    return core::fail(core::ErrorKind::unavailable,
                      fmt::format("{} has no nvmlInit_v2: not a usable NVML library", m_library),
                      "reinstall the NVIDIA driver");
  }
  const nvmlReturn_t rc = init();
  if (rc != k_nvml_success) {
    const std::string what =
        error_string != nullptr ? error_string(rc) : fmt::format("error {}", rc);
    std::string hint = "check 'dmesg | grep -i nvidia' and reinstall the driver if needed";
    auto kind = core::ErrorKind::unavailable;
    if (rc == k_nvml_error_driver_not_loaded) {
      hint = "the NVIDIA kernel module is not loaded: run 'sudo modprobe nvidia' (after a driver "
             "install, reboot); check 'dmesg | grep -i nvidia'";
    } else if (rc == k_nvml_error_lib_rm_version_mismatch) {
      hint = "the driver library and the loaded kernel module differ (a driver upgrade without a "
             "reboot): reboot the host";
    } else if (rc == k_nvml_error_no_permission) {
      kind = core::ErrorKind::permission;
      hint = "check the permissions of /dev/nvidia*";
    }
    return core::fail(kind, fmt::format("NVML failed to initialise: {}", what), hint);
  }

  GpuInfo info;
  info.source = "nvml";
  std::array<char, k_driver_size> driver{};
  if (auto fn = lib.symbol<DriverVersionFn>("nvmlSystemGetDriverVersion");
      fn != nullptr && fn(driver.data(), k_driver_size) == k_nvml_success) {
    info.driver_version = driver.data();
  }
  auto cuda_fn = lib.symbol<CudaVersionFn>("nvmlSystemGetCudaDriverVersion_v2");
  if (cuda_fn == nullptr) {
    cuda_fn = lib.symbol<CudaVersionFn>("nvmlSystemGetCudaDriverVersion");
  }
  if (cuda_fn != nullptr) {
    int v = 0;
    if (cuda_fn(&v) == k_nvml_success) {
      info.cuda_driver_version = v;
    }
  }
  auto count_fn = lib.symbol<CountFn>("nvmlDeviceGetCount_v2");
  auto handle_fn = lib.symbol<HandleFn>("nvmlDeviceGetHandleByIndex_v2");
  unsigned count = 0;
  if (count_fn == nullptr || handle_fn == nullptr || count_fn(&count) != k_nvml_success) {
    shutdown();
    return core::fail(core::ErrorKind::unavailable,
                      "NVML cannot count the GPUs",
                      "run 'nvidia-smi' to see what the driver says");
  }
  auto name_fn = lib.symbol<StringFn>("nvmlDeviceGetName");
  auto uuid_fn = lib.symbol<StringFn>("nvmlDeviceGetUUID");
  auto cc_fn = lib.symbol<CcFn>("nvmlDeviceGetCudaComputeCapability");
  auto mem_fn = lib.symbol<MemoryFn>("nvmlDeviceGetMemoryInfo");
  auto mode_fn = lib.symbol<ComputeModeFn>("nvmlDeviceGetComputeMode");
  auto procs_v3 = lib.symbol<ProcsV2Fn>("nvmlDeviceGetComputeRunningProcesses_v3");
  auto procs_v2 = lib.symbol<ProcsV2Fn>("nvmlDeviceGetComputeRunningProcesses_v2");
  auto procs_v1 = lib.symbol<ProcsV1Fn>("nvmlDeviceGetComputeRunningProcesses");
  for (unsigned i = 0; i < count; ++i) {
    nvmlDevice_t dev = nullptr;
    if (handle_fn(i, &dev) != k_nvml_success) {
      continue; // a lost or inaccessible GPU: skip it rather than fail the whole probe
    }
    Gpu g;
    g.index = i;
    std::array<char, k_name_size> name{};
    if (name_fn != nullptr && name_fn(dev, name.data(), k_name_size) == k_nvml_success) {
      g.name = name.data();
    }
    std::array<char, k_uuid_size> uuid{};
    if (uuid_fn != nullptr && uuid_fn(dev, uuid.data(), k_uuid_size) == k_nvml_success) {
      g.uuid = uuid.data();
    }
    if (cc_fn != nullptr) {
      cc_fn(dev, &g.cc_major, &g.cc_minor);
    }
    NvmlMemory mem{};
    if (mem_fn != nullptr && mem_fn(dev, &mem) == k_nvml_success) {
      g.memory_total = mem.total;
      g.memory_used = mem.used;
    }
    if (int mode = 0; mode_fn != nullptr && mode_fn(dev, &mode) == k_nvml_success) {
      g.compute_mode = compute_mode_from_nvml(mode);
    }
    if (procs_v3 != nullptr) {
      g.processes = read_processes<NvmlProcessInfoV2>(procs_v3, dev);
    } else if (procs_v2 != nullptr) {
      g.processes = read_processes<NvmlProcessInfoV2>(procs_v2, dev);
    } else if (procs_v1 != nullptr) {
      g.processes = read_processes<NvmlProcessInfoV1>(procs_v1, dev);
    }
    for (auto& p : g.processes) {
      describe_process(p, m_proc_root);
    }
    info.gpus.push_back(std::move(g));
  }
  shutdown();
  return info;
}

} // namespace furnace::gpu
