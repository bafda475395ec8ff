#include "support.hpp"

#include <furnace/gpu/gpu_lock.hpp>
#include <furnace/image/build_log.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/clock.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>

namespace furnace::run {

std::int64_t now_ms() {
  return util::system_clock().now_ms();
}

std::string host_name() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0) {
    return "localhost";
  }
  return buf.data();
}

std::string run_log_path(const core::Env& env, const std::string& run_name) {
  return image::log_dir(env) + "/run-" + run_name + ".log";
}

std::optional<history::Store> open_history_or_warn(core::Context& ctx) {
  const std::string path = history::default_path(ctx.env);
  auto store = history::Store::open(path, std::chrono::milliseconds(2000));
  if (!store) {
    ctx.ui.warn(fmt::format("the run history is not available ({}); this run is not recorded",
                            store.error().message),
                store.error().hint.empty() ? fmt::format("move {} aside", path)
                                           : store.error().hint);
    return std::nullopt;
  }
  return std::move(*store);
}

history::Store* LazyHistory::get() {
  if (!m_tried) {
    m_tried = true;
    m_store = open_history_or_warn(m_ctx);
  }
  return m_store ? &*m_store : nullptr;
}

std::string process_start_time(int pid) {
  if (pid <= 0) {
    return {};
  }
  auto stat = util::read_file(fmt::format("/proc/{}/stat", pid));
  if (!stat) {
    return {};
  }
  // "PID (COMMAND) STATE PPID …": the command may hold spaces and parentheses; fields count from
  // the last ')'. Field 3 (STATE) is the first after it, field 22 (starttime) the 20th.
  const auto paren = stat->rfind(')');
  if (paren == std::string::npos) {
    return {};
  }
  const auto fields = util::split(std::string_view(*stat).substr(paren + 1), ' ');
  std::vector<std::string> words;
  for (const auto& f : fields) {
    if (!util::trim(f).empty()) {
      words.emplace_back(util::trim(f));
    }
  }
  constexpr std::size_t k_starttime = 22 - 3; // index of field 22 among the fields from STATE
  return words.size() > k_starttime ? words[k_starttime] : std::string();
}

bool is_orphan(const engine::ContainerSummary& c, const std::string& this_host) {
  const auto host = c.labels.find(k_label_host);
  const auto pid = c.labels.find(k_label_pid);
  if (host == c.labels.end() || host->second != this_host || pid == c.labels.end()) {
    return false;
  }
  int n = 0;
  try {
    n = std::stoi(pid->second);
  } catch (const std::exception&) {
    return false;
  }
  if (!gpu::pid_alive(n)) {
    return true;
  }
  const auto start = c.labels.find(k_label_pid_start);
  // Alive: the same process only when it started when the label says (older runs have no label).
  return start != c.labels.end() && !start->second.empty() &&
         process_start_time(n) != start->second;
}

bool is_spent(const engine::ContainerSummary& c) {
  return c.state == "created" || c.state == "exited" || c.state == "dead";
}

void remove_leftover(core::Context& ctx, engine::Engine& engine, history::Store* store,
                     const engine::ContainerSummary& c) {
  auto rm = engine.remove_container(c.name, true);
  if (!rm) {
    ctx.ui.warn(fmt::format("cannot remove {}: {}", c.name, rm.error().message));
    return;
  }
  ctx.ui.info(fmt::format("removed {} (left by a killed run)", c.name));
  if (store != nullptr) {
    if (auto run = store->find(c.name); run && run->name == c.name) {
      (void)store->finish(run->id, now_ms(), std::nullopt, "", history::k_lost);
    }
  }
}

bool oom_killed(engine::Engine& engine,
                const std::string& name,
                int exit_code,
                std::int64_t since_ms,
                std::int64_t until_ms) {
  constexpr int k_sigkill_exit = 128 + 9;
  if (exit_code != k_sigkill_exit) {
    return false;
  }
  // The container's state while it is still there (furnace removes it after this).
  if (auto c = engine.inspect_container(name); c) {
    return c->oom_killed;
  }
  // Gone already: the engine's "oom" event, with a second of slack each side (the engine's
  // clock and ours, and events in flight).
  auto events = engine.container_events(name, since_ms - 1000, until_ms + 1000);
  return events && std::any_of(events->begin(), events->end(), [](const engine::ContainerEvent& e) {
           return e.action == "oom";
         });
}

core::Error oom_error(const std::string& name, const std::string& memory_limit) {
  if (memory_limit.empty()) {
    return core::make_error(core::ErrorKind::remote,
                            fmt::format("{} was killed for using too much memory (OOMKilled, exit "
                                        "137): the host ran out",
                                        name),
                            "use less (a smaller batch, fewer DataLoader workers), or ask for a "
                            "memory limit that fits with --memory");
  }
  return core::make_error(core::ErrorKind::remote,
                          fmt::format("{} was killed for using more than its memory limit "
                                      "--memory {} (OOMKilled, exit 137)",
                                      name,
                                      memory_limit),
                          "give it more with --memory (or furnace.yaml's memory) if the host "
                          "allows, or use less: a smaller batch, fewer DataLoader workers; "
                          "/dev/shm counts against the limit too");
}

} // namespace furnace::run
