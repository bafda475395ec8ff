#pragma once
// `furnace build`: load the project, render the Dockerfile, hash it with the base image's id
// into `furnace/<name>:<hash12>`, and build only when that image is not there yet.

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/project/furnace_yaml.hpp>

#include <string>

namespace furnace::build {

struct BuildOptions {
  std::string path = ".";
  bool force = false;    // build even when the tagged image exists
  bool dry_run = false;  // print the Dockerfile location and the build command, build nothing
  bool locked = false;   // build from furnace.lock and fail when the image differs from it
  bool for_run = false;  // called by `furnace run`: no tag on stdout, no "up to date" line
  // The network of the build's RUN steps (`--network NAME` to the builder; "" = the builder's
  // default). `host` reaches a package index on the host's 127.0.0.1. Not part of the hash.
  std::string network;
};

// What `furnace run` needs to know about the image it runs.
struct BuiltImage {
  std::string project_root;
  std::string project_name;
  project::FurnaceYaml yaml;   // defaults when the project has none
  std::string spec_hash;       // sha256 of furnace.yaml's text
  std::string tag;             // furnace/<name>:<hash12>
  std::string image_id;        // "" after a --dry-run that built nothing
  std::string base_image;
  std::string base_digest;
  std::string plan_json;       // the resolver's plan, for the history
  bool built = false;          // the builder ran
};

// Exit code: 0 the image exists (built now or before), 1 error (also: a --locked build that
// resolved differently from furnace.lock), 3 no base image could be chosen, or the builder's exit
// code when the build fails. The builder's output streams to stderr and into
// <data dir>/furnace/logs/build-<name>-<hash12>.log; a failure names the failing step, shows its
// last 30 lines and a hint. After a successful build (and after a no-op one whose furnace.lock
// names another image) furnace.lock is written.
// `out`, when given, is filled when the exit code is 0.
int run_build(core::Context& ctx, const BuildOptions& options, engine::Engine& engine,
              gpu::GpuProbe& probe, BuiltImage* out = nullptr);

}  // namespace furnace::build
