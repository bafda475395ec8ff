#pragma once
// --help that fits an 80-column terminal: CLI11's layout (names in a 30-column gutter), with every
// description, the command's own text and the footer wrapped at word boundaries.

#include <CLI/CLI.hpp>

#include <string>

namespace furnace::cli {

inline constexpr std::size_t k_help_width = 80;

// Greedy word wrap of each line of `text` at `width` columns (a longer word stays whole).
std::string wrap_text(const std::string& text, std::size_t width);

class WrappingFormatter : public CLI::Formatter {
public:
  std::string make_option_desc(const CLI::Option* opt) const override;
  std::string make_subcommand(const CLI::App* sub) const override;
  std::string make_description(const CLI::App* app) const override;
  std::string make_footer(const CLI::App* app) const override;
};

} // namespace furnace::cli
