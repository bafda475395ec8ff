#include "noop_cache.hpp"

#include <furnace/image/build_log.hpp>
#include <furnace/project/furnace_yaml.hpp>
#include <furnace/deps/project.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/ownership.hpp>
#include <furnace/util/sha256.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>

namespace furnace::image {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int k_format = 2;

struct Stat {
  std::string line;
  std::optional<timespec> ctime; // nullopt: missing or unreadable
};

Stat stat_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int e = errno;
    return {e == ENOENT || e == ENOTDIR ? std::string("missing") : fmt::format("error {}", e), {}};
  }
  const char type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : 'o';
  return {fmt::format("{} {:o} {} {} {} {}.{:09} {}.{:09}",
                      type,
                      st.st_mode,
                      st.st_dev,
                      st.st_ino,
                      st.st_size,
                      st.st_mtim.tv_sec,
                      st.st_mtim.tv_nsec,
                      st.st_ctim.tv_sec,
                      st.st_ctim.tv_nsec),
          st.st_ctim};
}

// Local filesystems stamp files with this host's coarse clock, at nanosecond resolution.
bool precise_local_times(const std::string& path) {
  struct statfs fs_info {};
  if (::statfs(path.c_str(), &fs_info) != 0) {
    return false;
  }
  static constexpr unsigned long k_local[] = {
      0xEF53,     // ext2/3/4
      0x58465342, // xfs
      0x9123683E, // btrfs
      0x01021994, // tmpfs
      0x794C7630, // overlayfs
      0xF2F52010, // f2fs
      0x2FC12FC1, // zfs
  };
  const auto type = static_cast<unsigned long>(fs_info.f_type);
  return std::find(std::begin(k_local), std::end(k_local), type) != std::end(k_local);
}

// True when the change `ctime` stamps happened before `started` beyond doubt.
bool settled(const std::string& path, const timespec& ctime, const timespec& started) {
  if (ctime.tv_nsec != 0 && precise_local_times(path)) {
    return ctime.tv_sec < started.tv_sec ||
           (ctime.tv_sec == started.tv_sec && ctime.tv_nsec < started.tv_nsec);
  }
  return ctime.tv_sec + 2 <= started.tv_sec;
}

std::vector<std::string> strings_of(const json& j, const char* key) {
  std::vector<std::string> out;
  if (const auto it = j.find(key); it != j.end() && it->is_array()) {
    for (const json& s : *it) {
      out.push_back(s.get<std::string>());
    }
  }
  return out;
}

} // namespace

std::string noop_entry_path(const core::Env& env, const std::string& root) {
  return cache_dir(env) + "/noop/" + util::sha256_hex(root).substr(0, 16) + ".json";
}

std::string stat_line(const std::string& path) {
  return stat_of(path).line;
}

std::string gpu_fingerprint(const core::Result<gpu::GpuInfo>& probed) {
  if (!probed) {
    return fmt::format(
        "error {} {}", static_cast<int>(probed.error().kind), probed.error().message);
  }
  std::string out =
      fmt::format("{} {} {}", probed->source, probed->driver_version, probed->cuda_driver_version);
  for (const gpu::Gpu& g : probed->gpus) {
    out += fmt::format(
        "; {} {} {} {}.{} {}", g.index, g.name, g.uuid, g.cc_major, g.cc_minor, g.memory_total);
  }
  return out;
}

std::vector<std::string> noop_inputs(const std::string& root,
                                     const std::string& conda_file,
                                     const std::string& user_config) {
  std::vector<std::string> dirs;
  const std::vector<std::string> files = deps::list_project_files(root, &dirs);
  std::set<std::string> inputs;
  auto full = [&root](const std::string& p) {
    return !p.empty() && p.front() == '/' ? p : root + "/" + p;
  };
  for (const std::string& d : dirs) {
    inputs.insert(full(d)); // the root first, as it is
  }
  // The parser decides what else it reads (requirements includes, …): ask it, through a reader
  // that notes each path.
  const deps::FileReader disk = deps::disk_reader(root);
  const deps::FileReader noting = [&](const std::string& p) {
    inputs.insert(full(p));
    return disk(p);
  };
  (void)deps::parse_project(files, noting);
  inputs.insert(full(project::k_file_name));
  if (!conda_file.empty()) {
    inputs.insert(full(conda_file));
  }
  inputs.insert(user_config);
  inputs.insert(full("furnace.lock"));
  inputs.insert("/proc/self/exe"); // another furnace build: other tables, other rendering
  return {inputs.begin(), inputs.end()};
}

std::optional<NoopEntry> read_noop_entry(const std::string& path) {
  auto text = util::read_file(path);
  if (!text) {
    return std::nullopt;
  }
  const json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", 0) != k_format) {
    return std::nullopt;
  }
  try {
    NoopEntry e;
    e.root = j.at("root").get<std::string>();
    for (const json& in : j.at("inputs")) {
      e.inputs.emplace_back(in.at(0).get<std::string>(), in.at(1).get<std::string>());
    }
    e.gpu = j.at("gpu").get<std::string>();
    e.user_config = j.at("user_config").get<std::string>();
    e.tag = j.at("tag").get<std::string>();
    e.project_name = j.at("name").get<std::string>();
    e.has_yaml = j.at("has_yaml").get<bool>();
    e.spec_hash = j.at("spec_hash").get<std::string>();
    e.base_image = j.at("base").get<std::string>();
    e.base_id = j.at("base_id").get<std::string>();
    e.plan_json = j.at("plan").get<std::string>();
    e.warnings = strings_of(j, "warnings");
    e.notes = strings_of(j, "notes");
    if (e.inputs.empty() || e.tag.empty() || e.base_id.empty()) {
      return std::nullopt;
    }
    return e;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

bool noop_entry_matches(const NoopEntry& entry, const std::string& gpu) {
  if (entry.gpu != gpu) {
    return false;
  }
  return std::all_of(entry.inputs.begin(), entry.inputs.end(), [](const auto& in) {
    return stat_line(in.first) == in.second;
  });
}

timespec coarse_now() {
  timespec t{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &t);
  return t;
}

bool write_noop_entry(const std::string& path,
                      NoopEntry entry,
                      const std::vector<std::string>& inputs,
                      timespec started) {
  entry.inputs.clear();
  for (const std::string& in : inputs) {
    Stat s = stat_of(in);
    if (s.ctime && !settled(in, *s.ctime, started)) {
      return false; // changed while this build read it (or too recently to tell)
    }
    entry.inputs.emplace_back(in, std::move(s.line));
  }
  json j;
  j["format"] = k_format;
  j["root"] = entry.root;
  j["inputs"] = entry.inputs;
  j["gpu"] = entry.gpu;
  j["user_config"] = entry.user_config;
  j["tag"] = entry.tag;
  j["name"] = entry.project_name;
  j["has_yaml"] = entry.has_yaml;
  j["spec_hash"] = entry.spec_hash;
  j["base"] = entry.base_image;
  j["base_id"] = entry.base_id;
  j["plan"] = entry.plan_json;
  j["warnings"] = entry.warnings;
  j["notes"] = entry.notes;
  std::error_code ec;
  util::make_directories(fs::path(path).parent_path().string(), ec);
  return !ec && util::write_file_atomic(path, j.dump() + "\n").has_value();
}

} // namespace furnace::image
