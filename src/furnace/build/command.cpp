#include "command.hpp"

#include <furnace/build/build_log.hpp>
#include <furnace/build/builder.hpp>
#include <furnace/build/dockerfile.hpp>
#include <furnace/build/lock.hpp>
#include <furnace/build/noop_cache.hpp>
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
#include <fstream>
#include <map>
#include <optional>

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

// The repo digest of `details` for `ref`'s repository ("name@sha256:…"); "" when none.
std::string digest_for(const engine::ImageDetails& details, const std::string& ref) {
  const std::string name = engine::parse_image_ref(ref).name;
  for (const std::string& d : details.repo_digests) {
    if (engine::parse_image_ref(d).name == name) {
      return d;
    }
  }
  return details.repo_digests.empty() ? std::string() : details.repo_digests.front();
}

// Lists the packages in `tag` (a container without network, removed afterwards).
core::Result<Lock> probe_packages(core::Context& ctx, const std::string& tag) {
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(180000);
  o.env = ctx.env;
  auto ran = ctx.runner.run(probe_command(docker_cli(ctx.env), tag), o);
  if (!ran) {
    return core::fail(core::ErrorKind::not_found, ran.error().message);
  }
  if (!ran->status.ok()) {
    const std::string err(util::trim(ran->err));
    return core::fail(core::ErrorKind::remote,
                      fmt::format("listing the packages of {} failed (exit {}){}", tag, ran->status.code,
                                  err.empty() ? "" : ": " + err));
  }
  Lock lock;
  auto read = read_probe_output(ran->out, lock);
  if (!read) {
    return core::fail(read.error());
  }
  return lock;
}

// Writes <root>/furnace.lock for `tag`. A failure is a warning: the image is fine.
void write_lock(core::Context& ctx, const std::string& root, const std::string& tag,
                const std::string& base_ref, const engine::ImageDetails& base) {
  auto lock = probe_packages(ctx, tag);
  if (!lock) {
    ctx.ui.warn(fmt::format("cannot write {}: {}", k_lock_file, lock.error().message),
                "'furnace build --locked' needs it; run 'furnace build' again to retry");
    return;
  }
  lock->image = tag;
  lock->base = base_ref;
  lock->base_id = base.id;
  lock->base_digest = digest_for(base, base_ref);
  const std::string path = (fs::path(root) / k_lock_file).string();
  auto w = util::write_file_atomic(path, render_lock(*lock));
  if (!w) {
    ctx.ui.warn(fmt::format("cannot write {}: {}", path, w.error().message));
    return;
  }
  ctx.ui.info(fmt::format("wrote {} ({} pip and {} Debian packages)", path, lock->pip.size(),
                          lock->dpkg.size()));
}

// True when <root>/furnace.lock was written for `tag` (a cheap read on the no-op path).
bool lock_is_for(const std::string& root, const std::string& tag) {
  auto text = util::read_file((fs::path(root) / k_lock_file).string());
  return text && text->find("\nimage: " + tag + "\n") != std::string::npos;
}

// Cuts a long step title (the apt step carries the mirror script) to one readable line.
std::string short_step(const std::string& step) {
  constexpr std::size_t k_max = 120;
  return step.size() <= k_max ? step : step.substr(0, k_max) + "…";
}

// The no-op from the entry the last full no-op wrote (noop_cache.hpp): the same output and
// `out` as the full path, without reading the project. nullopt, having printed nothing: an input
// differs, the base image moved or the tag is gone; take the full path.
std::optional<int> noop_from_cache(core::Context& ctx, const BuildOptions& options,
                                   engine::Engine& engine, gpu::GpuProbe& probe, BuiltImage* out) {
  std::error_code ec;
  // The root as load_project names it.
  const std::string given = options.path.empty() ? "." : options.path;
  const std::string root = fs::weakly_canonical(fs::absolute(given, ec), ec).string();
  if (ec) {
    return std::nullopt;
  }
  const auto entry = read_noop_entry(noop_entry_path(ctx.env, root));
  if (!entry || entry->root != root || entry->user_config != setup::user_config_path(ctx.env) ||
      !noop_entry_matches(*entry, gpu_fingerprint(probe.probe()))) {
    return std::nullopt;
  }
  auto base = engine.inspect_image(entry->base_image);
  if (!base || base->id != entry->base_id) {
    return std::nullopt;
  }
  auto existing = engine.inspect_image(entry->tag);
  if (!existing) {
    return std::nullopt;
  }
  project::FurnaceYaml yaml;
  if (out != nullptr && entry->has_yaml) {
    auto text = util::read_file((fs::path(root) / project::k_file_name).string());
    if (!text || util::sha256_hex(*text) != entry->spec_hash) {
      return std::nullopt;
    }
    auto parsed = project::parse_furnace_yaml(*text, project::k_file_name);
    if (!parsed) {
      return std::nullopt;
    }
    yaml = std::move(*parsed);
  }
  for (const std::string& w : entry->warnings) {
    ctx.ui.warn(w);
  }
  if (!options.for_run) {
    for (const std::string& n : entry->notes) {
      ctx.ui.info(n);
    }
    ctx.ui.info(fmt::format("{} is up to date (nothing changed: no build)", entry->tag));
    ctx.ui.out() << entry->tag << '\n';
  }
  if (out != nullptr) {
    *out = BuiltImage{root,
                      entry->project_name,
                      std::move(yaml),
                      entry->spec_hash,
                      entry->tag,
                      existing->id,
                      entry->base_image,
                      digest_for(*base, entry->base_image),
                      entry->plan_json,
                      false};
  }
  return 0;
}

}  // namespace

int run_build(core::Context& ctx, const BuildOptions& options, engine::Engine& engine,
              gpu::GpuProbe& probe, BuiltImage* out) {
  const timespec read_from = coarse_now();  // before any input is read
  gpu::MemoProbe memo(probe);
  if (!options.force && !options.locked && !options.dry_run) {
    if (const auto code = noop_from_cache(ctx, options, engine, memo, out)) {
      return *code;
    }
  }
  auto project = project::load_project(options.path, memo);
  if (!project) {
    return report(ctx.ui, project.error());
  }
  std::vector<std::string> warnings;
  for (const spec::Diagnostic& d : project->spec.diagnostics) {
    if (d.code != "cuda_extension") {
      warnings.push_back(fmt::format("{}: {}", d.where.str(), d.message));
      ctx.ui.warn(warnings.back());
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
  const std::string lock_path = (fs::path(project->root) / k_lock_file).string();
  std::optional<Lock> lock;
  if (options.locked) {
    auto text = util::read_file(lock_path);
    if (!text) {
      return report(ctx.ui, core::make_error(core::ErrorKind::not_found,
                                             fmt::format("cannot read {}: {}", lock_path, text.error().message),
                                             "run 'furnace build' (without --locked) once to write it"));
    }
    auto parsed = parse_lock(*text, lock_path);
    if (!parsed) {
      return report(ctx.ui, parsed.error());
    }
    lock = std::move(*parsed);
    in.lock_text = *text;
    in.pip_lock = pip_constraints(*lock);
    in.apt_versions = dpkg_versions(*lock);
  }
  auto canonical = render(in, Mode::buildkit);
  if (!canonical) {
    return report(ctx.ui, canonical.error());
  }
  // `furnace run` says them only when it builds: a run of an unchanged project stays quiet.
  auto say_notes = [&ctx](const Rendered& r) {
    for (const std::string& n : r.notes) {
      ctx.ui.info(n);
    }
  };
  if (!options.for_run) {
    say_notes(*canonical);
  }

  // The base image's id goes into the hash: a re-pulled base with new content gets a new tag.
  auto base = engine.inspect_image(canonical->base_image);
  if (lock && canonical->base_image != lock->base) {
    return report(ctx.ui, core::make_error(
                              core::ErrorKind::invalid,
                              fmt::format("the base image is now {}, {} has {}", canonical->base_image,
                                          lock_path, lock->base),
                              "run 'furnace build' without --locked to update the lock"));
  }
  if (lock && (!base || base->id != lock->base_id)) {
    // The tag moved (or is gone): pin the locked image by its digest.
    if (lock->base_digest.empty()) {
      return report(ctx.ui, core::make_error(
                                core::ErrorKind::invalid,
                                fmt::format("{} is {}, {} has {} and no digest to pull it by",
                                            canonical->base_image, base ? base->id : "not pulled",
                                            lock_path, lock->base_id),
                                "pull or load the locked base image, or run 'furnace build' without "
                                "--locked to update the lock"));
    }
    in.base_pin = lock->base_digest;
    canonical = render(in, Mode::buildkit);
    if (!canonical) {
      return report(ctx.ui, canonical.error());
    }
    base = engine.inspect_image(canonical->base_image);
  }
  if (!base && base.error().kind == core::ErrorKind::not_found && !options.dry_run) {
    auto pulled = pull_base(ctx.ui, engine, canonical->base_image);
    if (!pulled) {
      return report(ctx.ui, pulled.error()); // it names the image already
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
  if (lock && base && base->id != lock->base_id) {
    return report(ctx.ui, core::make_error(core::ErrorKind::invalid,
                                           fmt::format("{} is {}, {} has {}", canonical->base_image,
                                                       base->id, lock_path, lock->base_id),
                                           "run 'furnace build' without --locked to update the lock"));
  }
  const std::string hash = content_hash(*canonical, base_id);
  const std::string tag = image_tag(project->name, hash);
  // Success: the tag on stdout (for scripts), and what `furnace run` needs in `out`.
  const std::string base_ref = canonical->base_image;
  auto done = [&](const std::string& image_id, bool built) {
    if (!options.for_run && !(options.dry_run && image_id.empty())) {
      ctx.ui.out() << tag << '\n';
    }
    if (out != nullptr) {
      *out = BuiltImage{project->root,
                        project->name,
                        yaml,
                        util::sha256_hex(project->yaml_text),
                        tag,
                        image_id,
                        base_ref,
                        base ? digest_for(*base, base_ref) : std::string(),
                        resolve::to_json(project->plan).dump(),
                        built};
    }
    return 0;
  };

  if (!options.force) {
    auto existing = engine.inspect_image(tag);
    if (existing) {
      if (!options.for_run) {
        ctx.ui.info(fmt::format("{} is up to date (nothing changed: no build)", tag));
      }
      if (!lock && !options.dry_run && base) {
        if (!lock_is_for(project->root, tag)) {
          write_lock(ctx, project->root, tag, canonical->base_image, *base);
        } else {
          // Everything this no-op read, for the next one to stat instead of reading it again.
          NoopEntry entry;
          entry.root = project->root;
          entry.gpu = gpu_fingerprint(memo.probe());
          entry.user_config = setup::user_config_path(ctx.env);
          entry.tag = tag;
          entry.project_name = project->name;
          entry.has_yaml = project->yaml.has_value();
          entry.spec_hash = util::sha256_hex(project->yaml_text);
          entry.base_image = base_ref;
          entry.base_id = base->id;
          entry.plan_json = resolve::to_json(project->plan).dump();
          entry.warnings = warnings;
          entry.notes = canonical->notes;
          (void)write_noop_entry(
              noop_entry_path(ctx.env, project->root), std::move(entry),
              noop_inputs(project->root, yaml.conda, setup::user_config_path(ctx.env)), read_from);
        }
      }
      return done(existing->id, false);
    }
    if (existing.error().kind != core::ErrorKind::not_found) {
      return report(ctx.ui, existing.error());
    }
  }

  if (options.for_run) {
    say_notes(*canonical);
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
  const BuildCommand cmd = build_command(*builder, tag, dir, labels, options.network);
  if (options.dry_run) {
    ctx.ui.info(fmt::format("builder: {}", builder->why));
    ctx.ui.out() << cmd.display << '\n';
    if (out != nullptr) {
      done(std::string(), false);
    }
    return 0;
  }

  // The full output goes to the terminal and, as it arrives, into the log.
  const std::string log_file = log_path(ctx.env, project->name, hash.substr(0, 12));
  fs::create_directories(fs::path(log_file).parent_path(), ec);
  std::ofstream log_out(log_file, std::ios::binary | std::ios::trunc);
  if (!log_out) {
    ctx.ui.warn(fmt::format("cannot write the build log {}", log_file));
  }
  log_out << "# furnace build " << tag << "\n# " << cmd.display << "\n";
  ctx.ui.info(fmt::format("building {} ({}; Dockerfile in {}; log {})", tag, builder->why, dir, log_file));
  std::string output;
  util::ProcessOptions popts;
  popts.capture = true;
  popts.env = ctx.env;
  for (const auto& [k, v] : cmd.env) {
    (*popts.env)[k] = v;
  }
  // On a terminal: one line per step (the full output is in the log); elsewhere: everything.
  StepTracker steps;
  const auto started = std::chrono::steady_clock::now();
  popts.on_output = [&](std::string_view chunk) {
    if (ctx.ui.interactive()) {
      for (const auto& step : steps.feed(chunk)) {
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
        ctx.ui.err() << fmt::format("  {:>4}s  {}\n", secs, short_step(step));
      }
    } else {
      ctx.ui.err() << chunk;
    }
    ctx.ui.err().flush();
    log_out << chunk;
    log_out.flush();
    output += chunk;
  };
  auto ran = ctx.runner.run(cmd.argv, popts);
  log_out.close();
  if (!ran) {
    return report(ctx.ui, core::make_error(core::ErrorKind::not_found, ran.error().message,
                                           "install the docker CLI, or set FURNACE_DOCKER"));
  }
  if (!ran->status.ok()) {
    const FailureReport failure = analyze_build_log(output);
    ctx.ui.err() << '\n';
    if (!failure.step.empty()) {
      ctx.ui.err() << fmt::format("failed step: {}\n", short_step(failure.step));
    }
    if (!failure.tail.empty()) {
      ctx.ui.err() << fmt::format("its last {} lines:\n", failure.tail.size());
    }
    for (const std::string& l : failure.tail) {
      ctx.ui.err() << "    " << l << '\n';
    }
    std::string hint =
        failure_hint(failure.kind, MirrorsUsed{in.apt_mirror, in.pip_mirror}, failure.missing);
    if (hint.empty()) {
      hint = fmt::format("the Dockerfile is {}/Dockerfile", dir);
    }
    if (lock) {
      hint += "; with --locked, a version furnace.lock pins may be gone from the index or the "
              "archive ('furnace build' without --locked updates the lock)";
    }
    ctx.ui.error(core::make_error(core::ErrorKind::remote,
                                  fmt::format("the build of {} failed (exit {}); the full log is {}",
                                              tag, ran->status.code, log_file),
                                  hint));
    return ran->status.code > 0 ? ran->status.code : 1;
  }

  auto built_id = [&] {
    auto img = engine.inspect_image(tag);
    return img ? img->id : std::string();
  };
  if (!base) {
    return done(built_id(), true);
  }
  if (!lock) {
    write_lock(ctx, project->root, tag, staged.base_image, *base);
    return done(built_id(), true);
  }
  // --locked: the new image must hold exactly the locked packages.
  auto now = probe_packages(ctx, tag);
  if (!now) {
    return report(ctx.ui, now.error());
  }
  const std::vector<std::string> diff = diff_packages(*lock, *now);
  if (!diff.empty()) {
    util::ProcessOptions o;
    o.env = ctx.env;
    o.timeout = std::chrono::milliseconds(60000);
    (void)ctx.runner.run({docker_cli(ctx.env), "rmi", tag}, o);  // no image that breaks the lock
    for (const std::string& l : diff) {
      ctx.ui.err() << "  " << l << '\n';
    }
    ctx.ui.error(core::make_error(
        core::ErrorKind::invalid,
        fmt::format("the locked build resolved differently from {} ({} lines above; {} removed)",
                    lock_path, diff.size(), tag),
        "run 'furnace build' without --locked to accept the new versions and update the lock"));
    return 1;
  }
  ctx.ui.info(fmt::format("{} matches {} ({} pip and {} Debian packages)", tag, lock_path,
                          now->pip.size(), now->dpkg.size()));
  return done(built_id(), true);
}

}  // namespace furnace::build
