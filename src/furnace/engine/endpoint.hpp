#pragma once
// Where the engine listens: DOCKER_HOST, else DOCKER_CONTEXT, else the docker CLI's current
// context (~/.docker/config.json), else the default unix socket. Pure except for reading the
// docker CLI's config files.

#include <furnace/core/context.hpp>
#include <furnace/core/error.hpp>

#include <string>

namespace furnace::engine {

struct Endpoint {
  enum class Kind { unix_socket, tcp };
  Kind kind = Kind::unix_socket;
  std::string socket_path; // unix_socket only
  std::string base_url;    // "http://localhost", "https://host:2376"
  bool tls_verify = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string uri;    // as the user wrote it: "unix:///var/run/docker.sock"
  std::string source; // "default", "DOCKER_HOST", "context NAME"
};

inline constexpr const char* k_default_socket = "/var/run/docker.sock";

// Parses a DOCKER_HOST-style URI. Errors: invalid for a malformed URI or an unsupported scheme
// (ssh://, npipe://), naming `origin` (where the value came from) and the fix.
core::Result<Endpoint> parse_host_uri(const std::string& uri, const std::string& origin);

// Resolves the endpoint from the environment and the docker CLI's configuration.
core::Result<Endpoint> resolve_endpoint(const core::Env& env);

} // namespace furnace::engine
