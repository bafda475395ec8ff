#pragma once
// The flags dockerd runs with, and which daemon.json keys they set: dockerd refuses to start
// when a key is set both as a flag and in the file ("the following directives are specified both
// as a flag and in the configuration file"). Sources: systemd's ExecStart, /etc/default/docker
// DOCKER_OPTS, the running dockerd's /proc/PID/cmdline.

#include <furnace/host/daemon_json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace furnace::host {

struct FlagSource {
  std::string origin; // "systemd ExecStart", "/etc/default/docker DOCKER_OPTS", "dockerd pid 42"
  std::vector<std::string> args; // dockerd's arguments (argv[0] may be there)
};

struct FlagSetting {
  std::string key;    // daemon.json key: "registry-mirrors"
  std::string flag;   // as written: "--registry-mirror http://127.0.0.1:5757"
  std::string origin; // FlagSource::origin
};

// The daemon.json keys `source`'s flags set.
std::vector<FlagSetting> keys_set_by_flags(const FlagSource& source);

// The argv in `text`, the output of `systemctl show -p ExecStart docker` ("ExecStart={ path=… ;
// argv[]=… ; … }");
// "$DOCKER_OPTS"-style variables are dropped. Empty when there is none.
std::vector<std::string> parse_exec_start(std::string_view text);

// The words of DOCKER_OPTS in an /etc/default/docker file (comments skipped, quotes removed).
std::vector<std::string> parse_docker_opts(std::string_view file_text);

// The daemon.json a dockerd with `argv` reads: its --config-file, or /etc/docker/daemon.json.
std::string config_file_of(const std::vector<std::string>& argv);

struct Conflict {
  FlagSetting setting;
  bool introduced = false; // furnace's change adds the key; false: the file already had it
};

// Keys of `doc` that a flag in `sources` also sets; `changed_keys` marks the ones we introduce.
std::vector<Conflict> find_conflicts(const Json& doc,
                                     const std::vector<std::string>& changed_keys,
                                     const std::vector<FlagSource>& sources);

struct DockerdProcess {
  int pid = 0;
  std::vector<std::string> argv;
};

// Every running dockerd (by /proc/PID/comm) under `proc_dir`.
std::vector<DockerdProcess> list_dockerd(const std::string& proc_dir = "/proc");

} // namespace furnace::host
