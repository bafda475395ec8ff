#include "limits.hpp"

#include <furnace/run/container_spec.hpp>
#include <furnace/util/atomic_file.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <filesystem>
#include <optional>
#include <regex>

namespace furnace::run {

namespace {

namespace fs = std::filesystem;

constexpr unsigned long long k_min_memory = 6ULL << 20U; // the engine refuses less than 6 MiB

core::Error bad_value(std::string_view what, std::string_view value, std::string_view expected) {
  return core::make_error(core::ErrorKind::invalid,
                          fmt::format("{} '{}' is not {}", what, value, expected));
}

// Where a node is, as "file:line:column".
std::string at(const std::string& file, const YAML::Node& n) {
  return fmt::format("{}:{}:{}", file, n.Mark().line + 1, n.Mark().column + 1);
}

// One `{memory, cpus, pids_limit}` mapping; `key` is its path ("run.caps").
core::Result<Limits>
read_limits(const YAML::Node& n, const std::string& file, const std::string& key) {
  Limits l;
  if (n.IsNull()) {
    return l;
  }
  if (!n.IsMap()) {
    return core::fail(
        core::ErrorKind::invalid,
        fmt::format("{}: '{}' must be a mapping of memory, cpus and pids_limit", at(file, n), key));
  }
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    const std::string where = fmt::format("{}: {}.{}", at(file, kv.second), key, k);
    if (!kv.second.IsScalar()) {
      return core::fail(core::ErrorKind::invalid, fmt::format("{} must be a value", where));
    }
    const std::string v = kv.second.Scalar();
    core::Result<void> ok;
    if (k == "memory") {
      ok = check_memory(v, where);
      l.memory = v;
    } else if (k == "cpus") {
      ok = check_cpus(v, where);
      l.cpus = v;
    } else if (k == "pids_limit") {
      ok = check_pids_limit(v, where);
      l.pids_limit = v;
    } else {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("{}: unknown key '{}.{}'", at(file, kv.first), key, k),
                        "valid keys: memory, cpus, pids_limit");
    }
    if (!ok) {
      return core::fail(ok.error());
    }
  }
  return l;
}

double cpus_value(std::string_view v) {
  return std::stod(std::string(v));
}

unsigned long long pids_value(std::string_view v) {
  return std::stoull(std::string(v));
}

// Whether `value` is more than `cap` for limit `name` (both already checked).
bool over(const std::string& name, const std::string& value, const std::string& cap) {
  if (name == "memory") {
    return size_bytes(value) > size_bytes(cap);
  }
  if (name == "cpus") {
    return cpus_value(value) > cpus_value(cap) + 1e-9;
  }
  return pids_value(value) > pids_value(cap);
}

} // namespace

core::Result<void> check_memory(std::string_view value, std::string_view what) {
  if (!check_size(value, what) || size_bytes(value) < k_min_memory) {
    return core::fail(bad_value(what, value, "a memory size of at least 6m (\"8g\", \"512m\")"));
  }
  return {};
}

core::Result<void> check_cpus(std::string_view value, std::string_view what) {
  static const std::regex k_cpus(R"([0-9]{1,4}(\.[0-9]{1,3})?)");
  if (!std::regex_match(std::string(value), k_cpus) || cpus_value(value) < 0.01) {
    return core::fail(bad_value(what, value, "a number of CPUs (\"4\", \"1.5\")"));
  }
  return {};
}

core::Result<void> check_pids_limit(std::string_view value, std::string_view what) {
  const bool digits =
      !value.empty() && value.size() <= 9 && std::all_of(value.begin(), value.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
      });
  if (!digits || pids_value(value) == 0) {
    return core::fail(bad_value(what, value, "a number of processes (\"4096\")"));
  }
  return {};
}

core::Result<HostLimits> parse_host_limits(std::string_view text, const std::string& file) {
  HostLimits h;
  h.file = file;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg),
                      "check the indentation and quoting");
  }
  if (root.IsNull()) {
    return h;
  }
  if (!root.IsMap()) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{}: must be a mapping", at(file, root)));
  }
  const YAML::Node run = root["run"];
  if (!run || run.IsNull()) {
    return h;
  }
  if (!run.IsMap()) {
    return core::fail(
        core::ErrorKind::invalid,
        fmt::format("{}: 'run' must be a mapping of defaults, caps and users", at(file, run)));
  }
  try {
    for (const auto& kv : run) {
      const std::string k = kv.first.Scalar();
      if (k == "defaults" || k == "caps") {
        auto l = read_limits(kv.second, file, "run." + k);
        if (!l) {
          return core::fail(l.error());
        }
        (k == "defaults" ? h.defaults : h.caps) = *l;
      } else if (k == "users" && kv.second.IsMap()) {
        for (const auto& u : kv.second) {
          const std::string user = u.first.Scalar();
          const std::string key = "run.users." + user;
          if (!u.second.IsMap() || u.second.size() != 1 || !u.second["caps"]) {
            return core::fail(core::ErrorKind::invalid,
                              fmt::format("{}: '{}' must be a mapping with one key, caps",
                                          at(file, u.second),
                                          key),
                              fmt::format("e.g. '{}: {{caps: {{memory: 128g}}}}'", user));
          }
          auto l = read_limits(u.second["caps"], file, key + ".caps");
          if (!l) {
            return core::fail(l.error());
          }
          h.user_caps[user] = *l;
        }
      } else {
        return core::fail(core::ErrorKind::invalid,
                          fmt::format("{}: unknown key 'run.{}'{}",
                                      at(file, kv.first),
                                      k,
                                      k == "users" ? " (it must be a mapping of user names)" : ""),
                          "valid keys under run: defaults, caps, users");
      }
    }
  } catch (const YAML::Exception& e) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  return h;
}

core::Result<HostLimits> load_host_limits(const std::string& host_root) {
  const std::string path =
      (fs::path(host_root.empty() ? "/" : host_root) / (k_host_config + 1)).string();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return HostLimits{};
  }
  auto text = util::read_file(path);
  if (!text) {
    return core::fail(core::ErrorKind::io,
                      fmt::format("cannot read {}: {}", path, text.error().message),
                      "the host's admin sets it; it must be readable by every user (mode 0644)");
  }
  return parse_host_limits(*text, path);
}

core::Result<Limits> resolve_limits(const Limits& options,
                                    const Limits& yaml,
                                    const HostLimits& host,
                                    const std::string& user) {
  struct One {
    const char* name; // the key
    const char* flag; // the option
    std::string Limits::*field;
    core::Result<void> (*check)(std::string_view, std::string_view);
  };
  const std::array<One, 3> all{
      One{"memory", "--memory", &Limits::memory, &check_memory},
      One{"cpus", "--cpus", &Limits::cpus, &check_cpus},
      One{"pids_limit", "--pids-limit", &Limits::pids_limit, &check_pids_limit}};
  const auto user_caps = host.user_caps.find(user);
  Limits out;
  for (const One& one : all) {
    const std::string& asked = options.*one.field;
    const std::string& in_yaml = yaml.*one.field;
    if (!asked.empty()) {
      if (auto ok = one.check(asked, one.flag); !ok) {
        return core::fail(ok.error());
      }
    }
    if (!in_yaml.empty()) {
      if (auto ok = one.check(in_yaml, fmt::format("furnace.yaml: {}", one.name)); !ok) {
        return core::fail(ok.error());
      }
    }
    std::string cap = host.caps.*one.field;
    std::string cap_key = fmt::format("run.caps.{}", one.name);
    if (user_caps != host.user_caps.end() && !(user_caps->second.*one.field).empty()) {
      cap = user_caps->second.*one.field;
      cap_key = fmt::format("run.users.{}.caps.{}", user, one.name);
    }
    const std::string from = !asked.empty()     ? one.flag
                             : !in_yaml.empty() ? fmt::format("furnace.yaml's {}", one.name)
                                                : fmt::format("run.defaults.{}", one.name);
    std::string value = !asked.empty()     ? asked
                        : !in_yaml.empty() ? in_yaml
                                           : host.defaults.*one.field;
    if (!cap.empty() && !value.empty() && over(one.name, value, cap)) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("{} {} is more than this host allows {} ({}: {}: {})",
                                    from,
                                    value,
                                    user.empty() ? "a run" : user,
                                    host.file,
                                    cap_key,
                                    cap),
                        fmt::format("ask for {} or less (the host's admin sets the caps)", cap));
    }
    out.*one.field = value.empty() ? cap : value;
  }
  return out;
}

} // namespace furnace::run
