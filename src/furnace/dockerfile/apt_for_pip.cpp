#include "apt_for_pip.hpp"

#include <furnace/core/error.hpp>
#include <furnace/util/strings.hpp>

namespace furnace::dockerfile {

AptForPip parse_apt_for_pip(std::string_view csv) {
  AptForPip table;
  for (const std::string& raw : util::split(csv, '\n')) {
    const std::string_view line = util::trim(raw);
    if (line.empty() || line.front() == '#' || line == "pip,apt,source" ||
        line.starts_with("pip,apt,source")) {
      continue;
    }
    const auto c1 = line.find(',');
    FURNACE_ASSERT(c1 != std::string_view::npos);
    const auto c2 = line.find(',', c1 + 1);
    FURNACE_ASSERT(c2 != std::string_view::npos);
    AptNeed need;
    for (const std::string& p : util::split(line.substr(c1 + 1, c2 - c1 - 1), ' ')) {
      if (!p.empty()) {
        need.apt.push_back(p);
      }
    }
    need.source = std::string(util::trim(line.substr(c2 + 1)));
    FURNACE_ASSERT(!need.apt.empty() && !need.source.empty());
    table[std::string(line.substr(0, c1))] = std::move(need);
  }
  return table;
}

const AptForPip& builtin_apt_for_pip() {
  static const AptForPip table = parse_apt_for_pip(embedded_data("apt_for_pip"));
  return table;
}

}  // namespace furnace::dockerfile
