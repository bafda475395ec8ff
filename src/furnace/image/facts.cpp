// The image facts: the probe's Python program, its output, the cache by image id.

#include "facts.hpp"

#include <furnace/core/dirs.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/ownership.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace furnace::image {

namespace {

using nlohmann::json;

// Runs inside the image with its Python (3.6 and later). Only `#furnace-` lines on stdout: what an
// imported module prints goes to stderr (stdout's descriptor points there while it runs). `pip
// check` runs in parallel with the imports. Each import is printed as soon as it is done, so a
// module that kills the interpreter still leaves the ones before it.
constexpr const char* k_program = R"PY(
import importlib, json, os, sys
out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
def say(kind, value):
    out.write("#furnace-%s %s\n" % (kind, json.dumps(value, sort_keys=True)))
    out.flush()
check = None
if os.environ.get("FURNACE_PROBE_PIP_CHECK") == "1":
    try:
        import subprocess
        check = subprocess.Popen([sys.executable, "-m", "pip", "check"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except Exception:
        check = None
try:
    from importlib import metadata as md
except Exception:
    md = None
def dist_of(name):
    if md is not None:
        try:
            return md.distribution(name)
        except Exception:
            return None
    return None
def version_of(name):
    d = dist_of(name)
    if d is not None:
        return d.version
    try:
        import pkg_resources
        return pkg_resources.get_distribution(name).version
    except Exception:
        return ""
facts = {"python": "%d.%d.%d" % sys.version_info[:3], "python_path": sys.executable,
         "pip": version_of("pip")}
try:
    with open("/etc/os-release") as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k == "PRETTY_NAME":
                facts["os"] = v.strip('"')
except Exception:
    pass
want = os.environ.get("FURNACE_PROBE_FRAMEWORK", "")
names = {"pytorch": "torch", "torch": "torch", "tensorflow": "tensorflow", "jax": "jax"}
order = [names[want]] if want in names else ["torch", "tensorflow", "jax"]
import importlib.util
for mod in order:
    try:
        if importlib.util.find_spec(mod) is None:
            continue
    except Exception:
        continue
    facts["framework"] = mod
    try:
        m = importlib.import_module(mod)
        facts["framework_version"] = str(getattr(m, "__version__", ""))
        if mod == "torch":
            facts["cuda"] = str(getattr(m.version, "cuda", None) or "")
            try:
                facts["cudnn"] = str(m.backends.cudnn.version() or "")
            except Exception:
                pass
            flags = None
            try:
                flags = m._C._cuda_getArchFlags()
            except Exception:
                flags = None
            if flags:
                facts["arch_list"] = str(flags).split()
            else:
                try:
                    facts["arch_list"] = [str(a) for a in m.cuda.get_arch_list()]
                except Exception:
                    pass
        elif mod == "tensorflow":
            info = dict(m.sysconfig.get_build_info())
            facts["cuda"] = str(info.get("cuda_version", "") or "")
            facts["cudnn"] = str(info.get("cudnn_version", "") or "")
            caps = [str(c) for c in (info.get("cuda_compute_capabilities") or [])]
            facts["arch_list"] = [c if c.startswith(("sm_", "compute_")) else
                                  "sm_" + c.replace(".", "") for c in caps]
        elif mod == "jax":
            facts["jaxlib"] = version_of("jaxlib")
            for major in ("12", "11"):
                if version_of("jax-cuda%s-plugin" % major) or version_of("jax-cuda%s-pjrt" % major):
                    facts["cuda"] = major
                    break
    except BaseException as e:
        facts["framework_error"] = "%s: %s" % (type(e).__name__, e)
    break
say("facts", facts)
skip = ("tests", "test", "docs", "doc", "examples", "benchmarks")
def modules_of(name):
    d = dist_of(name)
    found = []
    if d is not None:
        text = d.read_text("top_level.txt") or ""
        found = [l.strip() for l in text.splitlines()]
        if not any(found):
            for f in (d.files or []):
                p = f.parts
                if len(p) == 1 and p[0].endswith(".py"):
                    found.append(p[0][:-3])
                elif len(p) == 2 and p[1] == "__init__.py" and not p[0].endswith(".data"):
                    found.append(p[0])
    found = sorted(set(n for n in found if n and not n.startswith("_") and "/" not in n
                       and "-" not in n and n not in skip))
    if not found:
        found = [name.lower().replace("-", "_").replace(".", "_")]
    return d is not None or md is None, found
for name in [n for n in os.environ.get("FURNACE_PROBE_IMPORTS", "").split(",") if n]:
    installed, modules = modules_of(name)
    for module in modules:
        r = {"distribution": name, "module": module, "installed": installed, "ok": True}
        try:
            importlib.import_module(module)
        except BaseException as e:
            r["ok"] = False
            r["error"] = "%s: %s" % (type(e).__name__, e)
        say("import", r)
if check is not None:
    text, _ = check.communicate()
    say("pip_check", {"exit": check.returncode,
                      "lines": text.decode("utf-8", "replace").splitlines()})
)PY";

std::string str_or_empty(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  const auto it = j.find(key);
  if (it != j.end() && it->is_array()) {
    for (const json& v : *it) {
      if (v.is_string()) {
        out.push_back(v.get<std::string>());
      }
    }
  }
  return out;
}

std::optional<json> parse_json(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return std::nullopt;
  }
  return j;
}

ImportResult import_from_json(const json& j) {
  ImportResult r;
  r.distribution = str_or_empty(j, "distribution");
  r.module = str_or_empty(j, "module");
  r.installed = j.value("installed", true);
  r.ok = j.value("ok", false);
  r.error = str_or_empty(j, "error");
  return r;
}

} // namespace

ProbeRequest probe_request(const resolve::Plan& plan) {
  ProbeRequest r;
  r.framework = plan.framework.value_or("");
  std::set<std::string> names;
  for (const resolve::Package& p : plan.packages) {
    // A marker may exclude the requirement in this image; the name may carry extras.
    if (p.marker.empty() && !p.name.empty()) {
      names.insert(p.name.substr(0, p.name.find('[')));
    }
  }
  r.distributions.assign(names.begin(), names.end());
  return r;
}

std::string facts_program() {
  return k_program;
}

std::vector<std::string> probe_env_args(const ProbeRequest& request) {
  std::string imports;
  for (const std::string& d : request.distributions) {
    imports += (imports.empty() ? "" : ",") + d;
  }
  return {"-e",
          "FURNACE_PROBE_FRAMEWORK=" + request.framework,
          "-e",
          "FURNACE_PROBE_IMPORTS=" + imports,
          "-e",
          std::string("FURNACE_PROBE_PIP_CHECK=") + (request.pip_check ? "1" : "0"),
          "-e",
          "FURNACE_PROBE_PROGRAM=" + facts_program()};
}

ProbeResult read_probe_result(std::string_view output, const ProbeRequest& request) {
  ProbeResult r;
  r.request = request;
  for (const std::string& raw : util::split(output, '\n')) {
    const std::string_view line = util::trim(raw);
    const auto space = line.find(' ');
    if (line.rfind("#furnace-", 0) != 0 || space == std::string_view::npos) {
      continue;
    }
    const std::string_view kind = line.substr(9, space - 9);
    const auto j = parse_json(line.substr(space + 1));
    if (!j) {
      continue;
    }
    if (kind == "facts") {
      r.facts = facts_from_json(*j);
      r.facts_seen = true;
    } else if (kind == "import") {
      r.imports.push_back(import_from_json(*j));
    } else if (kind == "pip_check") {
      r.pip_check_exit = j->value("exit", 0);
      r.pip_check = strings(*j, "lines");
    }
  }
  return r;
}

json to_json(const ImageFacts& f) {
  return json{{"python", f.python},
              {"python_path", f.python_path},
              {"pip", f.pip},
              {"framework", f.framework},
              {"framework_version", f.framework_version},
              {"framework_error", f.framework_error},
              {"cuda", f.cuda},
              {"cudnn", f.cudnn},
              {"arch_list", f.arch_list},
              {"jaxlib", f.jaxlib},
              {"os", f.os}};
}

ImageFacts facts_from_json(const json& j) {
  ImageFacts f;
  f.python = str_or_empty(j, "python");
  f.python_path = str_or_empty(j, "python_path");
  f.pip = str_or_empty(j, "pip");
  f.framework = str_or_empty(j, "framework");
  f.framework_version = str_or_empty(j, "framework_version");
  f.framework_error = str_or_empty(j, "framework_error");
  f.cuda = str_or_empty(j, "cuda");
  f.cudnn = str_or_empty(j, "cudnn");
  f.arch_list = strings(j, "arch_list");
  f.jaxlib = str_or_empty(j, "jaxlib");
  f.os = str_or_empty(j, "os");
  return f;
}

json to_json(const ProbeResult& r) {
  json imports = json::array();
  for (const ImportResult& i : r.imports) {
    imports.push_back({{"distribution", i.distribution},
                       {"module", i.module},
                       {"installed", i.installed},
                       {"ok", i.ok},
                       {"error", i.error}});
  }
  return json{{"schema_version", 1},
              {"request",
               {{"framework", r.request.framework},
                {"distributions", r.request.distributions},
                {"pip_check", r.request.pip_check}}},
              {"facts_seen", r.facts_seen},
              {"facts", to_json(r.facts)},
              {"pip_check_exit", r.pip_check_exit ? json(*r.pip_check_exit) : json(nullptr)},
              {"pip_check", r.pip_check},
              {"imports", imports}};
}

std::optional<ProbeResult> probe_result_from_json(const json& j) {
  if (!j.is_object() || j.value("schema_version", 0) != 1) {
    return std::nullopt;
  }
  ProbeResult r;
  const json req = j.value("request", json::object());
  r.request.framework = str_or_empty(req, "framework");
  r.request.distributions = strings(req, "distributions");
  r.request.pip_check = req.value("pip_check", true);
  r.facts_seen = j.value("facts_seen", false);
  r.facts = facts_from_json(j.value("facts", json::object()));
  const auto exit = j.find("pip_check_exit");
  if (exit != j.end() && exit->is_number_integer()) {
    r.pip_check_exit = exit->get<int>();
  }
  r.pip_check = strings(j, "pip_check");
  for (const json& i : j.value("imports", json::array())) {
    r.imports.push_back(import_from_json(i));
  }
  return r;
}

std::string facts_cache_path(const core::Env& env, const std::string& image_id) {
  std::string key =
      image_id.substr(image_id.find(':') == std::string::npos ? 0 : image_id.find(':') + 1);
  std::replace(key.begin(), key.end(), '/', '_');
  return core::dirs_from_env(env).cache + "/verify/" + key + ".json";
}

namespace {

// Whatever result is cached for `image_id`; nullopt when none (or unreadable).
std::optional<ProbeResult> read_cache(const core::Env& env, const std::string& image_id) {
  if (image_id.empty()) {
    return std::nullopt;
  }
  auto text = util::read_file(facts_cache_path(env, image_id));
  if (!text) {
    return std::nullopt;
  }
  const auto j = parse_json(*text);
  return j ? probe_result_from_json(*j) : std::nullopt;
}

} // namespace

std::optional<ProbeResult>
read_cached_probe(const core::Env& env, const std::string& image_id, const ProbeRequest& request) {
  auto r = read_cache(env, image_id);
  if (!r || !(r->request == request)) {
    return std::nullopt;
  }
  return r;
}

std::optional<ImageFacts> read_cached_facts(const core::Env& env, const std::string& image_id) {
  auto r = read_cache(env, image_id);
  if (!r || !r->facts_seen) {
    return std::nullopt;
  }
  return std::move(r->facts);
}

std::vector<std::pair<std::string, std::string>> facts_fields(const ImageFacts& f) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!f.python.empty()) {
    out.emplace_back("python",
                     f.python_path.empty() ? f.python
                                           : fmt::format("{} ({})", f.python, f.python_path));
  }
  if (!f.framework.empty()) {
    std::string build = f.cuda.empty() ? "CPU build" : "CUDA " + f.cuda;
    if (!f.cudnn.empty()) {
      build += ", cuDNN " + f.cudnn;
    }
    out.emplace_back("framework",
                     fmt::format("{}{}{} ({})",
                                 f.framework,
                                 f.framework_version.empty() ? "" : " ",
                                 f.framework_version,
                                 f.framework_error.empty() ? build : "import fails"));
  }
  if (!f.arch_list.empty()) {
    out.emplace_back("arch list", fmt::format("{}", fmt::join(f.arch_list, ", ")));
  }
  return out;
}

void write_cached_probe(const core::Env& env, const std::string& image_id, const ProbeResult& r) {
  if (image_id.empty()) {
    return;
  }
  const std::string path = facts_cache_path(env, image_id);
  std::error_code ec;
  util::make_directories(std::filesystem::path(path).parent_path().string(), ec);
  (void)util::write_file_atomic(path, to_json(r).dump(2) + "\n");
}

resolve::Plan plan_from_json(std::string_view plan_json) {
  resolve::Plan plan;
  const auto j = parse_json(plan_json);
  if (!j) {
    return plan;
  }
  if (const std::string fw = str_or_empty(*j, "framework"); !fw.empty()) {
    plan.framework = fw;
  }
  plan.framework_version = str_or_empty(*j, "framework_version");
  plan.python = str_or_empty(*j, "python");
  if (const std::string cuda = str_or_empty(*j, "cuda"); !cuda.empty()) {
    plan.cuda = cuda;
  }
  plan.base_image = str_or_empty(*j, "base_image");
  for (const json& p : j->value("packages", json::array())) {
    resolve::Package pkg;
    pkg.name = str_or_empty(p, "name");
    pkg.specifier = str_or_empty(p, "specifier");
    pkg.source = str_or_empty(p, "source");
    pkg.marker = str_or_empty(p, "marker");
    pkg.from_image = p.value("from_image", false);
    plan.packages.push_back(std::move(pkg));
  }
  return plan;
}

} // namespace furnace::image
