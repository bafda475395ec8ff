#include "engine_flags.hpp"

#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <dirent.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <utility>

namespace furnace::host {
namespace {

// Flags whose daemon.json key is not the flag's own name.
constexpr std::array<std::pair<std::string_view, std::string_view>, 24> k_flag_keys = {{
    {"registry-mirror", "registry-mirrors"},
    {"insecure-registry", "insecure-registries"},
    {"add-runtime", "runtimes"},
    {"host", "hosts"},
    {"H", "hosts"},
    {"D", "debug"},
    {"l", "log-level"},
    {"g", "graph"},
    {"G", "group"},
    {"b", "bridge"},
    {"p", "pidfile"},
    {"s", "storage-driver"},
    {"label", "labels"},
    {"log-opt", "log-opts"},
    {"storage-opt", "storage-opts"},
    {"exec-opt", "exec-opts"},
    {"dns-opt", "dns-opts"},
    {"authorization-plugin", "authorization-plugins"},
    {"default-ulimit", "default-ulimits"},
    {"cluster-store-opt", "cluster-store-opts"},
    {"default-address-pool", "default-address-pools"},
    {"allow-nondistributable-artifact", "allow-nondistributable-artifacts"},
    {"node-generic-resource", "node-generic-resources"},
    {"tlsverify", "tlsverify"},
}};

// Flags that take no value (so the next word is not theirs).
constexpr std::array<std::string_view, 20> k_bool_flags = {"debug",
                                                           "D",
                                                           "live-restore",
                                                           "iptables",
                                                           "ip6tables",
                                                           "ip-masq",
                                                           "ip-forward",
                                                           "icc",
                                                           "ipv6",
                                                           "experimental",
                                                           "selinux-enabled",
                                                           "userland-proxy",
                                                           "tls",
                                                           "tlsverify",
                                                           "no-new-privileges",
                                                           "init",
                                                           "raw-logs",
                                                           "rootless",
                                                           "validate",
                                                           "help"};

std::string key_of_flag(std::string_view name) {
  for (const auto& [flag, key] : k_flag_keys) {
    if (flag == name) {
      return std::string(key);
    }
  }
  return std::string(name);
}

bool is_bool_flag(std::string_view name) {
  return std::find(k_bool_flags.begin(), k_bool_flags.end(), name) != k_bool_flags.end();
}

// Splits like a shell would for plain words, single and double quotes (no expansion).
std::vector<std::string> shell_words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (const char c : s) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        cur += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) {
        out.push_back(cur);
        cur.clear();
        in_word = false;
      }
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) {
    out.push_back(cur);
  }
  return out;
}

} // namespace

std::vector<FlagSetting> keys_set_by_flags(const FlagSource& source) {
  std::vector<FlagSetting> out;
  const auto& args = source.args;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-' || a == "--") {
      continue;
    }
    const std::size_t dashes = a[1] == '-' ? 2 : 1;
    std::string name = a.substr(dashes);
    std::string flag_text = a;
    const auto eq = name.find('=');
    if (eq != std::string::npos) {
      name = name.substr(0, eq);
    } else if (!is_bool_flag(name) && i + 1 < args.size() && !args[i + 1].starts_with("-")) {
      flag_text += " " + args[i + 1];
      ++i;
    }
    if (name.empty() || name == "config-file" || name == "validate" || name == "help" ||
        name == "version") {
      // "-=x" or "--=x" names no flag (found by tests/fuzz/fuzz_engine_flags.cpp: it mapped to
      // the key "")
      continue;
    }
    out.push_back({key_of_flag(name), flag_text, source.origin});
  }
  return out;
}

std::vector<std::string> parse_exec_start(std::string_view text) {
  const auto at = text.find("argv[]=");
  if (at == std::string_view::npos) {
    return {};
  }
  std::string_view rest = text.substr(at + 7);
  const auto end = rest.find(" ;");
  rest = rest.substr(0, end);
  std::vector<std::string> out;
  for (auto& w : shell_words(rest)) {
    if (!w.starts_with("$")) {
      out.push_back(std::move(w));
    }
  }
  return out;
}

std::vector<std::string> parse_docker_opts(std::string_view file_text) {
  std::vector<std::string> out;
  for (const auto& line : util::split(file_text, '\n')) {
    std::string_view l = util::trim(line);
    if (l.starts_with("export ")) {
      l = util::trim(l.substr(7));
    }
    if (!l.starts_with("DOCKER_OPTS=")) {
      continue;
    }
    // The assignment's value, then the word splitting $DOCKER_OPTS gets in the unit.
    for (const auto& value : shell_words(l.substr(12))) {
      auto words = shell_words(value);
      out.insert(out.end(), words.begin(), words.end());
    }
  }
  return out;
}

std::string config_file_of(const std::vector<std::string>& argv) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--config-file" && i + 1 < argv.size()) {
      return argv[i + 1];
    }
    if (argv[i].starts_with("--config-file=")) {
      return argv[i].substr(14);
    }
  }
  return "/etc/docker/daemon.json";
}

std::vector<Conflict> find_conflicts(const Json& doc,
                                     const std::vector<std::string>& changed_keys,
                                     const std::vector<FlagSource>& sources) {
  std::vector<Conflict> out;
  for (const auto& source : sources) {
    for (auto& setting : keys_set_by_flags(source)) {
      if (!doc.contains(setting.key)) {
        continue;
      }
      const bool introduced =
          std::find(changed_keys.begin(), changed_keys.end(), setting.key) != changed_keys.end();
      out.push_back({std::move(setting), introduced});
    }
  }
  return out;
}

std::vector<DockerdProcess> list_dockerd(const std::string& proc_dir) {
  std::vector<DockerdProcess> out;
  DIR* d = ::opendir(proc_dir.c_str());
  if (d == nullptr) {
    return out;
  }
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) {
      continue;
    }
    auto comm = util::read_file(proc_dir + "/" + name + "/comm");
    if (!comm || util::trim(*comm) != "dockerd") {
      continue;
    }
    auto cmdline = util::read_file(proc_dir + "/" + name + "/cmdline");
    if (!cmdline) {
      continue;
    }
    DockerdProcess p;
    p.pid = std::atoi(name.c_str());
    std::string cur;
    for (const char c : *cmdline) {
      if (c == '\0') {
        p.argv.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) {
      p.argv.push_back(cur);
    }
    out.push_back(std::move(p));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const DockerdProcess& a, const DockerdProcess& b) {
    return a.pid < b.pid;
  });
  return out;
}

} // namespace furnace::host
