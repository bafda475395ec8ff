#pragma once
// SHA-256 (FIPS 180-4), for content hashes and docker context directory names.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace furnace::util {

class Sha256 {
public:
  Sha256();
  void update(std::string_view data);
  // Finishes the hash and returns it as 64 lowercase hex digits; call once.
  std::string hex_digest();

private:
  void block(const unsigned char* p);
  std::array<std::uint32_t, 8> m_h{};
  std::array<unsigned char, 64> m_buf{};
  std::size_t m_buf_len = 0;
  std::uint64_t m_total = 0;
};

std::string sha256_hex(std::string_view data);

} // namespace furnace::util
