// The TOML reader, pyproject.toml and Pipfile.
#include <furnace/deps/parsers.hpp>
#include <furnace/deps/toml.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace furnace;
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)deps::parse_toml(text);
  deps::Spec s;
  deps::parse_pyproject(text, "pyproject.toml", s);
  deps::parse_pipfile(text, "Pipfile", s);
  return 0;
}
