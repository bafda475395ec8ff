#include "furnace_yaml.hpp"

#include <furnace/deps/requirement.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

namespace furnace::project {

namespace {

using core::ErrorKind;

const std::vector<std::string>& presets() {
  static const std::vector<std::string> k{"aliyun", "tuna", "ustc", "huawei", "tencent"};
  return k;
}

std::string join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) {
      out += sep;
    }
    out += s;
  }
  return out;
}

const char* type_name(const YAML::Node& n) {
  switch (n.Type()) {
  case YAML::NodeType::Map:
    return "a mapping";
  case YAML::NodeType::Sequence:
    return "a list";
  case YAML::NodeType::Null:
    return "empty";
  case YAML::NodeType::Scalar:
    return "a scalar";
  default:
    return "undefined";
  }
}

// Reads one file's nodes; every error carries file:line:column of the node at fault.
class Reader {
public:
  explicit Reader(std::string file, std::string project_dir = {})
      : m_file(std::move(file)), m_project_dir(std::move(project_dir)) {}

  core::Error error(const YAML::Mark& mark, const std::string& message,
                    const std::string& hint = {}) const {
    // yaml-cpp marks are 0-based; editors count from 1.
    return core::make_error(
        ErrorKind::invalid,
        fmt::format("{}:{}:{}: {}", m_file, mark.line + 1, mark.column + 1, message), hint);
  }

  core::Result<std::string> scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) {
      return core::fail(error(n.Mark(), fmt::format("'{}' must be a string, not {}", key,
                                                     type_name(n))));
    }
    return n.Scalar();
  }

  core::Result<std::vector<std::string>> list(const YAML::Node& n, const std::string& key,
                                              bool allow_scalar = false) const {
    std::vector<std::string> out;
    if (n.IsNull()) {
      return out;
    }
    if (allow_scalar && n.IsScalar()) {
      out.push_back(n.Scalar());
      return out;
    }
    if (!n.IsSequence()) {
      return core::fail(error(n.Mark(), fmt::format("'{}' must be a list of strings, not {}", key,
                                                     type_name(n))));
    }
    for (const YAML::Node& item : n) {
      if (!item.IsScalar()) {
        return core::fail(error(item.Mark(), fmt::format("each item of '{}' must be a string, not {}",
                                                          key, type_name(item))));
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  core::Result<bool> boolean(const YAML::Node& n, const std::string& key) const {
    if (n.IsScalar()) {
      const std::string v = util::to_lower(n.Scalar());
      if (v == "true" || v == "yes" || v == "on") {
        return true;
      }
      if (v == "false" || v == "no" || v == "off") {
        return false;
      }
    }
    return core::fail(error(n.Mark(), fmt::format("'{}' must be true or false", key)));
  }

  core::Result<std::string> one_of(const YAML::Node& n, const std::string& key,
                                   const std::vector<std::string>& allowed) const {
    auto v = scalar(n, key);
    if (!v) {
      return v;
    }
    if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
      const std::string near = nearest(*v, allowed);
      return core::fail(error(n.Mark(),
                              fmt::format("'{}' cannot be '{}'{}", key, *v,
                                          near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)),
                              fmt::format("use one of: {}", join(allowed))));
    }
    return v;
  }

  core::Result<std::string> matching(const YAML::Node& n, const std::string& key,
                                     const std::regex& re, const std::string& what) const {
    auto v = scalar(n, key);
    if (v && !std::regex_match(*v, re)) {
      return core::fail(error(n.Mark(), fmt::format("'{}' cannot be '{}'", key, *v), what));
    }
    return v;
  }

  const std::string& file() const { return m_file; }
  const std::string& project_dir() const { return m_project_dir; }

private:
  std::string m_file;
  std::string m_project_dir; // "" when the files are not checked on disk
};

bool is_url(std::string_view v) { return v.starts_with("https://") || v.starts_with("http://"); }

core::Result<std::string> mirror_value(const Reader& r, const YAML::Node& n, const std::string& key) {
  auto v = r.scalar(n, key);
  if (!v) {
    return v;
  }
  static const std::regex k_url(R"(https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/%+-]*)?)");
  if (std::find(presets().begin(), presets().end(), *v) != presets().end() ||
      (is_url(*v) && std::regex_match(*v, k_url))) {
    return v;
  }
  const std::string near = nearest(*v, presets());
  return core::fail(r.error(n.Mark(),
                            fmt::format("'{}' cannot be '{}'{}", key, *v,
                                        near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)),
                            fmt::format("use a preset ({}) or an http(s) URL without credentials",
                                        join(presets()))));
}

core::Result<void> check_relative_file(const Reader& r, const YAML::Node& at, const std::string& key,
                                       const std::string& path) {
  const std::filesystem::path p(path);
  bool escapes = p.is_absolute() || path.empty();
  for (const auto& part : p) {
    escapes = escapes || part == "..";
  }
  if (escapes) {
    return core::fail(r.error(at.Mark(),
                              fmt::format("'{}' names '{}', which is not inside the project", key, path),
                              "give a path relative to the project directory"));
  }
  if (r.project_dir().empty()) {
    return {};
  }
  // On disk: symlinks followed (a missing file is the reader's to report).
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(r.project_dir(), ec);
  const fs::path real = fs::weakly_canonical(root / p, ec);
  const fs::path rel = real.lexically_relative(root);
  if (ec || rel.empty() || *rel.begin() == "..") {
    return core::fail(r.error(at.Mark(),
                              fmt::format("'{}' names '{}', which leads out of the project to '{}' "
                                          "(a symbolic link)",
                                          key,
                                          path,
                                          real.string()),
                              "copy the file into the project instead of linking to it"));
  }
  return {};
}

#define FURNACE_TRY_ASSIGN(target, expr)                                                           \
  do {                                                                                             \
    auto furnace_r_ = (expr);                                                                      \
    if (!furnace_r_) {                                                                             \
      return core::fail(std::move(furnace_r_).error());                                            \
    }                                                                                              \
    (target) = std::move(*furnace_r_);                                                             \
  } while (0)

// Longer than 120 lines on purpose: one flat branch per furnace.yaml key, in the order of
// docs/furnace-yaml.md, so that a key's parsing and its error are found in one place; splitting it
// would only spread the table over several functions.
core::Result<void> read_key(const Reader& r, const std::string& key, const YAML::Node& v,
                            FurnaceYaml& y) {
  static const std::regex k_name(R"([a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?)");
  static const std::regex k_version(R"([0-9][0-9.]*(\.\*)?|[<>=!~][<>=!~0-9.*, ]*)");
  static const std::regex k_minor(R"([0-9]+\.[0-9]+)");
  static const std::regex k_cuda(R"([0-9]+\.[0-9]+|cpu|none)");
  static const std::regex k_apt(R"([a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?)");
  static const std::regex k_env(R"([A-Za-z_][A-Za-z0-9_]*)");
  static const std::regex k_port(R"([0-9]{1,5}(:[0-9]{1,5})?(/(tcp|udp))?)");
  static const std::regex k_shm(R"([0-9]+(\.[0-9]+)?[kKmMgG]?[bB]?)");
  static const std::regex k_gpus(R"(all|none|[0-9]+(,[0-9]+)*)");
  static const std::regex k_workdir(R"(/[A-Za-z0-9._/-]*)");

  if (key == "name") {
    FURNACE_TRY_ASSIGN(y.name, r.matching(v, key, k_name,
                                          "use lowercase letters, digits, '.', '_' and '-' (an "
                                          "image name), e.g. 'my-paper'"));
  } else if (key == "framework") {
    FURNACE_TRY_ASSIGN(y.framework, r.one_of(v, key, {"pytorch", "tensorflow", "jax"}));
  } else if (key == "version") {
    FURNACE_TRY_ASSIGN(y.version, r.matching(v, key, k_version,
                                             "give a version (1.13.1) or a specifier (>=2.0,<2.3)"));
  } else if (key == "python") {
    FURNACE_TRY_ASSIGN(y.python, r.matching(v, key, k_minor, "give MAJOR.MINOR, e.g. '3.10' (quoted)"));
  } else if (key == "cuda") {
    FURNACE_TRY_ASSIGN(y.cuda, r.matching(v, key, k_cuda, "give MAJOR.MINOR, e.g. '11.8', or cpu"));
  } else if (key == "variant") {
    std::string s;
    FURNACE_TRY_ASSIGN(s, r.one_of(v, key, {"runtime", "devel"}));
    y.variant = s == "devel" ? Variant::devel : Variant::runtime;
  } else if (key == "base") {
    static const std::regex k_image(R"([A-Za-z0-9][A-Za-z0-9._/:@-]*)");
    FURNACE_TRY_ASSIGN(y.base, r.matching(v, key, k_image, "give an image reference, e.g. "
                                                           "'pytorch/pytorch:2.1.0-cuda11.8-cudnn8-runtime'"));
  } else if (key == "apt") {
    FURNACE_TRY_ASSIGN(y.apt, r.list(v, key));
    for (std::size_t i = 0; i < y.apt.size(); ++i) {
      if (!std::regex_match(y.apt[i], k_apt)) {
        return core::fail(r.error(v[i].Mark(), fmt::format("'{}' is not a Debian package name", y.apt[i]),
                                  "use names such as 'libgl1' or 'ffmpeg=7:5.1.4-0+deb12u1'"));
      }
    }
  } else if (key == "pip") {
    FURNACE_TRY_ASSIGN(y.pip, r.list(v, key));
    for (std::size_t i = 0; i < y.pip.size(); ++i) {
      auto req = deps::parse_pep508(y.pip[i]);
      if (!req || y.pip[i].starts_with("-")) {
        return core::fail(r.error(v[i].Mark(),
                                  fmt::format("'{}' is not a pip requirement{}", y.pip[i],
                                              req ? "" : ": " + req.error().message),
                                  "use PEP 508 requirements such as 'einops>=0.6'"));
      }
    }
  } else if (key == "requirements") {
    std::vector<std::string> files;
    FURNACE_TRY_ASSIGN(files, r.list(v, key, true));
    for (const std::string& f : files) {
      auto ok = check_relative_file(r, v, key, f);
      if (!ok) {
        return core::fail(ok.error());
      }
    }
    y.requirements = std::move(files);
  } else if (key == "conda") {
    FURNACE_TRY_ASSIGN(y.conda, r.scalar(v, key));
    auto ok = check_relative_file(r, v, key, y.conda);
    if (!ok) {
      return core::fail(ok.error());
    }
  } else if (key == "mirrors") {
    if (!v.IsMap()) {
      return core::fail(r.error(v.Mark(), fmt::format("'mirrors' must be a mapping, not {}", type_name(v)),
                                "e.g. 'mirrors: {apt: tuna, pip: tuna}'"));
    }
    const std::vector<std::string> sub{"apt", "pip", "conda"};
    for (const auto& kv : v) {
      const std::string k = kv.first.Scalar();
      std::string* target = k == "apt" ? &y.mirrors.apt
                            : k == "pip" ? &y.mirrors.pip
                            : k == "conda" ? &y.mirrors.conda
                                           : nullptr;
      if (target == nullptr) {
        const std::string near = nearest(k, sub);
        return core::fail(r.error(kv.first.Mark(),
                                  fmt::format("unknown key 'mirrors.{}'{}", k,
                                              near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)),
                                  "valid keys: apt, pip, conda"));
      }
      FURNACE_TRY_ASSIGN(*target, mirror_value(r, kv.second, "mirrors." + k));
    }
  } else if (key == "env") {
    if (!v.IsMap()) {
      return core::fail(r.error(v.Mark(), fmt::format("'env' must be a mapping, not {}", type_name(v)),
                                "e.g. 'env: {OMP_NUM_THREADS: \"8\"}'"));
    }
    for (const auto& kv : v) {
      const std::string k = kv.first.Scalar();
      if (!std::regex_match(k, k_env)) {
        return core::fail(r.error(kv.first.Mark(), fmt::format("'{}' is not a variable name", k)));
      }
      FURNACE_TRY_ASSIGN(y.env[k], r.scalar(kv.second, "env." + k));
    }
  } else if (key == "ports") {
    FURNACE_TRY_ASSIGN(y.ports, r.list(v, key));
    for (std::size_t i = 0; i < y.ports.size(); ++i) {
      if (!std::regex_match(y.ports[i], k_port)) {
        return core::fail(r.error(v[i].Mark(), fmt::format("'{}' is not a port", y.ports[i]),
                                  "use PORT or HOST_PORT:CONTAINER_PORT, e.g. '8080:80'"));
      }
    }
  } else if (key == "shm") {
    FURNACE_TRY_ASSIGN(y.shm, r.matching(v, key, k_shm, "give a size such as '8g' or '512m'"));
  } else if (key == "memory" || key == "cpus" || key == "pids_limit") {
    static const std::regex k_memory(R"([0-9]+[bkmgBKMG]?)");
    static const std::regex k_cpus(R"([0-9]+(\.[0-9]+)?)");
    static const std::regex k_pids(R"([1-9][0-9]*)");
    std::string* target = key == "memory" ? &y.memory : key == "cpus" ? &y.cpus : &y.pids_limit;
    FURNACE_TRY_ASSIGN(*target,
                       r.matching(v,
                                  key,
                                  key == "memory" ? k_memory
                                  : key == "cpus" ? k_cpus
                                                  : k_pids,
                                  key == "memory" ? "give a size such as '16g' or '512m'"
                                  : key == "cpus" ? "give a number of CPUs such as '4' or '1.5'"
                                                  : "give a number of processes such as '4096'"));
  } else if (key == "gpus") {
    if (v.IsSequence()) {
      std::vector<std::string> ids;
      FURNACE_TRY_ASSIGN(ids, r.list(v, key));
      y.gpus = join(ids, ",");
    } else {
      FURNACE_TRY_ASSIGN(y.gpus, r.scalar(v, key));
    }
    if (!std::regex_match(y.gpus, k_gpus)) {
      return core::fail(r.error(v.Mark(), fmt::format("'gpus' cannot be '{}'", y.gpus),
                                "use all, none, a GPU index or a list of indexes"));
    }
  } else if (key == "datasets") {
    FURNACE_TRY_ASSIGN(y.datasets, r.list(v, key));
  } else if (key == "workdir") {
    FURNACE_TRY_ASSIGN(y.workdir, r.matching(v, key, k_workdir, "give an absolute path, e.g. /workspace"));
  } else if (key == "command") {
    FURNACE_TRY_ASSIGN(y.command, r.list(v, key, true));
  } else if (key == "jupyter") {
    FURNACE_TRY_ASSIGN(y.jupyter, r.boolean(v, key));
  } else if (key == "gui") {
    std::string g;
    FURNACE_TRY_ASSIGN(g, r.one_of(v, key, {"true", "false", "gl"}));
    y.gui = g == "true" ? "x11" : g == "gl" ? "gl" : "";
  } else {
    FURNACE_ASSERT(false && "valid_keys() and read_key disagree");
  }
  return {};
}

}  // namespace

const std::vector<std::string>& valid_keys() {
  static const std::vector<std::string> k{
      "name", "framework",    "version", "python",   "cuda",    "variant", "base",   "apt",
      "pip",  "requirements", "conda",   "mirrors",  "env",     "ports",   "shm",    "memory",
      "cpus", "pids_limit",   "gpus",    "datasets", "workdir", "command", "jupyter", "gui"};
  return k;
}

std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const std::string& c : candidates) {
    // Levenshtein distance with transpositions counted as one edit (optimal string alignment).
    const std::size_t n = word.size();
    const std::size_t m = c.size();
    std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
    for (std::size_t i = 0; i <= n; ++i) {
      d[i][0] = i;
    }
    for (std::size_t j = 0; j <= m; ++j) {
      d[0][j] = j;
    }
    for (std::size_t i = 1; i <= n; ++i) {
      for (std::size_t j = 1; j <= m; ++j) {
        const std::size_t cost = word[i - 1] == c[j - 1] ? 0 : 1;
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
        if (i > 1 && j > 1 && word[i - 1] == c[j - 2] && word[i - 2] == c[j - 1]) {
          d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    if (d[n][m] < best_d) {
      best_d = d[n][m];
      best = c;
    }
  }
  // A typo: at most a third of the word wrong (and at least one edit allowed).
  if (best_d == 0 || best_d > std::max<std::size_t>(1, word.size() / 3)) {
    return {};
  }
  return best;
}

core::Result<FurnaceYaml>
parse_furnace_yaml(std::string_view text, const std::string& file, const std::string& project_dir) {
  const Reader r(file, project_dir);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return core::fail(r.error(e.mark, e.msg, "check the indentation and quoting"));
  }
  FurnaceYaml y;
  if (root.IsNull()) {
    return y;  // an empty file: every default
  }
  if (!root.IsMap()) {
    return core::fail(r.error(root.Mark(), fmt::format("furnace.yaml must be a mapping, not {}", type_name(root)),
                              fmt::format("valid keys: {}", join(valid_keys()))));
  }
  std::set<std::string> seen;
  try {
    for (const auto& kv : root) {
      if (!kv.first.IsScalar()) {
        return core::fail(r.error(kv.first.Mark(), "keys must be strings"));
      }
      const std::string key = kv.first.Scalar();
      if (std::find(valid_keys().begin(), valid_keys().end(), key) == valid_keys().end()) {
        const std::string near = nearest(key, valid_keys());
        return core::fail(r.error(kv.first.Mark(),
                                  fmt::format("unknown key '{}'{}", key,
                                              near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)),
                                  fmt::format("valid keys: {}", join(valid_keys()))));
      }
      if (!seen.insert(key).second) {
        return core::fail(r.error(kv.first.Mark(), fmt::format("'{}' is given twice", key)));
      }
      auto ok = read_key(r, key, kv.second, y);
      if (!ok) {
        return core::fail(ok.error());
      }
    }
  } catch (const YAML::Exception& e) {
    return core::fail(r.error(e.mark, e.msg));
  }
  return y;
}

core::Result<std::optional<FurnaceYaml>> load_furnace_yaml(const std::string& project_dir) {
  const std::string path = (std::filesystem::path(project_dir) / k_file_name).string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return std::optional<FurnaceYaml>();
  }
  auto text = util::read_file(path);
  if (!text) {
    return core::fail(ErrorKind::io, fmt::format("cannot read {}: {}", path, text.error().message));
  }
  auto y = parse_furnace_yaml(*text, k_file_name, project_dir);
  if (!y) {
    return core::fail(y.error());
  }
  return std::optional<FurnaceYaml>(std::move(*y));
}

std::string image_name_from(std::string_view directory_name) {
  std::string out;
  for (const char c : util::to_lower(directory_name)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
    if (ok) {
      out += c;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.' || out.back() == '_')) {
    out.pop_back();
  }
  while (!out.empty() && (out.front() == '.' || out.front() == '_')) {
    out.erase(out.begin());
  }
  return out.empty() ? std::string("project") : out.substr(0, 64);
}

}  // namespace furnace::project
