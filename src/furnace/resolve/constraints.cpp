// The constraints stage: what the project's evidence says about the framework version, its
// companions, CUDA and Python, as rules. Dependency files at the root (and one usual folder down)
// give hard rules; README prose and install lines, API calls in the code, Dockerfile RUN lines,
// NGC base images and files deep in the tree or under examples/ give soft ones, which choose
// among what the hard rules allow but can never make a plan impossible.

#include "internal.hpp"

#include <furnace/deps/project.hpp>
#include <furnace/deps/requirement.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace furnace::resolve::detail {

namespace {

// How much a soft rule weighs: a pin in a deep requirements file or a Dockerfile more than a
// README sentence, a README sentence more than one API call.
int soft_weight(const deps::Requirement& r) {
  if (r.confidence == Confidence::low) {
    return 1;
  }
  if (r.origin == "readme" || r.origin == "readme-prose") {
    return 3;
  }
  return 4;
}

// "==3.9.7" -> "==3.9.*": a patch level never decides which Python; the minor does.
deps::SpecifierSet python_minor_set(deps::SpecifierSet set) {
  for (deps::Specifier& s : set.items) {
    if ((s.op == deps::Op::equal || s.op == deps::Op::arbitrary) && s.version.release.size() >= 3) {
      s.op = deps::Op::equal;
      s.version.release.resize(2);
      s.wildcard = true;
    }
  }
  return set;
}

// "==0.9.1" -> "==0.9.*": a companion (torchvision, torchaudio, jaxlib) matches its framework by
// the minor series released with it; a different patch is a warning, not a conflict.
deps::SpecifierSet minor_series(const deps::SpecifierSet& set, std::string* exact) {
  deps::SpecifierSet out = set;
  for (deps::Specifier& s : out.items) {
    if (s.op == deps::Op::equal && s.version.release.size() >= 3) {
      if (!s.wildcard) {
        *exact = s.version.str();
      }
      s.version.release.resize(2);
      s.wildcard = true;
    }
  }
  return out;
}

bool python2_only(const std::string& n) {
  return n == "futures" || n == "functools32" || n == "subprocess32" || n == "enum34" ||
         n == "backports-functools-lru-cache" || n == "backports-weakref" || n == "configparser2";
}

// Keras X.Y and the TensorFlow it runs on (keras-team/keras release notes): 2.0-2.2 on the
// TensorFlow 1.x backend, 2.3 also on 2.0/2.1; 2.4/2.5 need
// TF >= 2.2; from 2.6 keras X.Y ships with tensorflow X.Y; Keras 3 needs TF >= 2.16.
std::string tf_for_keras(const Version& lo) {
  if (lo.at(0) == 1 || (lo.at(0) == 2 && lo.at(1) <= 1)) {
    return "<2";
  }
  if (lo.at(0) == 2 && lo.at(1) == 2) {
    return ">=1.5,<2"; // Keras 2.2 (June 2018) was tested against TensorFlow 1.5 and later
  }
  if (lo.at(0) == 2 && lo.at(1) == 3) {
    return ">=1.14,<2.2"; // Keras 2.3 (September 2019): TensorFlow 1.14, 1.15 and 2.0/2.1
  }
  if (lo.at(0) == 2 && lo.at(1) <= 5) {
    return ">=2.2,<2.6";
  }
  if (lo.at(0) == 2 && lo.at(1) <= 15) {
    return fmt::format("=={}.{}.*", lo.at(0), lo.at(1));
  }
  if (lo.at(0) >= 3) {
    return ">=2.16";
  }
  return "";
}

} // namespace

void Resolver::add_requirement_rules(Fw fw,
                                     const deps::Requirement& r,
                                     std::vector<Rule>& rules,
                                     Plan& plan) {
  Rule rule;
  rule.text = fmt::format("{}{}", r.written_name, r.specifier);
  rule.source = r.where.str();
  rule.confidence = r.confidence;
  rule.hard =
      r.confidence == Confidence::high && r.origin != "readme" && r.origin != "readme-prose";
  rule.weight = rule.hard ? 0 : soft_weight(r);
  rule.set = r.specifiers;
  // a local version ("+cu111") names the CUDA build, which a CUDA rule checks; a post release
  // ("0.4.1.post2") is a rebuild of its release
  for (deps::Specifier& s : rule.set.items) {
    s.version.local.clear();
    if (s.op == deps::Op::equal && !s.wildcard) {
      s.version.post = -1;
    }
  }
  const std::string& n = r.name;
  if (r.origin == "dockerfile-from") {
    // a base image names the framework the authors ran, but an old Dockerfile beside a newer
    // requirements pin must not make the plan impossible: the heaviest soft evidence
    rule.hard = false;
    rule.weight = 8;
  }
  if (python2_only(n) && r.confidence != Confidence::low) {
    // backports that install only on Python 2 (futures 3.2.0 declares python_requires <3)
    Rule py = rule;
    py.kind = Rule::python_kind;
    py.hard = false;
    py.weight = 3;
    py.set = *deps::parse_specifiers("<3");
    py.text = fmt::format("{} (a Python 2 backport)", rule.text);
    rules.push_back(py);
  }
  if (rule.set.empty()) {
    return;
  }
  if ((fw == Fw::torch && n == "torch") || (fw == Fw::jax && n == "jax")) {
    rules.push_back(rule);
  } else if (fw == Fw::tensorflow && is_tf_package(n)) {
    for (const deps::Specifier& s : r.specifiers.items) {
      if (s.op == deps::Op::equal && !s.wildcard) {
        m_pinned_tf.push_back(s.version.public_version());
      }
    }
    if (n == "tensorflow-gpu") {
      for (const deps::Specifier& s : r.specifiers.items) {
        if ((s.op == deps::Op::equal || s.op == deps::Op::greater_equal) &&
            !(s.version < ver("2.12"))) {
          plan.warnings.push_back(
              {"tensorflow_gpu_stub",
               fmt::format("{} ({}): tensorflow-gpu 2.12 and later on PyPI is a stub that "
                           "fails to install; use tensorflow",
                           rule.text,
                           rule.source)});
          break;
        }
      }
    }
    for (const std::string& e : r.extras) {
      if (e == "and-cuda") {
        Rule extra = rule;
        extra.set = *deps::parse_specifiers(">=2.14");
        extra.text = rule.text + " [and-cuda]";
        rules.push_back(extra);
      }
    }
    rules.push_back(rule);
  } else if ((fw == Fw::torch && (n == "torchvision" || n == "torchaudio")) ||
             (fw == Fw::jax && n == "jaxlib")) {
    rule.kind = Rule::sibling_kind;
    rule.sibling = n;
    if (n != "jaxlib") {
      rule.set = minor_series(rule.set, &rule.exact);
    } else {
      // a jaxlib serves a range of jax releases: its pin chooses the build, never rules one out
      rule.hard = false;
      rule.weight = 4;
    }
    rules.push_back(rule);
  } else if (fw == Fw::tensorflow && n == "keras") {
    Version lo;
    bool have = false;
    for (const deps::Specifier& s : rule.set.items) {
      if (s.op == deps::Op::equal || s.op == deps::Op::compatible ||
          s.op == deps::Op::greater_equal) {
        lo = s.version;
        have = true;
      }
    }
    const std::string tf = have ? tf_for_keras(lo) : "";
    if (!tf.empty()) {
      rule.set = *deps::parse_specifiers(tf);
      rule.text = fmt::format("{} (needs tensorflow{})", rule.text, tf);
      rules.push_back(rule);
    }
  }
}

void Resolver::add_fact_rules(Fw fw, std::vector<Rule>& rules, Plan& plan) const {
  std::vector<std::string> api_seen;
  for (const deps::Fact& f : m_spec.facts) {
    Rule rule;
    rule.source = f.where.str();
    rule.confidence = f.confidence;
    rule.hard = f.confidence == Confidence::high;
    rule.weight = rule.hard ? 0 : (f.confidence == Confidence::low ? 1 : 3);
    if (f.kind == deps::FactKind::cuda) {
      if (deps::classify(f.where.file) == deps::FileKind::dockerfile) {
        rule.hard = false; // a Dockerfile's CUDA, like its framework, chooses but never excludes
        rule.weight = 6;
      }
      const bool from_index = f.detail.find("://") != std::string::npos;
      if ((from_index && fw != Fw::torch) || (fw != Fw::jax && f.detail.rfind("jax", 0) == 0)) {
        continue;
      }
      rule.kind = Rule::cuda_kind;
      rule.cuda = f.value;
      rule.text = f.detail.empty() ? "CUDA " + f.value : f.detail;
      rules.push_back(rule);
    } else if (f.kind == deps::FactKind::python) {
      auto set = deps::parse_specifiers(f.value);
      if (!set) {
        plan.warnings.push_back({"parse_error",
                                 fmt::format("{}: cannot read Python version '{}': {}",
                                             rule.source,
                                             f.value,
                                             set.error().message)});
        continue;
      }
      rule.kind = Rule::python_kind;
      rule.set = python_minor_set(*set);
      rule.text = f.detail.empty() ? "python" + f.value : f.detail;
      rules.push_back(rule);
    } else if (f.kind == deps::FactKind::index_url && fw == Fw::torch) {
      // find-links pages per torch build: ".../mmcv/dist/cu101/torch1.6.0/index.html"
      const std::size_t at = f.value.find("/torch");
      if (at == std::string::npos || at + 6 >= f.value.size() ||
          std::isdigit(static_cast<unsigned char>(f.value[at + 6])) == 0) {
        continue;
      }
      const std::string rest = f.value.substr(at + 6, f.value.find('/', at + 6) - at - 6);
      if (auto v = deps::parse_version(rest); v && v->release.size() >= 2) {
        rule.kind = Rule::version_kind;
        rule.hard = false;
        rule.weight = 4;
        rule.set = *deps::parse_specifiers(fmt::format("=={}.{}.*", v->at(0), v->at(1)));
        rule.text = fmt::format("{} (built for torch {})", f.value, rest);
        rules.push_back(rule);
      }
    } else if (f.kind == deps::FactKind::api) {
      // one rule per distinct need ("tensorflow<2"), however many calls show it
      if (std::find(api_seen.begin(), api_seen.end(), f.value) != api_seen.end()) {
        continue;
      }
      auto req = deps::parse_pep508(f.value);
      if (!req) {
        continue;
      }
      const bool python = req->name == "python";
      if (!python &&
          !(req->name == fw_package(fw) || (fw == Fw::tensorflow && is_tf_package(req->name)))) {
        continue;
      }
      api_seen.push_back(f.value);
      rule.kind = python ? Rule::python_kind : Rule::version_kind;
      rule.hard = false;
      rule.weight = 3;
      rule.set = req->specifiers;
      rule.text = fmt::format("{} needs {}", f.detail, f.value);
      rules.push_back(rule);
    } else if (f.kind == deps::FactKind::base_image && f.value.rfind("nvcr.io/nvidia/", 0) == 0) {
      // an NGC release: the framework, CUDA and Python it ships (ngc.csv)
      const std::size_t colon = f.value.rfind(':');
      if (colon == std::string::npos) {
        continue;
      }
      const NgcRow* row = m_t.find_ngc(f.value.substr(0, colon), f.value.substr(colon + 1));
      if (row == nullptr || row->framework != fw_name(fw)) {
        continue;
      }
      rule.hard = false;
      rule.weight = 4;
      const std::string ngc = fmt::format("{} (ngc.csv:{})", f.value, row->line);
      if (auto v = deps::parse_version(row->framework_version.value)) {
        Rule vr = rule;
        vr.kind = Rule::version_kind;
        vr.set = *deps::parse_specifiers(fmt::format("=={}.{}.*", v->at(0), v->at(1)));
        vr.text = fmt::format("{} ships {} {}", ngc, fw_package(fw), row->framework_version.value);
        rules.push_back(vr);
      }
      if (auto p = deps::parse_version(row->python.value); p && p->release.size() >= 2) {
        Rule pr = rule;
        pr.kind = Rule::python_kind;
        pr.set = *deps::parse_specifiers(fmt::format("=={}.{}.*", p->at(0), p->at(1)));
        pr.text = fmt::format("{} ships Python {}", ngc, row->python.value);
        rules.push_back(pr);
      }
    }
  }
}

void Resolver::add_override_rules(std::vector<Rule>& rules) {
  // Overrides replace what the project says.
  auto replace = [&](Rule::Kind kind, Rule rule) {
    rules.erase(std::remove_if(rules.begin(),
                               rules.end(),
                               [&](const Rule& r) {
                                 return r.kind == kind || (kind == Rule::version_kind &&
                                                           r.kind == Rule::sibling_kind);
                               }),
                rules.end());
    rules.push_back(std::move(rule));
  };
  if (!m_ov.version.empty()) {
    Rule r;
    r.kind = Rule::version_kind;
    r.text = fmt::format("--version {}", m_ov.version);
    r.source = "--version";
    auto set = deps::parse_specifiers(m_ov.version.find_first_of("=<>!~") == std::string::npos
                                          ? "==" + m_ov.version
                                          : m_ov.version);
    if (set) {
      r.set = *set;
      for (const deps::Specifier& s : r.set.items) {
        if (s.op == deps::Op::equal && !s.wildcard) {
          m_pinned_tf.push_back(s.version.public_version());
        }
      }
      replace(Rule::version_kind, r);
    }
  }
  if (!m_ov.cuda.empty()) {
    Rule r;
    r.kind = Rule::cuda_kind;
    r.cuda = m_ov.cuda;
    r.text = fmt::format("--cuda {}", m_ov.cuda);
    r.source = "--cuda";
    replace(Rule::cuda_kind, r);
  }
  if (!m_ov.python.empty()) {
    Rule r;
    r.kind = Rule::python_kind;
    r.text = fmt::format("--python {}", m_ov.python);
    r.source = "--python";
    auto set = deps::parse_specifiers("==" + m_ov.python + ".*");
    if (set) {
      r.set = *set;
      replace(Rule::python_kind, r);
    }
  }
  if (m_marker_python) {
    Rule r;
    r.kind = Rule::python_kind;
    r.text = fmt::format("python {} (markers evaluated for it)", *m_marker_python);
    r.source = "markers";
    r.set = *deps::parse_specifiers("==" + *m_marker_python + ".*");
    rules.push_back(r);
  }
}

void Resolver::build_rules(Fw fw, Plan& plan) {
  std::vector<Rule> rules;
  deps::MarkerEnv env; // Linux x86-64, Python unknown unless tried
  env.python_version = m_marker_python;
  for (const deps::Requirement& r : m_spec.requirements) {
    if (!r.marker.empty()) {
      auto m = deps::evaluate_marker(r.marker, env);
      if (m && *m == deps::Tristate::no) {
        continue;
      }
    }
    add_requirement_rules(fw, r, rules, plan);
  }
  add_fact_rules(fw, rules, plan);
  add_override_rules(rules);
  m_rules = std::move(rules);
  index_python_rules();
}

} // namespace furnace::resolve::detail
