#include "requirement.hpp"

#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace furnace::deps {

namespace {

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
}

std::string_view trimv(std::string_view s) { return util::trim(s); }

core::Error invalid(std::string message) {
  return core::make_error(core::ErrorKind::invalid, std::move(message));
}

// Parses "[a, b]" at `i`.
bool parse_extras(std::string_view s, std::size_t& i, std::vector<std::string>& extras) {
  if (i >= s.size() || s[i] != '[') {
    return true;
  }
  const std::size_t end = s.find(']', i);
  if (end == std::string_view::npos) {
    return false;
  }
  for (const std::string& e : util::split(s.substr(i + 1, end - i - 1), ',')) {
    const std::string_view t = trimv(e);
    if (!t.empty()) {
      extras.push_back(normalize_name(t));
    }
  }
  i = end + 1;
  return true;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

core::Result<Requirement> parse_pep508(std::string_view text) {
  const std::string_view s = trimv(text);
  Requirement req;
  std::size_t i = 0;
  while (i < s.size() && name_char(s[i])) {
    ++i;
  }
  if (i == 0) {
    return util::Unexpected<core::Error>(invalid(fmt::format("expected a package name in '{}'", s)));
  }
  req.written_name = std::string(s.substr(0, i));
  req.name = normalize_name(req.written_name);
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
    ++i;
  }
  if (!parse_extras(s, i, req.extras)) {
    return util::Unexpected<core::Error>(invalid(fmt::format("unclosed '[' in '{}'", s)));
  }
  std::string_view rest = trimv(s.substr(i));
  std::string_view marker;
  if (!rest.empty() && rest.front() == '@') {
    rest = trimv(rest.substr(1));
    // For URL requirements, the marker needs whitespace before ';'.
    std::size_t semi = std::string_view::npos;
    for (std::size_t k = 0; k + 1 < rest.size(); ++k) {
      if ((rest[k] == ' ' || rest[k] == '\t') && rest.find(';', k) != std::string_view::npos) {
        const std::size_t after = rest.find_first_not_of(" \t", k);
        if (after != std::string_view::npos && rest[after] == ';') {
          semi = after;
          break;
        }
      }
    }
    std::string_view url = rest;
    if (semi != std::string_view::npos) {
      url = trimv(rest.substr(0, semi));
      marker = trimv(rest.substr(semi + 1));
    }
    if (url.empty()) {
      return util::Unexpected<core::Error>(invalid(fmt::format("missing URL after '@' in '{}'", s)));
    }
    req.url = std::string(url);
    req.marker = std::string(marker);
    return req;
  }
  const std::size_t semi = rest.find(';');
  std::string_view spec = rest;
  if (semi != std::string_view::npos) {
    spec = trimv(rest.substr(0, semi));
    marker = trimv(rest.substr(semi + 1));
    if (marker.empty()) {
      return util::Unexpected<core::Error>(invalid(fmt::format("empty marker in '{}'", s)));
    }
  }
  if (!spec.empty() && spec.front() == '(') {
    if (spec.back() != ')') {
      return util::Unexpected<core::Error>(invalid(fmt::format("unclosed '(' in '{}'", s)));
    }
    spec = trimv(spec.substr(1, spec.size() - 2));
  }
  if (!spec.empty() && std::string_view("=!<>~").find(spec.front()) == std::string_view::npos) {
    return util::Unexpected<core::Error>(
        invalid(fmt::format("expected a version specifier after '{}' in '{}'", req.written_name, s)));
  }
  auto set = parse_specifiers(spec);
  if (!set) {
    return util::Unexpected<core::Error>(set.error());
  }
  req.specifier = std::string(spec);
  req.specifier.erase(std::remove_if(req.specifier.begin(), req.specifier.end(),
                                     [](char c) { return c == ' ' || c == '\t'; }),
                      req.specifier.end());
  req.specifiers = std::move(*set);
  req.marker = std::string(marker);
  return req;
}

std::string conda_to_pep440(std::string_view version) {
  std::string_view v = trimv(version);
  if (v.empty() || v == "*") {
    return "";
  }
  // "1.4|1.5": conda's alternatives have no PEP 440 equivalent; keep the first
  if (const std::size_t bar = v.find('|'); bar != std::string_view::npos) {
    v = trimv(v.substr(0, bar));
  }
  std::string out;
  for (const std::string& part : util::split(v, ',')) {
    std::string p(trimv(part));
    if (p.empty()) {
      continue;
    }
    if (!out.empty()) {
      out += ',';
    }
    const char c = p.front();
    if (c == '=' && p.size() > 1 && p[1] != '=') {
      p = p.substr(1);  // "=1.4": fuzzy, as "1.4"
    }
    if (p.front() == '>' || p.front() == '<' || p.front() == '!' || p.front() == '~' ||
        p.rfind("==", 0) == 0) {
      out += p;
      continue;
    }
    // A bare conda version is a prefix match: "1.4" matches 1.4.0 and 1.4.1; "1.4.*" too.
    if (p.size() > 2 && p.substr(p.size() - 2) == ".*") {
      out += "==" + p;
    } else if (!p.empty() && p.back() == '*') {
      p.pop_back();
      while (!p.empty() && p.back() == '.') {
        p.pop_back();
      }
      out += "==" + p + ".*";
    } else {
      out += "==" + p + ".*";
    }
  }
  return out;
}

core::Result<Requirement> parse_conda_spec(std::string_view text) {
  std::string_view s = trimv(text);
  Requirement req;
  req.origin = "conda";
  // channel::name
  if (const std::size_t cc = s.find("::"); cc != std::string_view::npos) {
    s = s.substr(cc + 2);
  }
  std::size_t i = 0;
  while (i < s.size() && name_char(s[i])) {
    ++i;
  }
  if (i == 0) {
    return util::Unexpected<core::Error>(invalid(fmt::format("expected a package name in '{}'", text)));
  }
  req.written_name = std::string(s.substr(0, i));
  req.name = normalize_name(req.written_name);
  if (!parse_extras(s, i, req.extras)) {
    return util::Unexpected<core::Error>(invalid(fmt::format("unclosed '[' in '{}'", text)));
  }
  std::string_view rest = trimv(s.substr(i));
  std::string version;
  std::string build;
  if (!rest.empty() && rest.front() == '=' && (rest.size() < 2 || rest[1] != '=')) {
    // name=version[=build]
    rest.remove_prefix(1);
    const std::size_t eq = rest.find('=');
    version = std::string(trimv(rest.substr(0, eq)));
    if (eq != std::string_view::npos) {
      build = std::string(trimv(rest.substr(eq + 1)));
    }
  } else {
    // "name 1.4 build", "name>=1.4", "name==1.4"
    const std::size_t sp = rest.find_first_of(" \t");
    version = std::string(trimv(rest.substr(0, sp)));
    if (sp != std::string_view::npos) {
      build = std::string(trimv(rest.substr(sp)));
    }
    if (version.rfind("==", 0) == 0) {
      const std::size_t eq = version.find('=', 2);
      if (eq != std::string::npos) {
        build = version.substr(eq + 1);
        version = version.substr(0, eq);
      }
    }
  }
  req.specifier = conda_to_pep440(version);
  auto set = parse_specifiers(req.specifier);
  if (!set) {
    return util::Unexpected<core::Error>(set.error());
  }
  req.specifiers = std::move(*set);
  req.conda_build = build;
  return req;
}

std::string poetry_to_pep440(std::string_view constraint) {
  std::string out;
  for (const std::string& part : util::split(constraint, ',')) {
    std::string p(trimv(part));
    if (p.empty() || p == "*") {
      continue;
    }
    if (!out.empty()) {
      out += ',';
    }
    if (p.front() == '^' || (p.front() == '~' && (p.size() < 2 || p[1] != '='))) {
      const bool caret = p.front() == '^';
      const std::string base(trimv(std::string_view(p).substr(1)));
      auto v = parse_version(base);
      if (!v) {
        out += "==" + base;
        continue;
      }
      std::vector<long long> upper = v->release;
      if (caret) {
        // ^1.2.3 -> <2.0.0; ^0.2.3 -> <0.3.0; ^0.0.3 -> <0.0.4
        std::size_t k = 0;
        while (k + 1 < upper.size() && upper[k] == 0) {
          ++k;
        }
        upper.resize(k + 1);
        ++upper[k];
      } else {
        // ~1.2.3 -> <1.3.0; ~1.2 -> <1.3; ~1 -> <2
        const std::size_t k = upper.size() >= 2 ? 1 : 0;
        upper.resize(k + 1);
        ++upper[k];
      }
      std::string up;
      for (std::size_t k = 0; k < upper.size(); ++k) {
        up += (k ? "." : "") + std::to_string(upper[k]);
      }
      out += ">=" + base + ",<" + up;
      continue;
    }
    if (std::string_view("=!<>~").find(p.front()) != std::string_view::npos) {
      if (p.front() == '=' && (p.size() < 2 || p[1] != '=')) {
        p = "=" + p;
      }
      out += p;
      continue;
    }
    out += "==" + p;
  }
  return out;
}

std::optional<std::string> cuda_from_tag(std::string_view tag) {
  std::string t = util::to_lower(tag);
  std::size_t i = 0;
  if (t.rfind("cuda", 0) == 0) {
    i = 4;
  } else if (t.rfind("cu", 0) == 0) {
    i = 2;
  } else {
    return std::nullopt;
  }
  std::string digits;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])) != 0) {
    digits += t[i++];
  }
  if (i < t.size() && t[i] == '.' && t.rfind("cuda", 0) == 0) {
    // "cuda11.8" / "cuda10.1.243"
    ++i;
    std::string minor;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])) != 0) {
      minor += t[i++];
    }
    if (digits.empty() || minor.empty()) {
      return std::nullopt;
    }
    return digits + "." + minor;
  }
  if (t.rfind("cuda", 0) == 0) {
    // "cuda11" (jaxlib +cuda11.cudnn86, jax[cuda12]): major only
    if (digits.empty() || digits.size() > 2) {
      return std::nullopt;
    }
    return digits;
  }
  if (digits.size() == 2) {
    return digits.substr(0, 1) + "." + digits.substr(1);
  }
  if (digits.size() == 3) {
    return digits.substr(0, 2) + "." + digits.substr(2);
  }
  return std::nullopt;
}

std::optional<std::string> cuda_from_index_url(std::string_view url) {
  const std::string u = util::to_lower(url);
  if (u.find("download.pytorch.org") == std::string::npos) {
    return std::nullopt;
  }
  for (const std::string& seg : util::split(u, '/')) {
    if (seg.size() >= 3 && seg.rfind("cu", 0) == 0) {
      if (auto c = cuda_from_tag(seg)) {
        return c;
      }
    }
  }
  return std::nullopt;
}

std::optional<Requirement> requirement_from_wheel_url(std::string_view url) {
  std::string_view file = url;
  if (const std::size_t q = file.find_first_of("?#"); q != std::string_view::npos) {
    file = file.substr(0, q);
  }
  if (const std::size_t slash = file.rfind('/'); slash != std::string_view::npos) {
    file = file.substr(slash + 1);
  }
  if (file.size() < 5 || file.substr(file.size() - 4) != ".whl") {
    return std::nullopt;
  }
  const std::string decoded = percent_decode(file);
  const std::vector<std::string> parts = util::split(decoded, '-');
  if (parts.size() < 5) {
    return std::nullopt;
  }
  auto v = parse_version(parts[1]);
  if (!v) {
    return std::nullopt;
  }
  Requirement req;
  req.written_name = parts[0];
  req.name = normalize_name(parts[0]);
  req.specifier = "==" + v->str();
  auto set = parse_specifiers(req.specifier);
  if (!set) {
    return std::nullopt;
  }
  req.specifiers = std::move(*set);
  req.url = std::string(url);
  return req;
}

void add_requirement(Spec& spec, Requirement req) {
  if (req.name == "pytorch") {
    req.name = "torch";  // conda's name, and a common mistake on PyPI
  }
  const std::string& n = req.name;
  // The CUDA variant hidden in a local version ("+cu111") or a conda build string.
  for (const Specifier& s : req.specifiers.items) {
    if (!s.version.local.empty()) {
      for (const std::string& seg : util::split(s.version.local, '.')) {
        if (auto c = cuda_from_tag(seg)) {
          spec.add_fact(FactKind::cuda, *c, req.where, req.confidence,
                        fmt::format("{}{}", req.written_name, req.specifier));
          break;
        }
      }
    }
  }
  if (!req.url.empty() && req.url.find(".whl") != std::string::npos) {
    // ".../whl/cu92/torch-1.2.0-cp36-cp36m-linux_x86_64.whl": CUDA 9.2 and Python 3.6
    const std::string file = req.url.substr(req.url.rfind('/') + 1);
    bool cuda_known = false;
    for (const Specifier& s : req.specifiers.items) {
      cuda_known = cuda_known || !s.version.local.empty();
    }
    for (const std::string& seg : util::split(req.url, '/')) {
      if (!cuda_known && seg.size() >= 4 && seg.rfind("cu", 0) == 0 && seg != file) {
        if (auto c = cuda_from_tag(seg)) {
          spec.add_fact(FactKind::cuda, *c, req.where, req.confidence, "wheel URL " + seg);
          cuda_known = true;
        }
      }
    }
    for (const std::string& tag : util::split(file, '-')) {
      if (tag.size() >= 4 && tag.rfind("cp", 0) == 0 && std::isdigit(static_cast<unsigned char>(tag[2])) != 0) {
        const std::string digits = tag.substr(2, tag.find_first_not_of("0123456789", 2) - 2);
        if (digits.size() >= 2) {
          spec.add_fact(FactKind::python, fmt::format("=={}.{}.*", digits[0], digits.substr(1)),
                        req.where, req.confidence, "wheel tag " + tag);
        }
        break;
      }
    }
  }
  if (!req.conda_build.empty()) {
    const std::string build = util::to_lower(req.conda_build);
    // "py3.8_cuda11.0.221_cudnn8.0.5_0", "py38h…": the Python of the build
    if (build.rfind("py", 0) == 0 && build.size() >= 4 && std::isdigit(static_cast<unsigned char>(build[2])) != 0) {
      std::string digits;
      for (std::size_t k = 2; k < build.size() && (std::isdigit(static_cast<unsigned char>(build[k])) != 0 || build[k] == '.'); ++k) {
        if (build[k] != '.') {
          digits += build[k];
        }
      }
      if (digits.size() >= 2 && digits.size() <= 3) {
        spec.add_fact(FactKind::python, fmt::format("=={}.{}.*", digits[0], digits.substr(1)),
                      req.where, req.confidence,
                      fmt::format("{} build {}", req.written_name, req.conda_build));
      }
    }
    const std::size_t at = build.find("cuda");
    if (at != std::string::npos) {
      if (auto c = cuda_from_tag(build.substr(at))) {
        spec.add_fact(FactKind::cuda, *c, req.where, req.confidence,
                      fmt::format("{} build {}", req.written_name, req.conda_build));
      }
    }
  }
  if (req.origin == "conda" || n == "python") {
    if (n == "python") {
      if (!req.specifier.empty()) {
        spec.add_fact(FactKind::python, req.specifier, req.where, req.confidence,
                      fmt::format("python{}", req.specifier));
      }
      return;
    }
    if (n == "cudatoolkit" || n == "cuda-toolkit" || n == "pytorch-cuda" || n == "cuda-version" ||
        n == "cuda-runtime" || n == "cuda") {
      for (const Specifier& s : req.specifiers.items) {
        if ((s.op == Op::equal || s.op == Op::greater_equal || s.op == Op::compatible) &&
            s.version.release.size() >= 2) {
          spec.add_fact(FactKind::cuda,
                        fmt::format("{}.{}", s.version.release[0], s.version.release[1]),
                        req.where, req.confidence,
                        fmt::format("{}{}", req.written_name, req.specifier));
          break;
        }
      }
      return;
    }
  }
  for (const std::string& e : req.extras) {
    // jax[cuda12], jax[cuda12_pip], tensorflow[and-cuda]
    if ((n == "jax" || n == "jaxlib") && e.rfind("cuda", 0) == 0) {
      if (auto c = cuda_from_tag(e.substr(0, e.find_first_of("-_")))) {
        spec.add_fact(FactKind::cuda, *c, req.where, req.confidence,
                      fmt::format("{}[{}]", req.written_name, e));
      }
    }
  }
  spec.requirements.push_back(std::move(req));
}

}  // namespace furnace::deps
