#pragma once
// The doctor's report: a list of checks, each ok/warn/fail with what was found and the fix, plus
// the raw engine and GPU facts. Its JSON form is documented in docs/doctor.md and kept stable.

#include <furnace/core/ui.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace furnace::doctor {

enum class Status { ok, warn, fail };

const char* to_string(Status s);

struct Check {
  std::string id;    // "engine.reachable": stable, for scripts
  std::string group; // "engine", "registry", "gpu", "toolkit"
  Status status = Status::ok;
  std::string summary; // what was found, one line
  std::string fix;     // the exact command or step; empty when ok
  nlohmann::json details = nlohmann::json::object();
  std::vector<std::string> lines; // extra lines for people (one per GPU, …)
};

struct Report {
  std::vector<Check> checks;
  nlohmann::json engine; // null when unreachable
  nlohmann::json gpu;    // null when no driver

  bool ok() const; // no check failed
  int count(Status s) const;
};

inline constexpr int k_doctor_schema_version = 1;

nlohmann::json to_json(const Report& report);
void print_human(const Report& report, core::Ui& ui);

} // namespace furnace::doctor
