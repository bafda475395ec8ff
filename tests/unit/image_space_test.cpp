// The disk-space preflight and the "no space left on device" message (RELIABILITY case 28): the
// estimate (manifest bytes times the expansion factor, or the table), where a manifest is read
// from, the warning and the error's wording with the `docker system df` table.

#include "support/fake_engine.hpp"

#include <furnace/core/ui.hpp>
#include <furnace/image/space.hpp>

#include <gtest/gtest.h>

#include <sstream>

namespace furnace::image {
namespace {

constexpr long long k_mib = 1024LL * 1024;
constexpr long long k_gib = 1024LL * k_mib;

TEST(ImageSpace, the_estimate_is_the_compressed_size_times_the_expansion_factor) {
  EXPECT_DOUBLE_EQ(k_pull_expansion, 3.0);
  EXPECT_EQ(pull_needs(100 * k_mib), 300 * k_mib);
  EXPECT_EQ(pull_needs(0), 0);
  EXPECT_EQ(pull_needs(1), 3);
}

TEST(ImageSpace, known_base_images_have_a_size_others_have_none) {
  EXPECT_EQ(known_compressed_bytes("pytorch/pytorch:2.9.1-cuda13.0-cudnn9-runtime"), 4 * k_gib);
  EXPECT_EQ(known_compressed_bytes("pytorch/pytorch:2.1.0-cuda11.8-cudnn8-devel"), 10 * k_gib);
  EXPECT_EQ(known_compressed_bytes("docker.io/nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04"),
            6 * k_gib);
  EXPECT_EQ(known_compressed_bytes("nvidia/cuda:12.4.1-runtime-ubuntu22.04"), 2 * k_gib);
  EXPECT_EQ(known_compressed_bytes("nvcr.io/nvidia/pytorch:24.01-py3"), 10 * k_gib);
  EXPECT_EQ(known_compressed_bytes("debian:bookworm"), std::nullopt);
  EXPECT_EQ(known_compressed_bytes("127.0.0.1:5000/team/base:1"), std::nullopt);
}

TEST(ImageSpace, a_hub_image_is_looked_up_on_the_engines_mirrors) {
  engine::EngineInfo info;
  EXPECT_TRUE(manifest_sources("pytorch/pytorch:2.1", info).empty()); // no mirror: no lookup
  info.registry_mirrors = {"http://127.0.0.1:5757/", "https://mirror.invalid"};
  const auto s = manifest_sources("debian:bookworm", info);
  ASSERT_EQ(s.size(), 2U);
  EXPECT_EQ(s[0].base_url, "http://127.0.0.1:5757/");
  EXPECT_EQ(s[0].repository, "library/debian");
  EXPECT_EQ(s[0].reference, "bookworm");
  EXPECT_EQ(s[1].base_url, "https://mirror.invalid");
  const auto d = manifest_sources("docker.io/pytorch/pytorch@sha256:abc", info);
  ASSERT_EQ(d.size(), 2U);
  EXPECT_EQ(d[0].repository, "pytorch/pytorch");
  EXPECT_EQ(d[0].reference, "sha256:abc");
}

TEST(ImageSpace, an_explicit_registry_is_asked_directly_over_http_only_when_loopback_or_insecure) {
  engine::EngineInfo info;
  info.registry_mirrors = {"http://127.0.0.1:5757"};
  auto s = manifest_sources("127.0.0.1:5000/team/base:1", info);
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].base_url, "http://127.0.0.1:5000");
  EXPECT_EQ(s[0].repository, "team/base");
  EXPECT_EQ(s[0].reference, "1");
  s = manifest_sources("registry.invalid:5000/team/base", info);
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].base_url, "https://registry.invalid:5000");
  EXPECT_EQ(s[0].reference, "latest");
  info.insecure_registries = {"registry.invalid:5000"};
  s = manifest_sources("registry.invalid:5000/team/base", info);
  EXPECT_EQ(s[0].base_url, "http://registry.invalid:5000");
}

TEST(ImageSpace, the_warning_names_the_image_the_sizes_the_root_and_how_it_estimated) {
  SizeEstimate e;
  e.compressed = 2 * k_gib;
  e.needed = pull_needs(e.compressed);
  e.source = "the manifest at http://127.0.0.1:5757";
  const std::string w = space_warning("pytorch/pytorch:2.1", e, "/var/lib/docker", 1 * k_gib);
  EXPECT_NE(w.find("pulling pytorch/pytorch:2.1 needs about 6.0 GiB"), std::string::npos) << w;
  EXPECT_NE(w.find("data root /var/lib/docker, which has 1.0 GiB free"), std::string::npos) << w;
  EXPECT_NE(w.find("no space left on device"), std::string::npos) << w;
  EXPECT_NE(w.find("2.0 GiB compressed, from the manifest at http://127.0.0.1:5757, times 3"),
            std::string::npos)
      << w;
  const std::string h = free_space_hint();
  EXPECT_NE(h.find("furnace prune"), std::string::npos);
  EXPECT_NE(h.find("docker system prune"), std::string::npos);
  EXPECT_NE(h.find("data-root"), std::string::npos);
}

TEST(ImageSpace, no_space_is_recognised_in_engine_and_builder_output) {
  EXPECT_TRUE(says_no_space("failed to register layer: Error processing tar file(exit status "
                            "1): write /usr/lib/x.so: no space left on device"));
  EXPECT_TRUE(says_no_space("ERROR: write /var/lib/docker/tmp/x: No Space Left On Device"));
  EXPECT_FALSE(says_no_space("manifest unknown"));
}

TEST(ImageSpace, the_disk_usage_table_reads_like_docker_system_df) {
  engine::DiskUsage d;
  d.images = {3, 1, 2 * k_gib, 1 * k_gib};
  d.containers = {2, 1, 10 * k_mib, 4 * k_mib};
  d.volumes = {1, 0, 0, 0};
  d.build_cache = {5, 0, 512 * k_mib, 512 * k_mib};
  const std::string t = render_disk_usage(d);
  EXPECT_NE(t.find("TYPE"), std::string::npos) << t;
  EXPECT_NE(t.find("RECLAIMABLE"), std::string::npos) << t;
  EXPECT_NE(t.find("Images             3       1     2.0 GiB     1.0 GiB (50%)"), std::string::npos)
      << t;
  EXPECT_NE(t.find("Build Cache        5       0   512.0 MiB   512.0 MiB (100%)"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("Local Volumes      1       0         0 B         0 B (0%)"), std::string::npos)
      << t;
}

TEST(ImageSpace, a_full_disk_error_says_so_plainly_and_keeps_the_engines_words) {
  testing::FakeEngine engine;
  const core::Error e = core::make_error(
      core::ErrorKind::remote,
      "pulling x:1: engine: failed to register layer: write /a: no space left on device");
  const core::Error full = disk_full_error(e, engine);
  EXPECT_EQ(full.message.rfind("no space left on device: the engine's data root", 0), 0U)
      << full.message;
  EXPECT_NE(full.message.find("failed to register layer"), std::string::npos) << full.message;
  EXPECT_NE(full.hint.find("docker system prune"), std::string::npos);
  EXPECT_EQ(full.kind, core::ErrorKind::remote);
}

TEST(ImageSpace, a_failure_after_the_warning_says_space_may_be_the_cause) {
  const core::Error e = core::make_error(core::ErrorKind::unavailable,
                                         "pulling debian:12: engine: Get \"https://registry-1."
                                         "docker.io/v2/\": dial tcp: no such host",
                                         "the engine could not reach Docker Hub");
  const core::Error m = maybe_out_of_space(e);
  EXPECT_EQ(m.message.rfind(e.message, 0), 0U) << m.message;
  EXPECT_NE(m.message.find("\nthe engine's data root was short of space for this pull"),
            std::string::npos)
      << m.message;
  EXPECT_EQ(m.hint.rfind(free_space_hint(), 0), 0U) << m.hint;
  EXPECT_NE(m.hint.find("; else: the engine could not reach Docker Hub"), std::string::npos);
}

TEST(ImageSpace, a_remote_engine_is_not_checked_and_says_why) {
  testing::FakeEngine engine; // endpoint fake://engine: not a unix socket on this host
  std::ostringstream out;
  std::ostringstream err;
  core::Ui ui(out, err, false);
  EXPECT_FALSE(preflight_pull_space(ui, engine, "pytorch/pytorch:2.1"));
  EXPECT_NE(err.str().find("not checking free space for pytorch/pytorch:2.1"), std::string::npos)
      << err.str();
  EXPECT_EQ(err.str().find("warning"), std::string::npos) << err.str();
}

TEST(ImageSpace, free_bytes_reads_the_file_system) {
  const auto f = free_bytes("/");
  ASSERT_TRUE(f.has_value());
  EXPECT_GT(*f, 0);
  EXPECT_FALSE(free_bytes("/no/such/dir/furnace").has_value());
}

} // namespace
} // namespace furnace::image
