// The effect registry: lookup, parameter resolution, and the one entry point that runs an
// effect on any image.

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "artistry/models.hpp"
#include "artistry/opencv.hpp"
#include "effects/schema.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

const ParamSpec* EffectInfo::find_param(const std::string& param) const noexcept {
    for (const auto& p : params)
        if (p.name == param) return &p;
    return nullptr;
}

EffectPlan EffectInfo::plan(const Params& p, int width, int height,
                            const EffectContext& ctx) const {
    if (!describe) return {};
    EffectPlan plan = describe(p, width, height, ctx);
    if (plan.scale.num < 1 || plan.scale.den < 1 || (!changes_size && !plan.scale.identity()))
        throw Error(Status::internal,
                    fmt::format("effect '{}': describe gave scale {}/{}{}", name, plan.scale.num,
                                plan.scale.den,
                                changes_size ? "" : " but the effect does not change the size"));
    return plan;
}

void EffectRegistry::add(EffectInfo info) {
    if (info.name.empty() || !info.render)
        throw Error(Status::invalid_argument, "an effect needs a name and an implementation");
    if (effects_.count(info.name))
        throw Error(Status::invalid_argument,
                    fmt::format("effect '{}' is already registered", info.name));
    for (const auto& p : info.params) {
        // A default that fails its own schema is a programming error: catch it at startup.
        resolve_value(info.name, p, p.default_value);
    }
    auto name = info.name;
    effects_.emplace(std::move(name), std::move(info));
}

const EffectInfo* EffectRegistry::find(const std::string& name) const noexcept {
    const auto it = effects_.find(name);
    return it == effects_.end() ? nullptr : &it->second;
}

const EffectInfo& EffectRegistry::get(const std::string& name) const {
    if (const auto* e = find(name)) return *e;
    throw Error(Status::not_found,
                fmt::format("unknown effect '{}' (known: {})", name, fmt::join(names(), ", ")));
}

std::vector<std::string> EffectRegistry::names() const {
    std::vector<std::string> out;
    out.reserve(effects_.size());
    for (const auto& [name, info] : effects_) out.push_back(name);
    return out;
}

Params EffectRegistry::resolve(const std::string& effect, const ParamMap& given) const {
    const EffectInfo& info = get(effect);
    for (const auto& [name, value] : given) {
        if (info.find_param(name) == nullptr) {
            std::vector<std::string> known;
            for (const auto& p : info.params) known.push_back(p.name);
            throw Error(Status::invalid_argument,
                        fmt::format("effect '{}': unknown parameter '{}' (known: {})", effect, name,
                                    known.empty() ? std::string("none")
                                                  : fmt::format("{}", fmt::join(known, ", "))));
        }
    }
    ParamMap values;
    for (const auto& spec : info.params) {
        const auto it = given.find(spec.name);
        values[spec.name] =
            resolve_value(effect, spec, it == given.end() ? spec.default_value : it->second);
    }
    if (!info.decode) return Params(std::move(values));
    Params plain(values);
    std::any settings = info.decode(plain);
    return Params(std::move(values), std::move(settings));
}

namespace {

// Effects see u8 RGB or RGBA; everything else is converted once, here.
Image normalise_input(const Image& input) {
    if (input.empty()) throw Error(Status::invalid_argument, "input image is empty");
    cv::Mat m = as_mat(input);
    cv::Mat u8;
    if (input.type() == PixelType::f32)
        m.convertTo(u8, CV_8U, 255.0);
    else
        u8 = m;
    if (input.channels() == 1) {
        cv::Mat rgb;
        cv::cvtColor(u8, rgb, cv::COLOR_GRAY2RGB);
        return from_mat(rgb);
    }
    if (input.type() == PixelType::f32) return from_mat(u8);
    return input;
}

}  // namespace

Image apply_effect(const EffectRegistry& registry, const std::string& name, const Image& input,
                   const ParamMap& params, const EffectContext& context) {
    return apply_effect(registry.get(name), input, registry.resolve(name, params), context);
}

Image apply_effect(const EffectInfo& info, const Image& input, const Params& params,
                   const EffectContext& context) {
    const Image in = normalise_input(input);
    EffectContext ctx = context;
    if (ctx.full_width == 0) ctx.full_width = in.width();
    if (ctx.full_height == 0) ctx.full_height = in.height();
    ctx.throw_if_cancelled();
    if (info.begin_analysis && !ctx.analysis) {
        // The statistics pass the tiled and streamed paths make, over the whole image at once;
        // it takes the first half of the progress, render the second.
        if (auto analyzer = info.begin_analysis(params, in.width(), in.height(), ctx)) {
            if (ctx.full_width != in.width() || ctx.full_height != in.height())
                throw Error(Status::invalid_argument,
                            fmt::format("effect '{}': a region of a larger image renders from "
                                        "the whole image's analysis (EffectContext::analysis)",
                                        info.name));
            analyzer->add_rows(in, 0);
            ctx.throw_if_cancelled();
            ctx.analysis = analyzer->finish();
            if (!ctx.analysis)
                throw Error(Status::internal,
                            fmt::format("effect '{}': its analysis gave no state", info.name));
            if (const auto progress = context.progress)
                ctx.progress = [progress](std::int64_t done, std::int64_t total) {
                    progress(total + done, 2 * total);
                };
        }
    }
    Image out = info.render(in, params, ctx);
    if (out.empty())
        throw Error(Status::internal, fmt::format("effect '{}' returned no image", info.name));
    return out;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
