#include "apt_mirror.hpp"

#include <fmt/format.h>

namespace furnace::dockerfile {

std::string apt_mirror_script(const std::string& mirror_base, const std::string& root) {
  std::string base = mirror_base;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  // debian-security first: the plain /debian pattern would otherwise match its prefix.
  return fmt::format(
      "m='{0}'; "
      "[ -e {1}/etc/ssl/certs/ca-certificates.crt ] || case $m in https:*) m=\"http:${{m#https:}}\";; esac; "
      "for f in {1}/etc/apt/sources.list {1}/etc/apt/sources.list.d/*.list "
      "{1}/etc/apt/sources.list.d/*.sources; do "
      "if [ -f \"$f\" ]; then sed -i -E "
      "-e \"s#https?://(deb|security)\\.debian\\.org/debian-security#$m/debian-security#g\" "
      "-e \"s#https?://(deb|httpredir|ftp)\\.debian\\.org/debian([/ ]|\\$)#$m/debian\\2#g\" "
      "-e \"s#https?://([a-z]{{2}}\\.)?(archive|security)\\.ubuntu\\.com/ubuntu#$m/ubuntu#g\" "
      "-e \"s#https?://ports\\.ubuntu\\.com/ubuntu-ports#$m/ubuntu-ports#g\" \"$f\"; fi; done",
      base, root);
}

}  // namespace furnace::dockerfile
