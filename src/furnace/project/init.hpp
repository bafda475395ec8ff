#pragma once
// `furnace init`: inspect the project (the resolver) and write a commented furnace.yaml holding
// what was found and why. Never overwrites without --force; --print writes to stdout instead.

#include <furnace/core/context.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/project/load.hpp>

#include <string>

namespace furnace::project {

struct InitOptions {
  std::string path = ".";
  bool force = false;  // overwrite an existing furnace.yaml
  bool print = false;  // write to stdout, not to the file
};

// The furnace.yaml text for `project` (pure; it parses back with parse_furnace_yaml).
std::string render_furnace_yaml(const Project& project, std::string_view furnace_version);

// Exit code: 0 written (or printed), 1 error (exists without --force, unreadable project).
int run_init(core::Context& ctx, const InitOptions& options, gpu::GpuProbe& probe);

}  // namespace furnace::project
