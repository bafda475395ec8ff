// setup.py static extraction and setup.cfg.
#include <furnace/spec/parsers.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace furnace;
  const std::string text(reinterpret_cast<const char*>(data), size);
  spec::Spec s;
  spec::parse_setup_py(text, "setup.py", s);
  spec::parse_setup_cfg(text, "setup.cfg", s);
  spec::parse_python_hints(text, "setup.py", s);
  return 0;
}
