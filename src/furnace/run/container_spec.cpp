#include "container_spec.hpp"

#include <furnace/gpu/selection.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>

namespace furnace::run {

namespace {

constexpr unsigned long long k_gib = 1024ULL * 1024 * 1024;

// One field of a --mount value, quoted the way the CLI's CSV reader expects.
std::string csv_field(const std::string& field) {
  if (field.find_first_of(",\"") == std::string::npos) {
    return field;
  }
  std::string out = "\"";
  for (const char c : field) {
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return out + "\"";
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

bool valid_port(std::string_view s) {
  unsigned v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return all_digits(s) && ec == std::errc() && p == s.data() + s.size() && v >= 1 && v <= 65535;
}

// An IPv4 address, or an IPv6 one in brackets (what the CLI accepts before a host port).
bool valid_address(std::string_view a) {
  if (a.size() > 2 && a.front() == '[' && a.back() == ']') {
    return a.find_first_not_of("0123456789abcdefABCDEF:.", 1) == a.size() - 1;
  }
  int parts = 0;
  for (std::size_t start = 0; start <= a.size(); ++parts) {
    const auto dot = std::min(a.find('.', start), a.size());
    const std::string_view part = a.substr(start, dot - start);
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || part.size() > 3 || ec != std::errc() || p != part.data() + part.size() || v > 255) {
      return false;
    }
    start = dot + 1;
  }
  return parts == 4;
}

bool valid_env_name(std::string_view name) {
  return !name.empty() && std::isdigit(static_cast<unsigned char>(name.front())) == 0 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
         });
}

// Whether `s` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The sequence's length, the smallest code point it may encode, and its lead bits.
    const std::size_t n = (c & 0xe0U) == 0xc0   ? 1
                          : (c & 0xf0U) == 0xe0 ? 2
                          : (c & 0xf8U) == 0xf0 ? 3
                                                : 0;
    if (n == 0) {
      return false;
    }
    constexpr std::array<unsigned, 4> k_min{0, 0x80, 0x800, 0x10000};
    const unsigned min = k_min.at(n);
    unsigned cp = c & (0x7fU >> (n + 1));
    if (i + n >= s.size()) {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0U) != 0x80) {
        return false;
      }
      cp = (cp << 6U) | (cc & 0x3fU);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// The CDI names of the run's GPUs (NVIDIA's generated spec: nvidia.com/gpu=all, =INDEX, =UUID),
// by UUID under the same rule as --gpus.
std::vector<std::string> cdi_gpu_devices(const ContainerSpec& spec) {
  if (spec.gpus == GpuMode::all) {
    return {"nvidia.com/gpu=all"};
  }
  std::vector<std::string> out;
  if (spec.gpus != GpuMode::devices) {
    return out;
  }
  const bool by_uuid = spec.gpu_uuids.size() == spec.gpu_indices.size() &&
                       std::none_of(spec.gpu_uuids.begin(),
                                    spec.gpu_uuids.end(),
                                    [](const std::string& u) { return u.empty(); });
  for (std::size_t i = 0; i < spec.gpu_indices.size(); ++i) {
    out.push_back("nvidia.com/gpu=" +
                  (by_uuid ? spec.gpu_uuids[i] : std::to_string(spec.gpu_indices[i])));
  }
  return out;
}

} // namespace

bool cli_reads(std::string_view name) {
  static const std::array<std::string_view, 3> k_names{"HOME", "PATH", "TMPDIR"};
  return std::find(k_names.begin(), k_names.end(), name) != k_names.end() ||
         name.starts_with("LD_") || name.starts_with("DOCKER_");
}

core::Result<void> check_env_file_value(std::string_view name, std::string_view value) {
  // bufio.Scanner's default limit, with room for the name.
  constexpr std::size_t k_max_line = 60000;
  std::string why;
  if (value.find_first_of("\n\r") != std::string_view::npos) {
    why = "has a line break";
  } else if (value.find('\0') != std::string_view::npos) {
    why = "has a NUL byte";
  } else if (!valid_utf8(value)) {
    why = "is not valid UTF-8";
  } else if (value.size() > k_max_line) {
    why = fmt::format("is longer than {} bytes", k_max_line);
  }
  if (why.empty()) {
    return {};
  }
  return core::fail(core::ErrorKind::invalid,
                    fmt::format("the value of {} {}: the docker CLI reads {} itself, so furnace "
                                "passes it in an env file, one line per variable",
                                name,
                                why,
                                name),
                    "set it inside the container instead (in the command, or in the image)");
}

EngineCommand docker_run_command(const ContainerSpec& spec) {
  EngineCommand cmd;
  auto& a = cmd.argv;
  // No --rm: furnace removes the container after the run (execute.hpp, settle_container), and the
  // next run of the project removes what a killed furnace left. With --rm an engine restart
  // removes a running container even under live-restore (engines before 24.0.8, moby#46308).
  a = {spec.docker, "run", "--init", "--name", spec.name};
  if (spec.interactive) {
    a.emplace_back("-i");
  }
  if (spec.tty) {
    a.emplace_back("-t");
  }
  for (const auto& [k, v] : spec.labels) {
    a.insert(a.end(), {"--label", k + "=" + v});
  }
  // Least privilege: no capability added, no setuid escalation, the caller's uid.
  a.insert(a.end(), {"--security-opt", "no-new-privileges"});
  if (spec.user) {
    a.insert(a.end(), {"--user", fmt::format("{}:{}", spec.user->uid, spec.user->gid)});
  }
  if (spec.ipc_host) {
    a.insert(a.end(), {"--ipc", "host"});
  } else if (!spec.shm_size.empty()) {
    a.insert(a.end(), {"--shm-size", spec.shm_size});
  }
  // What NVIDIA recommends for the frameworks (pinned memory, deep recursion).
  if (spec.ulimits && spec.memlock_unlimited) {
    a.insert(a.end(), {"--ulimit", "memlock=-1"});
  }
  if (spec.ulimits) {
    a.insert(a.end(), {"--ulimit", "stack=67108864"});
  }
  // Shared-server limits. No swap beyond the memory limit: an over-limit run ends (OOM) instead
  // of paging the whole host.
  if (!spec.memory.empty()) {
    a.insert(a.end(), {"--memory", spec.memory, "--memory-swap", spec.memory});
  }
  if (!spec.cpus.empty()) {
    a.insert(a.end(), {"--cpus", spec.cpus});
  }
  if (!spec.pids_limit.empty()) {
    a.insert(a.end(), {"--pids-limit", spec.pids_limit});
  }
  if (spec.podman) {
    for (const std::string& d : cdi_gpu_devices(spec)) {
      a.insert(a.end(), {"--device", d});
    }
  } else if (spec.gpus == GpuMode::all) {
    a.insert(a.end(), {"--gpus", "all"});
  } else if (spec.gpus == GpuMode::devices) {
    a.insert(a.end(), {"--gpus", gpu::docker_gpus_value(spec.gpu_indices, spec.gpu_uuids)});
  }
  if (!spec.network.empty()) {
    a.insert(a.end(), {"--network", spec.network});
  }
  for (const Mount& m : spec.mounts) {
    std::string v = "type=bind," + csv_field("source=" + m.source) + "," +
                    csv_field("target=" + m.target);
    if (m.read_only) {
      v += ",readonly";
    }
    a.insert(a.end(), {"--mount", v});
  }
  if (!spec.workdir.empty()) {
    a.insert(a.end(), {"--workdir", spec.workdir});
  }
  for (const auto& [k, v] : spec.env) {
    if (cli_reads(k)) {
      cmd.env_file += k + "=" + v + "\n";
    } else {
      a.insert(a.end(), {"--env", k});
      cmd.env[k] = v;
    }
  }
  if (!cmd.env_file.empty()) {
    a.insert(a.end(), {"--env-file", fmt::format("/dev/fd/{}", k_env_file_fd)});
  }
  for (const std::string& p : spec.ports) {
    a.insert(a.end(), {"--publish", p});
  }
  a.push_back(spec.image);
  a.insert(a.end(), spec.command.begin(), spec.command.end());
  return cmd;
}

core::Result<std::string> normalize_port(std::string_view text) {
  std::string_view body = text;
  std::string proto;
  if (const auto slash = body.rfind('/'); slash != std::string_view::npos) {
    proto = std::string(body.substr(slash));
    body = body.substr(0, slash);
  }
  auto bad = [&] {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("'{}' is not a port: expected PORT, HOST_PORT:PORT or "
                                  "ADDRESS:HOST_PORT:PORT (optionally /tcp or /udp)",
                                  text));
  };
  if (!proto.empty() && proto != "/tcp" && proto != "/udp") {
    return bad();
  }
  const auto last = body.rfind(':');
  if (last == std::string_view::npos) {
    return valid_port(body) ? fmt::format("127.0.0.1:{}:{}{}", body, body, proto)
                            : core::Result<std::string>(bad());
  }
  const std::string_view container = body.substr(last + 1);
  const std::string_view front = body.substr(0, last);
  if (!valid_port(container)) {
    return bad();
  }
  const auto mid = front.rfind(':');
  if (mid == std::string_view::npos || front.back() == ']') {
    // "8080:80": the host port, on loopback unless an address is written.
    return valid_port(front) ? fmt::format("127.0.0.1:{}:{}{}", front, container, proto)
                             : core::Result<std::string>(bad());
  }
  // "127.0.0.1::8888": no host port, the engine picks a free one (`furnace lab`).
  const std::string_view host_port = front.substr(mid + 1);
  if ((!host_port.empty() && !valid_port(host_port)) || !valid_address(front.substr(0, mid))) {
    return bad();
  }
  return std::string(text);
}

std::string default_shm_size(unsigned long long mem_total_bytes) {
  unsigned long long gib = mem_total_bytes / 4 / k_gib;
  gib = std::clamp(gib, 1ULL, 16ULL);
  return fmt::format("{}g", gib);
}

core::Result<void> check_size(std::string_view text, std::string_view what) {
  std::string_view digits = text;
  if (!digits.empty() && std::strchr("bkmgBKMG", digits.back()) != nullptr) {
    digits.remove_suffix(1);
  }
  if (!all_digits(digits) || digits.size() > 15 || std::stoull(std::string(digits)) == 0) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{} '{}' is not a size: expected a number with an optional unit "
                                  "b, k, m or g (\"8g\", \"512m\")",
                                  what,
                                  text));
  }
  return {};
}

unsigned long long size_bytes(std::string_view text) {
  if (!check_size(text, "")) {
    return 0;
  }
  std::string_view digits = text;
  unsigned long long unit = 1;
  switch (digits.back()) {
  case 'k':
  case 'K':
    unit = 1ULL << 10U;
    break;
  case 'm':
  case 'M':
    unit = 1ULL << 20U;
    break;
  case 'g':
  case 'G':
    unit = 1ULL << 30U;
    break;
  default:
    break;
  }
  if (std::isdigit(static_cast<unsigned char>(digits.back())) == 0) {
    digits.remove_suffix(1);
  }
  const unsigned long long n = std::stoull(std::string(digits));
  return n > ~0ULL / unit ? ~0ULL : n * unit;
}

bool has_control_char(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(u));
    } else {
      out += c;
    }
  }
  return out;
}

core::Result<std::optional<std::pair<std::string, std::string>>>
parse_env_arg(std::string_view arg, const std::map<std::string, std::string>& host_env) {
  const auto eq = arg.find('=');
  const std::string name(arg.substr(0, eq));
  if (!valid_env_name(name)) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("-e '{}': '{}' is not a variable name (letters, digits and _, "
                                  "not starting with a digit)",
                                  arg,
                                  name));
  }
  if (eq != std::string_view::npos) {
    return std::optional(std::pair(name, std::string(arg.substr(eq + 1))));
  }
  const auto it = host_env.find(name);
  if (it == host_env.end()) {
    return std::optional<std::pair<std::string, std::string>>();
  }
  return std::optional(std::pair(name, it->second));
}

} // namespace furnace::run
