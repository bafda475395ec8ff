// requirements.txt (with -r includes resolving to the same text), README install lines and
// Python imports.
#include <furnace/deps/parsers.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace furnace;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const deps::FileReader reader = [&text](const std::string& path) -> core::Result<std::string> {
    if (path.size() % 3 == 0) {
      return core::fail(core::ErrorKind::not_found, "missing");
    }
    return text;  // every include is this file again: cycles must be caught
  };
  deps::Spec s;
  deps::parse_requirements_txt(text, "requirements.txt", reader, s);
  deps::parse_readme(text, "README.md", s);
  deps::parse_python_source(text, "train.py", s);
  deps::parse_python_version_file(text, "runtime.txt", s);
  return 0;
}
