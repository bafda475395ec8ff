#pragma once
// The image facts: what the built image really runs (Python, pip, the framework's version and the
// CUDA/cuDNN/GPU architectures it was built for, the distribution), and what `furnace verify`
// checks inside it (`pip check`, the import of every top-level module of the project's
// requirements). The probe after a build collects them in the same container that lists the
// packages for furnace.lock (lock.hpp); they are cached by image id under the cache directory, so
// a later `furnace verify` of the same image runs no container.

#include <furnace/core/context.hpp>
#include <furnace/core/error.hpp>
#include <furnace/resolve/resolver.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace furnace::image {

struct ImageFacts {
  std::string python;            // "3.11.2"; "" when the image has no Python
  std::string python_path;       // "/opt/conda/bin/python3"
  std::string pip;               // "23.0.1"; "" without pip
  std::string framework;         // the module: "torch", "tensorflow", "jax"; "" none
  std::string framework_version; // "1.13.1"
  std::string framework_error;   // the exception when the framework itself does not import
  std::string cuda;              // the CUDA the framework was built with ("11.8"); "" CPU build
  std::string cudnn;             // "8700" (as the framework reports it)
  std::vector<std::string> arch_list; // "sm_70", "compute_70": the build's kernels
  std::string jaxlib;                 // jaxlib's version, with jax
  std::string os;                     // /etc/os-release PRETTY_NAME
};

// One top-level module of a requirement, imported in the image.
struct ImportResult {
  std::string distribution; // as the project wrote it ("opencv-python")
  std::string module;       // "cv2"
  bool installed = true;    // the distribution's metadata was found
  bool ok = false;
  std::string error; // "ModuleNotFoundError: No module named 'cv2'"
};

// What the probe asks besides the facts: the framework to import first, the distributions whose
// modules must import, and whether to run `pip check`.
struct ProbeRequest {
  std::string framework;                  // the plan's ("pytorch" -> torch); "" = find one
  std::vector<std::string> distributions; // sorted, unique
  bool pip_check = true;

  bool operator==(const ProbeRequest&) const = default;
};

struct ProbeResult {
  ProbeRequest request; // what was asked (a cached result answers only the same request)
  ImageFacts facts;
  bool facts_seen = false; // the probe's Python printed its facts (false: no Python, or it died)
  std::optional<int> pip_check_exit;  // nullopt: not run
  std::vector<std::string> pip_check; // its output lines
  std::vector<ImportResult> imports;
};

// The request for a plan: its framework, and every requirement without an environment marker.
ProbeRequest probe_request(const resolve::Plan& plan);

// The Python program the probe runs after `pip freeze` (environment: FURNACE_PROBE_FRAMEWORK,
// FURNACE_PROBE_IMPORTS, FURNACE_PROBE_PIP_CHECK). It prints only `#furnace-…` lines, which the
// package listing skips as comments.
std::string facts_program();

// `-e NAME=VALUE` arguments for `docker run` that pass `request` and the program.
std::vector<std::string> probe_env_args(const ProbeRequest& request);

// The facts, imports and `pip check` from the probe's output (the `#furnace-…` lines).
ProbeResult read_probe_result(std::string_view output, const ProbeRequest& request);

nlohmann::json to_json(const ImageFacts& facts);
ImageFacts facts_from_json(const nlohmann::json& j);
nlohmann::json to_json(const ProbeResult& result);
std::optional<ProbeResult> probe_result_from_json(const nlohmann::json& j);

// <cache>/verify/<id hex>.json
std::string facts_cache_path(const core::Env& env, const std::string& image_id);
// The cached result for `image_id`, when it answered `request`; nullopt otherwise.
std::optional<ProbeResult>
read_cached_probe(const core::Env& env, const std::string& image_id, const ProbeRequest& request);
// The facts cached for `image_id` whatever request they answered (`furnace show`, `furnace images
// --json`): no container runs. nullopt when nothing is cached or the probe saw no facts.
std::optional<ImageFacts> read_cached_facts(const core::Env& env, const std::string& image_id);
// The facts as "key: value" lines for people: "python" ("3.10.8 (/opt/conda/bin/python)"),
// "framework" ("torch 1.13.1 (CUDA 11.6, cuDNN 8302)"; "CPU build" without CUDA) and "arch list"
// ("sm_70, sm_80, compute_80"); a field the facts lack is left out.
std::vector<std::pair<std::string, std::string>> facts_fields(const ImageFacts& facts);
// Best effort: a cache that cannot be written only costs a container later.
void write_cached_probe(const core::Env& env, const std::string& image_id, const ProbeResult& r);

// The plan's fields that the checks need, from the JSON the history and the no-op cache keep
// (resolve::to_json). Unknown or missing fields stay empty.
resolve::Plan plan_from_json(std::string_view plan_json);

} // namespace furnace::image
