#include "support.hpp"

#include <furnace/image/build_log.hpp>
#include <furnace/gpu/gpu_lock.hpp>
#include <furnace/util/clock.hpp>

#include <fmt/format.h>

#include <unistd.h>

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

bool is_orphan(const engine::ContainerSummary& c, const std::string& this_host) {
  const auto host = c.labels.find(k_label_host);
  const auto pid = c.labels.find(k_label_pid);
  if (host == c.labels.end() || host->second != this_host || pid == c.labels.end()) {
    return false;
  }
  try {
    return !gpu::pid_alive(std::stoi(pid->second));
  } catch (const std::exception&) {
    return false;
  }
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

} // namespace furnace::run
