#include "toml.hpp"

#include <fmt/format.h>

#include <cctype>

namespace furnace::deps {

const TomlValue* TomlValue::get(std::string_view key) const {
  if (type != Type::table) {
    return nullptr;
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) {
      return &items[i];
    }
  }
  return nullptr;
}

const TomlValue* TomlValue::path(std::initializer_list<std::string_view> path_keys) const {
  const TomlValue* v = this;
  for (std::string_view k : path_keys) {
    v = v->get(k);
    if (v == nullptr) {
      return nullptr;
    }
  }
  return v;
}

namespace {

constexpr int k_max_depth = 64;

struct ParseError {
  std::string message;
};

class Parser {
public:
  explicit Parser(std::string_view s) : m_s(s) {}

  TomlDocument run() {
    TomlDocument doc;
    doc.root.type = TomlValue::Type::table;
    std::vector<std::string> current_path;
    bool current_is_aot = false;
    while (true) {
      skip_blank_lines();
      if (m_i >= m_s.size()) {
        break;
      }
      const int line = m_line;
      std::string error;
      if (m_s[m_i] == '[') {
        const bool aot = m_i + 1 < m_s.size() && m_s[m_i + 1] == '[';
        m_i += aot ? 2 : 1;
        std::vector<std::string> keys;
        if (!parse_key(keys, error)) {
          // fallthrough to recovery
        } else {
          skip_ws();
          if (m_s.compare(m_i, aot ? 2 : 1, aot ? "]]" : "]") != 0) {
            error = aot ? "expected ']]'" : "expected ']'";
          } else {
            m_i += aot ? 2 : 1;
            TomlValue* t = open_table(doc.root, keys, aot, error, line);
            if (t != nullptr) {
              m_current = keys;
              current_path = keys;
              current_is_aot = aot;
              if (!end_of_line()) {
                error = "unexpected text after the table header";
              }
            }
          }
        }
      } else {
        std::vector<std::string> keys;
        if (parse_key(keys, error)) {
          skip_ws();
          if (m_i >= m_s.size() || m_s[m_i] != '=') {
            error = "expected '=' after the key";
          } else {
            ++m_i;
            skip_ws();
            TomlValue value;
            if (parse_value(value, error, 0)) {
              TomlValue* table = resolve_current(doc.root);
              if (table == nullptr) {
                error = "cannot find the current table";
              } else if (insert(*table, keys, std::move(value), error) && !end_of_line()) {
                error = "unexpected text after the value";
              }
            }
          }
        }
      }
      (void)current_path;
      (void)current_is_aot;
      if (!error.empty()) {
        doc.errors.push_back(TomlError{line, error});
        skip_to_next_line();
        if (doc.errors.size() > 100) {
          break;
        }
      }
    }
    return doc;
  }

private:
  void skip_ws() {
    while (m_i < m_s.size() && (m_s[m_i] == ' ' || m_s[m_i] == '\t')) {
      ++m_i;
    }
  }
  void skip_comment() {
    if (m_i < m_s.size() && m_s[m_i] == '#') {
      while (m_i < m_s.size() && m_s[m_i] != '\n') {
        ++m_i;
      }
    }
  }
  void skip_blank_lines() {
    while (m_i < m_s.size()) {
      skip_ws();
      skip_comment();
      if (m_i < m_s.size() && (m_s[m_i] == '\n' || m_s[m_i] == '\r')) {
        if (m_s[m_i] == '\n') {
          ++m_line;
        }
        ++m_i;
        continue;
      }
      break;
    }
  }
  // Whitespace and comments inside arrays span lines.
  void skip_ws_nl() {
    while (m_i < m_s.size()) {
      const char c = m_s[m_i];
      if (c == ' ' || c == '\t' || c == '\r') {
        ++m_i;
      } else if (c == '\n') {
        ++m_line;
        ++m_i;
      } else if (c == '#') {
        skip_comment();
      } else {
        break;
      }
    }
  }
  bool end_of_line() {
    skip_ws();
    skip_comment();
    if (m_i >= m_s.size()) {
      return true;
    }
    if (m_s[m_i] == '\r') {
      ++m_i;
    }
    if (m_i < m_s.size() && m_s[m_i] == '\n') {
      ++m_i;
      ++m_line;
      return true;
    }
    return m_i >= m_s.size();
  }
  void skip_to_next_line() {
    while (m_i < m_s.size() && m_s[m_i] != '\n') {
      ++m_i;
    }
    if (m_i < m_s.size()) {
      ++m_i;
      ++m_line;
    }
  }

  static bool bare_key_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
  }

  bool parse_key(std::vector<std::string>& keys, std::string& error) {
    while (true) {
      skip_ws();
      if (m_i >= m_s.size()) {
        error = "expected a key";
        return false;
      }
      const char c = m_s[m_i];
      if (c == '"' || c == '\'') {
        std::string k;
        if (!parse_single_line_string(k, error)) {
          return false;
        }
        keys.push_back(std::move(k));
      } else if (bare_key_char(c)) {
        const std::size_t start = m_i;
        while (m_i < m_s.size() && bare_key_char(m_s[m_i])) {
          ++m_i;
        }
        keys.emplace_back(m_s.substr(start, m_i - start));
      } else {
        error = fmt::format("unexpected '{}' where a key was expected", c);
        return false;
      }
      skip_ws();
      if (m_i < m_s.size() && m_s[m_i] == '.') {
        ++m_i;
        continue;
      }
      return true;
    }
  }

  bool parse_single_line_string(std::string& out, std::string& error) {
    const char q = m_s[m_i++];
    while (m_i < m_s.size() && m_s[m_i] != q) {
      const char c = m_s[m_i];
      if (c == '\n') {
        error = "unterminated string";
        return false;
      }
      if (c == '\\' && q == '"') {
        if (!escape(out, error)) {
          return false;
        }
        continue;
      }
      out += c;
      ++m_i;
    }
    if (m_i >= m_s.size()) {
      error = "unterminated string";
      return false;
    }
    ++m_i;
    return true;
  }

  bool escape(std::string& out, std::string& error) {
    ++m_i;  // the backslash
    if (m_i >= m_s.size()) {
      error = "unterminated escape";
      return false;
    }
    const char e = m_s[m_i++];
    switch (e) {
      case 'n':
        out += '\n';
        return true;
      case 't':
        out += '\t';
        return true;
      case 'r':
        out += '\r';
        return true;
      case 'b':
        out += '\b';
        return true;
      case 'f':
        out += '\f';
        return true;
      case '"':
      case '\\':
        out += e;
        return true;
      case 'u':
      case 'U': {
        const std::size_t n = e == 'u' ? 4 : 8;
        if (m_i + n > m_s.size()) {
          error = "short unicode escape";
          return false;
        }
        unsigned long cp = 0;
        for (std::size_t k = 0; k < n; ++k) {
          const char h = m_s[m_i + k];
          if (std::isxdigit(static_cast<unsigned char>(h)) == 0) {
            error = "invalid unicode escape";
            return false;
          }
          cp = cp * 16 + static_cast<unsigned long>(std::isdigit(static_cast<unsigned char>(h)) != 0
                                                        ? h - '0'
                                                        : (std::tolower(static_cast<unsigned char>(h)) - 'a' + 10));
        }
        m_i += n;
        if (cp < 0x80) {
          out += static_cast<char>(cp);
        } else {
          out += '?';  // non-ASCII never matters for requirements
        }
        return true;
      }
      case '\n':
      case ' ':
      case '\t':
      case '\r':
        // line-ending backslash in multi-line strings: trim following whitespace
        while (m_i < m_s.size() && std::isspace(static_cast<unsigned char>(m_s[m_i])) != 0) {
          if (m_s[m_i] == '\n') {
            ++m_line;
          }
          ++m_i;
        }
        return true;
      default:
        error = fmt::format("invalid escape '\\{}'", e);
        return false;
    }
  }

  bool parse_multiline_string(std::string& out, std::string& error) {
    const char q = m_s[m_i];
    m_i += 3;
    if (m_i < m_s.size() && m_s[m_i] == '\n') {
      ++m_i;
      ++m_line;
    }
    const std::string close(3, q);
    while (m_i < m_s.size()) {
      if (m_s.compare(m_i, 3, close) == 0) {
        m_i += 3;
        // up to two more quotes belong to the content
        while (m_i < m_s.size() && m_s[m_i] == q && out.size() < std::string::npos) {
          out += q;
          ++m_i;
        }
        return true;
      }
      const char c = m_s[m_i];
      if (c == '\\' && q == '"') {
        if (!escape(out, error)) {
          return false;
        }
        continue;
      }
      if (c == '\n') {
        ++m_line;
      }
      out += c;
      ++m_i;
    }
    error = "unterminated multi-line string";
    return false;
  }

  bool parse_value(TomlValue& v, std::string& error, int depth) {
    if (depth > k_max_depth) {
      error = "values nested too deeply";
      return false;
    }
    v.line = m_line;
    if (m_i >= m_s.size()) {
      error = "expected a value";
      return false;
    }
    const char c = m_s[m_i];
    if (c == '"' || c == '\'') {
      v.type = TomlValue::Type::string;
      if (m_s.compare(m_i, 3, std::string(3, c)) == 0) {
        return parse_multiline_string(v.text, error);
      }
      return parse_single_line_string(v.text, error);
    }
    if (c == '[') {
      v.type = TomlValue::Type::array;
      ++m_i;
      while (true) {
        skip_ws_nl();
        if (m_i >= m_s.size()) {
          error = "unterminated array";
          return false;
        }
        if (m_s[m_i] == ']') {
          ++m_i;
          return true;
        }
        TomlValue item;
        if (!parse_value(item, error, depth + 1)) {
          return false;
        }
        v.items.push_back(std::move(item));
        skip_ws_nl();
        if (m_i < m_s.size() && m_s[m_i] == ',') {
          ++m_i;
          continue;
        }
        skip_ws_nl();
        if (m_i < m_s.size() && m_s[m_i] == ']') {
          ++m_i;
          return true;
        }
        error = "expected ',' or ']' in an array";
        return false;
      }
    }
    if (c == '{') {
      v.type = TomlValue::Type::table;
      v.inline_table = true;
      ++m_i;
      skip_ws();
      if (m_i < m_s.size() && m_s[m_i] == '}') {
        ++m_i;
        return true;
      }
      while (true) {
        std::vector<std::string> keys;
        if (!parse_key(keys, error)) {
          return false;
        }
        skip_ws();
        if (m_i >= m_s.size() || m_s[m_i] != '=') {
          error = "expected '=' in an inline table";
          return false;
        }
        ++m_i;
        skip_ws();
        TomlValue item;
        if (!parse_value(item, error, depth + 1)) {
          return false;
        }
        if (!insert(v, keys, std::move(item), error)) {
          return false;
        }
        skip_ws();
        if (m_i < m_s.size() && m_s[m_i] == ',') {
          ++m_i;
          skip_ws();
          continue;
        }
        if (m_i < m_s.size() && m_s[m_i] == '}') {
          ++m_i;
          return true;
        }
        error = "expected ',' or '}' in an inline table";
        return false;
      }
    }
    // bare: boolean, number, date
    const std::size_t start = m_i;
    while (m_i < m_s.size()) {
      const char d = m_s[m_i];
      if (d == ',' || d == ']' || d == '}' || d == '\n' || d == '\r' || d == '#') {
        break;
      }
      if (d == ' ' && !(m_i + 1 < m_s.size() && std::isdigit(static_cast<unsigned char>(m_s[m_i + 1])) != 0 &&
                        m_i > start && std::isdigit(static_cast<unsigned char>(m_s[m_i - 1])) != 0)) {
        break;  // "1979-05-27 07:32:00" keeps its space
      }
      ++m_i;
    }
    std::string text(m_s.substr(start, m_i - start));
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
      text.pop_back();
    }
    if (text.empty()) {
      error = "expected a value";
      return false;
    }
    if (text == "true" || text == "false") {
      v.type = TomlValue::Type::boolean;
      v.boolean = text == "true";
    } else if (std::isdigit(static_cast<unsigned char>(text[0])) != 0 || text[0] == '+' || text[0] == '-' ||
               text == "inf" || text == "nan") {
      const bool date = text.size() >= 8 && (text[4] == '-' || text[2] == ':');
      const bool flt = text.find_first_of(".eE") != std::string::npos && text.rfind("0x", 0) != 0;
      v.type = date ? TomlValue::Type::datetime
                    : (flt || text.find("inf") != std::string::npos || text.find("nan") != std::string::npos
                           ? TomlValue::Type::floating
                           : TomlValue::Type::integer);
    } else {
      error = fmt::format("invalid value '{}'", text.substr(0, 40));
      return false;
    }
    v.text = std::move(text);
    return true;
  }

  static TomlValue* child(TomlValue& t, const std::string& key) {
    for (std::size_t i = 0; i < t.keys.size(); ++i) {
      if (t.keys[i] == key) {
        return &t.items[i];
      }
    }
    return nullptr;
  }

  static TomlValue* add_child(TomlValue& t, const std::string& key, TomlValue v) {
    t.keys.push_back(key);
    t.items.push_back(std::move(v));
    return &t.items.back();
  }

  // The table a dotted key walks into: the last element of an array of tables, or a table.
  static TomlValue* descend(TomlValue* v) {
    if (v->type == TomlValue::Type::array && v->array_of_tables && !v->items.empty()) {
      return &v->items.back();
    }
    return v->type == TomlValue::Type::table ? v : nullptr;
  }

  bool insert(TomlValue& table, const std::vector<std::string>& keys, TomlValue value,
              std::string& error) {
    TomlValue* t = &table;
    for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
      TomlValue* c = child(*t, keys[i]);
      if (c == nullptr) {
        TomlValue nt;
        nt.type = TomlValue::Type::table;
        nt.line = value.line;
        c = add_child(*t, keys[i], std::move(nt));
      }
      t = descend(c);
      if (t == nullptr) {
        error = fmt::format("'{}' is not a table", keys[i]);
        return false;
      }
    }
    if (child(*t, keys.back()) != nullptr) {
      error = fmt::format("'{}' is defined twice", keys.back());
      return false;
    }
    add_child(*t, keys.back(), std::move(value));
    return true;
  }

  TomlValue* open_table(TomlValue& root, const std::vector<std::string>& keys, bool aot,
                        std::string& error, int line) {
    TomlValue* t = &root;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const bool last = i + 1 == keys.size();
      TomlValue* c = child(*t, keys[i]);
      if (last && aot) {
        if (c == nullptr) {
          TomlValue arr;
          arr.type = TomlValue::Type::array;
          arr.array_of_tables = true;
          arr.line = line;
          c = add_child(*t, keys[i], std::move(arr));
        }
        if (c->type != TomlValue::Type::array || !c->array_of_tables) {
          error = fmt::format("'{}' is not an array of tables", keys[i]);
          return nullptr;
        }
        TomlValue nt;
        nt.type = TomlValue::Type::table;
        nt.line = line;
        c->items.push_back(std::move(nt));
        return &c->items.back();
      }
      if (c == nullptr) {
        TomlValue nt;
        nt.type = TomlValue::Type::table;
        nt.line = line;
        c = add_child(*t, keys[i], std::move(nt));
      }
      t = descend(c);
      if (t == nullptr || (last && t->inline_table)) {
        error = fmt::format("'{}' is not a table", keys[i]);
        return nullptr;
      }
    }
    return t;
  }

  TomlValue* resolve_current(TomlValue& root) {
    TomlValue* t = &root;
    for (const std::string& k : m_current) {
      TomlValue* c = child(*t, k);
      if (c == nullptr) {
        return nullptr;
      }
      t = descend(c);
      if (t == nullptr) {
        return nullptr;
      }
    }
    return t;
  }

  std::string_view m_s;
  std::size_t m_i = 0;
  int m_line = 1;
  std::vector<std::string> m_current;
};

}  // namespace

TomlDocument parse_toml(std::string_view text) { return Parser(text).run(); }

}  // namespace furnace::deps
