#include "load.hpp"

#include <furnace/deps/project.hpp>
#include <furnace/project/host_facts.hpp>
#include <furnace/util/atomic_file.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <vector>

namespace furnace::project {

namespace fs = std::filesystem;

std::string find_root(const std::string& path) {
  std::error_code ec;
  fs::path start = fs::absolute(path.empty() ? "." : path, ec);
  const fs::path canonical = fs::weakly_canonical(start, ec);
  start = ec ? start.lexically_normal() : canonical;
  if (start.has_relative_path() && !start.has_filename()) {
    start = start.parent_path(); // "/a/b/" -> "/a/b"
  }
  // furnace.yaml first, then a git checkout, then the dependency files a project is known by.
  const std::vector<std::vector<const char*>> tiers{{k_file_name},
                                                    {".git"},
                                                    {"requirements.txt",
                                                     "environment.yml",
                                                     "environment.yaml",
                                                     "setup.py",
                                                     "pyproject.toml",
                                                     "Pipfile",
                                                     "setup.cfg"}};
  for (const auto& markers : tiers) {
    for (fs::path dir = start;; dir = dir.parent_path()) {
      for (const char* marker : markers) {
        if (fs::exists(dir / marker, ec)) {
          return dir.string();
        }
      }
      if (dir == dir.parent_path()) {
        break;
      }
    }
  }
  return start.string();
}

resolve::Overrides overrides_from(const FurnaceYaml& yaml) {
  resolve::Overrides o;
  o.framework = yaml.framework;
  o.version = yaml.version;
  o.python = yaml.python;
  o.cuda = yaml.cuda == "cpu" || yaml.cuda == "none" ? "" : yaml.cuda;
  return o;
}

core::Result<std::vector<std::string>> add_yaml_pins(const std::string& path,
                                                     resolve::Overrides& o) {
  auto yaml = load_furnace_yaml(path.empty() ? "." : path);
  if (!yaml) {
    return core::fail(yaml.error());
  }
  std::vector<std::string> notes;
  if (!*yaml) {
    return notes;
  }
  const resolve::Overrides pins = overrides_from(**yaml);
  const auto take = [&](std::string& field, const std::string& pin, const char* key) {
    if (field.empty() && !pin.empty()) {
      field = pin;
      notes.push_back(
          fmt::format("{} {} from {} (a command-line option overrides it)", key, pin, k_file_name));
    }
  };
  take(o.framework, pins.framework, "framework");
  take(o.version, pins.version, "version");
  take(o.python, pins.python, "python");
  take(o.cuda, pins.cuda, "cuda");
  if (!(*yaml)->base.empty()) {
    notes.push_back(
        fmt::format("{} sets base: {}; 'furnace build' uses it instead of the image below",
                    k_file_name,
                    (*yaml)->base));
  }
  return notes;
}

core::Result<Project> load_project(const std::string& path,
                                   gpu::GpuProbe& probe,
                                   ReadYaml read_yaml,
                                   const std::string& cache_dir) {
  std::error_code ec;
  const std::string given = path.empty() ? "." : path;
  if (!fs::is_directory(given, ec)) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("cannot read project directory '{}': {}",
                                  given,
                                  ec ? ec.message() : "not a directory"),
                      "give the directory of the project, e.g. 'furnace build .'");
  }
  Project p;
  p.root = fs::weakly_canonical(fs::absolute(given, ec), ec).string();
  const std::string yaml_path = (fs::path(p.root) / k_file_name).string();
  if (read_yaml == ReadYaml::yes && fs::exists(yaml_path, ec)) {
    auto text = util::read_file(yaml_path);
    if (!text) {
      return core::fail(core::ErrorKind::io,
                        fmt::format("cannot read {}: {}", yaml_path, text.error().message));
    }
    p.yaml_text = *text;
    auto y = parse_furnace_yaml(p.yaml_text, k_file_name, p.root);
    if (!y) {
      return core::fail(y.error());
    }
    p.yaml = std::move(*y);
  }
  p.name = p.yaml && !p.yaml->name.empty() ? p.yaml->name
                                           : image_name_from(fs::path(p.root).filename().string());
  p.spec = deps::parse_project(deps::list_project_files(p.root), deps::disk_reader(p.root));
  if (auto date = deps::git_commit_date(p.root)) {
    p.spec.facts.push_back(std::move(*date)); // the project's era, as `furnace resolve` sees it
  }
  for (const deps::Diagnostic& d : p.spec.diagnostics) {
    if (d.code == "cuda_extension" && !p.cuda_extensions) {
      p.cuda_extensions = true;
      p.cuda_extensions_where = d.where.str();
    }
  }
  const resolve::Overrides o = p.yaml ? overrides_from(*p.yaml) : resolve::Overrides{};
  const core::Result<gpu::GpuInfo> probed = probe.probe();
  auto host = make_host(probed, {}, {}, resolve::builtin_tables());
  if (!host) {
    return core::fail(host.error());
  }
  host->image_python = read_image_pythons(cache_dir);
  p.plan = resolve::resolve(p.spec, *host, o);
  return p;
}

} // namespace furnace::project
