#pragma once
// Ui: results go to stdout, progress and diagnostics to stderr, in one shape
// ("furnace: error: ...", "  hint: ..."). Tests give it string streams and read them back.

#include <furnace/core/error.hpp>

#include <ostream>
#include <string>

namespace furnace::core {

class Ui {
public:
  Ui(std::ostream& out, std::ostream& err, bool color) : m_out(out), m_err(err), m_color(color) {}

  std::ostream& out() { return m_out; }
  std::ostream& err() { return m_err; }
  bool color() const { return m_color; }
  // Whether stderr is a terminal a person watches: long jobs show a quiet step view there and
  // their full output elsewhere (a log file).
  bool interactive() const { return m_interactive; }
  void set_interactive(bool on) { m_interactive = on; }
  // --quiet: no progress and no informational lines; warnings, errors and results still show.
  bool quiet() const { return m_quiet; }
  void set_quiet(bool on) { m_quiet = on; }

  void error(const Error& e);
  void warn(const std::string& message, const std::string& hint = {});
  void info(const std::string& message);

  // Wraps `text` in an ANSI colour when colour is on: "green", "yellow", "red", "bold", "dim".
  std::string paint(const std::string& text, const char* style) const;

private:
  std::ostream& m_out;
  std::ostream& m_err;
  bool m_color;
  bool m_interactive = false;
  bool m_quiet = false;
};

} // namespace furnace::core
