#pragma once
// The secrets of a lab registry: the generated password, the bcrypt htpasswd line Distribution
// needs (it rejects every other hash), and a self-signed CA with a server certificate for TLS
// (login over plain HTTP is refused by the registry and by Docker). Keys and the htpasswd file
// are 0600 in a 0700 directory from the moment they exist.

#include <furnace/core/error.hpp>
#include <furnace/util/process.hpp>

#include <string>
#include <vector>

namespace furnace::registry {

// `bytes` random bytes from the kernel as URL-safe base64 (no padding). Errors (io).
core::Result<std::string> random_token(std::size_t bytes);

// "USER:$2b$10$..." for an htpasswd file: bcrypt through the C library's crypt (libxcrypt).
// Errors (invalid): a user name with ':' or a newline, an empty password; (internal) no bcrypt.
core::Result<std::string> htpasswd_line(const std::string& user, const std::string& password);

struct Certificates {
  std::string ca_cert; // give this to clients: /etc/docker/certs.d/HOST:PORT/ca.crt
  std::string cert;    // the server's certificate
  std::string key;     // its key (0600)
  bool generated = false;
};

// A CA (ca.crt, ca.key) and a server certificate for `names` (IP addresses or DNS names, the
// first its common name) under `dir` (made 0700), made with the openssl CLI through `runner`.
// An existing set for the same names is kept. Errors: openssl missing or failing (its stderr).
core::Result<Certificates> make_certificates(util::ProcessRunner& runner,
                                             const std::string& dir,
                                             const std::vector<std::string>& names);

} // namespace furnace::registry
