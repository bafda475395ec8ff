// The explanation stage: the plan's reasons (each with the evidence and table rows behind it),
// its warnings, the packages to install and, when nothing fits or the project's soft evidence
// disagrees, the nearest alternatives.

#include "internal.hpp"

#include <algorithm>
#include <set>

namespace furnace::resolve::detail {

void Resolver::fill(Plan& plan, const Candidate& c, const Check& k, bool runnable) const {
  plan.framework = fw_name(c.fw);
  plan.framework_version = c.version_text;
  plan.python = k.python;
  plan.cuda = c.cuda;
  plan.cudnn = c.cudnn.value;
  plan.base_image = c.image;
  plan.image_unverified = c.image_unverified;
  plan.pip_index = c.pip_index;
  plan.ok = runnable;
  plan.python_source = k.python_source;
  plan.python_install = k.python_installed;
  const std::string table = c.table_source();

  fill_version_reasons(plan, c, runnable);
  fill_host_reasons(plan, c, k);
  fill_image_reasons(plan, c, k);
}

void Resolver::fill_version_reasons(Plan& plan, const Candidate& c, bool runnable) const {
  const char* pkg = fw_package(c.fw);
  std::vector<const Rule*> vrules;
  std::vector<std::string> soft;
  for (const Rule& r : m_rules) {
    if (r.kind != Rule::version_kind && r.kind != Rule::sibling_kind) {
      continue;
    }
    const bool ok = r.kind == Rule::sibling_kind || r.set.contains(c.version) ||
                    (c.fw == Fw::jax && c.version_text != r.text);
    if (r.hard) {
      vrules.push_back(&r);
    } else if (ok && soft.size() < 4) {
      soft.push_back(fmt::format("{} ({})", r.text, r.source));
    }
    if (r.kind == Rule::sibling_kind && !r.exact.empty()) {
      const Cell* sib = c.torch == nullptr ? nullptr
                                           : (r.sibling == "torchvision" ? &c.torch->torchvision
                                                                         : &c.torch->torchaudio);
      if (sib != nullptr && !sib->value.empty() && sib->value != r.exact) {
        plan.warnings.push_back(
            {"companion_mismatch",
             fmt::format("{} ({}): {} {} shipped with {} {}; the same minor series, another patch "
                         "release",
                         r.text,
                         r.source,
                         r.sibling,
                         sib->value,
                         pkg,
                         c.version_text)});
      }
    }
  }
  Reason vr;
  if (vrules.empty()) {
    vr.message = fmt::format("{} {}: the project names no version; the newest that {}",
                             pkg,
                             c.version_text,
                             runnable ? "runs here" : "fits");
  } else {
    std::vector<std::string> texts;
    for (const Rule* r : vrules) {
      texts.push_back(fmt::format("{} ({})", r->text, r->source));
      vr.evidence.push_back(r->source);
    }
    bool exact = false;
    for (const Rule* r : vrules) {
      for (const deps::Specifier& s : r->set.items) {
        exact = exact || (s.op == deps::Op::equal && !s.wildcard);
      }
    }
    vr.message =
        exact ? fmt::format("{} {}: pinned by {}", pkg, c.version_text, fmt::join(texts, ", "))
              : fmt::format("{} {}: the newest allowed by {} that {}",
                            pkg,
                            c.version_text,
                            fmt::join(texts, ", "),
                            runnable ? "runs here" : "fits");
  }
  if (!soft.empty()) {
    vr.message += fmt::format("; as {} say{}", fmt::join(soft, ", "), soft.size() == 1 ? "s" : "");
  }
  if (!m_era.date.empty() && !c.release_date.empty()) {
    vr.message += fmt::format("; released {}, {} the project's era ({}: {})",
                              c.release_date,
                              c.release_date <= m_era.date ? "within" : "after",
                              m_era.date,
                              m_era.detail);
    for (const std::string& e : m_era.evidence) {
      vr.evidence.push_back(e);
    }
  }
  plan.reasons.push_back(vr);
}

void Resolver::fill_host_reasons(Plan& plan, const Candidate& c, const Check& k) const {
  const char* pkg = fw_package(c.fw);
  const std::string table = c.table_source();
  // CUDA and driver
  Reason cr;
  std::vector<std::string> ctexts;
  for (const Rule& r : m_rules) {
    if (r.kind == Rule::cuda_kind) {
      ctexts.push_back(fmt::format("{} ({})", r.text, r.source));
      cr.evidence.push_back(r.source);
    }
  }
  if (!ctexts.empty()) {
    cr.message = fmt::format("CUDA {}: asked for by {}", c.cuda, fmt::join(ctexts, ", "));
  } else {
    cr.message =
        fmt::format("CUDA {}: the best build of {} {} for this host", c.cuda, pkg, c.version_text);
  }
  if (!table.empty()) {
    cr.evidence.push_back(table);
  }
  plan.reasons.push_back(cr);
  if (k.driver == DriverKind::full) {
    plan.reasons.push_back(Reason{k.driver_detail, {}, k.driver_unverified});
  } else if (k.driver == DriverKind::minor_compat) {
    plan.warnings.push_back({"minor_version_compat", k.driver_detail});
  } else if (k.driver == DriverKind::unknown && c.cuda_row != nullptr) {
    plan.reasons.push_back(
        Reason{fmt::format("driver unknown: CUDA {} needs driver >= {}",
                           c.cuda,
                           c.cuda_row->min_driver.empty() ? std::string("(unknown)")
                                                          : c.cuda_row->min_driver.value),
               {},
               c.cuda_row->min_driver.unverified});
  }
  if (k.driver_unverified) {
    plan.warnings.push_back(
        {"unverified",
         fmt::format("the driver minimum for CUDA {} is unverified in cuda.csv", c.cuda)});
  }

  // GPUs
  for (std::size_t i = 0; i < m_gpus.size() && i < k.gpus.size(); ++i) {
    const HostGpu& g = m_gpus[i];
    const GpuCheck& gc = k.gpus[i];
    Reason gr;
    gr.unverified = gc.unverified;
    if (!table.empty()) {
      gr.evidence.push_back(table);
    }
    switch (gc.kind) {
    case ArchKind::sass:
      gr.message =
          fmt::format("{} ({}): {} carries {} machine code", g.name, g.sm(), c.label(), gc.via);
      break;
    case ArchKind::ptx:
      gr.message = fmt::format("{} ({}): {} has no {} machine code; the driver JIT-compiles its "
                               "{} PTX (slow first start)",
                               g.name,
                               g.sm(),
                               c.label(),
                               g.sm(),
                               gc.via);
      plan.warnings.push_back(
          {"ptx_jit",
           fmt::format("{} runs {} through PTX JIT from {}: the first start compiles "
                       "kernels for minutes",
                       g.name,
                       c.label(),
                       gc.via)});
      break;
    case ArchKind::assumed:
      gr.message = fmt::format("{} ({}): {}'s GPU architectures are not tabulated; {}",
                               g.name,
                               g.sm(),
                               c.label(),
                               gc.via);
      break;
    case ArchKind::none:
      gr.message = fmt::format("{} ({}): {} has no kernels for it", g.name, g.sm(), c.label());
      break;
    }
    if (gc.unverified) {
      gr.message += " (unverified)";
    }
    plan.reasons.push_back(gr);
  }
  if (m_host.gpus.empty()) {
    plan.warnings.push_back(
        {"no_gpu",
         fmt::format("no NVIDIA GPU {}; the CUDA image still runs, on the CPU",
                     m_host.note.empty() ? std::string("on this host") : m_host.note)});
  }
}

void Resolver::fill_image_reasons(Plan& plan, const Candidate& c, const Check& k) const {
  const char* pkg = fw_package(c.fw);
  const std::string table = c.table_source();
  // Python
  Reason pr;
  std::vector<std::string> ptexts;
  for (const Rule& r : m_rules) {
    if (r.kind == Rule::python_kind) {
      ptexts.push_back(fmt::format("{} ({})", r.text, r.source));
      pr.evidence.push_back(r.source);
    }
  }
  if (k.python_installed) {
    plan.warnings.push_back(
        {"python_install",
         fmt::format("{} ships Python {}; the project needs {}, which the build installs beside it "
                     "(deadsnakes, in a virtual environment first on PATH)",
                     c.image,
                     c.image_python.value,
                     k.python)});
  }
  if (k.python_source == "image") {
    pr.message = fmt::format("Python {}: what {} ships", k.python, c.image);
    if (!c.image_python_seen.empty()) {
      pr.message +=
          fmt::format(" (Python {}, seen in the image after a build here)", c.image_python_seen);
    }
    if (!ptexts.empty()) {
      pr.message +=
          fmt::format(", which {} allow{}", fmt::join(ptexts, ", "), ptexts.size() == 1 ? "s" : "");
    }
    if (c.image_line != 0) {
      pr.evidence.push_back(fmt::format("images.csv:{}", c.image_line));
    }
    pr.unverified = c.image_python.unverified;
  } else {
    pr.message = ptexts.empty() ? fmt::format("Python {}: the newest {} {} supports ({}-{})",
                                              k.python,
                                              pkg,
                                              c.version_text,
                                              c.python_min.value,
                                              c.python_max.value)
                                : fmt::format("Python {}: allowed by {}; {} {} supports {}-{}",
                                              k.python,
                                              fmt::join(ptexts, ", "),
                                              pkg,
                                              c.version_text,
                                              c.python_min.value,
                                              c.python_max.value);
    pr.unverified = c.python_min.unverified || c.python_max.unverified;
  }
  plan.reasons.push_back(pr);

  // image
  Reason ir;
  std::string devel_why;
  const bool devel = devel_needed(&devel_why);
  if (c.official) {
    ir.message = fmt::format("image {}: the official image of {}", c.image, c.label());
  } else if (c.fw == Fw::torch) {
    ir.message =
        fmt::format("image {}: {}; torch comes from {}",
                    c.image,
                    c.torch != nullptr && !c.torch->docker_tags.empty()
                        ? fmt::format("the official image of {} ships another Python", c.label())
                        : fmt::format("no official pytorch/pytorch image of {}", c.label()),
                    c.pip_index);
  } else {
    ir.message = fmt::format(
        "image {}: CUDA {} from NVIDIA; {} is installed with pip", c.image, c.cuda, pkg);
  }
  if (devel) {
    ir.message += fmt::format("; a devel image because {}", devel_why);
  }
  ir.unverified = c.image_unverified;
  if (!table.empty()) {
    ir.evidence.push_back(table);
  }
  if (ir.unverified) {
    ir.message += " (tag unverified)";
  }
  plan.reasons.push_back(ir);
  if (c.cudnn.unverified) {
    plan.warnings.push_back(
        {"unverified",
         fmt::format("the cuDNN version of {} ({}) is unverified", c.label(), c.cudnn.value)});
  }
  if (c.fw == Fw::tensorflow && c.version < ver("1.15")) {
    for (const deps::Requirement& r : m_spec.requirements) {
      if (r.name == "tensorflow" && r.origin != "dockerfile-from") {
        plan.warnings.push_back(
            {"tf_cpu_package",
             fmt::format("{}{} ({}): before 1.15 the tensorflow package is CPU-only; the GPU "
                         "build is tensorflow-gpu",
                         r.written_name,
                         r.specifier,
                         r.where.str())});
        break;
      }
    }
  }
}

void Resolver::fill_packages(Plan& plan, Fw* fw, bool official) const {
  deps::MarkerEnv env;
  if (!plan.python.empty()) {
    env.python_version = plan.python;
  }
  static const std::set<std::string, std::less<>> k_meta = {"python",
                                                            "cudatoolkit",
                                                            "cuda-toolkit",
                                                            "pytorch-cuda",
                                                            "cuda-version",
                                                            "cudnn",
                                                            "pip",
                                                            "cuda-runtime",
                                                            "cuda",
                                                            "cuda-nvcc"};
  std::set<std::string> seen;
  for (const deps::Requirement& r : m_spec.requirements) {
    // install lines of shell scripts are evidence, not the project's package list
    if (r.constraint_only || r.optional || k_meta.count(r.name) != 0 ||
        r.origin == "dockerfile-from" || r.origin == "script") {
      continue;
    }
    if (!r.marker.empty()) {
      auto m = deps::evaluate_marker(r.marker, env);
      if (m && *m == deps::Tristate::no) {
        continue;
      }
    }
    const std::string key = r.name + "|" + r.specifier;
    if (!seen.insert(key).second) {
      continue;
    }
    Package p;
    p.name = r.name;
    p.specifier = r.url.empty() ? r.specifier : "@ " + r.url;
    p.source = r.where.str();
    p.marker = r.marker;
    if (fw != nullptr) {
      p.from_image = official && ((*fw == Fw::torch && r.name == "torch") ||
                                  (*fw == Fw::tensorflow && is_tf_package(r.name)));
    }
    plan.packages.push_back(std::move(p));
  }
}

void Resolver::explain_failure(Plan& plan,
                               const std::vector<Candidate>& cands,
                               const std::vector<Check>& checks) const {
  std::vector<std::size_t> project_ok;
  std::vector<std::size_t> host_ok;
  for (std::size_t i = 0; i < cands.size(); ++i) {
    if (checks[i].project_ok()) {
      project_ok.push_back(i);
    }
    if (checks[i].host_ok()) {
      host_ok.push_back(i);
    }
  }
  auto by_rank = [&](std::size_t a, std::size_t b) {
    return better(cands[a], checks[a], cands[b], checks[b]);
  };
  std::sort(project_ok.begin(), project_ok.end(), by_rank);
  std::sort(host_ok.begin(), host_ok.end(), by_rank);
  std::string failed_sm;
  if (!project_ok.empty()) {
    plan.reasons.push_back(Reason{"no build the project asks for runs on this host", {}, false});
    std::set<std::string> said;
    for (std::size_t i : project_ok) {
      for (const std::string& h : checks[i].host) {
        if (said.size() < 6 && said.insert(h).second) {
          plan.reasons.push_back(Reason{h, {cands[i].table_source()}, cands[i].archs.unverified});
        }
      }
      if (checks[i].arch_failed) {
        for (std::size_t g = 0; g < m_gpus.size(); ++g) {
          if (checks[i].gpus[g].kind == ArchKind::none) {
            failed_sm = m_gpus[g].sm();
          }
        }
      }
    }
  } else {
    // the project contradicts itself (or the table): say which constraint removes the rest
    plan.reasons.push_back(
        Reason{"no build satisfies all of the project's constraints", {}, false});
    // The candidates closest to fitting (fewest violated constraints, best first) show which
    // constraint is in the way.
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < cands.size(); ++i) {
      order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      if (checks[a].project.size() != checks[b].project.size()) {
        return checks[a].project.size() < checks[b].project.size();
      }
      return better(cands[a], checks[a], cands[b], checks[b]);
    });
    std::set<std::string> shown;
    for (std::size_t i : order) {
      if (shown.size() >= 4) {
        break;
      }
      const std::string text =
          fmt::format("{}: {}", cands[i].label(), fmt::join(checks[i].project, "; "));
      if (shown.insert(text).second) {
        plan.reasons.push_back(Reason{text, {cands[i].table_source()}, false});
      }
    }
  }
  failure_alternatives(plan, cands, checks, project_ok, host_ok, failed_sm);
}

// The nearest alternatives that run here: the closest newer and older releases, and the newest.
void Resolver::failure_alternatives(Plan& plan,
                                    const std::vector<Candidate>& cands,
                                    const std::vector<Check>& checks,
                                    const std::vector<std::size_t>& project_ok,
                                    const std::vector<std::size_t>& host_ok,
                                    const std::string& failed_sm) const {
  auto add_alt = [&](std::size_t i, const std::string& note) {
    for (const Alternative& a : plan.alternatives) {
      if (a.framework_version == cands[i].version_text && a.cuda == cands[i].cuda) {
        return;
      }
    }
    Alternative a;
    a.framework = fw_name(cands[i].fw);
    a.framework_version = cands[i].version_text;
    a.cuda = cands[i].cuda;
    a.python = checks[i].python.empty() ? cands[i].python_max.value : checks[i].python;
    a.base_image = cands[i].image;
    a.note = note;
    plan.alternatives.push_back(std::move(a));
  };
  if (host_ok.empty()) {
    return;
  }
  if (!project_ok.empty()) {
    Version lo = cands[project_ok.front()].version;
    Version hi = lo;
    for (std::size_t i : project_ok) {
      lo = std::min(lo, cands[i].version);
      hi = std::max(hi, cands[i].version);
    }
    std::optional<std::size_t> up;
    std::optional<std::size_t> down;
    for (std::size_t i : host_ok) { // best first
      const Version& v = cands[i].version;
      if (hi < v && (!up || v < cands[*up].version)) {
        up = i;
      }
      if (v < lo && (!down || cands[*down].version < v)) {
        down = i;
      }
    }
    if (up) {
      add_alt(*up,
              failed_sm.empty()
                  ? "the closest newer release that runs here"
                  : fmt::format("the first newer release with {} kernels", failed_sm));
    }
    if (down) {
      add_alt(*down, "the closest older release that runs here");
    }
    add_alt(host_ok.front(), "the newest that runs here");
  } else {
    // keep the version constraints, drop CUDA and Python pins
    for (std::size_t i : host_ok) {
      bool version_ok = true;
      for (const Rule& r : m_rules) {
        if (r.kind == Rule::version_kind && !r.set.contains(cands[i].version)) {
          version_ok = false;
        }
      }
      if (version_ok) {
        add_alt(i, "satisfies the version constraints without the CUDA/Python pins");
        break;
      }
    }
    add_alt(host_ok.front(), "the newest that runs here");
  }
  if (plan.alternatives.size() > 3) {
    plan.alternatives.resize(3);
  }
}

void Resolver::soft_alternatives(Plan& plan,
                                 const std::vector<Candidate>& cands,
                                 const std::vector<Check>& checks,
                                 std::size_t best) const {
  // README lines are alternatives: for a soft version rule the chosen build does not satisfy,
  // the best runnable build that does is offered
  for (const Rule& r : m_rules) {
    if (r.hard || r.kind != Rule::version_kind || plan.alternatives.size() >= 3 ||
        r.set.contains(cands[best].version)) {
      continue;
    }
    std::optional<std::size_t> pick;
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (checks[i].project_ok() && checks[i].host_ok() && r.set.contains(cands[i].version) &&
          (!pick || better(cands[i], checks[i], cands[*pick], checks[*pick]))) {
        pick = i;
      }
    }
    if (!pick) {
      plan.warnings.push_back(
          {"evidence_overruled",
           fmt::format("{} ({}) asks for {} {}, but no build it allows {}; planned {} {}",
                       r.text,
                       r.source,
                       fw_package(cands[best].fw),
                       r.set.str(),
                       m_gpus.empty() && m_host.driver.empty() ? "fits the project's pins"
                                                               : "runs here",
                       fw_package(cands[best].fw),
                       cands[best].version_text)});
      continue;
    }
    bool known = false;
    for (const Alternative& a : plan.alternatives) {
      known = known || a.framework_version == cands[*pick].version_text;
    }
    if (known || cands[*pick].version_text == cands[best].version_text) {
      continue;
    }
    Alternative a;
    a.framework = fw_name(cands[*pick].fw);
    a.framework_version = cands[*pick].version_text;
    a.cuda = cands[*pick].cuda;
    a.python = checks[*pick].python;
    a.base_image = cands[*pick].image;
    a.note = fmt::format("what {} ({}) asks for", r.text, r.source);
    plan.alternatives.push_back(std::move(a));
  }
}

} // namespace furnace::resolve::detail
