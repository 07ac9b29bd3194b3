#pragma once
// SHA-256 (FIPS 180-4), for checking model files against their manifest; no OpenSSL needed.

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace artistry::models {

class Sha256 {
  public:
    Sha256() noexcept;
    void update(std::span<const std::uint8_t> bytes) noexcept;
    std::array<std::uint8_t, 32> finish() noexcept;  // once; the object is spent afterwards

  private:
    void block(const std::uint8_t* p) noexcept;
    std::array<std::uint32_t, 8> h_;
    std::array<std::uint8_t, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t total_ = 0;
};

std::string to_hex(std::span<const std::uint8_t> bytes);
std::string sha256_hex(std::span<const std::uint8_t> bytes);

}  // namespace artistry::models
