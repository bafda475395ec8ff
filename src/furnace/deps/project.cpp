#include "project.hpp"

#include <furnace/deps/parsers.hpp>
#include <furnace/util/process.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <cstdint>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace furnace::deps {

namespace {

std::string base_name(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return util::to_lower(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Python sources read for imports and API markers: few enough to keep `furnace resolve` fast on
// big repositories. Dependency files are found down to k_max_depth folders.
constexpr std::size_t k_max_sources = 300;
constexpr int k_max_source_depth = 5;
constexpr int k_max_depth = 6;
constexpr std::uintmax_t k_max_file_bytes = 1U << 20U;
constexpr std::size_t k_max_entries = 50000;

int depth_of(std::string_view path) {
  return static_cast<int>(std::count(path.begin(), path.end(), '/'));
}

// Folders whose dependency files describe something beside the project (an example, a vendored
// library, old code): their pins choose, but cannot make a plan impossible.
bool peripheral(std::string_view path) {
  static const char* const k_dirs[] = {"example", "examples", "demo", "demos", "doc", "docs",
                                       "test", "tests", "third_party", "thirdparty", "3rdparty",
                                       "external", "externals", "extern", "vendor", "legacy",
                                       "old", "archive", "deprecated", "baselines", "benchmark",
                                       "benchmarks", "contrib", "tutorials", "notebooks"};
  const std::string first = util::to_lower(path.substr(0, path.find('/')));
  if (path.find('/') == std::string_view::npos) {
    return false;
  }
  for (const char* d : k_dirs) {
    if (first == d) {
      return true;
    }
  }
  return depth_of(path) >= 2;
}

} // namespace

FileKind classify(std::string_view relative_path) {
  const std::string name = base_name(relative_path);
  const std::string dir = relative_path.find('/') == std::string_view::npos
                              ? std::string()
                              : util::to_lower(relative_path.substr(0, relative_path.rfind('/')));
  if ((name.rfind("requirements", 0) == 0 || name.rfind("constraints", 0) == 0) &&
      (ends_with(name, ".txt") || ends_with(name, ".in") || ends_with(name, ".pip"))) {
    return FileKind::requirements;
  }
  if (dir == "requirements" && (ends_with(name, ".txt") || ends_with(name, ".in"))) {
    return FileKind::requirements;
  }
  if ((name.find("environment") != std::string::npos || name.rfind("conda", 0) == 0 ||
       ends_with(name, "env.yml") || ends_with(name, "env.yaml")) &&
      (ends_with(name, ".yml") || ends_with(name, ".yaml"))) {
    return FileKind::conda;
  }
  if (name == "setup.py") {
    return FileKind::setup_py;
  }
  if (name == "setup.cfg") {
    return FileKind::setup_cfg;
  }
  if (name == "pyproject.toml") {
    return FileKind::pyproject;
  }
  if (name == "pipfile") {
    return FileKind::pipfile;
  }
  if (name == "dockerfile" || name.rfind("dockerfile.", 0) == 0 || ends_with(name, ".dockerfile") ||
      name == "containerfile") {
    return FileKind::dockerfile;
  }
  if (name == "runtime.txt" || name == ".python-version") {
    return FileKind::python_version;
  }
  if ((name.rfind("readme", 0) == 0 || name.rfind("install", 0) == 0 ||
       name.rfind("getting_started", 0) == 0) &&
      (name.find('.') == std::string::npos || ends_with(name, ".md") || ends_with(name, ".rst") ||
       ends_with(name, ".txt"))) {
    return FileKind::readme;
  }
  // the other documents that carry install steps: get_started.md, ENVIRONMENT.md, DEVELOPERS.md
  if ((ends_with(name, ".md") || ends_with(name, ".rst")) &&
      (name.find("install") != std::string::npos || name.find("started") != std::string::npos ||
       name.find("environment") != std::string::npos || name.find("setup") != std::string::npos ||
       name.find("requirement") != std::string::npos || name.find("developer") != std::string::npos ||
       name.find("usage") != std::string::npos)) {
    return FileKind::readme;
  }
  if (ends_with(name, ".sh") || ends_with(name, ".bash")) {
    return FileKind::shell;
  }
  if (ends_with(name, ".py")) {
    return FileKind::python_source;
  }
  return FileKind::none;
}

Spec parse_project(const std::vector<std::string>& files, const FileReader& read) {
  Spec spec;
  for (const std::string& f : files) {
    const FileKind kind = classify(f);
    if (kind == FileKind::none) {
      continue;
    }
    if (std::find(spec.files.begin(), spec.files.end(), f) != spec.files.end()) {
      continue; // already read as an include
    }
    auto text = read(f);
    if (!text) {
      spec.diagnose(Location{f, 0}, "unreadable", text.error().message);
      continue;
    }
    spec.files.push_back(f);
    const std::size_t first_req = spec.requirements.size();
    const std::size_t first_fact = spec.facts.size();
    switch (kind) {
    case FileKind::requirements:
      parse_requirements_txt(*text, f, read, spec);
      break;
    case FileKind::conda:
      parse_environment_yml(*text, f, read, spec);
      break;
    case FileKind::setup_py:
      parse_setup_py(*text, f, spec);
      parse_python_hints(*text, f, spec);
      break;
    case FileKind::setup_cfg:
      parse_setup_cfg(*text, f, spec);
      parse_python_hints(*text, f, spec);
      break;
    case FileKind::pyproject:
      parse_pyproject(*text, f, spec);
      parse_python_hints(*text, f, spec);
      break;
    case FileKind::pipfile:
      parse_pipfile(*text, f, spec);
      break;
    case FileKind::dockerfile:
      parse_dockerfile(*text, f, spec);
      break;
    case FileKind::python_version:
      parse_python_version_file(*text, f, spec);
      break;
    case FileKind::readme:
      parse_readme(*text, f, spec);
      break;
    case FileKind::python_source:
      parse_python_source(*text, f, spec);
      break;
    case FileKind::shell:
      for (const Line& l : lines_of(*text)) {
        if (l.text.find("install") != std::string_view::npos && l.text.size() < 2000) {
          install_commands(l.text, Location{f, l.number}, Confidence::medium, "script", spec);
        }
      }
      break;
    case FileKind::none:
      break;
    }
    if (kind != FileKind::readme && kind != FileKind::python_source && peripheral(f)) {
      for (std::size_t i = first_req; i < spec.requirements.size(); ++i) {
        Confidence& c = spec.requirements[i].confidence;
        c = c == Confidence::high ? Confidence::medium : c;
      }
      for (std::size_t i = first_fact; i < spec.facts.size(); ++i) {
        Confidence& c = spec.facts[i].confidence;
        c = c == Confidence::high ? Confidence::medium : c;
      }
    }
  }
  return spec;
}

std::vector<std::string> list_project_files(const std::string& root, std::vector<std::string>* dirs) {
  namespace fs = std::filesystem;
  std::vector<std::string> deps;
  std::vector<std::string> sources;
  std::error_code ec;
  if (dirs != nullptr) {
    dirs->push_back(root);
  }
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    return deps;
  }
  static const char* const k_skip[] = {".git",
                                       "node_modules",
                                       "venv",
                                       ".venv",
                                       "env",
                                       "build",
                                       "dist",
                                       "site-packages",
                                       "__pycache__",
                                       ".tox",
                                       "data",
                                       "datasets",
                                       "checkpoints",
                                       "wandb",
                                       "outputs",
                                       "logs"};
  std::size_t entries = 0;
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec || ++entries > k_max_entries) {
      break;
    }
    const fs::directory_entry& e = *it;
    const std::string rel = e.path().lexically_relative(root).generic_string();
    const std::string name = e.path().filename().string();
    std::error_code sec;
    if (e.is_directory(sec)) {
      bool skip = it.depth() + 1 >= k_max_depth || (name.size() > 1 && name[0] == '.') ||
                  name.rfind("venv", 0) == 0 || name.rfind("python3.", 0) == 0;
      for (const char* s : k_skip) {
        skip = skip || name == s;
      }
      if (skip) {
        it.disable_recursion_pending();
      } else if (dirs != nullptr) {
        dirs->push_back(rel);
      }
      continue;
    }
    if (!e.is_regular_file(sec)) {
      continue;
    }
    const FileKind kind = classify(rel);
    if (kind == FileKind::none) {
      continue;
    }
    if (e.file_size(sec) > k_max_file_bytes) {
      continue;
    }
    if (kind == FileKind::python_source) {
      if (sources.size() < 10 * k_max_sources && it.depth() < k_max_source_depth) {
        sources.push_back(rel);
      }
      continue;
    }
    // READMEs at the root and in docs/ (INSTALL.md); dependency files anywhere in the walk.
    if (kind == FileKind::readme &&
        !(it.depth() == 0 || (it.depth() == 1 && util::to_lower(rel).rfind("docs/", 0) == 0))) {
      continue;
    }
    deps.push_back(rel);
  }
  std::sort(deps.begin(), deps.end(), [](const std::string& a, const std::string& b) {
    const auto da = std::count(a.begin(), a.end(), '/');
    const auto db = std::count(b.begin(), b.end(), '/');
    return da != db ? da < db : a < b;
  });
  // the shallowest sources first: the package and its scripts, before tests and examples
  std::sort(sources.begin(), sources.end(), [](const std::string& a, const std::string& b) {
    const int da = depth_of(a);
    const int db = depth_of(b);
    return da != db ? da < db : a < b;
  });
  if (sources.size() > k_max_sources) {
    sources.resize(k_max_sources);
  }
  deps.insert(deps.end(), sources.begin(), sources.end());
  return deps;
}

std::optional<Fact> git_commit_date(const std::string& root) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(root) / ".git", ec)) {
    return std::nullopt;
  }
  util::SystemRunner runner;
  util::ProcessOptions options;
  options.timeout = std::chrono::milliseconds(3000);
  // %cs: the committer date as YYYY-MM-DD; GIT_OPTIONAL_LOCKS=0 keeps a read from taking locks
  options.env = std::map<std::string, std::string>{{"GIT_OPTIONAL_LOCKS", "0"},
                                                   {"PATH", "/usr/local/bin:/usr/bin:/bin"},
                                                   {"LC_ALL", "C"}};
  auto out = runner.run({"git", "-C", root, "log", "-1", "--format=%cs", "HEAD"}, options);
  if (!out || !out->status.ok()) {
    return std::nullopt;
  }
  const std::string date(util::trim(out->out));
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') {
    return std::nullopt;
  }
  return Fact{FactKind::date, date, Location{".git", 0}, Confidence::high, "the git HEAD commit"};
}

FileReader disk_reader(const std::string& root, std::size_t max_bytes) {
  return [root, max_bytes](const std::string& path) -> core::Result<std::string> {
    const std::string full = !path.empty() && path.front() == '/' ? path : root + "/" + path;
    std::ifstream in(full, std::ios::binary);
    if (!in) {
      return core::fail(core::ErrorKind::not_found,
                        fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    }
    // Read in chunks: sizing the buffer to the limit up front zero-fills megabytes for a
    // 20-line requirements file (page faults were a visible part of a no-op furnace build).
    std::string text;
    std::array<char, 16384> chunk{};
    while (text.size() <= max_bytes &&
           in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())).gcount() > 0) {
      text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (text.size() > max_bytes) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("'{}' is larger than {} bytes; not read", path, max_bytes));
    }
    if (text.find('\0') != std::string::npos) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("'{}' is a binary file; not read", path));
    }
    return text;
  };
}

} // namespace furnace::deps
