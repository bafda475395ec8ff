// furnace run: the front end of the run pipeline. ensure_image (built when needed) -> the
// user's layer -> GPUs (locked) -> plan_run -> execute, recorded in the history from start to
// end; the prompts, the output and the exit code are decided here.

#include "command.hpp"

#include <furnace/gpu/gpu_lock.hpp>
#include <furnace/image/build_log.hpp>
#include <furnace/image/builder.hpp>
#include <furnace/image/ensure.hpp>
#include <furnace/project/load.hpp>
#include <furnace/run/execute.hpp>
#include <furnace/run/git.hpp>
#include <furnace/run/gui.hpp>
#include <furnace/run/plan.hpp>
#include <furnace/run/prepare.hpp>
#include <furnace/run/support.hpp>
#include <furnace/run/user_layer.hpp>
#include <furnace/run/volume.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace furnace::run {

namespace {

namespace fs = std::filesystem;

// Exit code for a failure before the command starts (docker's convention).
constexpr int k_not_started = 125;

int report(core::Ui& ui, const core::Error& e, int code = k_not_started) {
  ui.error(e);
  return code;
}

std::string random_suffix() {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::array<unsigned char, 3> b{};
  in.read(reinterpret_cast<char*>(b.data()), b.size()); // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  return fmt::format("{:02x}{:02x}{:02x}", b[0], b[1], b[2]);
}

// The home directory of the user who ran `sudo furnace`; "" without sudo or when unknown.
std::string sudo_caller_home(const core::Env& env) {
  const auto user = env.find("SUDO_USER");
  if (::getuid() != 0 || user == env.end() || user->second.empty()) {
    return {};
  }
  const struct passwd* pw = ::getpwnam(user->second.c_str()); // NOLINT(concurrency-mt-unsafe)
  return pw != nullptr && pw->pw_dir != nullptr ? std::string(pw->pw_dir) : std::string();
}

// Whether the engine can hand GPUs to containers: the toolkit's runtime, hook or CDI specs.
bool nvidia_runtime(engine::Engine& engine, const core::Env& env) {
  auto info = engine.info();
  if (info && std::find(info->runtimes.begin(), info->runtimes.end(), "nvidia") != info->runtimes.end()) {
    return true;
  }
  const auto path = env.find("PATH");
  const std::string path_var = path == env.end() ? "/usr/local/bin:/usr/bin:/bin" : path->second;
  for (const char* tool : {"nvidia-container-runtime-hook", "nvidia-ctk", "nvidia-container-toolkit"}) {
    if (util::find_in_path(tool, path_var)) {
      return true;
    }
  }
  return false;
}

// Which GPUs the run gets, locked for it. A host without GPUs (or without the NVIDIA runtime)
// runs on the CPU with a warning, unless GPUs were asked for explicitly.
core::Result<GpuChoice> choose_gpus(core::Context& ctx, engine::Engine& engine,
                                    gpu::GpuProbe& probe, const std::string& text,
                                    bool explicit_request, GpuLease& lease, bool dry_run) {
  auto request = gpu::parse_gpu_request(text);
  if (!request) {
    return core::fail(request.error());
  }
  GpuChoice plan;
  plan.request = request->text;
  const gpu::LockOwner& owner = lease.owner;
  if (request->kind == gpu::GpuRequest::Kind::none) {
    return plan;
  }
  auto info = probe.probe();
  std::string missing;
  if (!info) {
    missing = info.error().message;
  } else if (info->gpus.empty()) {
    missing = "the NVIDIA driver reports no GPU";
  } else if (!nvidia_runtime(engine, ctx.env)) {
    missing = "the engine has no NVIDIA runtime (NVIDIA Container Toolkit)";
  }
  if (!missing.empty()) {
    if (explicit_request) {
      return core::fail(core::ErrorKind::unavailable,
                        fmt::format("--gpus {}: {}", text, missing),
                        "run 'furnace doctor' for the fix; '--gpus none' runs on the CPU");
    }
    ctx.ui.warn(fmt::format("no GPU for this run ({}): running on the CPU", missing));
    return plan;
  }
  plan.driver = info->driver_version;
  const auto chooser = [&](const std::vector<gpu::Claim>& claims) {
    return gpu::choose(*request, *info, owner.user, claims);
  };
  core::Result<gpu::Selection> chosen = core::fail(core::ErrorKind::invalid, "");
  if (dry_run) {
    chosen = chooser({});
  } else {
    gpu::Liveness alive;
    alive.container = [&engine](const std::string& run) {
      auto c = engine.inspect_container(run);
      return c && c->running;
    };
    auto locks = gpu::GpuLocks::open(ctx.env, std::move(alive));
    if (!locks) {
      return core::fail(locks.error());
    }
    if (const auto& w = locks->warning()) {
      ctx.ui.warn(w->message, w->hint);
    }
    lease.locks = std::move(*locks);
    chosen = lease.locks->acquire(owner, chooser);
  }
  if (!chosen) {
    return core::fail(chosen.error());
  }
  for (const std::string& n : chosen->notes) {
    ctx.ui.warn(n);
  }
  plan.indices = chosen->indices;
  plan.uuids = chosen->uuids;
  lease.uuids = chosen->uuids;
  // `all` with a GPU left out (its compute mode takes no other process) names the rest.
  plan.mode = request->kind == gpu::GpuRequest::Kind::all &&
                      chosen->indices.size() == info->gpus.size()
                  ? GpuMode::all
                  : GpuMode::devices;
  return plan;
}

// Leftovers of runs whose furnace was killed: created or ended ones are removed; running ones
// are offered for removal (removed with --clean).
void handle_leftovers(core::Context& ctx, engine::Engine& engine, LazyHistory& store,
                      const std::string& root, const std::string& me, bool clean) {
  auto list = engine.list_containers({k_label_run, std::string(k_label_project) + "=" + root});
  if (!list) {
    return;
  }
  std::vector<engine::ContainerSummary> orphans;
  for (const auto& c : *list) {
    if (!is_orphan(c, me)) {
      continue;
    }
    if (is_spent(c)) {
      remove_leftover(ctx, engine, store.get(), c); // never ran or ended: nothing to lose
    } else {
      orphans.push_back(c);
    }
  }
  if (orphans.empty()) {
    return;
  }
  std::vector<std::string> names;
  for (const auto& c : orphans) {
    names.push_back(c.name);
  }
  bool remove = clean;
  if (!remove && ctx.ui.interactive() && ::isatty(STDIN_FILENO) == 1) {
    ctx.ui.err() << fmt::format("furnace: {} container(s) of this project were left by killed runs: "
                                "{}\nremove them now? [y/N] ",
                                orphans.size(), fmt::join(names, ", "));
    ctx.ui.err().flush();
    std::string answer;
    std::getline(std::cin, answer);
    remove = answer == "y" || answer == "Y" || answer == "yes";
  }
  if (!remove) {
    ctx.ui.warn(fmt::format("{} container(s) of this project were left by killed runs: {}",
                            orphans.size(), fmt::join(names, ", ")),
                "'furnace run --clean' removes them, or 'furnace stop NAME'");
    return;
  }
  for (const auto& c : orphans) {
    remove_leftover(ctx, engine, store.get(), c);
  }
}

// The image to run: the project's (built when needed), or a pinned one (rerun).
core::Result<image::BuiltImage> project_image(core::Context& ctx, const RunOptions& o,
                                              const std::string& root, engine::Engine& engine,
                                              gpu::GpuProbe& probe) {
  image::BuiltImage img;
  if (o.image.empty()) {
    image::ImageRequest b;
    b.path = root;
    b.announce = image::Announce::builds_only;
    b.dry_run = o.dry_run;
    b.locked = o.locked;
    b.network = o.network; // an index on the host's 127.0.0.1 needs the same network to build
    auto built = image::ensure_image(ctx, b, engine, probe);
    if (!built) {
      return built;
    }
    img = std::move(*built);
    if (!img.build_command.empty()) {
      ctx.ui.out() << img.build_command << '\n';
    }
    if (!o.expect_image.empty() && img.image_id != o.expect_image) {
      ctx.ui.warn(fmt::format("the image is not the recorded one: {} ({}) instead of {}", img.tag,
                              img.image_id, o.expect_image),
                  o.locked ? "it was rebuilt from furnace.lock: the same base digest and packages"
                           : "there is no furnace.lock: packages may have moved on");
    }
    return img;
  }
  auto yaml = project::load_furnace_yaml(root);
  if (!yaml) {
    return core::fail(yaml.error());
  }
  img.project_root = root;
  img.yaml = yaml->value_or(project::FurnaceYaml{});
  img.project_name = img.yaml.name.empty() ? project::image_name_from(fs::path(root).filename().string())
                                           : img.yaml.name;
  auto details = engine.inspect_image(o.image);
  if (!details) {
    return core::fail(details.error());
  }
  img.image_id = details->id;
  img.tag = details->repo_tags.empty() ? details->id : details->repo_tags.front();
  return img;
}

// The image the run starts: the project's, or the user's layer on top of it (built when needed).
core::Result<std::string> run_image(core::Context& ctx, engine::Engine& engine,
                                    const image::BuiltImage& img, const std::optional<HostUser>& user,
                                    bool dry_run) {
  if (!user) {
    return img.tag;
  }
  if (img.image_id.empty()) {
    return fmt::format("furnace-user/{}:<built after {}>", img.project_name, img.tag);
  }
  if (dry_run) {
    return user_image_tag(img.project_name, img.image_id, *user);
  }
  return ensure_user_image(ctx, engine, img.project_name, img.tag, img.image_id, *user,
                           image::cache_dir(ctx.env));
}

// --gui (or furnace.yaml's gui) as a request for the display; nullopt without a GUI.
core::Result<std::optional<GuiRequest>>
gui_request(const RunOptions& o, const project::FurnaceYaml& y, const RunInputs& in) {
  auto mode = parse_gui_mode(o.gui.empty() ? y.gui : o.gui,
                             o.gui.empty() ? "furnace.yaml's gui" : "--gui");
  if (!mode) {
    return core::fail(mode.error());
  }
  if (*mode == GuiMode::none) {
    return std::optional<GuiRequest>();
  }
  GuiRequest r;
  r.mode = *mode;
  r.run_name = in.name;
  r.user = in.host.user;
  r.hostname = in.host.host_name;
  r.dry_run = o.dry_run;
  return std::optional<GuiRequest>(std::move(r));
}

// --gui (or furnace.yaml's gui): the host's side of the display; nullopt without a GUI.
core::Result<std::optional<GuiSession>> start_gui(const core::Env& env,
                                                  const RunOptions& o,
                                                  const project::FurnaceYaml& y,
                                                  const RunInputs& in) {
  auto r = gui_request(o, y, in);
  if (!r) {
    return core::fail(r.error());
  }
  if (!*r) {
    return std::optional<GuiSession>();
  }
  auto session = prepare_gui(env, **r);
  if (!session) {
    return core::fail(session.error());
  }
  return std::optional<GuiSession>(std::move(*session));
}

// `furnace ide --gui` (or furnace.yaml's gui): the display for a container the IDE starts later,
// with a lasting cookie of the caller's outside the project; nullopt without a GUI.
core::Result<std::optional<GuiHost>> lasting_gui(const core::Env& env, const RunOptions& o,
                                                 const image::BuiltImage& img,
                                                 const RunInputs& in) {
  auto r = gui_request(o, img.yaml, in);
  if (!r) {
    return core::fail(r.error());
  }
  if (!*r) {
    return std::optional<GuiHost>();
  }
  auto g = prepare_lasting_gui(
      env, **r, lasting_cookie_path(env, in.host.user, img.project_name, img.project_root));
  if (!g) {
    return core::fail(g.error());
  }
  return std::optional<GuiHost>(std::move(*g));
}

// The error with the exit code `furnace run` gives for it.
core::Error with_code(core::Error e, int code) {
  e.exit_code = code;
  return e;
}

// What `furnace run` and `furnace ide` learn before the image: the directory, the project root,
// the host's limits and facts, and -v and the datasets. Errors carry their exit code.
struct ProjectInputs {
  std::string here; // the directory furnace was started in
  std::string root; // the project's root
  RunInputs in;
};

core::Result<ProjectInputs>
project_inputs(core::Context& ctx, const RunOptions& options, Launcher& launcher) {
  ProjectInputs p;
  std::error_code ec;
  p.here = fs::weakly_canonical(fs::absolute(options.path, ec), ec).string();
  if (!fs::is_directory(p.here, ec)) {
    return core::fail(
        with_code(core::make_error(core::ErrorKind::not_found,
                                   fmt::format("'{}' is not a directory", options.path)),
                  k_not_started));
  }
  p.root = project::find_root(p.here);
  // $HOME, and under sudo also the caller's own home (sudo sets HOME to root's).
  for (const std::string& home : {ctx.getenv("HOME").value_or(""), sudo_caller_home(ctx.env)}) {
    if (auto ok = check_project_root(p.root, p.here, home); !ok) {
      return core::fail(with_code(ok.error(), 2));
    }
  }
  auto limits = load_host_limits(ctx.host_root);
  if (!limits) {
    return core::fail(with_code(limits.error(), k_not_started));
  }
  p.in.host_limits = std::move(*limits);
  p.in.host = launcher.facts(ctx.env);
  // -v and the datasets before anything is built: a dead NAS fails here, in seconds (a dataset
  // is mounted on the host now: a run and an IDE bind it).
  auto yaml = project::load_furnace_yaml(p.root);
  if (!yaml) {
    return core::fail(with_code(yaml.error(), 2));
  }
  auto mounts = extra_mounts(ctx,
                             options.volumes,
                             yaml->value_or(project::FurnaceYaml{}).datasets,
                             p.here,
                             options.dry_run);
  if (!mounts) {
    return core::fail(with_code(mounts.error(),
                                mounts.error().kind == core::ErrorKind::usage ? 2 : k_not_started));
  }
  p.in.mounts = std::move(*mounts);
  return p;
}

// The engine's side of the inputs; known from the requests made so far, no round trip of its own.
void engine_inputs(const core::Context& ctx, engine::Engine& engine, RunInputs& in) {
  in.rootless = rootless_engine(engine);
  in.podman = engine.podman();
  in.docker = image::docker_cli(ctx.env);
  in.env = ctx.env;
}

// The GPUs for --gpus, furnace.yaml's gpus or "all". Only the command line insists:
// furnace.yaml's gpus fall back to the CPU like the default. Errors carry their exit code.
core::Result<GpuChoice> run_gpus(core::Context& ctx,
                                 engine::Engine& engine,
                                 gpu::GpuProbe& probe,
                                 const RunOptions& options,
                                 const project::FurnaceYaml& yaml,
                                 GpuLease& lease,
                                 bool dry_run) {
  const std::string gpu_text = !options.gpus.empty() ? options.gpus
                               : !yaml.gpus.empty()  ? yaml.gpus
                                                     : "all";
  auto gpus = choose_gpus(ctx, engine, probe, gpu_text, !options.gpus.empty(), lease, dry_run);
  if (!gpus) {
    return core::fail(
        with_code(gpus.error(), gpus.error().kind == core::ErrorKind::invalid ? 2 : k_not_started));
  }
  return gpus;
}

// Says how a run ended or started; returns its exit code.
int report_outcome(core::Ui& ui, const RunPlan& plan, const RunOutcome& o) {
  const std::string& name = plan.spec.name;
  if (o.error) {
    return report(ui, *o.error, o.exit_code);
  }
  if (plan.detach) {
    ui.out() << name << ' ' << o.container_id.substr(0, 12) << '\n';
    if (o.finished) {
      ui.info(fmt::format("{} has already finished (exit 0); 'furnace logs {}' shows its output",
                          name, name));
    } else {
      ui.info(fmt::format("started in the background; 'furnace logs -f {}' follows it, "
                          "'furnace stop {}' ends it",
                          name, name));
    }
    return 0;
  }
  if (o.oom_killed) {
    ui.error(oom_error(name, plan.spec.memory));
  } else if (o.signal != 0) {
    ui.info(fmt::format("{} stopped ({}), exit {}", name, signal_name(o.signal), o.exit_code));
  }
  return o.exit_code;
}

} // namespace

int run_run(core::Context& ctx, const RunOptions& options, engine::Engine& engine,
            gpu::GpuProbe& host_probe, Launcher& launcher) {
  gpu::MemoProbe probe(host_probe); // the build and the GPU choice see one NVML answer
  auto inputs = project_inputs(ctx, options, launcher);
  if (!inputs) {
    return report(ctx.ui, inputs.error(), inputs.error().exit_code);
  }
  const std::string& here = inputs->here;
  const std::string& root = inputs->root;
  RunInputs& in = inputs->in;
  LazyHistory store(ctx);
  if (!options.dry_run) {
    handle_leftovers(ctx, engine, store, root, in.host.host_name, options.clean);
  }
  auto img = project_image(ctx, options, root, engine, probe);
  if (!img) {
    return report(ctx.ui, img.error(), img.error().exit_code == 2 ? 2 : k_not_started);
  }
  in.here = here;
  in.name = fmt::format("{}-{}", img->project_name, random_suffix());
  engine_inputs(ctx, engine, in);
  // --gui: the display checked and the run's cookie written before anything is built or locked.
  std::optional<GuiSession> gui;
  if (auto g = start_gui(ctx.env, options, img->yaml, in); !g) {
    return report(ctx.ui, g.error(), g.error().kind == core::ErrorKind::usage ? 2 : k_not_started);
  } else if (*g) {
    gui = std::move(**g);
    in.gui = gui->host();
  }
  // The options are checked before anything is built or locked (the plan is made again below,
  // with the image and the GPUs; it is pure and takes microseconds).
  if (auto checked = plan_run(*img, options, in); !checked) {
    return report(ctx.ui, checked.error(), 2);
  } else {
    for (const std::string& w : checked->warnings) {
      ctx.ui.warn(w);
    }
  }
  // Processes run as the invoking user: a small cached layer puts them into /etc/passwd.
  const std::optional<HostUser> user = in.rootless ? std::nullopt : in.host.user;
  auto image_ref = run_image(ctx, engine, *img, user, options.dry_run);
  if (!image_ref) {
    return report(ctx.ui, image_ref.error());
  }
  in.image = *image_ref;
  GpuLease lease;
  lease.owner = gpu::LockOwner{user ? user->uid : 0U, user ? user->name : "root", in.host.pid,
                               in.name, launcher.clock().now_ms()};
  auto gpus = run_gpus(ctx, engine, probe, options, img->yaml, lease, options.dry_run);
  if (!gpus) {
    return report(ctx.ui, gpus.error(), gpus.error().exit_code);
  }
  in.gpus = *gpus;
  in.now_ms = launcher.clock().now_ms();
  in.log_path = run_log_path(ctx.env, in.name);
  in.git_commit = options.dry_run ? std::string() : git_commit(root);
  auto plan = plan_run(*img, options, in);
  if (!plan) {
    return report(ctx.ui, plan.error(), 2);
  }
  if (options.adjust) {
    if (auto ok = options.adjust(*plan); !ok) {
      return report(ctx.ui, ok.error());
    }
  }
  if (options.dry_run) {
    ctx.ui.out() << util::shell_join(docker_run_command(plan->spec).argv) << '\n';
    return 0;
  }
  const RunOutcome outcome = execute(ctx, *plan, engine, launcher, store, lease);
  if (gui && options.detach) {
    gui->keep_for_detached_run(); // its supervisor holds the cookie's keep-alive now
  }
  return options.report ? options.report(*plan, outcome) : report_outcome(ctx.ui, *plan, outcome);
}

core::Result<PlannedRun> plan_without_running(core::Context& ctx,
                                              const RunOptions& options,
                                              engine::Engine& engine,
                                              gpu::GpuProbe& host_probe,
                                              Launcher& launcher) {
  const auto failed = [](core::Error e, int code) {
    return core::fail(with_code(std::move(e), code));
  };
  gpu::MemoProbe probe(host_probe);
  auto inputs = project_inputs(ctx, options, launcher);
  if (!inputs) {
    return core::fail(inputs.error());
  }
  const std::string& root = inputs->root;
  RunInputs& in = inputs->in;
  auto img = project_image(ctx, options, root, engine, probe);
  if (!img) {
    return failed(img.error(), img.error().exit_code == 2 ? 2 : k_not_started);
  }
  in.here = root; // an IDE opens the project, not the directory furnace was started in
  in.name = img->project_name;
  if (auto g = lasting_gui(ctx.env, options, *img, in); !g) {
    return failed(g.error(), g.error().kind == core::ErrorKind::usage ? 2 : k_not_started);
  } else {
    in.gui = *g;
  }
  engine_inputs(ctx, engine, in);
  if (auto checked = plan_run(*img, options, in); !checked) {
    return failed(checked.error(), 2);
  }
  const std::optional<HostUser> user = in.rootless ? std::nullopt : in.host.user;
  auto image_ref = run_image(ctx, engine, *img, user, options.dry_run);
  if (!image_ref) {
    return failed(image_ref.error(), k_not_started);
  }
  in.image = *image_ref;
  GpuLease no_locks; // chosen as a run chooses them, locked by nobody: nothing starts now
  auto gpus = run_gpus(ctx, engine, probe, options, img->yaml, no_locks, true);
  if (!gpus) {
    return core::fail(gpus.error());
  }
  in.gpus = *gpus;
  in.now_ms = launcher.clock().now_ms();
  auto plan = plan_run(*img, options, in);
  if (!plan) {
    return failed(plan.error(), 2);
  }
  for (const std::string& w : plan->warnings) {
    ctx.ui.warn(w);
  }
  return PlannedRun{std::move(*img), std::move(*plan)};
}

} // namespace furnace::run
