// generate: latent diffusion (artistry/generate.hpp) as a graph operation, so that its output
// feeds effects ("generate, then pop-art it"). Modes: text (the input only gives the size when
// width and height are 0), image (image-to-image from the input at `strength`) and inpaint (the
// mask is the node's second input — its alpha, or its grey — else the input's own alpha; ≥ 128
// where to generate).

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/generate.hpp"
#include "artistry/models.hpp"
#include "effects/builtin.hpp"

namespace artistry::effects {
namespace {

struct Settings {
    std::string model, mode, prompt, negative, embeddings, negative_embeddings;
    int width = 0, height = 0, steps = 20, vae_tile = 0;
    double guidance = 7.5, strength = 0.75;
    std::uint64_t seed = 0, memory_bytes = 0;
    Sampler sampler = Sampler::euler;
    bool karras = false;
};

Settings read_settings(const Params& p) {
    Settings s;
    s.model = p.text("model");
    s.mode = p.text("mode");
    s.prompt = p.text("prompt");
    s.negative = p.text("negative_prompt");
    s.embeddings = p.text("prompt_embeddings");
    s.negative_embeddings = p.text("negative_embeddings");
    s.width = static_cast<int>(p.integer("width"));
    s.height = static_cast<int>(p.integer("height"));
    s.steps = static_cast<int>(p.integer("steps"));
    s.vae_tile = static_cast<int>(p.integer("vae_tile"));
    s.guidance = p.number("guidance");
    s.strength = p.number("strength");
    s.seed = static_cast<std::uint64_t>(p.integer("seed"));
    s.memory_bytes = static_cast<std::uint64_t>(p.integer("memory_mb")) << 20;
    s.sampler = parse_sampler(p.text("sampler"));
    s.karras = p.flag("karras");
    if ((s.width == 0) != (s.height == 0))
        throw Error(Status::invalid_argument, "generate: give width and height, or neither");
    return s;
}

// A float32 .npy array (numpy.save), little-endian, C order.
Tensor read_npy(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(Status::not_found, fmt::format("generate: cannot read {}", path));
    char magic[8];
    in.read(magic, 8);
    if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0)
        throw Error(Status::decode_error, fmt::format("generate: {} is not a .npy file", path));
    std::uint32_t header_len = 0;
    unsigned char b[4] = {0, 0, 0, 0};
    in.read(reinterpret_cast<char*>(b), magic[6] == 1 ? 2 : 4);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
    std::string header(header_len, '\0');
    in.read(header.data(), header_len);
    if (header.find("'<f4'") == std::string::npos ||
        header.find("'fortran_order': True") != std::string::npos)
        throw Error(Status::decode_error,
                    fmt::format("generate: {} must hold little-endian float32 in C order", path));
    const auto open = header.find('('), close = header.find(')');
    if (open == std::string::npos || close == std::string::npos)
        throw Error(Status::decode_error, fmt::format("generate: {}: no shape", path));
    Tensor t;
    std::string dims = header.substr(open + 1, close - open - 1);
    std::replace(dims.begin(), dims.end(), ',', ' ');
    std::istringstream parts(dims);
    for (std::int64_t d; parts >> d;) t.shape.push_back(d);
    t.values.resize(static_cast<std::size_t>(t.elements()));
    in.read(reinterpret_cast<char*>(t.values.data()),
            static_cast<std::streamsize>(t.values.size() * sizeof(float)));
    if (!in) throw Error(Status::decode_error, fmt::format("generate: {} is truncated", path));
    return t;
}

// The pipeline's manifest entry: the named one, or the only installed diffusion pipeline.
ModelSpec pipeline_spec(const Settings& s, ModelStore& store) {
    if (s.model != "auto") {
        auto spec = store.find(s.model);
        if (!spec)
            throw Error(Status::not_found,
                        fmt::format("generate: no model '{}' is installed (docs/generation.md "
                                    "exports one)",
                                    s.model));
        return *spec;
    }
    std::vector<ModelSpec> found;
    for (auto& spec : store.available())
        if (spec.task == "diffusion") found.push_back(spec);
    if (found.size() != 1)
        throw Error(found.empty() ? Status::not_found : Status::invalid_argument,
                    found.empty()
                        ? std::string("generate: no diffusion pipeline is installed "
                                      "(docs/generation.md: export and register one)")
                        : fmt::format("generate: {} diffusion pipelines are installed; name one "
                                      "with model=",
                                      found.size()));
    return found.front();
}

Image run_generate(const Image& in, const Params& p, const EffectContext& ctx) {
    const Settings& s = p.settings<Settings>();
    if (s.prompt.empty() && s.embeddings.empty())
        throw Error(Status::invalid_argument, "generate: give a prompt or prompt_embeddings");
    ModelStore& store = ModelStore::of(ctx);
    const DiffusionComponents c = read_diffusion_components(pipeline_spec(s, store));
    const DiffusionModels m = load_diffusion_models(c, store);
    GenerateRequest r;
    r.prompt = s.prompt;
    r.negative_prompt = s.negative;
    if (!s.embeddings.empty()) r.prompt_embeddings = read_npy(s.embeddings);
    if (!s.negative_embeddings.empty()) r.negative_embeddings = read_npy(s.negative_embeddings);
    if (s.guidance != 1 && !s.embeddings.empty() && s.negative_embeddings.empty() &&
        !m.text_encoder)
        throw Error(Status::invalid_argument,
                    "generate: with prompt_embeddings and guidance != 1, give "
                    "negative_embeddings too (or guidance=1)");
    r.width = s.width ? s.width : in.width() / c.vae_factor * c.vae_factor;
    r.height = s.height ? s.height : in.height() / c.vae_factor * c.vae_factor;
    r.steps = s.steps;
    r.guidance = s.guidance;
    r.seed = s.seed;
    r.sampler = s.sampler;
    r.karras = s.karras;
    r.strength = s.strength;
    r.vae_tile = s.vae_tile;
    r.memory_budget_bytes = s.memory_bytes;
    r.cancel = ctx.cancel;
    r.on_step = [&ctx](const GenerateStep& step) {
        ctx.report(step.step, step.steps);
        return false;
    };
    Image mask;
    if (s.mode != "text") r.init_image = &in;
    if (s.mode == "inpaint") {  // the mask: the node's second input, else the input's alpha
        const int f = c.vae_factor;
        const bool second = ctx.more_inputs != nullptr && !ctx.more_inputs->empty();
        if (!second && in.channels() != 4)
            throw Error(Status::invalid_argument,
                        "generate: mode=inpaint takes the mask as the node's second input, or "
                        "as the input's alpha");
        mask = second ? ctx.more_inputs->front() : in;
        if (mask.width() < in.width() / f * f || mask.height() < in.height() / f * f)
            throw Error(Status::invalid_argument, "generate: the mask is smaller than the image");
        mask = mask.view({0, 0, in.width() / f * f, in.height() / f * f});
        r.mask = &mask;
    }
    GenerateReport report;
    Image out = generate_image(c, m, r, &report);
    if (ctx.data != nullptr)
        *ctx.data =
            fmt::format(R"({{"seconds": {:.4f}, "component_seconds": {:.4f}, "unet_calls": {}, )"
                        R"("batched_guidance": {}, "vae_tiles": {}, "width": {}, "height": {}}})",
                        report.total_seconds, report.component_seconds, report.unet_calls,
                        report.batched_guidance ? "true" : "false", report.vae_tiles, out.width(),
                        out.height());
    return out;
}

}  // namespace

void register_generate(EffectRegistry& registry) {
    EffectInfo e;
    e.name = "generate";
    e.version = 1;
    e.summary = "Latent diffusion: an image from a prompt, or the input re-imagined or inpainted";
    e.params = {
        param::text("model", "auto",
                    "the diffusion pipeline: auto = the one installed, or a manifest name"),
        param::choice("mode", "text", {"text", "image", "inpaint"},
                      "text: from the prompt alone; image: from the input at `strength`; "
                      "inpaint: where the second input's mask is set"),
        param::text("prompt", "", "what to draw (through the pipeline's text encoder)"),
        param::text("negative_prompt", "", "what to steer away from"),
        param::file("prompt_embeddings", "a .npy of precomputed prompt embeddings instead"),
        param::file("negative_embeddings", "a .npy of precomputed negative embeddings"),
        param::integer("width", 0, 0, 8192, "output width (a multiple of 8); 0: the input's"),
        param::integer("height", 0, 0, 8192, "output height; 0: the input's"),
        param::integer("steps", 20, 1, 1000, "sampling steps"),
        param::number("guidance", 7.5, 0, 50, "classifier-free guidance scale; 1 = none"),
        param::integer("seed", 0, 0, std::int64_t{1} << 53, "noise seed: same seed, same image"),
        param::choice("sampler", "euler", {"ddim", "euler", "euler_ancestral", "dpmpp_2m"},
                      "the sampler"),
        param::flag("karras", false, "Karras noise levels"),
        param::number("strength", 0.75, 0.01, 1, "image / inpaint: how much is re-imagined"),
        param::integer("vae_tile", 0, 0, 4096,
                       "latent pixels per VAE tile; 0 = whole, or tiles when memory_mb asks"),
        param::integer("memory_mb", 0, 0, 1 << 20,
                       "working memory beyond the weights (0 = no limit): guidance passes run "
                       "one after the other and the VAE decodes in tiles to stay within it"),
    };
    e.changes_size = true;
    e.standalone = false;
    e.has_data = true;  // what the run took: seconds, UNet calls, VAE tiles
    e.min_inputs = 1;
    e.max_inputs = 2;
    e.output_format = OutputFormat::input;
    e.decode = decoder(read_settings);
    e.describe = [](const Params& p, int w, int h, const EffectContext& ctx) {
        const Settings& s = p.settings<Settings>();
        EffectPlan plan;
        plan.footprint = {Footprint::Kind::global, 0};
        const int ow = s.width ? s.width : w, oh = s.height ? s.height : h;
        // The output's size is the parameters', not a factor of the input's: the planner's
        // estimate uses the larger side's ratio (no size known yet: 1).
        if (w > 0 && h > 0 && ow > 0 && oh > 0) plan.scale = {std::max(ow, oh), std::max(w, h)};
        plan.memory_bytes = static_cast<std::size_t>(ow) * static_cast<std::size_t>(oh) * 64 +
                            static_cast<std::size_t>(s.memory_bytes);
        // The pipeline and its components: their digests go into the cache key. When none is
        // installed, render says so.
        try {
            ModelStore& store = ModelStore::of(ctx);
            const ModelSpec spec = pipeline_spec(s, store);
            const DiffusionComponents c = read_diffusion_components(spec);
            plan.models = {spec.name, c.unet, c.vae_decoder};
            for (const auto& name : {c.vae_encoder, c.text_encoder})
                if (!name.empty() && store.has(name)) plan.models.push_back(name);
        } catch (const Error&) {
            plan.models.clear();
        }
        return plan;
    };
    e.render = run_generate;
    registry.add(std::move(e));
}

}  // namespace artistry::effects
