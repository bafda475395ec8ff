#include "xauth.hpp"

#include <fmt/format.h>

#include <charconv>

namespace furnace::run {

namespace {

constexpr std::size_t k_max_field = 0xffff;

// Reads a big-endian 16-bit number at `at`; false when the bytes end first.
bool read_u16(std::string_view b, std::size_t& at, std::uint16_t& out) {
  if (b.size() - at < 2) {
    return false;
  }
  out = static_cast<std::uint16_t>((static_cast<unsigned char>(b[at]) << 8U) |
                                   static_cast<unsigned char>(b[at + 1]));
  at += 2;
  return true;
}

bool read_field(std::string_view b, std::size_t& at, std::string& out) {
  std::uint16_t n = 0;
  if (!read_u16(b, at, n) || b.size() - at < n) {
    return false;
  }
  out.assign(b.substr(at, n));
  at += n;
  return true;
}

void put_u16(std::string& out, std::size_t v) {
  FURNACE_ASSERT(v <= k_max_field);
  out.push_back(static_cast<char>((v >> 8U) & 0xffU));
  out.push_back(static_cast<char>(v & 0xffU));
}

bool parse_unsigned(std::string_view text, unsigned& out) {
  if (text.empty()) {
    return false;
  }
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && p == end;
}

} // namespace

core::Result<std::vector<XauthEntry>> parse_xauthority(std::string_view bytes) {
  std::vector<XauthEntry> out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    const std::size_t start = at;
    XauthEntry e;
    if (!read_u16(bytes, at, e.family) || !read_field(bytes, at, e.address) ||
        !read_field(bytes, at, e.number) || !read_field(bytes, at, e.name) ||
        !read_field(bytes, at, e.data)) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("the X authority file is cut short: entry {} (at byte {}) ends "
                                    "after {} bytes",
                                    out.size() + 1,
                                    start,
                                    bytes.size()),
                        "make a new cookie: 'xauth generate $DISPLAY', or log in again");
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string write_xauthority(const std::vector<XauthEntry>& entries) {
  std::string out;
  for (const XauthEntry& e : entries) {
    put_u16(out, e.family);
    for (const std::string* f : {&e.address, &e.number, &e.name, &e.data}) {
      put_u16(out, f->size());
      out += *f;
    }
  }
  return out;
}

core::Result<XDisplay> parse_display(std::string_view display) {
  const auto bad = [&](const std::string& why) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("DISPLAY={} {}", display, why),
                      "furnace uses this host's own X display (DISPLAY=:0) or one forwarded by "
                      "'ssh -X' (DISPLAY=localhost:10.0); see docs/gui.md");
  };
  XDisplay d;
  std::string_view rest = display;
  std::string protocol;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    protocol = std::string(rest.substr(0, slash));
    rest.remove_prefix(slash + 1);
  }
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) {
    return bad("is not an X display (HOST:NUMBER, e.g. ':0')");
  }
  d.host = std::string(rest.substr(0, colon));
  if (d.host.size() >= 2 && d.host.front() == '[' && d.host.back() == ']') {
    d.host = d.host.substr(1, d.host.size() - 2);
  }
  std::string_view num = rest.substr(colon + 1);
  if (const auto dot = num.find('.'); dot != std::string_view::npos) {
    if (!parse_unsigned(num.substr(dot + 1), d.screen)) {
      return bad("has no screen number after '.'");
    }
    num = num.substr(0, dot);
  }
  if (!parse_unsigned(num, d.number) || d.number > 59535) {
    return bad("has no display number after ':'");
  }
  const bool local_name = d.host.empty() || d.host == "unix";
  if ((protocol.empty() || protocol == "unix" || protocol == "local") && local_name) {
    d.host.clear();
    return d;
  }
  if ((protocol.empty() || protocol == "tcp" || protocol == "inet" || protocol == "inet6") &&
      (d.host == "localhost" || d.host == "127.0.0.1" || d.host == "::1")) {
    d.tcp = true;
    return d;
  }
  return bad(fmt::format("is on another host ('{}'): furnace does not reach X servers over the "
                         "network",
                         d.host.empty() ? protocol : d.host));
}

std::optional<XauthEntry> find_cookie(const std::vector<XauthEntry>& entries,
                                      const XDisplay& display,
                                      const std::string& hostname) {
  const std::string number = std::to_string(display.number);
  for (const XauthEntry& e : entries) {
    if (e.number != number) {
      continue;
    }
    const bool match = e.family == k_family_wild ||
                       (e.family == k_family_local && e.address == hostname) ||
                       (display.tcp && e.family == k_family_internet &&
                        e.address == std::string("\x7f\0\0\x01", 4));
    if (match) {
      return e;
    }
  }
  return std::nullopt;
}

} // namespace furnace::run
