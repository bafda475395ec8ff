// A fake libnvidia-ml.so.1 for tests: the same C ABI as the slice of NVML furnace uses, with the
// values read from the JSON file named by $FAKE_NVML_CONFIG:
//   {"init": "ok" | "driver_not_loaded" | "no_permission" | "rm_mismatch",
//    "driver_version": "550.54.15", "cuda_driver_version": 12040,
//    "gpus": [{"name": "NVIDIA H200", "uuid": "GPU-…", "cc": [9, 0],
//              "memory_total_mib": 143771, "memory_used_mib": 1024,
//              "compute_mode": "default" | "exclusive_process" | "prohibited" |
//                              "exclusive_thread" (or NVML's number; default when absent),
//              "processes": [{"pid": 4242, "used_mib": 512}]}]}
// A missing file behaves like a driver that is not loaded. Calls are appended to
// $FAKE_NVML_LOG when set, so tests can check what furnace asked.

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace {

using json = nlohmann::json;

json& config() {
  static json cfg = [] {
    const char* path = std::getenv("FAKE_NVML_CONFIG"); // NOLINT(concurrency-mt-unsafe)
    if (path == nullptr) {
      return json{{"init", "driver_not_loaded"}};
    }
    std::ifstream in(path);
    if (!in) {
      return json{{"init", "driver_not_loaded"}};
    }
    try {
      return json::parse(in);
    } catch (const json::exception&) {
      return json{{"init", "unknown"}};
    }
  }();
  return cfg;
}

void log_call(const char* name) {
  const char* path = std::getenv("FAKE_NVML_LOG"); // NOLINT(concurrency-mt-unsafe)
  if (path != nullptr) {
    if (FILE* f = std::fopen(path, "a")) {
      std::fprintf(f, "%s\n", name);
      std::fclose(f);
    }
  }
}

bool g_initialised = false;

int copy_string(const std::string& s, char* buf, unsigned len) {
  if (buf == nullptr) {
    return 2;
  }
  if (s.size() + 1 > len) {
    return 7; // NVML_ERROR_INSUFFICIENT_SIZE
  }
  std::memcpy(buf, s.c_str(), s.size() + 1);
  return 0;
}

const json* gpu_at(void* handle) {
  const auto index = reinterpret_cast<std::uintptr_t>(handle) - 1;
  const auto& gpus = config()["gpus"];
  if (!g_initialised || !gpus.is_array() || index >= gpus.size()) {
    return nullptr;
  }
  return &gpus[index];
}

constexpr unsigned long long k_mib = 1024ULL * 1024ULL;

struct Memory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct ProcessV2 {
  unsigned int pid;
  unsigned long long used;
  unsigned int gi;
  unsigned int ci;
};

} // namespace

extern "C" {

__attribute__((visibility("default"))) int nvmlInit_v2() {
  log_call("nvmlInit_v2");
  const json& init = config().value("init", json("ok"));
  const std::string v = init.is_string() ? init.get<std::string>() : "ok";
  if (v == "ok") {
    g_initialised = true;
    return 0;
  }
  if (v == "driver_not_loaded") {
    return 9;
  }
  if (v == "no_permission") {
    return 4;
  }
  if (v == "rm_mismatch") {
    return 18;
  }
  return 999;
}

__attribute__((visibility("default"))) int nvmlShutdown() {
  log_call("nvmlShutdown");
  g_initialised = false;
  return 0;
}

__attribute__((visibility("default"))) const char* nvmlErrorString(int rc) {
  switch (rc) {
  case 0:
    return "Success";
  case 4:
    return "Insufficient Permissions";
  case 9:
    return "Driver Not Loaded";
  case 18:
    return "RM has detected an NVML/RM version mismatch.";
  default:
    return "Unknown Error";
  }
}

__attribute__((visibility("default"))) int nvmlSystemGetDriverVersion(char* buf, unsigned len) {
  log_call("nvmlSystemGetDriverVersion");
  return g_initialised ? copy_string(config().value("driver_version", ""), buf, len) : 1;
}

__attribute__((visibility("default"))) int nvmlSystemGetCudaDriverVersion_v2(int* v) {
  log_call("nvmlSystemGetCudaDriverVersion_v2");
  if (!g_initialised) {
    return 1;
  }
  *v = config().value("cuda_driver_version", 0);
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetCount_v2(unsigned* count) {
  log_call("nvmlDeviceGetCount_v2");
  if (!g_initialised) {
    return 1;
  }
  const auto& gpus = config()["gpus"];
  *count = gpus.is_array() ? static_cast<unsigned>(gpus.size()) : 0U;
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetHandleByIndex_v2(unsigned i, void** h) {
  log_call("nvmlDeviceGetHandleByIndex_v2");
  *h = reinterpret_cast<void*>(static_cast<std::uintptr_t>(i) + 1);
  return gpu_at(*h) != nullptr ? 0 : 2;
}

__attribute__((visibility("default"))) int nvmlDeviceGetName(void* h, char* buf, unsigned len) {
  const json* g = gpu_at(h);
  return g != nullptr ? copy_string(g->value("name", ""), buf, len) : 2;
}

__attribute__((visibility("default"))) int nvmlDeviceGetUUID(void* h, char* buf, unsigned len) {
  const json* g = gpu_at(h);
  return g != nullptr ? copy_string(g->value("uuid", ""), buf, len) : 2;
}

__attribute__((visibility("default"))) int
nvmlDeviceGetCudaComputeCapability(void* h, int* major, int* minor) {
  const json* g = gpu_at(h);
  if (g == nullptr || !g->contains("cc")) {
    return 2;
  }
  *major = (*g)["cc"][0].get<int>();
  *minor = (*g)["cc"][1].get<int>();
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetMemoryInfo(void* h, Memory* m) {
  const json* g = gpu_at(h);
  if (g == nullptr) {
    return 2;
  }
  m->total = g->value("memory_total_mib", 0ULL) * k_mib;
  m->used = g->value("memory_used_mib", 0ULL) * k_mib;
  m->free = m->total - m->used;
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetComputeMode(void* h, int* mode) {
  log_call("nvmlDeviceGetComputeMode");
  const json* g = gpu_at(h);
  if (g == nullptr || mode == nullptr) {
    return 2;
  }
  const json m = g->value("compute_mode", json("default"));
  if (m.is_number_integer()) {
    *mode = m.get<int>();
    return 0;
  }
  const std::string name = m.is_string() ? m.get<std::string>() : "default";
  *mode = name == "exclusive_thread"    ? 1
          : name == "prohibited"        ? 2
          : name == "exclusive_process" ? 3
                                        : 0;
  return 0;
}

__attribute__((visibility("default"))) int
nvmlDeviceGetComputeRunningProcesses_v3(void* h, unsigned* count, ProcessV2* infos) {
  const json* g = gpu_at(h);
  if (g == nullptr) {
    return 2;
  }
  const json procs = g->value("processes", json::array());
  if (procs.size() > *count) {
    *count = static_cast<unsigned>(procs.size());
    return 7;
  }
  *count = static_cast<unsigned>(procs.size());
  for (std::size_t i = 0; i < procs.size(); ++i) {
    infos[i] = ProcessV2{procs[i].value("pid", 0U), procs[i].value("used_mib", 0ULL) * k_mib, 0, 0};
  }
  return 0;
}

} // extern "C"
