#pragma once
// `furnace history` and `furnace show`: the recorded runs as a table or JSON, and one run in
// full. The CLI parses into these options; everything else happens here.

#include <furnace/core/context.hpp>
#include <furnace/history/store.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace furnace::history {

struct HistoryOptions {
  std::string project;     // only the runs of this project root (cli: project::find_root of --project)
  std::size_t limit = 20;  // -n N: the newest N runs
  bool all = false;        // --all: every run (no limit)
  bool json = false;       // --json: runs_json() instead of the table
  std::int64_t now_ms = 0; // the time running runs are measured against; 0: the system clock
};

struct ShowOptions {
  std::string run;   // an id, a container name or a unique name prefix
  bool json = false; // --json: run_json() instead of the details
};

// Prints the runs of the history database (default_path(ctx.env)) to stdout, newest first.
// Exit code: 0, or 1 when the database cannot be read (the error names it and the fix).
int run_history(core::Context& ctx, const HistoryOptions& options);

// What a step above the history adds to `furnace show` of a run (the history knows runs, not
// images): "key: value" lines after the run's own, and keys added to its JSON object "run".
struct ShowExtra {
  std::vector<std::pair<std::string, std::string>> fields;
  nlohmann::json run_keys = nlohmann::json::object();
};

// Prints one run, with what `extra` (when set) adds to it. Exit code: 0, or 1 when it is not
// there, ambiguous, or the database fails.
int run_show(core::Context& ctx,
             const ShowOptions& options,
             const std::function<ShowExtra(const RunRecord&)>& extra = {});

} // namespace furnace::history
