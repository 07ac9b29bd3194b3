#pragma once
// Effects: named, versioned operations with a typed parameter schema, read by the CLI, the
// C ABI and Python from one registry.

#include <any>
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
#include "artistry/models.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

class ResultCache;  // artistry/cache.hpp

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
    // text: the value names a file the effect reads. A service that runs graphs from untrusted
    // requests restricts these to the folders it was told to allow.
    bool file = false;
};

// One-line parameter declarations: `param::number("amount", 1.0, 0, 2, "how much")`.
namespace param {
ParamSpec flag(std::string name, bool fallback, std::string help);
ParamSpec integer(std::string name, std::int64_t fallback, std::int64_t min, std::int64_t max,
                  std::string help);
ParamSpec number(std::string name, double fallback, double min, double max, std::string help);
ParamSpec choice(std::string name, std::string fallback, std::vector<std::string> choices,
                 std::string help);
// `check` returns an empty string when the value is acceptable, else what is wrong.
ParamSpec text(std::string name, std::string fallback, std::string help,
               std::function<std::string(const std::string&)> check = {});
// A text parameter naming a file the effect reads (ParamSpec::file); empty by default.
ParamSpec file(std::string name, std::string help,
               std::function<std::string(const std::string&)> check = {});
}  // namespace param

// Resolved parameters: every schema parameter present, typed, in range, and decoded once into
// the effect's settings struct (EffectInfo::decode) when the registry resolves them.
class Params {
  public:
    Params() = default;
    explicit Params(ParamMap values) : values_(std::move(values)) {}
    Params(ParamMap values, std::any settings)
        : values_(std::move(values)),
          settings_(std::make_shared<const std::any>(std::move(settings))) {}

    // The effect's decoded settings. Error(internal) when these parameters were not resolved
    // by the registry, or were decoded into another type.
    template <class Settings>
    const Settings& settings() const {
        const Settings* s = settings_ ? std::any_cast<Settings>(settings_.get()) : nullptr;
        if (s == nullptr) missing_settings();
        return *s;
    }

    bool flag(const std::string& name) const;
    std::int64_t integer(const std::string& name) const;
    double number(const std::string& name) const;
    const std::string& text(const std::string& name) const;  // choice and text
    const ParamMap& values() const noexcept { return values_; }

    // One stable text for the same parameters, for cache keys and logs ("a=1;b=x").
    std::string canonical() const;

  private:
    const ParamValue& at(const std::string& name) const;
    [[noreturn]] static void missing_settings();
    ParamMap values_;
    std::shared_ptr<const std::any> settings_;  // shared by copies: decoded once
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

// An effect's output size: the input's times num / den (rounded down), num = den = 1 when the
// effect keeps the size.
struct Scale {
    int num = 1;
    int den = 1;
    bool identity() const noexcept { return num == den; }
    int apply(int size) const noexcept {
        return static_cast<int>(static_cast<std::int64_t>(size) * num / den);
    }
};

// What running an effect with these parameters on an image of a given size takes: the
// planner's questions, answered in one place (EffectInfo::describe).
struct EffectPlan {
    Footprint footprint;
    std::size_t memory_bytes = 0;  // peak bytes beyond the input (its output included)
    Scale scale;                   // the output's size
    // The installed models this run uses (resolved: an "auto" choice names the model it picks,
    // or nothing when it falls back without one). The engine salts the cache key with their
    // digests (a reinstalled model with other weights is another result) and starts their
    // ETA from a model's cost; the CLI's `-e all` leaves out effects whose models are missing.
    std::vector<std::string> models;
};

// The file format an output of the effect is best written in when the caller leaves it open.
enum class OutputFormat {
    input,     // like the input (a JPEG photo stays JPEG), PNG when the output has alpha
    lossless,  // PNG: exact palettes and dither patterns that JPEG would smear
};

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
    // A global effect's statistics of the whole image (its Analyzer's finish()), when it has
    // an analysis for these parameters: render then turns any region into its final pixels.
    std::shared_ptr<const void> analysis;
    // A node of several inputs (EffectInfo::max_inputs > 1): the images of its second and later
    // inputs, in the node's order (render's `in` is the first). Null or empty otherwise.
    const std::vector<Image>* more_inputs = nullptr;
    // The structured output (JSON text) of the node's input nodes that have some, by node id:
    // what an effect's node-reference parameters (EffectInfo::node_params) point at.
    const std::map<std::string, std::string>* input_data = nullptr;
    // The engine's result cache, for intermediate results an effect may reuse across runs (a
    // segmentation's image embedding). Null: none (a streamed or direct run).
    ResultCache* cache = nullptr;

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

// An effect: metadata, a parameter schema, and the functions the engine plans and runs it with
// (docs/writing-an-effect.md). Every function is told the run's context.
struct EffectInfo {
    std::string name;
    int version = 1;      // bumped when the output of some parameters changes: cache keys change
    std::string summary;  // one line
    std::vector<ParamSpec> params;
    OutputFormat output_format = OutputFormat::input;
    bool changes_size = false;  // some parameters give another size (EffectPlan::scale)
    // render writes structured output to ctx.data (detections, the method used): the engine
    // keeps it with the image, in the result and in the cache.
    bool has_data = false;
    // How many images a node of this effect reads (its `in` list; a node without one reads the
    // run's input). More than one: render gets the others as EffectContext::more_inputs.
    int min_inputs = 1;
    int max_inputs = 1;
    // Text parameters whose value names one of the node's inputs (or is empty): the graph
    // checks them when it is made, and the effect reads that node's data from
    // EffectContext::input_data (a segmentation prompted by a detection node's boxes).
    std::vector<std::string> node_params;
    // A node of it runs on a photo with its default parameters alone. False: it needs the
    // user's prompts or more images (segment, composite), and `-e all` leaves it out.
    bool standalone = true;

    // Decodes resolved parameters into the effect's settings struct, once per resolution
    // (Params::settings<S>() returns it); throws Error(invalid_argument) for combinations the
    // schema cannot express. Optional: effects without settings read Params directly.
    std::function<std::any(const Params&)> decode;
    // The plan for an image of width × height. Optional: a point effect of no extra memory.
    std::function<EffectPlan(const Params&, int width, int height, const EffectContext&)> describe;
    // The one implementation: the output for `in`, a region of the whole image placed at
    // ctx.origin within ctx.full_* (a local footprint's region carries its halo; a global or
    // sequential effect without band processing gets the whole image). Receives u8 RGB (3) or
    // RGBA (4) pixels; keeps alpha unless the effect is about alpha. Deterministic: the same
    // input, parameters and seed give the same bytes, whichever way the engine cuts the image.
    std::function<Image(const Image& in, const Params&, const EffectContext&)> render;
    // Optional, for footprint `global`: a statistics pass over the whole image. When it returns
    // an analyzer for these parameters, every run (whole, tiled or streamed) feeds it every row
    // first and hands finish()'s state to render as ctx.analysis; render then needs only its
    // region (plus Footprint::radius) and may be cut into tiles.
    std::function<std::unique_ptr<Analyzer>(const Params&, int full_width, int full_height,
                                            const EffectContext&)>
        begin_analysis;
    // Optional, for footprint `sequential` (or a global one once analysed, given its state): a
    // band processor that the streamed path feeds full-width bands in raster order, giving
    // render's bytes. Empty, or nullptr for these params: the streamed path renders whole.
    std::function<std::unique_ptr<BandProcessor>(const Params&, int full_width, int full_height,
                                                 const EffectContext&,
                                                 const std::shared_ptr<const void>& analysis)>
        begin_bands;

    const ParamSpec* find_param(const std::string& param) const noexcept;
    // describe, or the plan of a point effect that needs no memory of its own.
    EffectPlan plan(const Params& params, int width, int height, const EffectContext& ctx) const;
};

// An EffectInfo::decode from a function that reads Params into a settings struct.
template <class Read>
std::function<std::any(const Params&)> decoder(Read read) {
    return [read](const Params& p) { return std::any(read(p)); };
}

class EffectRegistry {
  public:
    void add(EffectInfo info);  // Error(invalid_argument) on a duplicate name
    const EffectInfo& get(const std::string& name) const;  // Error(not_found) names the known ones
    const EffectInfo* find(const std::string& name) const noexcept;
    std::vector<std::string> names() const;  // sorted

    // Validates and completes parameters: unknown name, wrong type, out of range or not a
    // choice → Error(invalid_argument) naming the effect, the parameter and what is allowed.
    Params resolve(const std::string& effect, const ParamMap& given) const;

    // The registry with every built-in effect, and those of the effect plugins named in
    // $ARTISTRY_EFFECT_PLUGINS (paths separated by ':'; docs/writing-an-effect.md). A plugin
    // that cannot be loaded fails the first call with Error(unsupported) naming it.
    static const EffectRegistry& builtin();

  private:
    std::map<std::string, EffectInfo> effects_;
};

// Parses a command-line value ("2.5", "true", "nes") into the parameter's type.
ParamValue parse_param_text(const EffectInfo& effect, const std::string& param,
                            const std::string& text);

// Runs an effect on a whole image as the engine does (its analysis first, when it has one, then
// render): gray becomes RGB and f32 becomes u8 on the way in.
Image apply_effect(const std::string& name, const Image& input, const ParamMap& params = {},
                   const EffectContext& context = {});
Image apply_effect(const EffectRegistry& registry, const std::string& name, const Image& input,
                   const ParamMap& params = {}, const EffectContext& context = {});
// The same with parameters already resolved by the registry (decoded once).
Image apply_effect(const EffectInfo& effect, const Image& input, const Params& params,
                   const EffectContext& context = {});

// What a plugin library exports (extern "C"): the library version it was built against
// (ARTISTRY_VERSION_STRING, checked before anything else is called) and the function that
// adds its effects. ARTISTRY_EFFECT_PLUGIN(fn) writes both.
using EffectPluginRegister = void (*)(EffectRegistry&);

inline ModelStore& ModelStore::of(const EffectContext& ctx) {
    return ctx.models != nullptr ? *ctx.models : shared();
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry

// In an effect plugin's one source file: exports `register_fn` (void(EffectRegistry&)) as the
// plugin's entry point, with the version of the headers it is compiled against.
#define ARTISTRY_EFFECT_PLUGIN(register_fn)                                                   \
    extern "C" __attribute__((visibility("default"))) const char* artistry_plugin_version() { \
        return ARTISTRY_VERSION_STRING;                                                       \
    }                                                                                         \
    extern "C" __attribute__((visibility("default"))) void artistry_register_effects(         \
        ::artistry::EffectRegistry& registry) {                                               \
        register_fn(registry);                                                                \
    }
