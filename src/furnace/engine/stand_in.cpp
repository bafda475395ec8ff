#include <furnace/engine/stand_in.hpp>

#include <fmt/format.h>

namespace furnace::engine {

bool is_stand_in(const std::map<std::string, std::string>& labels) {
  const auto it = labels.find(k_stand_in_label);
  return it != labels.end() && it->second != "false";
}

std::string stand_in_warning(const std::string& ref,
                             const std::map<std::string, std::string>& labels) {
  const auto note = labels.find(k_stand_in_note_label);
  const std::string what =
      note != labels.end() && !note->second.empty() ? " (" + note->second + ")" : std::string();
  return fmt::format("{} is a STAND-IN made by furnace's test engine{}, not the official image: "
                     "no CUDA, not for real work. Remove it ('docker rmi {}') and pull the "
                     "official image, or stop the test engine ('sudo scripts/test-engine.sh down')",
                     ref,
                     what,
                     ref);
}

} // namespace furnace::engine
