// The candidates stage: every build the tables know for a framework, each with the image it runs
// in, the Python that image ships (images.csv, or the Ubuntu release of an nvidia/cuda image) and
// its release date (releases.csv, for the project's era).

#include "internal.hpp"

#include <algorithm>
#include <set>

namespace furnace::resolve::detail {

std::string runtime_flavour(std::string tag, bool devel) {
  const std::string from = devel ? "-runtime" : "-devel";
  const std::string to = devel ? "-devel" : "-runtime";
  if (const std::size_t at = tag.find(from); at != std::string::npos) {
    tag.replace(at, from.size(), to);
  }
  return tag;
}

namespace {

constexpr const char* k_pypi = "https://pypi.org/simple";

// nvidia/cuda:<tag> for a CUDA version, from cuda.csv's example tag.
std::string cuda_image(const CudaRow* row, const std::string& cuda, bool devel, bool* unverified) {
  const std::string example = row != nullptr ? row->image_example.value : "";
  *unverified = row == nullptr || row->image_example.unverified || example.empty();
  return "nvidia/cuda:" +
         (example.empty() ? cuda + ".0-runtime-ubuntu22.04" : runtime_flavour(example, devel));
}

void set_image_python(Candidate& c, const Tables& t, const Host& host) {
  if (auto seen = host.image_python.find(c.image); seen != host.image_python.end()) {
    const auto v = deps::parse_version(seen->second);
    if (v && v->release.size() >= 2) {
      c.image_python = Cell{fmt::format("{}.{}", v->at(0), v->at(1)), false};
      c.image_python_seen = seen->second;
      return;
    }
  }
  const std::size_t colon = c.image.rfind(':');
  if (colon == std::string::npos) {
    return;
  }
  const std::string repo = c.image.substr(0, colon);
  const std::string tag = c.image.substr(colon + 1);
  if (repo == "nvidia/cuda") {
    const std::string p = ubuntu_python(tag);
    if (!p.empty()) {
      c.image_python = Cell{p, c.image_unverified};
    }
    return;
  }
  std::string lookup = tag;
  if (const std::size_t j = lookup.find("-jupyter"); j != std::string::npos) {
    lookup.erase(j, 8);
  }
  if (const ImageRow* row = t.find_image(repo, lookup)) {
    c.image_python = row->python;
    c.image_line = row->line;
  }
}

// What every candidate of a torch.csv or tensorflow.csv row shares.
template <typename Row>
Candidate
from_row(Fw fw, const Row& r, const Version& v, const std::string& text, const Tables& t) {
  Candidate c;
  c.fw = fw;
  c.version = v;
  c.version_text = text;
  c.cuda = r.cuda;
  c.cuda_row = t.find_cuda(r.cuda);
  c.cudnn = r.cudnn;
  c.python_min = r.python_min;
  c.python_max = r.python_max;
  c.table_line = r.line;
  return c;
}

} // namespace

void Resolver::date_candidate(Candidate& c) const {
  const char* pkg = c.fw == Fw::jax ? "jax" : fw_package(c.fw);
  if (c.fw == Fw::jax && c.jax != nullptr && !c.jax->date.empty()) {
    c.release_date = c.jax->date.value;
    return;
  }
  if (const ReleaseRow* r = m_t.find_release(pkg, c.version)) {
    c.release_date = r->date.value;
  } else if (c.fw == Fw::tensorflow) {
    if (const ReleaseRow* g = m_t.find_release("tensorflow-gpu", c.version)) {
      c.release_date = g->date.value;
    }
  }
}

void Resolver::torch_candidates(bool devel, std::vector<Candidate>& out) const {
  for (const TorchRow& r : m_t.torch) {
    if (r.cuda == "cpu") {
      continue;
    }
    Candidate c = from_row(Fw::torch, r, r.version, r.version_text, m_t);
    c.torch = &r;
    date_candidate(c);
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
      Candidate o = c;
      o.image = "pytorch/pytorch:" + tag->value;
      o.official = true;
      o.image_unverified = tag->unverified;
      o.archs = r.docker_sm_archs.empty() ? r.sm_archs : r.docker_sm_archs;
      set_image_python(o, m_t, m_host);
      out.push_back(std::move(o));
    }
    // the wheel on NVIDIA's CUDA image: for the releases without an official image, and for a
    // Python the official image does not ship
    if (!r.pip_index.empty()) {
      c.image = cuda_image(c.cuda_row, r.cuda, devel, &c.image_unverified);
      c.pip_index = "https://download.pytorch.org/whl/" + r.pip_index;
      c.archs = r.sm_archs;
      set_image_python(c, m_t, m_host);
      out.push_back(std::move(c));
    }
  }
}

void Resolver::tf_candidates(std::vector<Candidate>& out) const {
  std::set<std::string> in_table;
  for (const TfRow& r : m_t.tensorflow) {
    in_table.insert(r.version.str());
  }
  for (const TfRow& r : m_t.tensorflow) {
    std::vector<std::pair<Version, std::string>> versions = {{r.version, r.version_text}};
    // an exact pin of a patch release the table lacks reuses its minor's row
    for (const Version& p : m_pinned_tf) {
      if (p.at(0) == r.version.at(0) && p.at(1) == r.version.at(1) && !(p == r.version) &&
          in_table.count(p.str()) == 0 && r.version.release.size() >= 3 && r.version.at(2) == 0) {
        versions.emplace_back(p, p.str());
      }
    }
    for (const auto& [v, text] : versions) {
      Candidate c = from_row(Fw::tensorflow, r, v, text, m_t);
      c.tf = &r;
      c.archs = r.cuda_archs;
      date_candidate(c);
      for (const Cell& t : r.docker_tags) {
        if (t.value.find("-jupyter") != std::string::npos && r.docker_tags.size() > 1) {
          continue;
        }
        std::string value = t.value;
        if (text != r.version_text && value.rfind(r.version_text, 0) == 0) {
          value = text + value.substr(r.version_text.size());
        }
        Candidate o = c;
        o.image = "tensorflow/tensorflow:" + value;
        o.official = true;
        o.image_unverified = t.unverified || text != r.version_text;
        set_image_python(o, m_t, m_host);
        out.push_back(std::move(o));
      }
      // NVIDIA's CUDA image and the wheel from PyPI: for the releases without an official image,
      // and for a Python the official images do not ship
      c.image = cuda_image(c.cuda_row, r.cuda, false, &c.image_unverified);
      c.pip_index = k_pypi;
      set_image_python(c, m_t, m_host);
      out.push_back(std::move(c));
    }
  }
}

void Resolver::jax_candidates(bool devel, std::vector<Candidate>& out) const {
  // jax.csv has one row per jaxlib release and CUDA variant; jax itself is released more often.
  // A jax release runs on the newest jaxlib out by its date (releases.csv), in each variant.
  std::vector<const JaxRow*> libs;
  for (const JaxRow& r : m_t.jax) {
    if (!r.cuda.empty() && !r.date.empty()) {
      libs.push_back(&r);
    }
  }
  std::stable_sort(libs.begin(), libs.end(), [](const JaxRow* a, const JaxRow* b) {
    return a->date.value < b->date.value;
  });
  // jax releases: the table's, and exact pins it lacks (dated like the release before them)
  std::vector<ReleaseRow> releases;
  for (const ReleaseRow& rel : m_t.releases) {
    if (rel.package == "jax" && !rel.version.is_prerelease()) {
      releases.push_back(rel);
    }
  }
  for (const Rule& r : m_rules) {
    for (const deps::Specifier& s : r.set.items) {
      // "==0.3.16" and conda's "==0.3.16.*"
      if (r.kind != Rule::version_kind || s.op != deps::Op::equal ||
          (s.wildcard && s.version.release.size() < 3)) {
        continue;
      }
      const Version& v = s.version;
      const ReleaseRow* known = m_t.find_release("jax", v);
      if (known != nullptr && known->version == v) {
        continue;
      }
      const ReleaseRow* before = nullptr;
      for (const ReleaseRow& rel : releases) {
        if (rel.version < v && (before == nullptr || before->version < rel.version)) {
          before = &rel;
        }
      }
      if (before != nullptr) {
        ReleaseRow pinned = *before;
        pinned.version = v;
        pinned.version_text = v.str();
        pinned.date.unverified = true;
        releases.push_back(std::move(pinned));
      }
    }
  }
  for (const ReleaseRow& rel : releases) {
    // the newest jaxlib release on or before this jax release
    const JaxRow* newest = nullptr;
    for (const JaxRow* r : libs) {
      if (r->date.value <= rel.date.value) {
        newest = r;
      }
    }
    if (newest == nullptr) {
      continue;
    }
    for (const JaxRow* r : libs) {
      if (!(r->jaxlib == newest->jaxlib)) {
        continue;
      }
      Candidate c;
      c.fw = Fw::jax;
      c.version = rel.version;
      c.version_text = rel.version_text;
      // "12" (any 12.x) runs on the newest toolkit of that major the table has
      std::string cuda = r->cuda;
      if (cuda.find('.') == std::string::npos) {
        for (const CudaRow& row : m_t.cuda) {
          if (row.cuda.rfind(cuda + ".", 0) == 0 && !row.image_example.empty()) {
            cuda = row.cuda;
          }
        }
      }
      c.cuda = cuda;
      c.cuda_row = m_t.find_cuda(cuda);
      c.jax = r;
      c.cudnn = r->cudnn;
      c.python_min = r->python_min;
      c.python_max = r->python_max;
      c.table_line = r->line;
      c.image = cuda_image(c.cuda_row, cuda, devel, &c.image_unverified);
      c.pip_index = r->pip_index.rfind("http", 0) == 0 ? r->pip_index : k_pypi;
      c.release_date = rel.date.value;
      set_image_python(c, m_t, m_host);
      out.push_back(std::move(c));
    }
  }
}

std::vector<Candidate> Resolver::candidates(Fw fw) const {
  std::vector<Candidate> out;
  std::string devel_why;
  const bool devel = devel_needed(&devel_why);
  if (fw == Fw::torch) {
    torch_candidates(devel, out);
  } else if (fw == Fw::tensorflow) {
    tf_candidates(out);
  } else {
    jax_candidates(devel, out);
  }
  return out;
}

bool Resolver::devel_needed(std::string* why) const {
  for (const deps::Requirement& r : m_spec.requirements) {
    if (!r.constraint_only && compiles_cuda(r.name)) {
      *why = fmt::format("{} ({}) compiles CUDA code", r.written_name, r.where.str());
      return true;
    }
  }
  for (const deps::Fact& f : m_spec.facts) {
    if (f.kind == deps::FactKind::base_image && f.value.find("devel") != std::string::npos) {
      *why = fmt::format("the project's Dockerfile uses a devel image ({})", f.where.str());
      return true;
    }
  }
  return false;
}

} // namespace furnace::resolve::detail
