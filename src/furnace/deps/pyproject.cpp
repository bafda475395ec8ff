// pyproject.toml (PEP 621, Poetry, PEP 735 groups, uv) and Pipfile.

#include "parsers.hpp"

#include <furnace/deps/requirement.hpp>
#include <furnace/deps/toml.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace furnace::deps {

namespace {

void toml_errors(const TomlDocument& doc, const std::string& file, Spec& spec) {
  for (const TomlError& e : doc.errors) {
    spec.diagnose(Location{file, e.line}, "parse_error", fmt::format("invalid TOML: {}", e.message));
  }
}

void add_pep508(const TomlValue& v, const std::string& file, const std::string& origin, bool optional,
                Spec& spec) {
  if (!v.is_string()) {
    return;
  }
  auto req = parse_pep508(v.text);
  if (!req) {
    spec.diagnose(Location{file, v.line}, "parse_error",
                  fmt::format("cannot read requirement '{}': {}", v.text, req.error().message));
    return;
  }
  req->where = Location{file, v.line};
  req->origin = origin;
  req->optional = optional;
  add_requirement(spec, std::move(*req));
}

void add_pep508_list(const TomlValue* list, const std::string& file, const std::string& origin,
                     bool optional, Spec& spec) {
  if (list == nullptr || !list->is_array()) {
    return;
  }
  for (const TomlValue& v : list->items) {
    add_pep508(v, file, origin, optional, spec);
  }
}

// A Poetry/Pipfile dependency: "^1.9", "*", {version = "…", extras = [...], index/source = "…"},
// or a list of those (multiple constraints).
void add_table_dependency(const std::string& name, const TomlValue& v, const std::string& file,
                          const std::string& origin, bool optional, bool poetry, Spec& spec) {
  if (v.is_array()) {
    if (!v.items.empty()) {
      add_table_dependency(name, v.items.front(), file, origin, optional, poetry, spec);
    }
    return;
  }
  std::string constraint;
  std::vector<std::string> extras;
  std::string marker;
  std::string url;
  if (v.is_string()) {
    constraint = v.text;
  } else if (v.is_table()) {
    if (const TomlValue* ver = v.get("version"); ver != nullptr && ver->is_string()) {
      constraint = ver->text;
    }
    if (const TomlValue* ex = v.get("extras"); ex != nullptr && ex->is_array()) {
      for (const TomlValue& e : ex->items) {
        if (e.is_string()) {
          extras.push_back(normalize_name(e.text));
        }
      }
    }
    if (const TomlValue* m = v.get("markers"); m != nullptr && m->is_string()) {
      marker = m->text;
    }
    for (const char* k : {"git", "url", "path"}) {
      if (const TomlValue* u = v.get(k); u != nullptr && u->is_string()) {
        url = u->text;
      }
    }
    if (const TomlValue* opt = v.get("optional"); opt != nullptr && opt->type == TomlValue::Type::boolean) {
      optional = optional || opt->boolean;
    }
  } else {
    return;
  }
  const std::string pep = poetry ? poetry_to_pep440(constraint)
                                 : (constraint == "*" ? std::string()
                                                      : (constraint.find_first_of("=<>!~") == 0 || constraint.empty()
                                                             ? constraint
                                                             : "==" + constraint));
  Requirement req;
  req.written_name = name;
  req.name = normalize_name(name);
  req.extras = std::move(extras);
  req.specifier = pep;
  auto set = parse_specifiers(pep);
  if (!set) {
    spec.diagnose(Location{file, v.line}, "parse_error",
                  fmt::format("cannot read the version of '{}': {}", name, set.error().message));
    return;
  }
  req.specifiers = std::move(*set);
  req.marker = marker;
  req.url = url;
  req.where = Location{file, v.line};
  req.origin = origin;
  req.optional = optional;
  add_requirement(spec, std::move(req));
}

void add_index(const std::string& url, int line, const std::string& file, Spec& spec) {
  spec.add_fact(FactKind::index_url, url, Location{file, line}, Confidence::high);
  if (auto c = cuda_from_index_url(url)) {
    spec.add_fact(FactKind::cuda, *c, Location{file, line}, Confidence::high, url);
  }
}

void add_python(const std::string& value, int line, const std::string& file, bool poetry,
                Spec& spec, const std::string& detail) {
  std::string s = poetry ? poetry_to_pep440(value) : value;
  if (s.empty()) {
    return;
  }
  if (s.find_first_of("=<>!~") != 0) {
    s = "==" + s + (s.find('*') == std::string::npos && std::count(s.begin(), s.end(), '.') < 2 ? ".*" : "");
  }
  spec.add_fact(FactKind::python, s, Location{file, line}, Confidence::high, detail);
}

}  // namespace

void parse_pyproject(std::string_view text, const std::string& file, Spec& spec) {
  const TomlDocument doc = parse_toml(text);
  toml_errors(doc, file, spec);
  const TomlValue& root = doc.root;
  if (const TomlValue* project = root.get("project")) {
    add_pep508_list(project->get("dependencies"), file, "pyproject", false, spec);
    if (const TomlValue* opt = project->get("optional-dependencies"); opt != nullptr && opt->is_table()) {
      for (const TomlValue& group : opt->items) {
        add_pep508_list(&group, file, "pyproject", true, spec);
      }
    }
    if (const TomlValue* rp = project->get("requires-python"); rp != nullptr && rp->is_string()) {
      add_python(rp->text, rp->line, file, false, spec, "requires-python = " + rp->text);
    }
  }
  if (const TomlValue* groups = root.get("dependency-groups"); groups != nullptr && groups->is_table()) {
    for (const TomlValue& group : groups->items) {
      add_pep508_list(&group, file, "pyproject", true, spec);
    }
  }
  if (const TomlValue* poetry = root.path({"tool", "poetry"})) {
    auto deps = [&](const TomlValue* table, bool optional) {
      if (table == nullptr || !table->is_table()) {
        return;
      }
      for (std::size_t i = 0; i < table->keys.size(); ++i) {
        const std::string& name = table->keys[i];
        const TomlValue& v = table->items[i];
        if (name == "python") {
          if (v.is_string()) {
            add_python(v.text, v.line, file, true, spec, "python = \"" + v.text + "\"");
          }
          continue;
        }
        add_table_dependency(name, v, file, "poetry", optional, true, spec);
      }
    };
    deps(poetry->get("dependencies"), false);
    deps(poetry->get("dev-dependencies"), true);
    if (const TomlValue* groups = poetry->get("group"); groups != nullptr && groups->is_table()) {
      for (const TomlValue& g : groups->items) {
        deps(g.get("dependencies"), true);
      }
    }
    if (const TomlValue* sources = poetry->get("source"); sources != nullptr && sources->is_array()) {
      for (const TomlValue& s : sources->items) {
        if (const TomlValue* url = s.get("url"); url != nullptr && url->is_string()) {
          add_index(url->text, url->line, file, spec);
        }
      }
    }
  }
  if (const TomlValue* uv = root.path({"tool", "uv"})) {
    if (const TomlValue* idx = uv->get("index"); idx != nullptr && idx->is_array()) {
      for (const TomlValue& s : idx->items) {
        if (const TomlValue* url = s.get("url"); url != nullptr && url->is_string()) {
          add_index(url->text, url->line, file, spec);
        }
      }
    }
    for (const char* key : {"extra-index-url", "find-links"}) {
      if (const TomlValue* urls = uv->get(key); urls != nullptr && urls->is_array()) {
        for (const TomlValue& u : urls->items) {
          if (u.is_string()) {
            add_index(u.text, u.line, file, spec);
          }
        }
      }
    }
    if (const TomlValue* url = uv->get("index-url"); url != nullptr && url->is_string()) {
      add_index(url->text, url->line, file, spec);
    }
  }
}

void parse_pipfile(std::string_view text, const std::string& file, Spec& spec) {
  const TomlDocument doc = parse_toml(text);
  toml_errors(doc, file, spec);
  const TomlValue& root = doc.root;
  auto deps = [&](const TomlValue* table, bool optional) {
    if (table == nullptr || !table->is_table()) {
      return;
    }
    for (std::size_t i = 0; i < table->keys.size(); ++i) {
      add_table_dependency(table->keys[i], table->items[i], file, "pipfile", optional, false, spec);
    }
  };
  deps(root.get("packages"), false);
  deps(root.get("dev-packages"), true);
  if (const TomlValue* req = root.get("requires")) {
    for (const char* key : {"python_full_version", "python_version"}) {
      if (const TomlValue* v = req->get(key); v != nullptr && v->is_string()) {
        add_python(v->text, v->line, file, false, spec, std::string(key) + " = \"" + v->text + "\"");
        break;
      }
    }
  }
  if (const TomlValue* sources = root.get("source"); sources != nullptr && sources->is_array()) {
    for (const TomlValue& s : sources->items) {
      if (const TomlValue* url = s.get("url"); url != nullptr && url->is_string()) {
        add_index(url->text, url->line, file, spec);
      }
    }
  }
}

}  // namespace furnace::deps
