#include "compat.hpp"

#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

namespace furnace::resolve {

namespace {

std::vector<Cell> cell_list(std::string_view text) {
  std::vector<Cell> out;
  if (util::trim(text).empty()) {
    return out;
  }
  for (const std::string& part : util::split(text, ';')) {
    std::string_view p = util::trim(part);
    bool note = false;
    // "1.3-cuda10.1-cudnn7-runtime (tag "1.3" - which 1.3.x it holds is unverified)"
    if (const std::size_t paren = p.find(" ("); paren != std::string_view::npos) {
      p = util::trim(p.substr(0, paren));
      note = true;
    }
    if (p.empty()) {
      continue;
    }
    Cell c = make_cell(p);
    c.unverified = c.unverified || note;
    out.push_back(std::move(c));
  }
  return out;
}

int to_int(std::string_view s) {
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      break;
    }
    v = v * 10 + (c - '0');
  }
  return v;
}

// Lowercase words without the vendor words, for matching GPU names.
std::vector<std::string> name_words(std::string_view name) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty() && cur != "nvidia" && cur != "tesla" && cur != "geforce") {
      out.push_back(cur);
    }
    cur.clear();
  };
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

// "GeForce RTX 3070/3070 Ti/3080" -> {"GeForce RTX 3070", "GeForce RTX 3070 Ti", "GeForce RTX
// 3080"}
std::vector<std::string> name_alternatives(const std::string& name) {
  std::vector<std::string> out;
  const std::vector<std::string> parts = util::split(name, '/');
  const std::string& first = parts[0];
  const std::size_t last_space = first.rfind(' ');
  const std::string prefix = last_space == std::string::npos ? "" : first.substr(0, last_space + 1);
  out.push_back(first);
  for (std::size_t i = 1; i < parts.size(); ++i) {
    out.push_back(prefix + parts[i]);
  }
  // "DGX Spark (GB10)": the part in parentheses is a name too
  if (const std::size_t open = name.find('('); open != std::string::npos) {
    const std::size_t close = name.find(')', open);
    if (close != std::string::npos) {
      out.push_back(name.substr(open + 1, close - open - 1));
    }
  }
  return out;
}

} // namespace

Cell make_cell(std::string_view text) {
  Cell c;
  std::string_view t = util::trim(text);
  if (!t.empty() && t.back() == '?') {
    c.unverified = true;
    t.remove_suffix(1);
  }
  c.value = std::string(util::trim(t));
  return c;
}

std::string Arch::str() const {
  std::string s = fmt::format("{}_{}{}", ptx ? "compute" : "sm", major, minor);
  if (suffix != 0) {
    s += suffix;
  }
  return s;
}

std::string ArchList::str() const {
  std::string out;
  for (const Arch& a : items) {
    out += (out.empty() ? "" : ", ") + a.str();
  }
  return out;
}

ArchList parse_arch_list(std::string_view text) {
  ArchList list;
  for (const std::string& part : util::split(text, ';')) {
    std::string_view p = util::trim(part);
    Arch a;
    if (!p.empty() && p.back() == '?') {
      a.unverified = true;
      list.unverified = true;
      p.remove_suffix(1);
    }
    std::string_view digits;
    if (p.rfind("sm_", 0) == 0) {
      digits = p.substr(3);
    } else if (p.rfind("compute_", 0) == 0) {
      a.ptx = true;
      digits = p.substr(8);
    } else {
      continue;
    }
    if (!digits.empty() && (digits.back() == 'a' || digits.back() == 'f')) {
      a.suffix = digits.back();
      digits.remove_suffix(1);
    }
    if (digits.size() < 2 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    a.major = to_int(digits.substr(0, digits.size() - 1));
    a.minor = digits.back() - '0';
    list.items.push_back(a);
  }
  return list;
}

std::vector<std::vector<std::string>> parse_csv(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cur;
  bool quoted = false;
  bool any = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cur += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      row.push_back(std::move(cur));
      cur.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
      if (any || !cur.empty()) {
        row.push_back(std::move(cur));
        rows.push_back(std::move(row));
      }
      row.clear();
      cur.clear();
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any || !cur.empty()) {
    row.push_back(std::move(cur));
    rows.push_back(std::move(row));
  }
  return rows;
}

core::Result<Tables> parse_tables(std::string_view torch_csv,
                                  std::string_view tensorflow_csv,
                                  std::string_view cuda_csv,
                                  std::string_view gpus_csv) {
  Tables t;
  auto bad = [](const char* table, std::size_t line, const std::string& what) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{}.csv:{}: {}", table, line + 1, what));
  };
  {
    const auto rows = parse_csv(torch_csv);
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      if (r.size() != 13) {
        return bad("torch", i, fmt::format("expected 13 fields, found {}", r.size()));
      }
      TorchRow row;
      auto v = deps::parse_version(r[0]);
      if (!v) {
        return bad("torch", i, fmt::format("invalid version '{}'", r[0]));
      }
      row.version = *v;
      row.version_text = r[0];
      row.cuda = r[1];
      row.cudnn = make_cell(r[2]);
      row.python_min = make_cell(r[3]);
      row.python_max = make_cell(r[4]);
      row.torchvision = make_cell(r[5]);
      row.torchaudio = make_cell(r[6]);
      row.sm_archs = parse_arch_list(r[7]);
      row.docker_tags = cell_list(r[8]);
      row.docker_sm_archs = parse_arch_list(r[9]);
      row.pip_index = r[10];
      row.source = r[11];
      row.notes = r[12];
      row.line = static_cast<int>(i + 1);
      t.torch.push_back(std::move(row));
    }
  }
  {
    const auto rows = parse_csv(tensorflow_csv);
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      if (r.size() != 10) {
        return bad("tensorflow", i, fmt::format("expected 10 fields, found {}", r.size()));
      }
      TfRow row;
      auto v = deps::parse_version(r[0]);
      if (!v) {
        return bad("tensorflow", i, fmt::format("invalid version '{}'", r[0]));
      }
      row.version = *v;
      row.version_text = r[0];
      row.cuda = r[1];
      row.cudnn = make_cell(r[2]);
      row.python_min = make_cell(r[3]);
      row.python_max = make_cell(r[4]);
      row.docker_tags = cell_list(r[5]);
      row.pip_package = r[6];
      row.cuda_archs = parse_arch_list(r[7]);
      row.notes = r[8];
      row.source = r[9];
      row.line = static_cast<int>(i + 1);
      t.tensorflow.push_back(std::move(row));
    }
  }
  {
    const auto rows = parse_csv(cuda_csv);
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      if (r.size() != 9) {
        return bad("cuda", i, fmt::format("expected 9 fields, found {}", r.size()));
      }
      CudaRow row;
      row.cuda = r[0];
      auto v = deps::parse_version(r[0]);
      if (!v) {
        return bad("cuda", i, fmt::format("invalid version '{}'", r[0]));
      }
      row.version = *v;
      row.min_driver = make_cell(r[1]);
      row.minor_compat_driver = make_cell(r[3]);
      row.sm_min = make_cell(r[4]);
      row.sm_max = make_cell(r[5]);
      row.image_example = make_cell(r[6]);
      row.source = r[7];
      row.notes = r[8];
      row.line = static_cast<int>(i + 1);
      t.cuda.push_back(std::move(row));
    }
  }
  {
    const auto rows = parse_csv(gpus_csv);
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      if (r.size() != 6) {
        return bad("gpus", i, fmt::format("expected 6 fields, found {}", r.size()));
      }
      GpuRow row;
      row.name = r[0];
      const std::size_t dot = r[1].find('.');
      if (dot == std::string::npos) {
        return bad("gpus", i, fmt::format("invalid compute capability '{}'", r[1]));
      }
      row.cc_major = to_int(r[1].substr(0, dot));
      row.cc_minor = to_int(r[1].substr(dot + 1));
      row.architecture = r[2];
      row.segment = r[3];
      row.notes = r[4];
      row.source = r[5];
      row.line = static_cast<int>(i + 1);
      t.gpus.push_back(std::move(row));
    }
  }
  return t;
}

core::Result<Tables> parse_more_tables(Tables t,
                                       std::string_view releases_csv,
                                       std::string_view images_csv,
                                       std::string_view ngc_csv,
                                       std::string_view jax_csv) {
  auto bad = [](const char* table, std::size_t line, const std::string& what) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{}.csv:{}: {}", table, line + 1, what));
  };
  {
    const auto rows = parse_csv(releases_csv);
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      if (r.size() != 4) {
        return bad("releases", i, fmt::format("expected 4 fields, found {}", r.size()));
      }
      auto v = deps::parse_version(r[1]);
      if (!v) {
        return bad("releases", i, fmt::format("invalid version '{}'", r[1]));
      }
      ReleaseRow row{r[0], r[1], *v, make_cell(r[2]), static_cast<int>(i + 1)};
      if (row.date.value.size() != 10 || row.date.value[4] != '-' || row.date.value[7] != '-') {
        return bad("releases", i, fmt::format("invalid date '{}'", r[2]));
      }
      t.releases.push_back(std::move(row));
    }
    std::sort(t.releases.begin(), t.releases.end(), [](const ReleaseRow& a, const ReleaseRow& b) {
      return a.package != b.package ? a.package < b.package : a.version < b.version;
    });
  }
  {
    const auto rows = parse_csv(images_csv);
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      if (r.size() != 7) {
        return bad("images", i, fmt::format("expected 7 fields, found {}", r.size()));
      }
      t.images.push_back(ImageRow{
          r[0], r[1], make_cell(r[2]), r[3], make_cell(r[4]), r[5], static_cast<int>(i + 1)});
    }
  }
  {
    const auto rows = parse_csv(ngc_csv);
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      if (r.size() != 10) {
        return bad("ngc", i, fmt::format("expected 10 fields, found {}", r.size()));
      }
      t.ngc.push_back(NgcRow{r[0],
                             r[1],
                             r[2],
                             make_cell(r[3]),
                             make_cell(r[4]),
                             make_cell(r[5]),
                             make_cell(r[6]),
                             make_cell(r[7]),
                             r[9],
                             static_cast<int>(i + 1)});
    }
  }
  {
    const auto rows = parse_csv(jax_csv);
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      if (r.size() != 11) {
        return bad("jax", i, fmt::format("expected 11 fields, found {}", r.size()));
      }
      JaxRow row;
      row.jax = make_cell(r[0]);
      row.jaxlib_text = r[1];
      auto v = deps::parse_version(r[1]);
      if (!v) {
        return bad("jax", i, fmt::format("invalid jaxlib version '{}'", r[1]));
      }
      row.jaxlib = *v;
      row.date = make_cell(r[2]);
      row.cuda = r[3];
      row.cudnn = make_cell(r[4]);
      row.python_min = make_cell(r[5]);
      row.python_max = make_cell(r[6]);
      for (const std::string& e : util::split(r[7], ';')) {
        if (!util::trim(e).empty()) {
          row.extras.emplace_back(util::trim(e));
        }
      }
      row.pip_index = r[8];
      row.notes = r[10];
      row.line = static_cast<int>(i + 1);
      t.jax.push_back(std::move(row));
    }
  }
  return t;
}

bool glob_match(std::string_view p, std::string_view s) {
  std::size_t pi = 0;
  std::size_t si = 0;
  std::size_t star = std::string_view::npos;
  std::size_t mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '[') {
      const std::size_t close = p.find(']', pi);
      bool in_class = false;
      for (std::size_t k = pi + 1; close != std::string_view::npos && k < close; ++k) {
        if (k + 2 < close && p[k + 1] == '-') { // a range: "0-9"
          in_class = in_class || (p[k] <= s[si] && s[si] <= p[k + 2]);
          k += 2;
        } else {
          in_class = in_class || p[k] == s[si];
        }
      }
      if (in_class) {
        pi = close + 1;
        ++si;
        continue;
      }
    } else if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
      continue;
    }
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
      continue;
    }
    if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
      continue;
    }
    return false;
  }
  while (pi < p.size() && p[pi] == '*') {
    ++pi;
  }
  return pi == p.size();
}

const ReleaseRow* Tables::find_release(std::string_view package,
                                       const deps::Version& version) const {
  auto it = std::lower_bound(releases.begin(),
                             releases.end(),
                             package,
                             [](const ReleaseRow& r, std::string_view p) { return r.package < p; });
  const ReleaseRow* series = nullptr;
  for (; it != releases.end() && it->package == package; ++it) {
    if (it->version == version) {
      return &*it;
    }
    // the table may list only the first release of a series: 1.16.2 -> 1.16.0's date
    if (it->version.at(0) == version.at(0) && it->version.at(1) == version.at(1) &&
        !(version < it->version)) {
      series = &*it;
    }
  }
  return series;
}

const ImageRow* Tables::find_image(std::string_view image, std::string_view tag) const {
  for (const ImageRow& r : images) {
    if (r.image == image && glob_match(r.tag_pattern, tag)) {
      return &r;
    }
  }
  return nullptr;
}

const NgcRow* Tables::find_ngc(std::string_view image, std::string_view tag) const {
  const NgcRow* best = nullptr;
  for (const NgcRow& r : ngc) {
    if (r.image != image || tag.rfind(r.release.substr(0, 5), 0) != 0) {
      continue;
    }
    // "21.06-tf1-py3" matches release "21.06-tf1"; a plain "21.06-py3" takes the first row
    const std::size_t dash = r.release.find('-');
    const bool variant = dash != std::string::npos;
    if (variant && tag.find(r.release.substr(dash)) == std::string_view::npos) {
      continue;
    }
    if (best == nullptr || (variant && best->release.find('-') == std::string::npos)) {
      best = &r;
    }
  }
  return best;
}

const CudaRow* Tables::find_cuda(std::string_view version) const {
  for (const CudaRow& r : cuda) {
    if (r.cuda == version) {
      return &r;
    }
  }
  return nullptr;
}

const GpuRow* Tables::find_gpu(std::string_view name) const {
  const std::vector<std::string> want = name_words(name);
  if (want.empty()) {
    return nullptr;
  }
  const GpuRow* best = nullptr;
  std::size_t best_len = 0;
  for (const GpuRow& g : gpus) {
    for (const std::string& alt : name_alternatives(g.name)) {
      const std::vector<std::string> words = name_words(alt);
      if (words.empty() || words.size() > want.size()) {
        continue;
      }
      // the table name's words must appear in order, at the start or right after vendor words
      for (std::size_t start = 0; start + words.size() <= want.size(); ++start) {
        if (std::equal(words.begin(), words.end(), want.begin() + static_cast<long>(start))) {
          // "rtx 6000" must not match "rtx 6000 ada": longer table names win below
          std::size_t len = 0;
          for (const std::string& w : words) {
            len += w.size() + 1;
          }
          if (len > best_len) {
            best = &g;
            best_len = len;
          }
          break;
        }
      }
    }
  }
  return best;
}

const Tables& builtin_tables() {
  static const Tables tables = [] {
    auto t = parse_tables(embedded_csv("torch"),
                          embedded_csv("tensorflow"),
                          embedded_csv("cuda"),
                          embedded_csv("gpus"));
    FURNACE_ASSERT(t.has_value()); // the build's tests check every row
    auto more = parse_more_tables(std::move(t).value(),
                                  embedded_csv("releases"),
                                  embedded_csv("images"),
                                  embedded_csv("ngc"),
                                  embedded_csv("jax"));
    FURNACE_ASSERT(more.has_value());
    return std::move(more).value();
  }();
  return tables;
}

} // namespace furnace::resolve
