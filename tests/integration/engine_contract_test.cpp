// One suite, two engines: FakeEngine must answer the way the real engine (DockerApi against the
// engine scripts/test-engine.sh starts) does, so unit tests built on the fake mean something.

#include "support/fake_engine.hpp"
#include "support/test_env.hpp"

#include <furnace/engine/docker_api.hpp>
#include <furnace/engine/endpoint.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <memory>

namespace furnace::engine {
namespace {

constexpr const char* k_base_image = "debian:bookworm";

struct RealEngine {
  static std::unique_ptr<Engine> make() {
    auto ep = resolve_endpoint(testing::process_env());
    if (!ep) {
      return nullptr;
    }
    return std::make_unique<DockerApi>(*ep);
  }
  static bool available() { return testing::engine_available(); }
};

struct FakeEngineFactory {
  static std::unique_ptr<Engine> make() {
    auto e = std::make_unique<testing::FakeEngine>();
    ImageSummary img;
    img.id = "sha256:0123";
    img.repo_tags = {k_base_image};
    e->images.push_back(img);
    e->pullable[k_base_image] = img;
    return e;
  }
  static bool available() { return true; }
};

template <class Factory> class EngineContract : public ::testing::Test {
protected:
  void SetUp() override {
    if (!Factory::available()) {
      FURNACE_REQUIRE_ENGINE();
    }
    m_engine = Factory::make();
    ASSERT_NE(m_engine, nullptr);
  }
  Engine& engine() { return *m_engine; }

private:
  std::unique_ptr<Engine> m_engine;
};

using Engines = ::testing::Types<FakeEngineFactory, RealEngine>;
TYPED_TEST_SUITE(EngineContract, Engines);

TYPED_TEST(EngineContract, ping_reports_an_api_version) {
  auto p = this->engine().ping();
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_GE(compare_api_versions(p->api_version, "1.24"), 0) << p->api_version;
}

TYPED_TEST(EngineContract, version_and_info_describe_the_engine) {
  auto v = this->engine().version();
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_FALSE(v->version.empty());
  EXPECT_EQ(v->os, "linux");
  auto i = this->engine().info();
  ASSERT_TRUE(i) << i.error().message;
  EXPECT_FALSE(i->storage_driver.empty());
  EXPECT_FALSE(i->docker_root_dir.empty());
  EXPECT_FALSE(i->cgroup_driver.empty());
  EXPECT_TRUE(std::find(i->runtimes.begin(), i->runtimes.end(), "runc") != i->runtimes.end());
  EXPECT_EQ(i->default_runtime, "runc");
}

TYPED_TEST(EngineContract, lists_and_inspects_the_base_image) {
  auto list = this->engine().list_images();
  ASSERT_TRUE(list) << list.error().message;
  const bool found = std::any_of(list->begin(), list->end(), [](const ImageSummary& s) {
    return std::find(s.repo_tags.begin(), s.repo_tags.end(), k_base_image) != s.repo_tags.end();
  });
  EXPECT_TRUE(found);
  auto d = this->engine().inspect_image(k_base_image);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->id.rfind("sha256:", 0), 0U);
}

TYPED_TEST(EngineContract, a_missing_image_is_not_found_with_a_pull_hint) {
  auto d = this->engine().inspect_image("furnace-test/no-such-image:0");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().kind, core::ErrorKind::not_found);
  EXPECT_EQ(d.error().message.rfind("no image furnace-test/no-such-image:0 in the engine", 0), 0U)
      << d.error().message;
  EXPECT_EQ(d.error().hint, "pull it with 'docker pull furnace-test/no-such-image:0'");
}

TYPED_TEST(EngineContract, pull_streams_progress_and_surfaces_engine_errors) {
  int messages = 0;
  auto ok = this->engine().pull(k_base_image, [&](const PullProgress&) { ++messages; });
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_GT(messages, 0);
  auto bad = this->engine().pull("furnace-test/no-such-image:0", {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("pulling furnace-test/no-such-image:0: engine: ", 0), 0U)
      << bad.error().message;
}

// The events of a container that never existed: none, not an error (an OOM check after a run
// asks the same way; RunCli.limits_reach_the_engine_and_an_oom_kill_is_recorded_with_its_limit
// sees a real "oom").
TYPED_TEST(EngineContract, events_of_an_unknown_container_are_an_empty_list) {
  const long long now = static_cast<long long>(std::time(nullptr)) * 1000;
  auto events = this->engine().container_events("furnace-test-never-existed", now - 60000, now - 1000);
  ASSERT_TRUE(events) << events.error().message;
  EXPECT_TRUE(events->empty());
}

} // namespace
} // namespace furnace::engine
