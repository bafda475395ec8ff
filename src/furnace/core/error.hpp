#pragma once
// Error: what went wrong (kind, message), how to fix it (hint), and the exit code it maps to.

#include <furnace/util/expected.hpp>

#include <string>

namespace furnace::core {

enum class ErrorKind {
  usage,       // bad command line: exit 2
  invalid,     // bad input file or value
  not_found,   // a file, image or object that is not there
  unavailable, // the engine, a registry or a driver cannot be reached
  permission,  // the OS refused (EACCES, EPERM)
  io,          // reading or writing failed
  timeout,     // a bounded call ran out of time
  remote,      // the engine or a registry answered with an error
  internal,    // everything else
};

struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message; // lowercase, no final period, names the thing
  std::string hint;    // the fix; may be empty
  int exit_code = 1;

  // Adds context in front of the message: "reading x: <message>".
  Error& context(const std::string& what);
};

Error make_error(ErrorKind kind, std::string message, std::string hint = {});

template <class T> using Result = util::Expected<T, Error>;

inline util::Unexpected<Error> fail(ErrorKind kind, std::string message, std::string hint = {}) {
  return util::Unexpected<Error>(make_error(kind, std::move(message), std::move(hint)));
}
inline util::Unexpected<Error> fail(Error error) {
  return util::Unexpected<Error>(std::move(error));
}

// Aborts with the location: for bugs, never for what the world can cause.
[[noreturn]] void assert_failed(const char* expr, const char* file, int line);

} // namespace furnace::core

#define FURNACE_ASSERT(expr)                                                                       \
  ((expr) ? static_cast<void>(0) : ::furnace::core::assert_failed(#expr, __FILE__, __LINE__))
