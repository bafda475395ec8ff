#pragma once
// The builder's output after a failure: which step failed, its last lines, and a hint for the
// failures people meet again and again (a mirror that cannot be reached, a pip package that needs
// a compiler, a CUDA extension built on a runtime image, a full disk). Pure: text in, report out;
// tested on recorded logs of BuildKit (20.10 and 23+) and of the legacy builder.

#include <furnace/core/context.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::image {

enum class FailureKind {
  unknown,
  mirror_unreachable,
  needs_compiler,
  cuda_needs_devel,
  disk_full,
  pip_not_found, // the index answered but has no release matching a requirement
};

struct FailureReport {
  std::string step;              // "[2/5] RUN apt-get update", "Step 2/5 : RUN …"; "" = not found
  std::vector<std::string> tail; // the failing step's last lines (the log's when no step is found)
  FailureKind kind = FailureKind::unknown;
  std::string missing; // pip_not_found: the requirement ("pkg==1.0"), when pip named it
};

// Reads a builder log (BuildKit plain progress or legacy "Step N/M" output) and finds the failing
// step, its last `max_lines` lines (BuildKit's "#6 1.234 " prefixes removed) and the kind.
FailureReport analyze_build_log(std::string_view log, std::size_t max_lines = 30);

// The kind of failure `text` shows; the most specific wins (disk, CUDA, compiler, mirror, a
// requirement the index lacks: an unreachable index makes pip say that too).
FailureKind classify_failure(std::string_view text);

// What pip's "No matching distribution found for X" names in `text` (the last one); "" if none.
std::string missing_requirement(std::string_view text);

// The mirrors the build used, to name them in the hint ("" = the image's own sources / PyPI).
struct MirrorsUsed {
  std::string apt;
  std::string pip;
};

// The fix for `kind` ("" for unknown); `missing` is FailureReport::missing.
std::string
failure_hint(FailureKind kind, const MirrorsUsed& mirrors, const std::string& missing = {});

// Follows the builder's output as it streams and returns the title of each step the first time it
// starts: "[2/5] RUN apt-get …" (BuildKit, internal steps skipped) or "Step 2/5 : RUN …" (legacy).
// The quiet terminal view prints only these; the full output goes to the log.
class StepTracker {
public:
  std::vector<std::string> feed(std::string_view chunk);

private:
  std::string m_pending;
  std::vector<std::string> m_seen;
};

// Where build logs go: $XDG_DATA_HOME/furnace/logs, else $HOME/.local/share/furnace/logs.
std::string log_dir(const core::Env& env);

// Where build contexts are staged: $XDG_CACHE_HOME/furnace, else $HOME/.cache/furnace.
std::string cache_dir(const core::Env& env);

// "<log_dir>/build-<name>-<hash12>.log".
std::string log_path(const core::Env& env, const std::string& name, const std::string& hash12);

} // namespace furnace::image
