// setup.py (static extraction, never executed) and setup.cfg.

#include "parsers.hpp"

#include <furnace/deps/requirement.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <cctype>
#include <map>

namespace furnace::deps {

namespace {

struct Token {
  enum Kind { name, string, punct } kind = punct;
  std::string text;
  int line = 0;
};

// A small Python tokenizer: names, string literals (with prefixes, triple quotes), punctuation;
// comments dropped. Enough to find literal lists; it never evaluates anything.
std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> out;
  int line = 1;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c)) != 0 || c == '\\') {
      ++i;
      continue;
    }
    if (c == '#') {
      while (i < s.size() && s[i] != '\n') {
        ++i;
      }
      continue;
    }
    // string prefix (r, b, u, f and pairs)
    std::size_t j = i;
    while (j < s.size() && j - i < 2 && std::string_view("rRbBuUfF").find(s[j]) != std::string_view::npos) {
      ++j;
    }
    if (j < s.size() && (s[j] == '"' || s[j] == '\'')) {
      const char q = s[j];
      const bool triple = j + 2 < s.size() && s[j + 1] == q && s[j + 2] == q;
      const int start_line = line;
      std::size_t k = j + (triple ? 3 : 1);
      std::string value;
      while (k < s.size()) {
        if (s[k] == '\\' && k + 1 < s.size()) {
          value += s[k + 1];
          if (s[k + 1] == '\n') {
            ++line;
          }
          k += 2;
          continue;
        }
        if (triple ? (s.compare(k, 3, std::string(3, q)) == 0) : s[k] == q) {
          k += triple ? 3 : 1;
          break;
        }
        if (s[k] == '\n') {
          ++line;
          if (!triple) {
            break;
          }
        }
        value += s[k++];
      }
      out.push_back(Token{Token::string, std::move(value), start_line});
      i = k;
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_') {
      std::size_t k = i;
      while (k < s.size() && (std::isalnum(static_cast<unsigned char>(s[k])) != 0 || s[k] == '_' || s[k] == '.')) {
        ++k;
      }
      out.push_back(Token{Token::name, std::string(s.substr(i, k - i)), line});
      i = k;
      continue;
    }
    out.push_back(Token{Token::punct, std::string(1, c), line});
    ++i;
  }
  return out;
}

struct StringItem {
  std::string text;
  int line;
};

class SetupPy {
public:
  SetupPy(std::vector<Token> toks, std::string file, Spec& spec)
      : m_t(std::move(toks)), m_file(std::move(file)), m_spec(spec) {}

  void run() {
    // First pass: names bound to literal lists ("REQUIRES = [ ... ]").
    for (std::size_t i = 0; i + 2 < m_t.size(); ++i) {
      if (m_t[i].kind == Token::name && m_t[i + 1].text == "=" &&
          (i == 0 || m_t[i - 1].text != ",") && (i == 0 || m_t[i - 1].text != "(")) {
        std::size_t k = i + 2;
        std::vector<StringItem> items;
        if (collect(k, items, 0)) {
          m_lists[m_t[i].text] = std::move(items);
        }
      }
    }
    for (std::size_t i = 0; i + 2 < m_t.size(); ++i) {
      if (m_t[i].kind != Token::name || (m_t[i + 1].text != "=" && m_t[i + 1].text != ":")) {
        continue;
      }
      const std::string& key = m_t[i].text;
      if (key == "CUDAExtension" || key == "BuildExtension") {
        continue;
      }
      std::size_t k = i + 2;
      if (key == "install_requires" || key == "requires") {
        std::vector<StringItem> items;
        collect(k, items, 0);
        for (const StringItem& s : items) {
          add(s, false);
        }
      } else if (key == "python_requires") {
        std::vector<StringItem> items;
        collect(k, items, 0);
        for (const StringItem& s : items) {
          m_spec.add_fact(FactKind::python, s.text, Location{m_file, s.line}, Confidence::high,
                          "python_requires=" + s.text);
        }
      } else if (key == "extras_require") {
        std::vector<StringItem> items;
        collect_dict_values(k, items);
        for (const StringItem& s : items) {
          add(s, true);
        }
      }
    }
  }

private:
  void add(const StringItem& s, bool optional) {
    for (const std::string& piece : util::split(s.text, '\n')) {
      const std::string_view t = util::trim(piece);
      if (t.empty() || t.front() == '#') {
        continue;
      }
      auto req = parse_pep508(t);
      if (!req) {
        m_spec.diagnose(Location{m_file, s.line}, "parse_error",
                        fmt::format("cannot read requirement '{}': {}", t, req.error().message));
        continue;
      }
      req->where = Location{m_file, s.line};
      req->origin = "setup.py";
      req->optional = optional;
      add_requirement(m_spec, std::move(*req));
    }
  }

  // Collects the strings of an expression: a string, a list/tuple of strings, a name bound to a
  // list, and "+" of those. Stops at ',' or ')' at depth 0. False if nothing literal was found.
  bool collect(std::size_t& k, std::vector<StringItem>& out, int depth) {
    if (depth > 8) {
      return false;
    }
    bool any = false;
    while (k < m_t.size()) {
      const Token& t = m_t[k];
      if (t.kind == Token::string) {
        out.push_back(StringItem{t.text, t.line});
        any = true;
        ++k;
      } else if (t.text == "[" || t.text == "(") {
        const std::string close = t.text == "[" ? "]" : ")";
        ++k;
        int level = 0;
        while (k < m_t.size()) {
          const Token& u = m_t[k];
          if (u.text == "[" || u.text == "(" || u.text == "{") {
            ++level;
          } else if (u.text == "]" || u.text == ")" || u.text == "}") {
            if (level == 0) {
              break;
            }
            --level;
          } else if (u.kind == Token::string && level == 0) {
            // "x" if cond else "y", f-strings: take the literal parts only
            out.push_back(StringItem{u.text, u.line});
            any = true;
          } else if (u.kind == Token::name && level == 0 && m_lists.count(u.text) != 0 &&
                     (k == 0 || m_t[k - 1].text != ".")) {
            for (const StringItem& s : m_lists[u.text]) {
              out.push_back(s);
            }
            any = true;
          }
          ++k;
        }
        ++k;  // the closing bracket
      } else if (t.kind == Token::name && m_lists.count(t.text) != 0) {
        for (const StringItem& s : m_lists[t.text]) {
          out.push_back(s);
        }
        any = true;
        ++k;
      } else if (t.kind == Token::name) {
        // a call or an unknown name: skip it and its arguments
        ++k;
        if (k < m_t.size() && m_t[k].text == "(") {
          int level = 0;
          for (; k < m_t.size(); ++k) {
            if (m_t[k].text == "(") {
              ++level;
            } else if (m_t[k].text == ")" && --level == 0) {
              ++k;
              break;
            }
          }
        }
      } else {
        return any;
      }
      if (k < m_t.size() && m_t[k].text == "+") {
        ++k;
        continue;
      }
      return any;
    }
    return any;
  }

  void collect_dict_values(std::size_t& k, std::vector<StringItem>& out) {
    if (k >= m_t.size()) {
      return;
    }
    if (m_t[k].kind == Token::name && m_lists.count(m_t[k].text) != 0) {
      return;
    }
    if (m_t[k].text != "{") {
      return;
    }
    ++k;
    int level = 0;
    for (; k < m_t.size(); ++k) {
      const Token& t = m_t[k];
      if (t.text == "{" || t.text == "[" || t.text == "(") {
        ++level;
      } else if (t.text == "}" || t.text == "]" || t.text == ")") {
        if (level == 0) {
          return;
        }
        --level;
      } else if (t.text == ":" && level == 0) {
        ++k;
        collect(k, out, 1);
        --k;
      }
    }
  }

  std::vector<Token> m_t;
  std::string m_file;
  Spec& m_spec;
  std::map<std::string, std::vector<StringItem>> m_lists;
};

}  // namespace

void parse_setup_py(std::string_view text, const std::string& file, Spec& spec) {
  std::vector<Token> toks = tokenize(text);
  for (const Token& t : toks) {
    if (t.kind == Token::name && (t.text == "CUDAExtension" || t.text.find("cpp_extension") != std::string::npos)) {
      spec.diagnose(Location{file, t.line}, "cuda_extension",
                    "setup.py builds a CUDA extension: the image needs nvcc (a devel image)");
      break;
    }
  }
  SetupPy(std::move(toks), file, spec).run();
}

void parse_setup_cfg(std::string_view text, const std::string& file, Spec& spec) {
  std::string section;
  std::string key;
  for (const Line& line : lines_of(text)) {
    const std::string_view raw = line.text;
    const int n = line.number;
    const std::string_view t = util::trim(raw);
    if (t.empty() || t.front() == '#' || t.front() == ';') {
      continue;
    }
    const bool indented = raw.front() == ' ' || raw.front() == '\t';
    std::string_view value;
    if (!indented && t.front() == '[') {
      section = util::to_lower(util::trim(t.substr(1, t.find(']') == std::string_view::npos ? t.size() - 1 : t.find(']') - 1)));
      key.clear();
    } else if (!indented) {
      const std::size_t eq = t.find_first_of("=:");
      if (eq == std::string_view::npos) {
        spec.diagnose(Location{file, n}, "parse_error", fmt::format("cannot read '{}'", t));
        key.clear();
      } else {
        key = util::to_lower(util::trim(t.substr(0, eq)));
        value = util::trim(t.substr(eq + 1));
      }
    } else {
      value = t;  // a continuation line of `key`
    }
    if (!value.empty() && !key.empty()) {
      const Location where{file, n};
      if (section == "options" && key == "python_requires") {
        spec.add_fact(FactKind::python, std::string(value), where, Confidence::high,
                      "python_requires=" + std::string(value));
      } else if ((section == "options" && key == "install_requires") ||
                 section == "options.extras_require") {
        {
          const std::string_view p = value;
          auto req = parse_pep508(p);
          if (!req) {
            spec.diagnose(where, "parse_error",
                          fmt::format("cannot read requirement '{}': {}", p, req.error().message));
            continue;
          }
          req->where = where;
          req->origin = "setup.cfg";
          req->optional = section != "options";
          add_requirement(spec, std::move(*req));
        }
      }
    }
  }
}

}  // namespace furnace::deps
