#include "error.hpp"

#include <cstdio>
#include <cstdlib>

namespace furnace::core {

Error& Error::context(const std::string& what) {
  message = what + ": " + message;
  return *this;
}

Error make_error(ErrorKind kind, std::string message, std::string hint) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  e.hint = std::move(hint);
  e.exit_code = kind == ErrorKind::usage ? 2 : 1;
  return e;
}

void assert_failed(const char* expr, const char* file, int line) {
  std::fprintf(
      stderr, "furnace: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
  std::abort();
}

} // namespace furnace::core
