#pragma once
// Small string helpers with no furnace knowledge.

#include <string>
#include <string_view>
#include <vector>

namespace furnace::util {

std::string_view trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
std::string to_lower(std::string_view s);
// "1.5 GiB"-style size for people.
std::string human_bytes(unsigned long long bytes);

} // namespace furnace::util
