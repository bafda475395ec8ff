// The evidence stage: which framework the project uses, and when it was written.

#include "internal.hpp"

#include <algorithm>
#include <array>
#include <set>

namespace furnace::resolve::detail {

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
  auto v = deps::parse_version(s);
  return v ? *v : Version{};
}

bool is_tf_package(const std::string& n) {
  return n == "tensorflow" || n == "tensorflow-gpu" || n == "tensorflow-cpu" || n == "tf-nightly" ||
         n == "tf-nightly-gpu" || n == "tensorflow-intel" || n == "intel-tensorflow";
}

// Packages that imply a framework without naming it.
std::optional<Fw> implied_framework(const std::string& n) {
  static const std::set<std::string, std::less<>> k_torch = {"torchvision",
                                                             "torchaudio",
                                                             "torchtext",
                                                             "pytorch-lightning",
                                                             "lightning",
                                                             "mmcv",
                                                             "mmcv-full",
                                                             "mmdet",
                                                             "mmengine",
                                                             "mmsegmentation",
                                                             "detectron2",
                                                             "timm",
                                                             "torch-geometric",
                                                             "torch-scatter",
                                                             "torch-sparse",
                                                             "fairseq",
                                                             "pytorch3d",
                                                             "torchmetrics",
                                                             "kornia",
                                                             "pytorch-cuda",
                                                             "apex",
                                                             "accelerate",
                                                             "deepspeed",
                                                             "xformers",
                                                             "flash-attn",
                                                             "torchdata",
                                                             "segmentation-models-pytorch",
                                                             "ultralytics"};
  static const std::set<std::string, std::less<>> k_tf = {"keras",
                                                          "tf-keras",
                                                          "tensorflow-addons",
                                                          "tensorflow-probability",
                                                          "tensorflow-hub",
                                                          "tensorflow-text",
                                                          "tflearn",
                                                          "tensorpack"};
  static const std::set<std::string, std::less<>> k_jax = {
      "flax", "optax", "dm-haiku", "chex", "trax", "equinox"};
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
  static const std::set<std::string, std::less<>> k = {"mmcv-full",
                                                       "apex",
                                                       "detectron2",
                                                       "flash-attn",
                                                       "pytorch3d",
                                                       "causal-conv1d",
                                                       "mamba-ssm",
                                                       "spconv",
                                                       "nvdiffrast",
                                                       "tinycudann",
                                                       "tiny-cuda-nn",
                                                       "torch-points-kernels",
                                                       "pointnet2-ops",
                                                       "deepspeed",
                                                       "warp-rnnt",
                                                       "kaolin"};
  return k.count(n) != 0;
}

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
      out.push_back(*deps::parse_version(p));
    }
    return out;
  }();
  return k;
}

bool python_satisfies(const deps::SpecifierSet& set, const std::string& minor) {
  return set.contains(ver(minor)) || set.contains(ver(minor + ".99"));
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

std::string Candidate::label() const {
  switch (fw) {
  case Fw::torch: {
    const std::vector<std::string> parts = util::split(cuda, '.');
    return fmt::format("torch {}+cu{}{}", version_text, parts[0], parts.size() > 1 ? parts[1] : "");
  }
  case Fw::tensorflow:
    return fmt::format("tensorflow {} (CUDA {})", version_text, cuda);
  case Fw::jax:
    return fmt::format("jax{} on CUDA {}", version_text.empty() ? "" : " " + version_text, cuda);
  }
  return "";
}

std::string Candidate::table_source() const {
  if (table_line == 0) {
    return "";
  }
  const char* table = "cuda";
  if (torch != nullptr) {
    table = "torch";
  } else if (tf != nullptr) {
    table = "tensorflow";
  } else if (jax != nullptr) {
    table = "jax";
  }
  return fmt::format("{}.csv:{}", table, table_line);
}

std::string ubuntu_python(std::string_view tag) {
  struct Row {
    std::string_view ubuntu;
    std::string_view python;
  };
  // Ubuntu's python3 package per release (packages.ubuntu.com).
  static constexpr std::array<Row, 5> k{{{"ubuntu16.04", "3.5"},
                                         {"ubuntu18.04", "3.6"},
                                         {"ubuntu20.04", "3.8"},
                                         {"ubuntu22.04", "3.10"},
                                         {"ubuntu24.04", "3.12"}}};
  for (const Row& r : k) {
    if (tag.find(r.ubuntu) != std::string_view::npos) {
      return std::string(r.python);
    }
  }
  return "";
}

namespace {

// "2019-04-01" plus `months`, clamped to the first of the month.
std::string add_months(const std::string& date, int months) {
  int y = std::stoi(date.substr(0, 4));
  int m = std::stoi(date.substr(5, 2)) + months;
  while (m > 12) {
    m -= 12;
    ++y;
  }
  return fmt::format("{:04}-{:02}-{}", y, m, date.substr(8, 2));
}

bool is_date(const std::string& s) {
  return s.size() == 10 && s[4] == '-' && s[7] == '-' &&
         std::all_of(s.begin(), s.end(), [](char c) { return c == '-' || (c >= '0' && c <= '9'); });
}

} // namespace

Era estimate_era(const deps::Spec& spec, const Overrides& overrides, const Tables& tables) {
  Era era;
  if (overrides.latest) {
    return era;
  }
  if (!overrides.as_of.empty()) {
    era.date = overrides.as_of;
    era.source = "--as-of";
    era.detail = fmt::format("--as-of {}", overrides.as_of);
    return era;
  }
  const deps::Fact* git = nullptr;
  const deps::Fact* paper = nullptr;
  for (const deps::Fact& f : spec.facts) {
    if (f.kind != deps::FactKind::date || !is_date(f.value)) {
      continue;
    }
    if (f.where.file == ".git") {
      git = &f;
    } else if (paper == nullptr || paper->value < f.value) {
      paper = &f; // the later of the README's first arXiv id and first venue year
    }
  }
  // The newest release among the exact pins: the project cannot be older.
  std::string floor;
  std::string floor_what;
  std::string floor_where;
  for (const deps::Requirement& r : spec.requirements) {
    for (const deps::Specifier& s : r.specifiers.items) {
      // "==1.16.2", "==1.1.*" (README "PyTorch 1.1"), ">=2.3.0", "~=1.7": the project needs
      // that release, so it is not older
      const bool floor_op = s.op == deps::Op::equal || s.op == deps::Op::greater_equal ||
                            s.op == deps::Op::compatible;
      if (!floor_op || r.confidence == Confidence::low || r.constraint_only) {
        continue;
      }
      const ReleaseRow* row = tables.find_release(r.name, s.version.public_version());
      if (row != nullptr && floor < row->date.value) {
        floor = row->date.value;
        floor_what =
            fmt::format("{}=={} (released {})", r.written_name, s.version.str(), row->date.value);
        floor_where = r.where.str();
      }
    }
  }
  std::vector<std::string> said;
  if (paper != nullptr) {
    // code follows the paper by a few months; a later HEAD commit does not make it newer
    era.date = add_months(paper->value, 9);
    era.source = "readme";
    said.push_back(fmt::format("{} ({}) {}", paper->detail, paper->where.str(), paper->value));
    era.evidence.push_back(paper->where.str());
    if (git != nullptr && git->value < era.date) {
      era.date = git->value;
      era.source = "git";
    }
    if (git != nullptr) {
      said.push_back(fmt::format("the git HEAD commit {}", git->value));
    }
  } else if (git != nullptr) {
    era.date = git->value;
    era.source = "git";
    said.push_back(fmt::format("the git HEAD commit {}", git->value));
  } else if (!floor.empty()) {
    era.date = add_months(floor, 3);
    era.source = "pins";
  }
  if (!floor.empty()) {
    said.push_back(fmt::format("{} ({})", floor_what, floor_where));
    era.evidence.push_back(floor_where);
    if (era.date < floor) {
      era.date = floor;
      era.source = "pins";
    }
  }
  era.detail = fmt::format("{}", fmt::join(said, "; "));
  return era;
}

bool Resolver::markers_depend_on_python() const {
  const deps::MarkerEnv env;
  for (const deps::Requirement& r : m_spec.requirements) {
    if (!r.marker.empty() && (direct_framework(r.name) || r.name == "torchvision")) {
      auto m = deps::evaluate_marker(r.marker, env);
      if (m && *m == deps::Tristate::unknown) {
        return true;
      }
    }
  }
  return false;
}

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
  // Dependency pins weigh most, but a JAX or PyTorch project often pins tensorflow too (for
  // tf.data or TensorBoard): the code's imports, counted per file, and API calls weigh as much,
  // implying packages (torchvision, flax) are capped, and tensorflow-cpu is never the framework.
  std::array<int, 3> imports{0, 0, 0};
  std::array<int, 3> implied{0, 0, 0};
  for (const deps::Requirement& r : m_spec.requirements) {
    if (r.constraint_only) {
      continue;
    }
    const int weight = r.confidence == Confidence::low ? 1 : (r.optional ? 2 : 3);
    const std::string text = fmt::format("{}{} ({})", r.written_name, r.specifier, r.where.str());
    if (r.origin == "dockerfile-from") {
      if (auto f = direct_framework(r.name)) {
        add(*f, r.confidence == Confidence::high ? 100 : 40, text);
      }
      continue;
    }
    if (r.name == "tensorflow-cpu" || r.name == "tensorflow-intel" ||
        r.name == "intel-tensorflow") {
      continue;
    }
    if (auto f = direct_framework(r.name)) {
      // an unpinned line says less than a pinned one
      add(*f, (r.specifier.empty() && r.url.empty() ? 7 : 10) * weight, text);
    } else if (auto g = implied_framework(r.name)) {
      const auto i = static_cast<std::size_t>(*g);
      const int points = std::min(3 * weight, 9 - implied[i]);
      implied[i] += points;
      if (points > 0) {
        add(*g, points, text);
      }
    }
  }
  for (const deps::Fact& f : m_spec.facts) {
    if (f.kind == deps::FactKind::api) {
      const std::string text = fmt::format("{} ({})", f.detail, f.where.str());
      if (f.value.rfind("tensorflow", 0) == 0) {
        add(Fw::tensorflow, 4, text);
      } else if (f.value.rfind("torch", 0) == 0) {
        add(Fw::torch, 4, text);
      } else if (f.value.rfind("jax", 0) == 0) {
        add(Fw::jax, 4, text);
      }
    }
    if (f.kind == deps::FactKind::imports) {
      const std::string text = fmt::format("import {} ({})", f.value, f.where.str());
      std::size_t i = 0;
      if (f.value == "tensorflow") {
        i = 1;
      } else if (f.value == "jax") {
        i = 2;
      }
      imports[i] += 1;
      add(static_cast<Fw>(i), imports[i] <= 10 ? 8 : 0, text);
    }
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < 3; ++i) {
    if (score[i] > score[best]) { // ties: torch, then tensorflow
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
                       fw_name(static_cast<Fw>(i)),
                       fmt::join(why[i], ", "),
                       fw_name(fw))});
    }
  }
  return fw;
}

} // namespace furnace::resolve::detail
