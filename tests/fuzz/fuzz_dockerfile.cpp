// Dockerfile FROM/ARG/RUN.
#include <furnace/spec/parsers.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace furnace;
  const std::string text(reinterpret_cast<const char*>(data), size);
  spec::Spec s;
  spec::parse_dockerfile(text, "Dockerfile", s);
  return 0;
}
