// A base image the engine cannot pull: furnace build says the engine's own words (the registry it
// could not reach and why), not "HTTP 500", with a hint that fits (a mirror for Docker Hub, the
// registry's reachability for another one, the name for a missing image). FakeEngine here; the
// HTTP side (an error status on the streamed pull) is in endpoint_test.cpp, the real engine in
// build_cli_test.cpp.

#include "support/fake_engine.hpp"
#include "support/fake_gpu.hpp"
#include "support/fake_runner.hpp"
#include "support/test_env.hpp"

#include <furnace/core/ui.hpp>
#include <furnace/image/ensure.hpp>

#include <gtest/gtest.h>

#include <sstream>

namespace furnace::image {
namespace {

struct Built {
  bool ok = false;
  core::Error error;
  std::vector<std::string> calls;
};

Built build_with_base(const std::string& base, const std::optional<std::string>& pull_failure) {
  testing::TempDir dir;
  dir.write("project/furnace.yaml", "name: pulltest\nbase: " + base + "\n");
  testing::FakeEngine engine;
  engine.pull_failure = pull_failure;
  testing::FakeGpuProbe probe;
  probe.error = core::make_error(core::ErrorKind::not_found, "no NVIDIA driver");
  testing::FakeRunner runner;
  runner.fallback.code = 1;
  std::ostringstream out;
  std::ostringstream err;
  core::Ui ui(out, err, false);
  core::Env env{{"HOME", dir.path() + "/home"},
                {"XDG_CONFIG_HOME", dir.path() + "/config"},
                {"FURNACE_BUILDER", "buildkit"}};
  core::Context ctx{ui, runner, env, "/"};
  ImageRequest o;
  o.path = dir.path() + "/project";
  auto img = ensure_image(ctx, o, engine, probe);
  Built b;
  b.ok = static_cast<bool>(img);
  if (!img) {
    b.error = img.error();
  }
  b.calls = engine.calls;
  return b;
}

TEST(PullErrors, an_unreachable_docker_hub_is_quoted_with_the_mirror_hint) {
  const std::string said = "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup "
                           "registry-1.docker.io: no such host";
  const Built b = build_with_base("pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime", said);
  ASSERT_FALSE(b.ok);
  EXPECT_EQ(b.error.message,
            "pulling pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime: engine: " + said);
  EXPECT_EQ(b.error.message.find("HTTP 500"), std::string::npos);
  EXPECT_NE(b.error.hint.find("could not reach Docker Hub"), std::string::npos) << b.error.hint;
  EXPECT_NE(b.error.hint.find("'sudo furnace setup --mirror URL'"), std::string::npos)
      << b.error.hint;
  EXPECT_NE(std::find(b.calls.begin(),
                      b.calls.end(),
                      "pull pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"),
            b.calls.end());
}

TEST(PullErrors, another_registry_is_named_and_the_mirror_is_said_not_to_help) {
  const std::string said =
      "Get \"https://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused";
  const Built b = build_with_base("127.0.0.1:1/none:tag", said);
  ASSERT_FALSE(b.ok);
  EXPECT_EQ(b.error.message, "pulling 127.0.0.1:1/none:tag: engine: " + said);
  EXPECT_EQ(b.error.kind, core::ErrorKind::remote);
  EXPECT_NE(b.error.hint.find("could not reach the registry 127.0.0.1:1:"), std::string::npos)
      << b.error.hint;
  EXPECT_NE(b.error.hint.find("'sudo furnace setup --mirror URL' only serves Docker Hub images"),
            std::string::npos)
      << b.error.hint;
}

TEST(PullErrors, a_missing_image_points_at_its_name) {
  const Built b = build_with_base("debian:no-such-tag", std::nullopt);
  ASSERT_FALSE(b.ok);
  EXPECT_EQ(b.error.kind, core::ErrorKind::not_found);
  EXPECT_NE(b.error.message.find("pulling debian:no-such-tag: engine: manifest for"),
            std::string::npos)
      << b.error.message;
  EXPECT_NE(b.error.hint.find("check the image name and tag (debian:no-such-tag)"),
            std::string::npos)
      << b.error.hint;
}

TEST(PullErrors, the_registry_is_told_from_the_first_name_part) {
  const std::string said = "connection refused";
  EXPECT_NE(engine::pull_error("localhost/x:1", said, false).hint.find("registry localhost:"),
            std::string::npos);
  EXPECT_NE(engine::pull_error("ghcr.io/a/b:1", said, false).hint.find("registry ghcr.io:"),
            std::string::npos);
  EXPECT_NE(engine::pull_error("library/debian:12", said, false).hint.find("Docker Hub"),
            std::string::npos);
  EXPECT_NE(engine::pull_error("debian", said, false).hint.find("Docker Hub"), std::string::npos);
}

} // namespace
} // namespace furnace::image
