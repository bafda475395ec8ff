#pragma once
// Engine: the queries furnace asks a Docker-compatible engine (Docker, Podman's compatible
// socket). DockerApi implements it over the Engine API; tests use FakeEngine. Builds and
// interactive runs go through the engine's own CLI instead (see DESIGN.md).

#include <furnace/core/error.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace furnace::engine {

struct PingInfo {
  std::string api_version; // what the engine speaks, from the Api-Version header
  std::string os_type;     // "linux"
  bool podman = false;     // Podman's compatible socket (Libpod-Api-Version header)
};

struct VersionInfo {
  std::string platform;    // "Docker Engine - Community", "Podman Engine", ""
  std::string version;     // "20.10.24+dfsg1"
  std::string api_version; // the engine's maximum, "1.41"
  std::string min_api_version;
  std::string os;
  std::string arch;
  std::string kernel;
};

struct EngineInfo {
  std::string name; // host name
  std::string server_version;
  std::string operating_system;
  std::string storage_driver;
  std::string docker_root_dir;
  std::string cgroup_driver;
  std::string cgroup_version;
  std::vector<std::string> runtimes; // sorted names
  std::string default_runtime;
  std::vector<std::string> registry_mirrors;
  std::vector<std::string> insecure_registries;
  std::vector<std::string> cdi_spec_dirs;
  bool live_restore = false;
  long long containers_running = 0;
  long long ncpu = 0;
  long long mem_total = 0;
  std::vector<std::string> warnings;
};

struct ImageSummary {
  std::string id;
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  long long size = 0;
  long long created = 0; // unix seconds
  std::map<std::string, std::string> labels;
};

struct ImageDetails {
  std::string id;
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  long long size = 0;
  std::string created; // RFC 3339
  std::string os;
  std::string architecture;
  std::map<std::string, std::string> labels;
};

struct PullProgress {
  std::string id;     // layer id, or "" for whole-image messages
  std::string status; // "Downloading", "Pull complete", "Digest: sha256:…"
  long long current = 0;
  long long total = 0;
};

using PullCallback = std::function<void(const PullProgress&)>;

// A container port published on the host ("127.0.0.1:49153 -> 8888/tcp").
struct PublishedPort {
  std::string host_ip; // "127.0.0.1", "0.0.0.0", "::"
  int host_port = 0;
  int container_port = 0;
  std::string protocol; // "tcp", "udp"
};

struct ContainerSummary {
  std::string id;
  std::string name;  // without the leading '/'
  std::string image; // as the container was created from
  std::string image_id;
  std::string command;   // the engine's one-line rendering
  long long created = 0; // unix seconds
  std::string state;     // "running", "exited", "created", ...
  std::string status;    // "Up 5 minutes"
  std::map<std::string, std::string> labels;
  std::vector<PublishedPort> ports; // the published ones (Ports with a PublicPort)
};

struct ContainerDetails {
  std::string id;
  std::string name;
  std::string image_id;
  std::string status; // "running", "exited", ...
  bool running = false;
  int exit_code = 0;
  bool oom_killed = false; // the kernel's OOM killer ended a process in it (State.OOMKilled)
  int pid = 0;
  std::string started_at;  // RFC 3339
  std::string finished_at; // RFC 3339; "0001-01-01T00:00:00Z" while running
  std::map<std::string, std::string> labels;
  std::vector<std::string> env; // "KEY=VALUE" (for tests that check what arrived)
  std::vector<PublishedPort> ports; // NetworkSettings.Ports with a host binding (once it runs)
};

// What the engine's data root holds (`docker system df`, from GET /system/df).
struct DiskUsage {
  struct Row {
    long long total = 0;       // how many
    long long active = 0;      // in use by a container
    long long size = 0;        // bytes
    long long reclaimable = 0; // bytes a prune would free
  };
  Row images;
  Row containers;
  Row volumes;
  Row build_cache;
};

// One of the engine's events about a container ("create", "start", "oom", "die", "destroy").
struct ContainerEvent {
  std::string action;
  long long time_nano = 0;                       // unix nanoseconds
  std::map<std::string, std::string> attributes; // "exitCode", "name", the labels
};

class Engine {
public:
  virtual ~Engine() = default;
  // Where the engine is, for messages: "unix:///var/run/docker.sock".
  virtual std::string endpoint() const = 0;
  virtual core::Result<PingInfo> ping() = 0;
  virtual core::Result<VersionInfo> version() = 0;
  virtual core::Result<EngineInfo> info() = 0;
  virtual core::Result<std::vector<ImageSummary>> list_images() = 0;
  // Errors: not_found when the engine has no such image.
  virtual core::Result<ImageDetails> inspect_image(const std::string& ref) = 0;
  // Pulls `ref` ("name:tag", "name@sha256:…"); `progress` sees each message as it arrives.
  virtual core::Result<void> pull(const std::string& ref, const PullCallback& progress) = 0;

  // Containers, running or not, that carry every label in `labels` ("key" or "key=value").
  virtual core::Result<std::vector<ContainerSummary>>
  list_containers(const std::vector<std::string>& labels) = 0;
  // Errors: not_found when there is no such container.
  virtual core::Result<ContainerDetails> inspect_container(const std::string& name) = 0;
  // SIGTERM (the image's stop signal), then SIGKILL after `grace_seconds`. A stopped container
  // is not an error.
  virtual core::Result<void> stop_container(const std::string& name, int grace_seconds) = 0;
  // Sends `signal` ("SIGINT") to the container's main process.
  virtual core::Result<void> kill_container(const std::string& name, const std::string& signal) = 0;
  // Removes the container (`force`: even a running one); a missing one is not an error.
  virtual core::Result<void> remove_container(const std::string& name, bool force) = 0;
  // The engine's events about container `name` from `since_ms` to `until_ms` (unix ms, both in
  // the past), oldest first: what is known of a container after it is gone (an "oom" before
  // its "die"). The engine answers from the events it keeps (its last 256 or so).
  virtual core::Result<std::vector<ContainerEvent>>
  container_events(const std::string& name, long long since_ms, long long until_ms) = 0;
  // The engine's disk usage by kind (`docker system df`). Engines without it: unavailable.
  virtual core::Result<DiskUsage> disk_usage() {
    return core::fail(core::ErrorKind::unavailable, "the engine does not report its disk usage");
  }
  // Whether the engine said it is Podman (Libpod-Api-Version) in its last ping; no request of
  // its own: false before the first request.
  virtual bool podman() const { return false; }
};

// Splits "registry:5000/ns/name:tag" into name and tag ("latest" when none); a digest
// reference keeps "@sha256:…" as the tag part.
struct ImageRef {
  std::string name;
  std::string tag;    // "" when a digest is given
  std::string digest; // "" when a tag is given
};
ImageRef parse_image_ref(const std::string& ref);

// The error of a failed pull of `ref`, from the engine's own words (`engine_message`: the
// registry it could not reach and why, or "manifest unknown"): "pulling REF: engine: …", with a
// hint that fits — the image name for a missing one, else the registry's reachability and, for
// Docker Hub images, a registry mirror (`sudo furnace setup --mirror URL`).
core::Error pull_error(const std::string& ref, const std::string& engine_message, bool not_found);

} // namespace furnace::engine
