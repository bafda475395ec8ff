#include "commands.hpp"

#include <furnace/setup/user_config.hpp>

#include <memory>

namespace furnace::cli {

void register_config(CLI::App& app, core::Context& ctx, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "config",
      "Read and change your furnace defaults (~/.config/furnace/config.yaml): apt, "
      "pip and conda mirrors used by furnace build");
  cmd->require_subcommand(1);
  auto get = std::make_shared<setup::ConfigOptions>();
  get->action = "get";
  CLI::App* g = cmd->add_subcommand("get", "Print one setting");
  g->add_option("key", get->key, "mirror.apt, mirror.pip or mirror.conda")->required();
  g->callback([&ctx, &exit_code, get] { exit_code = setup::run_config(ctx, *get); });

  auto set = std::make_shared<setup::ConfigOptions>();
  set->action = "set";
  CLI::App* s = cmd->add_subcommand("set", "Change one setting (VALUE 'default' removes it)");
  s->add_option("key", set->key, "mirror.apt, mirror.pip or mirror.conda")->required();
  s->add_option("value", set->value, "aliyun, tuna, ustc, huawei, tencent, a URL, or default")
      ->required();
  s->callback([&ctx, &exit_code, set] { exit_code = setup::run_config(ctx, *set); });

  auto list = std::make_shared<setup::ConfigOptions>();
  list->action = "list";
  CLI::App* l = cmd->add_subcommand("list", "Print every setting and the URL it stands for");
  l->add_flag("--json", list->json, "Print JSON: {\"schema_version\": 1, \"settings\": [{key, value, url}]}");
  l->callback([&ctx, &exit_code, list] { exit_code = setup::run_config(ctx, *list); });
}

} // namespace furnace::cli
