#include "help_format.hpp"

#include <sstream>

namespace furnace::cli {

std::string wrap_text(const std::string& text, std::size_t width) {
  std::string out;
  std::istringstream lines(text);
  std::string line;
  bool first_line = true;
  while (std::getline(lines, line)) {
    if (!first_line) {
      out += '\n';
    }
    first_line = false;
    std::istringstream words(line);
    std::string word;
    std::size_t col = 0;
    while (words >> word) {
      if (col > 0 && col + 1 + word.size() > width) {
        out += '\n';
        col = 0;
      } else if (col > 0) {
        out += ' ';
        ++col;
      }
      out += word;
      col += word.size();
    }
  }
  return out;
}

std::string WrappingFormatter::make_option_desc(const CLI::Option* opt) const {
  return wrap_text(CLI::Formatter::make_option_desc(opt), k_help_width - get_column_width());
}

std::string WrappingFormatter::make_subcommand(const CLI::App* sub) const {
  std::stringstream out;
  CLI::detail::format_help(out,
                           sub->get_display_name(true),
                           wrap_text(sub->get_description(), k_help_width - get_column_width()),
                           get_column_width());
  return out.str();
}

std::string WrappingFormatter::make_description(const CLI::App* app) const {
  const std::string desc = CLI::Formatter::make_description(app);
  return desc.empty() ? desc : wrap_text(desc, k_help_width) + "\n";
}

std::string WrappingFormatter::make_footer(const CLI::App* app) const {
  const std::string footer = CLI::Formatter::make_footer(app);
  return footer.empty() ? footer : wrap_text(footer, k_help_width) + "\n";
}

} // namespace furnace::cli
