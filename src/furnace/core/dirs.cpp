#include "dirs.hpp"

namespace furnace::core {

namespace {

// $name when it is an absolute path, else $HOME/`fallback`.
std::string base_dir(const Env& env, const char* name, const char* fallback) {
  if (auto it = env.find(name); it != env.end() && !it->second.empty() && it->second.front() == '/') {
    return it->second;
  }
  auto home = env.find("HOME");
  const std::string h = home != env.end() && !home->second.empty() ? home->second : "/root";
  return h + "/" + fallback;
}

} // namespace

Dirs dirs_from_env(const Env& env) {
  Dirs d;
  d.data = base_dir(env, "XDG_DATA_HOME", ".local/share") + "/furnace";
  d.cache = base_dir(env, "XDG_CACHE_HOME", ".cache") + "/furnace";
  d.config_home = base_dir(env, "XDG_CONFIG_HOME", ".config");
  d.config = d.config_home + "/furnace";
  d.state = base_dir(env, "XDG_STATE_HOME", ".local/state") + "/furnace";
  return d;
}

} // namespace furnace::core
