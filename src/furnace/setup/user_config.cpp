#include "user_config.hpp"

#include <furnace/core/dirs.hpp>
#include <furnace/setup/registry_check.hpp>
#include <furnace/util/atomic_file.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <filesystem>

namespace furnace::setup {
namespace {

using core::ErrorKind;

struct Preset {
  const char* name;
  const char* apt;
  const char* pip;
  const char* conda;
};

constexpr std::array k_presets = {
    Preset{"aliyun",
           "https://mirrors.aliyun.com",
           "https://mirrors.aliyun.com/pypi/simple",
           "https://mirrors.aliyun.com/anaconda"},
    Preset{"tuna",
           "https://mirrors.tuna.tsinghua.edu.cn",
           "https://pypi.tuna.tsinghua.edu.cn/simple",
           "https://mirrors.tuna.tsinghua.edu.cn/anaconda"},
    Preset{"ustc",
           "https://mirrors.ustc.edu.cn",
           "https://mirrors.ustc.edu.cn/pypi/simple",
           "https://mirrors.ustc.edu.cn/anaconda"},
    Preset{"huawei",
           "https://repo.huaweicloud.com",
           "https://repo.huaweicloud.com/repository/pypi/simple",
           "https://repo.huaweicloud.com/anaconda"},
    Preset{"tencent",
           "https://mirrors.cloud.tencent.com",
           "https://mirrors.cloud.tencent.com/pypi/simple",
           "https://mirrors.cloud.tencent.com/anaconda"},
};

int report(core::Ui& ui, const core::Error& e) {
  ui.error(e);
  return e.exit_code;
}

} // namespace

const std::vector<std::string>& user_config_keys() {
  static const std::vector<std::string> keys{"mirror.apt", "mirror.conda", "mirror.pip"};
  return keys;
}

const std::vector<std::string>& mirror_presets() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& p : k_presets) {
      v.emplace_back(p.name);
    }
    return v;
  }();
  return names;
}

std::string user_config_path(const core::Env& env) {
  return core::dirs_from_env(env).config + "/config.yaml";
}

core::Result<UserConfig> load_user_config(const std::string& path) {
  UserConfig cfg;
  auto text = util::read_file(path);
  if (!text) {
    if (text.error().error_number == ENOENT) {
      return cfg;
    }
    return core::fail(ErrorKind::io, text.error().message);
  }
  try {
    const YAML::Node root = YAML::Load(*text);
    if (!root || root.IsNull()) {
      return cfg;
    }
    if (!root.IsMap()) {
      return core::fail(ErrorKind::invalid,
                        fmt::format("{}: the top level is not a mapping", path));
    }
    for (const auto& section : root) {
      const auto name = section.first.as<std::string>();
      if (!section.second.IsMap()) {
        cfg[name] = section.second.as<std::string>();
        continue;
      }
      for (const auto& kv : section.second) {
        cfg[name + "." + kv.first.as<std::string>()] = kv.second.as<std::string>();
      }
    }
  } catch (const YAML::Exception& e) {
    return core::fail(
        ErrorKind::invalid,
        fmt::format("{}:{}:{}: invalid YAML: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg),
        "fix or remove the file");
  }
  return cfg;
}

core::Result<void> save_user_config(const std::string& path, const UserConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  std::string open_section;
  bool in_section = false;
  for (const auto& [key, value] : config) {
    const auto dot = key.find('.');
    const std::string section = dot == std::string::npos ? "" : key.substr(0, dot);
    if (in_section && section != open_section) {
      out << YAML::EndMap;
      in_section = false;
    }
    if (section.empty()) {
      out << YAML::Key << key << YAML::Value << value;
      continue;
    }
    if (!in_section) {
      out << YAML::Key << section << YAML::Value << YAML::BeginMap;
      open_section = section;
      in_section = true;
    }
    out << YAML::Key << key.substr(dot + 1) << YAML::Value << value;
  }
  if (in_section) {
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string text = "# furnace user settings (furnace config set KEY VALUE)\n";
  text += config.empty() ? "{}" : out.c_str();
  text += "\n";
  util::AtomicWriteOptions opts;
  opts.mode = 0644;
  if (auto ok = util::write_file_atomic(path, text, opts); !ok) {
    return core::fail(ErrorKind::io, ok.error().message);
  }
  return {};
}

core::Result<std::string> check_user_config_value(const std::string& key,
                                                  const std::string& value) {
  const auto& keys = user_config_keys();
  if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
    return core::fail(ErrorKind::usage,
                      fmt::format("unknown setting '{}'", key),
                      "settings: mirror.apt, mirror.pip, mirror.conda");
  }
  if (value == "default") {
    return value;
  }
  const auto& names = mirror_presets();
  if (std::find(names.begin(), names.end(), value) != names.end()) {
    return value;
  }
  if (value.starts_with("http://") || value.starts_with("https://")) {
    if (mask_credentials(value) != value) {
      return core::fail(ErrorKind::usage,
                        fmt::format("'{}' has a password in it", mask_credentials(value)),
                        "config.yaml is not a place for secrets; use a mirror that needs none");
    }
    std::string v = value;
    while (v.size() > 8 && v.back() == '/') {
      v.pop_back();
    }
    return v;
  }
  return core::fail(ErrorKind::usage,
                    fmt::format("'{}' is neither a mirror preset nor a URL", value),
                    "use aliyun, tuna, ustc, huawei, tencent, an https:// URL, or default");
}

std::optional<std::string> mirror_url(const std::string& key, const std::string& value) {
  if (value.starts_with("http://") || value.starts_with("https://")) {
    return value;
  }
  for (const auto& p : k_presets) {
    if (value == p.name) {
      if (key == "mirror.apt") {
        return std::string(p.apt);
      }
      if (key == "mirror.pip") {
        return std::string(p.pip);
      }
      if (key == "mirror.conda") {
        return std::string(p.conda);
      }
    }
  }
  return std::nullopt;
}

int run_config(core::Context& ctx, const ConfigOptions& o) {
  const std::string path = user_config_path(ctx.env);
  auto cfg = load_user_config(path);
  if (!cfg) {
    return report(ctx.ui, cfg.error());
  }
  if (o.action == "list" && o.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& key : user_config_keys()) {
      auto it = cfg->find(key);
      const std::string value = it == cfg->end() ? "default" : it->second;
      const auto url = mirror_url(key, value);
      list.push_back({{"key", key},
                      {"value", value},
                      {"url", url ? nlohmann::json(*url) : nlohmann::json(nullptr)}});
    }
    ctx.ui.out() << nlohmann::json{{"schema_version", 1}, {"settings", list}}.dump(2) << '\n';
    return 0;
  }
  if (o.action == "list") {
    for (const auto& key : user_config_keys()) {
      auto it = cfg->find(key);
      const std::string value = it == cfg->end() ? "default" : it->second;
      const auto url = mirror_url(key, value);
      ctx.ui.out() << fmt::format(
          "{} = {}{}\n", key, value, url && *url != value ? fmt::format(" ({})", *url) : "");
    }
    return 0;
  }
  if (o.action == "get") {
    auto checked = check_user_config_value(o.key, "default");
    if (!checked) {
      return report(ctx.ui, checked.error());
    }
    auto it = cfg->find(o.key);
    ctx.ui.out() << (it == cfg->end() ? std::string("default") : it->second) << '\n';
    return 0;
  }
  auto checked = check_user_config_value(o.key, o.value);
  if (!checked) {
    return report(ctx.ui, checked.error());
  }
  if (*checked == "default") {
    cfg->erase(o.key);
  } else {
    (*cfg)[o.key] = *checked;
  }
  if (auto ok = save_user_config(path, *cfg); !ok) {
    return report(ctx.ui, ok.error());
  }
  ctx.ui.info(fmt::format("{} = {} (in {})", o.key, *checked, path));
  return 0;
}

} // namespace furnace::setup
