#pragma once
// Stand-in images: scripts/test-engine.sh builds images under official names (Debian's CPU
// torch as pytorch/pytorch:…) so that the tests and an offline demo run without Docker Hub. Each
// carries the label below, and every image built FROM one inherits it. A stand-in must never reach
// a user silently: build, run and doctor say so whenever they meet one.

#include <map>
#include <string>

namespace furnace::engine {

inline constexpr const char* k_stand_in_label = "org.furnace.stand-in";
inline constexpr const char* k_stand_in_note_label = "org.furnace.stand-in.note";

// The label is present and not "false".
bool is_stand_in(const std::map<std::string, std::string>& labels);

// One warning line for image `ref`: what it is, why it is not the real thing, how to get rid of it.
std::string stand_in_warning(const std::string& ref,
                             const std::map<std::string, std::string>& labels);

} // namespace furnace::engine
