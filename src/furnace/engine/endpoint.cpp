#include "endpoint.hpp"

#include <furnace/util/sha256.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace furnace::engine {
namespace {

std::string docker_config_dir(const core::Env& env) {
  if (auto it = env.find("DOCKER_CONFIG"); it != env.end() && !it->second.empty()) {
    return it->second;
  }
  auto home = env.find("HOME");
  return (home == env.end() ? std::string("/root") : home->second) + "/.docker";
}

// nullopt when the file does not exist; an error when it exists but is not JSON.
core::Result<nlohmann::json> read_json_file(const std::string& path, bool& exists) {
  std::ifstream in(path);
  exists = static_cast<bool>(in);
  if (!exists) {
    return nlohmann::json::object();
  }
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::parse_error& e) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{}: invalid JSON at byte {}", path, e.byte),
                      "fix or remove the file");
  }
}

void apply_tls_files(Endpoint& ep, const std::string& dir) {
  ep.ca_file = dir + "/ca.pem";
  ep.cert_file = dir + "/cert.pem";
  ep.key_file = dir + "/key.pem";
}

core::Result<Endpoint>
from_context(const core::Env& env, const std::string& name, const std::string& origin) {
  if (name.empty() || name == "default") {
    auto ep = parse_host_uri(std::string("unix://") + k_default_socket, origin);
    if (ep) {
      ep->source = "default";
    }
    return ep;
  }
  const std::string dir = docker_config_dir(env);
  const std::string id = util::sha256_hex(name);
  const std::string meta_path = dir + "/contexts/meta/" + id + "/meta.json";
  bool exists = false;
  auto meta = read_json_file(meta_path, exists);
  if (!meta) {
    return core::fail(meta.error());
  }
  if (!exists) {
    return core::fail(
        core::ErrorKind::not_found,
        fmt::format("docker context '{}' ({}) not found: no {}", name, origin, meta_path),
        "run 'docker context ls', or 'docker context use default'");
  }
  const auto& j = meta.value();
  const auto endpoints = j.find("Endpoints");
  if (endpoints == j.end() || !endpoints->is_object() || !endpoints->contains("docker") ||
      !(*endpoints)["docker"].is_object() || !(*endpoints)["docker"].contains("Host") ||
      !(*endpoints)["docker"]["Host"].is_string()) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{}: no Endpoints.docker.Host for context '{}'", meta_path, name),
                      "recreate the context with 'docker context create'");
  }
  const auto& docker = (*endpoints)["docker"];
  auto ep = parse_host_uri(docker["Host"].get<std::string>(), "context " + name);
  if (!ep) {
    return ep;
  }
  ep->source = "context " + name;
  const std::string tls_dir = dir + "/contexts/tls/" + id + "/docker";
  if (ep->kind == Endpoint::Kind::tcp && std::ifstream(tls_dir + "/ca.pem")) {
    apply_tls_files(*ep, tls_dir);
    const bool skip = docker.contains("SkipTLSVerify") && docker["SkipTLSVerify"].is_boolean() &&
                      docker["SkipTLSVerify"].get<bool>();
    ep->tls_verify = !skip;
    ep->base_url = "https" + ep->base_url.substr(ep->base_url.find(':'));
  }
  return ep;
}

} // namespace

core::Result<Endpoint> parse_host_uri(const std::string& uri, const std::string& origin) {
  Endpoint ep;
  ep.uri = uri;
  ep.source = origin;
  if (uri.rfind("unix://", 0) == 0) {
    ep.kind = Endpoint::Kind::unix_socket;
    ep.socket_path = uri.substr(7);
    if (ep.socket_path.empty() || ep.socket_path.front() != '/') {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("{}: '{}' is not an absolute socket path", origin, uri),
                        "use unix:///path/to/docker.sock");
    }
    ep.base_url = "http://localhost";
    return ep;
  }
  if (uri.rfind("tcp://", 0) == 0 || uri.rfind("http://", 0) == 0 ||
      uri.rfind("https://", 0) == 0) {
    ep.kind = Endpoint::Kind::tcp;
    const std::size_t scheme_end = uri.find("://") + 3;
    std::string hostport = uri.substr(scheme_end);
    while (!hostport.empty() && hostport.back() == '/') {
      hostport.pop_back();
    }
    if (hostport.empty() || hostport.find('/') != std::string::npos ||
        hostport.find('@') != std::string::npos) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("{}: '{}' must be tcp://HOST:PORT", origin, uri),
                        "for example DOCKER_HOST=tcp://127.0.0.1:2376");
    }
    const bool https = uri.rfind("https://", 0) == 0;
    const bool has_port = hostport.back() != ']' && hostport.find(':') != std::string::npos;
    ep.base_url = std::string(https ? "https://" : "http://") + hostport +
                  (has_port ? "" : (https ? ":2376" : ":2375"));
    return ep;
  }
  const auto scheme_end = uri.find("://");
  const std::string scheme = scheme_end == std::string::npos ? uri : uri.substr(0, scheme_end);
  return core::fail(core::ErrorKind::invalid,
                    fmt::format("{}: unsupported engine address '{}'", origin, uri),
                    scheme == "ssh" ? "furnace talks to unix:// and tcp:// engines; forward the "
                                      "socket with 'ssh -L /tmp/d.sock:/var/run/docker.sock HOST' "
                                      "and set DOCKER_HOST=unix:///tmp/d.sock"
                                    : "use unix:///path/to/docker.sock or tcp://HOST:PORT");
}

core::Result<Endpoint> resolve_endpoint(const core::Env& env) {
  if (auto it = env.find("DOCKER_HOST"); it != env.end() && !it->second.empty()) {
    auto ep = parse_host_uri(it->second, "DOCKER_HOST");
    if (!ep) {
      return ep;
    }
    auto tls = env.find("DOCKER_TLS_VERIFY");
    if (ep->kind == Endpoint::Kind::tcp && tls != env.end() && !tls->second.empty() &&
        tls->second != "0") {
      ep->tls_verify = true;
      auto cert = env.find("DOCKER_CERT_PATH");
      apply_tls_files(
          *ep, cert != env.end() && !cert->second.empty() ? cert->second : docker_config_dir(env));
      ep->base_url = "https" + ep->base_url.substr(ep->base_url.find(':'));
    }
    return ep;
  }
  if (auto it = env.find("DOCKER_CONTEXT"); it != env.end() && !it->second.empty()) {
    return from_context(env, it->second, "DOCKER_CONTEXT");
  }
  bool exists = false;
  const std::string config_path = docker_config_dir(env) + "/config.json";
  auto config = read_json_file(config_path, exists);
  if (!config) {
    return core::fail(config.error());
  }
  if (exists && config->is_object() && config->contains("currentContext") &&
      (*config)["currentContext"].is_string()) {
    return from_context(
        env, (*config)["currentContext"].get<std::string>(), config_path + " currentContext");
  }
  return from_context(env, "default", "default");
}

} // namespace furnace::engine
