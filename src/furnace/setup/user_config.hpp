#pragma once
// User-level defaults in ~/.config/furnace/config.yaml ($XDG_CONFIG_HOME honoured): apt, pip and
// conda mirror presets (aliyun, tuna, ustc, huawei, tencent) or URLs, used by `furnace build`.
// `furnace config get|set|list`; the file is written atomically.

#include <furnace/core/context.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace furnace::setup {

// Flat "section.key" -> value.
using UserConfig = std::map<std::string, std::string>;

// The keys furnace reads: "mirror.apt", "mirror.pip", "mirror.conda".
const std::vector<std::string>& user_config_keys();

// The names of the mirror presets.
const std::vector<std::string>& mirror_presets();

// ~/.config/furnace/config.yaml, or $XDG_CONFIG_HOME/furnace/config.yaml.
std::string user_config_path(const core::Env& env);

// A missing file is an empty config. Errors: YAML that does not parse (file:line:col).
core::Result<UserConfig> load_user_config(const std::string& path);
core::Result<void> save_user_config(const std::string& path, const UserConfig& config);

// Checks `value` for `key`: a preset name or an http(s) URL without credentials; "default"
// means unset. Errors (usage): unknown key, unknown preset, a bad URL.
core::Result<std::string> check_user_config_value(const std::string& key, const std::string& value);

// The URL a mirror value stands for ("tuna" for mirror.pip ->
// "https://pypi.tuna.tsinghua.edu.cn/simple"); a URL stays as it is.
std::optional<std::string> mirror_url(const std::string& key, const std::string& value);

struct ConfigOptions {
  std::string action; // "get", "set", "list"
  std::string key;
  std::string value;
  bool json = false; // list: {"schema_version": 1, "settings": [{key, value, url}]}
};

int run_config(core::Context& ctx, const ConfigOptions& options);

} // namespace furnace::setup
