// The resolver's pipeline: evidence -> constraints -> candidates -> choice -> explanation, for
// one project and one host; and the Host value built from a GPU probe's answer.

#include "internal.hpp"

#include <algorithm>

namespace furnace::resolve {

namespace detail {

namespace {

void record_evidence(const deps::Spec& spec, Plan& plan) {
  for (const deps::Diagnostic& d : spec.diagnostics) {
    plan.warnings.push_back({d.code, fmt::format("{}: {}", d.where.str(), d.message), true});
  }
  for (const deps::Requirement& r : spec.requirements) {
    Evidence e;
    e.kind = r.constraint_only            ? "constraint"
             : r.origin == "readme-prose" ? "statement"
                                          : "requirement";
    e.text = r.url.empty() ? r.written_name + r.specifier : r.written_name + " @ " + r.url;
    if (!r.marker.empty()) {
      e.text += "; " + r.marker;
    }
    e.source = r.where.str();
    e.confidence = confidence_name(r.confidence);
    plan.evidence.push_back(std::move(e));
  }
  for (const deps::Fact& f : spec.facts) {
    static constexpr const char* k_kinds[] = {
        "python", "cuda", "base_image", "index_url", "imports", "date", "api"};
    Evidence e;
    e.kind = k_kinds[static_cast<int>(f.kind)];
    e.text = f.detail.empty() ? f.value : f.detail;
    e.source = f.where.str();
    e.confidence = confidence_name(f.confidence);
    plan.evidence.push_back(std::move(e));
  }
}

// A plain Python image for a project without a framework: the newest of 3.8-3.12 that every hard
// Python rule allows (`hard`: index_python_rules' answer per python_minors()).
std::string plain_python(const std::vector<char>& hard) {
  std::string python;
  for (std::size_t i = 0; i < python_minors().size(); ++i) {
    const Version& v = python_minor_versions()[i];
    if (!(v < ver("3.8")) && v < ver("3.13") && hard[i] != 0) {
      python = python_minors()[i];
    }
  }
  return python.empty() ? "3.12" : python;
}

} // namespace

Resolver::Resolver(const deps::Spec& s,
                   const Host& h,
                   const Overrides& o,
                   const Tables& t,
                   std::optional<std::string> marker_python)
    : m_spec(s), m_host(h), m_ov(o), m_t(t), m_marker_python(std::move(marker_python)) {
  // Identical GPUs are checked once: eight H200s have the same compute capability.
  for (const HostGpu& g : m_host.gpus) {
    auto it = std::find_if(m_gpus.begin(), m_gpus.end(), [&](const HostGpu& u) {
      return u.cc_major == g.cc_major && u.cc_minor == g.cc_minor;
    });
    if (it == m_gpus.end()) {
      m_gpus.push_back(g);
    }
  }
}

Plan Resolver::run() {
  Plan plan;
  plan.host = m_host;
  record_evidence(m_spec, plan);
  m_era = estimate_era(m_spec, m_ov, m_t);
  plan.era_date = m_era.date;
  plan.era_source = m_era.source;
  plan.era_detail = m_era.detail;

  std::optional<Fw> fw = choose_framework(plan);
  if (!fw) {
    if (!m_ov.framework.empty()) {
      plan.warnings.push_back(
          {"unknown_framework",
           fmt::format("unknown framework '{}' (pytorch, tensorflow or jax)", m_ov.framework)});
      plan.ok = false;
      return plan;
    }
    // No framework: a plain Python image.
    build_rules(Fw::torch, plan);
    const std::string python = plain_python(m_py_hard);
    plan.python = python;
    plan.base_image = fmt::format("python:{}-slim", python);
    plan.ok = true;
    plan.reasons.push_back(Reason{"no deep-learning framework in the project's files", {}, false});
    plan.warnings.push_back({"no_framework",
                             "found no pytorch, tensorflow or jax requirement; planned a plain "
                             "Python image"});
    fill_packages(plan, nullptr, false);
    return plan;
  }
  build_rules(*fw, plan);
  for (Evidence& e : plan.evidence) {
    for (const Rule& r : m_rules) {
      if (r.source == e.source) {
        e.used = true;
      }
    }
  }
  const std::vector<Candidate> cands = candidates(*fw);
  std::vector<Check> checks;
  checks.reserve(cands.size());
  for (const Candidate& c : cands) {
    checks.push_back(evaluate(c, false));
  }
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < cands.size(); ++i) {
    if (checks[i].project_ok() && checks[i].host_ok() &&
        (!best || better(cands[i], checks[i], cands[*best], checks[*best]))) {
      best = i;
    }
  }
  if (best) {
    fill(plan, cands[*best], checks[*best], true);
    soft_alternatives(plan, cands, checks, *best);
    fill_packages(plan, &*fw, cands[*best].official);
    return plan;
  }
  // the failure path: check again, writing the messages out
  for (std::size_t i = 0; i < cands.size(); ++i) {
    checks[i] = evaluate(cands[i], true);
  }
  explain_failure(plan, cands, checks);
  if (m_ov.allow_incompatible) {
    std::optional<std::size_t> pick;
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (checks[i].project_ok() &&
          (!pick || better(cands[i], checks[i], cands[*pick], checks[*pick]))) {
        pick = i;
      }
    }
    if (pick) {
      fill(plan, cands[*pick], checks[*pick], false);
      for (const std::string& h : checks[*pick].host) {
        plan.warnings.push_back({"incompatible", h + " (chosen anyway: --allow-incompatible)"});
      }
      fill_packages(plan, &*fw, cands[*pick].official);
      return plan;
    }
  }
  plan.framework = fw_name(*fw);
  plan.ok = false;
  fill_packages(plan, &*fw, false);
  return plan;
}

} // namespace detail

std::string HostGpu::sm() const {
  return fmt::format("sm_{}{}", cc_major, cc_minor);
}
std::string HostGpu::cc() const {
  return fmt::format("{}.{}", cc_major, cc_minor);
}

Plan resolve(const deps::Spec& spec,
             const Host& host,
             const Overrides& overrides,
             const Tables& tables) {
  using detail::Resolver;
  Resolver plain(spec, host, overrides, tables);
  if (plain.markers_depend_on_python()) {
    // "torch==2.4.1; python_version >= '3.8'" and "torch==1.4.0; python_version < '3.8'": try
    // each Python, newest first, and keep the first plan that runs.
    for (int minor = 15; minor >= 5; --minor) {
      Plan p = Resolver(spec, host, overrides, tables, fmt::format("3.{}", minor)).run();
      if (p.ok) {
        return p;
      }
    }
  }
  return plain.run();
}

} // namespace furnace::resolve