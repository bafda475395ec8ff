#pragma once
// A small TOML reader for pyproject.toml and Pipfile: tables, arrays of tables, dotted and quoted
// keys, strings (basic, literal, multi-line), numbers, booleans, dates (kept as text), arrays and
// inline tables. Every value keeps its line. Errors are collected per line and parsing goes on
// with the next line, so one bad line does not hide the rest of the file.

#include <string>
#include <string_view>
#include <vector>

namespace furnace::deps {

struct TomlValue {
  enum class Type { string, integer, floating, boolean, datetime, array, table };
  Type type = Type::table;
  std::string text;  // string value, or the literal text of a number/date
  bool boolean = false;
  int line = 0;
  std::vector<TomlValue> items;   // array elements / table values
  std::vector<std::string> keys;  // table keys, parallel to `items`
  bool inline_table = false;      // defined with { } or by a key-value (cannot be reopened)
  bool array_of_tables = false;

  bool is_table() const { return type == Type::table; }
  bool is_array() const { return type == Type::array; }
  bool is_string() const { return type == Type::string; }
  // The value under `key` in a table; nullptr when absent or not a table.
  const TomlValue* get(std::string_view key) const;
  // get() along a path of keys.
  const TomlValue* path(std::initializer_list<std::string_view> keys) const;
};

struct TomlError {
  int line = 0;
  std::string message;
};

struct TomlDocument {
  TomlValue root;
  std::vector<TomlError> errors;
};

TomlDocument parse_toml(std::string_view text);

}  // namespace furnace::deps
