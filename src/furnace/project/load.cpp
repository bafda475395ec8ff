#include "load.hpp"

#include <furnace/spec/project.hpp>
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
  const std::vector<std::vector<const char*>> tiers{
      {k_file_name},
      {".git"},
      {"requirements.txt", "environment.yml", "environment.yaml", "setup.py", "pyproject.toml",
       "Pipfile", "setup.cfg"}};
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

core::Result<Project> load_project(const std::string& path, gpu::GpuProbe& probe, ReadYaml read_yaml) {
  std::error_code ec;
  const std::string given = path.empty() ? "." : path;
  if (!fs::is_directory(given, ec)) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("cannot read project directory '{}': {}", given,
                                  ec ? ec.message() : "not a directory"),
                      "give the directory of the project, e.g. 'furnace build .'");
  }
  Project p;
  p.root = fs::weakly_canonical(fs::absolute(given, ec), ec).string();
  const std::string yaml_path = (fs::path(p.root) / k_file_name).string();
  if (read_yaml == ReadYaml::yes && fs::exists(yaml_path, ec)) {
    auto text = util::read_file(yaml_path);
    if (!text) {
      return core::fail(core::ErrorKind::io, fmt::format("cannot read {}: {}", yaml_path, text.error().message));
    }
    p.yaml_text = *text;
    auto y = parse_furnace_yaml(p.yaml_text, k_file_name);
    if (!y) {
      return core::fail(y.error());
    }
    p.yaml = std::move(*y);
  }
  p.name = p.yaml && !p.yaml->name.empty() ? p.yaml->name
                                           : image_name_from(fs::path(p.root).filename().string());
  p.spec = spec::parse_project(spec::list_project_files(p.root), spec::disk_reader(p.root));
  for (const spec::Diagnostic& d : p.spec.diagnostics) {
    if (d.code == "cuda_extension" && !p.cuda_extensions) {
      p.cuda_extensions = true;
      p.cuda_extensions_where = d.where.str();
    }
  }
  resolve::Overrides o;
  if (p.yaml) {
    o.framework = p.yaml->framework;
    o.version = p.yaml->version;
    o.python = p.yaml->python;
    o.cuda = p.yaml->cuda == "cpu" || p.yaml->cuda == "none" ? "" : p.yaml->cuda;
  }
  const core::Result<gpu::GpuInfo> probed = probe.probe();
  auto host = resolve::make_host(probed, {}, {}, resolve::builtin_tables());
  if (!host) {
    return core::fail(host.error());
  }
  p.plan = resolve::resolve(p.spec, *host, o);
  return p;
}

}  // namespace furnace::project
