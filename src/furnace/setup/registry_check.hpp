#pragma once
// Checks on registry addresses before they go into daemon.json, the way dockerd checks them
// (moby registry/config.go ValidateMirror / ValidateIndexName): an invalid mirror stops the
// daemon from starting, so it must never be written. Credentials are never echoed.

#include <furnace/core/error.hpp>

#include <string>

namespace furnace::setup {

// `url` with any password replaced by "xxxxx", for messages.
std::string mask_credentials(const std::string& url);

// `text` with the password of every "scheme://user:password@" replaced by "xxxxx" (daemon.json
// may hold proxy credentials; the plan prints it).
std::string mask_credentials_in_text(const std::string& text);

// Accepts an http/https domain root ("https://mirror.example", "http://10.0.0.5:5000/") and
// returns it without the trailing slash. Errors (usage): another scheme, a path, query or
// fragment, a user name or password (masked in the message).
core::Result<std::string> validate_mirror(const std::string& url);

enum class AllowInsecure { no, yes };

// Accepts "host[:port]" or a CIDR ("10.0.0.0/8"). Errors (usage): a scheme ("http://…"), a
// non-loopback address without `allow` (127.0.0.0/8 is insecure already), "0.0.0.0/0".
core::Result<std::string> validate_insecure_registry(const std::string& value, AllowInsecure allow);

// True for localhost, 127.0.0.0/8 and ::1 (with or without a port).
bool is_loopback_registry(const std::string& host_port);

} // namespace furnace::setup
