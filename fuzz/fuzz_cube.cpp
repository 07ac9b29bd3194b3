// .cube LUT files (Adobe 1.0 and Resolve's shaper form). Oracle: a parsed LUT's tables have
// the sizes its header declared.

#include "effects/tone/lut.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto lut =
            artistry::effects::parse_cube({reinterpret_cast<const char*>(data), size}, "fuzz.cube");
        const auto n3 = static_cast<std::size_t>(lut.size_3d);
        if (lut.table_3d.size() != n3 * n3 * n3 * 4) __builtin_trap();  // padded rows
        if (lut.table_1d.size() != static_cast<std::size_t>(lut.size_1d) * 3) __builtin_trap();
    } catch (const artistry::Error&) {
    }
    return 0;
}
