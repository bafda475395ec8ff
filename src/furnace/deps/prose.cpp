// README and INSTALL files: install commands, version statements in prose ("tested with
// TensorFlow 1.14", "- PyTorch 1.0", "[TensorFlow r1.3](…)", "Python 3.6+") and the dates that
// tell when the project was written (arXiv ids, "CVPR 2019", bibtex years). All of it is medium
// confidence: it chooses among what the dependency files allow, and never makes a plan impossible.

#include "parsers.hpp"

#include <furnace/deps/requirement.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <optional>

namespace furnace::deps {

namespace {

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}
bool is_alpha(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}

struct Subject {
  std::string_view word;  // lowercase, as it appears in the text
  std::string_view name;  // package ("torch"), or "python" / "cuda"
  bool needs_dot = false; // "tf" alone is too common a word: only "tf 1.15", "tf2.x"
};

// Longest first, so "tensorflow-gpu" wins over "tensorflow" at the same place.
constexpr std::array<Subject, 12> k_subjects{{
    {"tensorflow-gpu", "tensorflow-gpu", false},
    {"tensorflow_gpu", "tensorflow-gpu", false},
    {"torchvision", "torchvision", false},
    {"tensorflow", "tensorflow", false},
    {"pytorch", "torch", false},
    {"jaxlib", "jaxlib", false},
    {"python", "python", false},
    {"keras", "keras", false},
    {"torch", "torch", false},
    {"cuda", "cuda", false},
    {"jax", "jax", false},
    {"tf", "tensorflow", true},
}};

// A version statement right after a subject: optional separators and an operator, then
// "1.14", "1.14.0", "r1.3", "v1.0", "2.x", "3.6+"; then "or higher"/"or later"/"+".
struct Statement {
  std::string version;   // "1.14", "10.1"
  std::string specifier; // PEP 440
  std::string text;      // what was read, for the evidence ("TensorFlow r1.3")
};

std::optional<Statement> statement_after(std::string_view low, std::size_t at, const Subject& s) {
  std::size_t i = at + s.word.size();
  // separators: " ", ":", "(", "|", "-", "_", "version", "v", "=="/">="/…
  std::string op;
  for (int guard = 0; guard < 8 && i < low.size(); ++guard) {
    const char c = low[i];
    if (c == ' ' || c == ':' || c == '(' || c == '|' || c == '*' || c == '`' || c == '\t' ||
        c == ',') {
      ++i;
      continue;
    }
    if (c == ']' && i + 1 < low.size() && low[i + 1] == '(') {
      // a Markdown link: "[TensorFlow](https://www.tensorflow.org/) 1.15"
      const std::size_t close = low.find(')', i);
      if (close == std::string_view::npos) {
        break;
      }
      i = close + 1;
      continue;
    }
    if (c == ']') {
      ++i;
      continue;
    }
    if (low.substr(i, 7) == "version") {
      i += 7;
      continue;
    }
    if (low.substr(i, 2) == ">=" || low.substr(i, 2) == "==" || low.substr(i, 2) == "<=" ||
        low.substr(i, 2) == "~=") {
      op = std::string(low.substr(i, 2));
      i += 2;
      continue;
    }
    if (c == '>' || c == '<' || c == '=') {
      op = c == '=' ? "==" : std::string(1, c);
      ++i;
      continue;
    }
    break;
  }
  if (i < low.size() && (low[i] == 'r' || low[i] == 'v') && i + 1 < low.size() &&
      is_digit(low[i + 1])) {
    ++i; // "r1.3", "v1.0"
  }
  const std::size_t start = i;
  while (i < low.size() && (is_digit(low[i]) || low[i] == '.' || low[i] == 'x')) {
    ++i;
  }
  std::string version(low.substr(start, i - start));
  while (!version.empty() && version.back() == '.') {
    version.pop_back();
  }
  // "2.x" / "1.x": the series; a bare "3" or "2" is not a version statement
  bool series = false;
  if (version.size() >= 2 && version.substr(version.size() - 2) == ".x") {
    version.resize(version.size() - 2);
    series = true;
  }
  if (version.empty() || !is_digit(version.front()) || version.find('x') != std::string::npos ||
      (!series && version.find('.') == std::string::npos)) {
    return std::nullopt;
  }
  if (i < low.size() && (is_alpha(low[i]) && low[i] != 'x')) {
    return std::nullopt; // "cuda10.1k", "python3.6m" are not prose versions
  }
  auto parsed = parse_version(version);
  if (!parsed || parsed->release.size() > 4 || parsed->release.front() > 30) {
    return std::nullopt;
  }
  if (s.needs_dot && version.find('.') == std::string::npos && !series) {
    return std::nullopt;
  }
  const std::string_view after = low.substr(i);
  const bool open =
      (!after.empty() && after.front() == '+') || util::trim(after).rfind("or higher", 0) == 0 ||
      util::trim(after).rfind("or later", 0) == 0 || util::trim(after).rfind("or above", 0) == 0 ||
      util::trim(after).rfind("or newer", 0) == 0 || util::trim(after).rfind("and above", 0) == 0 ||
      util::trim(after).rfind("and later", 0) == 0;
  Statement st;
  st.version = version;
  if (series) {
    st.specifier = fmt::format("=={}.*", version);
  } else if (open && op.empty()) {
    st.specifier = ">=" + version;
  } else if (!op.empty() && op != "==") {
    st.specifier = op + version;
  } else {
    // "PyTorch 1.0", "TensorFlow 1.14.0": that release series (a patch level never decides)
    const std::vector<long long>& r = parsed->release;
    st.specifier = r.size() >= 3 && s.name != "python" && s.name != "cuda"
                       ? "==" + version
                       : fmt::format("=={}.{}.*", r[0], r.size() > 1 ? r[1] : 0);
  }
  st.text = std::string(low.substr(at, i - at));
  return st;
}

bool word_boundary_before(std::string_view low, std::size_t at) {
  return at == 0 || !(is_alpha(low[at - 1]) || is_digit(low[at - 1]) || low[at - 1] == '.' ||
                      low[at - 1] == '_' || low[at - 1] == '/');
}

// Conference or journal names and the month their papers appear, for "CVPR 2019".
struct Venue {
  std::string_view name;
  int month;
};
constexpr std::array<Venue, 18> k_venues{{{"cvpr", 6},
                                          {"iccv", 10},
                                          {"eccv", 9},
                                          {"neurips", 12},
                                          {"nips", 12},
                                          {"iclr", 5},
                                          {"icml", 7},
                                          {"aaai", 2},
                                          {"acl", 7},
                                          {"emnlp", 11},
                                          {"naacl", 6},
                                          {"bmvc", 9},
                                          {"wacv", 1},
                                          {"miccai", 10},
                                          {"ijcai", 8},
                                          {"kdd", 8},
                                          {"siggraph", 8},
                                          {"interspeech", 9}}};

int year_at(std::string_view s, std::size_t i) {
  if (i + 4 > s.size()) {
    return 0;
  }
  for (std::size_t k = 0; k < 4; ++k) {
    if (!is_digit(s[i + k])) {
      return 0;
    }
  }
  if (i + 4 < s.size() && is_digit(s[i + 4])) {
    return 0;
  }
  const int y = std::stoi(std::string(s.substr(i, 4)));
  return y >= 2010 && y <= 2035 ? y : 0;
}

// "arxiv.org/abs/1904.01234", "arXiv:1904.01234", "arxiv 1904.01234": yymm of the paper.
std::optional<std::string> arxiv_date(std::string_view low) {
  std::size_t at = low.find("arxiv");
  while (at != std::string_view::npos) {
    std::size_t i = at + 5;
    // up to 12 characters of ".org/abs/", ".org/pdf/", ":", " "
    const std::size_t end = std::min(low.size(), i + 12);
    while (i < end && !is_digit(low[i])) {
      ++i;
    }
    if (i + 9 <= low.size() && low[i + 4] == '.' && is_digit(low[i + 5])) {
      bool digits = true;
      for (std::size_t k = 0; k < 4; ++k) {
        digits = digits && is_digit(low[i + k]);
      }
      if (digits) {
        const int yy = std::stoi(std::string(low.substr(i, 2)));
        const int mm = std::stoi(std::string(low.substr(i + 2, 2)));
        if (yy >= 7 && yy <= 35 && mm >= 1 && mm <= 12) {
          return fmt::format("20{:02}-{:02}-01", yy, mm);
        }
      }
    }
    at = low.find("arxiv", at + 5);
  }
  return std::nullopt;
}

// "CVPR 2019", "(ICCV'19)", "NeurIPS 2020", bibtex "year={2019}".
std::optional<std::pair<std::string, std::string>> venue_date(std::string_view low) {
  for (const Venue& v : k_venues) {
    std::size_t at = low.find(v.name);
    while (at != std::string_view::npos) {
      const std::size_t end = at + v.name.size();
      if (word_boundary_before(low, at) && (end >= low.size() || !is_alpha(low[end]))) {
        std::size_t i = end;
        while (i < low.size() &&
               (low[i] == ' ' || low[i] == '\'' || low[i] == '-' || low[i] == ',')) {
          ++i;
        }
        if (const int y = year_at(low, i); y != 0) {
          return std::pair(fmt::format("{}-{:02}-01", y, v.month), fmt::format("{} {}", v.name, y));
        }
        if (i + 2 <= low.size() && is_digit(low[i]) && is_digit(low[i + 1]) &&
            (i + 2 == low.size() || !is_digit(low[i + 2])) && low[i - 1] == '\'') {
          const int yy = std::stoi(std::string(low.substr(i, 2)));
          if (yy >= 10 && yy <= 35) {
            return std::pair(fmt::format("20{:02}-{:02}-01", yy, v.month),
                             fmt::format("{} '{}", v.name, yy));
          }
        }
      }
      at = low.find(v.name, at + 1);
    }
  }
  if (const std::size_t at = low.find("year"); at != std::string_view::npos) {
    std::size_t i = at + 4;
    while (i < low.size() && (low[i] == ' ' || low[i] == '=' || low[i] == '{' || low[i] == '"')) {
      ++i;
    }
    if (i > at + 4 && low.substr(at + 4, i - at - 4).find('=') != std::string_view::npos) {
      if (const int y = year_at(low, i); y != 0) {
        return std::pair(fmt::format("{}-06-01", y), fmt::format("year = {}", y));
      }
    }
  }
  return std::nullopt;
}

bool is_install_line(std::string_view low) {
  return low.find("pip install") != std::string_view::npos ||
         low.find("pip3 install") != std::string_view::npos ||
         low.find("conda install") != std::string_view::npos ||
         low.find("conda create") != std::string_view::npos ||
         low.find("mamba install") != std::string_view::npos;
}

// Where a line stops speaking of what the project uses: "TensorFlow 2.x is not supported",
// "(it does not support 0.4.1 or higher)", "the pytorch-1.0 branch".
std::size_t negation_at(std::string_view low) {
  // clang-format off
  static constexpr std::array<std::string_view, 19> k_words{
      "not supported", "not support", "n't support", "not work", "n't work", "not compatible",
      "incompatible", "branch", "deprecated", "nightly", "hope to", "plan to", "will support",
      "in the future", "coming soon", "todo", "no longer", "may come", "come later"};
  // clang-format on
  std::size_t at = std::string_view::npos;
  for (std::string_view w : k_words) {
    at = std::min(at, low.find(w));
  }
  return at;
}

// Version statements in one line of prose.
void version_statements(std::string_view low, const Location& where, Spec& spec) {
  const std::size_t negation = negation_at(low);
  // the sentence holding the negation says what does not work: only what comes before it counts
  std::size_t stop = low.size();
  if (negation != std::string_view::npos) {
    stop = 0;
    for (std::size_t k = negation; k > 0; --k) {
      const char c = low[k - 1];
      if (c == ';' || c == '(' || c == ',' || (c == '.' && k < low.size() && low[k] == ' ')) {
        stop = k - 1;
        break;
      }
    }
  }
  std::size_t i = 0;
  while (i < low.size()) {
    const Subject* hit = nullptr;
    for (const Subject& s : k_subjects) {
      if (low.compare(i, s.word.size(), s.word) == 0 && word_boundary_before(low, i)) {
        hit = &s;
        break;
      }
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    const auto st = i < stop ? statement_after(low, i, *hit) : std::nullopt;
    if (st) {
      if (hit->name == "python") {
        spec.add_fact(FactKind::python, st->specifier, where, Confidence::medium, st->text);
      } else if (hit->name == "cuda") {
        auto v = parse_version(st->version);
        if (v && v->release.size() >= 2 && st->specifier.rfind("==", 0) == 0) {
          spec.add_fact(FactKind::cuda,
                        fmt::format("{}.{}", v->release[0], v->release[1]),
                        where,
                        Confidence::medium,
                        st->text);
        }
      } else {
        Requirement req;
        req.written_name = std::string(hit->name);
        req.name = std::string(hit->name);
        req.specifier = st->specifier;
        if (auto set = parse_specifiers(req.specifier)) {
          req.specifiers = std::move(*set);
          req.where = where;
          req.confidence = Confidence::medium;
          req.origin = "readme-prose";
          req.optional = true; // evidence of the version, not a package to install
          add_requirement(spec, std::move(req));
        }
      }
    }
    i += hit->word.size();
  }
}

} // namespace

void parse_readme(std::string_view text, const std::string& file, Spec& spec) {
  bool have_arxiv = false;
  bool have_venue = false;
  bool in_code = false;
  for (const Line& l : lines_of(text)) {
    if (l.text.size() > 2000) {
      continue;
    }
    const std::string low = util::to_lower(l.text);
    const Location where{file, l.number};
    if (util::trim(low).rfind("```", 0) == 0) {
      in_code = !in_code;
    }
    if (!have_arxiv) {
      if (auto d = arxiv_date(low)) {
        spec.add_fact(FactKind::date, *d, where, Confidence::medium, "arXiv id");
        have_arxiv = true;
      }
    }
    if (!have_venue && !in_code) {
      if (auto d = venue_date(low)) {
        spec.add_fact(FactKind::date, d->first, where, Confidence::medium, d->second);
        have_venue = true;
      }
    } else if (!have_venue && low.find("year") != std::string::npos) {
      if (auto d = venue_date(low)) { // a bibtex block is code too
        spec.add_fact(FactKind::date, d->first, where, Confidence::medium, d->second);
        have_venue = true;
      }
    }
    if (is_install_line(low) || low.find("install") != std::string::npos) {
      std::string_view t = util::trim(l.text);
      // "$ pip install …", "> pip install", "`pip install …`"
      while (!t.empty() &&
             (t.front() == '$' || t.front() == '>' || t.front() == '`' || t.front() == '#' ||
              t.front() == '-' || t.front() == '*' || t.front() == ' ' || t.front() == '\t')) {
        t.remove_prefix(1);
      }
      std::string cleaned;
      for (char c : t) {
        cleaned += c == '`' ? ' ' : c;
      }
      const std::size_t before = spec.requirements.size();
      install_commands(cleaned, where, Confidence::medium, "readme", spec);
      if (spec.requirements.size() != before || is_install_line(low)) {
        continue; // the line was a command: its words are not prose
      }
    }
    version_statements(low, where, spec);
  }
}

} // namespace furnace::deps
