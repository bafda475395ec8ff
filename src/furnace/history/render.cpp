#include "render.hpp"

#include <furnace/util/process.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

namespace furnace::history {

namespace {

constexpr std::size_t k_command_width = 60;

enum class Zone { local, utc };

std::tm broken_down(std::int64_t ms, Zone zone) {
  const auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (zone == Zone::utc) {
    ::gmtime_r(&secs, &tm);
  } else {
    ::localtime_r(&secs, &tm);
  }
  return tm;
}

// RFC 3339 in UTC with milliseconds: "2026-11-28T14:40:12.345Z".
std::string utc_text(std::int64_t ms) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", broken_down(ms, Zone::utc), ms % 1000);
}

std::string status_text(const RunRecord& r) {
  if (r.status == k_killed && !r.signal.empty()) {
    return fmt::format("{} {}", r.status, r.signal);
  }
  if (r.exit_code && r.status != k_running && r.status != k_lost) {
    return fmt::format("{} {}", r.status, *r.exit_code);
  }
  return r.status;
}

std::string duration_text(const RunRecord& r, std::int64_t now_ms) {
  if (r.ended_ms != 0) {
    return format_duration(r.ended_ms - r.started_ms);
  }
  return r.status == k_running ? format_duration(now_ms - r.started_ms) : "-";
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const std::string& s : items) {
    out += (out.empty() ? "" : sep) + s;
  }
  return out;
}

std::string gpus_text(const RunRecord& r) {
  std::vector<std::string> items;
  for (unsigned i : r.gpu_indices) {
    items.push_back(std::to_string(i));
  }
  if (items.empty() && !r.scheduler.empty()) {
    return r.gpu_request.empty() || r.gpu_request == "0" ? "-" : r.gpu_request + "/node";
  }
  return items.empty() ? "-" : join(items, ",");
}

std::string shorten_home(const std::string& path, const std::string& home) {
  if (home.empty() || home == "/" || path.rfind(home, 0) != 0) {
    return path;
  }
  if (path.size() == home.size()) {
    return "~";
  }
  return path[home.size()] == '/' ? "~" + path.substr(home.size()) : path;
}

// The first `width` bytes of `text` (not splitting a UTF-8 character), "..." marking a cut.
std::string cut(const std::string& text, std::size_t width) {
  if (text.size() <= width) {
    return text;
  }
  std::size_t n = width - 3;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xc0U) == 0x80U) {
    --n;
  }
  return text.substr(0, n) + "...";
}

// `text` on one line: a newline or tab in an argument or a path must not break the layout.
std::string one_line(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += static_cast<unsigned char>(c) < 0x20U || c == 0x7f ? '?' : c;
    }
  }
  return out;
}

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

// "memory 8g, cpus 4, pids 4096" with the limits the run had; "" for none.
std::string limits_text(const RunRecord& r) {
  std::vector<std::string> parts;
  if (!r.memory.empty()) {
    parts.push_back("memory " + r.memory);
  }
  if (!r.cpus.empty()) {
    parts.push_back("cpus " + r.cpus);
  }
  if (!r.pids_limit.empty()) {
    parts.push_back("pids " + r.pids_limit);
  }
  return join(parts, ", ");
}

std::string render_rows(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i + 1 < row.size(); ++i) {
      out += fmt::format("{:<{}}  ", row[i], widths[i]);
    }
    out += row.back() + '\n';
  }
  return out;
}

} // namespace

std::string format_duration(std::int64_t ms) {
  const std::int64_t s = std::max<std::int64_t>(ms, 0) / 1000;
  if (s < 60) {
    return fmt::format("{}s", s);
  }
  if (s < 3600) {
    return fmt::format("{}m{:02}s", s / 60, s % 60);
  }
  if (s < 86400) {
    return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  }
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

std::string
render_table(const std::vector<RunRecord>& runs, std::int64_t now_ms, const std::string& home) {
  std::vector<std::vector<std::string>> rows{
      {"ID", "NAME", "STARTED", "DURATION", "STATUS", "GPUS", "PROJECT", "COMMAND"}};
  rows.reserve(runs.size() + 1);
  for (const RunRecord& r : runs) {
    rows.push_back({std::to_string(r.id),
                    one_line(r.name),
                    fmt::format("{:%Y-%m-%d %H:%M}", broken_down(r.started_ms, Zone::local)),
                    duration_text(r, now_ms),
                    status_text(r),
                    gpus_text(r),
                    one_line(shorten_home(r.project, home)),
                    cut(one_line(util::shell_join(r.command)), k_command_width)});
  }
  return render_rows(rows);
}

std::string render_details(const RunRecord& r) {
  auto when = [](std::int64_t ms) {
    return fmt::format("{:%Y-%m-%d %H:%M:%S %Z}", broken_down(ms, Zone::local));
  };
  const std::string ended = r.ended_ms == 0
                                ? "-"
                                : fmt::format("{} (after {})",
                                              when(r.ended_ms),
                                              format_duration(r.ended_ms - r.started_ms));
  const std::string git =
      r.git_commit.empty() ? "-" : r.git_commit + (r.git_dirty ? " (uncommitted changes)" : "");
  const std::string image =
      r.image_id.empty() ? or_dash(r.image_tag) : fmt::format("{} ({})", r.image_tag, r.image_id);
  const std::string base =
      r.base_digest.empty() ? or_dash(r.base_image) : r.base_image + " @ " + r.base_digest;
  std::vector<std::pair<const char*, std::string>> fields{
      {"id", std::to_string(r.id)},
      {"name", r.name},
      {"status", status_text(r)},
      {"started", when(r.started_ms)},
      {"ended", ended},
      {"command", or_dash(util::shell_join(r.command))},
      {"project", or_dash(r.project)},
      {"workdir", or_dash(r.workdir)},
      {"git", git},
      {"image", image},
      {"base", base},
      {"spec hash", or_dash(r.spec_hash)},
      {"gpus", fmt::format("{} (asked: {})", gpus_text(r), or_dash(r.gpu_request))},
      {"gpu uuids", or_dash(join(r.gpu_uuids, ", "))},
      {"driver", or_dash(r.driver_version)},
      {"container", or_dash(r.container_id)},
      {"detached", r.detached ? "yes" : "no"},
      {"volumes", or_dash(join(r.volumes, ", "))},
      {"limits", or_dash(limits_text(r))},
      {"user", r.host.empty() ? or_dash(r.user) : r.user + "@" + r.host},
      {"log", or_dash(r.log_path)},
  };
  std::vector<std::pair<const char*, std::string>> job;
  if (!r.scheduler.empty()) {
    fields.erase(fields.begin() + 15, fields.begin() + 17); // no container, never detached
    job = {{"job", r.scheduler + " " + r.job_id}, {"image ref", or_dash(r.image_ref)}};
    fields.insert(fields.begin() + 3, job.begin(), job.end());
  }
  std::string out;
  for (const auto& [key, value] : fields) {
    out += fmt::format("{:<11}{}\n", std::string(key) + ":", one_line(value));
  }
  return out;
}

nlohmann::json to_json(const RunRecord& r) {
  const bool ended = r.ended_ms != 0;
  return {
      {"id", r.id},
      {"name", r.name},
      {"container_id", r.container_id},
      {"status", r.status},
      {"exit_code", r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json()},
      {"signal", r.signal},
      {"started_ms", r.started_ms},
      {"started_at", utc_text(r.started_ms)},
      {"ended_ms", ended ? nlohmann::json(r.ended_ms) : nlohmann::json()},
      {"ended_at", ended ? nlohmann::json(utc_text(r.ended_ms)) : nlohmann::json()},
      {"duration_ms", ended ? nlohmann::json(r.ended_ms - r.started_ms) : nlohmann::json()},
      {"user", r.user},
      {"host", r.host},
      {"project", r.project},
      {"workdir", r.workdir},
      {"git_commit", r.git_commit},
      {"git_dirty", r.git_dirty},
      {"spec_hash", r.spec_hash},
      {"image_tag", r.image_tag},
      {"image_id", r.image_id},
      {"base_image", r.base_image},
      {"base_digest", r.base_digest},
      {"command", r.command},
      {"gpu_request", r.gpu_request},
      {"gpu_indices", r.gpu_indices},
      {"gpu_uuids", r.gpu_uuids},
      {"driver_version", r.driver_version},
      {"log_path", r.log_path},
      {"detached", r.detached},
      {"scheduler", r.scheduler},
      {"job_id", r.job_id},
      {"image_ref", r.image_ref},
      {"volumes", r.volumes},
      {"memory", r.memory},
      {"cpus", r.cpus},
      {"pids_limit", r.pids_limit},
  };
}

nlohmann::json runs_json(const std::vector<RunRecord>& runs) {
  nlohmann::json list = nlohmann::json::array();
  for (const RunRecord& r : runs) {
    list.push_back(to_json(r));
  }
  return {{"schema_version", k_json_schema_version}, {"runs", std::move(list)}};
}

nlohmann::json run_json(const RunRecord& r) {
  return {{"schema_version", k_json_schema_version}, {"run", to_json(r)}};
}

} // namespace furnace::history
