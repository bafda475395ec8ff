#pragma once
// The Debian/Ubuntu packages that well-known pip packages need at run or build time
// (opencv-python -> libgl1 libglib2.0-0 ...), from data/apt_for_pip.csv, compiled in.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::dockerfile {

struct AptNeed {
  std::vector<std::string> apt;  // "libgl1", "libglib2.0-0"
  std::string source;            // where the need is documented
};

// pip name (PEP 503 normalised) -> what it needs.
using AptForPip = std::map<std::string, AptNeed>;

// Parses the CSV ("pip,apt,source"; '#' lines are comments). Malformed rows are a bug in data/
// and abort (FURNACE_ASSERT): the table is compiled in and tested.
AptForPip parse_apt_for_pip(std::string_view csv);

// The built-in table (parsed once).
const AptForPip& builtin_apt_for_pip();

// A data file compiled in at build time ("apt_for_pip": data/apt_for_pip.csv); "" when unknown.
std::string embedded_data(std::string_view name);

}  // namespace furnace::dockerfile
