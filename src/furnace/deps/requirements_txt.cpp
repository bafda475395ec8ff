// requirements*.txt, as pip reads them.

#include "parsers.hpp"

#include <furnace/deps/requirement.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace furnace::deps {

namespace {

constexpr std::size_t k_max_include_depth = 16;
constexpr std::size_t k_max_included_files = 256;

struct LogicalLine {
  std::string text;
  int line = 0;  // where it starts
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// pip: "#" starts a comment at the start of a line or after whitespace.
std::string strip_comment(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '#' && (i == 0 || is_space(s[i - 1]))) {
      return std::string(util::trim(s.substr(0, i)));
    }
  }
  return std::string(util::trim(s));
}

std::vector<LogicalLine> logical_lines(std::string_view text) {
  std::vector<LogicalLine> out;
  std::string pending;
  int pending_line = 0;
  for (const Line& l : lines_of(text)) {
    const std::string_view raw = l.text;
    if (pending.empty()) {
      pending_line = l.number;
    }
    // A comment line inside a continuation ends nothing; pip joins first, then strips comments.
    if (!raw.empty() && raw.back() == '\\') {
      pending += std::string(raw.substr(0, raw.size() - 1));
      pending += ' ';
      continue;
    }
    pending += std::string(raw);
    std::string line = strip_comment(pending);
    if (!line.empty()) {
      out.push_back(LogicalLine{std::move(line), pending_line});
    }
    pending.clear();
  }
  if (!pending.empty()) {
    std::string line = strip_comment(pending);
    if (!line.empty()) {
      out.push_back(LogicalLine{std::move(line), pending_line});
    }
  }
  return out;
}

std::vector<std::string> tokens_of(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) {
      ++i;
    }
    std::size_t j = i;
    while (j < s.size() && !is_space(s[j])) {
      ++j;
    }
    if (j > i) {
      out.emplace_back(s.substr(i, j - i));
    }
    i = j;
  }
  return out;
}

bool looks_like_url(std::string_view s) {
  return s.find("://") != std::string_view::npos || s.rfind("git+", 0) == 0 ||
         s.rfind("hg+", 0) == 0 || s.rfind("svn+", 0) == 0 || s.rfind("bzr+", 0) == 0 ||
         s.rfind("file:", 0) == 0;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool looks_like_path(std::string_view s) {
  return s == "." || s.rfind("./", 0) == 0 || s.rfind("../", 0) == 0 || s.rfind('/', 0) == 0 ||
         ends_with(s, ".whl") || ends_with(s, ".tar.gz") || ends_with(s, ".zip");
}

// "#egg=name" or "#egg=name[extra]" in a VCS URL.
std::string egg_name(std::string_view url) {
  const std::size_t at = url.find("egg=");
  if (at == std::string_view::npos) {
    return "";
  }
  std::size_t end = at + 4;
  while (end < url.size() && url[end] != '&' && url[end] != '[' && !is_space(url[end])) {
    ++end;
  }
  return std::string(url.substr(at + 4, end - at - 4));
}

class RequirementsParser {
public:
  RequirementsParser(const FileReader& read, Spec& spec, Confidence confidence)
      : m_read(read), m_spec(spec), m_confidence(confidence) {}

  void parse(std::string_view text, const std::string& file, bool constraint) {
    m_stack.push_back(file);
    for (const LogicalLine& l : logical_lines(text)) {
      handle(l, file, constraint);
    }
    m_stack.pop_back();
  }

private:
  void include(const std::string& target, const Location& where, bool constraint) {
    const std::string path = join_path(where.file, target);
    if (std::find(m_stack.begin(), m_stack.end(), path) != m_stack.end()) {
      m_spec.diagnose(where, "include_cycle",
                      fmt::format("'{}' includes itself through '{}'; not read again", where.file,
                                  path));
      return;
    }
    if (m_stack.size() >= k_max_include_depth) {
      m_spec.diagnose(where, "include_depth",
                      fmt::format("includes nested deeper than {}; '{}' not read",
                                  k_max_include_depth, path));
      return;
    }
    if (!m_read) {
      return;
    }
    // A file reached again through another route (a diamond of includes) adds nothing new;
    // reading it once per route would make the work exponential in the include depth.
    if (!m_parsed.insert(path + (constraint ? "\n-c" : "\n-r")).second) {
      return;
    }
    // Relative includes under different directories are different files, so a deep chain can
    // still fan out; no real project comes near this many.
    if (m_parsed.size() > k_max_included_files) {
      m_spec.diagnose(where, "include_limit",
                      fmt::format("more than {} included files; '{}' not read",
                                  k_max_included_files, path));
      return;
    }
    auto text = m_read(path);
    if (!text) {
      m_spec.diagnose(where, "include_missing",
                      fmt::format("cannot read '{}': {}", path, text.error().message));
      return;
    }
    if (std::find(m_spec.files.begin(), m_spec.files.end(), path) == m_spec.files.end()) {
      m_spec.files.push_back(path);
    }
    parse(*text, path, constraint);
  }

  void add_index(const std::string& url, const Location& where) {
    m_spec.add_fact(FactKind::index_url, url, where, m_confidence);
    if (auto cuda = cuda_from_index_url(url)) {
      m_spec.add_fact(FactKind::cuda, *cuda, where, m_confidence, url);
    }
  }

  void add_url_requirement(const std::string& url, const Location& where, bool constraint,
                           const std::string& rest) {
    if (auto wheel = requirement_from_wheel_url(url)) {
      wheel->where = where;
      wheel->confidence = m_confidence;
      wheel->constraint_only = constraint;
      wheel->origin = "pip";
      add_requirement(m_spec, std::move(*wheel));
      return;
    }
    const std::string egg = egg_name(url);
    if (egg.empty()) {
      if (!looks_like_path(url) || url.find("://") != std::string::npos) {
        m_spec.diagnose(where, "unnamed_url",
                        fmt::format("'{}' names no package (no #egg=); ignored", url));
      }
      return;
    }
    Requirement req;
    req.written_name = egg;
    req.name = normalize_name(egg);
    req.url = url;
    req.where = where;
    req.confidence = m_confidence;
    req.constraint_only = constraint;
    req.origin = "pip";
    (void)rest;
    add_requirement(m_spec, std::move(req));
  }

  void handle(const LogicalLine& l, const std::string& file, bool constraint) {
    const Location where{file, l.line};
    const std::vector<std::string> toks = tokens_of(l.text);
    if (toks.empty()) {
      return;
    }
    const std::string& first = toks[0];
    if (first[0] == '-') {
      handle_option(toks, where, constraint);
      return;
    }
    // Drop per-requirement options ("--hash=sha256:…", "--install-option=…").
    std::string req_text;
    for (const std::string& t : toks) {
      if (t.rfind("--", 0) == 0 && &t != &toks[0]) {
        break;
      }
      req_text += (req_text.empty() ? "" : " ") + t;
    }
    if (looks_like_url(first) || (looks_like_path(first) && first.find('@') == std::string::npos)) {
      add_url_requirement(first, where, constraint, req_text);
      return;
    }
    auto req = parse_pep508(req_text);
    if (!req) {
      m_spec.diagnose(where, "parse_error",
                      fmt::format("cannot read requirement '{}': {}", req_text,
                                  req.error().message));
      return;
    }
    req->where = where;
    req->confidence = m_confidence;
    req->constraint_only = constraint;
    req->origin = "pip";
    if (!req->url.empty()) {
      if (auto wheel = requirement_from_wheel_url(req->url)) {
        req->specifier = wheel->specifier;
        req->specifiers = wheel->specifiers;
      }
    }
    add_requirement(m_spec, std::move(*req));
  }

  void handle_option(const std::vector<std::string>& toks, const Location& where, bool constraint) {
    std::string opt = toks[0];
    std::string arg;
    if (const std::size_t eq = opt.find('='); opt.rfind("--", 0) == 0 && eq != std::string::npos) {
      arg = opt.substr(eq + 1);
      opt = opt.substr(0, eq);
    } else if (opt.size() > 2 && opt[1] != '-') {
      arg = opt.substr(2);  // "-rfile"
      opt = opt.substr(0, 2);
    } else if (toks.size() > 1) {
      arg = toks[1];
    }
    if (opt == "-r" || opt == "--requirement" || opt == "-c" || opt == "--constraint") {
      if (arg.empty()) {
        m_spec.diagnose(where, "parse_error", fmt::format("'{}' needs a file name", opt));
        return;
      }
      include(arg, where, constraint || opt == "-c" || opt == "--constraint");
      return;
    }
    if (opt == "-i" || opt == "--index-url" || opt == "--extra-index-url" || opt == "-f" ||
        opt == "--find-links") {
      if (!arg.empty()) {
        add_index(arg, where);
      }
      return;
    }
    if (opt == "-e" || opt == "--editable") {
      if (!arg.empty()) {
        add_url_requirement(arg, where, constraint, arg);
      }
      return;
    }
    static const char* const k_known[] = {
        "--trusted-host", "--no-index",      "--pre",        "--prefer-binary",
        "--only-binary",  "--no-binary",     "--use-feature", "--require-hashes",
        "--hash",         "--global-option", "--config-settings", "--progress-bar",
        "--upgrade",      "-U",              "--no-deps",    "--user"};
    for (const char* k : k_known) {
      if (opt == k) {
        return;
      }
    }
    m_spec.diagnose(where, "unknown_option", fmt::format("unknown option '{}' ignored", opt));
  }

  const FileReader& m_read;
  Spec& m_spec;
  Confidence m_confidence;
  std::vector<std::string> m_stack;
  std::set<std::string> m_parsed;  // included files already read, with how (-r or -c)
};

}  // namespace

void parse_requirements_txt(std::string_view text, const std::string& file, const FileReader& read,
                            Spec& spec, Confidence confidence) {
  RequirementsParser(read, spec, confidence).parse(text, file, false);
}

}  // namespace furnace::deps
