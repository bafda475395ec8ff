#include "pep440.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>

namespace furnace::deps {

namespace {

constexpr long long k_max_component = 1'000'000'000'000LL;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_sep(char c) { return c == '.' || c == '-' || c == '_'; }
char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Reads a decimal number at `i`; false when there is none or it is absurdly large.
bool read_number(std::string_view s, std::size_t& i, long long& out) {
  if (i >= s.size() || !is_digit(s[i])) {
    return false;
  }
  long long v = 0;
  while (i < s.size() && is_digit(s[i])) {
    if (v > k_max_component) {
      return false;
    }
    v = v * 10 + (s[i] - '0');
    ++i;
  }
  out = v;
  return true;
}

// Matches one of `words` (lowercase) at `i`, case-insensitively; returns its index or -1.
int match_word(std::string_view s, std::size_t i, std::initializer_list<std::string_view> words,
               std::size_t& len) {
  int idx = 0;
  for (std::string_view w : words) {
    if (i + w.size() <= s.size()) {
      bool ok = true;
      for (std::size_t k = 0; k < w.size(); ++k) {
        if (lower(s[i + k]) != w[k]) {
          ok = false;
          break;
        }
      }
      if (ok) {
        len = w.size();
        return idx;
      }
    }
    ++idx;
  }
  return -1;
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
    s.remove_suffix(1);
  }
  return s;
}

int cmp_ll(long long a, long long b) { return a < b ? -1 : (a > b ? 1 : 0); }

int compare_local(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) {
    return a.empty() ? (b.empty() ? 0 : -1) : 1;
  }
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const std::size_t ie = std::min(a.find('.', i), a.size());
    const std::size_t je = std::min(b.find('.', j), b.size());
    const std::string_view x(a.data() + i, ie - i);
    const std::string_view y(b.data() + j, je - j);
    const bool xn = !x.empty() && std::all_of(x.begin(), x.end(), is_digit);
    const bool yn = !y.empty() && std::all_of(y.begin(), y.end(), is_digit);
    int c = 0;
    if (xn && yn) {
      std::string_view xs = x;
      std::string_view ys = y;
      while (xs.size() > 1 && xs.front() == '0') {
        xs.remove_prefix(1);
      }
      while (ys.size() > 1 && ys.front() == '0') {
        ys.remove_prefix(1);
      }
      c = xs.size() != ys.size() ? (xs.size() < ys.size() ? -1 : 1) : xs.compare(ys);
    } else if (xn != yn) {
      c = xn ? 1 : -1;  // numeric segments sort after alphanumeric ones
    } else {
      c = x.compare(y);
    }
    if (c != 0) {
      return c < 0 ? -1 : 1;
    }
    i = ie + 1;
    j = je + 1;
  }
  const bool a_more = i < a.size();
  const bool b_more = j < b.size();
  return a_more == b_more ? 0 : (a_more ? 1 : -1);
}

// Key pieces for ordering, per PEP 440 ("dev of a final sorts before its pre-releases").
struct Key {
  int pre_rank;  // -2: dev-only final, 0..2 pre kind, 3: none
  long long pre_num;
  long long post;  // -1 none
  long long dev;   // max when none
};

Key key_of(const Version& v) {
  Key k{};
  if (v.pre_kind < 0 && v.post < 0 && v.dev >= 0) {
    k.pre_rank = -2;
    k.pre_num = 0;
  } else if (v.pre_kind >= 0) {
    k.pre_rank = v.pre_kind;
    k.pre_num = v.pre_num;
  } else {
    k.pre_rank = 3;
    k.pre_num = 0;
  }
  k.post = v.post;
  k.dev = v.dev >= 0 ? v.dev : std::numeric_limits<long long>::max();
  return k;
}

bool release_prefix_matches(const Version& candidate, const Version& prefix) {
  if (candidate.epoch != prefix.epoch) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.release.size(); ++i) {
    if (candidate.at(i) != prefix.release[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string Version::str() const {
  std::string out;
  if (epoch != 0) {
    out += fmt::format("{}!", epoch);
  }
  for (std::size_t i = 0; i < release.size(); ++i) {
    if (i != 0) {
      out += '.';
    }
    out += std::to_string(release[i]);
  }
  if (pre_kind >= 0) {
    static constexpr const char* k_names[] = {"a", "b", "rc"};
    out += fmt::format("{}{}", k_names[pre_kind], pre_num);
  }
  if (post >= 0) {
    out += fmt::format(".post{}", post);
  }
  if (dev >= 0) {
    out += fmt::format(".dev{}", dev);
  }
  if (!local.empty()) {
    out += '+';
    out += local;
  }
  return out;
}

Version Version::public_version() const {
  Version v = *this;
  v.local.clear();
  return v;
}

// One pass over PEP 440's grammar with its normalisation rules (129 lines): the cursor moves
// through epoch, release, pre, post, dev and local in order, and splitting the pass would spread
// that one cursor over several functions.
std::optional<Version> parse_version(std::string_view text) {
  const std::string_view s = strip(text);
  Version v;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == 'v' || s[i] == 'V')) {
    ++i;
  }
  long long n = 0;
  if (!read_number(s, i, n)) {
    return std::nullopt;
  }
  if (i < s.size() && s[i] == '!') {
    v.epoch = n;
    ++i;
    if (!read_number(s, i, n)) {
      return std::nullopt;
    }
  }
  v.release.push_back(n);
  while (i + 1 < s.size() && s[i] == '.' && is_digit(s[i + 1])) {
    ++i;
    if (!read_number(s, i, n) || v.release.size() > 64) {
      return std::nullopt;
    }
    v.release.push_back(n);
  }
  // pre-release
  {
    std::size_t j = i;
    if (j < s.size() && is_sep(s[j])) {
      ++j;
    }
    std::size_t len = 0;
    const int w = match_word(s, j, {"alpha", "beta", "preview", "pre", "rc", "a", "b", "c"}, len);
    if (w >= 0) {
      static constexpr int k_kind[] = {0, 1, 2, 2, 2, 0, 1, 2};
      v.pre_kind = k_kind[w];
      j += len;
      std::size_t k = j;
      if (k < s.size() && is_sep(s[k])) {
        ++k;
      }
      long long pn = 0;
      if (read_number(s, k, pn)) {
        v.pre_num = pn;
        j = k;
      }
      i = j;
    }
  }
  // post-release
  {
    std::size_t j = i;
    if (j < s.size() && s[j] == '-' && j + 1 < s.size() && is_digit(s[j + 1])) {
      ++j;
      long long pn = 0;
      read_number(s, j, pn);
      v.post = pn;
      i = j;
    } else {
      if (j < s.size() && is_sep(s[j])) {
        ++j;
      }
      std::size_t len = 0;
      if (match_word(s, j, {"post", "rev", "r"}, len) >= 0) {
        j += len;
        std::size_t k = j;
        if (k < s.size() && is_sep(s[k])) {
          ++k;
        }
        long long pn = 0;
        if (read_number(s, k, pn)) {
          j = k;
        }
        v.post = pn;
        i = j;
      }
    }
  }
  // dev-release
  {
    std::size_t j = i;
    if (j < s.size() && is_sep(s[j])) {
      ++j;
    }
    std::size_t len = 0;
    if (match_word(s, j, {"dev"}, len) >= 0) {
      j += len;
      std::size_t k = j;
      if (k < s.size() && is_sep(s[k])) {
        ++k;
      }
      long long dn = 0;
      if (read_number(s, k, dn)) {
        j = k;
      }
      v.dev = dn;
      i = j;
    }
  }
  if (i < s.size() && s[i] == '+') {
    ++i;
    if (i >= s.size()) {
      return std::nullopt;
    }
    std::string local;
    for (; i < s.size(); ++i) {
      const char c = s[i];
      if (is_alnum(c)) {
        local += lower(c);
      } else if (is_sep(c)) {
        if (local.empty() || local.back() == '.') {
          return std::nullopt;
        }
        local += '.';
      } else {
        return std::nullopt;
      }
    }
    if (local.empty() || local.back() == '.') {
      return std::nullopt;
    }
    v.local = std::move(local);
  }
  if (i != s.size()) {
    return std::nullopt;
  }
  return v;
}

int compare(const Version& a, const Version& b) {
  if (int c = cmp_ll(a.epoch, b.epoch); c != 0) {
    return c;
  }
  const std::size_t n = std::max(a.release.size(), b.release.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (int c = cmp_ll(a.at(i), b.at(i)); c != 0) {
      return c;
    }
  }
  const Key ka = key_of(a);
  const Key kb = key_of(b);
  if (int c = cmp_ll(ka.pre_rank, kb.pre_rank); c != 0) {
    return c;
  }
  if (int c = cmp_ll(ka.pre_num, kb.pre_num); c != 0) {
    return c;
  }
  if (int c = cmp_ll(ka.post, kb.post); c != 0) {
    return c;
  }
  if (int c = cmp_ll(ka.dev, kb.dev); c != 0) {
    return c;
  }
  return compare_local(a.local, b.local);
}

bool Specifier::contains(const Version& v) const {
  const Version pub = v.public_version();
  switch (op) {
    case Op::arbitrary:
      return v.str() == text || pub.str() == text;
    case Op::equal:
      if (wildcard) {
        return release_prefix_matches(v, version);
      }
      if (!version.local.empty()) {
        return compare(v, version) == 0;
      }
      return compare(pub, version) == 0;
    case Op::not_equal: {
      Specifier eq = *this;
      eq.op = Op::equal;
      return !eq.contains(v);
    }
    case Op::compatible: {
      if (compare(pub, version) < 0) {
        return false;
      }
      Version prefix = version;
      prefix.release.pop_back();
      return release_prefix_matches(v, prefix);
    }
    case Op::greater_equal:
      return compare(pub, version) >= 0;
    case Op::less_equal:
      return compare(pub, version) <= 0;
    case Op::greater: {
      if (compare(pub, version) <= 0) {
        return false;
      }
      // ">1.7" excludes 1.7.post1 unless the specifier is itself a post-release
      if (version.post < 0 && pub.post >= 0) {
        Version base = pub;
        base.post = -1;
        base.dev = -1;
        return compare(base, version) != 0;
      }
      return true;
    }
    case Op::less: {
      if (compare(pub, version) >= 0) {
        return false;
      }
      // "<2.0" excludes 2.0rc1 unless the specifier is itself a pre-release
      if (!version.is_prerelease() && pub.is_prerelease()) {
        return !release_prefix_matches(pub, version) || pub.release.size() < version.release.size();
      }
      return true;
    }
  }
  return false;
}

std::string Specifier::str() const {
  static constexpr const char* k_ops[] = {"==", "!=", "~=", ">=", "<=", ">", "<", "==="};
  if (op == Op::arbitrary) {
    return std::string("===") + text;
  }
  return std::string(k_ops[static_cast<int>(op)]) + version.str() + (wildcard ? ".*" : "");
}

bool SpecifierSet::contains(const Version& v) const {
  bool allow_pre = false;
  for (const Specifier& s : items) {
    if (s.version.is_prerelease()) {
      allow_pre = true;
    }
  }
  if (v.is_prerelease() && !allow_pre) {
    return false;
  }
  return std::all_of(items.begin(), items.end(), [&](const Specifier& s) { return s.contains(v); });
}

std::string SpecifierSet::str() const {
  std::string out;
  for (const Specifier& s : items) {
    if (!out.empty()) {
      out += ',';
    }
    out += s.str();
  }
  return out;
}

core::Result<SpecifierSet> parse_specifiers(std::string_view text) {
  SpecifierSet set;
  std::string_view rest = strip(text);
  if (rest.empty()) {
    return set;
  }
  std::size_t start = 0;
  while (start <= rest.size()) {
    const std::size_t comma = std::min(rest.find(',', start), rest.size());
    std::string_view piece = strip(rest.substr(start, comma - start));
    start = comma + 1;
    if (piece.empty()) {
      if (comma >= rest.size()) {
        break;
      }
      return core::fail(core::ErrorKind::invalid, fmt::format("empty specifier in '{}'", text));
    }
    Specifier s;
    static constexpr std::pair<std::string_view, Op> k_ops[] = {
        {"===", Op::arbitrary}, {"==", Op::equal}, {"!=", Op::not_equal},
        {"~=", Op::compatible}, {">=", Op::greater_equal}, {"<=", Op::less_equal},
        {">", Op::greater},     {"<", Op::less}};
    bool found = false;
    for (const auto& [tok, op] : k_ops) {
      if (piece.substr(0, tok.size()) == tok) {
        s.op = op;
        piece = strip(piece.substr(tok.size()));
        found = true;
        break;
      }
    }
    if (!found) {
      // A bare version ("1.4") is read as "==1.4", as pip's legacy parser did.
      s.op = Op::equal;
    }
    s.text = std::string(piece);
    if (s.op == Op::arbitrary) {
      if (auto v = parse_version(piece)) {
        s.version = *v;
      }
      set.items.push_back(std::move(s));
      if (comma >= rest.size()) {
        break;
      }
      continue;
    }
    if ((s.op == Op::equal || s.op == Op::not_equal) && piece.size() >= 2 &&
        piece.substr(piece.size() - 2) == ".*") {
      s.wildcard = true;
      piece.remove_suffix(2);
    }
    auto v = parse_version(piece);
    if (!v) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("invalid version '{}' in '{}'", piece, strip(text)));
    }
    if (s.op == Op::compatible && v->release.size() < 2) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("'~={}' needs at least two release numbers", piece));
    }
    s.version = std::move(*v);
    set.items.push_back(std::move(s));
    if (comma >= rest.size()) {
      break;
    }
  }
  return set;
}

std::string normalize_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  bool pending_sep = false;
  for (char c : strip(name)) {
    if (is_sep(c)) {
      pending_sep = !out.empty();
      continue;
    }
    if (pending_sep) {
      out += '-';
      pending_sep = false;
    }
    out += lower(c);
  }
  return out;
}

// ---- markers ----

namespace {

class MarkerParser {
public:
  MarkerParser(std::string_view s, const MarkerEnv& env) : m_s(s), m_env(env) {}

  core::Result<Tristate> parse() {
    auto r = parse_or();
    if (!r) {
      return r;
    }
    skip_ws();
    if (m_i != m_s.size()) {
      return error("unexpected text");
    }
    return r;
  }

private:
  util::Unexpected<core::Error> error(const std::string& what) const {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("invalid marker '{}': {} at column {}", m_s, what, m_i + 1));
  }
  void skip_ws() {
    while (m_i < m_s.size() && std::isspace(static_cast<unsigned char>(m_s[m_i])) != 0) {
      ++m_i;
    }
  }
  bool keyword(std::string_view kw) {
    skip_ws();
    if (m_s.substr(m_i, kw.size()) == kw &&
        (m_i + kw.size() == m_s.size() || !is_alnum(m_s[m_i + kw.size()]))) {
      m_i += kw.size();
      return true;
    }
    return false;
  }
  static Tristate t_and(Tristate a, Tristate b) {
    if (a == Tristate::no || b == Tristate::no) {
      return Tristate::no;
    }
    return a == Tristate::yes && b == Tristate::yes ? Tristate::yes : Tristate::unknown;
  }
  static Tristate t_or(Tristate a, Tristate b) {
    if (a == Tristate::yes || b == Tristate::yes) {
      return Tristate::yes;
    }
    return a == Tristate::no && b == Tristate::no ? Tristate::no : Tristate::unknown;
  }
  core::Result<Tristate> parse_or() {
    auto left = parse_and();
    if (!left) {
      return left;
    }
    Tristate v = *left;
    while (keyword("or")) {
      auto right = parse_and();
      if (!right) {
        return right;
      }
      v = t_or(v, *right);
    }
    return v;
  }
  core::Result<Tristate> parse_and() {
    auto left = parse_atom();
    if (!left) {
      return left;
    }
    Tristate v = *left;
    while (keyword("and")) {
      auto right = parse_atom();
      if (!right) {
        return right;
      }
      v = t_and(v, *right);
    }
    return v;
  }
  core::Result<Tristate> parse_atom() {
    if (++m_depth > 64) {
      return error("nested too deeply");
    }
    skip_ws();
    if (m_i < m_s.size() && m_s[m_i] == '(') {
      ++m_i;
      auto v = parse_or();
      if (!v) {
        return v;
      }
      skip_ws();
      if (m_i >= m_s.size() || m_s[m_i] != ')') {
        return error("missing ')'");
      }
      ++m_i;
      --m_depth;
      return v;
    }
    auto lhs = parse_value();
    if (!lhs) {
      return util::Unexpected<core::Error>(lhs.error());
    }
    auto op = parse_op();
    if (!op) {
      return util::Unexpected<core::Error>(op.error());
    }
    auto rhs = parse_value();
    if (!rhs) {
      return util::Unexpected<core::Error>(rhs.error());
    }
    --m_depth;
    return apply(*lhs, *op, *rhs);
  }

  struct Value {
    std::optional<std::string> text;  // nullopt: unknown
    bool is_python = false;
  };

  core::Result<Value> parse_value() {
    skip_ws();
    if (m_i >= m_s.size()) {
      return error("missing value");
    }
    const char q = m_s[m_i];
    if (q == '"' || q == '\'') {
      const std::size_t end = m_s.find(q, m_i + 1);
      if (end == std::string_view::npos) {
        return error("unterminated string");
      }
      Value v;
      v.text = std::string(m_s.substr(m_i + 1, end - m_i - 1));
      m_i = end + 1;
      return v;
    }
    std::size_t j = m_i;
    while (j < m_s.size() && (is_alnum(m_s[j]) || m_s[j] == '_' || m_s[j] == '.')) {
      ++j;
    }
    if (j == m_i) {
      return error("expected a variable or a quoted string");
    }
    std::string name(m_s.substr(m_i, j - m_i));
    m_i = j;
    Value v;
    if (name == "python_version" || name == "python_full_version") {
      v.is_python = true;
      v.text = m_env.python_version;
      return v;
    }
    static const std::map<std::string, std::string, std::less<>> k_linux = {
        {"os_name", "posix"},
        {"os.name", "posix"},
        {"sys_platform", "linux"},
        {"sys.platform", "linux"},
        {"platform_system", "Linux"},
        {"platform_machine", "x86_64"},
        {"platform.machine", "x86_64"},
        {"platform_python_implementation", "CPython"},
        {"platform.python_implementation", "CPython"},
        {"implementation_name", "cpython"},
    };
    if (auto it = k_linux.find(name); it != k_linux.end()) {
      v.text = it->second;
      return v;
    }
    if (name == "platform_release" || name == "platform_version" ||
        name == "implementation_version") {
      return v;  // unknown
    }
    if (name == "extra") {
      v.text = std::string();
      return v;
    }
    return util::Unexpected<core::Error>(
        core::make_error(core::ErrorKind::invalid,
                         fmt::format("invalid marker '{}': unknown variable '{}'", m_s, name)));
  }

  core::Result<std::string> parse_op() {
    skip_ws();
    for (std::string_view op : {"===", "==", "!=", "~=", ">=", "<=", ">", "<"}) {
      if (m_s.substr(m_i, op.size()) == op) {
        m_i += op.size();
        return std::string(op);
      }
    }
    if (keyword("in")) {
      return std::string("in");
    }
    if (keyword("not")) {
      if (keyword("in")) {
        return std::string("not in");
      }
      return error("expected 'in' after 'not'");
    }
    return error("expected a comparison operator");
  }

  static Tristate from_bool(bool b) { return b ? Tristate::yes : Tristate::no; }

  static core::Result<Tristate> apply(const Value& lhs, const std::string& op, const Value& rhs) {
    if (!lhs.text || !rhs.text) {
      return Tristate::unknown;
    }
    const std::string& a = *lhs.text;
    const std::string& b = *rhs.text;
    if (op == "in") {
      return from_bool(b.find(a) != std::string::npos);
    }
    if (op == "not in") {
      return from_bool(b.find(a) == std::string::npos);
    }
    if (op != "===") {
      auto va = parse_version(a);
      auto vb = parse_version(b);
      if (va && vb) {
        if (!rhs.is_python) {
          // 'python_version == "3.*"' and friends: the right side is a specifier operand
          if (auto spec = parse_specifiers(op + b)) {
            return from_bool(spec->contains(*va));
          }
        }
        const int c = compare(*va, *vb);
        if (op == "==" || op == "~=") {
          return from_bool(c == 0);
        }
        if (op == "!=") {
          return from_bool(c != 0);
        }
        if (op == "<") {
          return from_bool(c < 0);
        }
        if (op == "<=") {
          return from_bool(c <= 0);
        }
        if (op == ">") {
          return from_bool(c > 0);
        }
        if (op == ">=") {
          return from_bool(c >= 0);
        }
      }
    }
    if (op == "==" || op == "===") {
      return from_bool(a == b);
    }
    if (op == "!=") {
      return from_bool(a != b);
    }
    // ordering of non-versions: compare as strings, as packaging does for legacy values
    if (op == "<") {
      return from_bool(a < b);
    }
    if (op == "<=") {
      return from_bool(a <= b);
    }
    if (op == ">") {
      return from_bool(a > b);
    }
    if (op == ">=") {
      return from_bool(a >= b);
    }
    return Tristate::unknown;
  }

  std::string_view m_s;
  const MarkerEnv& m_env;
  std::size_t m_i = 0;
  int m_depth = 0;
};

}  // namespace

core::Result<Tristate> evaluate_marker(std::string_view marker, const MarkerEnv& env) {
  return MarkerParser(strip(marker), env).parse();
}

}  // namespace furnace::deps
