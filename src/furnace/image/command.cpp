// furnace build: ensure_image, then the tag (or the build command of a dry run) on stdout.

#include "command.hpp"

namespace furnace::image {

int run_build(core::Context& ctx, const BuildOptions& options, engine::Engine& engine,
              gpu::GpuProbe& probe) {
  ImageRequest request;
  request.path = options.path;
  request.force = options.force;
  request.dry_run = options.dry_run;
  request.locked = options.locked;
  request.network = options.network;
  auto img = ensure_image(ctx, request, engine, probe);
  if (!img) {
    ctx.ui.error(img.error());
    return img.error().exit_code;
  }
  if (!img->build_command.empty()) {
    ctx.ui.out() << img->build_command << '\n';
  } else if (!(options.dry_run && img->image_id.empty())) {
    ctx.ui.out() << img->tag << '\n';
  }
  return 0;
}

}  // namespace furnace::image
