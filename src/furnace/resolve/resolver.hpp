#pragma once
// The resolver: from what a project declares (Spec), what the host has (Host) and the compat
// tables, to a Plan — framework, version, Python, CUDA/cuDNN and base image — with the reasons,
// the warnings and the nearest alternatives. Pure: the same inputs give the same plan.

#include <furnace/core/error.hpp>
#include <furnace/deps/spec.hpp>
#include <furnace/resolve/compat.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace furnace::resolve {

struct HostGpu {
  std::string name; // "NVIDIA H200"
  int cc_major = 0;
  int cc_minor = 0;

  std::string sm() const; // "sm_90"
  std::string cc() const; // "9.0"
};

// What the plan is for: this host or another one (--gpu, --driver), as plain data. The caller
// gathers it once (project::make_host turns a GPU probe's answer into it); the resolver never
// touches the hardware.
struct Host {
  std::string driver;        // "550.54.15", "" when unknown
  std::string cuda_driver;   // newest CUDA the driver supports ("12.4"), "" when unknown
  std::vector<HostGpu> gpus; // empty: no GPU (plan runs on the CPU)
  std::string source;        // "nvml", "nvidia-smi", "--gpu", "none"
  std::string note;          // why there is no GPU information, when there is none
  // The Python each image pulled here was seen to run ("pytorch/pytorch:1.13.1-…" -> "3.10.8"),
  // from the probe after a build: it replaces images.csv's answer for that image.
  std::map<std::string, std::string> image_python;
};

struct Overrides {
  std::string framework; // "pytorch", "tensorflow", "jax"; "" = infer
  std::string version;   // framework version; "" = from the project
  std::string python;    // "3.8"
  std::string cuda;      // "11.8"
  std::string as_of;     // "2019-06-01": plan as of that date instead of the project's era
  bool latest = false;   // ignore the project's era: the newest release the project allows
  bool allow_incompatible = false;
};

struct Package {
  std::string name;
  std::string specifier;
  std::string source; // "requirements.txt:4"
  std::string marker;
  bool from_image = false; // the base image already carries it (the framework itself)
};

struct Evidence {
  // "requirement", "constraint", "statement" (README prose), "python", "cuda", "base_image",
  // "index_url", "imports", "date", "api" (an API call that needs some releases)
  std::string kind;
  std::string text; // "torch==1.4.0"
  std::string source;
  std::string confidence; // "high", "medium", "low"
  bool used = false;      // whether it decided something in the plan
};

struct Reason {
  std::string message;
  std::vector<std::string> evidence; // "requirements.txt:3"
  bool unverified = false;           // rests on table cells marked '?'
};

struct Warning {
  std::string code;
  std::string message;
  bool input = false; // about the project's files (already shown as a diagnostic)
};

struct Alternative {
  std::string framework;
  std::string framework_version;
  std::string cuda;
  std::string python;
  std::string base_image;
  std::string note; // "first with sm_90", "newest that runs here"
};

struct Plan {
  std::optional<std::string> framework; // "pytorch", "tensorflow", "jax"; nullopt: none found
  std::string framework_version;
  std::string python;
  std::string python_source;   // "image" (what the base image ships), "project", "table"
  bool python_install = false; // the base image ships another Python: the build adds this one
  std::optional<std::string> cuda;
  std::string cudnn;
  std::string base_image;
  std::string pip_index; // where the framework comes from when the image does not carry it
  bool image_unverified = false;
  std::vector<Package> packages;
  std::vector<Evidence> evidence;
  std::vector<Reason> reasons;
  std::vector<Warning> warnings;
  std::vector<Alternative> alternatives;
  Host host;
  std::string era_date;   // when the project was written, "" unknown or ignored
  std::string era_source; // "git", "readme", "pins", "--as-of"
  std::string era_detail; // what dated it
  bool ok = false;        // a plan that runs on the host exists (and was chosen)
};

// Chooses the plan. Never fails: when nothing fits, `ok` is false and the reasons say which
// constraint ruled out which candidate.
Plan resolve(const deps::Spec& spec,
             const Host& host,
             const Overrides& overrides,
             const Tables& tables = builtin_tables());

} // namespace furnace::resolve
