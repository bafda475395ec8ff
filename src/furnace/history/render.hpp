#pragma once
// How runs look to people and to programs: the `furnace history` table, the `furnace show`
// details, and the JSON both print with --json (docs/history.md; schema version 1). Pure: the
// caller passes the time and the home directory.

#include <furnace/history/store.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace furnace::history {

// Bumped when a field of the JSON changes meaning; fields are only ever added otherwise.
inline constexpr int k_json_schema_version = 1;

// "45s", "1m12s", "2h03m", "3d04h"; a negative span reads as 0s.
std::string format_duration(std::int64_t ms);

// The `furnace history` table: a header, then one line per run in the given order. Columns: ID,
// NAME, STARTED (local time), DURATION (so far, from `now_ms`, for a running run; "-" for a lost
// one), STATUS ("exited 0", "killed SIGINT", "failed 125", "running", "lost"), GPUS, PROJECT
// (`home` shown as "~"), COMMAND (cut to 60 characters).
std::string
render_table(const std::vector<RunRecord>& runs, std::int64_t now_ms, const std::string& home = {});

// `furnace show`: one "key: value" line per field, the values aligned; "-" for unknown ones.
std::string render_details(const RunRecord& r);

// Every field of `r` (docs/history.md).
nlohmann::json to_json(const RunRecord& r);

// `furnace history --json`: {"schema_version": 1, "runs": [to_json(run), ...]}.
nlohmann::json runs_json(const std::vector<RunRecord>& runs);

// `furnace show --json`: {"schema_version": 1, "run": to_json(r)}.
nlohmann::json run_json(const RunRecord& r);

} // namespace furnace::history
