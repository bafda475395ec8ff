#pragma once
// A project held in memory ({"requirements.txt": "torch==1.4.0\n", …}) parsed as the disk walk
// would: the same parsers, a reader over the map. For resolver tests that need no files.

#include <furnace/deps/project.hpp>

#include <map>
#include <string>
#include <vector>

namespace furnace::testing {

inline deps::Spec parse_files(const std::map<std::string, std::string>& files) {
  std::vector<std::string> names;
  for (const auto& entry : files) {
    names.push_back(entry.first);
  }
  auto reader = [&files](const std::string& path) -> core::Result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) {
      return core::fail(core::ErrorKind::not_found, "no such file: " + path);
    }
    return it->second;
  };
  return deps::parse_project(names, reader);
}

} // namespace furnace::testing
