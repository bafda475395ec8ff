// furnace images / furnace prune on a FakeEngine and a recording runner: which images are
// furnace's, which are garbage, that images in use stay, and that --dry-run only prints.

#include "support/fake_engine.hpp"
#include "support/fake_runner.hpp"
#include "support/test_env.hpp"

#include <furnace/image/facts.hpp>
#include <furnace/image/images.hpp>
#include <furnace/core/ui.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

namespace furnace::image {
namespace {

engine::ImageSummary image(std::string id,
                           std::vector<std::string> tags,
                           std::string project,
                           long long created,
                           long long size = 1LL << 30) {
  engine::ImageSummary s;
  s.id = std::move(id);
  s.repo_tags = std::move(tags);
  s.created = created;
  s.size = size;
  if (!project.empty()) {
    s.labels["org.furnace.project"] = std::move(project);
  }
  return s;
}

class BuildImages : public ::testing::Test {
protected:
  void SetUp() override {
    m_alive = m_dir.path() + "/alive";
    m_dir.write("alive/furnace.yaml", "name: alive\n");
    m_engine.images = {
        image("sha256:new", {"furnace/alive:222222222222"}, m_alive, 2000),
        image("sha256:old", {"furnace/alive:111111111111"}, m_alive, 1000),
        image("sha256:locked", {"furnace/alive:000000000000"}, m_alive, 500),
        image("sha256:gone", {"furnace/gone:333333333333"}, m_dir.path() + "/gone", 1500),
        image("sha256:used", {"furnace/gone:444444444444"}, m_dir.path() + "/gone", 1400),
        image("sha256:dangling", {"<none>:<none>"}, m_alive, 100),
        image("sha256:debian", {"debian:bookworm"}, "", 10),
        image("sha256:torch", {"pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime"}, "", 10),
    };
    m_dir.write("alive/furnace.lock",
                "image: furnace/alive:000000000000\nbase: debian:bookworm\n"
                "base-id: sha256:debian\n");
    m_runner.on("ps", {0, "c1\nc2\n", ""});
    m_runner.on("inspect", {0, "sha256:used\nsha256:used\n", ""});
  }

  testing::TempDir m_dir;
  std::string m_alive;
  testing::FakeEngine m_engine;
  testing::FakeRunner m_runner;
  std::ostringstream m_out;
  std::ostringstream m_err;
  core::Ui m_ui{m_out, m_err, false};
};

TEST_F(BuildImages, lists_only_furnace_images_by_project_newest_first) {
  const auto list = furnace_images(
      m_engine.images, {{"sha256:used", 2}}, [this](const std::string& d) { return d == m_alive; });
  ASSERT_EQ(list.size(), 6U);
  EXPECT_EQ(list[0].tag, "furnace/alive:222222222222");
  EXPECT_EQ(list[0].name, "alive");
  EXPECT_TRUE(list[0].project_exists);
  EXPECT_EQ(list[3].tag, ""); // the dangling one, oldest
  EXPECT_EQ(list[4].tag, "furnace/gone:333333333333");
  EXPECT_FALSE(list[4].project_exists);
  EXPECT_EQ(list[5].containers, 2);
}

TEST_F(BuildImages, prune_candidates_gone_projects_and_old_builds_but_not_locked_or_used) {
  const auto list = furnace_images(
      m_engine.images, {{"sha256:used", 1}}, [this](const std::string& d) { return d == m_alive; });
  const auto c = prune_candidates(list, {{m_alive, "furnace/alive:000000000000"}});
  std::vector<std::string> refs;
  for (const auto& p : c) {
    refs.push_back((p.image.tag.empty() ? p.image.id : p.image.tag) + " | " + p.why);
  }
  EXPECT_EQ(refs,
            (std::vector<std::string>{"furnace/alive:111111111111 | an older build of " + m_alive,
                                      "sha256:dangling | an older build of " + m_alive,
                                      "furnace/gone:333333333333 | the project " + m_dir.path() +
                                          "/gone is gone"}));
}

// The user layers of `furnace run` (newer than their base, and carrying its labels) belong to
// their base: not listed, their containers count for it, and prune removes them first.
TEST_F(BuildImages, user_layers_belong_to_their_base) {
  auto layer = [&](std::string id, std::string tag, const std::string& base, long long created) {
    auto s = image(std::move(id), {std::move(tag)}, m_alive, created);
    s.labels["org.furnace.user-layer-of"] = base;
    return s;
  };
  m_engine.images.push_back(layer("sha256:u-new", "furnace-user/alive:aaaaaaaaaaaa", "sha256:new", 3000));
  m_engine.images.push_back(layer("sha256:u-old", "furnace-user/alive:bbbbbbbbbbbb", "sha256:old", 3001));
  const auto list = furnace_images(
      m_engine.images, {{"sha256:u-new", 1}}, [this](const std::string& d) { return d == m_alive; });
  ASSERT_EQ(list.size(), 6U);
  EXPECT_EQ(list[0].tag, "furnace/alive:222222222222");
  EXPECT_EQ(list[0].containers, 1) << "a container of its user layer uses it";
  EXPECT_EQ(list[0].user_layers, std::vector<std::string>{"furnace-user/alive:aaaaaaaaaaaa"});

  core::Context ctx{m_ui, m_runner, {{"FURNACE_DOCKER", "docker"}}, "/"};
  m_runner.on("ps", {0, "c1\n", ""});
  m_runner.on("inspect", {0, "sha256:u-new\n", ""});
  ASSERT_EQ(run_prune(ctx, PruneOptions{}, m_engine, m_runner), 0) << m_err.str();
  const auto& calls = m_runner.calls;
  const auto at = [&](const std::string& c) {
    return std::find(calls.begin(), calls.end(), c) - calls.begin();
  };
  EXPECT_LT(at("docker rmi furnace-user/alive:bbbbbbbbbbbb"), at("docker rmi furnace/alive:111111111111"));
  EXPECT_EQ(at("docker rmi furnace-user/alive:aaaaaaaaaaaa"), static_cast<long>(calls.size()))
      << "the newest build stays, and so does its layer";
}

TEST_F(BuildImages, prune_dry_run_prints_docker_rmi_and_removes_nothing) {
  core::Context ctx{m_ui, m_runner, {{"FURNACE_DOCKER", "docker"}}, "/"};
  std::ostringstream printed;
  util::DryRunRunner dry(printed);
  EXPECT_EQ(run_prune(ctx, PruneOptions{{}, true}, m_engine, dry), 0);
  EXPECT_EQ(printed.str(),
            "docker rmi furnace/alive:111111111111\ndocker rmi sha256:dangling\n"
            "docker rmi furnace/gone:333333333333\n");
  EXPECT_EQ(
      m_runner.calls,
      (std::vector<std::string>{"docker ps -a -q --no-trunc",
                                "docker inspect --type container --format '{{.Image}}' c1 c2"}));
  EXPECT_NE(m_err.str().find("would remove furnace/gone:333333333333 (1.0 GiB): the project "),
            std::string::npos)
      << m_err.str();
  EXPECT_NE(m_err.str().find("keeping furnace/gone:444444444444: 2 container(s) use it"),
            std::string::npos)
      << m_err.str();
  EXPECT_NE(m_err.str().find("would remove 3 images (3.0 GiB)"), std::string::npos) << m_err.str();
}

TEST_F(BuildImages, prune_by_name_removes_through_the_cli_and_reports_failures) {
  core::Context ctx{m_ui, m_runner, {}, "/"};
  m_runner.on("rmi furnace/alive:111111111111",
              {1, "", "Error: conflict: unable to remove repository reference\n"});
  EXPECT_EQ(run_prune(ctx, PruneOptions{{"alive"}, false}, m_engine, m_runner), 1);
  EXPECT_EQ(m_runner.calls.back(), "docker rmi furnace/alive:111111111111");
  EXPECT_NE(m_err.str().find("furnace: warning: cannot remove furnace/alive:111111111111: Error: "
                             "conflict"),
            std::string::npos)
      << m_err.str();
  EXPECT_NE(m_err.str().find("removed 0 images"), std::string::npos);
}

TEST_F(BuildImages, images_table) {
  core::Context ctx{m_ui, m_runner, {}, "/"};
  EXPECT_EQ(run_images(ctx, ImagesOptions{{"gone"}}, m_engine), 0);
  const std::string gone = m_dir.path() + "/gone (gone)";
  const std::string pad(gone.size() - 7, ' ');
  EXPECT_EQ(m_out.str(),
            "PROJECT" + pad + "  IMAGE                      SIZE     CREATED           IN USE\n" +
                gone + "  furnace/gone:333333333333  1.0 GiB  1970-01-01 00:25  -\n" + gone +
                "  furnace/gone:444444444444  1.0 GiB  1970-01-01 00:23  2 containers\n");
  EXPECT_EQ(m_engine.calls, (std::vector<std::string>{"list_images"}));
}

TEST_F(BuildImages, images_json_carries_the_cached_facts_and_null_without_them) {
  const core::Env env{{"HOME", m_dir.path()}, {"XDG_CACHE_HOME", m_dir.path() + "/cache"}};
  ProbeResult probe;
  probe.facts_seen = true;
  probe.facts.python = "3.10.8";
  probe.facts.framework = "torch";
  probe.facts.framework_version = "1.13.1";
  probe.facts.cuda = "11.6";
  probe.facts.arch_list = {"sm_70", "sm_86"};
  write_cached_probe(env, "sha256:gone", probe);
  core::Context ctx{m_ui, m_runner, env, "/"};
  ImagesOptions o{{"gone"}};
  o.json = true;
  EXPECT_EQ(run_images(ctx, o, m_engine), 0);
  const auto j = nlohmann::json::parse(m_out.str());
  EXPECT_EQ(j.at("schema_version"), 1);
  ASSERT_EQ(j.at("images").size(), 2U);
  const auto& first = j.at("images")[0];
  EXPECT_EQ(first.at("tag"), "furnace/gone:333333333333");
  EXPECT_EQ(first.at("project_exists"), false);
  EXPECT_EQ(first.at("facts").at("python"), "3.10.8");
  EXPECT_EQ(first.at("facts").at("framework_version"), "1.13.1");
  EXPECT_EQ(first.at("facts").at("cuda"), "11.6");
  EXPECT_EQ(first.at("facts").at("arch_list"), nlohmann::json({"sm_70", "sm_86"}));
  EXPECT_TRUE(j.at("images")[1].at("facts").is_null());
  EXPECT_EQ(j.at("images")[1].at("containers"), 2);
  EXPECT_EQ(m_err.str(), "");
}

TEST_F(BuildImages, engine_errors_are_reported) {
  core::Context ctx{m_ui, m_runner, {}, "/"};
  m_engine.down = core::make_error(core::ErrorKind::unavailable, "cannot connect to fake://engine");
  EXPECT_EQ(run_images(ctx, {}, m_engine), 1);
  EXPECT_EQ(m_err.str(), "furnace: error: cannot connect to fake://engine\n");
}

} // namespace
} // namespace furnace::image
