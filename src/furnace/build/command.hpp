#pragma once
// `furnace build`: load the project, render the Dockerfile, hash it with the base image's id
// into `furnace/<name>:<hash12>`, and build only when that image is not there yet.

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/gpu/gpu_probe.hpp>

#include <string>

namespace furnace::build {

struct BuildOptions {
  std::string path = ".";
  bool force = false;    // build even when the tagged image exists
  bool dry_run = false;  // print the Dockerfile location and the build command, build nothing
};

// Exit code: 0 the image exists (built now or before), 1 error, 3 no base image could be chosen,
// or the builder's exit code when the build fails.
int run_build(core::Context& ctx, const BuildOptions& options, engine::Engine& engine,
              gpu::GpuProbe& probe);

}  // namespace furnace::build
