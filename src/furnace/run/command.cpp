// furnace run: resolve -> build if needed -> the user's layer -> GPUs (locked) -> docker run,
// recorded in the history from start to end.

#include "command.hpp"

#include <furnace/image/build_log.hpp>
#include <furnace/image/builder.hpp>
#include <furnace/image/ensure.hpp>
#include <furnace/gpu/gpu_lock.hpp>
#include <furnace/project/load.hpp>
#include <furnace/run/container_spec.hpp>
#include <furnace/run/session.hpp>
#include <furnace/run/support.hpp>
#include <furnace/run/user_layer.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

extern char** environ; // NOLINT

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

unsigned long long host_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  unsigned long long kb = 0;
  while (in >> key >> kb) {
    if (key == "MemTotal:") {
      return kb * 1024;
    }
    in.ignore(256, '\n');
  }
  return 0;
}

// The commit HEAD names, read from .git without running git ("" when none).
std::string git_commit(const std::string& root) {
  fs::path git = fs::path(root) / ".git";
  std::error_code ec;
  if (fs::is_regular_file(git, ec)) { // a worktree: "gitdir: <path>"
    auto text = util::read_file(git.string());
    if (!text || !text->starts_with("gitdir: ")) {
      return {};
    }
    git = fs::path(root) / std::string(util::trim(text->substr(8)));
  }
  auto head = util::read_file((git / "HEAD").string());
  if (!head) {
    return {};
  }
  const std::string h(util::trim(*head));
  if (!h.starts_with("ref: ")) {
    return h;
  }
  const std::string ref = h.substr(5);
  if (auto direct = util::read_file((git / ref).string())) {
    return std::string(util::trim(*direct));
  }
  auto packed = util::read_file((git / "packed-refs").string());
  for (const std::string& line : util::split(packed ? *packed : std::string(), '\n')) {
    if (line.size() > 41 && line.substr(41) == ref) {
      return line.substr(0, 40);
    }
  }
  return {};
}

// `git status` of the project, running beside the container (a large repository takes long
// enough to be felt); `dirty()` collects its answer.
class GitDirtyCheck {
public:
  explicit GitDirtyCheck(const std::string& root) {
    std::array<int, 2> p{-1, -1};
    if (root.empty() || ::pipe2(p.data(), O_CLOEXEC) != 0) {
      return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::vector<std::string> args{"git", "-C", root, "status", "--porcelain", "--untracked-files=no"};
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (::posix_spawnp(&pid, "git", &fa, nullptr, argv.data(), environ) == 0) {
      m_pid = pid;
      m_read = p[0];
    } else {
      ::close(p[0]);
    }
    ::close(p[1]);
    posix_spawn_file_actions_destroy(&fa);
  }
  GitDirtyCheck(const GitDirtyCheck&) = delete;
  GitDirtyCheck& operator=(const GitDirtyCheck&) = delete;
  ~GitDirtyCheck() { (void)dirty(); }

  // Whether git listed a changed tracked file; false when git could not tell.
  bool dirty() {
    if (m_pid <= 0) {
      return m_dirty;
    }
    std::array<char, 4096> buf{};
    ssize_t n = 0;
    while ((n = ::read(m_read, buf.data(), buf.size())) > 0 || (n < 0 && errno == EINTR)) {
      m_dirty = m_dirty || n > 0;
    }
    ::close(m_read);
    int status = 0;
    while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
    m_dirty = m_dirty && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    m_pid = -1;
    return m_dirty;
  }

private:
  pid_t m_pid = -1;
  int m_read = -1;
  bool m_dirty = false;
};

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

// Whether a local engine may raise the locked-memory limit (CAP_SYS_RESOURCE, or no hard limit).
// Unknown (a remote engine, no pid file) counts as yes: that is every normal root engine.
bool engine_can_unlock_memory() {
  auto pid = util::read_file("/var/run/docker.pid");
  if (!pid) {
    return true;
  }
  auto status = util::read_file(fmt::format("/proc/{}/status", util::trim(*pid)));
  if (!status) {
    return true;
  }
  constexpr unsigned long long k_cap_sys_resource = 1ULL << 24U;
  const auto at = status->find("CapEff:");
  if (at == std::string::npos) {
    return true;
  }
  const unsigned long long caps = std::strtoull(status->c_str() + at + 7, nullptr, 16);
  return (caps & k_cap_sys_resource) != 0;
}

struct GpuPlan {
  GpuMode mode = GpuMode::none;
  std::vector<unsigned> indices;
  std::vector<std::string> uuids;
  std::string driver;
  std::string request = "none";
  std::optional<gpu::GpuLocks> locks;
  gpu::LockOwner owner;
};

// Which GPUs the run gets, locked for it. A host without GPUs (or without the NVIDIA runtime)
// runs on the CPU with a warning, unless GPUs were asked for explicitly.
core::Result<GpuPlan> plan_gpus(core::Context& ctx, engine::Engine& engine, gpu::GpuProbe& probe,
                                const std::string& text, bool explicit_request,
                                const gpu::LockOwner& owner, bool dry_run) {
  auto request = gpu::parse_gpu_request(text);
  if (!request) {
    return core::fail(request.error());
  }
  GpuPlan plan;
  plan.request = request->text;
  plan.owner = owner;
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
    auto locks = gpu::GpuLocks::open(ctx.env, [&engine](const gpu::LockOwner& o) {
      if (gpu::pid_alive(o.pid)) {
        return true;
      }
      auto c = engine.inspect_container(o.run);
      return c && c->running;
    });
    if (!locks) {
      return core::fail(locks.error());
    }
    plan.locks = std::move(*locks);
    chosen = plan.locks->acquire(owner, chooser);
  }
  if (!chosen) {
    return core::fail(chosen.error());
  }
  for (const std::string& n : chosen->notes) {
    ctx.ui.warn(n);
  }
  plan.indices = chosen->indices;
  plan.uuids = chosen->uuids;
  plan.mode = request->kind == gpu::GpuRequest::Kind::all ? GpuMode::all : GpuMode::devices;
  return plan;
}

// The variables every run gets: proxies and the time zone from the host, unbuffered Python.
std::map<std::string, std::string> base_env(const core::Env& host) {
  std::map<std::string, std::string> env{{"PYTHONUNBUFFERED", "1"}};
  for (const char* k : {"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                        "NO_PROXY", "TZ"}) {
    if (auto it = host.find(k); it != host.end()) {
      env[k] = it->second;
    }
  }
  if (env.count("TZ") == 0) {
    if (auto tz = util::read_file("/etc/timezone"); tz && !util::trim(*tz).empty()) {
      env["TZ"] = std::string(util::trim(*tz));
    }
  }
  return env;
}

// Leftovers of runs whose furnace was killed: offered for removal (removed with --clean).
void handle_leftovers(core::Context& ctx, engine::Engine& engine, LazyHistory& store,
                      const std::string& root, const std::string& me, bool clean) {
  auto list = engine.list_containers({k_label_run, std::string(k_label_project) + "=" + root});
  if (!list) {
    return;
  }
  std::vector<engine::ContainerSummary> orphans;
  std::copy_if(list->begin(), list->end(), std::back_inserter(orphans),
               [&](const engine::ContainerSummary& c) { return is_orphan(c, me); });
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

struct Prepared {
  image::BuiltImage img;
  ContainerSpec spec;
  history::RunRecord record;
};

core::Result<ContainerSpec> container_spec(core::Context& ctx, const RunOptions& o,
                                           const image::BuiltImage& img, const std::string& root,
                                           const std::string& here) {
  const project::FurnaceYaml& y = img.yaml;
  ContainerSpec s;
  s.docker = image::docker_cli(ctx.env);
  const std::string target = y.workdir.empty() ? root : y.workdir;
  s.mounts.push_back(Mount{root, target, false});
  const fs::path rel = fs::path(here).lexically_relative(root);
  s.workdir = rel.empty() || rel == "." ? target : (fs::path(target) / rel).string();
  if (!y.datasets.empty()) {
    ctx.ui.warn(fmt::format("furnace.yaml 'datasets' ({}) are not mounted yet by this furnace",
                            fmt::join(y.datasets, ", ")));
  }
  s.ipc_host = o.ipc == "host";
  s.shm_size = !o.shm_size.empty() ? o.shm_size : !y.shm.empty() ? y.shm : default_shm_size(host_memory());
  if (auto ok = check_size(s.shm_size, "--shm-size"); !ok) {
    return core::fail(ok.error());
  }
  s.network = o.network;
  s.memlock_unlimited = engine_can_unlock_memory();
  s.env = base_env(ctx.env);
  for (const auto& [k, v] : y.env) {
    s.env[k] = v;
  }
  for (const std::string& e : o.env) {
    auto kv = parse_env_arg(e, ctx.env);
    if (!kv) {
      return core::fail(kv.error());
    }
    if (*kv) {
      s.env[(*kv)->first] = (*kv)->second;
    }
  }
  std::vector<std::string> ports = y.ports;
  ports.insert(ports.end(), o.ports.begin(), o.ports.end());
  for (const std::string& p : ports) {
    auto n = normalize_port(p);
    if (!n) {
      return core::fail(n.error());
    }
    s.ports.push_back(*n);
  }
  s.command = !o.command.empty() ? o.command : (!y.command.empty() && !o.shell ? y.command : std::vector<std::string>{});
  const bool shell = s.command.empty();
  if (shell) {
    s.command = shell_command();
  }
  const bool in_tty = ::isatty(STDIN_FILENO) == 1;
  const bool out_tty = ::isatty(STDOUT_FILENO) == 1;
  s.tty = !o.detach && in_tty && out_tty;
  // stdin goes in when it is a terminal for a terminal session, or a pipe or file we were given.
  struct stat st {};
  const bool stdin_data = ::fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode));
  s.interactive = !o.detach && (s.tty || stdin_data || (shell && !in_tty));
  return s;
}

// Records how the run ended; returns the store's error ("" when recorded or nothing to record).
std::string finish_record(history::Store* store, std::int64_t id, const SessionResult& r) {
  if (store == nullptr || id == 0) {
    return {};
  }
  std::string status = history::k_exited;
  std::string signal;
  if (r.signal != 0) {
    status = history::k_killed;
    signal = signal_name(r.signal);
  } else if (r.exit_code >= 125 && r.exit_code <= 127) {
    status = history::k_failed;
  } else if (r.exit_code > 128 && r.exit_code < 160) {
    status = history::k_killed; // the command died of a signal (a crash, the OOM killer, stop)
    signal = signal_name(r.exit_code - 128);
  }
  auto done = store->finish(id, now_ms(), r.exit_code, signal, status);
  return done ? std::string() : done.error().message;
}

// After the CLI is gone, the container must be too (the CLI may have died before it).
void make_sure_removed(engine::Engine& engine, const std::string& name) {
  auto c = engine.inspect_container(name);
  if (c) {
    (void)engine.remove_container(name, true);
  }
}

int open_log(const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

// Records the run (its git dirty flag comes later: see GitDirtyCheck).
void record_start(core::Context& ctx, LazyHistory& lazy, history::RunRecord& r) {
  history::Store* store = lazy.get();
  if (store == nullptr) {
    return;
  }
  auto id = store->insert(r);
  if (id) {
    r.id = *id;
  } else {
    ctx.ui.warn(fmt::format("this run is not recorded: {}", id.error().message));
  }
}

// Blocks SIGINT, SIGTERM, SIGHUP and SIGQUIT for its lifetime (pending ones arrive after).
class SignalsBlocked {
public:
  SignalsBlocked() {
    sigset_t set;
    sigemptyset(&set);
    for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
      sigaddset(&set, s);
    }
    ::sigprocmask(SIG_BLOCK, &set, &m_old);
  }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;
  ~SignalsBlocked() { ::sigprocmask(SIG_SETMASK, &m_old, nullptr); }

private:
  sigset_t m_old{};
};

int run_foreground(core::Context& ctx, engine::Engine& engine, LazyHistory& store,
                   Prepared& p, GpuPlan& gpus, int log_fd) {
  const EngineCommand cmd = docker_run_command(p.spec);
  GitDirtyCheck git(p.record.git_commit.empty() ? std::string() : p.record.project);
  SessionOptions so;
  so.on_started = [&] { record_start(ctx, store, p.record); };
  so.output = p.spec.tty ? Output::inherit : Output::tee;
  so.log_fd = log_fd;
  so.own_group = !p.spec.tty;
  so.force = [&] {
    ctx.ui.warn(fmt::format("second signal: removing {} by force", p.spec.name));
    (void)engine.remove_container(p.spec.name, true);
  };
  auto r = run_session(cmd, ctx.env, so);
  // The clean-up must finish: a late Ctrl-C waits until the record, container and locks are done.
  const SignalsBlocked hold;
  if (!r) {
    ctx.ui.error(r.error());
  }
  const SessionResult result = r ? *r : SessionResult{k_not_started, 0, false};
  if (!r) {
    record_start(ctx, store, p.record); // the CLI never ran: recorded as failed all the same
  }
  if (const std::string failed = finish_record(store.get(), p.record.id, result); !failed.empty()) {
    ctx.ui.warn(fmt::format("the end of this run is not recorded: {}", failed));
  }
  if (git.dirty() && store.get() != nullptr && p.record.id != 0) {
    (void)store.get()->set_git_dirty(p.record.id, true);
  }
  make_sure_removed(engine, p.spec.name);
  if (gpus.locks) {
    (void)gpus.locks->release(gpus.owner, gpus.uuids);
  }
  if (result.signal != 0) {
    ctx.ui.info(fmt::format("{} stopped ({}), exit {}", p.spec.name, signal_name(result.signal),
                            result.exit_code));
  }
  return result.exit_code;
}

// Starts the supervisor and waits until the container runs (or the supervisor gives up).
int run_detached(core::Context& ctx, engine::Engine& engine, const Prepared& p, GpuPlan& gpus,
                 int log_fd) {
  const std::int64_t id = p.record.id;
  const ContainerSpec spec = p.spec;
  const std::string log = p.record.log_path;
  auto pid = spawn_supervisor(
      [spec] {
        ContainerSpec s = spec;
        s.labels[k_label_pid] = std::to_string(::getpid());
        return docker_run_command(s);
      },
      ctx.env, log_fd, [&ctx, &engine, &gpus, id, name = spec.name](const SessionResult& r) {
        std::cerr << fmt::format("# furnace: {} ended: exit {}\n", name, r.exit_code);
        auto store = history::Store::open(history::default_path(ctx.env));
        if (!store) {
          std::cerr << fmt::format("# furnace: not recorded: {}\n", store.error().message);
        }
        const std::string failed = finish_record(store ? &*store : nullptr, id, r);
        if (!failed.empty()) {
          std::cerr << fmt::format("# furnace: not recorded: {}\n", failed);
        }
        make_sure_removed(engine, name);
        if (gpus.locks) {
          gpu::LockOwner me = gpus.owner;
          me.pid = ::getpid();
          (void)gpus.locks->release(me, gpus.uuids);
        }
      });
  if (!pid) {
    return report(ctx.ui, pid.error());
  }
  if (gpus.locks) {
    gpu::LockOwner to = gpus.owner;
    to.pid = *pid;
    (void)gpus.locks->transfer(gpus.owner, to, gpus.uuids);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int code = k_not_started;
  while (std::chrono::steady_clock::now() < deadline) {
    auto c = engine.inspect_container(spec.name);
    if (c && c->running) {
      ctx.ui.out() << spec.name << ' ' << c->id.substr(0, 12) << '\n';
      ctx.ui.info(fmt::format("started in the background; 'furnace logs -f {}' follows it, "
                              "'furnace stop {}' ends it", spec.name, spec.name));
      return 0;
    }
    if (c && c->status == "exited") {
      code = c->exit_code; // over before we looked: a quick command, or one that failed at once
      if (code == 0) {
        ctx.ui.out() << spec.name << ' ' << c->id.substr(0, 12) << '\n';
        ctx.ui.info(fmt::format("{} has already finished (exit 0); 'furnace logs {}' shows its output",
                                spec.name, spec.name));
        return 0;
      }
      break;
    }
    int status = 0;
    if (::waitpid(*pid, &status, WNOHANG) == *pid) {
      break; // the supervisor is done already: the container never came up
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::waitpid(*pid, nullptr, 0); // the supervisor records the end; its log is complete then
  auto text = util::read_file(log);
  ctx.ui.error(core::make_error(core::ErrorKind::remote,
                                fmt::format("{} did not run (exit {}); its log {} says:\n{}", spec.name,
                                            code, log,
                                            text ? std::string(util::trim(*text)) : std::string()),
                                "run it in the foreground (without -d) to see what happens"));
  return code == 0 ? k_not_started : code;
}

} // namespace

int run_run(core::Context& ctx, const RunOptions& options, engine::Engine& engine,
            gpu::GpuProbe& host_probe) {
  gpu::MemoProbe probe(host_probe); // the build and the GPU choice see one NVML answer
  std::error_code ec;
  const std::string here = fs::weakly_canonical(fs::absolute(options.path, ec), ec).string();
  if (!fs::is_directory(here, ec)) {
    return report(ctx.ui, core::make_error(core::ErrorKind::not_found,
                                           fmt::format("'{}' is not a directory", options.path)));
  }
  const std::string root = project::find_root(here);
  const std::string host = host_name();
  LazyHistory store(ctx);
  if (!options.dry_run) {
    handle_leftovers(ctx, engine, store, root, host, options.clean);
  }
  Prepared p;
  auto img = project_image(ctx, options, root, engine, probe);
  if (!img) {
    return report(ctx.ui, img.error(), img.error().exit_code == 2 ? 2 : k_not_started);
  }
  p.img = std::move(*img);
  auto spec = container_spec(ctx, options, p.img, root, here);
  if (!spec) {
    return report(ctx.ui, spec.error(), 2);
  }
  p.spec = std::move(*spec);
  p.spec.name = fmt::format("{}-{}", p.img.project_name, random_suffix());

  // Processes run as the invoking user: a small cached layer puts them into /etc/passwd.
  const bool rootless = rootless_engine(engine);
  if (rootless) {
    p.spec.memlock_unlimited = false;
  }
  const std::optional<HostUser> user = rootless ? std::nullopt : invoking_user(ctx.env);
  p.spec.image = p.img.tag;
  if (user) {
    p.spec.user = user;
    p.spec.env["HOME"] = user->home;
    if (p.img.image_id.empty()) {
      p.spec.image = fmt::format("furnace-user/{}:<built after {}>", p.img.project_name, p.img.tag);
    } else if (options.dry_run) {
      p.spec.image = user_image_tag(p.img.project_name, p.img.image_id, *user);
    } else {
      auto layer = ensure_user_image(ctx, engine, p.img.project_name, p.img.tag, p.img.image_id,
                                     *user, image::cache_dir(ctx.env));
      if (!layer) {
        return report(ctx.ui, layer.error());
      }
      p.spec.image = *layer;
    }
  }
  const std::string who = user ? user->name : "root";
  gpu::LockOwner owner{user ? user->uid : 0U, who, static_cast<int>(::getpid()), p.spec.name, now_ms()};
  const std::string gpu_text = !options.gpus.empty() ? options.gpus : !p.img.yaml.gpus.empty() ? p.img.yaml.gpus : "all";
  // Only the command line insists: furnace.yaml's gpus fall back to the CPU like the default.
  auto gpus = plan_gpus(ctx, engine, probe, gpu_text, !options.gpus.empty(),
                        owner, options.dry_run);
  if (!gpus) {
    return report(ctx.ui, gpus.error(), gpus.error().kind == core::ErrorKind::invalid ? 2 : k_not_started);
  }
  p.spec.gpus = gpus->mode;
  p.spec.gpu_indices = gpus->indices;

  p.spec.labels = {{k_label_run, p.spec.name},
                   {k_label_project, root},
                   {k_label_user, who},
                   {k_label_host, host},
                   {k_label_pid, std::to_string(::getpid())},
                   {k_label_gpus, gpus->mode == GpuMode::all ? "all" : fmt::format("{}", fmt::join(gpus->indices, ","))}};
  if (options.dry_run) {
    const EngineCommand cmd = docker_run_command(p.spec);
    ctx.ui.out() << util::shell_join(cmd.argv) << '\n';
    return 0;
  }

  history::RunRecord& r = p.record;
  r.name = p.spec.name;
  r.started_ms = now_ms();
  r.status = history::k_running;
  r.user = who;
  r.host = host;
  r.project = root;
  r.workdir = p.spec.workdir;
  r.git_commit = git_commit(root);
  r.spec_hash = p.img.spec_hash;
  r.image_tag = p.img.tag;
  r.image_id = p.img.image_id;
  r.base_image = p.img.base_image;
  r.base_digest = p.img.base_digest;
  r.command = p.spec.command;
  r.gpu_request = gpus->request;
  r.gpu_indices = gpus->indices;
  r.gpu_uuids = gpus->uuids;
  r.driver_version = gpus->driver;
  r.log_path = run_log_path(ctx.env, p.spec.name);
  r.detached = options.detach;
  const int log_fd = open_log(r.log_path);
  if (log_fd >= 0) {
    std::string head = fmt::format("# furnace run {} in {} ({})\n", p.spec.name, p.spec.workdir, p.spec.image);
    if (p.spec.tty) {
      head += "# a terminal session: its output went to the terminal only\n";
    }
    (void)!::write(log_fd, head.data(), head.size());
  } else {
    ctx.ui.warn(fmt::format("cannot write the run's log {}: {}", r.log_path, std::strerror(errno)),
                "check the permissions of that directory (XDG_DATA_HOME)");
  }
  if (options.detach) {
    r.git_dirty = !r.git_commit.empty() && GitDirtyCheck(root).dirty();
    record_start(ctx, store, r);
    store.close(); // an SQLite connection must not cross fork(): the supervisor opens its own
  }
  const int code = options.detach ? run_detached(ctx, engine, p, *gpus, log_fd)
                                  : run_foreground(ctx, engine, store, p, *gpus, log_fd);
  if (log_fd >= 0) {
    ::close(log_fd);
  }
  return code;
}

} // namespace furnace::run
