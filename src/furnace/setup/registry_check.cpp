#include "registry_check.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>

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
  if (colon != std::string::npos && host_port.find(':', colon + 1) != std::string::npos) {
    return host_port; // a bare IPv6 address ("::1", "::1/128") has no port
  }
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
  // Every "scheme://": its authority runs to the first space or unescaped quote; the userinfo is
  // everything before the LAST '@' there (a password may hold '@', '/', or an escaped '"'), and
  // the password everything after its first ':'. When unsure, more is masked, never less.
  auto scheme_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '.' || c == '-';
  };
  std::string out;
  std::size_t copied = 0;
  std::size_t from = 0;
  while (true) {
    const std::size_t sep = text.find("://", from);
    if (sep == std::string::npos) {
      break;
    }
    const std::size_t start = sep + 3;
    from = start;
    if (sep == 0 || !scheme_char(text[sep - 1])) {
      continue;
    }
    std::size_t end = start;
    while (end < text.size()) {
      const char c = text[end];
      if (c == '\\' && end + 1 < text.size()) {
        end += 2; // an escaped character ("\"" in JSON) belongs to the value
        continue;
      }
      if (c == '"' || std::isspace(static_cast<unsigned char>(c)) != 0) {
        break;
      }
      ++end;
    }
    end = std::min(end, text.size());
    const std::string_view authority(text.data() + start, end - start);
    const std::size_t at = authority.rfind('@');
    if (at == std::string_view::npos) {
      continue;
    }
    const std::size_t colon = authority.substr(0, at).find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    out.append(text, copied, start + colon + 1 - copied);
    out += "xxxxx";
    copied = start + at;
    from = std::max(from, copied);
  }
  out.append(text, copied, std::string::npos);
  return out;
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
  // Parsed as an address, never compared as text: "127.0.0.1.nip.io" is a name, and names
  // resolve wherever their owner likes.
  std::string h = host_only(host_port);
  if (const auto slash = h.find('/'); slash != std::string::npos) {
    // A CIDR is loopback when it lies within 127.0.0.0/8 (or is ::1/128).
    const std::string bits_text = h.substr(slash + 1);
    h = h.substr(0, slash);
    if (bits_text.empty() || bits_text.size() > 3 ||
        !std::all_of(bits_text.begin(), bits_text.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
      return false;
    }
    const int bits = std::atoi(bits_text.c_str());
    in_addr v4{};
    if (::inet_pton(AF_INET, h.c_str(), &v4) == 1) {
      return bits >= 8 && bits <= 32 && (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    return ::inet_pton(AF_INET6, h.c_str(), &v6) == 1 && bits == 128 && IN6_IS_ADDR_LOOPBACK(&v6);
  }
  if (h == "localhost") {
    return true;
  }
  in_addr v4{};
  if (::inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  return ::inet_pton(AF_INET6, h.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
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
