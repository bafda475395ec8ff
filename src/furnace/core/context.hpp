#pragma once
// Context: the seams main() fills with real implementations and tests fill with fakes.
// Areas receive the parts they need as arguments; nothing below cli/ reads getenv.

#include <furnace/core/ui.hpp>
#include <furnace/util/process.hpp>

#include <map>
#include <optional>
#include <string>

namespace furnace::core {

using Env = std::map<std::string, std::string>;

struct Context {
  Ui& ui;
  util::ProcessRunner& runner;
  Env env;               // the process environment, as a map
  std::string host_root; // "/" in production; a temp dir in tests

  std::optional<std::string> getenv(const std::string& key) const {
    auto it = env.find(key);
    if (it == env.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  std::string home() const { return getenv("HOME").value_or("/root"); }
};

} // namespace furnace::core
