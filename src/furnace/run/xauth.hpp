#pragma once
// The X authority file (~/.Xauthority, $XAUTHORITY) and the DISPLAY variable, as `furnace run
// --gui` needs them: read the caller's file, find the one cookie the display uses, and write a
// file holding only that cookie for a container. The format is Xau's: entries of five fields,
// family (a big-endian 16-bit number) then address, display number, auth name and auth data,
// each a big-endian 16-bit length followed by that many bytes. Pure: bytes in, bytes out.

#include <furnace/core/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::run {

// Families as Xau numbers them (X11/Xauth.h).
inline constexpr std::uint16_t k_family_internet = 0;
inline constexpr std::uint16_t k_family_local = 256;   // address: the host name
inline constexpr std::uint16_t k_family_wild = 0xffff; // any address

struct XauthEntry {
  std::uint16_t family = k_family_local;
  std::string address; // host name (local), 4 bytes (internet)
  std::string number;  // the display number as text: "0", "10"
  std::string name;    // "MIT-MAGIC-COOKIE-1"
  std::string data;    // the cookie's bytes
  bool operator==(const XauthEntry&) const = default;
};

// Parses an authority file's bytes. Errors (invalid): an entry cut short (the message says at
// which byte), so a damaged file is never half-used.
core::Result<std::vector<XauthEntry>> parse_xauthority(std::string_view bytes);

// The bytes of an authority file holding `entries`, in order. Fields longer than 65535 bytes
// cannot be written: FURNACE_ASSERT (parse_xauthority never makes one).
std::string write_xauthority(const std::vector<XauthEntry>& entries);

// A DISPLAY value taken apart: "[PROTOCOL/][HOST]:NUMBER[.SCREEN]".
struct XDisplay {
  std::string host;    // "" for the local socket; "localhost", "127.0.0.1", "::1" for TCP
  unsigned number = 0; // the display: socket /tmp/.X11-unix/X<number>, or TCP port 6000+number
  unsigned screen = 0;
  bool tcp = false; // reached over TCP on the loopback (ssh -X: DISPLAY=localhost:10.0)
};

// Errors (invalid): not a display ("foo"), or a display on another host, which furnace does not
// reach (the message names the value and the hint says what works: a local or ssh -X display).
core::Result<XDisplay> parse_display(std::string_view display);

// The cookie X clients on this host use for `display`, as Xlib/xcb pick it: the first entry for
// its number whose family is the wildcard, or local with this host's name (`hostname`; xcb uses
// that for loopback TCP too, which is how ssh -X's "HOST/unix:10" entry serves localhost:10.0), or
// internet with 127.0.0.1 for a TCP display. nullopt when there is none.
std::optional<XauthEntry> find_cookie(const std::vector<XauthEntry>& entries,
                                      const XDisplay& display,
                                      const std::string& hostname);

} // namespace furnace::run
