#pragma once
// Disk space on the engine's data root around a pull (RELIABILITY case 28). Before pulling a base
// image the engine lacks, furnace estimates what the pull needs (the registry manifest's layer
// sizes times k_pull_expansion, or a table of known base images when no manifest answers) and
// warns when the data root's free space (statvfs, local engines only) is smaller. A pull or build
// that fails with "no space left on device" says so plainly, with the engine's disk usage
// (`docker system df`, from the engine API) and the ways to free space.

#include <furnace/core/error.hpp>
#include <furnace/core/ui.hpp>
#include <furnace/engine/engine.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::image {

// Bytes on the data root per compressed byte a registry lists. During a pull the engine keeps a
// layer's download under <data-root>/tmp until it is unpacked (1x), and the unpacked layer takes
// about twice its gzip size (CUDA and Python libraries compress about 2:1), so 1 + 2 = 3.
inline constexpr double k_pull_expansion = 3.0;

struct SizeEstimate {
  long long needed = 0;     // bytes the pull needs on the data root
  long long compressed = 0; // bytes the registry (or the table) lists
  std::string source;       // "the manifest at URL", "furnace's table of known base images"
};

// Where a manifest for `ref` can be read without a login.
struct ManifestSource {
  std::string base_url;   // "http://127.0.0.1:5000"
  std::string repository; // "pytorch/pytorch", "library/debian"
  std::string reference;  // a tag or "sha256:…"
};

// An explicit registry host in `ref` ("127.0.0.1:5000/x:1", "ghcr.io/x:1"): that registry, over
// http for a loopback host or one of the engine's insecure registries, else https. A Docker Hub
// name: the engine's registry mirrors (Docker Hub itself wants a token; not asked).
std::vector<ManifestSource> manifest_sources(const std::string& ref,
                                             const engine::EngineInfo& info);

// The compressed size of well-known base images by repository and tag family; nullopt for
// others. Coarse on purpose: it only decides whether to warn.
std::optional<long long> known_compressed_bytes(const std::string& ref);

long long pull_needs(long long compressed);

// Free bytes for an unprivileged writer at `path` (statvfs); nullopt when it cannot be read.
std::optional<long long> free_bytes(const std::string& path);

// "pulling REF needs about X on the engine's data root DIR, which has Y free" + how it was
// estimated; the hint names the ways to free space.
std::string space_warning(const std::string& ref,
                          const SizeEstimate& estimate,
                          const std::string& root,
                          long long free);

// Whether engine or builder output says the disk filled up.
bool says_no_space(std::string_view text);

// A `docker system df`-like table (TYPE TOTAL ACTIVE SIZE RECLAIMABLE), one row per line.
std::string render_disk_usage(const engine::DiskUsage& usage);

// The ways to free space on the data root, for a hint.
std::string free_space_hint();

// The preflight: warns on `ui` when the pull of `ref` would not fit (and returns true); says (as
// info) why it did not check when it cannot (a remote engine, no size known). Never fails.
bool preflight_pull_space(core::Ui& ui, engine::Engine& engine, const std::string& ref);

// `e` (a failed pull that the preflight warned about, whose message does not say the disk is
// full) with a line saying that space may be the cause: an engine with a registry mirror reports
// only why its last registry (Docker Hub) failed, not the mirror's "no space left on device".
core::Error maybe_out_of_space(core::Error e);

// `e` (a failed pull or build whose output said "no space left on device") rewritten to say the
// engine's data root is full, with the engine's disk usage and the fix.
core::Error disk_full_error(core::Error e, engine::Engine& engine);

} // namespace furnace::image
