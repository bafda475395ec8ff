// Dockerfile FROM/ARG/RUN.
#include <furnace/deps/parsers.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace furnace;
  const std::string text(reinterpret_cast<const char*>(data), size);
  deps::Spec s;
  deps::parse_dockerfile(text, "Dockerfile", s);
  return 0;
}
