// environment.yml through yaml-cpp: no exception may escape.
#include <furnace/deps/parsers.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace furnace;
  if (size > 1 << 16) {
    return 0;  // yaml-cpp recursion on deep nesting is its own business; keep inputs small
  }
  const std::string text(reinterpret_cast<const char*>(data), size);
  const deps::FileReader reader = [](const std::string&) -> core::Result<std::string> {
    return std::string("torch==1.4.0\n-r requirements.txt\n");
  };
  deps::Spec s;
  deps::parse_environment_yml(text, "environment.yml", reader, s);
  return 0;
}
