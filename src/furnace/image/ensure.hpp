#pragma once
// ensure_image: the project's image, as a value. Load the project, render the Dockerfile, hash it
// with the base image's id into `furnace/<name>:<hash12>`, and build only when that image is not
// there yet (the no-op cache answers an unchanged project without reading it again). After a
// successful build (and after a no-op whose furnace.lock names another image) furnace.lock is
// written. Front ends (`furnace build`, `furnace run`, and later `lab`, `ide`, `export`) print
// the result; this prints only progress and diagnostics on stderr.

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/project/furnace_yaml.hpp>

#include <string>

namespace furnace::image {

// Which progress lines to say: a `furnace build` says the renderer's notes and "is up to date";
// `furnace run` stays quiet about an unchanged image and says the notes only when it builds.
enum class Announce { always, builds_only };

struct ImageRequest {
  std::string path = ".";
  bool force = false;   // build even when the tagged image exists
  bool dry_run = false; // decide everything, build nothing: `build_command` says what would run
  bool locked = false;  // build from furnace.lock and fail when the image differs from it
  Announce announce = Announce::always;
  // The network of the build's RUN steps (`--network NAME` to the builder; "" = the builder's
  // default). `host` reaches a package index on the host's 127.0.0.1. Not part of the hash.
  std::string network;
  // The probe after a build also imports the requirements and runs `pip check` (facts.hpp), for
  // `furnace verify` and the check at the end of `furnace build`; false: the facts only.
  bool verify = true;
};

// The image a project runs in, and what the history records about it.
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
  std::string build_command;   // a dry run that would build: the builder's command, shell-quoted
};

// Errors carry the exit code `furnace build` returns: 1 (also: a --locked build that resolved
// differently from furnace.lock), 3 when no base image could be chosen, or the builder's exit
// code when the build fails. A failed build has already shown its failing step and last 30
// lines on stderr; its full output is in <data dir>/furnace/logs/build-<name>-<hash12>.log.
core::Result<BuiltImage> ensure_image(core::Context& ctx, const ImageRequest& request,
                                      engine::Engine& engine, gpu::GpuProbe& probe);

} // namespace furnace::image
