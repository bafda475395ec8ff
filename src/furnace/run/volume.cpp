#include "volume.hpp"

#include <furnace/dataset/command.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <filesystem>

namespace furnace::run {

namespace {

namespace fs = std::filesystem;

core::Error bad_volume(std::string_view text, const std::string& why, std::string hint = {}) {
  return core::make_error(core::ErrorKind::usage,
                          fmt::format("-v {}: {}", printable(text), why),
                          hint.empty() ? "give -v HOST_PATH:CONTAINER_PATH[:ro], e.g. "
                                         "-v ./data:/data:ro"
                                       : std::move(hint));
}

} // namespace

core::Result<Mount> parse_volume(std::string_view text, const std::string& here) {
  if (has_control_char(text)) {
    return core::fail(bad_volume(text,
                                 "a path has a control character",
                                 "rename the directory (no line breaks, tabs or other control "
                                 "characters)"));
  }
  const std::vector<std::string> parts = util::split(text, ':');
  bool read_only = false;
  if (parts.size() == 3 && (parts[2] == "ro" || parts[2] == "rw")) {
    read_only = parts[2] == "ro";
  } else if (parts.size() != 2) {
    return core::fail(bad_volume(
        text,
        parts.size() < 2 ? "no container path"
                         : "a path with ':' cannot be told from the separators, and the only "
                           "modes are ro and rw",
        "give -v HOST:CONTAINER[:ro]; for a directory with ':' in its name, mount a symlink to "
        "it without one"));
  }
  const std::string& host = parts[0];
  const std::string& target = parts[1];
  if (host.empty() || target.empty()) {
    return core::fail(bad_volume(text, "an empty path"));
  }
  if (host.find('/') == std::string::npos && host != "." && host != "..") {
    return core::fail(bad_volume(text,
                                 fmt::format("'{}' looks like a named volume; furnace mounts host "
                                             "directories only",
                                             host),
                                 fmt::format("give a path: -v ./{}:{}", host, target)));
  }
  fs::path h(host);
  if (h.is_relative()) {
    h = fs::path(here) / h;
  }
  std::error_code ec;
  if (!fs::exists(h, ec)) {
    return core::fail(bad_volume(text,
                                 fmt::format("{} does not exist", h.lexically_normal().string()),
                                 "create it first (the engine would make an empty directory "
                                 "owned by root)"));
  }
  const std::string source = fs::canonical(h, ec).string();
  if (ec || source == "/") {
    return core::fail(bad_volume(text,
                                 ec ? ec.message() : "that is the whole file system (/)",
                                 "mount the directory you need, not /"));
  }
  const fs::path t(target);
  if (!t.is_absolute()) {
    return core::fail(bad_volume(
        text, "the container path must be absolute", fmt::format("e.g. -v {}:/{}", host, target)));
  }
  for (const auto& part : t) {
    if (part == "..") {
      return core::fail(bad_volume(text, "the container path has '..'"));
    }
  }
  std::string normal = t.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') {
    normal.pop_back();
  }
  if (normal == "/") {
    return core::fail(bad_volume(text, "the container path cannot be / itself"));
  }
  return Mount{source, normal, read_only};
}

core::Result<std::vector<Mount>> extra_mounts(core::Context& ctx,
                                              const std::vector<std::string>& volumes,
                                              const std::vector<std::string>& datasets,
                                              const std::string& here,
                                              bool dry_run) {
  std::vector<Mount> out;
  for (const std::string& v : volumes) {
    auto m = parse_volume(v, here);
    if (!m) {
      return core::fail(m.error());
    }
    out.push_back(std::move(*m));
  }
  if (!datasets.empty()) {
    auto ds = dataset::mounts_for_run(ctx, datasets, dry_run, dataset::self_path());
    if (!ds) {
      return core::fail(ds.error());
    }
    for (const auto& m : *ds) {
      out.push_back(Mount{m.source, m.target, m.read_only});
    }
  }
  return out;
}

} // namespace furnace::run
