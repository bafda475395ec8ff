// setup.py static extraction and setup.cfg.
#include <furnace/deps/parsers.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace furnace;
  const std::string text(reinterpret_cast<const char*>(data), size);
  deps::Spec s;
  deps::parse_setup_py(text, "setup.py", s);
  deps::parse_setup_cfg(text, "setup.cfg", s);
  deps::parse_python_hints(text, "setup.py", s);
  return 0;
}
