#include "nvidia_smi_probe.hpp"

#include <furnace/gpu/nvml_probe.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <cstdlib>

namespace furnace::gpu {
namespace {

constexpr unsigned long long k_mib = 1024ULL * 1024ULL;

unsigned long long parse_mib(const std::string& s) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  return end == s.c_str() ? 0 : v * k_mib;
}

// nvidia-smi's compute_mode: "Default", "Exclusive_Process", "Prohibited", "Exclusive_Thread".
ComputeMode compute_mode_from_smi(const std::string& text) {
  if (text == "Exclusive_Process") {
    return ComputeMode::exclusive_process;
  }
  if (text == "Exclusive_Thread") {
    return ComputeMode::exclusive_thread;
  }
  if (text == "Prohibited") {
    return ComputeMode::prohibited;
  }
  return ComputeMode::shared;
}

} // namespace

core::Result<GpuInfo> parse_query_gpu(const std::string& csv) {
  GpuInfo info;
  info.source = "nvidia-smi";
  int line_no = 0;
  for (const auto& raw : util::split(csv, '\n')) {
    ++line_no;
    const std::string line(util::trim(raw));
    if (line.empty()) {
      continue;
    }
    auto f = util::split(line, ',');
    if (f.size() < 7) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("nvidia-smi output line {}: expected 7 fields, got {}: '{}'",
                                    line_no,
                                    f.size(),
                                    line));
    }
    for (auto& x : f) {
      x = std::string(util::trim(x));
    }
    Gpu g;
    g.index = static_cast<unsigned>(std::strtoul(f[0].c_str(), nullptr, 10));
    g.name = f[1];
    g.uuid = f[2];
    const auto dot = f[3].find('.');
    if (dot != std::string::npos) {
      g.cc_major = std::atoi(f[3].substr(0, dot).c_str());
      g.cc_minor = std::atoi(f[3].substr(dot + 1).c_str());
    }
    g.memory_total = parse_mib(f[4]);
    g.memory_used = parse_mib(f[5]);
    info.driver_version = f[6];
    if (f.size() > 7) {
      g.compute_mode = compute_mode_from_smi(f[7]);
    }
    info.gpus.push_back(std::move(g));
  }
  return info;
}

int parse_cuda_version_banner(const std::string& text) {
  const std::string key = "CUDA Version:";
  const auto pos = text.find(key);
  if (pos == std::string::npos) {
    return 0;
  }
  const std::string rest(util::trim(std::string_view(text).substr(pos + key.size(), 16)));
  char* end = nullptr;
  const long major = std::strtol(rest.c_str(), &end, 10);
  long minor = 0;
  if (end != nullptr && *end == '.') {
    minor = std::strtol(end + 1, nullptr, 10);
  }
  return static_cast<int>(major * 1000 + minor * 10);
}

void parse_compute_apps(const std::string& csv, GpuInfo& info) {
  for (const auto& raw : util::split(csv, '\n')) {
    auto f = util::split(util::trim(raw), ',');
    if (f.size() < 3) {
      continue;
    }
    const std::string uuid(util::trim(f[0]));
    GpuProcess p;
    p.pid = static_cast<unsigned>(std::strtoul(std::string(util::trim(f[1])).c_str(), nullptr, 10));
    p.used_memory = parse_mib(std::string(util::trim(f[2])));
    for (auto& g : info.gpus) {
      if (g.uuid == uuid) {
        g.processes.push_back(p);
      }
    }
  }
}

core::Result<GpuInfo> NvidiaSmiProbe::probe() {
  util::ProcessOptions opts;
  opts.timeout = std::chrono::milliseconds(15000);
  const std::string smi = util::find_in_path("nvidia-smi", m_path).value_or("nvidia-smi");
  auto q = m_runner.run({smi,
                         "--query-gpu=index,name,uuid,compute_cap,memory.total,memory.used,"
                         "driver_version,compute_mode",
                         "--format=csv,noheader,nounits"},
                        opts);
  if (!q) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("no NVIDIA driver: {}", q.error().message),
                      "on a GPU server, install the NVIDIA driver and reboot");
  }
  if (q->status.timed_out) {
    return core::fail(core::ErrorKind::timeout,
                      "nvidia-smi did not answer within 15 s",
                      "the driver may be hung; check 'dmesg | grep -i nvidia'");
  }
  if (!q->status.ok()) {
    const std::string msg(util::trim(q->out.empty() ? q->err : q->out));
    return core::fail(core::ErrorKind::unavailable,
                      fmt::format("nvidia-smi failed: {}", msg),
                      "check 'dmesg | grep -i nvidia'; 'sudo modprobe nvidia' if the module is "
                      "not loaded");
  }
  auto info = parse_query_gpu(q->out);
  if (!info) {
    return info;
  }
  if (auto banner = m_runner.run({smi}, opts); banner && banner->status.ok()) {
    info->cuda_driver_version = parse_cuda_version_banner(banner->out);
  }
  if (auto apps = m_runner.run(
          {smi, "--query-compute-apps=gpu_uuid,pid,used_memory", "--format=csv,noheader,nounits"},
          opts);
      apps && apps->status.ok()) {
    parse_compute_apps(apps->out, *info);
    for (auto& g : info->gpus) {
      for (auto& p : g.processes) {
        describe_process(p, m_proc_root);
      }
    }
  }
  return info;
}

} // namespace furnace::gpu
