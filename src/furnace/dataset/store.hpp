#pragma once
// Where dataset definitions and credentials live, and the definitions file itself.
//
// Two scopes: the caller's own (`<config>/furnace/datasets.yaml`, credentials under
// `<config>/furnace/credentials/NAME`, owned by the caller) and the lab's (`/etc/furnace/
// datasets.yaml`, `/etc/furnace/credentials/NAME`, root only), which every user may mount.
// The definitions hold no secret; the files are written atomically.

#include <furnace/core/context.hpp>
#include <furnace/dataset/source.hpp>

#include <optional>
#include <string>
#include <vector>

namespace furnace::dataset {

struct Dataset {
  std::string name;
  Source source;
  std::string user;                 // cifs: the share's user
  std::string domain;               // cifs: the user's domain, "" for none
  std::vector<std::string> options; // checked with parse_options
  bool rw = false;                  // mounted read-write into runs (read-only otherwise)
  bool system = false;              // from /etc/furnace/datasets.yaml
};

struct Scope {
  bool system = false;
  std::string file;            // datasets.yaml
  std::string credentials_dir; // credentials/
};

// The caller's scope (XDG_CONFIG_HOME or ~/.config) and the lab's (under `host_root`).
Scope user_scope(const core::Env& env);
Scope system_scope(const std::string& host_root);

// Reads a datasets.yaml; a missing file is an empty list. Errors (invalid) name the file, the
// line and the key.
core::Result<std::vector<Dataset>> load_datasets(const Scope& scope);

// The YAML text of `list` (sorted by name), as save_datasets writes it.
std::string render_datasets(const std::vector<Dataset>& list);

// Writes `list` atomically (mode 0644: names and sources only, never a secret), creating the
// directory; files in the caller's config directory belong to its owner.
core::Result<void> save_datasets(const Scope& scope, const std::vector<Dataset>& list);

// The dataset called `name`: the caller's own first, then the lab's. `system_only` (a `sudo
// furnace dataset mount NAME` from a user) looks at the lab's only.
struct Found {
  Dataset dataset;
  Scope scope;
};
core::Result<Found>
find_dataset(const core::Context& ctx, const std::string& name, bool system_only);

// Where remote datasets are mounted on the host: /etc/furnace/config.yaml's `datasets:
// {mount_root: DIR}` (an absolute path), else /mnt/furnace. Errors name the file and key.
core::Result<std::string> mount_root(const std::string& host_root);

} // namespace furnace::dataset
