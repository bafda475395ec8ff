#pragma once
// Dirs: where furnace keeps its files for this user, by one rule (the XDG base directories):
// $XDG_DATA_HOME, $XDG_CACHE_HOME, $XDG_CONFIG_HOME, $XDG_STATE_HOME when set to an absolute path
// (the specification says a relative one is ignored), else under $HOME (/root without one). Every
// area asks this one function, so run logs, build logs, the history and the user config can never
// disagree about a relative variable again.

#include <furnace/core/context.hpp>

#include <string>

namespace furnace::core {

struct Dirs {
  std::string data;   // <XDG_DATA_HOME or ~/.local/share>/furnace: history.db, logs/
  std::string cache;  // <XDG_CACHE_HOME or ~/.cache>/furnace: build contexts, the no-op cache
  std::string config; // <XDG_CONFIG_HOME or ~/.config>/furnace: config.yaml
  std::string state;  // <XDG_STATE_HOME or ~/.local/state>/furnace
  std::string config_home; // XDG_CONFIG_HOME itself (a rootless engine's docker/ is there)
};

Dirs dirs_from_env(const Env& env);

} // namespace furnace::core
