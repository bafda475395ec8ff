#pragma once
// `furnace images` and `furnace prune`: the images furnace built (those with the
// org.furnace.project label), which project each belongs to, and which of them are garbage:
// every image of a project whose directory is gone, and the older builds of a living project
// (all but its newest image and the one its furnace.lock names). Images a container uses are
// never removed. Removal goes through the docker CLI (`docker rmi`), so `--dry-run` prints it.

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/image/facts.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace furnace::image {

struct FurnaceImage {
  std::string id;      // "sha256:…"
  std::string tag;     // "furnace/x:abc123def456"; "" when untagged
  std::string name;    // "x" ("" when untagged)
  std::string project; // the org.furnace.project label: the project's directory
  bool project_exists = false;
  long long size = 0;
  long long created = 0; // unix seconds
  int containers = 0;    // containers (running or not) created from it or its user layers
  std::vector<std::string> user_layers; // furnace-user/… images built on it (`furnace run`)
};

// furnace's images among `images`: one entry per furnace/… tag (or one untagged entry), sorted
// by project, then newest first. The user layers `furnace run` adds on top of an image
// (label org.furnace.user-layer-of) are not entries of their own: they belong to their base.
// by project, then newest first. `containers` maps image ids to their container counts;
// `exists` says whether a project directory is still there.
std::vector<FurnaceImage> furnace_images(const std::vector<engine::ImageSummary>& images,
                                         const std::map<std::string, int>& containers,
                                         const std::function<bool(const std::string&)>& exists);

struct PruneCandidate {
  FurnaceImage image;
  std::string why; // "the project /p is gone", "an older build of /p"
};

// What `furnace prune` removes from `images` (see the top of this file). `locked` maps a project
// directory to the image its furnace.lock names. Images used by a container are left out.
std::vector<PruneCandidate> prune_candidates(const std::vector<FurnaceImage>& images,
                                             const std::map<std::string, std::string>& locked);

struct ImagesOptions {
  std::vector<std::string> names; // only furnace/<name> images; empty = all
  bool json = false;              // --json: the images as JSON instead of the table
};

// One image for `furnace images --json` (docs/build.md): its fields, and `facts` (the image's
// cached verify facts, facts.hpp's to_json) or null when nothing is cached for it.
nlohmann::json to_json(const FurnaceImage& image, const std::optional<ImageFacts>& facts);

struct PruneOptions {
  std::vector<std::string> names; // only furnace/<name> images; empty = all
  bool dry_run = false;           // print the `docker rmi` commands, remove nothing
};

// Prints the table of furnace's images to stdout, or with `json` {"schema_version": 1, "images":
// [to_json(image, its cached facts), ...]} (no container runs). Exit code: 0, or 1 when the engine
// fails.
int run_images(core::Context& ctx, const ImagesOptions& options, engine::Engine& engine);

// Removes the prune candidates with `remover` (ctx.runner, or a DryRunRunner for --dry-run);
// containers are listed through ctx.runner either way. Exit code: 0, or 1 when the engine or a
// removal fails.
int run_prune(core::Context& ctx,
              const PruneOptions& options,
              engine::Engine& engine,
              util::ProcessRunner& remover);

} // namespace furnace::image
