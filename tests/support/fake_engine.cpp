#include "fake_engine.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace furnace::testing {

FakeEngine::FakeEngine() {
  version_info.platform = "Fake Engine";
  version_info.version = "20.10.24";
  version_info.api_version = "1.41";
  version_info.min_api_version = "1.12";
  version_info.os = "linux";
  version_info.arch = "amd64";
  version_info.kernel = "6.1.0";
  engine_info.server_version = "20.10.24";
  engine_info.storage_driver = "overlay2";
  engine_info.docker_root_dir = "/var/lib/docker";
  engine_info.cgroup_driver = "cgroupfs";
  engine_info.cgroup_version = "1";
  engine_info.runtimes = {"io.containerd.runc.v2", "runc"};
  engine_info.default_runtime = "runc";
}

const engine::ImageSummary* FakeEngine::find(const std::string& ref) const {
  const auto r = engine::parse_image_ref(ref);
  const std::string full = r.digest.empty() ? r.name + ":" + r.tag : r.name + "@" + r.digest;
  for (const auto& img : images) {
    const auto& tags = r.digest.empty() ? img.repo_tags : img.repo_digests;
    if (std::find(tags.begin(), tags.end(), full) != tags.end() || img.id == ref) {
      return &img;
    }
  }
  return nullptr;
}

core::Result<engine::PingInfo> FakeEngine::ping() {
  calls.emplace_back("ping");
  if (down && up_after_pings > 0 && --up_after_pings == 0) {
    down.reset(); // a restart is over
  }
  if (down) {
    return core::fail(*down);
  }
  return engine::PingInfo{version_info.api_version, "linux", is_podman};
}

core::Result<engine::VersionInfo> FakeEngine::version() {
  calls.emplace_back("version");
  if (down) {
    return core::fail(*down);
  }
  return version_info;
}

core::Result<engine::EngineInfo> FakeEngine::info() {
  calls.emplace_back("info");
  if (down) {
    return core::fail(*down);
  }
  return engine_info;
}

core::Result<std::vector<engine::ImageSummary>> FakeEngine::list_images() {
  calls.emplace_back("list_images");
  if (down) {
    return core::fail(*down);
  }
  return images;
}

core::Result<engine::ImageDetails> FakeEngine::inspect_image(const std::string& ref) {
  calls.push_back("inspect_image " + ref);
  if (down) {
    return core::fail(*down);
  }
  const auto* img = find(ref);
  if (img == nullptr) {
    return core::fail(
        core::ErrorKind::not_found,
        fmt::format("no image {} in the engine (engine: No such image: {})", ref, ref),
        fmt::format("pull it with 'docker pull {}'", ref));
  }
  engine::ImageDetails d;
  d.id = img->id;
  d.repo_tags = img->repo_tags;
  d.repo_digests = img->repo_digests;
  d.size = img->size;
  d.os = "linux";
  d.architecture = "amd64";
  d.labels = img->labels;
  return d;
}

core::Result<void> FakeEngine::pull(const std::string& ref, const engine::PullCallback& progress) {
  calls.push_back("pull " + ref);
  if (down) {
    return core::fail(*down);
  }
  auto r = engine::parse_image_ref(ref);
  const std::string full = r.digest.empty() ? r.name + ":" + r.tag : r.name + "@" + r.digest;
  if (pull_failure) {
    return core::fail(engine::pull_error(ref, *pull_failure, false));
  }
  auto it = pullable.find(full);
  if (it == pullable.end()) {
    return core::fail(engine::pull_error(
        ref,
        fmt::format("manifest for {} not found: manifest unknown: manifest unknown", full),
        true));
  }
  if (progress) {
    progress(engine::PullProgress{"", "Pulling from " + r.name, 0, 0});
    progress(engine::PullProgress{"layer1", "Downloading", 50, 100});
    progress(engine::PullProgress{"layer1", "Pull complete", 0, 0});
  }
  if (find(full) == nullptr) {
    images.push_back(it->second);
  }
  return {};
}

engine::ContainerDetails* FakeEngine::find_container(const std::string& name) {
  for (auto& c : containers) {
    if (c.name == name || c.id == name) {
      return &c;
    }
  }
  return nullptr;
}

namespace {

bool has_labels(const engine::ContainerDetails& c, const std::vector<std::string>& labels) {
  return std::all_of(labels.begin(), labels.end(), [&](const std::string& l) {
    const auto eq = l.find('=');
    const auto it = c.labels.find(l.substr(0, eq));
    return it != c.labels.end() && (eq == std::string::npos || it->second == l.substr(eq + 1));
  });
}

core::Error no_container(const std::string& name) {
  return core::make_error(
      core::ErrorKind::not_found,
      fmt::format("no container {} (engine: No such container: {})", name, name));
}

} // namespace

core::Result<std::vector<engine::ContainerSummary>>
FakeEngine::list_containers(const std::vector<std::string>& labels) {
  calls.emplace_back("list_containers");
  if (down) {
    return core::fail(*down);
  }
  std::vector<engine::ContainerSummary> out;
  for (const auto& c : containers) {
    if (has_labels(c, labels)) {
      engine::ContainerSummary s;
      s.id = c.id;
      s.name = c.name;
      s.image_id = c.image_id;
      s.state = c.status;
      s.labels = c.labels;
      s.ports = c.ports;
      out.push_back(std::move(s));
    }
  }
  return out;
}

core::Result<engine::ContainerDetails> FakeEngine::inspect_container(const std::string& name) {
  calls.push_back("inspect_container " + name);
  if (down) {
    return core::fail(*down);
  }
  const auto* c = find_container(name);
  if (c == nullptr) {
    return core::fail(no_container(name));
  }
  return *c;
}

core::Result<void> FakeEngine::stop_container(const std::string& name, int grace_seconds) {
  calls.push_back(fmt::format("stop_container {} {}", name, grace_seconds));
  return kill_container(name, "SIGTERM");
}

core::Result<void> FakeEngine::kill_container(const std::string& name, const std::string& signal) {
  calls.push_back(fmt::format("kill_container {} {}", name, signal));
  if (down) {
    return core::fail(*down);
  }
  auto* c = find_container(name);
  if (c == nullptr) {
    return core::fail(no_container(name));
  }
  c->running = false;
  c->status = "exited";
  return {};
}

core::Result<void> FakeEngine::remove_container(const std::string& name, bool force) {
  calls.push_back(fmt::format("remove_container {}{}", name, force ? " force" : ""));
  if (down) {
    return core::fail(*down);
  }
  if (const auto* c = find_container(name); c != nullptr && c->running && !force) {
    // The engine's 409, in its words.
    return core::fail(core::ErrorKind::remote,
                      fmt::format("engine: You cannot remove a running container {}. Stop the "
                                  "container before attempting removal or force remove",
                                  c->id));
  }
  std::erase_if(containers,
                [&](const engine::ContainerDetails& c) { return c.name == name || c.id == name; });
  return {};
}

core::Result<std::vector<engine::ContainerEvent>>
FakeEngine::container_events(const std::string& name, long long since_ms, long long until_ms) {
  calls.push_back(fmt::format("container_events {}", name));
  if (down) {
    return core::fail(*down);
  }
  std::vector<engine::ContainerEvent> out;
  if (auto it = events.find(name); it != events.end()) {
    std::copy_if(it->second.begin(),
                 it->second.end(),
                 std::back_inserter(out),
                 [&](const engine::ContainerEvent& e) {
                   return e.time_nano >= since_ms * 1000000 && e.time_nano <= until_ms * 1000000;
                 });
  }
  return out;
}

} // namespace furnace::testing
