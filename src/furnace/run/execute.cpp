#include "execute.hpp"

#include <furnace/run/git.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/ownership.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <memory>
#include <iostream>
#include <thread>

namespace furnace::run {

namespace {

namespace fs = std::filesystem;

// Exit code for a failure before the command starts (docker's convention).
constexpr int k_not_started = 125;

// Records how the run ended; returns the store's error ("" when recorded or nothing to record).
std::string finish_record(history::Store* store, std::int64_t id, const SessionResult& r,
                          std::int64_t now) {
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
  auto done = store->finish(id, now, r.exit_code, signal, status);
  return done ? std::string() : done.error().message;
}

// After the CLI is gone, the container must be too (the CLI may have died before it).
void make_sure_removed(engine::Engine& engine, const std::string& name) {
  auto c = engine.inspect_container(name);
  if (c) {
    (void)engine.remove_container(name, true);
  }
}

// The run's log, with a header line; -1 (after a warning) when it cannot be written.
int open_log(core::Ui& ui, const RunPlan& p) {
  const std::string& path = p.record.log_path;
  std::error_code ec;
  util::make_directories(fs::path(path).parent_path().string(), ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd >= 0) {
    (void)util::give_fd_to_directory_owner(fd, fs::path(path).parent_path().string());
  }
  if (fd < 0) {
    ui.warn(fmt::format("cannot write the run's log {}: {}", path, std::strerror(errno)),
            "check the permissions of that directory (XDG_DATA_HOME)");
    return fd;
  }
  std::string head =
      fmt::format("# furnace run {} in {} ({})\n", p.spec.name, p.spec.workdir, p.spec.image);
  if (p.spec.tty) {
    head += "# a terminal session: its output went to the terminal only\n";
  }
  (void)!::write(fd, head.data(), head.size());
  return fd;
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

RunOutcome run_foreground(core::Context& ctx, engine::Engine& engine, Launcher& launcher,
                          LazyHistory& store, RunPlan& p, GpuLease& gpus, int log_fd) {
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
  auto r = launcher.session(cmd, ctx.env, so);
  // The clean-up must finish: a late Ctrl-C waits until the record, container and locks are done.
  const SignalsBlocked hold;
  RunOutcome outcome;
  if (!r) {
    ctx.ui.error(r.error()); // said now: the clean-up's warnings follow it
  }
  const SessionResult result = r ? *r : SessionResult{k_not_started, 0, false};
  if (!r) {
    record_start(ctx, store, p.record); // the CLI never ran: recorded as failed all the same
  }
  const std::string failed =
      finish_record(store.get(), p.record.id, result, launcher.clock().now_ms());
  if (!failed.empty()) {
    ctx.ui.warn(fmt::format("the end of this run is not recorded: {}", failed));
  }
  if (git.dirty() && store.get() != nullptr && p.record.id != 0) {
    (void)store.get()->set_git_dirty(p.record.id, true);
  }
  make_sure_removed(engine, p.spec.name);
  if (gpus.locks) {
    (void)gpus.locks->release(gpus.owner, gpus.uuids);
  }
  outcome.exit_code = result.exit_code;
  outcome.signal = result.signal;
  return outcome;
}

// Starts the supervisor, which records the end, removes the container and releases the GPUs.
// What it runs with is copied into it (in production it runs in a forked process anyway).
core::Result<int> start_supervisor(core::Context& ctx, engine::Engine& engine, Launcher& launcher,
                                   const RunPlan& p, GpuLease& gpus, int log_fd) {
  const std::int64_t id = p.record.id;
  const ContainerSpec spec = p.spec;
  const util::Clock& clock = launcher.clock();
  auto lease = std::make_shared<GpuLease>(std::move(gpus));
  auto pid = launcher.supervise(
      [spec] {
        ContainerSpec s = spec;
        s.labels[k_label_pid] = std::to_string(::getpid());
        return docker_run_command(s);
      },
      ctx.env, log_fd,
      [env = ctx.env, &engine, lease, &clock, id, name = spec.name](const SessionResult& r) {
        std::cerr << fmt::format("# furnace: {} ended: exit {}\n", name, r.exit_code);
        auto store = history::Store::open(history::default_path(env));
        if (!store) {
          std::cerr << fmt::format("# furnace: not recorded: {}\n", store.error().message);
        }
        const std::string failed = finish_record(store ? &*store : nullptr, id, r, clock.now_ms());
        if (!failed.empty()) {
          std::cerr << fmt::format("# furnace: not recorded: {}\n", failed);
        }
        make_sure_removed(engine, name);
        if (lease->locks) {
          gpu::LockOwner me = lease->owner;
          me.pid = ::getpid();
          (void)lease->locks->release(me, lease->uuids);
        }
      });
  if (pid && lease->locks) {
    gpu::LockOwner to = lease->owner;
    to.pid = *pid;
    (void)lease->locks->transfer(lease->owner, to, lease->uuids);
  }
  return pid;
}

// Starts the supervisor and waits until the container runs (or the supervisor gives up).
RunOutcome run_detached(core::Context& ctx, engine::Engine& engine, Launcher& launcher,
                        const RunPlan& p, GpuLease& gpus, int log_fd) {
  RunOutcome outcome;
  auto pid = start_supervisor(ctx, engine, launcher, p, gpus, log_fd);
  if (!pid) {
    outcome.exit_code = k_not_started;
    outcome.error = pid.error();
    return outcome;
  }
  const std::string& name = p.spec.name;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int code = k_not_started;
  while (std::chrono::steady_clock::now() < deadline) {
    auto c = engine.inspect_container(name);
    if (c && c->running) {
      outcome.container_id = c->id;
      return outcome;
    }
    if (c && c->status == "exited") {
      code = c->exit_code; // over before we looked: a quick command, or one that failed at once
      if (code == 0) {
        outcome.container_id = c->id;
        outcome.finished = true;
        return outcome;
      }
      break;
    }
    if (launcher.reap(*pid, false)) {
      break; // the supervisor is done already: the container never came up
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  (void)launcher.reap(*pid, true); // the supervisor records the end; its log is complete then
  auto text = util::read_file(p.record.log_path);
  outcome.exit_code = code == 0 ? k_not_started : code;
  outcome.error = core::make_error(
      core::ErrorKind::remote,
      fmt::format("{} did not run (exit {}); its log {} says:\n{}", name, code, p.record.log_path,
                  text ? std::string(util::trim(*text)) : std::string()),
      "run it in the foreground (without -d) to see what happens");
  return outcome;
}

} // namespace

RunOutcome execute(core::Context& ctx, RunPlan& plan, engine::Engine& engine, Launcher& launcher,
                   LazyHistory& store, GpuLease& gpus) {
  const int log_fd = open_log(ctx.ui, plan);
  history::RunRecord& r = plan.record;
  if (plan.detach) {
    r.git_dirty = !r.git_commit.empty() && GitDirtyCheck(r.project).dirty();
    record_start(ctx, store, r);
    store.close(); // an SQLite connection must not cross fork(): the supervisor opens its own
  }
  RunOutcome outcome = plan.detach ? run_detached(ctx, engine, launcher, plan, gpus, log_fd)
                                   : run_foreground(ctx, engine, launcher, store, plan, gpus, log_fd);
  if (log_fd >= 0) {
    ::close(log_fd);
  }
  return outcome;
}

} // namespace furnace::run
