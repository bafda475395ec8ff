#pragma once
// The furnace version and the git commit the binary was built from (generated at build time).

#include <string_view>

namespace furnace::core {
std::string_view version();
std::string_view commit();
} // namespace furnace::core
