#pragma once
// Effects: named, versioned operations with a typed parameter schema, read by the CLI, the
// C ABI and Python from one registry.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "artistry/image.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

class ModelStore;  // artistry/models.hpp

using ParamValue = std::variant<bool, std::int64_t, double, std::string>;
using ParamMap = std::map<std::string, ParamValue>;

enum class ParamType { boolean, integer, number, choice, text };
const char* param_type_name(ParamType type) noexcept;

struct ParamSpec {
    std::string name;
    ParamType type = ParamType::number;
    ParamValue default_value;
    double min = 0;  // integer and number: inclusive range
    double max = 0;
    std::vector<std::string> choices;  // choice: the allowed values
    std::string help;                  // one line
    // text: returns an empty string when the value is acceptable, else what is wrong.
    std::function<std::string(const std::string&)> check;
};

// Resolved parameters: every schema parameter present, typed, in range.
class Params {
public:
    Params() = default;
    explicit Params(ParamMap values) : values_(std::move(values)) {}

    bool flag(const std::string& name) const;
    std::int64_t integer(const std::string& name) const;
    double number(const std::string& name) const;
    const std::string& text(const std::string& name) const;  // choice and text
    const ParamMap& values() const noexcept { return values_; }

    // One stable text for the same parameters, for cache keys and logs ("a=1;b=x").
    std::string canonical() const;

private:
    const ParamValue& at(const std::string& name) const;
    ParamMap values_;
};

// How an output pixel depends on the input (DESIGN.md): decides tiling.
struct Footprint {
    enum class Kind { point, local, global, sequential };
    Kind kind = Kind::point;
    int radius = 0;  // local, and global once analysed (EffectInfo::apply): the halo a tile needs
    // Sequential band processing (begin_bands): bands start on absolute rows that are multiples
    // of this and hold whole multiples of it, but for the image's last band (retro_8bit blocks).
    int band_alignment = 1;
};
const char* footprint_name(Footprint::Kind kind) noexcept;

// What an effect's implementation is told besides its pixels and parameters.
struct EffectContext {
    // The input's place in the whole image. Position-dependent effects (grain, halftone
    // screens, ordered dither) use absolute coordinates so a tile equals the same crop of a
    // whole-image run. The whole-image path leaves origin 0,0 and full size = input size.
    int origin_x = 0;
    int origin_y = 0;
    int full_width = 0;   // 0: the input's width
    int full_height = 0;  // 0: the input's height

    // Progress in units (rows): called with the units done so far and the total.
    std::function<void(std::int64_t done, std::int64_t total)> progress;
    const std::atomic<bool>* cancel = nullptr;
    // Where model-backed effects get their models. Null: ModelStore::shared().
    ModelStore* models = nullptr;
    // Structured (non-image) output: when set, an effect that has some (EffectInfo::has_data)
    // writes it here as JSON text; the engine returns it in Result::data.
    std::string* data = nullptr;

    bool cancelled() const noexcept {
        return cancel != nullptr && cancel->load(std::memory_order_relaxed);
    }
    void throw_if_cancelled() const;  // Error(Status::cancelled)
    void report(std::int64_t done, std::int64_t total) const {
        if (progress) progress(done, total);
    }
};

// Sequential effects (error diffusion) in row bands: one processor per run keeps the state
// carried from band to band (the error rows), so bands fed in raster order give the bytes of a
// whole-image run. Bands are full width; y0 is the band's first absolute row.
class BandProcessor {
public:
    virtual ~BandProcessor() = default;
    // band_out: allocated by the caller with band_in's size and channels.
    virtual void process(const Image& band_in, Image& band_out, int y0) = 0;
};

// Global effects in two passes (tiling): an analyzer sees every row of the whole image once, in
// raster order, as full-width bands; finish() returns the statistics (opaque to the caller) that
// EffectInfo::apply then needs to turn any tile into its final pixels. Bands hold the effect's
// input (u8 RGB or RGBA); y0 is the band's first absolute row.
class Analyzer {
public:
    virtual ~Analyzer() = default;
    virtual void add_rows(const Image& band, int y0) = 0;
    virtual std::shared_ptr<const void> finish() = 0;  // once, after the last row
};

struct EffectInfo {
    std::string name;
    int version = 1;
    std::string summary;  // one line
    std::vector<ParamSpec> params;
    std::function<Footprint(const Params&)> footprint;
    // Peak bytes the effect needs beyond its input for a width × height image.
    std::function<std::size_t(int width, int height, const Params&)> memory_estimate;
    // Optional, for effects whose output size differs from the input's (upscale): the output's
    // {width, height}. They run whole, in memory; the tiled and streaming paths refuse them.
    std::function<std::pair<int, int>(int width, int height, const Params&)> output_size;
    // Implementation. Receives u8 RGB (3) or RGBA (4) pixels; keeps alpha unchanged unless the
    // effect is about alpha. Must be deterministic: same input, params, seed → same bytes.
    std::function<Image(const Image&, const Params&, const EffectContext&)> run;
    // run writes structured output to ctx.data (detections, the method used): the engine keeps
    // it with the image, in the result and in the cache.
    bool has_data = false;
    // Optional, for model-backed effects: the installed models these parameters need (empty
    // when none, or when the effect falls back without them). The CLI and callers check it.
    std::function<std::vector<std::string>(const Params&, const ModelStore&)> required_models;
    // Optional: what the result depends on besides the pixels and parameters (e.g. the model an
    // "auto" choice resolves to, with its sha256). Goes into the node's cache key.
    std::function<std::string(const Params&, const EffectContext&)> cache_salt;
    // Optional, for footprint `sequential`: a band processor for an image of this full size.
    // Empty, or returning nullptr for these params: the tiled path runs the effect whole.
    // `state` is null, except for a global effect once analysed (see begin_analysis): a
    // processor then replaces the per-tile apply (an adaptive palette with error diffusion).
    std::function<std::unique_ptr<BandProcessor>(const Params&, int full_width, int full_height,
                                                 const std::shared_ptr<const void>& state)>
        begin_bands;
    // Optional, for footprint `global`: a streamed statistics pass, then a per-tile apply. Both
    // set, and begin_analysis not returning nullptr for these params: the tiled path feeds
    // every band to the analyzer, then calls apply on each tile with ctx.origin_* and
    // ctx.full_* set (a local footprint of Footprint::radius given the state; or bands through
    // begin_bands given the state). Apply on the whole image with the whole image's state must
    // equal run, byte for byte.
    std::function<std::unique_ptr<Analyzer>(const Params&, int full_width, int full_height)>
        begin_analysis;
    std::function<Image(const Image& tile, const Params&, const EffectContext&,
                        const std::shared_ptr<const void>& state)>
        apply;

    const ParamSpec* find_param(const std::string& param) const noexcept;
};

class EffectRegistry {
public:
    void add(EffectInfo info);  // Error(invalid_argument) on a duplicate name
    const EffectInfo& get(const std::string& name) const;  // Error(not_found) names the known ones
    const EffectInfo* find(const std::string& name) const noexcept;
    std::vector<std::string> names() const;  // sorted

    // Validates and completes parameters: unknown name, wrong type, out of range or not a
    // choice → Error(invalid_argument) naming the effect, the parameter and what is allowed.
    Params resolve(const std::string& effect, const ParamMap& given) const;

    // The registry with every built-in effect.
    static const EffectRegistry& builtin();

private:
    std::map<std::string, EffectInfo> effects_;
};

// Parses a command-line value ("2.5", "true", "nes") into the parameter's type.
ParamValue parse_param_text(const EffectInfo& effect, const std::string& param,
                            const std::string& text);

// Runs a built-in effect on any image: gray becomes RGB and f32 becomes u8 on the way in.
Image apply_effect(const std::string& name, const Image& input, const ParamMap& params = {},
                   const EffectContext& context = {});
Image apply_effect(const EffectRegistry& registry, const std::string& name, const Image& input,
                   const ParamMap& params = {}, const EffectContext& context = {});

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
