// composite: one image over another through a mask, blended in linear light (as light mixes:
// no dark seams where a bright subject meets a dark background). The mask is the top image's
// alpha (a cut-out from remove_background or segment), or a third input's alpha, or its grey
// level. Colour splash, a styled subject on a styled background and replaced backgrounds are
// graphs of it: docs/effects.md shows them.

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "effects/builtin.hpp"
#include "util/color.hpp"
#include "util/parallel.hpp"

namespace artistry::effects {
namespace {

struct Settings {
    float opacity = 1;
    bool invert = false;
    bool linear = true;

    explicit Settings(const Params& p)
        : opacity(float(p.number("opacity"))),
          invert(p.flag("invert")),
          linear(p.text("blend") == "linear") {}
};

// Where the mask comes from: the top's alpha, or a mask image's alpha or first channel.
struct MaskSource {
    const Image* image = nullptr;
    int channel = 0;
};

MaskSource mask_source(const Image& top, const std::vector<Image>& more) {
    if (more.size() >= 2) {
        const Image& m = more[1];
        return {&m, m.channels() == 4 ? 3 : 0};
    }
    if (top.channels() != 4)
        throw Error(Status::invalid_argument,
                    fmt::format("composite: the top image ({} channels) has no alpha to blend by; "
                                "give a cut-out (RGBA) or a mask as the third input",
                                top.channels()));
    return {&top, 3};
}

void check_input(const Image& image, const Image& top, const char* role) {
    if (image.type() != PixelType::u8)
        throw Error(Status::invalid_argument,
                    fmt::format("composite: the {} image must be 8-bit", role));
    if (image.width() != top.width() || image.height() != top.height())
        throw Error(Status::invalid_argument,
                    fmt::format("composite: the {} image is {}x{}, the top image {}x{}; inputs "
                                "must be the same size",
                                role, image.width(), image.height(), top.width(), top.height()));
}

// An 8-bit channel value → linear light (or the code / 255 when blending in sRGB).
struct Transfer {
    std::array<float, 256> to_light{};
    bool linear = true;

    explicit Transfer(bool linear_) : linear(linear_) {
        const auto& table = util::srgb8_to_linear_table();
        for (int v = 0; v < 256; ++v)
            to_light[std::size_t(v)] = linear ? table[std::size_t(v)] : float(v) / 255.f;
    }
    std::uint8_t code(float light) const {
        return linear ? util::linear_to_srgb8(light) : util::clamp_u8(light * 255.f);
    }
};

Image render(const Image& top, const Params& p, const EffectContext& ctx) {
    static const std::vector<Image> none;
    const std::vector<Image>& more = ctx.more_inputs != nullptr ? *ctx.more_inputs : none;
    if (more.empty())
        throw Error(Status::invalid_argument,
                    "composite: no bottom image; a composite node reads 2 or 3 inputs "
                    "(top, bottom[, mask])");
    const Settings& s = p.settings<Settings>();
    const Image& bottom = more[0];
    check_input(bottom, top, "bottom");
    const MaskSource mask = mask_source(top, more);
    if (mask.image != &top) check_input(*mask.image, top, "mask");

    const int w = top.width(), h = top.height();
    const int tc = top.channels(), bc = bottom.channels(), mc = mask.image->channels();
    const int out_ch = bc == 4 ? 4 : 3;
    Image out = Image::allocate(w, h, out_ch);
    const Transfer transfer(s.linear);
    util::parallel_rows(h, [&](int y0, int y1) {
        for (int y = y0; y < y1; ++y) {
            const std::uint8_t* t = top.row(y);
            const std::uint8_t* b = bottom.row(y);
            const std::uint8_t* m = mask.image->row(y) + mask.channel;
            std::uint8_t* o = out.row(y);
            for (int x = 0; x < w; ++x, t += tc, b += bc, m += mc, o += out_ch) {
                float a = float(*m) / 255.f;
                if (s.invert) a = 1.f - a;
                a *= s.opacity;
                for (int c = 0; c < 3; ++c) {
                    const float ft = transfer.to_light[t[tc >= 3 ? c : 0]];
                    const float fb = transfer.to_light[b[bc >= 3 ? c : 0]];
                    o[c] = transfer.code(fb + a * (ft - fb));
                }
                if (out_ch == 4) o[3] = util::clamp_u8(a * 255.f + (1.f - a) * float(b[3]));
            }
        }
        ctx.report(y1, h);  // once per chunk of rows (chunks finish in any order)
    });
    ctx.throw_if_cancelled();
    return out;
}

}  // namespace

void register_composite(EffectRegistry& registry) {
    EffectInfo e;
    e.name = "composite";
    e.version = 1;
    e.summary =
        "Blend the first input over the second through a mask, in linear light: the first's "
        "alpha (a cut-out), or a third input's alpha or grey level. Colour splash, a styled "
        "subject on a styled background, a replaced background";
    e.params = {
        param::number("opacity", 1.0, 0, 1, "how much of the top shows where the mask is full"),
        param::flag("invert", false, "use the mask inverted (the top shows where it is empty)"),
        param::choice("blend", "linear", {"linear", "srgb"},
                      "linear: mix light (no dark seams at soft edges); srgb: mix the 8-bit codes"),
    };
    e.min_inputs = 2;
    e.max_inputs = 3;
    e.standalone = false;
    e.decode = decoder([](const Params& p) { return Settings(p); });
    e.render = render;
    registry.add(std::move(e));
}

}  // namespace artistry::effects
