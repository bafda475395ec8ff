// furnace __describe / furnace __complete: the command line as data, for the generated shell
// completions and man pages (scripts/gen-docs.py), so that they come from the same definitions
// as --help. Both are hidden from --help.

#include "commands.hpp"

#include <furnace/gpu/probe_factory.hpp>
#include <furnace/history/store.hpp>
#include <furnace/setup/user_config.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <set>

namespace furnace::cli {

namespace {

using nlohmann::json;

// What a shell should offer for an option's or argument's value.
std::string completion_kind(const std::string& /*command*/, const std::string& name) {
  if (name == "--gpus") {
    return "gpus";
  }
  if (name == "-C" || name == "--directory" || name == "--project" || name == "--dir") {
    return "dirs";
  }
  if (name == "path") {
    return "dirs";
  }
  if (name == "run" || name == "runs") {
    return "runs";
  }
  if (name == "key") {
    return "config-keys";
  }
  if (name == "value") {
    return "presets";
  }
  if (name == "--mirror-preset") {
    return "presets";
  }
  return "";
}

// "TEXT:{host,private}" -> {"host", "private"}.
std::vector<std::string> choices_of(const std::string& type_name) {
  std::vector<std::string> out;
  const auto open = type_name.find('{');
  const auto close = type_name.find('}', open);
  if (open == std::string::npos || close == std::string::npos) {
    return out;
  }
  std::string cur;
  for (std::size_t i = open + 1; i < close; ++i) {
    if (type_name[i] == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += type_name[i];
    }
  }
  if (!cur.empty()) {
    out.push_back(cur);
  }
  return out;
}

json describe_option(const std::string& command, const CLI::Option& o) {
  json names = json::array();
  for (const auto& s : o.get_snames()) {
    names.push_back("-" + s);
  }
  for (const auto& l : o.get_lnames()) {
    names.push_back("--" + l);
  }
  const bool takes_value = o.get_type_size_max() > 0;
  std::string value = o.get_option_text();
  if (value.empty() && takes_value) {
    value = o.get_type_name();
    const auto colon = value.find(':');
    value = colon == std::string::npos ? value : value.substr(0, colon);
  }
  const std::string main_name = names.empty() ? o.get_name() : names.back().get<std::string>();
  json j{{"names", names},
         {"value", takes_value ? value : std::string()},
         {"description", o.get_description()},
         {"complete", completion_kind(command, main_name)},
         {"choices", choices_of(o.get_type_name())},
         {"repeatable", o.get_expected_max() > 1 || o.get_items_expected_max() > 1}};
  return j;
}

json describe_app(const CLI::App& app, const std::string& path) {
  json options = json::array();
  json positionals = json::array();
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_group().empty()) {
      continue; // hidden
    }
    if (o->get_positional()) {
      positionals.push_back({{"name", o->get_name()},
                             {"description", o->get_description()},
                             {"required", o->get_required()},
                             {"complete", completion_kind(path, o->get_name())},
                             {"choices", choices_of(o->get_type_name())}});
    } else {
      options.push_back(describe_option(path, *o));
    }
  }
  json commands = json::array();
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_group().empty()) {
      continue; // hidden: __describe, __complete
    }
    commands.push_back(
        describe_app(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name()));
  }
  return {{"name", app.get_name()},
          {"path", path},
          {"description", app.get_description()},
          {"options", options},
          {"positionals", positionals},
          {"commands", commands},
          {"takes_command", app.get_prefix_command()}};
}

// Words for `furnace __complete KIND`: one per line, cheap (no engine call).
std::vector<std::string> complete(core::Context& ctx, const std::string& kind) {
  std::vector<std::string> out;
  if (kind == "runs") {
    // The newest runs' names and ids, from the history (a file read; no engine).
    auto store =
        history::Store::open(history::default_path(ctx.env), std::chrono::milliseconds(200));
    if (store) {
      history::Query q;
      q.limit = 50;
      if (auto runs = store->list(q)) {
        for (const auto& r : *runs) {
          out.push_back(r.name);
        }
        for (const auto& r : *runs) {
          out.push_back(std::to_string(r.id));
        }
      }
    }
  } else if (kind == "gpus") {
    out = {"all", "none", "auto"};
    const std::unique_ptr<gpu::GpuProbe> probe = gpu::make_probe(ctx);
    if (auto info = probe->probe()) {
      for (std::size_t i = 0; i < info->gpus.size(); ++i) {
        out.push_back(std::to_string(i));
        out.push_back(fmt::format("auto:{}", i + 1));
      }
    }
  } else if (kind == "presets") {
    out = setup::mirror_presets();
    out.emplace_back("default");
  } else if (kind == "config-keys") {
    out = setup::user_config_keys();
  }
  return out;
}

} // namespace

void register_describe(CLI::App& app, core::Context& ctx, int& exit_code) {
  CLI::App* d = app.add_subcommand("__describe", "The command line as JSON (for generated docs)");
  d->group(""); // hidden
  d->callback([&ctx, &exit_code, &app] {
    json j = describe_app(app, "");
    j["schema_version"] = 1;
    ctx.ui.out() << j.dump(2) << '\n';
    exit_code = 0;
  });

  auto kind = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("__complete", "Values for shell completion, one per line");
  c->group(""); // hidden
  c->add_option("kind", *kind, "runs, gpus, presets or config-keys")->required();
  c->callback([&ctx, &exit_code, kind] {
    for (const auto& w : complete(ctx, *kind)) {
      ctx.ui.out() << w << '\n';
    }
    exit_code = 0;
  });
}

} // namespace furnace::cli
