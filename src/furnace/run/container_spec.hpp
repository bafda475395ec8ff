#pragma once
// The container of a run, as data, and the `docker run` command line made from it. Pure: the
// same spec always gives the same argv, so `--dry-run` prints exactly what a run executes, and the
// security rules (never --privileged, ports on 127.0.0.1, no value of a variable in argv) are
// tested here once.

#include <furnace/core/error.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::run {

// Who the processes in the container run as: the invoking user, known by name inside.
struct HostUser {
  unsigned uid = 0;
  unsigned gid = 0;
  std::string name; // "alice"
  std::string home; // inside the container: "/home/alice"
};

struct Mount {
  std::string source; // absolute host path
  std::string target; // absolute container path
  bool read_only = false;
};

enum class GpuMode { none, all, devices };

struct ContainerSpec {
  std::string docker = "docker"; // the engine's CLI
  std::string image;
  std::string name;
  std::map<std::string, std::string> labels;
  std::optional<HostUser> user; // nullopt: as the image says (the caller is root)
  std::vector<Mount> mounts;
  std::string workdir;
  GpuMode gpus = GpuMode::none;
  std::vector<unsigned> gpu_indices; // GpuMode::devices
  // Their UUIDs, same order: what the container is given when every one has one, so that the
  // GPU locked (by UUID) is the GPU the container sees whatever the index order.
  std::vector<std::string> gpu_uuids;
  std::string shm_size;              // "6g"; ignored with ipc_host
  bool ipc_host = false;
  bool memlock_unlimited = true; // --ulimit memlock=-1 (not where the engine cannot raise it)
  bool ulimits = true;           // any --ulimit at all (not for Podman where limits cannot rise)
  // Podman's CLI: GPUs through CDI (`--device nvidia.com/gpu=…`), as it has no --gpus.
  bool podman = false;
  std::string network;               // "" = the engine's default
  // Variables for the container. Their values never go into argv: they travel in the CLI's
  // environment (`--env NAME`), except the ones the CLI itself reads (HOME, PATH, TMPDIR, LD_*,
  // DOCKER_*), which go into an env file in memory (`--env-file /dev/fd/3`, see EngineCommand).
  std::map<std::string, std::string> env;
  std::string memory;             // --memory "8g"; "" = no limit
  std::string cpus;               // --cpus "4" / "1.5"; "" = no limit
  std::string pids_limit;         // --pids-limit "4096"; "" = the engine's default
  std::vector<std::string> ports; // normalised: "127.0.0.1:8888:8888"
  bool interactive = false;       // -i
  bool tty = false;               // -t
  std::vector<std::string> command;
};

// The descriptor the CLI reads its env file from (argv says `--env-file /dev/fd/3`).
inline constexpr int k_env_file_fd = 3;

struct EngineCommand {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env; // to add to the CLI's environment
  // The env file's text ("NAME=VALUE\n" lines) for the variables the CLI reads itself; "" when
  // none. run_session hands it to the CLI as descriptor k_env_file_fd of a memory file
  // (memfd): never on disk, gone with the CLI, unreadable for other users.
  std::string env_file;
};

// Whether the docker CLI reads variable `name` itself (HOME, PATH, TMPDIR, LD_*, DOCKER_*): its
// container value goes into the env file instead of the CLI's environment.
bool cli_reads(std::string_view name);

// Whether `value` can be a line of an env file for variable `name`: no line break, valid UTF-8
// (the CLI quotes a bad line in its error, value and all), under the CLI's 64 KiB line limit.
// Errors name the variable, never the value.
core::Result<void> check_env_file_value(std::string_view name, std::string_view value);

// `docker run --init --name NAME …` for `spec` (no --rm: see settle_container).
EngineCommand docker_run_command(const ContainerSpec& spec);

// "8888" -> "127.0.0.1:8888:8888", "8080:80" -> "127.0.0.1:8080:80", "8080:80/udp" likewise;
// an address the user wrote ("0.0.0.0:8080:80", "[::1]:8080:80") is kept, also with no host port
// ("127.0.0.1::8888": the engine picks a free one). Errors: not a port.
core::Result<std::string> normalize_port(std::string_view text);

// The /dev/shm size when none is asked for: a quarter of the host's memory, at least 1 GiB and
// at most 16 GiB, in whole GiB ("6g"). See docs/run.md for why.
std::string default_shm_size(unsigned long long mem_total_bytes);

// Checks a --shm-size value ("64m", "8g", "1073741824"). Errors name the value.
core::Result<void> check_size(std::string_view text, std::string_view what);

// The bytes of a size that check_size accepts ("512m" -> 536870912); 0 when it is not one.
unsigned long long size_bytes(std::string_view text);

// A path as it can be shown in one line: control characters as \n, \t, \xNN.
std::string printable(std::string_view text);

// Whether `text` has a control character (below 0x20, or 0x7f).
bool has_control_char(std::string_view text);

// Splits "KEY=VALUE" / "KEY" (the value then comes from `host_env`; a missing one is skipped).
// Errors: an invalid name.
core::Result<std::optional<std::pair<std::string, std::string>>>
parse_env_arg(std::string_view arg, const std::map<std::string, std::string>& host_env);

} // namespace furnace::run
