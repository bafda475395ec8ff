#include "host_facts.hpp"

#include <furnace/util/atomic_file.hpp>
#include <furnace/util/ownership.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace furnace::project {

core::Result<resolve::Host> make_host(const core::Result<gpu::GpuInfo>& probed,
                                      const std::vector<std::string>& gpu_override,
                                      const std::string& driver_override,
                                      const resolve::Tables& tables) {
  resolve::Host host;
  if (probed) {
    host.source = probed->source;
    host.driver = probed->driver_version;
    host.cuda_driver = probed->cuda_version();
    for (const gpu::Gpu& g : probed->gpus) {
      host.gpus.push_back(resolve::HostGpu{g.name, g.cc_major, g.cc_minor});
    }
    if (host.gpus.empty()) {
      host.note = "found by the driver";
    }
  } else {
    host.source = "none";
    host.note = fmt::format("found ({})", probed.error().message);
  }
  if (!gpu_override.empty()) {
    host.gpus.clear();
    host.source = "--gpu";
    host.note.clear();
    for (const std::string& item : gpu_override) {
      for (const std::string& raw : util::split(item, ',')) {
        const std::string g(util::trim(raw));
        if (g.empty()) {
          continue;
        }
        // "9.0", "sm_90", "90"
        std::string digits = g.rfind("sm_", 0) == 0 ? g.substr(3) : g;
        int major = -1;
        int minor = -1;
        if (const std::size_t dot = digits.find('.'); dot != std::string::npos) {
          const std::string a = digits.substr(0, dot);
          const std::string b = digits.substr(dot + 1);
          if (!a.empty() && !b.empty() && a.size() <= 2 && b.size() == 1 &&
              std::all_of(a.begin(), a.end(), ::isdigit) && std::isdigit(b[0]) != 0) {
            major = std::stoi(a);
            minor = b[0] - '0';
          }
        } else if (digits.size() >= 2 && digits.size() <= 3 &&
                   std::all_of(digits.begin(), digits.end(), ::isdigit)) {
          major = std::stoi(digits.substr(0, digits.size() - 1));
          minor = digits.back() - '0';
        }
        if (major >= 0) {
          host.gpus.push_back(resolve::HostGpu{
              fmt::format("compute capability {}.{}", major, minor), major, minor});
          continue;
        }
        const resolve::GpuRow* row = tables.find_gpu(g);
        if (row == nullptr) {
          return core::fail(core::ErrorKind::usage,
                            fmt::format("unknown GPU '{}'", g),
                            "give a compute capability instead, e.g. --gpu 8.6 or --gpu sm_90");
        }
        host.gpus.push_back(resolve::HostGpu{row->name, row->cc_major, row->cc_minor});
      }
    }
  }
  if (!driver_override.empty()) {
    auto v = deps::parse_version(driver_override);
    if (!v || !v->local.empty() || v->is_prerelease() || v->release.size() < 2) {
      return core::fail(core::ErrorKind::usage,
                        fmt::format("invalid driver version '{}'", driver_override),
                        "give it as nvidia-smi prints it, e.g. --driver 535.104.05");
    }
    host.driver = driver_override;
    host.cuda_driver.clear();
  }
  return host;
}

namespace {

std::string cache_file(const std::string& cache_dir) {
  return cache_dir + "/image-python.json";
}

} // namespace

std::map<std::string, std::string> read_image_pythons(const std::string& cache_dir) {
  std::map<std::string, std::string> out;
  if (cache_dir.empty()) {
    return out;
  }
  auto text = util::read_file(cache_file(cache_dir));
  if (!text) {
    return out;
  }
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("images") || !j["images"].is_object()) {
    return out;
  }
  for (const auto& [image, seen] : j["images"].items()) {
    if (seen.is_object() && seen.contains("python") && seen["python"].is_string()) {
      out[image] = seen["python"].get<std::string>();
    }
  }
  return out;
}

void record_image_python(const std::string& cache_dir,
                         const std::string& image,
                         const std::string& image_id,
                         const std::string& python) {
  if (cache_dir.empty() || image.empty() || python.empty()) {
    return;
  }
  nlohmann::json j = nlohmann::json::object();
  if (auto text = util::read_file(cache_file(cache_dir))) {
    j = nlohmann::json::parse(*text, nullptr, false);
    if (!j.is_object()) {
      j = nlohmann::json::object();
    }
  }
  j["images"][image] = {{"id", image_id}, {"python", python}};
  std::error_code ec;
  util::make_directories(cache_dir, ec);
  (void)util::write_file_atomic(cache_file(cache_dir), j.dump(2) + "\n");
}

} // namespace furnace::project
