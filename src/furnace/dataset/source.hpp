#pragma once
// A dataset's name, where it lives (a local directory, a CIFS share, an NFS export) and the
// mount options a user may add. Pure: parsing and checking only, no file system access but for
// making a local path absolute.

#include <furnace/core/error.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace furnace::dataset {

enum class Kind { local, cifs, nfs };

struct Source {
  Kind kind = Kind::local;
  std::string host;  // cifs, nfs: "nas.lab" or "10.0.0.5"
  std::string share; // cifs: the share ("data"); nfs: the export ("/volume1/data")
  std::string sub;   // a directory under the share or export ("imagenet/train"), "" for none
  std::string path;  // local: the absolute directory
};

// Names are what furnace.yaml's `datasets:` lists and what the mount point and /datasets/NAME
// are called: a lowercase letter or digit, then up to 63 of [a-z0-9._-], never "." or "..".
// Errors (usage) say which rule and give an example.
core::Result<void> check_name(std::string_view name);

// Parses SOURCE: an absolute or relative path (made absolute against `cwd`), `cifs://host/share`,
// `//host/share` (both with an optional `/sub/dir`), `smb://` as a synonym, or
// `nfs://host/export[/sub]` (the whole path is the export; mount.nfs takes subdirectories of it).
// Errors (usage): an empty or bad host, a missing share, a control character, a ',' or ':' in a
// remote path (they would end up in mount options), credentials in the URL.
core::Result<Source> parse_source(std::string_view text, const std::string& cwd);

// The source as it is stored and shown: "/data/x", "cifs://nas/share/sub", "nfs://nas/export".
std::string source_text(const Source& s);

// What the mount helper is given: "//nas/share/sub" (cifs), "nas:/export" (nfs).
std::string remote_spec(const Source& s);

// The TCP port the share answers on: a `port=N` in `options`, else 445 (cifs) or 2049 (nfs).
unsigned remote_port(const Source& s, const std::vector<std::string>& options);

// Splits and checks --options: a comma-separated list of `key` or `key=value` entries. Refused:
// anything that carries a secret (password, pass, credentials, cred), what furnace sets itself
// (user/username, domain, uid, gid, file_mode, dir_mode, ro, rw; use --user, --domain, --rw),
// empty entries, whitespace, quotes, control characters. Errors (usage) name the entry.
core::Result<std::vector<std::string>> parse_options(std::string_view text);

} // namespace furnace::dataset
