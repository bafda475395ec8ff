#pragma once
// The setting the run pipeline's unit tests share (run, rerun, lab): furnace's directories under
// a temporary directory, and a fake engine that has the base image on a host without a driver.

#include "support/fake_engine.hpp"
#include "support/fake_gpu.hpp"

#include <furnace/core/context.hpp>
#include <furnace/core/error.hpp>

#include <string>

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

} // namespace furnace::testing
