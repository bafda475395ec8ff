#pragma once
// The project's Dockerfile and the files its COPY lines read, as `furnace build` renders them,
// without building: for front ends that hand the build to another tool (`furnace ide
// --dockerfile`). Rendered for the classic builder (no BuildKit cache mounts, no syntax
// directive), which every builder reads.

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/image/ensure.hpp>

#include <map>
#include <string>

namespace furnace::image {

struct ProjectDockerfile {
  std::string dockerfile;
  std::map<std::string, std::string> context; // file name in the build context -> content
};

// Errors as ensure_image's before it builds (the project, furnace.yaml, no base image: exit 3).
core::Result<ProjectDockerfile> render_project_dockerfile(core::Context& ctx,
                                                          const ImageRequest& request,
                                                          engine::Engine& engine,
                                                          gpu::GpuProbe& probe);

} // namespace furnace::image
