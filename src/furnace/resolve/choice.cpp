// The choice stage: a candidate checked against the project's rules (hard ones rule it out,
// soft ones score it), its Python, the host's driver and GPUs; and the order that picks the best.

#include "internal.hpp"

#include <algorithm>

namespace furnace::resolve::detail {

namespace {

// Without `explain`, a failure is recorded as an empty message: what counts is that it failed.
template <typename... Args>
std::string say(bool explain, fmt::format_string<Args...> f, Args&&... args) {
  return explain ? fmt::format(f, std::forward<Args>(args)...) : std::string();
}

} // namespace

void Resolver::check_project(const Candidate& c, bool explain, Check& k) const {
  for (const Rule& r : m_rules) {
    bool ok = true;
    std::string why;
    switch (r.kind) {
    case Rule::version_kind:
      ok = r.set.contains(c.version);
      if (!ok) {
        why = say(explain, "{} ({}) excludes {}", r.text, r.source, c.version_text);
      }
      break;
    case Rule::sibling_kind: {
      const Cell* sib = nullptr;
      if (c.torch != nullptr) {
        sib = r.sibling == "torchvision" ? &c.torch->torchvision : &c.torch->torchaudio;
      }
      std::optional<Version> v;
      if (sib != nullptr) {
        v = deps::parse_version(sib->value);
      } else if (c.jax != nullptr) {
        v = c.jax->jaxlib;
      }
      ok = v && r.set.contains(*v);
      if (!ok) {
        why = say(explain,
                  "{} ({}) goes with another {} than {}",
                  r.text,
                  r.source,
                  fw_package(c.fw),
                  c.version_text);
      }
      break;
    }
    case Rule::cuda_kind:
      // jaxlib's CUDA wheels run on any toolkit of their major
      ok = cuda_matches(c.cuda, c.fw == Fw::jax ? r.cuda.substr(0, r.cuda.find('.')) : r.cuda);
      if (!ok) {
        why = say(explain, "{} ({}) asks for CUDA {}", r.text, r.source, r.cuda);
      }
      break;
    case Rule::python_kind:
      continue;
    }
    if (r.hard && !ok) {
      k.project.push_back(std::move(why));
    } else if (!r.hard && ok) {
      // a soft CUDA rule picks the variant of a release, never the release
      (r.kind == Rule::cuda_kind ? k.cuda_score : k.score) += r.weight;
    }
  }
}

void Resolver::index_python_rules() {
  m_py_hard.assign(python_minors().size(), true);
  m_py_soft.assign(python_minors().size(), 0);
  for (std::size_t i = 0; i < python_minors().size(); ++i) {
    for (const Rule& r : m_rules) {
      if (r.kind != Rule::python_kind) {
        continue;
      }
      const bool ok = python_satisfies(r.set, python_minors()[i]);
      if (r.hard && !ok) {
        m_py_hard[i] = false;
      } else if (!r.hard && ok) {
        m_py_soft[i] += r.weight;
      }
    }
  }
}

void Resolver::check_python(const Candidate& c, bool explain, Check& k) const {
  // what the project's Python rules say of each minor, computed once per project
  auto index = [](const std::string& p) {
    const auto& m = python_minors();
    return static_cast<std::size_t>(std::find(m.begin(), m.end(), p) - m.begin());
  };
  auto allowed_by_hard = [&](const std::string& p) {
    const std::size_t i = index(p);
    return i < m_py_hard.size() ? static_cast<bool>(m_py_hard[i]) : false;
  };
  auto soft_score = [&](const std::string& p) {
    const std::size_t i = index(p);
    return i < m_py_soft.size() ? m_py_soft[i] : 0;
  };
  auto asks = [&] {
    std::vector<std::string> out;
    for (const Rule& r : m_rules) {
      if (r.kind == Rule::python_kind && r.hard) {
        out.push_back(fmt::format("{} ({})", r.text, r.source));
      }
    }
    return fmt::format("{}", fmt::join(out, ", "));
  };
  if (!c.image_python.empty()) {
    // the image ships one Python: that is the plan's, if the project allows it
    const auto v = deps::parse_version(c.image_python.value);
    const std::string p = v ? fmt::format("{}.{}", v->at(0), v->at(1)) : c.image_python.value;
    // NVIDIA's CUDA image can take another Python when the project's files ask for one
    bool prefer_other = false;
    if (!c.official) {
      const Version lo = ver(c.python_min.value);
      const Version hi = ver(c.python_max.value);
      const int own = soft_score(p);
      for (std::size_t qi = 0; qi < python_minors().size() && !prefer_other; ++qi) {
        const Version& qv = python_minor_versions()[qi];
        prefer_other = !(qv < lo) && !(hi < qv) && m_py_hard[qi] && m_py_soft[qi] > own;
      }
    }
    if (allowed_by_hard(p) && !prefer_other) {
      k.python = p;
      k.python_allowed = {p};
      k.python_source = "image";
      k.score += soft_score(p);
      return;
    }
    if (c.official) {
      k.project.push_back(
          say(explain, "{} ships Python {}; the project asks for {}", c.image, p, asks()));
      return;
    }
    // the official image ships one Python; the wheel on NVIDIA's image, with the project's Python,
    // ranks below the official image (python_installed) and is the choice only when that one
    // does not fit
    // NVIDIA's CUDA image: the build installs the Python the project asks for beside Ubuntu's
    k.python_installed = true;
  }
  // Python: the one the soft evidence prefers, else the newest, among those the build supports
  // and the project allows
  const Version lo = ver(c.python_min.value);
  const Version hi = ver(c.python_max.value);
  int best_score = -1;
  for (std::size_t pi = 0; pi < python_minors().size(); ++pi) {
    const std::string& p = python_minors()[pi];
    const Version& pv = python_minor_versions()[pi];
    if (pv < lo || hi < pv || !m_py_hard[pi]) {
      continue;
    }
    k.python_allowed.push_back(p);
    const int s = m_py_soft[pi];
    // the best-scoring Python; among equals the newest, or, when the build adds it to NVIDIA's
    // image, the one nearest above the image's own (requires-python >=3.11 on a 3.10 image: 3.11)
    const bool nearer = k.python_installed && s == best_score && !k.python.empty() &&
                        !(ver(k.python) < ver(c.image_python.value));
    if (s > best_score || (s == best_score && !nearer)) {
      best_score = s;
      k.python = p;
    }
  }
  if (k.python_allowed.empty()) {
    k.project.push_back(say(explain,
                            "{} supports Python {}-{}, the project asks for {}",
                            c.label(),
                            c.python_min.value,
                            c.python_max.value,
                            asks()));
    return;
  }
  k.score += std::max(best_score, 0);
  bool pinned = false;
  for (const Rule& r : m_rules) {
    pinned = pinned || (r.kind == Rule::python_kind && r.hard);
  }
  k.python_source = pinned || k.python_installed ? "project" : "table";
}

void Resolver::check_driver(const Candidate& c, bool explain, Check& k) const {
  const CudaRow* row = c.cuda_row;
  if (row == nullptr) {
    k.host.push_back(say(explain, "CUDA {} is not in the CUDA table", c.cuda));
    return;
  }
  const DriverVerdict v = driver_rule(c.cuda, row, m_host.driver, m_host.cuda_driver);
  k.driver = v.kind;
  if (m_host.driver.empty()) {
    // judged by the CUDA version the driver reports
    if (v.kind == DriverKind::too_old) {
      k.host.push_back(say(explain,
                           "CUDA {} is newer than the CUDA {} the driver supports",
                           c.cuda,
                           m_host.cuda_driver));
    }
    return;
  }
  const bool has_min = !row->min_driver.empty();
  switch (v.kind) {
  case DriverKind::full:
    k.driver_unverified = v.unverified;
    k.driver_detail = fmt::format(
        "driver {} >= {}, the minimum for CUDA {}", m_host.driver, row->min_driver.value, c.cuda);
    break;
  case DriverKind::minor_compat:
    k.driver_unverified = v.unverified;
    k.driver_detail =
        fmt::format("driver {} is older than {} (CUDA {}'s) but runs it through minor-version "
                    "compatibility (>= {}): no PTX JIT, some APIs unavailable",
                    m_host.driver,
                    has_min ? row->min_driver.value : std::string("unknown"),
                    c.cuda,
                    row->minor_compat_driver.value);
    break;
  case DriverKind::too_old: {
    bool datacenter = false;
    for (const HostGpu& g : m_gpus) {
      const GpuRow* gr = explain ? m_t.find_gpu(g.name) : nullptr;
      datacenter = datacenter || (gr != nullptr && gr->segment == "datacenter");
    }
    k.host.push_back(say(
        explain,
        "CUDA {} needs driver >= {}{}; this host has {}{}",
        c.cuda,
        has_min ? row->min_driver.value : std::string("(unknown)"),
        row->minor_compat_driver.empty() ? ""
                                         : fmt::format(" (>= {} with minor-version compatibility)",
                                                       row->minor_compat_driver.value),
        m_host.driver,
        datacenter ? "; datacenter GPUs can also use NVIDIA's cuda-compat forward-compatibility "
                     "package"
                   : ""));
    break;
  }
  case DriverKind::unknown:
    break;
  }
}

Check Resolver::evaluate(const Candidate& c, bool explain) const {
  Check k;
  check_project(c, explain, k);
  check_python(c, explain, k);
  check_driver(c, explain, k);
  // every GPU needs machine code
  for (const HostGpu& g : m_gpus) {
    GpuCheck gc = arch_rule(c.archs, c.cuda_row, g.cc_major, g.cc_minor, k.driver);
    if (gc.kind == ArchKind::none) {
      k.arch_failed = true;
      std::string has =
          !explain || c.archs.empty() ? "" : fmt::format(" (it has {})", c.archs.str());
      std::string toolkit;
      if (explain && c.cuda_row != nullptr && !c.cuda_row->sm_max.empty()) {
        const auto [mx, mn] = sm_of(c.cuda_row->sm_max);
        if (std::pair(mx, mn) < std::pair(g.cc_major, g.cc_minor) && mx < g.cc_major) {
          toolkit = fmt::format("; CUDA {} cannot target {}", c.cuda, g.sm());
        }
      }
      k.host.push_back(say(explain,
                           "{} has no kernels for {} ({}){}{}",
                           explain ? c.label() : "",
                           g.sm(),
                           g.name,
                           has,
                           toolkit));
    }
    k.gpus.push_back(gc);
  }
  if (!m_era.date.empty() && !c.release_date.empty()) {
    k.era_rank = c.release_date <= m_era.date ? 2 : 0;
  }
  return k;
}

bool Resolver::better(const Candidate& a,
                      const Check& ka,
                      const Candidate& b,
                      const Check& kb) const {
  // the soft evidence first (README, code, deep files), then the project's era: the newest
  // release of that time, else the oldest after it
  if (ka.score != kb.score) {
    return ka.score > kb.score;
  }
  if (ka.era_rank != kb.era_rank) {
    return ka.era_rank > kb.era_rank;
  }
  if (int cv = deps::compare(a.version, b.version); cv != 0) {
    return ka.era_rank == 0 ? cv < 0 : cv > 0;
  }
  if (ka.cuda_score != kb.cuda_score) {
    return ka.cuda_score > kb.cuda_score;
  }
  auto driver_rank = [](DriverKind d) {
    return d == DriverKind::full ? 2 : (d == DriverKind::unknown ? 1 : 0);
  };
  if (driver_rank(ka.driver) != driver_rank(kb.driver)) {
    return driver_rank(ka.driver) > driver_rank(kb.driver);
  }
  if (a.official != b.official) {
    return a.official;
  }
  if (ka.python_installed != kb.python_installed) {
    return !ka.python_installed; // the image's own Python over one the build must add
  }
  // of two images of one build (tensorflow's -gpu and -gpu-py3), the one with the newer Python
  if (ka.python != kb.python) {
    return ver(kb.python) < ver(ka.python);
  }
  auto arch_rank = [](const Check& k) {
    int worst = 3;
    for (const GpuCheck& g : k.gpus) {
      worst = std::min(worst, g.kind == ArchKind::sass ? 3 : (g.kind == ArchKind::ptx ? 2 : 1));
    }
    return worst;
  };
  if (arch_rank(ka) != arch_rank(kb)) {
    return arch_rank(ka) > arch_rank(kb);
  }
  if (a.image_unverified != b.image_unverified) {
    return !a.image_unverified;
  }
  return ver(b.cuda) < ver(a.cuda);
}

} // namespace furnace::resolve::detail
