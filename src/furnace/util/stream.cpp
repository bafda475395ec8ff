#include "stream.hpp"

#include <array>

namespace furnace::util {

bool copy_available(std::istream& in, std::ostream& out) {
  std::array<char, 65536> buf{};
  bool any = false;
  while (in.read(buf.data(), buf.size()) || in.gcount() > 0) {
    out.write(buf.data(), in.gcount());
    any = true;
  }
  in.clear();
  out.flush();
  return any;
}

} // namespace furnace::util
