// conda environment files (environment.yml, conda.yaml), read with yaml-cpp.

#include "parsers.hpp"

#include <furnace/deps/requirement.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace furnace::deps {

namespace {

int line_of(const YAML::Node& n) { return n.Mark().line + 1; }

void add_conda(const std::string& text, const Location& where, Spec& spec) {
  auto req = parse_conda_spec(text);
  if (!req) {
    spec.diagnose(where, "parse_error",
                  fmt::format("cannot read conda spec '{}': {}", text, req.error().message));
    return;
  }
  req->where = where;
  add_requirement(spec, std::move(*req));
}

}  // namespace

void parse_environment_yml(std::string_view text, const std::string& file, const FileReader& read,
                           Spec& spec) {
  // yaml-cpp reports errors by exception: caught here and turned into a diagnostic with the line.
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsMap()) {
      if (!root.IsNull()) {
        spec.diagnose(Location{file, line_of(root)}, "parse_error",
                      "a conda environment file must be a mapping");
      }
      return;
    }
    const YAML::Node deps = root["dependencies"];
    if (!deps) {
      return;
    }
    if (!deps.IsSequence()) {
      spec.diagnose(Location{file, line_of(deps)}, "parse_error", "'dependencies' is not a list");
      return;
    }
    for (const YAML::Node& d : deps) {
      const Location where{file, line_of(d)};
      if (d.IsScalar()) {
        add_conda(d.Scalar(), where, spec);
      } else if (d.IsMap() && d["pip"]) {
        const YAML::Node pip = d["pip"];
        if (!pip.IsSequence()) {
          spec.diagnose(where, "parse_error", "'pip' is not a list");
          continue;
        }
        // The pip: entries are requirements-file lines, with their own line numbers.
        for (const YAML::Node& p : pip) {
          if (!p.IsScalar()) {
            spec.diagnose(Location{file, line_of(p)}, "parse_error", "a pip entry is not a string");
            continue;
          }
          const std::string line = p.Scalar();
          const std::string label = fmt::format("{}:{}", file, line_of(p));
          Spec sub;
          parse_requirements_txt(line, file, read, sub);
          for (Requirement& r : sub.requirements) {
            if (r.where.file == file) {
              r.where.line = line_of(p);
            }
            spec.requirements.push_back(std::move(r));
          }
          for (Fact& f : sub.facts) {
            if (f.where.file == file) {
              f.where.line = line_of(p);
            }
            spec.facts.push_back(std::move(f));
          }
          for (Diagnostic& g : sub.diagnostics) {
            if (g.where.file == file) {
              g.where.line = line_of(p);
            }
            spec.diagnostics.push_back(std::move(g));
          }
          for (std::string& f : sub.files) {
            spec.files.push_back(std::move(f));
          }
          (void)label;
        }
      } else {
        spec.diagnose(where, "parse_error", "a dependency is neither a string nor a pip: list");
      }
    }
  } catch (const YAML::Exception& e) {
    spec.diagnose(Location{file, e.mark.line >= 0 ? e.mark.line + 1 : 0}, "parse_error",
                  fmt::format("invalid YAML: {}", e.msg));
  }
}

}  // namespace furnace::deps
