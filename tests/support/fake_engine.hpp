#pragma once
// FakeEngine: an in-memory Engine for unit tests. It records what was asked and answers from
// fields the test sets; the contract suite (tests/integration/engine_contract_test.cpp) keeps it
// honest against the real engine.

#include <furnace/engine/engine.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace furnace::testing {

class FakeEngine final : public engine::Engine {
public:
  FakeEngine();

  std::string endpoint() const override { return "fake://engine"; }
  core::Result<engine::PingInfo> ping() override;
  core::Result<engine::VersionInfo> version() override;
  core::Result<engine::EngineInfo> info() override;
  core::Result<std::vector<engine::ImageSummary>> list_images() override;
  core::Result<engine::ImageDetails> inspect_image(const std::string& ref) override;
  core::Result<void> pull(const std::string& ref, const engine::PullCallback& progress) override;
  core::Result<std::vector<engine::ContainerSummary>>
  list_containers(const std::vector<std::string>& labels) override;
  core::Result<engine::ContainerDetails> inspect_container(const std::string& name) override;
  core::Result<void> stop_container(const std::string& name, int grace_seconds) override;
  core::Result<void> kill_container(const std::string& name, const std::string& signal) override;
  core::Result<void> remove_container(const std::string& name, bool force) override;
  core::Result<std::vector<engine::ContainerEvent>>
  container_events(const std::string& name, long long since_ms, long long until_ms) override;
  bool podman() const override { return is_podman; }

  // What the test controls.
  std::optional<core::Error> down; // when set, every call fails with it
  int up_after_pings = 0;          // > 0: `down` ends at that many pings (an engine restart)
  engine::VersionInfo version_info;
  bool is_podman = false; // what ping() and podman() say
  engine::EngineInfo engine_info;
  std::vector<engine::ImageSummary> images;
  std::map<std::string, engine::ImageSummary> pullable; // ref -> image a pull adds
  // When set, every pull fails with this as the engine's message (a registry it cannot reach).
  std::optional<std::string> pull_failure;
  std::vector<engine::ContainerDetails> containers; // stop/kill mark them exited, rm removes
  // Events by container name (container_events answers those within the time range).
  std::map<std::string, std::vector<engine::ContainerEvent>> events;

  // What furnace asked, in order: "ping", "info", "pull pytorch/pytorch:…".
  std::vector<std::string> calls;

private:
  const engine::ImageSummary* find(const std::string& ref) const;
  engine::ContainerDetails* find_container(const std::string& name);
};

} // namespace furnace::testing
