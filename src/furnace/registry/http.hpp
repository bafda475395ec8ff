#pragma once
// One HTTP request to a registry, bounded in time: what `up` waits for, what `push` asks before
// pushing (is it a pull-through cache?) and what `pull` asks (where does the tag point now?).

#include <furnace/core/error.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace furnace::registry {

struct HttpAnswer {
  long status = 0;
  std::string body;
  std::vector<std::string> headers; // "Name: value" lines as received
  // The first header named `name` (case-insensitive), "" when absent.
  std::string header(const std::string& name) const;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string ca_file;    // trust this CA (a self-signed lab registry)
  bool verify_tls = true; // false: accept any certificate (loopback checks only)
  std::vector<std::string> headers;
  std::chrono::milliseconds timeout{5000};
};

// Errors: unavailable (no connection, TLS failure) or timeout; any HTTP status is an answer.
core::Result<HttpAnswer> http_request(const HttpRequest& request);

} // namespace furnace::registry
