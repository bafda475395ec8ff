#include "build_log.hpp"

#include <furnace/core/dirs.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <optional>

namespace furnace::image {

namespace {

// Removes terminal escapes ("\x1b[91m", which the legacy builder puts around stderr lines).
std::string without_ansi(std::string line) {
  std::size_t esc = line.find('\x1b');
  while (esc != std::string::npos) {
    std::size_t end = esc + 1;
    if (end < line.size() && line[end] == '[') {
      ++end;
      while (end < line.size() && (line[end] < '@' || line[end] > '~')) {
        ++end;
      }
    }
    line.erase(esc, std::min(end + 1, line.size()) - esc);
    esc = line.find('\x1b', esc);
  }
  return line;
}

// A line of thousands of characters (BuildKit's ERROR line repeats the whole RUN command) keeps
// its start and its end.
std::string shortened(const std::string& line) {
  constexpr std::size_t k_max = 240;
  if (line.size() <= k_max) {
    return line;
  }
  return line.substr(0, 160) + " … " + line.substr(line.size() - 60);
}

std::vector<std::string> lines_of(std::string_view log) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string_view::npos) {
      end = log.size();
    }
    std::string line(log.substr(start, end - start));
    while (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    // A progress bar redraws with '\r': keep what was drawn last.
    if (const auto cr = line.rfind('\r'); cr != std::string::npos) {
      line.erase(0, cr + 1);
    }
    out.push_back(without_ansi(std::move(line)));
    start = end + 1;
  }
  return out;
}

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// "#12 rest" -> {12, "rest"}; {-1, ""} for any other line.
std::pair<int, std::string_view> buildkit_line(std::string_view line) {
  if (line.size() < 3 || line[0] != '#' || !is_digit(line[1])) {
    return {-1, {}};
  }
  std::size_t i = 1;
  int id = 0;
  while (i < line.size() && is_digit(line[i])) {
    id = id * 10 + (line[i] - '0');
    ++i;
    if (id > 1000000) {
      return {-1, {}};
    }
  }
  if (i >= line.size() || line[i] != ' ') {
    return {-1, {}};
  }
  return {id, line.substr(i + 1)};
}

// "1.234 text" (the seconds since the step began) -> "text"; nullopt without that prefix.
std::optional<std::string_view> timed_output(std::string_view rest) {
  std::size_t i = 0;
  while (i < rest.size() && is_digit(rest[i])) {
    ++i;
  }
  if (i == 0 || i >= rest.size() || rest[i] != '.') {
    return std::nullopt;
  }
  ++i;
  const std::size_t frac = i;
  while (i < rest.size() && is_digit(rest[i])) {
    ++i;
  }
  if (i == frac) {
    return std::nullopt;
  }
  if (i == rest.size()) {
    return std::string_view{};
  }
  if (rest[i] != ' ') {
    return std::nullopt;
  }
  return rest.substr(i + 1);
}

std::vector<std::string> last(const std::vector<std::string>& lines, std::size_t n) {
  const std::size_t from = lines.size() > n ? lines.size() - n : 0;
  return {lines.begin() + static_cast<std::ptrdiff_t>(from), lines.end()};
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

bool contains_any(std::string_view lower_text, std::initializer_list<std::string_view> needles) {
  return std::any_of(needles.begin(), needles.end(), [&](std::string_view n) {
    return lower_text.find(n) != std::string_view::npos;
  });
}

} // namespace

FailureKind classify_failure(std::string_view text) {
  const std::string t = util::to_lower(text);
  if (contains_any(t, {"no space left on device"})) {
    return FailureKind::disk_full;
  }
  if (contains_any(t, {"cuda_home", "nvcc"})) {
    return FailureKind::cuda_needs_devel;
  }
  if (contains_any(t,
                   {"gcc: not found",
                    "error: command 'gcc' failed",
                    "unable to execute 'gcc'",
                    "command 'x86_64-linux-gnu-gcc' failed",
                    "command 'aarch64-linux-gnu-gcc' failed",
                    "gcc: no such file or directory",
                    "g++: not found",
                    "error: command 'g++' failed",
                    "c++: not found",
                    "cc: not found",
                    "python.h: no such file or directory",
                    "no acceptable c compiler found"})) {
    return FailureKind::needs_compiler;
  }
  if (contains_any(t,
                   {"could not resolve",
                    "failed to fetch",
                    "temporary failure resolving",
                    "temporary failure in name resolution",
                    "could not connect to",
                    "unable to connect to",
                    "failed to establish a new connection",
                    "max retries exceeded",
                    "newconnectionerror",
                    "name or service not known",
                    "connection timed out",
                    "network is unreachable"})) {
    return FailureKind::mirror_unreachable;
  }
  if (contains_any(t, {"no matching distribution found for "})) {
    return FailureKind::pip_not_found;
  }
  return FailureKind::unknown;
}

std::string missing_requirement(std::string_view text) {
  constexpr std::string_view k_marker = "no matching distribution found for ";
  const std::string t = util::to_lower(text);
  const auto at = t.rfind(k_marker);
  if (at == std::string::npos) {
    return {};
  }
  const auto start = at + k_marker.size();
  const auto end = t.find_first_of("\r\n", start);
  return std::string(util::trim(text.substr(start, end == std::string::npos ? end : end - start)));
}

FailureReport analyze_build_log(std::string_view log, std::size_t max_lines) {
  const std::vector<std::string> lines = lines_of(log);
  FailureReport r;

  // BuildKit: "#N [2/5] RUN …" opens step N, "#N 1.23 output" is its output, "#N ERROR: …" fails
  // it.
  std::map<int, std::string> titles;
  int failed = -1;
  std::string error_line;
  for (const std::string& l : lines) {
    const auto [id, rest] = buildkit_line(l);
    if (id < 0) {
      continue;
    }
    if (!rest.empty() && rest.front() == '[' && titles.find(id) == titles.end()) {
      titles[id] = std::string(rest);
    }
    if (rest.rfind("ERROR:", 0) == 0 || rest.rfind("ERROR ", 0) == 0) {
      failed = id;
      error_line = std::string(rest);
    }
  }
  std::vector<std::string> step_lines;
  if (failed >= 0) {
    const auto t = titles.find(failed);
    r.step = t == titles.end() ? std::string() : t->second;
    for (const std::string& l : lines) {
      const auto [id, rest] = buildkit_line(l);
      if (id != failed) {
        continue;
      }
      if (const auto out = timed_output(rest)) {
        step_lines.emplace_back(*out);
      }
    }
    step_lines.push_back(error_line);
  } else {
    // The legacy builder: "Step 2/5 : RUN …", then its output up to the next step.
    std::size_t step_at = lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string& l = lines[i];
      if (l.rfind("Step ", 0) == 0 && l.find(" : ") != std::string::npos && l.size() > 5 &&
          is_digit(l[5])) {
        step_at = i;
      }
    }
    if (step_at < lines.size()) {
      r.step = lines[step_at].substr(lines[step_at].find(" : ") + 3);
      for (std::size_t i = step_at + 1; i < lines.size(); ++i) {
        if (lines[i].rfind(" ---> ", 0) != 0 && lines[i].rfind("Removing intermediate", 0) != 0) {
          step_lines.push_back(lines[i]);
        }
      }
    }
  }
  while (!step_lines.empty() && util::trim(step_lines.back()).empty()) {
    step_lines.pop_back();
  }
  if (step_lines.empty()) {
    // No step found (the Dockerfile did not parse, the engine went away): the log's own end.
    std::vector<std::string> all = lines;
    while (!all.empty() && util::trim(all.back()).empty()) {
      all.pop_back();
    }
    r.tail = last(all, max_lines);
    for (std::string& l : r.tail) {
      l = shortened(l);
    }
    r.kind = classify_failure(log);
    r.missing = r.kind == FailureKind::pip_not_found ? missing_requirement(log) : std::string();
    return r;
  }
  r.tail = last(step_lines, max_lines);
  for (std::string& l : r.tail) {
    l = shortened(l);
  }
  const std::string step_text = joined(step_lines);
  r.kind = classify_failure(step_text);
  r.missing = r.kind == FailureKind::pip_not_found ? missing_requirement(step_text) : std::string();
  return r;
}

std::string failure_hint(FailureKind kind, const MirrorsUsed& mirrors, const std::string& missing) {
  switch (kind) {
  case FailureKind::unknown:
    return {};
  case FailureKind::mirror_unreachable: {
    const std::string used = fmt::format("apt: {}, pip: {}",
                                         mirrors.apt.empty() ? "the image's sources" : mirrors.apt,
                                         mirrors.pip.empty() ? "PyPI" : mirrors.pip);
    return fmt::format(
        "a package mirror cannot be reached ({}): fix or set 'mirrors' in furnace.yaml, or "
        "'furnace config set mirror.apt|mirror.pip VALUE' (aliyun, tuna, ustc, huawei, tencent, a "
        "URL)",
        used);
  }
  case FailureKind::needs_compiler:
    return "a pip package is compiled from source and the image has no compiler: add "
           "'apt: [build-essential, python3-dev]' to furnace.yaml, or pin a version with a wheel "
           "for this Python";
  case FailureKind::cuda_needs_devel:
    return "a CUDA extension needs nvcc, which only the -devel images have: set 'variant: devel' "
           "in furnace.yaml (or a -devel 'base')";
  case FailureKind::disk_full:
    return "the engine's disk is full: 'furnace prune' removes old furnace images, 'docker system "
           "prune' the engine's other leftovers";
  case FailureKind::pip_not_found:
    return fmt::format("pip found no {} on {}: check the name and the version, or whether that "
                       "index carries it",
                       missing.empty() ? std::string("release of a requirement")
                                       : "'" + missing + "'",
                       mirrors.pip.empty() ? "PyPI" : mirrors.pip);
  }
  return {};
}

std::string cache_dir(const core::Env& env) {
  return core::dirs_from_env(env).cache;
}

std::string log_dir(const core::Env& env) {
  return core::dirs_from_env(env).data + "/logs";
}

std::string log_path(const core::Env& env, const std::string& name, const std::string& hash12) {
  return fmt::format("{}/build-{}-{}.log", log_dir(env), name, hash12);
}

std::vector<std::string> StepTracker::feed(std::string_view chunk) {
  std::vector<std::string> started;
  m_pending.append(chunk);
  std::size_t nl = 0;
  while ((nl = m_pending.find('\n')) != std::string::npos) {
    std::string line = m_pending.substr(0, nl);
    m_pending.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    std::string title;
    if (line.rfind("Step ", 0) == 0 && line.find(" : ") != std::string::npos) {
      title = line;
    } else if (line.size() > 2 && line[0] == '#') {
      const auto space = line.find(' ');
      if (space != std::string::npos && space + 1 < line.size() && line[space + 1] == '[') {
        const auto close = line.find(']', space);
        const std::string inside =
            close == std::string::npos ? "" : line.substr(space + 2, close - space - 2);
        if (inside.find('/') != std::string::npos && inside.find("internal") == std::string::npos) {
          title = line.substr(space + 1);
        }
      }
    }
    if (!title.empty() && std::find(m_seen.begin(), m_seen.end(), title) == m_seen.end()) {
      m_seen.push_back(title);
      started.push_back(title);
    }
  }
  return started;
}

} // namespace furnace::image
