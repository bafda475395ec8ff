#include "command.hpp"

#include <furnace/build/builder.hpp>
#include <furnace/build/dockerfile.hpp>
#include <furnace/core/version.hpp>
#include <furnace/project/load.hpp>
#include <furnace/resolve/report.hpp>
#include <furnace/setup/user_config.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/sha256.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <map>

namespace furnace::build {

namespace {

namespace fs = std::filesystem;

int report(core::Ui& ui, const core::Error& e) {
  ui.error(e);
  return e.exit_code;
}

// furnace.yaml's mirror, else the user's default (furnace config), as a URL; "" = none.
std::string mirror_for(const std::string& key, const std::string& from_yaml,
                       const setup::UserConfig& config) {
  std::string value = from_yaml;
  if (value.empty()) {
    const auto it = config.find(key);
    value = it == config.end() ? "" : it->second;
  }
  if (value.empty() || value == "default") {
    return {};
  }
  return setup::mirror_url(key, value).value_or("");
}

std::string cache_dir(const core::Env& env) {
  const auto xdg = env.find("XDG_CACHE_HOME");
  if (xdg != env.end() && !xdg->second.empty()) {
    return xdg->second + "/furnace";
  }
  const auto home = env.find("HOME");
  return (home == env.end() ? std::string("/root") : home->second) + "/.cache/furnace";
}

// Pulls `ref`, printing one line per layer state change (plain lines: readable in logs too).
core::Result<void> pull_base(core::Ui& ui, engine::Engine& engine, const std::string& ref) {
  ui.info(fmt::format("pulling {}", ref));
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, std::pair<std::string, long long>> layers;  // id -> status, total
  auto r = engine.pull(ref, [&](const engine::PullProgress& p) {
    if (p.id.empty()) {
      return;
    }
    auto& [status, total] = layers[p.id];
    if (p.total > 0) {
      total = p.total;
    }
    if (status != p.status) {
      status = p.status;
      ui.err() << fmt::format("  {} {}{}\n", p.id, p.status,
                              total > 0 ? " (" + util::human_bytes(static_cast<unsigned long long>(total)) + ")" : "");
    }
  });
  if (!r) {
    return core::fail(r.error());
  }
  long long bytes = 0;
  for (const auto& [id, st] : layers) {
    bytes += st.second;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ui.info(fmt::format("pulled {}: {} layers, {} in {:.1f} s ({}/s)", ref, layers.size(),
                      util::human_bytes(static_cast<unsigned long long>(bytes)), secs,
                      util::human_bytes(static_cast<unsigned long long>(secs > 0 ? static_cast<double>(bytes) / secs : 0))));
  return {};
}

}  // namespace

int run_build(core::Context& ctx, const BuildOptions& options, engine::Engine& engine,
              gpu::GpuProbe& probe) {
  auto project = project::load_project(options.path, probe);
  if (!project) {
    return report(ctx.ui, project.error());
  }
  for (const spec::Diagnostic& d : project->spec.diagnostics) {
    if (d.code != "cuda_extension") {
      ctx.ui.warn(fmt::format("{}: {}", d.where.str(), d.message));
    }
  }
  const project::FurnaceYaml yaml = project->yaml.value_or(project::FurnaceYaml{});
  auto config = setup::load_user_config(setup::user_config_path(ctx.env));
  if (!config) {
    return report(ctx.ui, config.error());
  }
  RenderInput in;
  in.yaml = yaml;
  in.plan = project->plan;
  in.apt_mirror = mirror_for("mirror.apt", yaml.mirrors.apt, *config);
  in.pip_mirror = mirror_for("mirror.pip", yaml.mirrors.pip, *config);
  in.conda_mirror = mirror_for("mirror.conda", yaml.mirrors.conda, *config);
  in.cuda_extensions = project->cuda_extensions;
  in.furnace_version = std::string(core::version());
  if (!yaml.conda.empty()) {
    auto text = util::read_file((fs::path(project->root) / yaml.conda).string());
    if (!text) {
      return report(ctx.ui, core::make_error(core::ErrorKind::not_found,
                                             fmt::format("cannot read {} (furnace.yaml 'conda'): {}",
                                                         yaml.conda, text.error().message)));
    }
    in.conda_environment = *text;
  }
  if (yaml.base.empty() && !project->plan.ok) {
    ctx.ui.error(core::make_error(core::ErrorKind::invalid,
                                  "no base image fits this project on this host",
                                  "'furnace resolve' says why; set 'base' in furnace.yaml to choose one"));
    return 3;
  }
  auto canonical = render(in, Mode::buildkit);
  if (!canonical) {
    return report(ctx.ui, canonical.error());
  }
  for (const std::string& n : canonical->notes) {
    ctx.ui.info(n);
  }

  // The base image's id goes into the hash: a re-pulled base with new content gets a new tag.
  auto base = engine.inspect_image(canonical->base_image);
  if (!base && base.error().kind == core::ErrorKind::not_found && !options.dry_run) {
    auto pulled = pull_base(ctx.ui, engine, canonical->base_image);
    if (!pulled) {
      core::Error e = pulled.error();
      return report(ctx.ui, e.context(fmt::format("pulling {}", canonical->base_image)));
    }
    base = engine.inspect_image(canonical->base_image);
  }
  std::string base_id;
  if (base) {
    base_id = base->id;
  } else if (options.dry_run && base.error().kind == core::ErrorKind::not_found) {
    ctx.ui.warn(fmt::format("{} is not pulled yet: the tag below changes once it is", canonical->base_image));
  } else {
    return report(ctx.ui, base.error());
  }
  const std::string hash = content_hash(*canonical, base_id);
  const std::string tag = image_tag(project->name, hash);

  if (!options.force) {
    auto existing = engine.inspect_image(tag);
    if (existing) {
      ctx.ui.info(fmt::format("{} is up to date (nothing changed: no build)", tag));
      ctx.ui.out() << tag << '\n';
      return 0;
    }
    if (existing.error().kind != core::ErrorKind::not_found) {
      return report(ctx.ui, existing.error());
    }
  }

  auto builder = probe_builder(ctx.runner, ctx.env);
  if (!builder) {
    return report(ctx.ui, builder.error());
  }
  Rendered staged = std::move(*canonical);
  if (builder->mode() == Mode::legacy) {
    auto legacy = render(in, Mode::legacy);
    if (!legacy) {
      return report(ctx.ui, legacy.error());
    }
    staged = std::move(*legacy);
  }
  // The context holds only what the Dockerfile copies: the project's size does not matter.
  const std::string dir = cache_dir(ctx.env) + "/build/" + hash.substr(0, 12);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return report(ctx.ui, core::make_error(core::ErrorKind::io,
                                           fmt::format("cannot create {}: {}", dir, ec.message())));
  }
  std::map<std::string, std::string> files = staged.context;
  files["Dockerfile"] = staged.dockerfile;
  for (const auto& [name, content] : files) {
    auto w = util::write_file_atomic(dir + "/" + name, content);
    if (!w) {
      return report(ctx.ui, core::make_error(core::ErrorKind::io, w.error().message));
    }
  }
  const std::map<std::string, std::string> labels{
      {"org.furnace.hash", hash},
      {"org.furnace.plan", resolve::to_json(project->plan).dump()},
      {"org.furnace.project", project->root},
      {"org.furnace.spec-hash", util::sha256_hex(project->yaml_text)},
      {"org.furnace.version", std::string(core::version())},
  };
  const BuildCommand cmd = build_command(*builder, tag, dir, labels);
  if (options.dry_run) {
    ctx.ui.info(fmt::format("builder: {}", builder->why));
    ctx.ui.out() << cmd.display << '\n';
    return 0;
  }
  ctx.ui.info(fmt::format("building {} ({}; Dockerfile in {})", tag, builder->why, dir));
  util::ProcessOptions popts;
  popts.capture = false;
  popts.stdout_to_stderr = true;  // stdout carries only the tag
  popts.env = ctx.env;
  for (const auto& [k, v] : cmd.env) {
    (*popts.env)[k] = v;
  }
  auto ran = ctx.runner.run(cmd.argv, popts);
  if (!ran) {
    return report(ctx.ui, core::make_error(core::ErrorKind::not_found, ran.error().message,
                                           "install the docker CLI, or set FURNACE_DOCKER"));
  }
  if (!ran->status.ok()) {
    ctx.ui.error(core::make_error(core::ErrorKind::remote,
                                  fmt::format("the build of {} failed (exit {})", tag, ran->status.code),
                                  fmt::format("the Dockerfile is {}/Dockerfile; a mirror that cannot be "
                                              "reached or a pip package that needs a compiler are the "
                                              "usual causes",
                                              dir)));
    return ran->status.code > 0 ? ran->status.code : 1;
  }
  ctx.ui.out() << tag << '\n';
  return 0;
}

}  // namespace furnace::build
