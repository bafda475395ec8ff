#pragma once
// The extra mounts of a run: `-v HOST:CONTAINER[:ro|rw]` (ad-hoc, as with `docker run`) and the
// project's datasets (furnace.yaml `datasets:`, bound at /datasets/NAME). Every front end that
// makes a RunPlan gets them here and puts them in RunInputs::mounts.

#include <furnace/core/context.hpp>
#include <furnace/run/container_spec.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace furnace::run {

// Parses one -v value. HOST is made absolute against `here` and resolved (symlinks followed: the
// mount shows the real directory in `docker inspect`); it must exist (the engine would make an
// empty root-owned directory otherwise) and must not be `/`. CONTAINER must be absolute, without
// `..`, and not `/`. A ':' inside a path cannot be told from the separators, so it is refused;
// a ',' '=' or space is fine (--mount quotes it); a control character is refused. A named volume
// (no '/' in HOST) is refused. Errors (usage) name the value and the fix.
core::Result<Mount> parse_volume(std::string_view text, const std::string& here);

// The -v mounts, then the datasets' (mounted on the host first unless `dry_run`; see
// dataset::mounts_for_run). Errors: a bad -v (usage), an unknown or unreachable dataset, a target
// given twice.
core::Result<std::vector<Mount>> extra_mounts(core::Context& ctx,
                                              const std::vector<std::string>& volumes,
                                              const std::vector<std::string>& datasets,
                                              const std::string& here,
                                              bool dry_run);

} // namespace furnace::run
