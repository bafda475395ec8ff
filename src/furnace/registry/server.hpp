#pragma once
// furnace registry up/status/down/gc: the lab's CNCF Distribution registry, run as the engine's
// `registry:2` container when the engine has that image, else as the host's Distribution binary
// (Debian's docker-registry) under furnace's supervision. Everything lives under one directory:
// config.yml (generated, 0600), data/ (the storage), auth/htpasswd (bcrypt, 0600), certs/, the
// log, the pidfile and furnace-registry.json (what runs, where).

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/registry/server_config.hpp>

#include <optional>
#include <string>
#include <vector>

namespace furnace::registry {

inline constexpr const char* k_state_file = "furnace-registry.json";

struct UpOptions {
  std::string dir; // "" = <data dir>/registry
  std::string address = "127.0.0.1";
  int port = 5000;
  bool proxy = false;            // --proxy given
  std::string proxy_url;         // its value; "" = Docker Hub
  std::string proxy_credentials; // a 0600 file holding USER:PASSWORD for the upstream
  std::string ttl = "168h";
  bool auth = false;
  std::string user = "furnace";
  bool password_stdin = false;
  std::vector<std::string> tls;     // CERT KEY
  bool allow_insecure = false;      // open (no login) on a non-loopback address
  std::string backend = "auto";     // auto, container, binary
  std::string image = "registry:2"; // the container backend's image
};

struct DirOptions {
  std::string dir;
  bool json = false;
};

// Exit codes: 0 done, 1 failed, 2 bad options.
int run_registry_up(core::Context& ctx, engine::Engine& engine, const UpOptions& options);
// 0 up, 1 down or in trouble (not answering, disk 90% full or more).
int run_registry_status(core::Context& ctx, engine::Engine& engine, const DirOptions& options);
int run_registry_down(core::Context& ctx, engine::Engine& engine, const DirOptions& options);
// Stops the registry, runs `garbage-collect --delete-untagged`, starts it again.
int run_registry_gc(core::Context& ctx, engine::Engine& engine, const DirOptions& options);

// The registry directory `dir` names (absolute), or the default one.
std::string registry_dir(const core::Context& ctx, const std::string& dir);

// Reads <dir>/furnace-registry.json. Errors: not_found (never started there), invalid.
core::Result<State> read_state(const std::string& dir);

// The disk of the registry furnace started in `dir` (the default one when ""), for `furnace
// doctor`: nullopt when none was started there.
struct DiskHealth {
  std::string dir;
  std::string address;
  DiskReport disk;
};
std::optional<DiskHealth> disk_health(const core::Context& ctx, const std::string& dir);

// The repositories and tags in a registry's storage (<dir>/data), read from the files, so that
// `status` needs no login: "furnace/mnist:ee987f33f45d".
std::vector<std::string> catalog_from_storage(const std::string& storage_dir);

} // namespace furnace::registry
