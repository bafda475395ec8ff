#include "dockerfile.hpp"

#include <furnace/deps/pep440.hpp>
#include <furnace/deps/project.hpp>
#include <furnace/dockerfile/apt_mirror.hpp>
#include <furnace/util/process.hpp>
#include <furnace/util/sha256.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <set>

namespace furnace::dockerfile {

namespace {

using core::ErrorKind;

constexpr const char* k_dir = "/opt/furnace";
constexpr const char* k_python_dir = "/opt/furnace/python"; // a Python the base image lacks
constexpr const char* k_constraints = "/opt/furnace/constraints.txt";
constexpr const char* k_lock_constraints = "/opt/furnace/lock-constraints.txt";
// What the constraints file pins: the framework and the packages built against it.
constexpr const char* k_pinned_re =
    "^(torch|torchvision|torchaudio|tensorflow([-_](gpu|cpu))?|jax|jaxlib)==";

bool starts_with(const std::string& s, std::string_view p) {
  return s.rfind(p, 0) == 0;
}

std::vector<std::string> framework_packages(const std::string& framework) {
  if (framework == "pytorch") {
    return {"torch"};
  }
  if (framework == "tensorflow") {
    return {"tensorflow", "tensorflow-gpu", "tensorflow-cpu"};
  }
  if (framework == "jax") {
    return {"jax", "jaxlib"};
  }
  return {};
}

// The framework and version an explicit `base` carries, from the official tag scheme.
std::pair<std::string, std::string> framework_of_image(const std::string& image) {
  static const std::regex k_torch(
      R"((?:docker\.io/)?pytorch/pytorch:([0-9]+\.[0-9]+(?:\.[0-9]+)?)-.*)");
  static const std::regex k_tf(
      R"((?:docker\.io/)?tensorflow/tensorflow:([0-9]+\.[0-9]+(?:\.[0-9]+)?)(-.*)?)");
  std::smatch m;
  if (std::regex_match(image, m, k_torch)) {
    return {"pytorch", m[1].str()};
  }
  if (std::regex_match(image, m, k_tf)) {
    return {"tensorflow", m[1].str()};
  }
  return {};
}

bool image_has_conda(const std::string& image) {
  return image.find("pytorch/pytorch") != std::string::npos ||
         image.find("conda") != std::string::npos || image.find("miniforge") != std::string::npos;
}

std::string file_of(const std::string& source) {
  const auto colon = source.rfind(':');
  return colon == std::string::npos ? source : source.substr(0, colon);
}

std::string host_of(const std::string& url) {
  const auto scheme = url.find("://");
  const auto start = scheme == std::string::npos ? 0 : scheme + 3;
  const auto end = url.find_first_of(":/", start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// "==1.8.1+cu111" -> "==1.8.1": the build tag names the CUDA variant, not another release.
std::string without_local(const std::string& specifier) {
  static const std::regex k_local(R"(\+[A-Za-z0-9.]+)");
  return std::regex_replace(specifier, k_local, "");
}

// One RUN instruction, one command per line.
std::string run_lines(const std::vector<std::string>& mounts,
                      const std::vector<std::string>& cmds) {
  std::string out = "RUN ";
  std::vector<std::string> parts = mounts;
  parts.insert(parts.end(), cmds.begin(), cmds.end());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    out += parts[i];
    if (i + 1 < parts.size()) {
      out += i < mounts.size() ? " \\\n    " : " && \\\n    ";
    }
  }
  return out + "\n";
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    out += ' ';
    out += util::shell_quote(s);
  }
  return out;
}

// Whether furnace.yaml's `requirements` take a package from `file`: listed by name, or, for a
// file reached through `-r`, when a requirements file is listed (it may be the one including it).
bool listed(const std::vector<std::string>& files, const std::string& file, bool included) {
  if (std::find(files.begin(), files.end(), file) != files.end()) {
    return true;
  }
  return included && std::any_of(files.begin(), files.end(), [](const std::string& f) {
           return deps::classify(f) == deps::FileKind::requirements;
         });
}

// One render: the decisions (base image, the framework to keep, what pip and apt install) and
// then the Dockerfile's steps, each a method that reads what the earlier ones decided.
struct Draft {
  Draft(const RenderInput& input, Mode mode)
      : in(input), y(input.yaml), plan(input.plan), bk(mode == Mode::buildkit) {}

  core::Result<void> choose_base();
  void choose_framework();
  core::Result<void> collect_requirements();
  void collect_extras();
  void choose_apt(const AptForPip& apt_for_pip);
  void write_header_and_apt();
  void write_python();
  void write_pip_steps();
  void write_conda_step();
  void write_extras_and_workdir();

  const RenderInput& in;
  const project::FurnaceYaml& y;
  const resolve::Plan& plan;
  const bool bk;
  Rendered r;
  std::string& d = r.dockerfile;
  // The framework the image carries, kept by pip.
  std::string framework;
  std::string image_version;
  std::vector<std::string> fw_names;
  bool install_framework = false;
  // What pip installs.
  bool conda_native = false;
  std::string requirements;
  std::vector<std::string> pip_names; // everything pip installs, for the apt table
  std::vector<std::string> extras;
  bool needs_git = false;
  bool pip_steps = false;
  std::vector<std::string> pip_mounts;
  std::string pip;
};

core::Result<void> Draft::choose_base() {
  // --- the base image
  r.base_image = y.base.empty() ? plan.base_image : y.base;
  if (r.base_image.empty()) {
    return core::fail(ErrorKind::invalid,
                      "no base image: the resolver found no plan for this project",
                      "set 'base' (or framework, version, cuda) in furnace.yaml; "
                      "'furnace resolve' shows why");
  }
  if (y.base.empty()) {
    const bool devel = y.variant ? *y.variant == project::Variant::devel : in.cuda_extensions;
    const auto pos = r.base_image.rfind("-runtime");
    if (devel && pos != std::string::npos) {
      r.base_image.replace(pos, 8, "-devel");
      r.notes.push_back(fmt::format("using the devel image {}{}",
                                    r.base_image,
                                    y.variant ? "" : " (the project builds CUDA extensions)"));
    }
  }

  return {};
}

void Draft::choose_framework() {
  // --- which framework the image carries, to keep it
  framework = plan.framework.value_or("");
  if (!y.base.empty()) {
    std::tie(framework, image_version) = framework_of_image(y.base);
  } else if (plan.framework && plan.pip_index.empty()) {
    image_version = plan.framework_version;
  }
  fw_names = framework_packages(framework);
  install_framework = y.base.empty() && plan.framework && !plan.pip_index.empty();
  if (install_framework) {
    image_version = plan.framework_version; // the pins step installs it before the requirements
  }
}

core::Result<void> Draft::collect_requirements() {
  // --- pip requirements from the plan
  conda_native = !y.conda.empty() && image_has_conda(r.base_image);
  bool conda_as_pip = false;
  for (const resolve::Package& p : plan.packages) {
    const std::string file = file_of(p.source);
    const deps::FileKind kind = deps::classify(file);
    if (kind == deps::FileKind::readme || kind == deps::FileKind::python_source ||
        kind == deps::FileKind::dockerfile || kind == deps::FileKind::python_version) {
      continue;
    }
    // A file of no known kind holding packages was reached through a requirements file's `-r`
    // (`-r extra.txt`): it belongs to the requirements that include it.
    const bool included = kind == deps::FileKind::none;
    if (y.requirements && !listed(*y.requirements, file, included)) {
      continue;
    }
    if (kind == deps::FileKind::conda) {
      if (conda_native) {
        continue;
      }
      conda_as_pip = true;
    }
    std::string line = p.name + (starts_with(p.specifier, "@") ? " " : "") + p.specifier;
    if (!p.marker.empty()) {
      line += "; " + p.marker;
    }
    if (std::find(fw_names.begin(), fw_names.end(), p.name) != fw_names.end() &&
        !image_version.empty()) {
      // The most common silent breakage: pip replacing the image's CUDA build of the framework.
      auto set = deps::parse_specifiers(without_local(p.specifier));
      const auto v = deps::parse_version(image_version);
      if (starts_with(p.specifier, "@") || !set || !v || !set->contains(*v)) {
        return core::fail(
            ErrorKind::invalid,
            fmt::format("{}: '{}' would replace the base image's {} {} with another build",
                        p.source,
                        line,
                        p.name,
                        image_version),
            fmt::format("set 'version' in furnace.yaml to the version the project needs (the base "
                        "image follows it), or remove the pin from {}",
                        file));
      }
      requirements += fmt::format(
          "# {} ({}): already in the image ({} {})\n", line, p.source, p.name, image_version);
      r.notes.push_back(fmt::format("{}: '{}' is already in the image ({} {}); not reinstalled",
                                    p.source,
                                    line,
                                    p.name,
                                    image_version));
      continue;
    }
    needs_git = needs_git || p.specifier.find("git+") != std::string::npos;
    pip_names.push_back(p.name);
    requirements += line + "\n";
  }
  if (conda_as_pip) {
    r.notes.push_back(y.conda.empty() || conda_native
                          ? "the conda environment's packages are installed with pip (set 'conda' "
                            "in furnace.yaml to use conda)"
                          : fmt::format("{} has no conda: the conda environment's packages are "
                                        "installed with pip",
                                        r.base_image));
  }

  return {};
}

void Draft::collect_extras() {
  // --- extras
  extras = y.pip;
  if (y.jupyter) {
    extras.emplace_back("jupyterlab");
  }
  for (const std::string& e : extras) {
    static const std::regex k_name(R"(^\s*([A-Za-z0-9][A-Za-z0-9._-]*))");
    std::smatch m;
    if (std::regex_search(e, m, k_name)) {
      pip_names.push_back(deps::normalize_name(m[1].str()));
    }
    needs_git = needs_git || e.find("git+") != std::string::npos;
  }
}

void Draft::choose_apt(const AptForPip& apt_for_pip) {
  // --- apt packages: furnace.yaml's, then what the pip packages need
  std::set<std::string> apt(y.apt.begin(), y.apt.end());
  if (install_framework) {
    // A CUDA base image without the framework has no Python either.
    apt.insert({"python3", "python3-pip"});
  }
  std::set<std::string> seen_pip;
  for (const std::string& name : pip_names) {
    const auto it = apt_for_pip.find(name);
    if (it == apt_for_pip.end() || !seen_pip.insert(name).second) {
      continue;
    }
    std::vector<std::string> added;
    for (const std::string& a : it->second.apt) {
      if (apt.insert(a).second) {
        added.push_back(a);
      }
    }
    if (!added.empty()) {
      std::string list;
      for (const std::string& a : added) {
        list += (list.empty() ? "" : " ") + a;
      }
      r.notes.push_back(
          fmt::format("added apt packages {} for {} ({})", list, name, it->second.source));
    }
  }
  if (needs_git && apt.insert("git").second) {
    r.notes.push_back("added apt package git for the git+ requirements");
  }
  r.apt_packages.assign(apt.begin(), apt.end());
  if (!in.base_pin.empty()) {
    r.base_image = in.base_pin; // furnace.lock's base, by digest
  }
}

void Draft::write_header_and_apt() {
  // --- the Dockerfile
  d += fmt::format("# generated by furnace {} (furnace build); do not edit\n", in.furnace_version);
  d += fmt::format("FROM {}\n", r.base_image);
  if (!in.lock_text.empty()) {
    r.context["furnace.lock"] = in.lock_text; // in the hash: another lock, another image
    d += "# --locked: the versions of furnace.lock\n";
  }
  if (!in.apt_mirror.empty() || !r.apt_packages.empty()) {
    d += "\n# system packages\n";
    std::vector<std::string> cmds;
    if (!in.apt_mirror.empty()) {
      cmds.push_back(apt_mirror_script(in.apt_mirror));
    }
    if (!r.apt_packages.empty()) {
      std::vector<std::string> mounts;
      if (bk) {
        mounts = {"--mount=type=cache,target=/var/cache/apt,sharing=locked",
                  "--mount=type=cache,target=/var/lib/apt/lists,sharing=locked"};
        cmds.emplace_back("rm -f /etc/apt/apt.conf.d/docker-clean");
        cmds.emplace_back("echo 'Binary::apt::APT::Keep-Downloaded-Packages \"true\";' > "
                          "/etc/apt/apt.conf.d/keep-cache");
      }
      cmds.emplace_back("apt-get update");
      std::string install =
          "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends";
      for (const std::string& a : r.apt_packages) {
        const auto v = in.apt_versions.find(a);
        install += " " + (v == in.apt_versions.end() ? a : util::shell_quote(a + "=" + v->second));
      }
      cmds.push_back(install);
      if (!bk) {
        cmds.emplace_back("rm -rf /var/lib/apt/lists/*");
      }
      d += run_lines(mounts, cmds);
    } else {
      d += run_lines({}, cmds);
    }
  }
}

// The Python the plan needs when NVIDIA's CUDA image ships another (the resolver's
// python_install): Ubuntu's deadsnakes builds, in a virtual environment that comes first on PATH,
// so `python3` and `pip` below (and in the container) are that Python.
void Draft::write_python() {
  if (!install_framework || !plan.python_install || plan.python.rfind("3.", 0) != 0) {
    return;
  }
  const std::string py = "python" + plan.python;
  d += fmt::format("\n# Python {}: the base image ships another one\n", plan.python);
  std::vector<std::string> mounts;
  if (bk) {
    mounts = {"--mount=type=cache,target=/var/cache/apt,sharing=locked",
              "--mount=type=cache,target=/var/lib/apt/lists,sharing=locked"};
  }
  std::vector<std::string> cmds = {
      "apt-get update",
      "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
      "software-properties-common gpg-agent",
      "add-apt-repository -y ppa:deadsnakes/ppa",
      "apt-get update",
      fmt::format("DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {0} "
                  "{0}-venv {0}-dev",
                  py),
      fmt::format("{} -m venv {}", py, k_python_dir)};
  if (!bk) {
    cmds.emplace_back("rm -rf /var/lib/apt/lists/*");
  }
  d += run_lines(mounts, cmds);
  d += fmt::format("ENV VIRTUAL_ENV={0} PATH={0}/bin:$PATH\n", k_python_dir);
  r.notes.push_back(fmt::format("installs Python {} (the base image ships another)", plan.python));
}

void Draft::write_pip_steps() {
  pip_steps = install_framework || !requirements.empty() || !extras.empty();
  if (pip_steps || !in.pip_mirror.empty()) {
    d += "\n# pip settings\n";
    std::string env = "ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_BREAK_SYSTEM_PACKAGES=1";
    if (!in.pip_mirror.empty()) {
      env += fmt::format(" PIP_INDEX_URL={}", in.pip_mirror);
      // Only a plain-http index needs trusting; an https one is verified as usual.
      if (starts_with(in.pip_mirror, "http://")) {
        env += fmt::format(" PIP_TRUSTED_HOST={}", host_of(in.pip_mirror));
      }
    }
    d += env + "\n";
  }
  pip_mounts = bk ? std::vector<std::string>{"--mount=type=cache,target=/root/.cache/pip"}
                  : std::vector<std::string>{};
  pip = bk ? "python3 -m pip install" : "python3 -m pip install --no-cache-dir";
  if (pip_steps && !in.pip_lock.empty()) {
    r.context["lock-constraints.txt"] = in.pip_lock;
    d += "\n# furnace.lock: every pip package at its locked version\n";
    d += fmt::format("COPY lock-constraints.txt {}\n", k_lock_constraints);
    pip += fmt::format(" -c {}", k_lock_constraints);
  }
  if (pip_steps) {
    d += "\n# framework pins: pip must keep the image's framework build\n";
    std::vector<std::string> cmds;
    if (install_framework) {
      const std::string pkg = fw_names.empty() ? *plan.framework : fw_names.front();
      cmds.push_back(fmt::format(
          "{} {}=={} --extra-index-url {}", pip, pkg, plan.framework_version, plan.pip_index));
    }
    cmds.push_back(fmt::format("mkdir -p {}", k_dir));
    cmds.push_back(
        fmt::format("(python3 -m pip list --format=freeze 2>/dev/null || true) | grep -iE '{}' "
                    "> {} || true",
                    k_pinned_re,
                    k_constraints));
    d += run_lines(install_framework ? pip_mounts : std::vector<std::string>{}, cmds);
  }
  if (!requirements.empty()) {
    r.context["requirements.txt"] =
        "# generated by furnace from the project's requirements; framework lines kept from the "
        "image are commented out\n" +
        requirements;
    d += "\n# requirements\n";
    d += fmt::format("COPY requirements.txt {}/requirements.txt\n", k_dir);
    d += run_lines(pip_mounts,
                   {fmt::format("{} -c {} -r {}/requirements.txt", pip, k_constraints, k_dir)});
  }
}

void Draft::write_conda_step() {
  if (conda_native) {
    d += "\n# conda environment\n";
    r.context["environment.yml"] = in.conda_environment;
    d += fmt::format("COPY environment.yml {}/environment.yml\n", k_dir);
    std::string prefix;
    if (!in.conda_mirror.empty()) {
      std::string base = in.conda_mirror;
      while (!base.empty() && base.back() == '/') {
        base.pop_back();
      }
      r.context["condarc"] = fmt::format(
          "channel_alias: {0}/cloud\ndefault_channels:\n  - {0}/pkgs/main\n  - {0}/pkgs/r\n"
          "show_channel_urls: true\n",
          base);
      d += fmt::format("COPY condarc {}/condarc\n", k_dir);
      prefix = fmt::format("CONDARC={}/condarc ", k_dir);
    }
    std::vector<std::string> cmds{
        fmt::format("{}conda env update -n base -f {}/environment.yml", prefix, k_dir)};
    std::vector<std::string> mounts;
    if (bk) {
      mounts.emplace_back("--mount=type=cache,target=/opt/conda/pkgs,sharing=locked");
    } else {
      cmds.emplace_back("conda clean -afy");
    }
    d += run_lines(mounts, cmds);
  }
}

void Draft::write_extras_and_workdir() {
  if (!extras.empty()) {
    d += "\n# extras (furnace.yaml)\n";
    d +=
        run_lines(pip_mounts, {fmt::format("{} -c {}{}", pip, k_constraints, quoted_list(extras))});
  }
  d += fmt::format("\nWORKDIR {}\n", y.workdir.empty() ? "/workspace" : y.workdir);
}

} // namespace

core::Result<Rendered> render(const RenderInput& in, Mode mode, const AptForPip& apt_for_pip) {
  Draft draft(in, mode);
  if (auto ok = draft.choose_base(); !ok) {
    return core::fail(ok.error());
  }
  draft.choose_framework();
  if (auto ok = draft.collect_requirements(); !ok) {
    return core::fail(ok.error());
  }
  draft.collect_extras();
  draft.choose_apt(apt_for_pip);
  draft.write_header_and_apt();
  draft.write_python();
  draft.write_pip_steps();
  draft.write_conda_step();
  draft.write_extras_and_workdir();
  return std::move(draft.r);
}

std::string content_hash(const Rendered& canonical, const std::string& base_image_id) {
  util::Sha256 h;
  auto field = [&h](std::string_view name, std::string_view value) {
    h.update(name);
    h.update(std::string_view("\0", 1));
    h.update(std::to_string(value.size()));
    h.update(std::string_view("\0", 1));
    h.update(value);
  };
  field("furnace-build", "1");
  field("dockerfile", canonical.dockerfile);
  for (const auto& [name, content] : canonical.context) {
    field("file:" + name, content);
  }
  field("base-image-id", base_image_id);
  return h.hex_digest();
}

std::string image_tag(const std::string& name, const std::string& hash) {
  return fmt::format("furnace/{}:{}", name, hash.substr(0, 12));
}

} // namespace furnace::dockerfile
