#include "source.hpp"

#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <filesystem>

namespace furnace::dataset {

namespace {

namespace fs = std::filesystem;

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// A DNS name or an IPv4 address: letters, digits, '-', '.'; no leading '-' or '.'.
bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 253 || h.front() == '-' || h.front() == '.') {
    return false;
  }
  return std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
  });
}

core::Error bad_source(std::string_view text, const std::string& why) {
  return core::make_error(core::ErrorKind::usage,
                          fmt::format("dataset source '{}': {}", text, why),
                          "give a directory, cifs://HOST/SHARE[/SUB] (or //HOST/SHARE) or "
                          "nfs://HOST/EXPORT; the user name goes in --user, the password is "
                          "asked for");
}

// host/rest of a remote URL body (after the scheme or the leading "//").
core::Result<Source> parse_remote(std::string_view text, std::string_view body, Kind kind) {
  const auto slash = body.find('/');
  const std::string_view host = body.substr(0, slash);
  if (host.find('@') != std::string_view::npos) {
    return core::fail(bad_source(text,
                                 "credentials in the source are not accepted (they would "
                                 "be visible to every user)"));
  }
  if (!valid_host(host)) {
    return core::fail(
        bad_source(text, fmt::format("'{}' is not a host name or IPv4 address", host)));
  }
  std::string rest = slash == std::string_view::npos ? "" : std::string(body.substr(slash + 1));
  while (!rest.empty() && rest.back() == '/') {
    rest.pop_back();
  }
  if (rest.empty()) {
    return core::fail(bad_source(text,
                                 kind == Kind::nfs ? "no export path after the host"
                                                   : "no share name after the host"));
  }
  if (rest.find_first_of(",:\"'\\") != std::string::npos) {
    return core::fail(
        bad_source(text, "a ',', ':', quote or backslash in the share path is not supported"));
  }
  for (const std::string& part : util::split(rest, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return core::fail(bad_source(text, "empty, '.' or '..' path components are not allowed"));
    }
  }
  Source s;
  s.kind = kind;
  s.host = std::string(host);
  if (kind == Kind::nfs) {
    s.share = "/" + rest;
    return s;
  }
  const auto cut = rest.find('/');
  s.share = rest.substr(0, cut);
  s.sub = cut == std::string::npos ? "" : rest.substr(cut + 1);
  return s;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

} // namespace

core::Result<void> check_name(std::string_view name) {
  const std::string hint = "use lowercase letters, digits, '.', '_' and '-', starting with a "
                           "letter or digit (e.g. imagenet, coco-2017)";
  if (name.empty() || name.size() > 64) {
    return core::fail(core::ErrorKind::usage,
                      fmt::format("dataset name '{}' must have 1 to 64 characters", name),
                      hint);
  }
  const auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  };
  const bool first = std::isalnum(static_cast<unsigned char>(name.front())) != 0 &&
                     std::islower(static_cast<unsigned char>(name.front())) != 0;
  const bool first_digit = name.front() >= '0' && name.front() <= '9';
  if (!(first || first_digit) || !std::all_of(name.begin(), name.end(), ok)) {
    std::string shown;
    for (char c : name) {
      shown += has_control(std::string_view(&c, 1)) ? std::string("?") : std::string(1, c);
    }
    return core::fail(
        core::ErrorKind::usage, fmt::format("dataset name '{}' is not valid", shown), hint);
  }
  return {};
}

core::Result<Source> parse_source(std::string_view text, const std::string& cwd) {
  if (text.empty()) {
    return core::fail(bad_source(text, "it is empty"));
  }
  if (has_control(text)) {
    return core::fail(core::make_error(core::ErrorKind::usage,
                                       "the dataset source has a control character",
                                       "rename the directory, or give the share without line "
                                       "breaks or tabs"));
  }
  for (const auto& [scheme, kind] : std::array<std::pair<std::string_view, Kind>, 3>{
           {{"cifs://", Kind::cifs}, {"smb://", Kind::cifs}, {"nfs://", Kind::nfs}}}) {
    if (starts_with(text, scheme)) {
      return parse_remote(text, text.substr(scheme.size()), kind);
    }
  }
  if (starts_with(text, "//")) {
    return parse_remote(text, text.substr(2), Kind::cifs);
  }
  if (text.find("://") != std::string_view::npos) {
    return core::fail(bad_source(text, "only cifs://, smb:// and nfs:// are known"));
  }
  Source s;
  s.kind = Kind::local;
  fs::path p(text);
  if (p.is_relative()) {
    p = fs::path(cwd) / p;
  }
  s.path = p.lexically_normal().string();
  while (s.path.size() > 1 && s.path.back() == '/') {
    s.path.pop_back();
  }
  return s;
}

std::string source_text(const Source& s) {
  switch (s.kind) {
  case Kind::local:
    return s.path;
  case Kind::cifs:
    return fmt::format("cifs://{}/{}{}", s.host, s.share, s.sub.empty() ? "" : "/" + s.sub);
  case Kind::nfs:
    return fmt::format("nfs://{}{}", s.host, s.share);
  }
  return {};
}

std::string remote_spec(const Source& s) {
  if (s.kind == Kind::nfs) {
    return s.host + ":" + s.share;
  }
  return fmt::format("//{}/{}{}", s.host, s.share, s.sub.empty() ? "" : "/" + s.sub);
}

unsigned remote_port(const Source& s, const std::vector<std::string>& options) {
  for (const std::string& o : options) {
    if (starts_with(o, "port=")) {
      unsigned v = 0;
      const std::string_view n = std::string_view(o).substr(5);
      const auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
      if (ec == std::errc() && p == n.data() + n.size() && v > 0 && v < 65536) {
        return v;
      }
    }
  }
  return s.kind == Kind::nfs ? 2049U : 445U;
}

core::Result<std::vector<std::string>> parse_options(std::string_view text) {
  std::vector<std::string> out;
  if (util::trim(text).empty()) {
    return out;
  }
  static const std::array<std::string_view, 5> secret{
      "password", "pass", "credentials", "cred", "password2"};
  static const std::array<std::string_view, 11> owned{"user",
                                                      "username",
                                                      "domain",
                                                      "dom",
                                                      "workgroup",
                                                      "uid",
                                                      "gid",
                                                      "file_mode",
                                                      "dir_mode",
                                                      "ro",
                                                      "rw"};
  for (const std::string& entry : util::split(std::string(text), ',')) {
    if (entry.empty() || entry.find_first_of(" \t\"'\\") != std::string::npos ||
        has_control(entry)) {
      return core::fail(
          core::ErrorKind::usage,
          fmt::format("--options: '{}' is not a mount option", entry),
          "give KEY or KEY=VALUE entries separated by commas, e.g. vers=3.0,port=445");
    }
    const std::string key = entry.substr(0, entry.find('='));
    if (std::find(secret.begin(), secret.end(), key) != secret.end()) {
      return core::fail(core::ErrorKind::usage,
                        fmt::format("--options: '{}' carries a secret and is refused", key),
                        "the password is asked for (or read with --password-stdin) and kept "
                        "in a credentials file with mode 600");
    }
    if (std::find(owned.begin(), owned.end(), key) != owned.end()) {
      return core::fail(core::ErrorKind::usage,
                        fmt::format("--options: furnace sets '{}' itself", key),
                        "use --user, --domain or --rw; uid, gid and the modes follow the caller");
    }
    if (key == "hard" || key == "nosoft") {
      return core::fail(
          core::ErrorKind::usage,
          fmt::format("--options: '{}' is refused: furnace mounts soft, so a NAS "
                      "that dies gives I/O errors instead of processes nobody can kill",
                      key),
          "leave it out");
    }
    if (key == "port") {
      const std::string v = entry.size() > 5 ? entry.substr(5) : "";
      if (v.empty() || v.size() > 5 ||
          !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          std::stoul(v) == 0 || std::stoul(v) > 65535) {
        return core::fail(core::ErrorKind::usage,
                          fmt::format("--options: '{}' is not a port", entry),
                          "give port=N with N from 1 to 65535");
      }
    }
    out.push_back(entry);
  }
  return out;
}

} // namespace furnace::dataset
