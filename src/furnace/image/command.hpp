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
  bool no_verify = false; // skip the imports and `pip check` after a build (the facts stay)
};

// Exit code: 0 the image exists (built now or before; its tag on stdout), else the error's (see
// ensure_image). With --dry-run, the build command on stdout when it would build. After a build,
// one summary line of `furnace verify`'s checks on stderr (from the probe's cached facts: no
// further container); when a check fails, its findings, the tag still on stdout (the image is
// kept) and exit 1.
int run_build(core::Context& ctx, const BuildOptions& options, engine::Engine& engine,
              gpu::GpuProbe& probe);

struct VerifyOptions {
  std::string path = ".";
  bool json = false;
  std::string gpus; // --gpus all|N[,M]|auto:N: also a matrix multiply on them; "" / "none": not
  std::string user; // who asks (auto:N's choice names other users' processes)
};

// `furnace verify`: the project's image (built first when it is not there), its facts and checks
// (cached by image id: a second verify of the same image runs no container) against the plan and
// this host's GPUs. With `gpus`, one more container on those GPUs runs a matrix multiply with the
// plan's framework (device.hpp; never cached). The report on stdout (JSON with --json,
// docs/verify.md); exit 0 when every check passed, 1 when one failed, 2 for a bad --gpus, else the
// error's (see ensure_image).
int run_verify(core::Context& ctx, const VerifyOptions& options, engine::Engine& engine,
               gpu::GpuProbe& probe);

}  // namespace furnace::image
