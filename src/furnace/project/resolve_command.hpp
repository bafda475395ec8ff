#pragma once
// `furnace resolve` as a whole: read the project, ask the GPU probe (unless --gpu and --driver say
// everything), resolve, print. The CLI fills ResolveOptions and calls run_resolve.

#include <furnace/core/context.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/resolve/resolver.hpp>

#include <string>
#include <vector>

namespace furnace::project {

struct ResolveOptions {
  std::string path = ".";        // the project directory
  bool json = false;             // print the JSON document instead of the report
  std::vector<std::string> gpus; // --gpu NAME|CC (repeatable, comma-separated)
  std::string driver;            // --driver VERSION
  resolve::Overrides overrides;
};

// Exit code: 0 when a runnable plan exists (or --allow-incompatible chose one), 3 when none
// does, 1 when the project cannot be read, 2 for bad options.
int run_resolve(core::Context& ctx, const ResolveOptions& options, gpu::GpuProbe& probe);

} // namespace furnace::project
