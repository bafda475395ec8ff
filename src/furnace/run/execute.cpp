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
std::string finish_record(history::Store* store,
                          std::int64_t id,
                          const SessionResult& r,
                          std::int64_t now,
                          bool oom = false) {
  if (store == nullptr || id == 0) {
    return {};
  }
  std::string status = history::k_exited;
  std::string signal;
  if (oom) {
    status = history::k_oom_killed;
    signal = "SIGKILL";
  } else if (r.signal != 0) {
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

// How long to wait for an engine that went away during a run (a restart) before leaving the
// container to it: $FURNACE_ENGINE_WAIT seconds, 60 by default.
int engine_wait_seconds(const core::Env& env) {
  const auto it = env.find("FURNACE_ENGINE_WAIT");
  if (it != env.end() && !it->second.empty()) {
    try {
      return std::max(0, std::stoi(it->second));
    } catch (const std::exception&) {
    }
  }
  return 60;
}

// How long a relayed signal may take to end the command before furnace removes the container
// by force (a command or PID 1 that ignores it): $FURNACE_STOP_GRACE seconds, 10 by default
// (docker stop's), 0 for never.
std::chrono::milliseconds stop_grace(const core::Env& env) {
  const auto it = env.find("FURNACE_STOP_GRACE");
  if (it != env.end() && !it->second.empty()) {
    try {
      return std::chrono::seconds(std::max(0, std::stoi(it->second)));
    } catch (const std::exception&) {
    }
  }
  return std::chrono::seconds(10);
}

bool wait_for_engine(engine::Engine& engine, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (true) {
    if (engine.ping()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

bool unreachable(const core::Error& e) {
  return e.kind == core::ErrorKind::unavailable || e.kind == core::ErrorKind::timeout;
}

} // namespace

EngineCommand docker_attach_command(const ContainerSpec& spec) {
  EngineCommand c;
  c.argv = {spec.docker, "attach", "--sig-proxy=true"};
  if (!spec.tty) {
    c.argv.emplace_back("--no-stdin"); // what a pipe held went to the first CLI
  }
  c.argv.push_back(spec.name);
  return c;
}

Settled settle_container(engine::Engine& engine,
                         const ContainerSpec& spec,
                         SessionResult result,
                         const core::Env& env,
                         const SettleHooks& hooks) {
  Settled out;
  out.recorded = result;
  out.exit_code = result.exit_code;
  const std::string& name = spec.name;
  bool lost = false; // the engine went away since the CLI started
  const auto engine_error = [&](core::Error e) {
    out.left = true;
    out.exit_code = k_not_started;
    out.error = std::move(e);
    return out;
  };
  // An engine restart without live-restore ended the container with the engine.
  const auto ended_with_engine = [&](const std::optional<int>& code) {
    out.exit_code = k_not_started;
    out.recorded = SessionResult{code.value_or(k_not_started), 0, false};
    out.error = core::make_error(
        core::ErrorKind::unavailable,
        fmt::format("the engine restarted during the run (the connection to it was lost) and "
                    "ended {}{}",
                    name,
                    code ? fmt::format(" (exit {})", *code) : std::string()),
        "with live-restore the engine keeps containers through a restart and furnace re-attaches: "
        "'sudo furnace setup --live-restore'");
    return out;
  };
  for (int round = 0; round < 8; ++round) {
    if (out.recorded.forced) {
      (void)engine.remove_container(name, true);
      return out;
    }
    // The usual end: the container has exited with its CLI; removing it is the one engine call.
    auto rm = engine.remove_container(name, false);
    if (rm) {
      return out;
    }
    if (unreachable(rm.error())) {
      lost = true;
      const int wait = engine_wait_seconds(env);
      hooks.warn(fmt::format("lost the connection to the engine during the run ({}); waiting up to "
                             "{} s for it to come back",
                             rm.error().message,
                             wait));
      if (!wait_for_engine(engine, wait)) {
        return engine_error(core::make_error(
            core::ErrorKind::unavailable,
            fmt::format("the engine did not come back within {} s: {} may still run", wait, name),
            fmt::format("once the engine is back, 'furnace ps' shows it, 'docker logs -f {}' "
                        "follows its output and 'furnace stop {}' ends it",
                        name,
                        name)));
      }
    }
    auto c = engine.inspect_container(name);
    if (!c && c.error().kind == core::ErrorKind::not_found) {
      return lost ? ended_with_engine(std::nullopt) : out;
    }
    if (!c) {
      return engine_error(c.error());
    }
    if (!c->running) {
      (void)engine.remove_container(name, true);
      return lost ? ended_with_engine(c->exit_code) : out;
    }
    // It runs on without its CLI: the engine kept it through a restart (live-restore), or the
    // CLI alone was killed.
    if (out.recorded.signal != 0) {
      (void)engine.stop_container(name, 10); // it was asked to stop: it stops
      (void)engine.remove_container(name, true);
      return out;
    }
    if (!hooks.attach) {
      out.left = true;
      out.exit_code = k_not_started;
      out.error = core::make_error(
          core::ErrorKind::unavailable,
          fmt::format("lost the connection to {}, which still runs (the engine kept it)", name),
          fmt::format(
              "'docker logs -f {}' follows its output, 'furnace stop {}' ends it", name, name));
      return out;
    }
    hooks.warn(fmt::format("{} still runs (the engine kept it): attaching to it again; its output "
                           "while the engine was away is in 'docker logs {}'",
                           name,
                           name));
    auto again = hooks.attach(docker_attach_command(spec));
    if (!again) {
      return engine_error(again.error());
    }
    lost = false; // from here on its end is the container's own
    out.recorded = *again;
    out.exit_code = again->exit_code;
  }
  return engine_error(core::make_error(core::ErrorKind::unavailable,
                                       fmt::format("{} keeps losing its engine connection", name),
                                       fmt::format("'furnace stop {}' ends it", name)));
}

namespace {

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
  so.force = [&](const std::string& why) {
    ctx.ui.warn(fmt::format("{}: removing {} by force", why, p.spec.name));
    (void)engine.remove_container(p.spec.name, true);
  };
  so.grace = stop_grace(ctx.env);
  auto r = launcher.session(cmd, ctx.env, so);
  // The clean-up must finish: a late Ctrl-C waits until the record, container and locks are done
  // (a session that attaches again relays signals all the same: run_session unblocks them).
  const SignalsBlocked hold;
  RunOutcome outcome;
  if (!r) {
    ctx.ui.error(r.error());            // said now: the clean-up's warnings follow it
    record_start(ctx, store, p.record); // the CLI never ran: recorded as failed all the same
  }
  Settled settled;
  if (r) {
    // Before settling removes the container: whether the kernel killed it for memory (asked on
    // exit 137 only).
    outcome.oom_killed =
        r->signal == 0 &&
        oom_killed(engine, p.spec.name, r->exit_code, p.record.started_ms, launcher.clock().now_ms());
    SettleHooks hooks;
    hooks.warn = [&](const std::string& m) { ctx.ui.warn(m); };
    SessionOptions again = so;
    again.on_started = nullptr; // recorded once
    hooks.attach = [&](const EngineCommand& attach) {
      return launcher.session(attach, ctx.env, again);
    };
    settled = settle_container(engine, p.spec, *r, ctx.env, hooks);
  } else {
    settled.recorded = SessionResult{k_not_started, 0, false};
    settled.exit_code = k_not_started;
    (void)engine.remove_container(p.spec.name, true); // whatever the CLI got to create
  }
  if (settled.error) {
    ctx.ui.error(*settled.error);
  }
  if (!settled.left) {
    const std::string failed = finish_record(
        store.get(), p.record.id, settled.recorded, launcher.clock().now_ms(), outcome.oom_killed);
    if (!failed.empty()) {
      ctx.ui.warn(fmt::format("the end of this run is not recorded: {}", failed));
    }
  }
  if (git.dirty() && store.get() != nullptr && p.record.id != 0) {
    (void)store.get()->set_git_dirty(p.record.id, true);
  }
  // A container left running keeps its GPUs: their locks stay, held while it runs.
  if (gpus.locks && !settled.left) {
    (void)gpus.locks->release(gpus.owner, gpus.uuids);
  }
  outcome.exit_code = settled.exit_code;
  outcome.signal = settled.recorded.signal;
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
        s.labels[k_label_pid_start] = process_start_time(::getpid());
        return docker_run_command(s);
      },
      ctx.env,
      log_fd,
      [env = ctx.env, &engine, &launcher, lease, &clock, id, spec, started = p.record.started_ms](
          const SessionResult& first) {
        // Before settling removes the container: killed for memory? (exit 137 only)
        const bool oom = first.signal == 0 &&
                         oom_killed(engine, spec.name, first.exit_code, started, clock.now_ms());
        // In the supervisor: the same settling as a foreground run, attaching again into the log.
        SettleHooks hooks;
        hooks.warn = [](const std::string& m) { std::cerr << "# furnace: " << m << '\n'; };
        hooks.attach = [&](const EngineCommand& attach) {
          SessionOptions o;
          o.output = Output::inherit;
          o.own_group = true;
          return launcher.session(attach, env, o);
        };
        const Settled settled = settle_container(engine, spec, first, env, hooks);
        const SessionResult& r = settled.recorded;
        if (settled.error) {
          std::cerr << "# furnace: " << settled.error->message << '\n';
        }
        if (settled.left) {
          return; // it runs on in the engine: neither its end nor its GPUs are ours to settle
        }
        const std::string& name = spec.name;
        std::cerr << fmt::format("# furnace: {} ended: exit {}{}\n",
                                 name,
                                 r.exit_code,
                                 oom ? fmt::format(" ({})", oom_error(name, spec.memory).message)
                                     : "");
        auto store = history::Store::open(history::default_path(env));
        if (!store) {
          std::cerr << fmt::format("# furnace: not recorded: {}\n", store.error().message);
        }
        const std::string failed =
            finish_record(store ? &*store : nullptr, id, r, clock.now_ms(), oom);
        if (!failed.empty()) {
          std::cerr << fmt::format("# furnace: not recorded: {}\n", failed);
        }
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
