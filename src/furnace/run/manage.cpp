// furnace ps, logs, stop, shell --attach and rerun: the runs after they started.

#include "command.hpp"

#include <furnace/gpu/gpu_lock.hpp>
#include <furnace/history/render.hpp>
#include <furnace/image/builder.hpp>
#include <furnace/image/facts.hpp>
#include <furnace/project/load.hpp>
#include <furnace/run/lab.hpp>
#include <furnace/run/session.hpp>
#include <furnace/run/support.hpp>
#include <furnace/run/user_layer.hpp>
#include <furnace/util/stream.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace furnace::run {

namespace {

namespace fs = std::filesystem;

std::string label(const engine::ContainerSummary& c, const char* key) {
  const auto it = c.labels.find(key);
  return it == c.labels.end() ? std::string() : it->second;
}

// One table cell: newlines shown as "\n", cut to `width`.
std::string shorten(std::string s, std::size_t width) {
  for (std::size_t at = 0; (at = s.find('\n', at)) != std::string::npos; at += 2) {
    s.replace(at, 1, "\\n");
  }
  if (s.size() > width) {
    s = s.substr(0, width - 1) + "~";
  }
  return s;
}

std::string uptime(long long created_s) {
  return history::format_duration(now_ms() - created_s * 1000);
}

// A run by history key (id, name, prefix); when the history does not know it, a furnace container
// of that name (another user's run).
struct Target {
  std::string name;
  std::optional<history::RunRecord> record;
};

core::Result<Target> find_target(history::Store* store, engine::Engine& engine,
                                 const std::string& key) {
  if (store != nullptr) {
    auto r = store->find(key);
    if (r) {
      return Target{r->name, *r};
    }
    if (r.error().kind != core::ErrorKind::not_found) {
      return core::fail(r.error());
    }
  }
  auto c = engine.inspect_container(key);
  // By its full name only: the engine also takes id prefixes, which could name someone else's.
  if (c && c->name == key && c->labels.count(k_label_run) != 0) {
    return Target{c->name, std::nullopt};
  }
  return core::fail(core::ErrorKind::not_found,
                    fmt::format("no run '{}' in the history or among furnace's containers", key),
                    "'furnace history' and 'furnace ps' list the runs");
}

// A lab's URL without its token (ps shows every user's runs; the owner gets the token from
// `furnace lab --url`); "" for other runs.
std::string lab_url_of(const engine::ContainerSummary& c) {
  const int port = c.labels.count(k_label_lab) != 0 ? lab_host_port(c.ports) : 0;
  return port == 0 ? std::string() : lab_url(port, "");
}

bool still_running(const history::Store& store, std::int64_t id) {
  auto r = store.find(std::to_string(id));
  return r && r->status == history::k_running;
}

} // namespace

int run_ps(core::Context& ctx, const PsOptions& options, engine::Engine& engine) {
  auto list = engine.list_containers({k_label_run});
  if (!list) {
    ctx.ui.error(list.error());
    return 1;
  }
  const std::string me = host_name();
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : *list) {
      out.push_back({{"name", c.name},
                     {"id", c.id},
                     {"project", label(c, k_label_project)},
                     {"user", label(c, k_label_user)},
                     {"gpus", label(c, k_label_gpus)},
                     {"image", c.image},
                     {"created", c.created},
                     {"state", is_orphan(c, me) ? "orphaned" : c.state},
                     {"command", c.command},
                     {"url", lab_url_of(c)}});
    }
    ctx.ui.out() << nlohmann::json{{"schema_version", 1}, {"runs", out}}.dump(2) << '\n';
    return 0;
  }
  ctx.ui.out() << fmt::format("{:<24} {:<10} {:<8} {:<8} {:<10} {:<28} {:<30} {}\n", "NAME",
                              "STATE", "USER", "GPUS", "UP", "IMAGE", "PROJECT", "COMMAND");
  for (const auto& c : *list) {
    const bool orphan = is_orphan(c, me);
    ctx.ui.out() << fmt::format("{:<24} {:<10} {:<8} {:<8} {:<10} {:<28} {:<30} {}\n",
                                c.name, orphan ? "orphaned" : c.state,
                                shorten(label(c, k_label_user), 8),
                                label(c, k_label_gpus).empty() ? "-" : label(c, k_label_gpus),
                                uptime(c.created), shorten(c.image, 28),
                                shorten(label(c, k_label_project), 30), shorten(c.command, 40));
  }
  for (const auto& c : *list) {
    if (const std::string url = lab_url_of(c); !url.empty()) {
      ctx.ui.out() << fmt::format("lab {}: {} (its token: 'furnace lab --url', for {} only)\n",
                                  c.name,
                                  url,
                                  label(c, k_label_user));
    }
  }
  if (std::any_of(list->begin(), list->end(), [&](const auto& c) { return is_orphan(c, me); })) {
    ctx.ui.info("orphaned: its furnace process was killed; 'furnace stop NAME' removes it");
  }
  return 0;
}

int run_logs(core::Context& ctx, const LogsOptions& options, engine::Engine& engine) {
  auto store = open_history_or_warn(ctx);
  auto target = find_target(store ? &*store : nullptr, engine, options.run);
  if (!target) {
    ctx.ui.error(target.error());
    return 1;
  }
  if (!target->record) {
    // Another user's run: its log file is theirs; the engine still has the output.
    util::ProcessOptions o;
    o.capture = false;
    o.env = ctx.env;
    std::vector<std::string> argv{image::docker_cli(ctx.env), "logs"};
    if (options.follow) {
      argv.emplace_back("--follow");
    }
    argv.push_back(target->name);
    auto r = ctx.runner.run(argv, o);
    return r ? r->status.code : 1;
  }
  const history::RunRecord& rec = *target->record;
  std::ifstream in(rec.log_path, std::ios::binary);
  if (!in) {
    ctx.ui.error(core::make_error(core::ErrorKind::not_found,
                                  fmt::format("the log of {} ({}) is gone", rec.name, rec.log_path)));
    return 1;
  }
  auto drain = [&] { return util::copy_available(in, ctx.ui.out()); };
  drain();
  if (!options.follow || !store) {
    return 0;
  }
  // Follow until the run has ended and the log has nothing more.
  auto last_check = std::chrono::steady_clock::now();
  bool running = still_running(*store, rec.id);
  while (true) {
    const bool got = drain();
    if (!running && !got) {
      return 0;
    }
    if (!got) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (std::chrono::steady_clock::now() - last_check > std::chrono::milliseconds(500)) {
      running = still_running(*store, rec.id);
      last_check = std::chrono::steady_clock::now();
      // Nobody will end the record when the run's furnace was killed and the container is gone.
      if (running) {
        auto c = engine.inspect_container(rec.name);
        if (!c && c.error().kind == core::ErrorKind::not_found) {
          std::this_thread::sleep_for(std::chrono::milliseconds(500)); // a normal end's last write
          if (still_running(*store, rec.id)) {
            (void)store->finish(rec.id, now_ms(), std::nullopt, "", history::k_lost);
            ctx.ui.warn(fmt::format("{} is gone without a record of its end (its furnace was killed)",
                                    rec.name));
          }
          drain();
          return 0;
        }
      }
    }
  }
}

int run_stop(core::Context& ctx, const StopOptions& options, engine::Engine& engine) {
  auto store = open_history_or_warn(ctx);
  int code = 0;
  for (const std::string& key : options.runs) {
    auto target = find_target(store ? &*store : nullptr, engine, key);
    if (!target) {
      ctx.ui.error(target.error());
      code = 1;
      continue;
    }
    auto c = engine.inspect_container(target->name);
    if (!c && c.error().kind != core::ErrorKind::not_found) {
      ctx.ui.error(c.error());
      code = 1;
      continue;
    }
    if (!c) {
      if (target->record && store && still_running(*store, target->record->id)) {
        (void)store->finish(target->record->id, now_ms(), std::nullopt, "", history::k_lost);
      }
      ctx.ui.info(fmt::format("{} is not running", target->name));
      continue;
    }
    auto stopped = engine.stop_container(target->name, options.grace_seconds);
    if (!stopped && stopped.error().kind != core::ErrorKind::not_found) {
      ctx.ui.error(stopped.error());
      code = 1;
      continue;
    }
    (void)engine.remove_container(target->name, true); // a leftover has nobody to remove it
    if (c->labels.count(k_label_lab) != 0) { // a lab's token file (the caller's, when theirs)
      std::error_code ec;
      fs::remove(lab_token_path(ctx.env, target->name), ec);
    }
    // The run's furnace (foreground or supervisor) records the end; a killed one cannot.
    if (target->record && store) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (still_running(*store, target->record->id) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (still_running(*store, target->record->id)) {
        (void)store->finish(target->record->id, now_ms(), std::nullopt, "SIGTERM", history::k_killed);
      }
    }
    ctx.ui.out() << target->name << '\n';
  }
  return code;
}

int run_shell_attach(core::Context& ctx, const ShellAttachOptions& options, engine::Engine& engine) {
  const std::string root = project::find_root(options.path);
  auto list = engine.list_containers({k_label_run, std::string(k_label_project) + "=" + root});
  if (!list) {
    ctx.ui.error(list.error());
    return 1;
  }
  const auto running = std::find_if(list->begin(), list->end(),
                                    [](const engine::ContainerSummary& c) { return c.state == "running"; });
  if (running == list->end()) {
    ctx.ui.error(core::make_error(core::ErrorKind::not_found,
                                  fmt::format("no running container of {}", root),
                                  "start one with 'furnace run -d', or drop --attach for a new one"));
    return 1;
  }
  std::vector<std::string> argv{image::docker_cli(ctx.env), "exec", "-i"};
  if (::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1) {
    argv.emplace_back("-t");
  }
  if (const auto user = rootless_engine(engine) ? std::nullopt : invoking_user(ctx.env)) {
    argv.insert(argv.end(), {"--user", fmt::format("{}:{}", user->uid, user->gid), "--env",
                             "HOME=" + user->home});
  }
  argv.push_back(running->name);
  argv.insert(argv.end(), shell_command().begin(), shell_command().end());
  SessionOptions so;
  so.output = Output::inherit;
  so.own_group = false;
  auto r = run_session(EngineCommand{argv, {}, {}}, ctx.env, so);
  if (!r) {
    ctx.ui.error(r.error());
    return 125;
  }
  return r->exit_code;
}

int run_rerun(core::Context& ctx, const RerunOptions& options, engine::Engine& engine,
              gpu::GpuProbe& probe, Launcher& launcher) {
  auto store = open_history_or_warn(ctx);
  if (!store) {
    return 1;
  }
  auto rec = store->find(options.run);
  if (!rec) {
    ctx.ui.error(rec.error());
    return 1;
  }
  RunOptions o;
  o.path = fs::path(rec->workdir).lexically_relative(rec->project).string().starts_with("..") ||
                   !fs::is_directory(rec->workdir)
               ? rec->project
               : rec->workdir;
  o.command = rec->command;
  o.dry_run = options.dry_run;
  o.detach = options.detach;
  if (rec->gpu_request == "none" || rec->gpu_indices.empty()) {
    o.gpus = rec->gpu_request == "none" ? "none" : "";
  } else {
    o.gpus = fmt::format("auto:{}", rec->gpu_indices.size()); // the same count, free ones
  }
  // The -v mounts and limits it had (none for runs recorded before furnace kept them). A host
  // directory that is gone is refused here: the engine would make an empty one in its place.
  for (const std::string& v : rec->volumes) {
    const std::string host = v.substr(0, v.find(':'));
    std::error_code ec;
    if (!fs::exists(host, ec)) {
      ctx.ui.error(core::make_error(
          core::ErrorKind::not_found,
          fmt::format("run {} mounted {} (-v {}), which no longer exists", rec->id, host, v),
          fmt::format("restore {} or start the run anew with 'furnace run -v NEW_PATH:{} ...'",
                      host,
                      v.substr(v.find(':') + 1))));
      return 125; // not started, as run_run says it
    }
  }
  o.volumes = rec->volumes;
  o.memory = rec->memory;
  o.cpus = rec->cpus;
  o.pids_limit = rec->pids_limit;
  auto image = engine.inspect_image(rec->image_id);
  if (image) {
    o.image = rec->image_id;
  } else {
    std::error_code ec;
    o.locked = fs::exists(fs::path(rec->project) / "furnace.lock", ec);
    o.expect_image = rec->image_id;
    ctx.ui.warn(fmt::format("the image of run {} ({}, {}) is gone: building the project again{}",
                            rec->id, rec->image_tag, rec->image_id,
                            o.locked ? " from its furnace.lock" : ""));
  }
  ctx.ui.info(fmt::format("rerunning {} (run {}): {}", rec->name, rec->id, util::shell_join(rec->command)));
  store.reset(); // an SQLite connection must not cross the fork of a detached run
  return run_run(ctx, o, engine, probe, launcher);
}

int run_show(core::Context& ctx, const history::ShowOptions& options) {
  return history::run_show(ctx, options, [&ctx](const history::RunRecord& r) {
    history::ShowExtra extra;
    const auto facts = image::read_cached_facts(ctx.env, r.image_id);
    extra.run_keys["image_facts"] = facts ? image::to_json(*facts) : nlohmann::json();
    if (facts) {
      extra.fields = image::facts_fields(*facts);
    }
    return extra;
  });
}

} // namespace furnace::run
