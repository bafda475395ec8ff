#include "resolver.hpp"

#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>

namespace furnace::resolve {

namespace {

using spec::Confidence;
using spec::Version;

enum class Fw { torch, tensorflow, jax };

const char* fw_name(Fw f) {
  switch (f) {
    case Fw::torch:
      return "pytorch";
    case Fw::tensorflow:
      return "tensorflow";
    case Fw::jax:
      return "jax";
  }
  return "";
}

const char* fw_package(Fw f) {
  switch (f) {
    case Fw::torch:
      return "torch";
    case Fw::tensorflow:
      return "tensorflow";
    case Fw::jax:
      return "jax";
  }
  return "";
}

const char* confidence_name(Confidence c) {
  switch (c) {
    case Confidence::low:
      return "low";
    case Confidence::medium:
      return "medium";
    case Confidence::high:
      return "high";
  }
  return "";
}

Version ver(std::string_view s) {
  auto v = spec::parse_version(s);
  return v ? *v : Version{};
}

bool is_tf_package(const std::string& n) {
  return n == "tensorflow" || n == "tensorflow-gpu" || n == "tensorflow-cpu" || n == "tf-nightly" ||
         n == "tf-nightly-gpu" || n == "tensorflow-intel" || n == "intel-tensorflow";
}

// Packages that imply a framework without naming it.
std::optional<Fw> implied_framework(const std::string& n) {
  static const std::set<std::string, std::less<>> k_torch = {
      "torchvision", "torchaudio", "torchtext", "pytorch-lightning", "lightning", "mmcv",
      "mmcv-full", "mmdet", "mmengine", "mmsegmentation", "detectron2", "timm", "torch-geometric",
      "torch-scatter", "torch-sparse", "fairseq", "pytorch3d", "torchmetrics", "kornia",
      "pytorch-cuda", "apex", "accelerate", "deepspeed", "xformers", "flash-attn", "torchdata",
      "segmentation-models-pytorch", "ultralytics"};
  static const std::set<std::string, std::less<>> k_tf = {
      "keras", "tf-keras", "tensorflow-addons", "tensorflow-probability", "tensorflow-hub",
      "tensorflow-datasets", "tensorflow-text", "tflearn", "tensorpack"};
  static const std::set<std::string, std::less<>> k_jax = {"flax", "optax", "dm-haiku", "chex",
                                                           "trax", "equinox"};
  if (k_torch.count(n) != 0) {
    return Fw::torch;
  }
  if (k_tf.count(n) != 0) {
    return Fw::tensorflow;
  }
  if (k_jax.count(n) != 0) {
    return Fw::jax;
  }
  return std::nullopt;
}

std::optional<Fw> direct_framework(const std::string& n) {
  if (n == "torch") {
    return Fw::torch;
  }
  if (is_tf_package(n)) {
    return Fw::tensorflow;
  }
  if (n == "jax" || n == "jaxlib") {
    return Fw::jax;
  }
  return std::nullopt;
}

// Packages whose install compiles CUDA code: they need a -devel image (nvcc, headers).
bool compiles_cuda(const std::string& n) {
  static const std::set<std::string, std::less<>> k = {
      "mmcv-full", "apex", "detectron2", "flash-attn", "pytorch3d", "causal-conv1d", "mamba-ssm",
      "spconv", "nvdiffrast", "tinycudann", "tiny-cuda-nn", "torch-points-kernels",
      "pointnet2-ops", "deepspeed", "warp-rnnt", "kaolin"};
  return k.count(n) != 0;
}

struct Rule {
  enum Kind { version_kind, sibling_kind, cuda_kind, python_kind } kind = version_kind;
  std::string text;    // "torch==1.4.0"
  std::string source;  // "requirements.txt:3"
  Confidence confidence = Confidence::high;
  spec::SpecifierSet set;  // version / sibling / python
  std::string sibling;     // "torchvision", "torchaudio", "keras"
  std::string cuda;        // "10.1" or "11" (major only)
};

struct Candidate {
  Fw fw = Fw::torch;
  Version version;
  std::string version_text;
  std::string cuda;
  const CudaRow* cuda_row = nullptr;
  const TorchRow* torch = nullptr;
  const TfRow* tf = nullptr;
  std::string image;
  bool official = false;
  bool image_unverified = false;
  std::string pip_index;
  ArchList archs;
  Cell cudnn;
  Cell python_min;
  Cell python_max;
  int table_line = 0;

  std::string label() const {
    switch (fw) {
      case Fw::torch:
        return fmt::format("torch {}+cu{}", version_text,
                           util::split(cuda, '.')[0] + (util::split(cuda, '.').size() > 1
                                                            ? util::split(cuda, '.')[1]
                                                            : ""));
      case Fw::tensorflow:
        return fmt::format("tensorflow {} (CUDA {})", version_text, cuda);
      case Fw::jax:
        return fmt::format("jax{} on CUDA {}", version_text.empty() ? "" : " " + version_text,
                           cuda);
    }
    return "";
  }
  std::string table_source() const {
    if (table_line == 0) {
      return "";
    }
    return fmt::format("{}.csv:{}", fw == Fw::torch ? "torch" : (fw == Fw::tensorflow ? "tensorflow" : "cuda"),
                       table_line);
  }
};

enum class DriverKind { full, minor_compat, too_old, unknown };
enum class ArchKind { sass, ptx, assumed, none };

struct GpuCheck {
  ArchKind kind = ArchKind::none;
  std::string via;  // "sm_86", "compute_80"
  bool unverified = false;
};

struct Check {
  std::vector<std::string> project;  // why the project's constraints rule it out
  std::vector<std::string> host;     // why this host cannot run it
  bool arch_failed = false;
  DriverKind driver = DriverKind::unknown;
  std::string driver_detail;
  bool driver_unverified = false;
  std::vector<GpuCheck> gpus;
  std::string python;  // chosen Python
  std::vector<std::string> python_allowed;

  bool project_ok() const { return project.empty(); }
  bool host_ok() const { return host.empty(); }
};

const std::vector<std::string>& python_minors() {
  static const std::vector<std::string> k = [] {
    std::vector<std::string> out = {"2.7"};
    for (int m = 0; m <= 15; ++m) {
      out.push_back(fmt::format("3.{}", m));
    }
    return out;
  }();
  return k;
}

const std::vector<Version>& python_minor_versions() {
  static const std::vector<Version> k = [] {
    std::vector<Version> out;
    for (const std::string& p : python_minors()) {
      out.push_back(*spec::parse_version(p));
    }
    return out;
  }();
  return k;
}

bool python_satisfies(const spec::SpecifierSet& set, const std::string& minor) {
  return set.contains(ver(minor)) || set.contains(ver(minor + ".99"));
}

std::pair<int, int> sm_of(const Cell& c) {
  const ArchList l = parse_arch_list(c.value);
  if (l.empty()) {
    return {0, 0};
  }
  return {l.items[0].major, l.items[0].minor};
}

bool cuda_matches(const std::string& have, const std::string& want) {
  if (have == want) {
    return true;
  }
  // "11" (major only) matches any 11.x
  if (want.find('.') == std::string::npos) {
    return have.substr(0, have.find('.')) == want;
  }
  // "10.1.243" -> "10.1"
  const auto w = util::split(want, '.');
  return w.size() >= 2 && have == w[0] + "." + w[1];
}

class Resolver {
public:
  Resolver(const spec::Spec& s, const Host& h, const Overrides& o, const Tables& t,
           std::optional<std::string> marker_python = std::nullopt)
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

  Plan run();
  // Whether a framework requirement's marker depends on the (unknown) Python version.
  bool markers_depend_on_python() const;

private:
  std::optional<Fw> choose_framework(Plan& plan);
  void build_rules(Fw fw, Plan& plan);
  std::vector<Candidate> candidates(Fw fw) const;
  // Checks a candidate; the messages are only written out when `explain` (the failure path).
  Check evaluate(const Candidate& c, bool explain) const;
  GpuCheck check_arch(const Candidate& c, const HostGpu& g, bool minor_compat) const;
  void fill(Plan& plan, const Candidate& c, const Check& k, bool runnable) const;
  void explain_failure(Plan& plan, const std::vector<Candidate>& cands,
                       const std::vector<Check>& checks) const;
  void fill_packages(Plan& plan, Fw* fw, bool official) const;
  bool devel_needed(std::string* why) const;
  static bool better(const Candidate& a, const Check& ka, const Candidate& b, const Check& kb);

  const spec::Spec& m_spec;
  const Host& m_host;
  const Overrides& m_ov;
  const Tables& m_t;
  std::vector<Rule> m_rules;
  std::vector<Version> m_pinned_tf;  // exact TF pins, to offer patch releases the table omits
  std::optional<std::string> m_marker_python;  // evaluate markers for this Python ("3.10")
  std::vector<HostGpu> m_gpus;                  // the host's GPUs, one per compute capability
};

bool Resolver::markers_depend_on_python() const {
  const spec::MarkerEnv env;
  for (const spec::Requirement& r : m_spec.requirements) {
    if (!r.marker.empty() && (direct_framework(r.name) || r.name == "torchvision")) {
      auto m = spec::evaluate_marker(r.marker, env);
      if (m && *m == spec::Tristate::unknown) {
        return true;
      }
    }
  }
  return false;
}

// ---- framework ----

std::optional<Fw> Resolver::choose_framework(Plan& plan) {
  if (!m_ov.framework.empty()) {
    const std::string f = util::to_lower(m_ov.framework);
    if (f == "pytorch" || f == "torch") {
      return Fw::torch;
    }
    if (f == "tensorflow" || f == "tf") {
      return Fw::tensorflow;
    }
    if (f == "jax") {
      return Fw::jax;
    }
    return std::nullopt;
  }
  std::array<int, 3> score{0, 0, 0};
  std::array<std::vector<std::string>, 3> why;
  auto add = [&](Fw f, int points, const std::string& text) {
    score[static_cast<std::size_t>(f)] += points;
    auto& w = why[static_cast<std::size_t>(f)];
    if (w.size() < 3 && std::find(w.begin(), w.end(), text) == w.end()) {
      w.push_back(text);
    }
  };
  std::array<int, 3> imports{0, 0, 0};
  for (const spec::Requirement& r : m_spec.requirements) {
    if (r.constraint_only) {
      continue;
    }
    const int weight = r.confidence == Confidence::low ? 1 : (r.optional ? 2 : 3);
    const std::string text = fmt::format("{}{} ({})", r.written_name, r.specifier, r.where.str());
    if (r.origin == "dockerfile-from") {
      if (auto f = direct_framework(r.name)) {
        add(*f, 100, text);
      }
      continue;
    }
    if (auto f = direct_framework(r.name)) {
      add(*f, 10 * weight, text);
    } else if (auto g = implied_framework(r.name)) {
      add(*g, 3 * weight, text);
    }
  }
  for (const spec::Fact& f : m_spec.facts) {
    if (f.kind == spec::FactKind::imports) {
      const std::string text = fmt::format("import {} ({})", f.value, f.where.str());
      if (f.value == "torch") {
        imports[0] += 1;
        add(Fw::torch, imports[0] <= 8 ? 5 : 0, text);
      } else if (f.value == "tensorflow") {
        imports[1] += 1;
        add(Fw::tensorflow, imports[1] <= 8 ? 5 : 0, text);
      } else if (f.value == "jax") {
        imports[2] += 1;
        add(Fw::jax, imports[2] <= 8 ? 5 : 0, text);
      }
    }
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < 3; ++i) {
    if (score[i] > score[best]) {  // ties: torch, then tensorflow
      best = i;
    }
  }
  if (score[best] == 0) {
    return std::nullopt;
  }
  const auto fw = static_cast<Fw>(best);
  Reason r;
  r.message = fmt::format("framework {}: {}", fw_name(fw), fmt::join(why[best], ", "));
  for (const std::string& w : why[best]) {
    const std::size_t open = w.rfind('(');
    if (open != std::string::npos) {
      r.evidence.push_back(w.substr(open + 1, w.size() - open - 2));
    }
  }
  plan.reasons.push_back(std::move(r));
  for (std::size_t i = 0; i < 3; ++i) {
    if (i != best && score[i] > 0) {
      plan.warnings.push_back(
          {"framework_conflict",
           fmt::format("the project also mentions {} ({}); planned for {}, which it uses more",
                       fw_name(static_cast<Fw>(i)), fmt::join(why[i], ", "), fw_name(fw))});
    }
  }
  return fw;
}

// ---- constraints ----

void Resolver::build_rules(Fw fw, Plan& plan) {
  std::vector<Rule> rules;
  spec::MarkerEnv env;  // Linux x86-64, Python unknown unless tried
  env.python_version = m_marker_python;
  for (const spec::Requirement& r : m_spec.requirements) {
    if (!r.marker.empty()) {
      auto m = spec::evaluate_marker(r.marker, env);
      if (m && *m == spec::Tristate::no) {
        continue;
      }
    }
    Rule rule;
    rule.text = fmt::format("{}{}", r.written_name, r.specifier);
    rule.source = r.where.str();
    rule.confidence = r.confidence;
    rule.set = r.specifiers;
    // a local version ("+cu111") names the CUDA build, which a CUDA rule checks
    for (spec::Specifier& s : rule.set.items) {
      s.version.local.clear();
    }
    const std::string& n = r.name;
    bool mine = false;
    if (fw == Fw::torch && n == "torch") {
      mine = true;
    } else if (fw == Fw::tensorflow && is_tf_package(n)) {
      mine = true;
      for (const spec::Specifier& s : r.specifiers.items) {
        if (s.op == spec::Op::equal && !s.wildcard) {
          m_pinned_tf.push_back(s.version.public_version());
        }
      }
      if (n == "tensorflow-gpu") {
        for (const spec::Specifier& s : r.specifiers.items) {
          if ((s.op == spec::Op::equal || s.op == spec::Op::greater_equal) &&
              !(s.version < ver("2.12"))) {
            plan.warnings.push_back(
                {"tensorflow_gpu_stub",
                 fmt::format("{} ({}): tensorflow-gpu 2.12 and later on PyPI is a stub that "
                             "fails to install; use tensorflow",
                             rule.text, rule.source)});
            break;
          }
        }
      }
      for (const std::string& e : r.extras) {
        if (e == "and-cuda") {
          Rule extra = rule;
          extra.set = *spec::parse_specifiers(">=2.14");
          extra.text = rule.text + " [and-cuda]";
          rules.push_back(extra);
        }
      }
    } else if (fw == Fw::jax && (n == "jax" || n == "jaxlib")) {
      mine = true;
    } else if (fw == Fw::torch && (n == "torchvision" || n == "torchaudio") &&
               !r.specifiers.empty()) {
      rule.kind = Rule::sibling_kind;
      rule.sibling = n;
      rules.push_back(rule);
    } else if (fw == Fw::tensorflow && n == "keras" && !r.specifiers.empty()) {
      // Keras 2.0-2.3 ran on the TensorFlow 1.x backend; 2.4/2.5 need TF >= 2.2; from 2.6 on
      // keras X.Y ships with tensorflow X.Y; Keras 3 needs TF >= 2.16.
      Version lo;
      bool have = false;
      for (const spec::Specifier& s : rule.set.items) {
        if (s.op == spec::Op::equal || s.op == spec::Op::compatible ||
            s.op == spec::Op::greater_equal) {
          lo = s.version;
          have = true;
        }
      }
      if (have) {
        std::string tf;
        if (lo.at(0) == 2 && lo.at(1) <= 3) {
          tf = "<2";
        } else if (lo.at(0) == 2 && lo.at(1) <= 5) {
          tf = ">=2.2,<2.6";
        } else if (lo.at(0) == 2 && lo.at(1) <= 15) {
          tf = fmt::format("=={}.{}.*", lo.at(0), lo.at(1));
        } else if (lo.at(0) >= 3) {
          tf = ">=2.16";
        }
        if (!tf.empty()) {
          rule.kind = Rule::version_kind;
          rule.set = *spec::parse_specifiers(tf);
          rule.text = fmt::format("{} (needs tensorflow{})", rule.text, tf);
          rules.push_back(rule);
        }
      }
    }
    if (mine) {
      rule.kind = Rule::version_kind;
      if (!rule.set.empty()) {
        rules.push_back(rule);
      }
    }
  }
  for (const spec::Fact& f : m_spec.facts) {
    Rule rule;
    rule.source = f.where.str();
    rule.confidence = f.confidence;
    if (f.kind == spec::FactKind::cuda) {
      const bool from_index = f.detail.find("://") != std::string::npos;
      if ((from_index && fw != Fw::torch) ||
          (fw != Fw::jax && f.detail.rfind("jax", 0) == 0)) {
        continue;
      }
      rule.kind = Rule::cuda_kind;
      rule.cuda = f.value;
      rule.text = f.detail.empty() ? "CUDA " + f.value : f.detail;
      rules.push_back(rule);
    } else if (f.kind == spec::FactKind::python) {
      auto set = spec::parse_specifiers(f.value);
      if (!set) {
        plan.warnings.push_back(
            {"parse_error", fmt::format("{}: cannot read Python version '{}': {}", rule.source,
                                        f.value, set.error().message)});
        continue;
      }
      rule.kind = Rule::python_kind;
      rule.set = *set;
      rule.text = f.detail.empty() ? "python" + f.value : f.detail;
      rules.push_back(rule);
    }
  }
  // Overrides replace what the project says.
  auto replace = [&](Rule::Kind kind, Rule rule) {
    rules.erase(std::remove_if(rules.begin(), rules.end(),
                               [&](const Rule& r) {
                                 return r.kind == kind ||
                                        (kind == Rule::version_kind && r.kind == Rule::sibling_kind);
                               }),
                rules.end());
    rules.push_back(std::move(rule));
  };
  if (!m_ov.version.empty()) {
    Rule r;
    r.kind = Rule::version_kind;
    r.text = fmt::format("--version {}", m_ov.version);
    r.source = "--version";
    auto set = spec::parse_specifiers(m_ov.version.find_first_of("=<>!~") == std::string::npos
                                          ? "==" + m_ov.version
                                          : m_ov.version);
    if (set) {
      r.set = *set;
      for (const spec::Specifier& s : r.set.items) {
        if (s.op == spec::Op::equal && !s.wildcard) {
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
    auto set = spec::parse_specifiers("==" + m_ov.python + ".*");
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
    r.set = *spec::parse_specifiers("==" + *m_marker_python + ".*");
    rules.push_back(r);
  }
  // Low-confidence evidence (README lines) counts only where nothing firmer speaks.
  std::array<bool, 4> firm{false, false, false, false};
  for (const Rule& r : rules) {
    const int k = r.kind == Rule::sibling_kind ? Rule::version_kind : r.kind;
    if (r.confidence != Confidence::low) {
      firm[static_cast<std::size_t>(k)] = true;
    }
  }
  for (Rule& r : rules) {
    const int k = r.kind == Rule::sibling_kind ? Rule::version_kind : r.kind;
    if (r.confidence == Confidence::low && firm[static_cast<std::size_t>(k)]) {
      continue;
    }
    m_rules.push_back(std::move(r));
  }
}

// ---- candidates ----

std::string runtime_flavour(std::string tag, bool devel) {
  const std::string from = devel ? "-runtime" : "-devel";
  const std::string to = devel ? "-devel" : "-runtime";
  if (const std::size_t at = tag.find(from); at != std::string::npos) {
    tag.replace(at, from.size(), to);
  }
  return tag;
}

std::vector<Candidate> Resolver::candidates(Fw fw) const {
  std::vector<Candidate> out;
  std::string devel_why;
  const bool devel = devel_needed(&devel_why);
  if (fw == Fw::torch) {
    for (const TorchRow& r : m_t.torch) {
      if (r.cuda == "cpu") {
        continue;
      }
      Candidate c;
      c.fw = fw;
      c.version = r.version;
      c.version_text = r.version_text;
      c.cuda = r.cuda;
      c.cuda_row = m_t.find_cuda(r.cuda);
      c.torch = &r;
      c.cudnn = r.cudnn;
      c.python_min = r.python_min;
      c.python_max = r.python_max;
      c.table_line = r.line;
      const Cell* tag = nullptr;
      for (const Cell& t : r.docker_tags) {
        const bool is_devel = t.value.find("-devel") != std::string::npos;
        if (is_devel == devel) {
          tag = &t;
        }
      }
      if (tag == nullptr && !r.docker_tags.empty()) {
        tag = &r.docker_tags.front();
      }
      if (tag != nullptr) {
        c.image = "pytorch/pytorch:" + tag->value;
        c.official = true;
        c.image_unverified = tag->unverified;
        c.archs = r.docker_sm_archs.empty() ? r.sm_archs : r.docker_sm_archs;
      } else {
        const std::string example = c.cuda_row != nullptr ? c.cuda_row->image_example.value : "";
        c.image = "nvidia/cuda:" +
                  (example.empty() ? r.cuda + ".0-runtime-ubuntu22.04" : runtime_flavour(example, devel));
        c.image_unverified = c.cuda_row == nullptr || c.cuda_row->image_example.unverified ||
                             example.empty();
        c.pip_index = "https://download.pytorch.org/whl/" + r.pip_index;
        c.archs = r.sm_archs;
      }
      out.push_back(std::move(c));
    }
  } else if (fw == Fw::tensorflow) {
    for (const TfRow& r : m_t.tensorflow) {
      std::vector<std::pair<Version, std::string>> versions = {{r.version, r.version_text}};
      for (const Version& p : m_pinned_tf) {
        if (p.at(0) == r.version.at(0) && p.at(1) == r.version.at(1) && !(p == r.version)) {
          versions.emplace_back(p, p.str());
        }
      }
      for (const auto& [v, text] : versions) {
        Candidate c;
        c.fw = fw;
        c.version = v;
        c.version_text = text;
        c.cuda = r.cuda;
        c.cuda_row = m_t.find_cuda(r.cuda);
        c.tf = &r;
        c.cudnn = r.cudnn;
        c.python_min = r.python_min;
        c.python_max = r.python_max;
        c.archs = r.cuda_archs;
        c.table_line = r.line;
        const Cell* tag = nullptr;
        for (const Cell& t : r.docker_tags) {
          if (t.value.find("-py3") != std::string::npos || tag == nullptr) {
            tag = &t;
          }
        }
        if (tag != nullptr) {
          std::string value = tag->value;
          if (text != r.version_text && value.rfind(r.version_text, 0) == 0) {
            value = text + value.substr(r.version_text.size());
          }
          c.image = "tensorflow/tensorflow:" + value;
          c.official = true;
          c.image_unverified = tag->unverified || text != r.version_text;
        }
        out.push_back(std::move(c));
      }
    }
  } else {
    std::string pinned;
    for (const Rule& r : m_rules) {
      if (r.kind == Rule::version_kind) {
        for (const spec::Specifier& s : r.set.items) {
          if (s.op == spec::Op::equal && !s.wildcard) {
            pinned = s.version.str();
          }
        }
      }
    }
    for (const CudaRow& r : m_t.cuda) {
      if (r.version < ver("11.8") || r.image_example.empty()) {
        continue;
      }
      Candidate c;
      c.fw = fw;
      c.version = pinned.empty() ? Version{} : ver(pinned);
      c.version_text = pinned;
      c.cuda = r.cuda;
      c.cuda_row = &r;
      c.python_min = make_cell("3.9");
      c.python_max = make_cell("3.13");
      c.image = "nvidia/cuda:" + runtime_flavour(r.image_example.value, devel);
      c.image_unverified = r.image_example.unverified;
      c.table_line = r.line;
      out.push_back(std::move(c));
    }
  }
  return out;
}

bool Resolver::devel_needed(std::string* why) const {
  for (const spec::Requirement& r : m_spec.requirements) {
    if (!r.constraint_only && compiles_cuda(r.name)) {
      *why = fmt::format("{} ({}) compiles CUDA code", r.written_name, r.where.str());
      return true;
    }
  }
  for (const spec::Fact& f : m_spec.facts) {
    if (f.kind == spec::FactKind::base_image && f.value.find("devel") != std::string::npos) {
      *why = fmt::format("the project's Dockerfile uses a devel image ({})", f.where.str());
      return true;
    }
  }
  return false;
}

// ---- checks ----

GpuCheck Resolver::check_arch(const Candidate& c, const HostGpu& g, bool minor_compat) const {
  GpuCheck out;
  if (c.archs.empty()) {
    // Unknown arch list (TF 1.x, JAX): judge by what the CUDA toolkit can target.
    if (c.cuda_row == nullptr) {
      out.kind = ArchKind::none;
      return out;
    }
    const auto [min_major, min_minor] = sm_of(c.cuda_row->sm_min);
    const auto [max_major, max_minor] = sm_of(c.cuda_row->sm_max);
    (void)max_minor;
    const bool above_min = std::pair(g.cc_major, g.cc_minor) >= std::pair(min_major, min_minor);
    if (above_min && g.cc_major <= max_major) {
      out.kind = ArchKind::assumed;
      out.via = fmt::format("CUDA {} targets {}..{}", c.cuda, c.cuda_row->sm_min.value,
                            c.cuda_row->sm_max.value);
      out.unverified = true;
    }
    return out;
  }
  const Arch* best = nullptr;
  for (const Arch& a : c.archs.items) {
    if (a.ptx || a.major != g.cc_major) {
      continue;
    }
    const bool ok = a.suffix == 'a' ? a.minor == g.cc_minor : a.minor <= g.cc_minor;
    if (ok && (best == nullptr || a.minor > best->minor)) {
      best = &a;
    }
  }
  if (best != nullptr) {
    out.kind = ArchKind::sass;
    out.via = best->str();
    out.unverified = best->unverified;
    return out;
  }
  // PTX: JIT-compiled by the driver, if the toolkit of the build knows the GPU's family (its
  // cuBLAS/cuDNN have kernels for it) and the driver is not in minor-version-compat mode.
  const auto [max_major, max_minor] =
      c.cuda_row != nullptr ? sm_of(c.cuda_row->sm_max) : std::pair(0, 0);
  (void)max_minor;
  for (const Arch& a : c.archs.items) {
    if (a.ptx && std::pair(a.major, a.minor) <= std::pair(g.cc_major, g.cc_minor) &&
        max_major >= g.cc_major && !minor_compat) {
      out.kind = ArchKind::ptx;
      out.via = a.str();
      out.unverified = a.unverified;
    }
  }
  return out;
}

Check Resolver::evaluate(const Candidate& c, bool explain) const {
  Check k;
  // Without `explain`, a failure is recorded as an empty message: what counts is that it failed.
  auto say = [explain](std::string_view f, const auto&... args) -> std::string {
    return explain ? fmt::vformat(f, fmt::make_format_args(args...)) : std::string();
  };
  // the project's constraints
  for (const Rule& r : m_rules) {
    switch (r.kind) {
      case Rule::version_kind:
        if (!r.set.contains(c.version)) {
          k.project.push_back(say("{} ({}) excludes {}", r.text, r.source, c.version_text));
        }
        break;
      case Rule::sibling_kind: {
        const Cell& sib = r.sibling == "torchvision" ? c.torch->torchvision : c.torch->torchaudio;
        auto v = spec::parse_version(sib.value);
        if (!v || !r.set.contains(*v)) {
          k.project.push_back(say("{} ({}) goes with another torch than {}", r.text,
                                          r.source, c.version_text));
        }
        break;
      }
      case Rule::cuda_kind:
        if (!cuda_matches(c.cuda, r.cuda)) {
          k.project.push_back(
              say("{} ({}) asks for CUDA {}", r.text, r.source, r.cuda));
        }
        break;
      case Rule::python_kind:
        break;
    }
  }
  // Python: the newest the build supports that the project allows
  const Version lo = ver(c.python_min.value);
  const Version hi = ver(c.python_max.value);
  for (std::size_t pi = 0; pi < python_minors().size(); ++pi) {
    const std::string& p = python_minors()[pi];
    const Version& pv = python_minor_versions()[pi];
    if (pv < lo || hi < pv) {
      continue;
    }
    bool ok = true;
    for (const Rule& r : m_rules) {
      if (r.kind == Rule::python_kind && !python_satisfies(r.set, p)) {
        ok = false;
      }
    }
    if (ok) {
      k.python_allowed.push_back(p);
    }
  }
  if (k.python_allowed.empty()) {
    std::vector<std::string> asks;
    for (const Rule& r : m_rules) {
      if (r.kind == Rule::python_kind) {
        asks.push_back(fmt::format("{} ({})", r.text, r.source));
      }
    }
    k.project.push_back(say("{} supports Python {}-{}, the project asks for {}", c.label(),
                                    c.python_min.value, c.python_max.value, fmt::join(asks, ", ")));
  } else {
    k.python = k.python_allowed.back();
  }
  // the driver
  const CudaRow* row = c.cuda_row;
  if (row == nullptr) {
    k.host.push_back(say("CUDA {} is not in the CUDA table", c.cuda));
  } else if (!m_host.driver.empty()) {
    const Version d = ver(m_host.driver);
    const bool has_min = !row->min_driver.empty();
    if (has_min && !(d < ver(row->min_driver.value))) {
      k.driver = DriverKind::full;
      k.driver_unverified = row->min_driver.unverified;
      k.driver_detail = fmt::format("driver {} >= {}, the minimum for CUDA {}", m_host.driver,
                                    row->min_driver.value, c.cuda);
    } else if (row->version.at(0) >= 11 && !row->minor_compat_driver.empty() &&
               !(d < ver(row->minor_compat_driver.value))) {
      k.driver = DriverKind::minor_compat;
      k.driver_unverified = row->minor_compat_driver.unverified || !has_min;
      k.driver_detail = fmt::format(
          "driver {} is older than {} (CUDA {}'s) but runs it through minor-version "
          "compatibility (>= {}): no PTX JIT, some APIs unavailable",
          m_host.driver, has_min ? row->min_driver.value : std::string("unknown"), c.cuda,
          row->minor_compat_driver.value);
    } else {
      k.driver = DriverKind::too_old;
      bool datacenter = false;
      for (const HostGpu& g : m_gpus) {
        const GpuRow* gr = explain ? m_t.find_gpu(g.name) : nullptr;
        datacenter = datacenter || (gr != nullptr && gr->segment == "datacenter");
      }
      k.host.push_back(say(
          "CUDA {} needs driver >= {}{}; this host has {}{}", c.cuda,
          has_min ? row->min_driver.value : std::string("(unknown)"),
          row->minor_compat_driver.empty()
              ? ""
              : fmt::format(" (>= {} with minor-version compatibility)",
                            row->minor_compat_driver.value),
          m_host.driver,
          datacenter ? "; datacenter GPUs can also use NVIDIA's cuda-compat forward-compatibility "
                       "package"
                     : ""));
    }
  } else if (!m_host.cuda_driver.empty()) {
    if (ver(m_host.cuda_driver) < ver(c.cuda)) {
      k.driver = DriverKind::too_old;
      k.host.push_back(say("CUDA {} is newer than the CUDA {} the driver supports", c.cuda,
                                   m_host.cuda_driver));
    } else {
      k.driver = DriverKind::full;
    }
  }
  // every GPU needs machine code
  for (const HostGpu& g : m_gpus) {
    GpuCheck gc = check_arch(c, g, k.driver == DriverKind::minor_compat);
    if (gc.kind == ArchKind::none) {
      k.arch_failed = true;
      std::string has = !explain || c.archs.empty() ? "" : fmt::format(" (it has {})", c.archs.str());
      std::string toolkit;
      if (explain && c.cuda_row != nullptr && !c.cuda_row->sm_max.empty()) {
        const auto [mx, mn] = sm_of(c.cuda_row->sm_max);
        if (std::pair(mx, mn) < std::pair(g.cc_major, g.cc_minor) && mx < g.cc_major) {
          toolkit = fmt::format("; CUDA {} cannot target {}", c.cuda, g.sm());
        }
      }
      k.host.push_back(say("{} has no kernels for {} ({}){}{}", explain ? c.label() : "", g.sm(), g.name,
                                   has, toolkit));
    }
    k.gpus.push_back(gc);
  }
  return k;
}

bool Resolver::better(const Candidate& a, const Check& ka, const Candidate& b, const Check& kb) {
  if (int cv = spec::compare(a.version, b.version); cv != 0) {
    return cv > 0;
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

// ---- the plan ----

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
  const std::string table = c.table_source();

  // version
  std::vector<const Rule*> vrules;
  for (const Rule& r : m_rules) {
    if (r.kind == Rule::version_kind || r.kind == Rule::sibling_kind) {
      vrules.push_back(&r);
    }
  }
  Reason vr;
  const char* pkg = fw_package(c.fw);
  if (vrules.empty()) {
    vr.message = fmt::format("{} {}: the project names no version; the newest that {}", pkg,
                             c.version_text, runnable ? "runs here" : "fits");
  } else {
    std::vector<std::string> texts;
    for (const Rule* r : vrules) {
      texts.push_back(fmt::format("{} ({})", r->text, r->source));
      vr.evidence.push_back(r->source);
    }
    bool exact = false;
    for (const Rule* r : vrules) {
      for (const spec::Specifier& s : r->set.items) {
        exact = exact || (s.op == spec::Op::equal && !s.wildcard);
      }
    }
    vr.message = exact ? fmt::format("{} {}: pinned by {}", pkg, c.version_text, fmt::join(texts, ", "))
                       : fmt::format("{} {}: the newest allowed by {} that {}", pkg, c.version_text,
                                     fmt::join(texts, ", "), runnable ? "runs here" : "fits");
  }
  plan.reasons.push_back(vr);

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
    cr.message = fmt::format("CUDA {}: the best build of {} {} for this host", c.cuda, pkg,
                             c.version_text);
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
    plan.reasons.push_back(Reason{
        fmt::format("driver unknown: CUDA {} needs driver >= {}", c.cuda,
                    c.cuda_row->min_driver.empty() ? std::string("(unknown)")
                                                   : c.cuda_row->min_driver.value),
        {},
        c.cuda_row->min_driver.unverified});
  }
  if (k.driver_unverified) {
    plan.warnings.push_back(
        {"unverified", fmt::format("the driver minimum for CUDA {} is unverified in cuda.csv", c.cuda)});
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
        gr.message = fmt::format("{} ({}): {} carries {} machine code", g.name, g.sm(), c.label(),
                                 gc.via);
        break;
      case ArchKind::ptx:
        gr.message = fmt::format("{} ({}): {} has no {} machine code; the driver JIT-compiles its "
                                 "{} PTX (slow first start)",
                                 g.name, g.sm(), c.label(), g.sm(), gc.via);
        plan.warnings.push_back(
            {"ptx_jit", fmt::format("{} runs {} through PTX JIT from {}: the first start compiles "
                                    "kernels for minutes",
                                    g.name, c.label(), gc.via)});
        break;
      case ArchKind::assumed:
        gr.message = fmt::format("{} ({}): {}'s GPU architectures are not tabulated; {}", g.name,
                                 g.sm(), c.label(), gc.via);
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
        {"no_gpu", fmt::format("no NVIDIA GPU {}; the CUDA image still runs, on the CPU",
                               m_host.note.empty() ? std::string("on this host") : m_host.note)});
  }

  // Python
  Reason pr;
  std::vector<std::string> ptexts;
  for (const Rule& r : m_rules) {
    if (r.kind == Rule::python_kind) {
      ptexts.push_back(fmt::format("{} ({})", r.text, r.source));
      pr.evidence.push_back(r.source);
    }
  }
  pr.message = ptexts.empty()
                   ? fmt::format("Python {}: the newest {} {} supports ({}-{})", k.python, pkg,
                                 c.version_text, c.python_min.value, c.python_max.value)
                   : fmt::format("Python {}: allowed by {}; {} {} supports {}-{}", k.python,
                                 fmt::join(ptexts, ", "), pkg, c.version_text, c.python_min.value,
                                 c.python_max.value);
  pr.unverified = c.python_min.unverified || c.python_max.unverified;
  plan.reasons.push_back(pr);

  // image
  Reason ir;
  std::string devel_why;
  const bool devel = devel_needed(&devel_why);
  if (c.official) {
    ir.message = fmt::format("image {}: the official image of {}", c.image, c.label());
  } else if (c.fw == Fw::torch) {
    ir.message = fmt::format("image {}: no official pytorch/pytorch image of {}; torch comes from {}",
                             c.image, c.label(), c.pip_index);
  } else {
    ir.message = fmt::format("image {}: CUDA {} from NVIDIA; {} is installed with pip", c.image,
                             c.cuda, pkg);
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
        {"unverified", fmt::format("the cuDNN version of {} ({}) is unverified", c.label(), c.cudnn.value)});
  }
  if (c.fw == Fw::tensorflow && c.version < ver("1.15")) {
    for (const spec::Requirement& r : m_spec.requirements) {
      if (r.name == "tensorflow" && r.origin != "dockerfile-from") {
        plan.warnings.push_back(
            {"tf_cpu_package",
             fmt::format("{}{} ({}): before 1.15 the tensorflow package is CPU-only; the GPU "
                         "build is tensorflow-gpu",
                         r.written_name, r.specifier, r.where.str())});
        break;
      }
    }
  }
}

void Resolver::fill_packages(Plan& plan, Fw* fw, bool official) const {
  spec::MarkerEnv env;
  if (!plan.python.empty()) {
    env.python_version = plan.python;
  }
  static const std::set<std::string, std::less<>> k_meta = {
      "python", "cudatoolkit", "cuda-toolkit", "pytorch-cuda", "cuda-version", "cudnn", "pip",
      "cuda-runtime", "cuda", "cuda-nvcc"};
  std::set<std::string> seen;
  for (const spec::Requirement& r : m_spec.requirements) {
    if (r.constraint_only || r.optional || k_meta.count(r.name) != 0 ||
        r.origin == "dockerfile-from") {
      continue;
    }
    if (!r.marker.empty()) {
      auto m = spec::evaluate_marker(r.marker, env);
      if (m && *m == spec::Tristate::no) {
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

void Resolver::explain_failure(Plan& plan, const std::vector<Candidate>& cands,
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
    plan.reasons.push_back(Reason{"no build satisfies all of the project's constraints", {}, false});
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
  // nearest alternatives that run here
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
    for (std::size_t i : host_ok) {  // best first
      const Version& v = cands[i].version;
      if (hi < v && (!up || v < cands[*up].version)) {
        up = i;
      }
      if (v < lo && (!down || cands[*down].version < v)) {
        down = i;
      }
    }
    if (up) {
      add_alt(*up, failed_sm.empty() ? "the closest newer release that runs here"
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

Plan Resolver::run() {
  Plan plan;
  plan.host = m_host;
  for (const spec::Diagnostic& d : m_spec.diagnostics) {
    plan.warnings.push_back({d.code, fmt::format("{}: {}", d.where.str(), d.message), true});
  }
  for (const spec::Requirement& r : m_spec.requirements) {
    Evidence e;
    e.kind = r.constraint_only ? "constraint" : "requirement";
    e.text = r.url.empty() ? r.written_name + r.specifier : r.written_name + " @ " + r.url;
    if (!r.marker.empty()) {
      e.text += "; " + r.marker;
    }
    e.source = r.where.str();
    e.confidence = confidence_name(r.confidence);
    plan.evidence.push_back(std::move(e));
  }
  for (const spec::Fact& f : m_spec.facts) {
    static constexpr const char* k_kinds[] = {"python", "cuda", "base_image", "index_url", "imports"};
    Evidence e;
    e.kind = k_kinds[static_cast<int>(f.kind)];
    e.text = f.detail.empty() ? f.value : f.detail;
    e.source = f.where.str();
    e.confidence = confidence_name(f.confidence);
    plan.evidence.push_back(std::move(e));
  }

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
    std::string python;
    for (const std::string& p : python_minors()) {
      bool ok = ver("3.8") < ver(p) || p == "3.8";
      ok = ok && ver(p) < ver("3.13");
      for (const Rule& r : m_rules) {
        if (r.kind == Rule::python_kind && !python_satisfies(r.set, p)) {
          ok = false;
        }
      }
      if (ok) {
        python = p;
      }
    }
    if (python.empty()) {
      python = "3.12";
    }
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
      if (checks[i].project_ok() && (!pick || better(cands[i], checks[i], cands[*pick], checks[*pick]))) {
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

}  // namespace

std::string HostGpu::sm() const { return fmt::format("sm_{}{}", cc_major, cc_minor); }
std::string HostGpu::cc() const { return fmt::format("{}.{}", cc_major, cc_minor); }

core::Result<Host> make_host(const core::Result<gpu::GpuInfo>& probed,
                             const std::vector<std::string>& gpu_override,
                             const std::string& driver_override, const Tables& tables) {
  Host host;
  if (probed) {
    host.source = probed->source;
    host.driver = probed->driver_version;
    host.cuda_driver = probed->cuda_version();
    for (const gpu::Gpu& g : probed->gpus) {
      host.gpus.push_back(HostGpu{g.name, g.cc_major, g.cc_minor});
    }
    if (host.gpus.empty()) {
      host.note = "found by the driver";
    }
  } else {
    host.source = "none";
    host.note = fmt::format("found ({})", probed.error().message);
  }
  if (!gpu_override.empty()) {
    host.gpus.clear();
    host.source = "--gpu";
    host.note.clear();
    for (const std::string& item : gpu_override) {
      for (const std::string& raw : util::split(item, ',')) {
        const std::string g(util::trim(raw));
        if (g.empty()) {
          continue;
        }
        // "9.0", "sm_90", "90"
        std::string digits = g.rfind("sm_", 0) == 0 ? g.substr(3) : g;
        int major = -1;
        int minor = -1;
        if (const std::size_t dot = digits.find('.'); dot != std::string::npos) {
          const std::string a = digits.substr(0, dot);
          const std::string b = digits.substr(dot + 1);
          if (!a.empty() && !b.empty() && a.size() <= 2 && b.size() == 1 &&
              std::all_of(a.begin(), a.end(), ::isdigit) && std::isdigit(b[0]) != 0) {
            major = std::stoi(a);
            minor = b[0] - '0';
          }
        } else if (digits.size() >= 2 && digits.size() <= 3 &&
                   std::all_of(digits.begin(), digits.end(), ::isdigit)) {
          major = std::stoi(digits.substr(0, digits.size() - 1));
          minor = digits.back() - '0';
        }
        if (major >= 0) {
          host.gpus.push_back(HostGpu{fmt::format("compute capability {}.{}", major, minor), major, minor});
          continue;
        }
        const GpuRow* row = tables.find_gpu(g);
        if (row == nullptr) {
          return core::fail(core::ErrorKind::usage, fmt::format("unknown GPU '{}'", g),
                            "give a compute capability instead, e.g. --gpu 8.6 or --gpu sm_90");
        }
        host.gpus.push_back(HostGpu{row->name, row->cc_major, row->cc_minor});
      }
    }
  }
  if (!driver_override.empty()) {
    auto v = spec::parse_version(driver_override);
    if (!v || !v->local.empty() || v->is_prerelease() || v->release.size() < 2) {
      return core::fail(core::ErrorKind::usage,
                        fmt::format("invalid driver version '{}'", driver_override),
                        "give it as nvidia-smi prints it, e.g. --driver 535.104.05");
    }
    host.driver = driver_override;
    host.cuda_driver.clear();
  }
  return host;
}

Plan resolve(const spec::Spec& spec, const Host& host, const Overrides& overrides,
             const Tables& tables) {
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

}  // namespace furnace::resolve
