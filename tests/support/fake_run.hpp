#pragma once
// The setting the run pipeline's unit tests share (run, rerun, lab): furnace's directories under
// a temporary directory, a fake engine that has the base image on a host without a driver, and
// the history the runs leave.

#include "support/fake_engine.hpp"
#include "support/fake_gpu.hpp"

#include <furnace/core/context.hpp>
#include <furnace/core/error.hpp>
#include <furnace/history/store.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace furnace::testing {

// HOME and the XDG directories under dir, BuildKit for builds, the docker CLI.
inline core::Env run_test_env(const std::string& dir) {
  return {{"HOME", dir + "/home"},
          {"XDG_CONFIG_HOME", dir + "/config"},
          {"XDG_DATA_HOME", dir + "/data"},
          {"XDG_CACHE_HOME", dir + "/cache"},
          {"FURNACE_BUILDER", "buildkit"},
          {"FURNACE_DOCKER", "docker"}};
}

// The base image (id sha256:base) in the engine, and a probe that finds no NVIDIA driver.
inline void
base_image_without_gpu(FakeEngine& engine, FakeGpuProbe& probe, const std::string& base) {
  engine::ImageSummary image;
  image.id = "sha256:base";
  image.repo_tags = {base};
  engine.images.push_back(image);
  probe.error = core::make_error(core::ErrorKind::not_found, "no NVIDIA driver");
}

// The runs the history under env holds (a test failure when it cannot be read).
inline std::vector<history::RunRecord> recorded_runs(const core::Env& env) {
  auto store = history::Store::open(history::default_path(env));
  EXPECT_TRUE(store.has_value());
  if (!store) {
    return {};
  }
  auto list = store->list(history::Query{});
  EXPECT_TRUE(list.has_value());
  return list ? *list : std::vector<history::RunRecord>{};
}

} // namespace furnace::testing
