#include "system.hpp"

#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

namespace furnace::host {

std::string distro_id(const Paths& paths) {
  auto text = util::read_file(paths.host("/etc/os-release"));
  if (!text) {
    return "";
  }
  for (const auto& line : util::split(*text, '\n')) {
    if (line.starts_with("ID=")) {
      std::string v = line.substr(3);
      if (v.size() >= 2 && v.front() == '"') {
        v = v.substr(1, v.size() - 2);
      }
      return v;
    }
  }
  return "";
}

bool debian_like(const std::string& distro_id) {
  return distro_id == "debian" || distro_id == "ubuntu";
}

bool systemd_is_init(const Paths& paths) {
  auto comm = util::read_file(paths.host("/proc/1/comm"));
  return comm && util::trim(*comm) == "systemd";
}

} // namespace furnace::host
