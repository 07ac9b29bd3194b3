// Uses only the installed public headers: make an image, run an effect, check the result.
#include <artistry/artistry.hpp>

#include <cstdio>

int main() {
    using namespace artistry;
    Image img = Image::allocate(64, 48, 3);
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width() * 3; ++x) img.row(y)[x] = static_cast<std::uint8_t>(x + y);
    const Image out = apply_effect("enhanced_bw", img);
    const bool gray = out.row(10)[30] == out.row(10)[31] && out.row(10)[31] == out.row(10)[32];
    std::printf("artistry %s: %d effects, enhanced_bw %dx%d gray=%d\n", version(),
                static_cast<int>(EffectRegistry::builtin().names().size()), out.width(),
                out.height(), gray);
    return gray && out.width() == 64 ? 0 : 1;
}
