#pragma once
// DockerApi: Engine over the Docker Engine API (unix socket or tcp, optional TLS) via libcurl.
// The API version is negotiated from /_ping on first use; every call has a time limit; the
// engine's own error message is carried verbatim.

#include <furnace/engine/endpoint.hpp>
#include <furnace/engine/engine.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace furnace::engine {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string api_version_header;
  bool libpod = false;
};

// Versions furnace speaks: engines newer than the maximum are talked to at the maximum.
inline constexpr const char* k_min_api_version = "1.24";
inline constexpr const char* k_max_api_version = "1.47";

class DockerApi final : public Engine {
public:
  struct Timeouts {
    std::chrono::milliseconds connect{3000};
    std::chrono::milliseconds call{15000};
    std::chrono::seconds pull_stall{300}; // a pull fails after this long without any byte
  };
  // The defaults, with $FURNACE_PULL_STALL (seconds, 1 to 86400) for pull_stall when set.
  static Timeouts timeouts_from_env(const std::map<std::string, std::string>& env);

  explicit DockerApi(Endpoint endpoint);
  DockerApi(Endpoint endpoint, Timeouts timeouts);
  ~DockerApi() override;
  DockerApi(const DockerApi&) = delete;
  DockerApi& operator=(const DockerApi&) = delete;

  std::string endpoint() const override { return m_endpoint.uri; }
  core::Result<PingInfo> ping() override;
  core::Result<VersionInfo> version() override;
  core::Result<EngineInfo> info() override;
  core::Result<std::vector<ImageSummary>> list_images() override;
  core::Result<ImageDetails> inspect_image(const std::string& ref) override;
  core::Result<void> pull(const std::string& ref, const PullCallback& progress) override;
  core::Result<std::vector<ContainerSummary>>
  list_containers(const std::vector<std::string>& labels) override;
  core::Result<ContainerDetails> inspect_container(const std::string& name) override;
  core::Result<void> stop_container(const std::string& name, int grace_seconds) override;
  core::Result<void> kill_container(const std::string& name, const std::string& signal) override;
  core::Result<void> remove_container(const std::string& name, bool force) override;
  core::Result<std::vector<ContainerEvent>>
  container_events(const std::string& name, long long since_ms, long long until_ms) override;
  core::Result<DiskUsage> disk_usage() override;
  bool podman() const override { return m_podman; }

  // The negotiated version ("1.41"), negotiating first if needed.
  core::Result<std::string> api_version();

  // One request: `path` without the version prefix ("/info"). `on_data`, when given, receives
  // the body as it streams (and the body is not kept).
  core::Result<HttpResponse> request(const std::string& method,
                                     const std::string& path,
                                     const std::string& body = {},
                                     const std::function<void(std::string_view)>& on_data = {});

private:
  core::Result<HttpResponse> raw_request(const std::string& method,
                                         const std::string& url,
                                         const std::string& body,
                                         const std::function<void(std::string_view)>& on_data,
                                         bool streaming);
  core::Result<HttpResponse>
  unix_request(const std::string& method, const std::string& path, const std::string& body);
  core::Result<nlohmann::json> get_json(const std::string& path);

  Endpoint m_endpoint;
  Timeouts m_timeouts;
  std::string m_api_version; // empty until negotiated
  bool m_podman = false;
  void* m_curl = nullptr; // CURL*, reused so the connection is kept
};

// Picks the version to talk at: min(engine's, ours); errors when the engine is older than ours.
core::Result<std::string> negotiate_api_version(const std::string& engine_version);

// Orders "1.9" < "1.41" numerically; returns <0, 0, >0.
int compare_api_versions(const std::string& a, const std::string& b);

} // namespace furnace::engine
