#include "store.hpp"

#include <furnace/core/dirs.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/ownership.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

namespace furnace::dataset {

namespace {

namespace fs = std::filesystem;

std::string under(const std::string& host_root, const char* abs) {
  return (fs::path(host_root.empty() ? "/" : host_root) / (abs + 1)).string();
}

core::Error bad(const std::string& file,
                const YAML::Node& node,
                const std::string& what,
                const std::string& hint = {}) {
  const YAML::Mark m = node.Mark();
  return core::make_error(core::ErrorKind::invalid,
                          fmt::format("{}:{}: {}", file, m.line + 1, what),
                          hint.empty() ? "fix or remove the entry, or 'furnace dataset rm NAME' "
                                         "and add it again"
                                       : hint);
}

// One entry of the `datasets:` mapping.
core::Result<Dataset>
read_entry(const std::string& file, const std::string& name, const YAML::Node& v, bool system) {
  if (auto ok = check_name(name); !ok) {
    return core::fail(bad(file, v, ok.error().message));
  }
  if (!v.IsMap()) {
    return core::fail(bad(file, v, fmt::format("datasets.{} must be a mapping", name)));
  }
  Dataset d;
  d.name = name;
  d.system = system;
  for (const auto& kv : v) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& val = kv.second;
    const std::string at = fmt::format("datasets.{}.{}", name, key);
    if (key == "options") {
      if (!val.IsSequence()) {
        return core::fail(bad(file, val, at + " must be a list"));
      }
      std::string joined;
      for (const auto& o : val) {
        joined += (joined.empty() ? "" : ",") + o.Scalar();
      }
      auto opts = parse_options(joined);
      if (!opts) {
        return core::fail(bad(file, val, fmt::format("{}: {}", at, opts.error().message)));
      }
      d.options = *opts;
      continue;
    }
    if (!val.IsScalar()) {
      return core::fail(bad(file, val, at + " must be a single value"));
    }
    if (key == "source") {
      auto s = parse_source(val.Scalar(), "/");
      if (!s) {
        return core::fail(bad(file, val, fmt::format("{}: {}", at, s.error().message)));
      }
      if (s->kind == Kind::local && !fs::path(val.Scalar()).is_absolute()) {
        return core::fail(bad(file, val, at + " must be an absolute path"));
      }
      d.source = *s;
    } else if (key == "user") {
      d.user = val.Scalar();
    } else if (key == "domain") {
      d.domain = val.Scalar();
    } else if (key == "rw") {
      if (val.Scalar() != "true" && val.Scalar() != "false") {
        return core::fail(bad(file, val, at + " must be true or false"));
      }
      d.rw = val.Scalar() == "true";
    } else {
      return core::fail(bad(file,
                            kv.first,
                            fmt::format("unknown key '{}'", at),
                            "valid keys: source, user, domain, options, rw"));
    }
  }
  if (!v["source"]) {
    return core::fail(bad(file, v, fmt::format("datasets.{} has no source", name)));
  }
  return d;
}

} // namespace

Scope user_scope(const core::Env& env) {
  const std::string base = core::dirs_from_env(env).config;
  return Scope{false, base + "/datasets.yaml", base + "/credentials"};
}

Scope system_scope(const std::string& host_root) {
  return Scope{true,
               under(host_root, "/etc/furnace/datasets.yaml"),
               under(host_root, "/etc/furnace/credentials")};
}

core::Result<std::vector<Dataset>> load_datasets(const Scope& scope) {
  std::error_code ec;
  if (!fs::exists(scope.file, ec)) {
    return std::vector<Dataset>{};
  }
  auto text = util::read_file(scope.file);
  if (!text) {
    return core::fail(core::ErrorKind::io,
                      fmt::format("cannot read {}: {}", scope.file, text.error().message),
                      scope.system ? "the lab's datasets file must be readable by every user "
                                     "(mode 0644)"
                                   : "");
  }
  std::vector<Dataset> out;
  try {
    const YAML::Node root = YAML::Load(*text);
    if (root.IsNull()) {
      return out;
    }
    const YAML::Node list = root.IsMap() ? root["datasets"] : YAML::Node();
    if (!root.IsMap() || (list && !list.IsNull() && !list.IsMap())) {
      return core::fail(bad(scope.file, root, "must be a mapping 'datasets: {NAME: {source: …}}'"));
    }
    for (const auto& kv : root) {
      if (kv.first.Scalar() != "datasets") {
        return core::fail(bad(scope.file,
                              kv.first,
                              fmt::format("unknown key '{}'", kv.first.Scalar()),
                              "the only top-level key is 'datasets'"));
      }
    }
    if (!list || list.IsNull()) {
      return out;
    }
    for (const auto& kv : list) {
      auto d = read_entry(scope.file, kv.first.Scalar(), kv.second, scope.system);
      if (!d) {
        return core::fail(d.error());
      }
      out.push_back(std::move(*d));
    }
  } catch (const YAML::Exception& e) {
    return core::fail(
        core::ErrorKind::invalid,
        fmt::format("{}:{}:{}: {}", scope.file, e.mark.line + 1, e.mark.column + 1, e.msg),
        "check the indentation and quoting");
  }
  return out;
}

std::string render_datasets(const std::vector<Dataset>& list) {
  std::vector<const Dataset*> sorted;
  for (const Dataset& d : list) {
    sorted.push_back(&d);
  }
  std::sort(sorted.begin(), sorted.end(), [](const Dataset* a, const Dataset* b) {
    return a->name < b->name;
  });
  YAML::Emitter e;
  e << YAML::BeginMap << YAML::Key << "datasets" << YAML::Value;
  if (sorted.empty()) {
    e << YAML::Flow << YAML::BeginMap << YAML::EndMap;
  } else {
    e << YAML::BeginMap;
    for (const Dataset* d : sorted) {
      e << YAML::Key << d->name << YAML::Value << YAML::BeginMap;
      e << YAML::Key << "source" << YAML::Value << source_text(d->source);
      if (!d->user.empty()) {
        e << YAML::Key << "user" << YAML::Value << d->user;
      }
      if (!d->domain.empty()) {
        e << YAML::Key << "domain" << YAML::Value << d->domain;
      }
      if (!d->options.empty()) {
        e << YAML::Key << "options" << YAML::Value << YAML::Flow << d->options;
      }
      e << YAML::Key << "rw" << YAML::Value << (d->rw ? "true" : "false");
      e << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndMap;
  return "# furnace datasets ('furnace dataset add/rm'); no secrets here: CIFS passwords are in\n"
         "# credentials/NAME next to this file (mode 600)\n" +
         std::string(e.c_str()) + "\n";
}

core::Result<void> save_datasets(const Scope& scope, const std::vector<Dataset>& list) {
  const std::string dir = fs::path(scope.file).parent_path().string();
  std::error_code ec;
  if (!util::make_directories(dir, ec) && ec) {
    return core::fail(core::ErrorKind::io, fmt::format("cannot create {}: {}", dir, ec.message()));
  }
  util::AtomicWriteOptions w;
  w.mode = 0644;
  if (auto ok = util::write_file_atomic(scope.file, render_datasets(list), w); !ok) {
    return core::fail(ok.error().error_number == EACCES || ok.error().error_number == EPERM
                          ? core::ErrorKind::permission
                          : core::ErrorKind::io,
                      ok.error().message,
                      scope.system ? "the lab's datasets are root's: 'sudo furnace dataset ... "
                                     "--system'"
                                   : "");
  }
  return {};
}

core::Result<Found>
find_dataset(const core::Context& ctx, const std::string& name, bool system_only) {
  std::vector<Scope> scopes;
  if (!system_only) {
    scopes.push_back(user_scope(ctx.env));
  }
  scopes.push_back(system_scope(ctx.host_root));
  for (const Scope& s : scopes) {
    auto list = load_datasets(s);
    if (!list) {
      return core::fail(list.error());
    }
    for (Dataset& d : *list) {
      if (d.name == name) {
        return Found{std::move(d), s};
      }
    }
  }
  return core::fail(
      core::ErrorKind::not_found,
      fmt::format("no dataset '{}'{}",
                  name,
                  system_only ? " among the lab's datasets (/etc/furnace/datasets.yaml)" : ""),
      "'furnace dataset ls' lists them; 'furnace dataset add NAME SOURCE' adds one");
}

core::Result<std::string> mount_root(const std::string& host_root) {
  const std::string file = under(host_root, "/etc/furnace/config.yaml");
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    return std::string("/mnt/furnace");
  }
  auto text = util::read_file(file);
  if (!text) {
    return core::fail(core::ErrorKind::io,
                      fmt::format("cannot read {}: {}", file, text.error().message));
  }
  try {
    const YAML::Node root = YAML::Load(*text);
    const YAML::Node d = root.IsMap() ? root["datasets"] : YAML::Node();
    if (!d || d.IsNull()) {
      return std::string("/mnt/furnace");
    }
    const YAML::Node r = d.IsMap() ? d["mount_root"] : YAML::Node();
    if (!d.IsMap() || (d.size() != 1 || !r)) {
      return core::fail(bad(file,
                            d,
                            "'datasets' must be a mapping with one key, mount_root",
                            "e.g. 'datasets: {mount_root: /mnt/furnace}'"));
    }
    if (!r.IsScalar() || !fs::path(r.Scalar()).is_absolute() || r.Scalar() == "/") {
      return core::fail(bad(file,
                            r,
                            "datasets.mount_root must be an absolute directory other "
                            "than /",
                            "e.g. 'datasets: {mount_root: /mnt/furnace}'"));
    }
    std::string dir = fs::path(r.Scalar()).lexically_normal().string();
    while (dir.size() > 1 && dir.back() == '/') {
      dir.pop_back();
    }
    return dir;
  } catch (const YAML::Exception& e) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

} // namespace furnace::dataset
