#include "images.hpp"

#include <furnace/image/builder.hpp>
#include <furnace/image/lock.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <set>

namespace furnace::image {

namespace {

namespace fs = std::filesystem;

constexpr const char* k_project_label = "org.furnace.project";
constexpr std::string_view k_repo_prefix = "furnace/";
constexpr const char* k_user_layer_label = "org.furnace.user-layer-of";

// Image id -> how many containers (running or not) use it, through the docker CLI.
core::Result<std::map<std::string, int>> containers_by_image(core::Context& ctx) {
  util::ProcessOptions o;
  o.env = ctx.env;
  o.timeout = std::chrono::milliseconds(30000);
  const std::string docker = docker_cli(ctx.env);
  auto ps = ctx.runner.run({docker, "ps", "-a", "-q", "--no-trunc"}, o);
  if (!ps) {
    return core::fail(core::ErrorKind::not_found,
                      ps.error().message,
                      "install the docker CLI, or set FURNACE_DOCKER");
  }
  if (!ps->status.ok()) {
    return core::fail(core::ErrorKind::remote,
                      fmt::format("'{} ps' failed: {}", docker, std::string(util::trim(ps->err))));
  }
  std::vector<std::string> argv{docker, "inspect", "--type", "container", "--format", "{{.Image}}"};
  for (const std::string& id : util::split(ps->out, '\n')) {
    if (!util::trim(id).empty()) {
      argv.emplace_back(util::trim(id));
    }
  }
  std::map<std::string, int> out;
  if (argv.size() == 6) {
    return out;
  }
  // A container removed in between makes inspect fail for it alone: read what it printed.
  auto inspect = ctx.runner.run(argv, o);
  if (!inspect) {
    return core::fail(core::ErrorKind::not_found, inspect.error().message);
  }
  for (const std::string& image : util::split(inspect->out, '\n')) {
    if (!util::trim(image).empty()) {
      ++out[std::string(util::trim(image))];
    }
  }
  return out;
}

std::string when(long long unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M", &tm);
  return buf.data();
}

std::string short_id(const std::string& id) {
  const std::string hex = id.rfind("sha256:", 0) == 0 ? id.substr(7) : id;
  return hex.substr(0, 12);
}

bool wanted(const FurnaceImage& img, const std::vector<std::string>& names) {
  return names.empty() || std::find(names.begin(), names.end(), img.name) != names.end();
}

// Project directory -> the image its furnace.lock names.
std::map<std::string, std::string> locked_images(const std::vector<FurnaceImage>& images) {
  std::map<std::string, std::string> out;
  for (const FurnaceImage& img : images) {
    if (!img.project_exists || out.count(img.project) != 0) {
      continue;
    }
    auto text = util::read_file((fs::path(img.project) / k_lock_file).string());
    if (!text) {
      continue;
    }
    auto lock = parse_lock(*text, k_lock_file);
    if (lock) {
      out[img.project] = lock->image;
    }
  }
  return out;
}

core::Result<std::vector<FurnaceImage>> list(core::Context& ctx, engine::Engine& engine) {
  auto images = engine.list_images();
  if (!images) {
    return core::fail(images.error());
  }
  auto containers = containers_by_image(ctx);
  if (!containers) {
    return core::fail(containers.error());
  }
  return furnace_images(*images, *containers, [](const std::string& dir) {
    std::error_code ec;
    return fs::is_directory(dir, ec);
  });
}

} // namespace

std::vector<FurnaceImage> furnace_images(const std::vector<engine::ImageSummary>& images,
                                         const std::map<std::string, int>& containers,
                                         const std::function<bool(const std::string&)>& exists) {
  std::vector<FurnaceImage> out;
  std::map<std::string, bool> seen_dirs;
  // Base image id -> its user layers (a ref to remove each by) and their containers.
  std::map<std::string, std::pair<std::vector<std::string>, int>> layers;
  for (const engine::ImageSummary& s : images) {
    const auto of = s.labels.find(k_user_layer_label);
    if (of != s.labels.end()) {
      auto& [refs, used] = layers[of->second];
      refs.push_back(s.repo_tags.empty() ? s.id : s.repo_tags.front());
      const auto c = containers.find(s.id);
      used += c == containers.end() ? 0 : c->second;
    }
  }
  for (const engine::ImageSummary& s : images) {
    const auto label = s.labels.find(k_project_label);
    if (label == s.labels.end() || s.labels.count(k_user_layer_label) != 0) {
      continue;
    }
    FurnaceImage base;
    base.id = s.id;
    base.project = label->second;
    const auto known = seen_dirs.find(base.project);
    base.project_exists =
        known != seen_dirs.end() ? known->second : (seen_dirs[base.project] = exists(base.project));
    base.size = s.size;
    base.created = s.created;
    const auto c = containers.find(s.id);
    base.containers = c == containers.end() ? 0 : c->second;
    if (const auto l = layers.find(s.id); l != layers.end()) {
      base.user_layers = l->second.first;
      base.containers += l->second.second;
    }
    bool tagged = false;
    for (const std::string& t : s.repo_tags) {
      if (t.rfind(k_repo_prefix, 0) != 0) {
        continue;
      }
      FurnaceImage img = base;
      img.tag = t;
      img.name = engine::parse_image_ref(t).name.substr(k_repo_prefix.size());
      out.push_back(std::move(img));
      tagged = true;
    }
    if (!tagged) {
      out.push_back(std::move(base));
    }
  }
  std::sort(out.begin(), out.end(), [](const FurnaceImage& a, const FurnaceImage& b) {
    if (a.project != b.project) {
      return a.project < b.project;
    }
    if (a.created != b.created) {
      return a.created > b.created;
    }
    return a.tag != b.tag ? a.tag < b.tag : a.id < b.id;
  });
  return out;
}

std::vector<PruneCandidate> prune_candidates(const std::vector<FurnaceImage>& images,
                                             const std::map<std::string, std::string>& locked) {
  std::vector<PruneCandidate> out;
  std::map<std::string, long long> newest; // project -> the newest image's creation time
  for (const FurnaceImage& img : images) {
    auto [it, inserted] = newest.emplace(img.project, img.created);
    if (!inserted) {
      it->second = std::max(it->second, img.created);
    }
  }
  for (const FurnaceImage& img : images) {
    if (img.containers > 0) {
      continue;
    }
    if (!img.project_exists) {
      out.push_back({img, fmt::format("the project {} is gone", img.project)});
      continue;
    }
    const auto lock = locked.find(img.project);
    const bool is_locked = lock != locked.end() && !img.tag.empty() && lock->second == img.tag;
    if (img.created >= newest[img.project] || is_locked) {
      continue;
    }
    out.push_back({img, fmt::format("an older build of {}", img.project)});
  }
  return out;
}

nlohmann::json to_json(const FurnaceImage& img, const std::optional<ImageFacts>& facts) {
  return {{"id", img.id},
          {"tag", img.tag},
          {"name", img.name},
          {"project", img.project},
          {"project_exists", img.project_exists},
          {"size", img.size},
          {"created", img.created},
          {"containers", img.containers},
          {"user_layers", img.user_layers},
          {"facts", facts ? to_json(*facts) : nlohmann::json()}};
}

int run_images(core::Context& ctx, const ImagesOptions& options, engine::Engine& engine) {
  auto images = list(ctx, engine);
  if (!images) {
    ctx.ui.error(images.error());
    return images.error().exit_code;
  }
  if (options.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const FurnaceImage& img : *images) {
      if (wanted(img, options.names)) {
        list.push_back(to_json(img, read_cached_facts(ctx.env, img.id)));
      }
    }
    ctx.ui.out() << nlohmann::json{{"schema_version", 1}, {"images", list}}.dump(2) << '\n';
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"PROJECT", "IMAGE", "SIZE", "CREATED", "IN USE"}};
  for (const FurnaceImage& img : *images) {
    if (!wanted(img, options.names)) {
      continue;
    }
    rows.push_back(
        {img.project + (img.project_exists ? "" : " (gone)"),
         img.tag.empty() ? "<none> " + short_id(img.id) : img.tag,
         util::human_bytes(static_cast<unsigned long long>(std::max(0LL, img.size))),
         when(img.created),
         img.containers == 0
             ? "-"
             : fmt::format("{} container{}", img.containers, img.containers == 1 ? "" : "s")});
  }
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += i + 1 < row.size() ? fmt::format("{:<{}}  ", row[i], widths[i]) : row[i];
    }
    ctx.ui.out() << line << '\n';
  }
  return 0;
}

int run_prune(core::Context& ctx,
              const PruneOptions& options,
              engine::Engine& engine,
              util::ProcessRunner& remover) {
  auto images = list(ctx, engine);
  if (!images) {
    ctx.ui.error(images.error());
    return images.error().exit_code;
  }
  for (const FurnaceImage& img : *images) {
    if (img.containers > 0 && wanted(img, options.names) && !img.project_exists) {
      ctx.ui.info(fmt::format("keeping {}: {} container(s) use it",
                              img.tag.empty() ? short_id(img.id) : img.tag,
                              img.containers));
    }
  }
  const auto candidates = prune_candidates(*images, locked_images(*images));
  const std::string docker = docker_cli(ctx.env);
  util::ProcessOptions o;
  o.env = ctx.env;
  o.timeout = std::chrono::milliseconds(120000);
  int removed = 0;
  int failed = 0;
  unsigned long long bytes = 0;
  std::set<std::string> counted; // an image with two tags frees its bytes once
  for (const PruneCandidate& c : candidates) {
    if (!wanted(c.image, options.names) || (!options.names.empty() && c.image.tag.empty())) {
      continue;
    }
    const std::string ref = c.image.tag.empty() ? c.image.id : c.image.tag;
    ctx.ui.info(
        fmt::format("{} {} ({}): {}",
                    options.dry_run ? "would remove" : "removing",
                    ref,
                    util::human_bytes(static_cast<unsigned long long>(std::max(0LL, c.image.size))),
                    c.why));
    for (const std::string& layer : c.image.user_layers) { // children first
      (void)remover.run({docker, "rmi", layer}, o);
    }
    auto ran = remover.run({docker, "rmi", ref}, o);
    if (!ran || !ran->status.ok()) {
      ++failed;
      ctx.ui.warn(fmt::format("cannot remove {}: {}",
                              ref,
                              !ran ? ran.error().message : std::string(util::trim(ran->err))));
      continue;
    }
    ++removed;
    if (counted.insert(c.image.id).second) {
      bytes += static_cast<unsigned long long>(std::max(0LL, c.image.size));
    }
  }
  ctx.ui.info(fmt::format("{} {} image{} ({})",
                          options.dry_run ? "would remove" : "removed",
                          removed,
                          removed == 1 ? "" : "s",
                          util::human_bytes(bytes)));
  return failed == 0 ? 0 : 1;
}

} // namespace furnace::image
