#include "init.hpp"

#include <furnace/core/version.hpp>
#include <furnace/deps/project.hpp>
#include <furnace/util/atomic_file.hpp>

#include <fmt/format.h>

#include <filesystem>

namespace furnace::project {

namespace {

std::string quoted(const std::string& s) { return fmt::format("\"{}\"", s); }

}  // namespace

std::string render_furnace_yaml(const Project& p, std::string_view furnace_version) {
  const resolve::Plan& plan = p.plan;
  std::string o;
  o += fmt::format("# furnace.yaml, written by 'furnace init' (furnace {}).\n", furnace_version);
  o += "# Every key is optional (docs/furnace-yaml.md); 'furnace build' reads this file.\n\n";
  o += fmt::format("name: {}\n", p.name);

  o += "\n# What the resolver found ('furnace resolve' explains it):\n";
  for (const resolve::Reason& r : plan.reasons) {
    std::string ev;
    for (const std::string& e : r.evidence) {
      ev += (ev.empty() ? " (" : ", ") + e;
    }
    o += fmt::format("#   {}{}\n", r.message, ev.empty() ? "" : ev + ")");
  }
  for (const resolve::Evidence& e : plan.evidence) {
    if (e.used) {
      o += fmt::format("#   evidence: {} ({}, {} confidence)\n", e.text, e.source, e.confidence);
    }
  }
  for (const resolve::Warning& w : plan.warnings) {
    o += fmt::format("#   warning: {}\n", w.message);
  }
  const bool have = plan.ok && plan.framework.has_value();
  const std::string c = have ? "" : "# ";
  if (!have) {
    o += "#   no runnable plan was found: set framework, version and cuda, or base\n";
  }
  o += fmt::format("{}framework: {}\n", c, plan.framework.value_or("pytorch"));
  o += fmt::format("{}version: {}\n", c, quoted(plan.framework_version.empty() ? "2.1.0" : plan.framework_version));
  o += fmt::format("{}python: {}\n", c, quoted(plan.python.empty() ? "3.10" : plan.python));
  if (plan.cuda) {
    o += fmt::format("{}cuda: {}\n", c, quoted(*plan.cuda));
  }
  o += fmt::format("# base: {}  # an explicit image overrides the resolver\n",
                   plan.base_image.empty() ? "pytorch/pytorch:2.1.0-cuda11.8-cudnn8-runtime" : plan.base_image);
  if (p.cuda_extensions) {
    o += fmt::format("# {} builds CUDA extensions: the devel image has nvcc\nvariant: devel\n",
                     p.cuda_extensions_where);
  } else {
    o += "variant: runtime  # devel when the project compiles CUDA extensions\n";
  }

  std::vector<std::string> req_files;
  std::string conda_file;
  for (const std::string& f : p.spec.files) {
    const deps::FileKind k = deps::classify(f);
    if (k == deps::FileKind::requirements && f.find('/') == std::string::npos) {
      req_files.push_back(f);
    } else if (k == deps::FileKind::conda && conda_file.empty()) {
      conda_file = f;
    }
  }
  o += "\n# Python packages: the requirements files, installed after the framework (kept from the image)\n";
  if (req_files.empty()) {
    o += "# requirements: [requirements.txt]\n";
  } else {
    o += "requirements:\n";
    for (const std::string& f : req_files) {
      o += fmt::format("  - {}\n", f);
    }
  }
  o += conda_file.empty() ? "# conda: environment.yml\n"
                          : fmt::format("conda: {}  # found in the project\n", conda_file);
  o += "pip: []        # extra packages, e.g. [einops, 'timm>=0.9']\n";
  o += "apt: []        # extra Debian/Ubuntu packages; opencv-python's are added for you\n";
  o += "\n# Nearby mirrors: aliyun, tuna, ustc, huawei, tencent or a URL (default: 'furnace config')\n";
  o += "# mirrors:\n#   apt: tuna\n#   pip: tuna\n";
  o += "\n# Running ('furnace run', 'furnace lab')\n";
  o += "# env: {OMP_NUM_THREADS: \"8\"}\n# ports: [\"6006\"]\n# shm: 8g\n# gpus: all\n";
  o += "# datasets: [imagenet]\n# workdir: /workspace\n# command: [python, train.py]\n";
  o += "jupyter: false\n";
  return o;
}

int run_init(core::Context& ctx, const InitOptions& options, gpu::GpuProbe& probe) {
  // Loaded without furnace.yaml: init describes what the project itself says (and an invalid
  // furnace.yaml must not stop --force from replacing it).
  auto p = load_project(options.path, probe, ReadYaml::no);
  if (!p) {
    ctx.ui.error(p.error());
    return 1;
  }
  const std::string target = (std::filesystem::path(p->root) / k_file_name).string();
  const std::string text = render_furnace_yaml(*p, core::version());
  if (options.print) {
    ctx.ui.out() << text;
    return 0;
  }
  std::error_code ec;
  if (std::filesystem::exists(target, ec) && !options.force) {
    ctx.ui.error(core::make_error(core::ErrorKind::invalid, fmt::format("{} already exists", target),
                                  "use --force to replace it, or --print to see what init would write"));
    return 1;
  }
  auto ok = util::write_file_atomic(target, text);
  if (!ok) {
    ctx.ui.error(core::make_error(core::ErrorKind::io, ok.error().message));
    return 1;
  }
  ctx.ui.info(fmt::format("wrote {}", target));
  return 0;
}

}  // namespace furnace::project
