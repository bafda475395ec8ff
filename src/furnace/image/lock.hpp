#pragma once
// furnace.lock: what a successful build put in the image (the base image's id and digest, every
// pip package and every Debian package at its exact version), so that `furnace build --locked`
// can rebuild the same environment a year later and say precisely what differs when it cannot.
// The text format is line-based and sorted, so a lock diffs well in git.

#include <furnace/core/error.hpp>
#include <furnace/image/facts.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::image {

inline constexpr const char* k_lock_file = "furnace.lock";

struct Lock {
  std::string image;       // "furnace/<name>:<hash12>" the lock was read from
  std::string base;        // the base image reference ("pytorch/pytorch:1.13.1-…")
  std::string base_id;     // "sha256:…"
  std::string base_digest; // "pytorch/pytorch@sha256:…"; "" when the engine knows none
  std::string python;      // "3.10.8": `python3 -V` in the image; "" when it has none
  // The rest of the image's facts (facts.hpp) as the lock records them: python-path, pip,
  // framework, cuda-build, cudnn-build, arch-list, os. Each key is optional (older locks lack
  // them); `facts.python` is `python`.
  ImageFacts facts;
  std::vector<std::string> pip;  // `pip freeze` lines, sorted case-insensitively
  std::vector<std::string> dpkg; // "name=version" of each installed Debian package, sorted
  // `furnace push`: where this image went ("HOST:PORT/furnace/<name>@sha256:…", the manifest
  // digest the registry gave) and its image id, which `furnace pull` checks; "" when not pushed.
  // A build of another image rewrites the lock without them.
  std::string pushed;
  std::string pushed_id;
};

// The lock file's text; the same lock gives the same bytes.
std::string render_lock(const Lock& lock);

// Parses a lock file; `file` names it in errors ("furnace.lock:7: unknown key 'bse'").
core::Result<Lock> parse_lock(std::string_view text, const std::string& file);

// The marker between the pip and the dpkg part of the probe's output.
inline constexpr const char* k_probe_separator = "---furnace-dpkg---";
// The marker of the probe's `python3 -V` line ("furnace-python 3.10.8").
inline constexpr const char* k_probe_python = "furnace-python";

// The shell script the probe container runs: `pip freeze`, the facts program (facts.hpp) when
// FURNACE_PROBE_PROGRAM is set, the separator, then the installed Debian packages (either part is
// empty when the image has no Python or no dpkg).
std::string probe_script();

// `docker run --rm --network none` of `image` running probe_script(); `run_args` go before the
// image (probe_env_args: the facts program and what it checks).
std::vector<std::string> probe_command(const std::string& docker,
                                       const std::string& image,
                                       const std::vector<std::string>& run_args = {});

// Fills `lock.pip` and `lock.dpkg` from the probe's output. Errors (invalid): no separator.
core::Result<void> read_probe_output(std::string_view output, Lock& lock);

// The pip lines that pin a version ("name==version"), as a constraints file ("" when none).
std::string pip_constraints(const Lock& lock);

// dpkg name -> version.
std::map<std::string, std::string> dpkg_versions(const Lock& lock);

// What differs between the packages of `locked` and `now`, one line per change, sorted by
// package: "pip:  - numpy==1.24.2", "pip:  + numpy==1.26.0", "dpkg: + jq=1.6-2.1". Empty when
// both have the same packages at the same versions.
std::vector<std::string> diff_packages(const Lock& locked, const Lock& now);

} // namespace furnace::image
