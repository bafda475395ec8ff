// ensure_image: project -> Dockerfile -> content hash -> the image (built only when it is new).

#include "ensure.hpp"
#include "render.hpp"

#include <furnace/core/dirs.hpp>
#include <furnace/core/version.hpp>
#include <furnace/dockerfile/dockerfile.hpp>
#include <furnace/engine/stand_in.hpp>
#include <furnace/image/build_log.hpp>
#include <furnace/image/builder.hpp>
#include <furnace/image/lock.hpp>
#include <furnace/image/noop_cache.hpp>
#include <furnace/image/probe.hpp>
#include <furnace/image/pull_view.hpp>
#include <furnace/image/space.hpp>
#include <furnace/project/host_facts.hpp>
#include <furnace/project/load.hpp>
#include <furnace/resolve/report.hpp>
#include <furnace/setup/user_config.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/ownership.hpp>
#include <furnace/util/sha256.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

namespace furnace::image {

namespace {

namespace fs = std::filesystem;

// furnace.yaml's mirror, else the user's default (furnace config), as a URL; "" = none.
std::string
mirror_for(const std::string& key, const std::string& from_yaml, const setup::UserConfig& config) {
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
  const bool short_of_space = preflight_pull_space(ui, engine, ref);
  ui.info(fmt::format("pulling {}", ref));
  const auto start = std::chrono::steady_clock::now();
  PullView view(ui.err(),
                ui.quiet()         ? PullViewMode::quiet
                : ui.interactive() ? PullViewMode::live
                                   : PullViewMode::plain,
                [start] {
                  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                      .count();
                });
  auto r = engine.pull(ref, [&](const engine::PullProgress& p) { view.update(p); });
  view.finish();
  if (!r) {
    if (says_no_space(r.error().message)) {
      return core::fail(disk_full_error(r.error(), engine));
    }
    if (short_of_space) {
      return core::fail(maybe_out_of_space(r.error()));
    }
    return core::fail(r.error());
  }
  const long long bytes = view.total_bytes();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ui.info(fmt::format("pulled {}: {} layers, {} in {:.1f} s ({}/s)",
                      ref,
                      view.layer_count(),
                      util::human_bytes(static_cast<unsigned long long>(bytes)),
                      secs,
                      util::human_bytes(static_cast<unsigned long long>(
                          secs > 0 ? static_cast<double>(bytes) / secs : 0))));
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

// Lists the packages in `tag` and collects its facts and checks (probe.hpp).
core::Result<Lock> probe_packages(core::Context& ctx,
                                  const std::string& tag,
                                  const std::string& image_id,
                                  const ProbeRequest& request) {
  auto probed = run_probe(ctx, tag, image_id, request);
  if (!probed) {
    return core::fail(probed.error());
  }
  return std::move(probed->lock);
}

// What the probe checks besides the facts: nothing more with --no-verify.
ProbeRequest request_for(const ImageRequest& request, const resolve::Plan& plan) {
  ProbeRequest r = probe_request(plan);
  if (!request.verify) {
    r.distributions.clear();
    r.pip_check = false;
  }
  return r;
}

// The Python the built image runs, against the plan's: a table that named another Python for
// this base is said, and what was seen is recorded for the next `furnace resolve` (the base's
// own Python only: not when the build added one).
void check_python(core::Context& ctx,
                  const std::string& base_ref,
                  const engine::ImageDetails& base,
                  const resolve::Plan& plan,
                  const std::string& seen) {
  if (seen.empty() || plan.python.empty()) {
    return;
  }
  const bool planned_base = base_ref == plan.base_image; // not furnace.yaml's own `base`
  if (!planned_base || !plan.python_install) {
    project::record_image_python(core::dirs_from_env(ctx.env).cache, base_ref, base.id, seen);
  }
  if (planned_base && seen != plan.python && seen.rfind(plan.python + ".", 0) != 0) {
    ctx.ui.warn(
        fmt::format("{} runs Python {}, not the {} the plan named ({})",
                    base_ref,
                    seen,
                    plan.python,
                    plan.python_source == "image" ? "data/compat/images.csv's" : "project's"),
        "'furnace resolve' now plans with Python " + seen +
            " for this image; packages pinned for the other Python may not install");
  }
}

// Writes <root>/furnace.lock for `tag`. A failure is a warning: the image is fine.
void write_lock(core::Context& ctx,
                const std::string& root,
                const std::string& tag,
                const std::string& image_id,
                const ProbeRequest& request,
                const std::string& base_ref,
                const engine::ImageDetails& base,
                const resolve::Plan& plan) {
  auto lock = probe_packages(ctx, tag, image_id, request);
  if (!lock) {
    ctx.ui.warn(fmt::format("cannot write {}: {}", k_lock_file, lock.error().message),
                "'furnace build --locked' needs it; run 'furnace build' again to retry");
    return;
  }
  check_python(ctx, base_ref, base, plan, lock->python);
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
  ctx.ui.info(fmt::format(
      "wrote {} ({} pip and {} Debian packages)", path, lock->pip.size(), lock->dpkg.size()));
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
// image as the full path, without reading the project. nullopt, having printed nothing: an input
// differs, the base image moved or the tag is gone; take the full path.
std::optional<BuiltImage> noop_from_cache(core::Context& ctx,
                                          const ImageRequest& request,
                                          engine::Engine& engine,
                                          gpu::GpuProbe& probe) {
  std::error_code ec;
  // The root as load_project names it.
  const std::string given = request.path.empty() ? "." : request.path;
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
  if (entry->has_yaml) {
    auto text = util::read_file((fs::path(root) / project::k_file_name).string());
    if (!text || util::sha256_hex(*text) != entry->spec_hash) {
      return std::nullopt;
    }
    auto parsed = project::parse_furnace_yaml(*text, project::k_file_name, root);
    if (!parsed) {
      return std::nullopt;
    }
    yaml = std::move(*parsed);
  }
  for (const std::string& w : entry->warnings) {
    ctx.ui.warn(w);
  }
  if (engine::is_stand_in(base->labels)) {
    ctx.ui.warn(engine::stand_in_warning(entry->base_image, base->labels));
  }
  if (request.announce == Announce::always) {
    for (const std::string& n : entry->notes) {
      ctx.ui.info(n);
    }
    ctx.ui.info(fmt::format("{} is up to date (nothing changed: no build)", entry->tag));
  }
  BuiltImage img;
  img.project_root = root;
  img.project_name = entry->project_name;
  img.yaml = std::move(yaml);
  img.spec_hash = entry->spec_hash;
  img.tag = entry->tag;
  img.image_id = existing->id;
  img.base_image = entry->base_image;
  img.base_digest = digest_for(*base, entry->base_image);
  img.plan_json = entry->plan_json;
  return img;
}

util::Unexpected<core::Error>
failure(core::ErrorKind kind, std::string message, std::string hint = {}, int exit_code = 1) {
  core::Error e = core::make_error(kind, std::move(message), std::move(hint));
  e.exit_code = exit_code;
  return core::fail(std::move(e));
}

// One full (not cached) ensure_image: the steps share what the earlier ones found.
class Job {
public:
  Job(core::Context& ctx, const ImageRequest& request, engine::Engine& engine, gpu::GpuProbe& probe)
      : m_ctx(ctx), m_request(request), m_engine(engine), m_probe(probe) {}

  core::Result<BuiltImage> run(timespec read_from);
  core::Result<ProjectDockerfile> render_only();

private:
  core::Result<void> load();
  core::Result<void> read_lock();
  core::Result<void> render_canonical();
  core::Result<void> find_base();
  core::Result<BuiltImage> no_op(const engine::ImageDetails& existing, timespec read_from);
  core::Result<BuiltImage> build();
  core::Result<std::string> stage(const dockerfile::Rendered& staged);
  core::Result<void>
  run_builder(const Builder& builder, const BuildCommand& cmd, const std::string& dir);
  core::Result<BuiltImage> check_locked_build();
  BuiltImage done(const std::string& image_id, bool built) const;
  void say_notes() const {
    for (const std::string& n : m_canonical.notes) {
      m_ctx.ui.info(n);
    }
  }
  std::string plan_json() const { return resolve::to_json(m_project.plan).dump(); }

  core::Context& m_ctx;
  const ImageRequest& m_request;
  engine::Engine& m_engine;
  gpu::GpuProbe& m_probe;
  project::Project m_project;
  project::FurnaceYaml m_yaml;
  std::vector<std::string> m_warnings;
  dockerfile::RenderInput m_in;
  std::string m_lock_path;
  std::optional<Lock> m_lock;
  dockerfile::Rendered m_canonical;
  std::optional<engine::ImageDetails> m_base; // nullopt: not pulled (a dry run goes on without)
  std::string m_hash;
  std::string m_tag;
};

// The project, its warnings and everything the renderer needs but the lock.
core::Result<void> Job::load() {
  auto project = project::load_project(
      m_request.path, m_probe, project::ReadYaml::yes, core::dirs_from_env(m_ctx.env).cache);
  if (!project) {
    return core::fail(project.error());
  }
  m_project = std::move(*project);
  for (const deps::Diagnostic& d : m_project.spec.diagnostics) {
    if (d.code != "cuda_extension") {
      m_warnings.push_back(fmt::format("{}: {}", d.where.str(), d.message));
      m_ctx.ui.warn(m_warnings.back());
    }
  }
  m_yaml = m_project.yaml.value_or(project::FurnaceYaml{});
  auto config = setup::load_user_config(setup::user_config_path(m_ctx.env));
  if (!config) {
    return core::fail(config.error());
  }
  m_in.yaml = m_yaml;
  m_in.plan = m_project.plan;
  m_in.apt_mirror = mirror_for("mirror.apt", m_yaml.mirrors.apt, *config);
  m_in.pip_mirror = mirror_for("mirror.pip", m_yaml.mirrors.pip, *config);
  m_in.conda_mirror = mirror_for("mirror.conda", m_yaml.mirrors.conda, *config);
  m_in.cuda_extensions = m_project.cuda_extensions;
  m_in.furnace_version = std::string(core::version());
  if (!m_yaml.conda.empty()) {
    auto text = util::read_file((fs::path(m_project.root) / m_yaml.conda).string());
    if (!text) {
      return core::fail(core::ErrorKind::not_found,
                        fmt::format("cannot read {} (furnace.yaml 'conda'): {}",
                                    m_yaml.conda,
                                    text.error().message));
    }
    m_in.conda_environment = *text;
  }
  if (m_yaml.base.empty() && !m_project.plan.ok) {
    return failure(core::ErrorKind::invalid,
                   "no base image fits this project on this host",
                   "'furnace resolve' says why; set 'base' in furnace.yaml to choose one",
                   3);
  }
  m_lock_path = (fs::path(m_project.root) / k_lock_file).string();
  return {};
}

// --locked: furnace.lock's pins go into the render input.
core::Result<void> Job::read_lock() {
  auto text = util::read_file(m_lock_path);
  if (!text) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("cannot read {}: {}", m_lock_path, text.error().message),
                      "run 'furnace build' (without --locked) once to write it");
  }
  auto parsed = parse_lock(*text, m_lock_path);
  if (!parsed) {
    return core::fail(parsed.error());
  }
  m_lock = std::move(*parsed);
  m_in.lock_text = *text;
  m_in.pip_lock = pip_constraints(*m_lock);
  m_in.apt_versions = dpkg_versions(*m_lock);
  return {};
}

core::Result<void> Job::render_canonical() {
  auto canonical = dockerfile::render(m_in, dockerfile::Mode::buildkit);
  if (!canonical) {
    return core::fail(canonical.error());
  }
  m_canonical = std::move(*canonical);
  return {};
}

// The base image's details (pulled when missing), checked against the lock. Its id goes into the
// hash: a re-pulled base with new content gets a new tag.
core::Result<void> Job::find_base() {
  auto base = m_engine.inspect_image(m_canonical.base_image);
  if (m_lock && m_canonical.base_image != m_lock->base) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("the base image is now {}, {} has {}",
                                  m_canonical.base_image,
                                  m_lock_path,
                                  m_lock->base),
                      "run 'furnace build' without --locked to update the lock");
  }
  if (m_lock && (!base || base->id != m_lock->base_id)) {
    // The tag moved (or is gone): pin the locked image by its digest.
    if (m_lock->base_digest.empty()) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("{} is {}, {} has {} and no digest to pull it by",
                                    m_canonical.base_image,
                                    base ? base->id : "not pulled",
                                    m_lock_path,
                                    m_lock->base_id),
                        "pull or load the locked base image, or run 'furnace build' without "
                        "--locked to update the lock");
    }
    m_in.base_pin = m_lock->base_digest;
    if (auto r = render_canonical(); !r) {
      return r;
    }
    base = m_engine.inspect_image(m_canonical.base_image);
  }
  if (!base && base.error().kind == core::ErrorKind::not_found && !m_request.dry_run) {
    auto pulled = pull_base(m_ctx.ui, m_engine, m_canonical.base_image);
    if (!pulled) {
      return core::fail(pulled.error()); // it names the image already
    }
    base = m_engine.inspect_image(m_canonical.base_image);
  }
  if (base) {
    m_base = *base;
    if (engine::is_stand_in(m_base->labels)) {
      m_ctx.ui.warn(engine::stand_in_warning(m_canonical.base_image, m_base->labels));
    }
  } else if (m_request.dry_run && base.error().kind == core::ErrorKind::not_found) {
    m_ctx.ui.warn(fmt::format("{} is not pulled yet: the tag below changes once it is",
                              m_canonical.base_image));
  } else {
    return core::fail(base.error());
  }
  if (m_lock && m_base && m_base->id != m_lock->base_id) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{} is {}, {} has {}",
                                  m_canonical.base_image,
                                  m_base->id,
                                  m_lock_path,
                                  m_lock->base_id),
                      "run 'furnace build' without --locked to update the lock");
  }
  return {};
}

BuiltImage Job::done(const std::string& image_id, bool built) const {
  BuiltImage img;
  img.project_root = m_project.root;
  img.project_name = m_project.name;
  img.yaml = m_yaml;
  img.spec_hash = util::sha256_hex(m_project.yaml_text);
  img.tag = m_tag;
  img.image_id = image_id;
  img.base_image = m_canonical.base_image;
  img.base_digest = m_base ? digest_for(*m_base, m_canonical.base_image) : std::string();
  img.plan_json = plan_json();
  img.built = built;
  return img;
}

// The tagged image is there: write the lock when it names another image, else the no-op entry.
core::Result<BuiltImage> Job::no_op(const engine::ImageDetails& existing, timespec read_from) {
  if (m_request.announce == Announce::always) {
    m_ctx.ui.info(fmt::format("{} is up to date (nothing changed: no build)", m_tag));
  }
  if (!m_lock && !m_request.dry_run && m_base) {
    if (!lock_is_for(m_project.root, m_tag)) {
      write_lock(m_ctx,
                 m_project.root,
                 m_tag,
                 existing.id,
                 request_for(m_request, m_project.plan),
                 m_canonical.base_image,
                 *m_base,
                 m_project.plan);
    } else {
      // Everything this no-op read, for the next one to stat instead of reading it again.
      NoopEntry entry;
      entry.root = m_project.root;
      entry.gpu = gpu_fingerprint(m_probe.probe());
      entry.user_config = setup::user_config_path(m_ctx.env);
      entry.tag = m_tag;
      entry.project_name = m_project.name;
      entry.has_yaml = m_project.yaml.has_value();
      entry.spec_hash = util::sha256_hex(m_project.yaml_text);
      entry.base_image = m_canonical.base_image;
      entry.base_id = m_base->id;
      entry.plan_json = plan_json();
      entry.warnings = m_warnings;
      entry.notes = m_canonical.notes;
      (void)write_noop_entry(
          noop_entry_path(m_ctx.env, m_project.root),
          std::move(entry),
          noop_inputs(m_project.root, m_yaml.conda, setup::user_config_path(m_ctx.env)),
          read_from);
    }
  }
  return done(existing.id, false);
}

// Writes the Dockerfile and the files it copies (only those: the project's size does not
// matter) into <cache dir>/build/<hash12>; returns that directory.
core::Result<std::string> Job::stage(const dockerfile::Rendered& staged) {
  const std::string dir = cache_dir(m_ctx.env) + "/build/" + m_hash.substr(0, 12);
  std::error_code ec;
  util::make_directories(dir, ec);
  if (ec) {
    return core::fail(core::ErrorKind::io, fmt::format("cannot create {}: {}", dir, ec.message()));
  }
  std::map<std::string, std::string> files = staged.context;
  files["Dockerfile"] = staged.dockerfile;
  for (const auto& [name, content] : files) {
    auto w = util::write_file_atomic(dir + "/" + name, content);
    if (!w) {
      return core::fail(core::ErrorKind::io, w.error().message);
    }
  }
  return dir;
}

// Runs the builder: its output to the terminal (one line per step on a terminal) and, as it
// arrives, into the build log. A failure shows the failing step and its last lines.
core::Result<void>
Job::run_builder(const Builder& builder, const BuildCommand& cmd, const std::string& dir) {
  const std::string log_file = log_path(m_ctx.env, m_project.name, m_hash.substr(0, 12));
  std::error_code ec;
  util::make_directories(fs::path(log_file).parent_path().string(), ec);
  std::ofstream log_out(log_file, std::ios::binary | std::ios::trunc);
  (void)util::give_to_directory_owner(log_file);
  if (!log_out) {
    m_ctx.ui.warn(fmt::format("cannot write the build log {}", log_file));
  }
  log_out << "# furnace build " << m_tag << "\n# " << cmd.display << "\n";
  m_ctx.ui.info(
      fmt::format("building {} ({}; Dockerfile in {}; log {})", m_tag, builder.why, dir, log_file));
  std::string output;
  util::ProcessOptions popts;
  popts.capture = true;
  popts.env = m_ctx.env;
  for (const auto& [k, v] : cmd.env) {
    (*popts.env)[k] = v;
  }
  StepTracker steps;
  const auto started = std::chrono::steady_clock::now();
  core::Ui& ui = m_ctx.ui;
  popts.on_output = [&](std::string_view chunk) {
    if (ui.interactive()) {
      for (const auto& step : steps.feed(chunk)) {
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
        ui.err() << fmt::format("  {:>4}s  {}\n", secs, short_step(step));
      }
    } else {
      ui.err() << chunk;
    }
    ui.err().flush();
    log_out << chunk;
    log_out.flush();
    output += chunk;
  };
  auto ran = m_ctx.runner.run(cmd.argv, popts);
  log_out.close();
  if (!ran) {
    return core::fail(core::ErrorKind::not_found,
                      ran.error().message,
                      "install the docker CLI, or set FURNACE_DOCKER");
  }
  if (ran->status.ok()) {
    return {};
  }
  const FailureReport report = analyze_build_log(output);
  ui.err() << '\n';
  if (!report.step.empty()) {
    ui.err() << fmt::format("failed step: {}\n", short_step(report.step));
  }
  if (!report.tail.empty()) {
    ui.err() << fmt::format("its last {} lines:\n", report.tail.size());
  }
  for (const std::string& l : report.tail) {
    ui.err() << "    " << l << '\n';
  }
  std::string hint =
      failure_hint(report.kind, MirrorsUsed{m_in.apt_mirror, m_in.pip_mirror}, report.missing);
  if (hint.empty()) {
    hint = fmt::format("the Dockerfile is {}/Dockerfile", dir);
  }
  if (says_no_space(output)) {
    core::Error full = disk_full_error(
        core::make_error(core::ErrorKind::io,
                         fmt::format("the build of {} failed (exit {}); the full log is {}",
                                     m_tag,
                                     ran->status.code,
                                     log_file)),
        m_engine);
    return failure(
        core::ErrorKind::io, full.message, full.hint, ran->status.code > 0 ? ran->status.code : 1);
  }
  if (m_lock) {
    hint += "; with --locked, a version furnace.lock pins may be gone from the index or the "
            "archive ('furnace build' without --locked updates the lock)";
  }
  return failure(core::ErrorKind::remote,
                 fmt::format("the build of {} failed (exit {}); the full log is {}",
                             m_tag,
                             ran->status.code,
                             log_file),
                 hint,
                 ran->status.code > 0 ? ran->status.code : 1);
}

// --locked: the new image must hold exactly the locked packages (else it is removed).
core::Result<BuiltImage> Job::check_locked_build() {
  auto img = m_engine.inspect_image(m_tag);
  const std::string id = img ? img->id : std::string();
  auto now = probe_packages(m_ctx, m_tag, id, request_for(m_request, m_project.plan));
  if (!now) {
    return core::fail(now.error());
  }
  const std::vector<std::string> diff = diff_packages(*m_lock, *now);
  if (!diff.empty()) {
    util::ProcessOptions o;
    o.env = m_ctx.env;
    o.timeout = std::chrono::milliseconds(60000);
    (void)m_ctx.runner.run({docker_cli(m_ctx.env), "rmi", m_tag},
                           o); // no image that breaks the lock
    for (const std::string& l : diff) {
      m_ctx.ui.err() << "  " << l << '\n';
    }
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("the locked build resolved differently from {} ({} lines above; "
                                  "{} removed)",
                                  m_lock_path,
                                  diff.size(),
                                  m_tag),
                      "run 'furnace build' without --locked to accept the new versions and update "
                      "the lock");
  }
  m_ctx.ui.info(fmt::format("{} matches {} ({} pip and {} Debian packages)",
                            m_tag,
                            m_lock_path,
                            now->pip.size(),
                            now->dpkg.size()));
  return done(id, true);
}

// The image is not there (or --force): stage the context and run the builder.
core::Result<BuiltImage> Job::build() {
  if (m_request.announce == Announce::builds_only) {
    say_notes();
  }
  auto builder = probe_builder(m_ctx.runner, m_ctx.env);
  if (!builder) {
    return core::fail(builder.error());
  }
  dockerfile::Rendered staged = m_canonical;
  if (builder->mode() == dockerfile::Mode::legacy) {
    auto legacy = dockerfile::render(m_in, dockerfile::Mode::legacy);
    if (!legacy) {
      return core::fail(legacy.error());
    }
    staged = std::move(*legacy);
  }
  auto dir = stage(staged);
  if (!dir) {
    return core::fail(dir.error());
  }
  const std::map<std::string, std::string> labels{
      {"org.furnace.hash", m_hash},
      {"org.furnace.plan", plan_json()},
      {"org.furnace.project", m_project.root},
      {"org.furnace.spec-hash", util::sha256_hex(m_project.yaml_text)},
      {"org.furnace.version", std::string(core::version())},
  };
  const BuildCommand cmd = build_command(*builder, m_tag, *dir, labels, m_request.network);
  if (m_request.dry_run) {
    m_ctx.ui.info(fmt::format("builder: {}", builder->why));
    BuiltImage img = done(std::string(), false);
    img.build_command = cmd.display;
    return img;
  }
  auto ran = run_builder(*builder, cmd, *dir);
  give_docker_config_to_its_owner(m_ctx.env);
  if (!ran) {
    return core::fail(ran.error());
  }
  if (m_base && m_lock) {
    return check_locked_build();
  }
  auto img = m_engine.inspect_image(m_tag);
  const std::string id = img ? img->id : std::string();
  if (m_base) {
    write_lock(m_ctx,
               m_project.root,
               m_tag,
               id,
               request_for(m_request, m_project.plan),
               staged.base_image,
               *m_base,
               m_project.plan);
  }
  return done(id, true);
}

core::Result<BuiltImage> Job::run(timespec read_from) {
  if (auto r = load(); !r) {
    return core::fail(r.error());
  }
  if (m_request.locked) {
    if (auto r = read_lock(); !r) {
      return core::fail(r.error());
    }
  }
  if (auto r = render_canonical(); !r) {
    return core::fail(r.error());
  }
  // `furnace run` says them only when it builds: a run of an unchanged project stays quiet.
  if (m_request.announce == Announce::always) {
    say_notes();
  }
  if (auto r = find_base(); !r) {
    return core::fail(r.error());
  }
  m_hash = dockerfile::content_hash(m_canonical, m_base ? m_base->id : std::string());
  m_tag = dockerfile::image_tag(m_project.name, m_hash);
  if (!m_request.force) {
    auto existing = m_engine.inspect_image(m_tag);
    if (existing) {
      return no_op(*existing, read_from);
    }
    if (existing.error().kind != core::ErrorKind::not_found) {
      return core::fail(existing.error());
    }
  }
  return build();
}

} // namespace

core::Result<BuiltImage> ensure_image(core::Context& ctx,
                                      const ImageRequest& request,
                                      engine::Engine& engine,
                                      gpu::GpuProbe& probe) {
  const timespec read_from = coarse_now(); // before any input is read
  gpu::MemoProbe memo(probe);
  if (!request.force && !request.locked && !request.dry_run) {
    if (auto cached = noop_from_cache(ctx, request, engine, memo)) {
      return std::move(*cached);
    }
  }
  return Job(ctx, request, engine, memo).run(read_from);
}

core::Result<ProjectDockerfile> Job::render_only() {
  if (auto r = load(); !r) {
    return core::fail(r.error());
  }
  auto legacy = dockerfile::render(m_in, dockerfile::Mode::legacy);
  if (!legacy) {
    return core::fail(legacy.error());
  }
  return ProjectDockerfile{std::move(legacy->dockerfile), std::move(legacy->context)};
}

core::Result<ProjectDockerfile> render_project_dockerfile(core::Context& ctx,
                                                          const ImageRequest& request,
                                                          engine::Engine& engine,
                                                          gpu::GpuProbe& probe) {
  gpu::MemoProbe memo(probe);
  return Job(ctx, request, engine, memo).render_only();
}

} // namespace furnace::image
