#include "space.hpp"

#include <furnace/engine/registry_probe.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <sys/statvfs.h>

#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>

namespace furnace::image {
namespace {

constexpr long long k_mib = 1024LL * 1024;
constexpr long long k_gib = 1024LL * k_mib;

std::string human(long long bytes) {
  return util::human_bytes(static_cast<unsigned long long>(std::max(0LL, bytes)));
}

bool loopback_host(const std::string& host) {
  const std::string bare =
      host.substr(0, host.rfind(':') == std::string::npos ? host.size() : host.rfind(':'));
  return bare == "localhost" || bare.rfind("127.", 0) == 0 || bare == "[::1]";
}

// The host's architecture in the registry's words.
std::string host_arch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__powerpc64__)
  return "ppc64le";
#else
  return "amd64";
#endif
}

} // namespace

std::vector<ManifestSource> manifest_sources(const std::string& ref,
                                             const engine::EngineInfo& info) {
  const engine::ImageRef r = engine::parse_image_ref(ref);
  const std::string reference = r.digest.empty() ? r.tag : r.digest;
  const auto slash = r.name.find('/');
  const std::string first = slash == std::string::npos ? std::string() : r.name.substr(0, slash);
  const bool hub = first.empty() || first == "docker.io" || first == "index.docker.io" ||
                   (first.find('.') == std::string::npos && first.find(':') == std::string::npos &&
                    first != "localhost");
  std::vector<ManifestSource> out;
  if (!hub) {
    bool plain = loopback_host(first);
    for (const std::string& insecure : info.insecure_registries) {
      plain = plain || insecure == first;
    }
    out.push_back({fmt::format("{}://{}", plain ? "http" : "https", first),
                   r.name.substr(slash + 1),
                   reference});
    return out;
  }
  std::string repository =
      first == "docker.io" || first == "index.docker.io" ? r.name.substr(slash + 1) : r.name;
  if (repository.find('/') == std::string::npos) {
    repository = "library/" + repository;
  }
  for (const std::string& mirror : info.registry_mirrors) {
    out.push_back({mirror, repository, reference});
  }
  return out;
}

std::optional<long long> known_compressed_bytes(const std::string& ref) {
  const engine::ImageRef r = engine::parse_image_ref(ref);
  std::string name = r.name;
  if (name.rfind("docker.io/", 0) == 0) {
    name.erase(0, 10);
  }
  const std::string tag = r.tag;
  const auto has = [&](const char* s) { return tag.find(s) != std::string::npos; };
  // Compressed sizes of amd64 images as their registries list them (rounded up).
  if (name == "pytorch/pytorch") {
    return has("devel") ? 10 * k_gib : 4 * k_gib;
  }
  if (name == "nvidia/cuda" || name == "nvcr.io/nvidia/cuda") {
    if (has("cudnn") && has("devel")) {
      return 6 * k_gib;
    }
    return has("devel") ? 4 * k_gib : has("runtime") ? 2 * k_gib : 200 * k_mib;
  }
  if (name == "nvcr.io/nvidia/pytorch" || name == "nvcr.io/nvidia/tensorflow") {
    return 10 * k_gib;
  }
  if (name == "tensorflow/tensorflow") {
    return has("gpu") ? 3 * k_gib : 700 * k_mib;
  }
  return std::nullopt;
}

long long pull_needs(long long compressed) {
  return static_cast<long long>(std::ceil(static_cast<double>(compressed) * k_pull_expansion));
}

std::optional<long long> free_bytes(const std::string& path) {
  struct statvfs s {};
  if (::statvfs(path.c_str(), &s) != 0) {
    return std::nullopt;
  }
  return static_cast<long long>(s.f_bavail) * static_cast<long long>(s.f_frsize);
}

std::string free_space_hint() {
  return "free space on the engine's data root: 'furnace prune' removes furnace's old images, "
         "'docker system prune' removes unused images, containers and build cache (add "
         "--volumes for unused volumes), or move the data root to a larger disk ('data-root' in "
         "/etc/docker/daemon.json, then restart the engine)";
}

std::string space_warning(const std::string& ref,
                          const SizeEstimate& estimate,
                          const std::string& root,
                          long long free) {
  return fmt::format("pulling {} needs about {} on the engine's data root {}, which has {} free: "
                     "the pull will likely fail with 'no space left on device' ({} compressed, "
                     "from {}, times {:.0f} for the download and the unpacked layers)",
                     ref,
                     human(estimate.needed),
                     root,
                     human(free),
                     human(estimate.compressed),
                     estimate.source,
                     k_pull_expansion);
}

bool says_no_space(std::string_view text) {
  return util::to_lower(text).find("no space left on device") != std::string::npos;
}

std::string render_disk_usage(const engine::DiskUsage& usage) {
  const auto row = [](const char* type, const engine::DiskUsage::Row& r) {
    const int pct = r.size > 0 ? static_cast<int>(100 * r.reclaimable / r.size) : 0;
    return fmt::format("  {:<14}{:>6}{:>8}{:>12}{:>12} ({}%)\n",
                       type,
                       r.total,
                       r.active,
                       human(r.size),
                       human(r.reclaimable),
                       pct);
  };
  std::string out = fmt::format(
      "  {:<14}{:>6}{:>8}{:>12}{:>12}\n", "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");
  out += row("Images", usage.images);
  out += row("Containers", usage.containers);
  out += row("Local Volumes", usage.volumes);
  out += row("Build Cache", usage.build_cache);
  return out;
}

bool preflight_pull_space(core::Ui& ui, engine::Engine& engine, const std::string& ref) {
  const std::string where = engine.endpoint();
  if (where.rfind("unix://", 0) != 0) {
    ui.info(fmt::format(
        "not checking free space for {}: the engine at {} is not on this host", ref, where));
    return false;
  }
  auto info = engine.info();
  if (!info || info->docker_root_dir.empty()) {
    return false; // the pull itself says what is wrong with the engine
  }
  const std::string& root = info->docker_root_dir;
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) {
    // The socket is local but the engine's files are elsewhere (a VM, another mount namespace).
    ui.info(fmt::format("not checking free space for {}: the engine's data root {} is not "
                        "visible on this host",
                        ref,
                        root));
    return false;
  }
  const auto free = free_bytes(root);
  if (!free) {
    return false;
  }
  SizeEstimate estimate;
  for (const ManifestSource& src : manifest_sources(ref, *info)) {
    auto bytes = engine::manifest_layer_bytes(
        src.base_url, src.repository, src.reference, host_arch(), std::chrono::milliseconds(3000));
    if (bytes) {
      estimate.compressed = *bytes;
      estimate.source = fmt::format("the manifest at {}", src.base_url);
      break;
    }
  }
  if (estimate.source.empty()) {
    const auto known = known_compressed_bytes(ref);
    if (!known) {
      return false; // no size known: nothing to compare
    }
    estimate.compressed = *known;
    estimate.source = "furnace's table of known base images";
  }
  estimate.needed = pull_needs(estimate.compressed);
  if (estimate.needed <= *free) {
    return false;
  }
  ui.warn(space_warning(ref, estimate, root, *free), free_space_hint());
  return true;
}

core::Error maybe_out_of_space(core::Error e) {
  e.message += "\nthe engine's data root was short of space for this pull (see the warning "
               "above): with a registry mirror the engine reports only its last registry's "
               "error, so 'no space left on device' on the mirror may be the cause";
  e.hint = free_space_hint() + (e.hint.empty() ? "" : "; else: " + e.hint);
  return e;
}

core::Error disk_full_error(core::Error e, engine::Engine& engine) {
  std::string root = "its data root";
  if (auto info = engine.info(); info && !info->docker_root_dir.empty()) {
    root = info->docker_root_dir;
  }
  std::string usage;
  if (auto df = engine.disk_usage(); df) {
    usage =
        fmt::format("\nthe engine's disk usage (docker system df):\n{}", render_disk_usage(*df));
    while (!usage.empty() && usage.back() == '\n') {
      usage.pop_back();
    }
  }
  e.message = fmt::format(
      "no space left on device: the engine's data root ({}) is full\n{}{}", root, e.message, usage);
  e.hint = free_space_hint();
  return e;
}

} // namespace furnace::image
