#pragma once
// The resolver's stages, shared by its source files (not part of the area's interface):
//   evidence.cpp     which framework, and when the project was written (its era)
//   constraints.cpp  the project's evidence as rules: hard (dependency files) or soft (prose, code)
//   candidates.cpp   the builds the tables know, each with its image and that image's Python
//   choice.cpp       checking a candidate against the rules and the host; ranking candidates
//   explain.cpp      the plan's reasons, warnings, packages and alternatives
//   resolver.cpp     the pipeline that runs them, and the Host value
// Each stage reads values and returns values; only `Resolver` ties them to one project.

#include <furnace/resolve/compat_rules.hpp>
#include <furnace/resolve/resolver.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

namespace furnace::resolve::detail {

using deps::Confidence;
using deps::Version;

enum class Fw { torch, tensorflow, jax };

const char* fw_name(Fw f);
const char* fw_package(Fw f);
const char* confidence_name(Confidence c);
Version ver(std::string_view s);
bool is_tf_package(const std::string& n);
// Packages that imply a framework without naming it (torchvision, keras, flax, …).
std::optional<Fw> implied_framework(const std::string& n);
std::optional<Fw> direct_framework(const std::string& n);
// Packages whose install compiles CUDA code: they need a -devel image (nvcc, headers).
bool compiles_cuda(const std::string& n);
const std::vector<std::string>& python_minors();
const std::vector<Version>& python_minor_versions();
bool python_satisfies(const deps::SpecifierSet& set, const std::string& minor);
// Whether a build for CUDA `have` ("11.8") is what `want` asks for ("11.8", "11", "11.8.0").
bool cuda_matches(const std::string& have, const std::string& want);
// "10.1-cudnn7-devel-ubuntu18.04" <-> "-runtime"
std::string runtime_flavour(std::string tag, bool devel);
// The Python 3 an Ubuntu release ships ("ubuntu18.04" in an image tag -> "3.6"); "" unknown.
std::string ubuntu_python(std::string_view image_tag);

struct Rule {
  enum Kind { version_kind, sibling_kind, cuda_kind, python_kind } kind = version_kind;
  std::string text;   // "torch==1.4.0"
  std::string source; // "requirements.txt:3"
  Confidence confidence = Confidence::high;
  deps::SpecifierSet set; // version / sibling / python
  std::string sibling;    // "torchvision", "torchaudio", "jaxlib"
  std::string cuda;       // "10.1" or "11" (major only)
  // Hard rules (dependency files, overrides) rule a candidate out; soft ones (README prose,
  // install lines in READMEs, API calls in the code, deep or peripheral files, Dockerfile RUN
  // lines) only add `weight` to the candidates that satisfy them.
  bool hard = true;
  int weight = 0;
  std::string exact; // sibling: the exact version written ("0.9.1"), for a patch mismatch
};

// When the project was written, and how that was found.
struct Era {
  std::string date;   // "2019-07-01"; "" when unknown or ignored (--latest)
  std::string source; // "git", "readme", "pins", "--as-of"
  std::string detail; // "the git HEAD commit 2021-03-02; README.md:3 (arXiv id) 2019-04-01"
  std::vector<std::string> evidence; // file:line of what dated it
};

struct Candidate {
  Fw fw = Fw::torch;
  Version version;
  std::string version_text;
  std::string cuda;
  const CudaRow* cuda_row = nullptr;
  const TorchRow* torch = nullptr;
  const TfRow* tf = nullptr;
  const JaxRow* jax = nullptr;
  std::string image;
  bool official = false;
  bool image_unverified = false;
  std::string pip_index;
  ArchList archs;
  Cell cudnn;
  Cell python_min;
  Cell python_max;
  Cell image_python;             // the Python the image ships; empty: chosen from the range
  std::string image_python_seen; // "3.10.8" when a probe here saw it (Host::image_python)
  std::string release_date;      // "2019-05-01", "" unknown
  int table_line = 0;
  int image_line = 0; // images.csv

  std::string label() const;
  std::string table_source() const;
};

// One GPU against a candidate: the arch rule's verdict (compat_rules.hpp).
using GpuCheck = ArchVerdict;

struct Check {
  std::vector<std::string> project; // why the project's hard constraints rule it out
  std::vector<std::string> host;    // why this host cannot run it
  bool arch_failed = false;
  DriverKind driver = DriverKind::unknown;
  std::string driver_detail;
  bool driver_unverified = false;
  std::vector<GpuCheck> gpus;
  std::string python;            // chosen Python
  std::string python_source;     // "image", "project", "table"
  bool python_installed = false; // not the image's own Python: the build must install it
  std::vector<std::string> python_allowed;
  int score = 0;      // the weight of the soft version and Python rules it satisfies
  int cuda_score = 0; // the weight of the soft CUDA rules it satisfies
  int era_rank = 1;   // 2: released by the era's date, 1: undated or no era, 0: after it

  bool project_ok() const { return project.empty(); }
  bool host_ok() const { return host.empty(); }
};

// ---- evidence ----

// Estimates when the project was written: the git HEAD date, the paper's date in the README
// (arXiv id, venue year), and the newest release among its exact pins as a lower bound.
Era estimate_era(const deps::Spec& spec, const Overrides& overrides, const Tables& tables);

class Resolver {
public:
  Resolver(const deps::Spec& s,
           const Host& h,
           const Overrides& o,
           const Tables& t,
           std::optional<std::string> marker_python = std::nullopt);

  Plan run();
  // Whether a framework requirement's marker depends on the (unknown) Python version.
  bool markers_depend_on_python() const;

private:
  std::optional<Fw> choose_framework(Plan& plan);
  void build_rules(Fw fw, Plan& plan);
  void
  add_requirement_rules(Fw fw, const deps::Requirement& r, std::vector<Rule>& rules, Plan& plan);
  void add_fact_rules(Fw fw, std::vector<Rule>& rules, Plan& plan) const;
  void add_override_rules(std::vector<Rule>& rules);
  std::vector<Candidate> candidates(Fw fw) const;
  void torch_candidates(bool devel, std::vector<Candidate>& out) const;
  void tf_candidates(std::vector<Candidate>& out) const;
  void jax_candidates(bool devel, std::vector<Candidate>& out) const;
  void date_candidate(Candidate& c) const;
  // Checks a candidate; the messages are only written out when `explain` (the failure path).
  Check evaluate(const Candidate& c, bool explain) const;
  void check_project(const Candidate& c, bool explain, Check& k) const;
  void check_python(const Candidate& c, bool explain, Check& k) const;
  void index_python_rules();
  void check_driver(const Candidate& c, bool explain, Check& k) const;
  void fill(Plan& plan, const Candidate& c, const Check& k, bool runnable) const;
  void fill_version_reasons(Plan& plan, const Candidate& c, bool runnable) const;
  void fill_host_reasons(Plan& plan, const Candidate& c, const Check& k) const;
  void fill_image_reasons(Plan& plan, const Candidate& c, const Check& k) const;
  void explain_failure(Plan& plan,
                       const std::vector<Candidate>& cands,
                       const std::vector<Check>& checks) const;
  void failure_alternatives(Plan& plan,
                            const std::vector<Candidate>& cands,
                            const std::vector<Check>& checks,
                            const std::vector<std::size_t>& project_ok,
                            const std::vector<std::size_t>& host_ok,
                            const std::string& failed_sm) const;
  void soft_alternatives(Plan& plan,
                         const std::vector<Candidate>& cands,
                         const std::vector<Check>& checks,
                         std::size_t best) const;
  void fill_packages(Plan& plan, Fw* fw, bool official) const;
  bool devel_needed(std::string* why) const;
  bool better(const Candidate& a, const Check& ka, const Candidate& b, const Check& kb) const;

  const deps::Spec& m_spec;
  const Host& m_host;
  const Overrides& m_ov;
  const Tables& m_t;
  std::vector<Rule> m_rules;
  std::vector<Version> m_pinned_tf; // exact TF pins, to offer patch releases the table omits
  std::optional<std::string> m_marker_python; // evaluate markers for this Python ("3.10")
  std::vector<HostGpu> m_gpus;                // the host's GPUs, one per compute capability
  Era m_era;
  std::vector<char> m_py_hard; // per python_minors(): allowed by every hard Python rule
  std::vector<int> m_py_soft;  // per python_minors(): the weight of the soft ones it meets
};

} // namespace furnace::resolve::detail
