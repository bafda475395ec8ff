#pragma once
// /etc/docker/daemon.json as data: parsing the way dockerd will (a BOM tolerated, duplicate keys
// refused, errors at file:line:col), merging only the keys furnace owns, and the checks for
// engines that have no `dockerd --validate` (< 23). Pure: no file system, no engine.

#include <furnace/core/error.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::host {

// Keeps the user's key order, so a merge changes only what it must.
using Json = nlohmann::ordered_json;

enum class Encoding { utf8, utf8_bom, utf16le_bom, utf16be_bom };

struct DaemonConfig {
  Json doc = Json::object(); // always an object
  Encoding encoding = Encoding::utf8;
};

struct LineCol {
  std::size_t line = 1;
  std::size_t col = 1;
};

// 1-based line and column of byte `offset` (0-based) in `text`.
LineCol line_col(std::string_view text, std::size_t offset);

// Parses daemon.json `raw`; `name` (the path) starts every message. Empty or blank text is an
// empty object. Errors (invalid): malformed JSON ("NAME:3:5: invalid JSON: …"), a duplicate key
// ("NAME:4:3: duplicate key \"x\" …"), a top level that is not an object.
core::Result<DaemonConfig> parse_daemon_json(std::string_view raw, const std::string& name);

// The file furnace writes: UTF-8 without BOM, two-space indent, a final newline.
core::Result<std::string> render_daemon_json(const Json& doc);

struct LogRotation {
  std::string max_size = "100m";
  std::string max_file = "3";
};

// What `furnace setup` was asked to make true. Every field is additive: nothing the user set is
// removed or rewritten.
struct DaemonChanges {
  std::vector<std::string> mirrors;             // appended to "registry-mirrors" when missing
  std::vector<std::string> insecure_registries; // appended to "insecure-registries"
  std::optional<bool> live_restore;
  bool nvidia_runtime = false; // "runtimes": {"nvidia": {"path": …}} unless one is there
  std::string nvidia_runtime_path = "nvidia-container-runtime";
  bool nvidia_default = false;             // "default-runtime": "nvidia" (implies nvidia_runtime)
  std::optional<LogRotation> log_rotation; // json-file max-size / max-file when unset

  bool empty() const {
    return mirrors.empty() && insecure_registries.empty() && !live_restore && !nvidia_runtime &&
           !nvidia_default && !log_rotation;
  }
};

struct MergeResult {
  Json doc;
  std::vector<std::string> changed_keys; // top-level keys whose value changed, in file order
  std::vector<std::string> notes;        // what was left alone and why
};

// Merges `changes` into (a copy of) `original`. Errors (invalid): one of our keys holds the wrong
// type
// ("registry-mirrors" a string), named with the fix.
core::Result<MergeResult> merge_daemon_config(const Json& original, const DaemonChanges& changes);

// Keys dockerd applies on SIGHUP (`systemctl reload docker`) without a restart.
bool key_reloads_live(std::string_view key);

struct KeyFinding {
  enum class Kind { unknown, removed };
  std::string key;
  Kind kind = Kind::unknown;
  std::string detail; // "removed in Docker 17.12"
};

// Top-level keys the engine of `engine_major` (20 for 20.10) will not accept: removed keys make
// dockerd refuse to start; unknown ones are probably newer than this checker.
std::vector<KeyFinding> check_known_keys(const Json& doc, int engine_major);

// The JSON type of `j` for messages: "a string", "a list", "null".
std::string describe_type(const Json& j);

} // namespace furnace::host
