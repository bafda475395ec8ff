#pragma once
// furnace.yaml: what a project asks of its environment on top of what the resolver infers (name,
// framework pins, a base image, apt/pip extras, mirrors, run-time settings). Parsing is strict:
// an unknown key, a wrong type or a bad value is an error naming file:line:column, with the valid
// keys and the nearest one for a typo.

#include <furnace/core/error.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::project {

inline constexpr const char* k_file_name = "furnace.yaml";

enum class Variant { runtime, devel };

// Each value is a preset ("aliyun", "tuna", "ustc", "huawei", "tencent") or an http(s) URL;
// "" means the user's default (~/.config/furnace/config.yaml), then none.
struct Mirrors {
  std::string apt;
  std::string pip;
  std::string conda;
};

struct FurnaceYaml {
  std::string name;       // image name: furnace/<name>; "" = the project directory's name
  std::string framework;  // "pytorch", "tensorflow", "jax"; "" = infer
  std::string version;    // framework version or specifier; "" = infer
  std::string python;     // "3.10"; "" = infer
  std::string cuda;       // "11.8"; "" = infer
  std::optional<Variant> variant;  // nullopt: runtime, or devel when CUDA extensions are built
  std::string base;                // explicit base image; overrides the resolver
  std::vector<std::string> apt;    // extra Debian/Ubuntu packages
  std::vector<std::string> pip;    // extra pip requirements (PEP 508)
  std::optional<std::vector<std::string>> requirements;  // nullopt: what the resolver found
  std::string conda;                                     // an environment file
  Mirrors mirrors;
  std::map<std::string, std::string> env;  // run-time environment
  std::vector<std::string> ports;          // "8888" or "8080:80"
  std::string shm;                         // "8g"; "" = furnace run's default
  std::string memory;                      // run's --memory default ("16g"); "" = none
  std::string cpus;                        // run's --cpus default ("4"); "" = none
  std::string pids_limit;                  // run's --pids-limit default ("4096"); "" = none
  std::string gpus;                        // "all", "none", "0,1"; "" = all
  std::vector<std::string> datasets;       // names from `furnace dataset add`
  std::string workdir;                     // where the project is mounted; "" = /workspace
  std::vector<std::string> command;        // default command of `furnace run`
  bool jupyter = false;                    // install jupyterlab (for `furnace lab`)
  std::string gui;                         // run's --gui default: "x11" (true), "gl", "" = none
};

// The top-level keys, in documentation order.
const std::vector<std::string>& valid_keys();

// Parses `text`; `file` names it in errors ("furnace.yaml:3:1: unknown key 'pyhton' …").
// Errors (invalid): YAML syntax, unknown keys, wrong types, bad values. With `project_dir`, the
// files that `requirements` and `conda` name are also resolved there, symlinks followed: one
// that leads out of the project is an error naming the key and the file.
core::Result<FurnaceYaml> parse_furnace_yaml(std::string_view text,
                                             const std::string& file,
                                             const std::string& project_dir = {});

// Reads <project_dir>/furnace.yaml. nullopt when there is none; errors: unreadable or invalid.
core::Result<std::optional<FurnaceYaml>> load_furnace_yaml(const std::string& project_dir);

// The candidate closest to `word` by edit distance when it is close enough to be a typo;
// "" otherwise.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);

// A Docker repository component from a directory name ("My Paper" -> "my-paper").
std::string image_name_from(std::string_view directory_name);

}  // namespace furnace::project
