#pragma once
// Shared-server limits of a run (--memory, --cpus, --pids-limit): from the command line, else
// furnace.yaml, else the host's defaults in /etc/furnace/config.yaml, and never over the caps an
// admin sets there (for everyone, or per user). See docs/run.md, "Limits on a shared server".

#include <furnace/core/error.hpp>

#include <map>
#include <string>
#include <string_view>

namespace furnace::run {

// Where the admin's file is, under the host root ("/" in production).
inline constexpr const char* k_host_config = "/etc/furnace/config.yaml";

// One set of limits; "" = not set.
struct Limits {
  std::string memory;     // "8g"
  std::string cpus;       // "4", "1.5"
  std::string pids_limit; // "4096"
};

// The admin's part of /etc/furnace/config.yaml:
//   run:
//     defaults: {memory: 32g, cpus: 8, pids_limit: 4096}
//     caps:     {memory: 64g, cpus: 16, pids_limit: 8192}
//     users:
//       alice: {caps: {memory: 128g}}
struct HostLimits {
  std::string file; // the file, for messages ("" when there was none)
  Limits defaults;
  Limits caps;
  std::map<std::string, Limits> user_caps; // a user's caps replace the general ones, key by key
};

// Parses the file's text (other top-level keys are left to their readers). Errors (invalid):
// YAML syntax, a wrong type, an unknown key under `run`, a bad value; each names file:line:column
// and the key.
core::Result<HostLimits> parse_host_limits(std::string_view text, const std::string& file);

// Reads <host_root>/etc/furnace/config.yaml; an empty HostLimits when there is none.
// Errors: unreadable, or those of parse_host_limits.
core::Result<HostLimits> load_host_limits(const std::string& host_root);

// Checks one value; `what` names it in errors ("--memory", "furnace.yaml: memory").
core::Result<void> check_memory(std::string_view value, std::string_view what);
core::Result<void> check_cpus(std::string_view value, std::string_view what);
core::Result<void> check_pids_limit(std::string_view value, std::string_view what);

// The limits of a run for `user`: each one from `options` (the command line), else `yaml`
// (furnace.yaml), else the host's defaults, else the host's cap. Errors (invalid): a bad value
// (naming the flag or key), or one over the host's cap (naming the file, the key and the cap).
core::Result<Limits> resolve_limits(const Limits& options,
                                    const Limits& yaml,
                                    const HostLimits& host,
                                    const std::string& user);

} // namespace furnace::run
