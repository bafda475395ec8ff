// furnace history / furnace show: the recorded runs, and one run in full.

#include "commands.hpp"

#include <furnace/cluster/command.hpp>
#include <furnace/history/command.hpp>
#include <furnace/project/load.hpp>
#include <furnace/run/command.hpp>

#include <memory>

namespace furnace::cli {

void register_history(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<history::HistoryOptions>();
  CLI::App* cmd = app.add_subcommand(
      "history", "List the recorded runs, newest first: when, how long, how they ended, GPUs");
  cmd->add_option("--project",
                  opts->project,
                  "Only the runs of the project containing PATH ('.' for this one)")
      ->option_text("PATH");
  cmd->add_option("-n,--limit", opts->limit, "Show the newest N runs (default 20; 0: all)")
      ->option_text("N");
  cmd->add_flag("--all", opts->all, "Show every run");
  cmd->add_flag("--json", opts->json, "Print JSON (docs/history.md) instead of the table");
  cmd->callback([&ctx, &exit_code, opts] {
    if (!opts->project.empty()) {
      opts->project = project::find_root(opts->project); // the root `furnace run` records
    }
    cluster::sync_jobs(ctx); // submitted jobs: their state from the scheduler
    exit_code = history::run_history(ctx, *opts);
  });
}

void register_show(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<history::ShowOptions>();
  CLI::App* cmd = app.add_subcommand(
      "show", "Show one recorded run in full: image, base, git commit, GPUs, command, log");
  cmd->add_option("run", opts->run, "The run's ID, container name, or a unique name prefix")
      ->required();
  cmd->add_flag("--json", opts->json, "Print JSON (docs/history.md) instead of the details");
  cmd->callback([&ctx, &exit_code, opts] {
    cluster::sync_jobs(ctx);
    exit_code = run::run_show(ctx, *opts);
  });
}

} // namespace furnace::cli
