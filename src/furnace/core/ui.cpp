#include "ui.hpp"

#include <cstring>

namespace furnace::core {

void Ui::error(const Error& e) {
  m_err << "furnace: error: " << e.message << '\n';
  if (!e.hint.empty()) {
    m_err << "  hint: " << e.hint << '\n';
  }
}

void Ui::warn(const std::string& message, const std::string& hint) {
  m_err << "furnace: warning: " << message << '\n';
  if (!hint.empty()) {
    m_err << "  hint: " << hint << '\n';
  }
}

void Ui::info(const std::string& message) {
  if (!m_quiet) {
    m_err << message << '\n';
  }
}

std::string Ui::paint(const std::string& text, const char* style) const {
  if (!m_color) {
    return text;
  }
  const char* code = "0";
  if (std::strcmp(style, "green") == 0) {
    code = "32";
  } else if (std::strcmp(style, "yellow") == 0) {
    code = "33";
  } else if (std::strcmp(style, "red") == 0) {
    code = "31";
  } else if (std::strcmp(style, "bold") == 0) {
    code = "1";
  } else if (std::strcmp(style, "dim") == 0) {
    code = "2";
  }
  return std::string("\033[") + code + "m" + text + "\033[0m";
}

} // namespace furnace::core
