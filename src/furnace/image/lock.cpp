#include "lock.hpp"

#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace furnace::image {

namespace {

bool less_ci(const std::string& a, const std::string& b) {
  const std::string la = util::to_lower(a);
  const std::string lb = util::to_lower(b);
  return la != lb ? la < lb : a < b;
}

// The package a pip freeze line names, normalised (PEP 503): "Foo_Bar==1" -> "foo-bar".
std::string pip_name(const std::string& line) {
  if (line.rfind("-e ", 0) == 0) {
    return line;
  }
  std::size_t end = line.find_first_of("=@ ;<>!~[");
  std::string name = util::to_lower(line.substr(0, end));
  for (char& c : name) {
    if (c == '_' || c == '.') {
      c = '-';
    }
  }
  return name;
}

std::string dpkg_name(const std::string& line) {
  return line.substr(0, line.find('='));
}

void sort_lines(std::vector<std::string>& lines) {
  std::sort(lines.begin(), lines.end(), less_ci);
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
}

// name -> the lines naming it (a package is normally there once).
std::map<std::string, std::vector<std::string>>
by_name(const std::vector<std::string>& lines, std::string (*name_of)(const std::string&)) {
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& l : lines) {
    out[name_of(l)].push_back(l);
  }
  return out;
}

void diff_section(const char* section,
                  const std::vector<std::string>& locked,
                  const std::vector<std::string>& now,
                  std::string (*name_of)(const std::string&),
                  std::vector<std::string>& out) {
  const auto a = by_name(locked, name_of);
  const auto b = by_name(now, name_of);
  std::set<std::string> names;
  for (const auto& [n, l] : a) {
    names.insert(n);
  }
  for (const auto& [n, l] : b) {
    names.insert(n);
  }
  const std::vector<std::string> none;
  for (const std::string& n : names) {
    const auto ia = a.find(n);
    const auto ib = b.find(n);
    const auto& la = ia == a.end() ? none : ia->second;
    const auto& lb = ib == b.end() ? none : ib->second;
    if (la == lb) {
      continue;
    }
    for (const std::string& l : la) {
      out.push_back(fmt::format("{:<5} - {}", std::string(section) + ":", l));
    }
    for (const std::string& l : lb) {
      out.push_back(fmt::format("{:<5} + {}", std::string(section) + ":", l));
    }
  }
}

// The facts furnace.lock records, as its keys ("framework: torch 1.13.1").
std::vector<std::pair<std::string, std::string>> fact_keys(const ImageFacts& f) {
  std::string arch;
  for (const std::string& a : f.arch_list) {
    arch += (arch.empty() ? "" : " ") + a;
  }
  std::string framework = f.framework;
  if (!f.framework_version.empty()) {
    framework += " " + f.framework_version;
  }
  return {{"python-path", f.python_path},
          {"pip", f.pip},
          {"framework", framework},
          {"cuda-build", f.cuda},
          {"cudnn-build", f.cudnn},
          {"arch-list", arch},
          {"os", f.os}};
}

bool set_fact(ImageFacts& f, const std::string& key, const std::string& value) {
  if (key == "python-path") {
    f.python_path = value;
  } else if (key == "pip") {
    f.pip = value;
  } else if (key == "framework") {
    const auto space = value.find(' ');
    f.framework = value.substr(0, space);
    f.framework_version = space == std::string::npos ? "" : value.substr(space + 1);
  } else if (key == "cuda-build") {
    f.cuda = value;
  } else if (key == "cudnn-build") {
    f.cudnn = value;
  } else if (key == "arch-list") {
    for (const std::string& a : util::split(value, ' ')) {
      if (!a.empty()) {
        f.arch_list.push_back(a);
      }
    }
  } else if (key == "os") {
    f.os = value;
  } else {
    return false;
  }
  return true;
}

} // namespace

std::string render_lock(const Lock& lock) {
  std::string out =
      "# furnace.lock: the environment 'furnace build' made for this project. 'furnace build\n"
      "# --locked' rebuilds it (the same base image, every pip package at its version) and fails\n"
      "# when anything resolves differently. Written by furnace; commit it with the project.\n";
  out += fmt::format("image: {}\nbase: {}\nbase-id: {}\nbase-digest:{}{}\n",
                     lock.image,
                     lock.base,
                     lock.base_id,
                     lock.base_digest.empty() ? "" : " ",
                     lock.base_digest);
  if (!lock.python.empty()) {
    out += fmt::format("python: {}\n", lock.python);
  }
  if (!lock.pushed.empty()) {
    out += fmt::format("pushed: {}\npushed-id: {}\n", lock.pushed, lock.pushed_id);
  }
  for (const auto& [key, value] : fact_keys(lock.facts)) {
    if (!value.empty()) {
      out += fmt::format("{}: {}\n", key, value);
    }
  }
  std::vector<std::string> pip = lock.pip;
  std::vector<std::string> dpkg = lock.dpkg;
  sort_lines(pip);
  sort_lines(dpkg);
  out += "\n[pip]\n";
  for (const std::string& l : pip) {
    out += l + "\n";
  }
  out += "\n[dpkg]\n";
  for (const std::string& l : dpkg) {
    out += l + "\n";
  }
  return out;
}

core::Result<Lock> parse_lock(std::string_view text, const std::string& file) {
  Lock lock;
  enum class Section { header, pip, dpkg } section = Section::header;
  int number = 0;
  bool seen_base_id = false;
  for (const std::string& raw : util::split(text, '\n')) {
    ++number;
    const std::string line(util::trim(raw));
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line == "[pip]") {
      section = Section::pip;
      continue;
    }
    if (line == "[dpkg]") {
      section = Section::dpkg;
      continue;
    }
    if (line.front() == '[') {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("{}:{}: unknown section '{}'", file, number, line),
                        "the sections are [pip] and [dpkg]; 'furnace build' rewrites the file");
    }
    if (section == Section::pip) {
      lock.pip.push_back(line);
      continue;
    }
    if (section == Section::dpkg) {
      if (line.find('=') == std::string::npos) {
        return core::fail(core::ErrorKind::invalid,
                          fmt::format("{}:{}: '{}' is not 'package=version'", file, number, line),
                          "'furnace build' rewrites the file");
      }
      lock.dpkg.push_back(line);
      continue;
    }
    const auto colon = line.find(':');
    const std::string key = colon == std::string::npos ? line : line.substr(0, colon);
    const std::string value =
        colon == std::string::npos
            ? ""
            : std::string(util::trim(std::string_view(line).substr(colon + 1)));
    if (key == "image") {
      lock.image = value;
    } else if (key == "base") {
      lock.base = value;
    } else if (key == "base-id") {
      lock.base_id = value;
      seen_base_id = true;
    } else if (key == "base-digest") {
      lock.base_digest = value;
    } else if (key == "python") {
      lock.python = value;
      lock.facts.python = value;
    } else if (key == "pushed") {
      lock.pushed = value;
    } else if (key == "pushed-id") {
      lock.pushed_id = value;
    } else if (!set_fact(lock.facts, key, value)) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("{}:{}: unknown key '{}'", file, number, key),
                        "the keys are image, base, base-id, base-digest, python, pushed, "
                        "pushed-id, python-path, pip, framework, cuda-build, cudnn-build, "
                        "arch-list and os; 'furnace build' rewrites the file");
    }
  }
  if (!seen_base_id || lock.base.empty()) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{}: no 'base' and 'base-id'", file),
                      "'furnace build' rewrites the file");
  }
  sort_lines(lock.pip);
  sort_lines(lock.dpkg);
  return lock;
}

std::string probe_script() {
  return fmt::format("for p in python3 python; do if command -v $p >/dev/null 2>&1; then "
                     "$p -c 'import sys; print(\"{}\", \"%d.%d.%d\" % sys.version_info[:3])'; "
                     "if [ -n \"$FURNACE_PROBE_PROGRAM\" ] && f=$(mktemp 2>/dev/null); then "
                     "$p -m pip freeze >\"$f\" 2>/dev/null & $p -c \"$FURNACE_PROBE_PROGRAM\"; "
                     "wait; cat \"$f\"; else $p -m pip freeze 2>/dev/null; fi; "
                     "break; fi; done; echo '{}'; "
                     "if command -v dpkg-query >/dev/null 2>&1; then "
                     "dpkg-query -W -f '${{db:Status-Status}} ${{Package}}=${{Version}}\\n'; fi",
                     k_probe_python,
                     k_probe_separator);
}

std::vector<std::string> probe_command(const std::string& docker,
                                       const std::string& image,
                                       const std::vector<std::string>& run_args) {
  std::vector<std::string> argv{docker, "run", "--rm", "--network", "none"};
  argv.insert(argv.end(), run_args.begin(), run_args.end());
  for (const char* a : {"--entrypoint", "/bin/sh"}) {
    argv.emplace_back(a);
  }
  argv.push_back(image);
  argv.emplace_back("-c");
  argv.push_back(probe_script());
  return argv;
}

core::Result<void> read_probe_output(std::string_view output, Lock& lock) {
  const auto sep = output.find(k_probe_separator);
  if (sep == std::string_view::npos) {
    return core::fail(core::ErrorKind::invalid,
                      "the image's package listing has no end marker (its /bin/sh failed?)");
  }
  lock.pip.clear();
  lock.dpkg.clear();
  lock.python.clear();
  for (const std::string& raw : util::split(output.substr(0, sep), '\n')) {
    const std::string line(util::trim(raw));
    if (line.rfind(k_probe_python, 0) == 0) {
      lock.python = std::string(
          util::trim(std::string_view(line).substr(std::string_view(k_probe_python).size())));
      continue;
    }
    if (!line.empty() && line.front() != '#') {
      lock.pip.push_back(line);
    }
  }
  for (const std::string& raw :
       util::split(output.substr(sep + std::string_view(k_probe_separator).size()), '\n')) {
    const std::string line(util::trim(raw));
    constexpr std::string_view k_installed = "installed ";
    if (line.rfind(k_installed, 0) == 0) {
      lock.dpkg.push_back(line.substr(k_installed.size()));
    }
  }
  sort_lines(lock.pip);
  sort_lines(lock.dpkg);
  return {};
}

std::string pip_constraints(const Lock& lock) {
  std::string out;
  for (const std::string& l : lock.pip) {
    const auto eq = l.find("==");
    if (eq != std::string::npos && eq > 0 && l.find_first_of(" @;") == std::string::npos) {
      out += l + "\n";
    }
  }
  return out;
}

std::map<std::string, std::string> dpkg_versions(const Lock& lock) {
  std::map<std::string, std::string> out;
  for (const std::string& l : lock.dpkg) {
    const auto eq = l.find('=');
    if (eq != std::string::npos) {
      out[l.substr(0, eq)] = l.substr(eq + 1);
    }
  }
  return out;
}

std::vector<std::string> diff_packages(const Lock& locked, const Lock& now) {
  std::vector<std::string> out;
  diff_section("pip", locked.pip, now.pip, pip_name, out);
  diff_section("dpkg", locked.dpkg, now.dpkg, dpkg_name, out);
  return out;
}

} // namespace furnace::image
