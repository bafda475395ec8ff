#pragma once
// Pointing apt at a mirror inside an image: the shell command the Dockerfile runs. It rewrites the
// Debian and Ubuntu archive URLs in /etc/apt/sources.list, sources.list.d/*.list (one-line form)
// and sources.list.d/*.sources (deb822, Debian 12 and Ubuntu 24.04), keeping everything else.

#include <string>

namespace furnace::dockerfile {

// The shell command that rewrites the sources to `mirror_base` (e.g.
// "https://mirrors.tuna.tsinghua.edu.cn"; Debian is expected under /debian and /debian-security,
// Ubuntu under /ubuntu and /ubuntu-ports). An image without CA certificates gets the mirror over
// http (apt verifies the archive's signatures either way). `root` prefixes every path (tests).
// `mirror_base` must be a URL checked by the furnace.yaml parser (no quotes or spaces).
std::string apt_mirror_script(const std::string& mirror_base, const std::string& root = "");

}  // namespace furnace::dockerfile
