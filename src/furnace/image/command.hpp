#pragma once
// `furnace build`: the front end of ensure_image (image/ensure.hpp) that prints the image's tag.

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/image/ensure.hpp>

#include <string>

namespace furnace::image {

struct BuildOptions {
  std::string path = ".";
  bool force = false;    // build even when the tagged image exists
  bool dry_run = false;  // print the Dockerfile location and the build command, build nothing
  bool locked = false;   // build from furnace.lock and fail when the image differs from it
  std::string network;   // the network of the build's RUN steps (see ImageRequest)
};

// Exit code: 0 the image exists (built now or before; its tag on stdout), else the error's (see
// ensure_image). With --dry-run, the build command on stdout when it would build.
int run_build(core::Context& ctx, const BuildOptions& options, engine::Engine& engine,
              gpu::GpuProbe& probe);

}  // namespace furnace::image
