#include "gpu_selftest.hpp"

#include <furnace/gpu/nvidia_smi_probe.hpp>
#include <furnace/gpu/nvml_probe.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace furnace::doctor {
namespace {

using gpu::Gpu;
using gpu::GpuInfo;

// What a real GPU's numbers stay within; outside, a field was read wrong.
constexpr unsigned long long k_max_memory = 16ULL << 40; // 16 TiB
constexpr int k_max_cc_major = 20;
constexpr unsigned long long k_mib = 1ULL << 20;

void add(std::vector<SelftestItem>& items, std::string name, bool ok, std::string detail) {
  items.push_back(SelftestItem{std::move(name), ok, std::move(detail)});
}

bool printable(const std::string& s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      return false;
    }
  }
  return !s.empty();
}

void check_gpu(std::vector<SelftestItem>& items, const Gpu& g, unsigned position) {
  const std::string p = fmt::format("gpu{}", g.index);
  add(items,
      p + ".index",
      g.index == position,
      fmt::format("index {} at position {}", g.index, position));
  add(items, p + ".name", printable(g.name), fmt::format("'{}'", g.name));
  add(items,
      p + ".uuid",
      printable(g.uuid) && (g.uuid.rfind("GPU-", 0) == 0 || g.uuid.rfind("MIG-", 0) == 0),
      g.uuid);
  add(items,
      p + ".compute_capability",
      g.cc_major >= 3 && g.cc_major <= k_max_cc_major && g.cc_minor >= 0 && g.cc_minor <= 9,
      g.compute_capability());
  add(items,
      p + ".memory",
      g.memory_total > 0 && g.memory_total <= k_max_memory && g.memory_used <= g.memory_total,
      fmt::format(
          "{} used of {}", util::human_bytes(g.memory_used), util::human_bytes(g.memory_total)));
  add(items, p + ".compute_mode", true, gpu::compute_mode_name(g.compute_mode));
  bool procs_ok = true;
  std::string procs;
  for (const gpu::GpuProcess& pr : g.processes) {
    procs_ok = procs_ok && pr.pid > 0 && pr.used_memory <= g.memory_total;
    procs += fmt::format("{}pid {} {} ({}) {}",
                         procs.empty() ? "" : "; ",
                         pr.pid,
                         pr.command.empty() ? "?" : pr.command,
                         pr.user.empty() ? "unknown user" : pr.user,
                         util::human_bytes(pr.used_memory));
  }
  add(items, p + ".processes", procs_ok, procs.empty() ? std::string("none") : procs);
}

// NVML and nvidia-smi agree on every GPU (by index).
void compare(std::vector<SelftestItem>& items, const GpuInfo& nvml, const GpuInfo& smi) {
  add(items,
      "smi.count",
      nvml.gpus.size() == smi.gpus.size(),
      fmt::format("NVML {} GPU(s), nvidia-smi {}", nvml.gpus.size(), smi.gpus.size()));
  add(items,
      "smi.driver",
      nvml.driver_version == smi.driver_version,
      fmt::format("NVML {}, nvidia-smi {}", nvml.driver_version, smi.driver_version));
  if (smi.cuda_driver_version != 0) {
    add(items,
        "smi.cuda",
        nvml.cuda_driver_version == smi.cuda_driver_version,
        fmt::format("NVML {}, nvidia-smi {}", nvml.cuda_version(), smi.cuda_version()));
  }
  for (const Gpu& s : smi.gpus) {
    const Gpu* n = nullptr;
    for (const Gpu& g : nvml.gpus) {
      if (g.index == s.index) {
        n = &g;
      }
    }
    const std::string p = fmt::format("smi.gpu{}", s.index);
    if (n == nullptr) {
      add(items, p, false, "nvidia-smi lists it, NVML does not");
      continue;
    }
    add(items,
        p + ".uuid",
        n->uuid == s.uuid,
        fmt::format("NVML {}, nvidia-smi {}", n->uuid, s.uuid));
    add(items,
        p + ".name",
        n->name == s.name,
        fmt::format("NVML '{}', nvidia-smi '{}'", n->name, s.name));
    if (s.cc_major != 0) {
      add(items,
          p + ".compute_capability",
          n->compute_capability() == s.compute_capability(),
          fmt::format("NVML {}, nvidia-smi {}", n->compute_capability(), s.compute_capability()));
    }
    // nvidia-smi rounds to MiB.
    const unsigned long long diff = n->memory_total > s.memory_total
                                        ? n->memory_total - s.memory_total
                                        : s.memory_total - n->memory_total;
    add(items,
        p + ".memory_total",
        diff <= k_mib,
        fmt::format("NVML {} bytes, nvidia-smi {} bytes", n->memory_total, s.memory_total));
    add(items,
        p + ".compute_mode",
        n->compute_mode == s.compute_mode,
        fmt::format("NVML {}, nvidia-smi {}",
                    gpu::compute_mode_name(n->compute_mode),
                    gpu::compute_mode_name(s.compute_mode)));
  }
}

} // namespace

std::vector<SelftestItem> selftest_items(const core::Result<GpuInfo>& nvml,
                                         const std::optional<core::Result<GpuInfo>>& smi) {
  std::vector<SelftestItem> items;
  if (!nvml) {
    add(items, "nvml.probe", false, nvml.error().message);
    return items;
  }
  add(items, "nvml.probe", true, "loaded and initialised");
  add(items, "nvml.driver", printable(nvml->driver_version), nvml->driver_version);
  add(items,
      "nvml.cuda",
      nvml->cuda_driver_version >= 1000 && nvml->cuda_driver_version < 100000,
      fmt::format("{} ({})", nvml->cuda_version(), nvml->cuda_driver_version));
  add(items, "nvml.gpus", !nvml->gpus.empty(), fmt::format("{} GPU(s)", nvml->gpus.size()));
  std::set<std::string> uuids;
  for (unsigned i = 0; i < nvml->gpus.size(); ++i) {
    check_gpu(items, nvml->gpus[i], i);
    uuids.insert(nvml->gpus[i].uuid);
  }
  add(items,
      "nvml.uuids_distinct",
      uuids.size() == nvml->gpus.size(),
      fmt::format("{} distinct of {}", uuids.size(), nvml->gpus.size()));
  if (!smi) {
    add(items, "smi", true, "nvidia-smi is not installed: no second opinion");
  } else if (!*smi) {
    add(items, "smi", false, "nvidia-smi failed: " + smi->error().message);
  } else {
    compare(items, *nvml, **smi);
  }
  return items;
}

int run_gpu_selftest(core::Context& ctx, bool json) {
  const std::string library = ctx.getenv("FURNACE_NVML_LIBRARY").value_or("libnvidia-ml.so.1");
  const std::string proc_root = ctx.host_root == "/" ? "/proc" : ctx.host_root + "/proc";
  gpu::NvmlProbe nvml(library, proc_root);
  const core::Result<GpuInfo> seen = nvml.probe();
  const std::string path = ctx.getenv("PATH").value_or("/usr/bin:/bin");
  std::optional<core::Result<GpuInfo>> smi;
  if (util::find_in_path("nvidia-smi", path)) {
    gpu::NvidiaSmiProbe tool(ctx.runner, path, proc_root);
    smi = tool.probe();
  }
  const std::vector<SelftestItem> items = selftest_items(seen, smi);
  const bool ok =
      std::all_of(items.begin(), items.end(), [](const SelftestItem& i) { return i.ok; });
  if (json) {
    nlohmann::json j;
    j["ok"] = ok;
    j["library"] = library;
    j["items"] = nlohmann::json::array();
    for (const SelftestItem& i : items) {
      j["items"].push_back({{"name", i.name}, {"ok", i.ok}, {"detail", i.detail}});
    }
    ctx.ui.out() << j.dump(2) << '\n';
    return ok ? 0 : 1;
  }
  ctx.ui.out() << fmt::format("NVML self-test ({})\n", library);
  for (const SelftestItem& i : items) {
    ctx.ui.out() << fmt::format("  {:<4} {:<28} {}\n", i.ok ? "ok" : "FAIL", i.name, i.detail);
  }
  ctx.ui.out() << (ok ? "NVML self-test passed\n" : "NVML self-test FAILED\n");
  return ok ? 0 : 1;
}

} // namespace furnace::doctor
