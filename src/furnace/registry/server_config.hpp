#pragma once
// The lab registry's files, as values: the CNCF Distribution config.yml furnace generates, the
// state record `furnace registry up` leaves next to it (which backend runs it, where), and the
// small pure rules around them (the listen address, the disk warning). No I/O here.

#include <furnace/core/error.hpp>

#include <cstdint>
#include <string>

namespace furnace::registry {

// What the generated config.yml says. Paths are as the registry process sees them (inside the
// container for the container backend).
struct ServerConfig {
  std::string listen;      // "127.0.0.1:5000" (the container backend: "0.0.0.0:5000")
  std::string storage_dir; // filesystem storage root
  std::string http_secret; // random; signs upload state
  std::string proxy_url;   // "" = a registry you push to; else a pull-through cache of it
  std::string proxy_ttl;   // how long cached content lives ("168h")
  std::string proxy_username;
  std::string proxy_password; // then the file holds a secret (it is 0600 anyway)
  std::string htpasswd;       // "" = no login
  std::string tls_cert;       // "" = plain HTTP
  std::string tls_key;
  bool read_only = false; // maintenance read-only (pulls only), for gc
};

// The config.yml text: filesystem storage with delete enabled, upload purging, the storage
// health check, and the proxy, auth and TLS sections when set. The same config gives the same
// bytes.
std::string render_config(const ServerConfig& config);

enum class Backend { binary, container };

// The record `up` writes (<dir>/furnace-registry.json), read by status/down/gc and `push`.
struct State {
  Backend backend = Backend::binary;
  std::string address;   // "127.0.0.1:5000": how clients reach it
  bool tls = false;      // https
  bool auth = false;     // htpasswd login
  std::string proxy;     // the upstream when it is a pull-through cache
  std::string container; // the container backend's container name
  std::string image;     // the container backend's image
  int pid = 0;           // the binary backend's process
};

std::string render_state(const State& state);
// Errors (invalid): not JSON or a missing key, naming `file`.
core::Result<State> parse_state(const std::string& text, const std::string& file);

// Checks `--address` and `--port` and the LAN rule: a non-loopback address needs login and TLS
// (`auth`), or `allow_insecure` (then the caller warns). Returns "host:port". Errors (usage).
core::Result<std::string>
listen_address(const std::string& address, int port, bool auth, bool allow_insecure);

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

// Checks an upstream URL for --proxy: http or https, a host, no path, no credentials (they go in
// a file). "" gives Docker Hub (https://registry-1.docker.io). Errors (usage).
core::Result<std::string> proxy_upstream(const std::string& url);

// The disk line of `status`: "12.0 GiB used by the registry; 80.1 GiB free of 250.0 GiB (68%
// full)"; `warn` set at 90% full or more.
struct DiskReport {
  std::string line;
  bool warn = false;
};
DiskReport
disk_report(std::uint64_t registry_bytes, std::uint64_t free_bytes, std::uint64_t total_bytes);

// A byte count for people: "1.5 GiB", "312 MiB", "12 KiB", "10 B".
std::string human_bytes(std::uint64_t bytes);

} // namespace furnace::registry
