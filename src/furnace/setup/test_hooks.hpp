#pragma once
// Fault injection for the tests of furnace setup, read from the environment: FURNACE_TEST_CRASH_AT
// (SIGKILL at a stage of the atomic write: after-temp-write, after-rename) and
// FURNACE_TEST_INJECT_KEY (an extra key written after validation, so that dockerd refuses the
// file). Compiled in only when the build sets FURNACE_TEST_HOOKS=1 (the dev preset and the CI
// build, both Debug); a release build does not contain the names and ignores the variables.

#include <furnace/core/context.hpp>

#include <string>

namespace furnace::setup {

struct TestHooks {
  std::string crash_at;   // "" or a stage name
  std::string inject_key; // "" or a daemon.json key
};

// The hooks `ctx.env` asks for; always empty in a build without FURNACE_TEST_HOOKS.
TestHooks test_hooks(const core::Context& ctx);

// Whether this binary was built with the hooks.
bool test_hooks_compiled_in();

} // namespace furnace::setup
