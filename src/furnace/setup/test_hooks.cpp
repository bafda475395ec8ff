#include "test_hooks.hpp"

#ifndef FURNACE_TEST_HOOKS
#define FURNACE_TEST_HOOKS 0
#endif

namespace furnace::setup {

TestHooks test_hooks([[maybe_unused]] const core::Context& ctx) {
  TestHooks h;
#if FURNACE_TEST_HOOKS
  h.crash_at = ctx.getenv("FURNACE_TEST_CRASH_AT").value_or("");
  h.inject_key = ctx.getenv("FURNACE_TEST_INJECT_KEY").value_or("");
#endif
  return h;
}

bool test_hooks_compiled_in() {
  return FURNACE_TEST_HOOKS != 0;
}

} // namespace furnace::setup
