// The TOML reader, pyproject.toml and Pipfile.
#include <furnace/spec/parsers.hpp>
#include <furnace/spec/toml.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace furnace;
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)spec::parse_toml(text);
  spec::Spec s;
  spec::parse_pyproject(text, "pyproject.toml", s);
  spec::parse_pipfile(text, "Pipfile", s);
  return 0;
}
