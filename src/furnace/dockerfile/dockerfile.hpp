#pragma once
// furnace.yaml + the resolver's Plan -> a Dockerfile and the few files its COPY lines need, and
// the content hash that names the image. Pure: the same inputs give byte-identical text.
//
// Order, for the layer cache: base image, system packages (apt, with the mirror), pip settings,
// framework pins (a constraints file that keeps the image's framework), requirements, conda
// environment, extras (furnace.yaml pip, jupyterlab), workdir. The project's code is never copied:
// `furnace run` mounts it.

#include <furnace/dockerfile/apt_for_pip.hpp>
#include <furnace/core/error.hpp>
#include <furnace/project/furnace_yaml.hpp>
#include <furnace/resolve/resolver.hpp>

#include <map>
#include <string>
#include <vector>

namespace furnace::dockerfile {

// BuildKit: cache mounts for apt and pip downloads. Legacy: the same steps without `--mount`,
// cleaning the apt lists and the pip cache inside the layer instead.
enum class Mode { buildkit, legacy };

struct RenderInput {
  project::FurnaceYaml yaml;
  resolve::Plan plan;
  std::string apt_mirror;    // mirror base URL ("" = the image's own sources)
  std::string pip_mirror;    // index URL ("" = PyPI)
  std::string conda_mirror;  // anaconda mirror base URL ("" = the defaults)
  std::string conda_environment;  // content of furnace.yaml's `conda` file ("" when none)
  bool cuda_extensions = false;   // the project builds CUDA extensions (spec diagnostic)
  std::string furnace_version;   // written in the header comment
  // `furnace build --locked` (furnace.lock); all empty otherwise, leaving the text unchanged.
  std::string base_pin;   // the FROM image instead of the resolved one ("name@sha256:…")
  std::string lock_text;  // the lock file: staged and hashed with the context, never copied
  std::string pip_lock;   // "name==version" lines: a constraints file for every pip install
  std::map<std::string, std::string> apt_versions;  // apt package -> the version to install
};

struct Rendered {
  std::string base_image;  // after `base` and `variant`
  std::string dockerfile;
  std::map<std::string, std::string> context;  // file name in the context -> content
  std::vector<std::string> apt_packages;       // sorted, deduplicated
  std::vector<std::string> notes;              // what furnace decided for the user ("added libgl1 …")
};

// Renders the Dockerfile. Errors (invalid): no base image (the plan found none and furnace.yaml
// names none); a requirement that would replace the base image's framework with another build.
core::Result<Rendered> render(const RenderInput& input, Mode mode,
                              const AptForPip& apt_for_pip = builtin_apt_for_pip());

// SHA-256 over the canonical (BuildKit) Dockerfile, every context file (name and content) and
// the base image's id, so the tag does not depend on which builder this host has.
std::string content_hash(const Rendered& canonical, const std::string& base_image_id);

// "furnace/<name>:<first 12 hex digits of hash>".
std::string image_tag(const std::string& name, const std::string& hash);

}  // namespace furnace::dockerfile
