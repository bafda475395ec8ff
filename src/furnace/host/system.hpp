#pragma once
// What kind of host this is, for the commands furnace suggests and runs: its distribution (from
// os-release) and whether systemd is its init. Read under a root (`host::Paths`), so that tests
// give a fake /etc and /proc. Used by doctor and setup alike.

#include <furnace/host/system_file.hpp>

#include <string>

namespace furnace::host {

// "debian", "ubuntu", "fedora", … from <root>/etc/os-release; "" when unknown.
std::string distro_id(const Paths& paths);

// Debian or Ubuntu: docker.io and the NVIDIA toolkit come from apt.
bool debian_like(const std::string& distro_id);

// Whether PID 1 under the root is systemd (<root>/proc/1/comm).
bool systemd_is_init(const Paths& paths);

} // namespace furnace::host
