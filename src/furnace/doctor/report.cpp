#include "report.hpp"

#include <furnace/core/version.hpp>

#include <fmt/format.h>

namespace furnace::doctor {

const char* to_string(Status s) {
  switch (s) {
  case Status::ok:
    return "ok";
  case Status::warn:
    return "warn";
  case Status::fail:
    return "fail";
  }
  return "fail";
}

bool Report::ok() const {
  return count(Status::fail) == 0;
}

int Report::count(Status s) const {
  int n = 0;
  for (const auto& c : checks) {
    n += c.status == s ? 1 : 0;
  }
  return n;
}

nlohmann::json to_json(const Report& report) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : report.checks) {
    checks.push_back({{"id", c.id},
                      {"group", c.group},
                      {"status", to_string(c.status)},
                      {"summary", c.summary},
                      {"fix", c.fix.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.fix)},
                      {"details", c.details}});
  }
  return {{"schema_version", k_doctor_schema_version},
          {"furnace_version", std::string(core::version())},
          {"ok", report.ok()},
          {"counts",
           {{"ok", report.count(Status::ok)},
            {"warn", report.count(Status::warn)},
            {"fail", report.count(Status::fail)}}},
          {"checks", checks},
          {"engine", report.engine},
          {"gpu", report.gpu}};
}

void print_human(const Report& report, core::Ui& ui) {
  auto& out = ui.out();
  std::string group;
  std::size_t width = 0;
  for (const auto& c : report.checks) {
    width = std::max(width, c.id.size());
  }
  for (const auto& c : report.checks) {
    if (c.group != group) {
      group = c.group;
      out << (group == report.checks.front().group ? "" : "\n") << ui.paint(group, "bold") << '\n';
    }
    const char* colour = c.status == Status::ok     ? "green"
                         : c.status == Status::warn ? "yellow"
                                                    : "red";
    out << "  " << ui.paint(fmt::format("{:<4}", to_string(c.status)), colour) << "  "
        << fmt::format("{:<{}}", c.id, width) << "  " << c.summary << '\n';
    for (const auto& l : c.lines) {
      out << "        " << std::string(width, ' ') << "  " << l << '\n';
    }
    if (!c.fix.empty()) {
      out << "        " << std::string(width, ' ') << "  " << ui.paint("fix:", "bold") << ' '
          << c.fix << '\n';
    }
  }
  out << '\n'
      << fmt::format("{} ok, {} warn, {} fail",
                     report.count(Status::ok),
                     report.count(Status::warn),
                     report.count(Status::fail))
      << '\n';
}

} // namespace furnace::doctor
