// Dockerfile, runtime.txt/.python-version, install commands in shell lines.

#include "parsers.hpp"

#include <furnace/deps/requirement.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <cctype>
#include <map>

namespace furnace::deps {

std::vector<Line> lines_of(std::string_view text) {
  std::vector<Line> out;
  int n = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view l = text.substr(pos, end - pos);
    if (!l.empty() && l.back() == '\r') {
      l.remove_suffix(1);
    }
    out.push_back(Line{l, ++n});
    pos = end + 1;
  }
  return out;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::vector<std::string> shell_words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : s) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        cur += c;
      }
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
      continue;
    }
    if (is_space(c)) {
      if (in_word) {
        out.push_back(std::move(cur));
        cur.clear();
        in_word = false;
      }
      continue;
    }
    cur += c;
    in_word = true;
  }
  if (in_word) {
    out.push_back(std::move(cur));
  }
  return out;
}

// Replaces $NAME, ${NAME}, ${NAME:-default} from `args`.
std::string substitute(std::string_view s, const std::map<std::string, std::string>& args) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '$' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    std::string name;
    std::string fallback;
    bool has_fallback = false;
    std::size_t j = i + 1;
    if (s[j] == '{') {
      const std::size_t close = s.find('}', j);
      if (close == std::string_view::npos) {
        out += s[i];
        continue;
      }
      std::string_view inner = s.substr(j + 1, close - j - 1);
      if (const std::size_t colon = inner.find(":-"); colon != std::string_view::npos) {
        fallback = std::string(inner.substr(colon + 2));
        has_fallback = true;
        inner = inner.substr(0, colon);
      } else if (const std::size_t dash = inner.find('-'); dash != std::string_view::npos) {
        fallback = std::string(inner.substr(dash + 1));
        has_fallback = true;
        inner = inner.substr(0, dash);
      }
      name = std::string(inner);
      i = close;
    } else {
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) != 0 || s[j] == '_')) {
        name += s[j++];
      }
      if (name.empty()) {
        out += s[i];
        continue;
      }
      i = j - 1;
    }
    auto it = args.find(name);
    if (it != args.end() && !it->second.empty()) {
      out += it->second;
    } else if (has_fallback) {
      out += fallback;
    }
  }
  return out;
}

// Requirements implied by an official image name.
void image_evidence(const std::string& image, const Location& where, Spec& spec) {
  spec.add_fact(FactKind::base_image, image, where, Confidence::high);
  std::string repo = image;
  std::string tag = "latest";
  const std::size_t slash = image.rfind('/');
  const std::size_t colon = image.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    repo = image.substr(0, colon);
    tag = image.substr(colon + 1);
  }
  if (const std::size_t at = tag.find('@'); at != std::string::npos) {
    tag = tag.substr(0, at);
  }
  if (const std::size_t at = repo.find('@'); at != std::string::npos) {
    repo = repo.substr(0, at);
  }
  repo = util::to_lower(repo);
  if (repo.rfind("docker.io/", 0) == 0) {
    repo = repo.substr(10);
  }
  auto add = [&](const std::string& name, const std::string& version) {
    Requirement req;
    req.written_name = name;
    req.name = name;
    req.where = where;
    req.origin = "dockerfile-from";
    if (!version.empty()) {
      req.specifier = "==" + version;
      auto set = parse_specifiers(req.specifier);
      if (!set) {
        req.specifier.clear();
      } else {
        req.specifiers = std::move(*set);
      }
    }
    add_requirement(spec, std::move(req));
  };
  const std::vector<std::string> parts = util::split(tag, '-');
  if (repo == "pytorch/pytorch") {
    // "1.4-cuda10.1-cudnn7-runtime", "2.0.1-cuda11.7-cudnn8-devel", "latest"
    add("torch", parse_version(parts[0]) ? parts[0] : "");
    for (const std::string& p : parts) {
      if (p.rfind("cuda", 0) == 0) {
        if (auto c = cuda_from_tag(p)) {
          spec.add_fact(FactKind::cuda, *c, where, Confidence::high, image);
        }
      }
    }
  } else if (repo == "tensorflow/tensorflow") {
    // "1.15.0-gpu-py3", "2.4.1-gpu", "latest-gpu"
    add("tensorflow", parse_version(parts[0]) ? parts[0] : "");
  } else if (repo == "nvcr.io/nvidia/pytorch") {
    add("torch", "");
  } else if (repo == "nvcr.io/nvidia/tensorflow") {
    add("tensorflow", "");
  } else if (repo == "nvidia/cuda" || repo == "nvcr.io/nvidia/cuda") {
    // "10.1-cudnn7-devel-ubuntu18.04", "11.3.1-cudnn8-runtime-ubuntu20.04"
    if (auto v = parse_version(parts[0]); v && v->release.size() >= 2) {
      spec.add_fact(FactKind::cuda, fmt::format("{}.{}", v->release[0], v->release[1]), where,
                    Confidence::high, image);
    }
  }
}

}  // namespace

void install_commands(std::string_view line, const Location& where, Confidence confidence,
                      const std::string& origin, Spec& spec) {
  std::string cur;
  auto flush = [&] {
    const std::vector<std::string> words = shell_words(cur);
    for (std::size_t i = 0; i + 1 < words.size(); ++i) {
      const std::string& w = words[i];
      const bool pip = w == "pip" || w == "pip3" ||
                       (w.size() > 4 && w.substr(w.size() - 4) == "/pip") || w == "uv";
      const bool conda = w == "conda" || w == "mamba" || w == "micromamba";
      if ((pip || conda) && (words[i + 1] == "install" || (conda && words[i + 1] == "create"))) {
        std::string args;
        for (std::size_t k = i + 2; k < words.size(); ++k) {
          args += (args.empty() ? "" : " ") + words[k];
        }
        parse_install_command(args, pip ? "pip" : "conda", where, confidence, origin, spec);
        break;
      }
      if (pip && words[i + 1] == "pip" && i + 2 < words.size() && words[i + 2] == "install") {
        continue;  // "uv pip install"
      }
    }
    cur.clear();
  };
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == ';' || c == '|' || (c == '&' && i + 1 < line.size() && line[i + 1] == '&')) {
      flush();
      if (c == '&' || (c == '|' && i + 1 < line.size() && line[i + 1] == '|')) {
        ++i;
      }
      continue;
    }
    if (c == '#' && (i == 0 || is_space(line[i - 1]))) {
      break;
    }
    cur += c;
  }
  flush();
}

void parse_install_command(std::string_view args, const std::string& tool, const Location& where,
                           Confidence confidence, const std::string& origin, Spec& spec) {
  const std::vector<std::string> words = shell_words(args);
  static const char* const k_pip_with_value[] = {"-i", "--index-url", "--extra-index-url", "-f",
                                                 "--find-links", "-r", "--requirement", "-c",
                                                 "--constraint", "--trusted-host", "-t", "--target",
                                                 "--prefix", "--root", "--platform", "--python-version",
                                                 "--only-binary", "--no-binary", "-e", "--editable"};
  static const char* const k_conda_with_value[] = {"-c", "--channel", "-n", "--name", "-p",
                                                   "--prefix", "--file"};
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string w = words[i];
    if (w.empty() || w == "\\") {
      continue;
    }
    if (w[0] == '-') {
      std::string opt = w;
      std::string value;
      if (const std::size_t eq = w.find('='); eq != std::string::npos && w.rfind("--", 0) == 0) {
        opt = w.substr(0, eq);
        value = w.substr(eq + 1);
      } else {
        bool takes = false;
        if (tool == "pip") {
          for (const char* k : k_pip_with_value) {
            takes = takes || opt == k;
          }
        } else {
          for (const char* k : k_conda_with_value) {
            takes = takes || opt == k;
          }
        }
        if (takes && i + 1 < words.size()) {
          value = words[++i];
        }
      }
      if (tool == "pip" && (opt == "-i" || opt == "--index-url" || opt == "--extra-index-url" ||
                            opt == "-f" || opt == "--find-links")) {
        spec.add_fact(FactKind::index_url, value, where, confidence);
        if (auto c = cuda_from_index_url(value)) {
          spec.add_fact(FactKind::cuda, *c, where, confidence, value);
        }
      }
      continue;
    }
    if (w.find("://") != std::string::npos || w.rfind("git+", 0) == 0) {
      if (auto req = requirement_from_wheel_url(w)) {
        req->where = where;
        req->confidence = confidence;
        req->origin = origin;
        add_requirement(spec, std::move(*req));
      }
      continue;
    }
    if (w == "." || w.rfind("./", 0) == 0 || w.rfind("../", 0) == 0 || w.rfind('/', 0) == 0 ||
        w.find('$') != std::string::npos || w.find('<') == 0) {
      continue;
    }
    auto req = tool == "pip" ? parse_pep508(w) : parse_conda_spec(w);
    if (!req) {
      continue;  // prose around a command in a README is not worth a diagnostic
    }
    req->where = where;
    req->confidence = confidence;
    req->origin = tool == "conda" ? "conda" : origin;
    add_requirement(spec, std::move(*req));
  }
}

void parse_dockerfile(std::string_view text, const std::string& file, Spec& spec) {
  std::map<std::string, std::string> args;
  std::map<std::string, std::string> stages;  // "AS name" -> image
  std::string logical;
  int start = 0;
  for (const Line& l : lines_of(text)) {
    std::string_view t = util::trim(l.text);
    if (logical.empty()) {
      start = l.number;
      if (t.empty() || t.front() == '#') {
        continue;
      }
    } else if (!t.empty() && t.front() == '#') {
      continue;  // comment lines inside a continuation are dropped by docker
    }
    if (!t.empty() && t.back() == '\\') {
      logical += std::string(t.substr(0, t.size() - 1));
      logical += ' ';
      continue;
    }
    logical += std::string(t);
    const Location where{file, start};
    const std::string line = std::move(logical);
    logical.clear();
    const std::size_t sp = line.find_first_of(" \t");
    const std::string instr = util::to_lower(line.substr(0, sp));
    const std::string rest = sp == std::string::npos ? "" : std::string(util::trim(line.substr(sp)));
    if (instr == "arg") {
      for (const std::string& w : shell_words(rest)) {
        const std::size_t eq = w.find('=');
        if (eq == std::string::npos) {
          args.emplace(w, "");
        } else {
          args[w.substr(0, eq)] = substitute(w.substr(eq + 1), args);
        }
      }
    } else if (instr == "env") {
      for (const std::string& w : shell_words(rest)) {
        const std::size_t eq = w.find('=');
        if (eq != std::string::npos) {
          args[w.substr(0, eq)] = substitute(w.substr(eq + 1), args);
        }
      }
    } else if (instr == "from") {
      std::vector<std::string> words = shell_words(rest);
      std::size_t i = 0;
      while (i < words.size() && words[i].rfind("--", 0) == 0) {
        ++i;
      }
      if (i >= words.size()) {
        spec.diagnose(where, "parse_error", "FROM without an image");
        continue;
      }
      const std::string image = substitute(words[i], args);
      if (i + 2 < words.size() && util::to_lower(words[i + 1]) == "as") {
        stages[util::to_lower(words[i + 2])] = image;
      }
      if (image.find('$') != std::string::npos || image.empty()) {
        spec.diagnose(where, "unresolved_arg",
                      fmt::format("FROM {}: an ARG without a default; image unknown", words[i]));
        continue;
      }
      if (stages.count(util::to_lower(image)) != 0 || image == "scratch") {
        continue;  // a previous stage
      }
      image_evidence(image, where, spec);
    } else if (instr == "run") {
      install_commands(substitute(rest, args), where, Confidence::medium, "dockerfile", spec);
    }
  }
}

void parse_python_version_file(std::string_view text, const std::string& file, Spec& spec) {
  for (const Line& l : lines_of(text)) {
    std::string_view t = util::trim(l.text);
    if (t.empty() || t.front() == '#') {
      continue;
    }
    if (t.rfind("python-", 0) == 0) {
      t.remove_prefix(7);
    }
    auto v = parse_version(t);
    if (!v || v->release.size() < 2 || (v->release[0] != 2 && v->release[0] != 3)) {
      spec.diagnose(Location{file, l.number}, "parse_error",
                    fmt::format("'{}' is not a Python version", t));
      return;
    }
    spec.add_fact(FactKind::python, fmt::format("=={}.{}.*", v->release[0], v->release[1]),
                  Location{file, l.number}, Confidence::high, std::string(t));
    return;  // pyenv reads the first version
  }
}

}  // namespace furnace::deps
