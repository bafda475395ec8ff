#include "command.hpp"

#include <furnace/history/render.hpp>
#include <furnace/history/store.hpp>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>

namespace furnace::history {

namespace {

namespace fs = std::filesystem;

int report(core::Context& ctx, const core::Error& e) {
  ctx.ui.error(e);
  return e.exit_code;
}

std::int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

int run_history(core::Context& ctx, const HistoryOptions& options) {
  auto store = Store::open(default_path(ctx.env));
  if (!store) {
    return report(ctx, store.error());
  }
  Query q;
  q.project = options.project;
  q.limit = options.all ? 0 : options.limit;
  auto runs = store->list(q);
  if (!runs) {
    return report(ctx, runs.error());
  }
  if (options.json) {
    ctx.ui.out() << runs_json(*runs).dump(2) << '\n';
    return 0;
  }
  if (runs->empty()) {
    ctx.ui.info(q.project.empty() ? "no runs yet: 'furnace run' records each run here"
                                  : fmt::format("no runs of {} yet", q.project));
    return 0;
  }
  const std::int64_t now = options.now_ms != 0 ? options.now_ms : system_now_ms();
  ctx.ui.out() << render_table(*runs, now, ctx.home());
  return 0;
}

int run_show(core::Context& ctx,
             const ShowOptions& options,
             const std::function<ShowExtra(const RunRecord&)>& extra) {
  auto store = Store::open(default_path(ctx.env));
  if (!store) {
    return report(ctx, store.error());
  }
  auto run = store->find(options.run);
  if (!run) {
    return report(ctx, run.error());
  }
  const ShowExtra more = extra ? extra(*run) : ShowExtra{};
  if (options.json) {
    nlohmann::json j = run_json(*run);
    j["run"].update(more.run_keys);
    ctx.ui.out() << j.dump(2) << '\n';
    return 0;
  }
  std::string out = render_details(*run);
  for (const auto& [key, value] : more.fields) {
    out += fmt::format("{:<11}{}\n", key + ":", value);
  }
  ctx.ui.out() << out;
  return 0;
}

} // namespace furnace::history
