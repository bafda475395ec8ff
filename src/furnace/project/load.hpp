#pragma once
// A project as `furnace build` and `furnace init` see it: furnace.yaml (when there is one), the
// Spec read from its files, and the resolver's Plan for this host with furnace.yaml's pins.

#include <furnace/core/context.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/project/furnace_yaml.hpp>
#include <furnace/resolve/resolver.hpp>
#include <furnace/deps/spec.hpp>

#include <optional>
#include <string>

namespace furnace::project {

struct Project {
  std::string root;                  // absolute, normalised
  std::optional<FurnaceYaml> yaml;   // nullopt: no furnace.yaml
  std::string yaml_text;             // "" when none
  std::string name;                  // furnace.yaml's name, else from the directory
  deps::Spec spec;
  resolve::Plan plan;
  bool cuda_extensions = false;      // CUDAExtension / build_ext found
  std::string cuda_extensions_where; // "setup.py:12"
};

enum class ReadYaml { no, yes };

// The project that `path` is in: the nearest directory upward holding furnace.yaml, else the
// nearest holding .git, else the nearest holding a dependency file (requirements.txt,
// environment.yml, setup.py, pyproject.toml, Pipfile, setup.cfg), else `path` itself (absolute,
// normalised).
std::string find_root(const std::string& path);

// furnace.yaml's framework pins as the resolver's overrides ("cpu"/"none" CUDA: no pin).
resolve::Overrides overrides_from(const FurnaceYaml& yaml);

// For `furnace resolve`: fills the empty fields of `o` from the furnace.yaml of the project at
// `path`, if there is one, so that resolve shows what build will use. Returns one line per pin
// taken (and for a `base` that replaces the resolver's image). Errors: an invalid furnace.yaml.
core::Result<std::vector<std::string>> add_yaml_pins(const std::string& path, resolve::Overrides& o);

// Reads and resolves the project at `path` (`read_yaml` no: as if it had no furnace.yaml).
// Errors: not a directory, an invalid furnace.yaml, an invalid override. Problems in the
// project's own files are diagnostics in `spec`.
// `cache_dir` (furnace's cache): where builds recorded the Python of the images they probed.
core::Result<Project> load_project(const std::string& path, gpu::GpuProbe& probe,
                                   ReadYaml read_yaml = ReadYaml::yes,
                                   const std::string& cache_dir = {});

}  // namespace furnace::project
