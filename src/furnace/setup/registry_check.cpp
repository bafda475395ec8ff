#include "registry_check.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <regex>

namespace furnace::setup {
namespace {

using core::ErrorKind;

struct UrlParts {
  std::string scheme;
  std::string userinfo;
  std::string host; // host[:port]
  std::string path;
  std::string query_fragment;
  bool has_userinfo = false;
};

UrlParts split_url(const std::string& url) {
  UrlParts p;
  std::string rest = url;
  if (const auto s = url.find("://"); s != std::string::npos) {
    p.scheme = url.substr(0, s);
    rest = url.substr(s + 3);
  }
  const auto auth_end = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, auth_end);
  std::string tail = auth_end == std::string::npos ? "" : rest.substr(auth_end);
  if (const auto at = authority.rfind('@'); at != std::string::npos) {
    p.has_userinfo = true;
    p.userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
  }
  p.host = authority;
  const auto q = tail.find_first_of("?#");
  p.path = tail.substr(0, q);
  p.query_fragment = q == std::string::npos ? "" : tail.substr(q);
  return p;
}

std::string host_only(const std::string& host_port) {
  if (host_port.starts_with("[")) {
    return host_port.substr(1, host_port.find(']') - 1);
  }
  const auto colon = host_port.find(':');
  return host_port.substr(0, colon);
}

} // namespace

std::string mask_credentials(const std::string& url) {
  const UrlParts p = split_url(url);
  if (!p.has_userinfo) {
    return url;
  }
  const auto colon = p.userinfo.find(':');
  const std::string user = p.userinfo.substr(0, colon);
  const std::string masked = colon == std::string::npos ? user : user + ":xxxxx";
  const auto at = url.find(p.userinfo + "@");
  return url.substr(0, at) + masked + url.substr(at + p.userinfo.size());
}

std::string mask_credentials_in_text(const std::string& text) {
  static const std::regex k_userinfo(R"(([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s"]*):[^@/\s"]*@)");
  return std::regex_replace(text, k_userinfo, "$1:xxxxx@");
}

core::Result<std::string> validate_mirror(const std::string& url) {
  const UrlParts p = split_url(url);
  const std::string shown = mask_credentials(url);
  if (p.scheme != "http" && p.scheme != "https") {
    return core::fail(
        ErrorKind::usage,
        fmt::format("invalid mirror: unsupported scheme \"{}\" in \"{}\"", p.scheme, shown),
        "a mirror is an http:// or https:// address, for example "
        "https://mirror.example.org");
  }
  if (p.has_userinfo) {
    return core::fail(
        ErrorKind::usage,
        fmt::format("invalid mirror: username/password not allowed in URI \"{}\"", shown),
        "dockerd cannot log in to a mirror; give the mirror's address only");
  }
  if (p.host.empty()) {
    return core::fail(ErrorKind::usage, fmt::format("invalid mirror: no host in \"{}\"", shown));
  }
  if ((!p.path.empty() && p.path != "/") || !p.query_fragment.empty()) {
    return core::fail(ErrorKind::usage,
                      fmt::format("invalid mirror: path, query, or fragment at end of the URI "
                                  "\"{}\"",
                                  shown),
                      fmt::format("a mirror must be a domain root: {}://{}", p.scheme, p.host));
  }
  return p.scheme + "://" + p.host;
}

bool is_loopback_registry(const std::string& host_port) {
  std::string h = host_only(host_port);
  if (const auto slash = h.find('/'); slash != std::string::npos) {
    // A CIDR is loopback when it lies within 127.0.0.0/8.
    const int bits = std::atoi(h.c_str() + slash + 1);
    h = h.substr(0, slash);
    return h.starts_with("127.") && bits >= 8;
  }
  return h == "localhost" || h == "::1" || h.starts_with("127.");
}

core::Result<std::string> validate_insecure_registry(const std::string& value,
                                                     AllowInsecure allow) {
  if (value.find("://") != std::string::npos) {
    return core::fail(
        ErrorKind::usage,
        fmt::format("insecure registry {} should not contain '://'", mask_credentials(value)),
        "give host:port, for example 10.0.0.5:5000");
  }
  if (value.empty() || value.find('@') != std::string::npos ||
      value.find(' ') != std::string::npos) {
    return core::fail(ErrorKind::usage,
                      fmt::format("invalid insecure registry \"{}\"", mask_credentials(value)),
                      "give host:port or a CIDR, for example 10.0.0.5:5000");
  }
  if (value == "0.0.0.0/0" || value == "::/0") {
    return core::fail(ErrorKind::usage,
                      fmt::format("refusing to mark every registry ({}) insecure", value),
                      "name the one registry: host:port");
  }
  if (is_loopback_registry(value)) {
    return value; // dockerd treats 127.0.0.0/8 as insecure anyway; harmless to list
  }
  if (allow == AllowInsecure::no) {
    return core::fail(ErrorKind::usage,
                      fmt::format("{} is not on this host: images from it would travel over plain "
                                  "HTTP or unchecked TLS",
                                  value),
                      "give it TLS, or pass --allow-insecure if you accept that");
  }
  return value;
}

} // namespace furnace::setup
