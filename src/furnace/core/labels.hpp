#pragma once
// Container labels more than one area reads: `furnace run` writes them, `furnace setup` lists
// whose containers an engine restart would stop. One definition, so the writer and the readers
// cannot drift apart.

namespace furnace::core {

// The user who started a run (login name).
inline constexpr const char* k_label_user = "org.furnace.user";

} // namespace furnace::core
