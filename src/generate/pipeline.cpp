// The sampling loop: text conditioning, the start latent (noise, or a noised image), the
// samplers' updates with classifier-free guidance, inpainting's kept region, the decode.
//
// Samplers work in σ-space (x = z + σ·ε, the model seeing x / sqrt(σ² + 1)), as k-diffusion
// writes them; DDIM's update is the same deterministic step written with ᾱ = 1 / (1 + σ²).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/generate.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

// A CLIP vocabulary is 49,408 entries and as many merges: read once per process, not per run.
std::shared_ptr<const ClipTokenizer> tokenizer(const std::string& vocab,
                                               const std::string& merges) {
    static std::mutex mutex;
    static std::map<std::pair<std::string, std::string>, std::shared_ptr<const ClipTokenizer>>
        loaded;
    const std::lock_guard lock(mutex);
    auto& slot = loaded[{vocab, merges}];
    if (!slot) slot = std::make_shared<const ClipTokenizer>(vocab, merges);
    return slot;
}

}  // namespace

DiffusionModels load_diffusion_models(const DiffusionComponents& c, ModelStore& store) {
    DiffusionModels m;
    m.unet = store.get(c.unet);
    m.vae_decoder = store.get(c.vae_decoder);
    if (!c.vae_encoder.empty() && store.has(c.vae_encoder))
        m.vae_encoder = store.get(c.vae_encoder);
    if (!c.text_encoder.empty() && store.has(c.text_encoder))
        m.text_encoder = store.get(c.text_encoder);
    if (!c.vocab.empty() && !c.merges.empty()) m.tokenizer = tokenizer(c.vocab, c.merges);
    return m;
}

namespace {

using Clock = std::chrono::steady_clock;
using Latent = std::vector<float>;

struct Run {
    const DiffusionComponents& c;
    const DiffusionModels& m;
    const GenerateRequest& r;
    GenerateReport& report;
    int h = 0, w = 0;  // latent size
    Tensor cond, uncond;
    bool batched = false;
    Tensor both;  // batched: cond and uncond stacked, made once for every step

    double timed(const std::function<void()>& f) {
        const auto t0 = Clock::now();
        f();
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        report.component_seconds += s;
        return s;
    }
    std::size_t size() const { return static_cast<std::size_t>(c.latent_channels) * h * w; }
    std::vector<std::int64_t> shape(int batch = 1) const {
        return {batch, c.latent_channels, h, w};
    }
};

Tensor embed(Run& run, const std::string& text, const Tensor& given) {
    if (!given.values.empty()) return given;
    if (!run.m.text_encoder || !run.m.tokenizer)
        throw Error(Status::invalid_argument,
                    "generate: this pipeline has no text encoder and tokenizer installed; pass "
                    "prompt embeddings instead");
    const auto ids = run.m.tokenizer->encode(text);
    Tensor tokens({1, static_cast<std::int64_t>(ids.size())});
    std::transform(ids.begin(), ids.end(), tokens.values.begin(),
                   [](std::int64_t id) { return static_cast<float>(id); });
    Tensor out;
    run.timed([&] { out = run.m.text_encoder->run({tokens}).at(0); });
    return out;
}

Tensor stack(const Tensor& a, const Tensor& b) {
    if (a.shape != b.shape)
        throw Error(Status::invalid_argument,
                    "generate: the prompt and negative prompt embeddings differ in shape");
    Tensor out(a.shape);
    out.shape[0] *= 2;
    out.values = a.values;
    out.values.insert(out.values.end(), b.values.begin(), b.values.end());
    return out;
}

// The model output for x at step time t and noise level σ, guided: uncond + g·(cond − uncond).
Latent predict(Run& run, const Latent& x, double sigma, double t) {
    const float c_in = static_cast<float>(1 / std::sqrt(sigma * sigma + 1));
    Tensor sample(run.shape());
    std::transform(x.begin(), x.end(), sample.values.begin(), [&](float v) { return v * c_in; });
    const bool guided = run.r.guidance != 1;
    Latent cond, uncond;
    if (guided && run.batched) {
        Tensor both(run.shape(2));
        std::copy(sample.values.begin(), sample.values.end(), both.values.begin());
        std::copy(sample.values.begin(), sample.values.end(), both.values.begin() + x.size());
        Tensor out;
        run.timed([&] {
            out = run.m.unet->run({both, Tensor({2}, {float(t), float(t)}), run.both}).at(0);
        });
        ++run.report.unet_calls;
        if (out.values.size() != 2 * x.size())
            throw Error(Status::invalid_argument,
                        "generate: the UNet's output is not the "
                        "latent's shape");
        cond.assign(out.values.begin(), out.values.begin() + static_cast<std::ptrdiff_t>(x.size()));
        uncond.assign(out.values.begin() + static_cast<std::ptrdiff_t>(x.size()), out.values.end());
    } else {
        const auto once = [&](const Tensor& emb) {
            Tensor out;
            run.timed([&] { out = run.m.unet->run({sample, Tensor({1}, {float(t)}), emb}).at(0); });
            ++run.report.unet_calls;
            if (out.values.size() != x.size())
                throw Error(Status::invalid_argument,
                            "generate: the UNet's output is not the latent's shape");
            return out.values;
        };
        cond = once(run.cond);
        if (guided) uncond = once(run.uncond);
    }
    if (guided) {
        const auto g = static_cast<float>(run.r.guidance);
        for (std::size_t i = 0; i < cond.size(); ++i)
            cond[i] = uncond[i] + g * (cond[i] - uncond[i]);
    }
    return cond;
}

// The denoised estimate D(x, σ) from the model's output (ε or v).
Latent denoise(Run& run, const Latent& x, double sigma, double t) {
    Latent out = predict(run, x, sigma, t);
    if (run.c.prediction == Prediction::epsilon) {
        for (std::size_t i = 0; i < x.size(); ++i)
            out[i] = static_cast<float>(x[i] - sigma * out[i]);
    } else {
        const double s2 = sigma * sigma + 1;
        const double skip = 1 / s2, c_out = -sigma / std::sqrt(s2);
        for (std::size_t i = 0; i < x.size(); ++i)
            out[i] = static_cast<float>(skip * x[i] + c_out * out[i]);
    }
    return out;
}

// Latents of an image (u8 RGB/RGBA), through the VAE encoder, times the scaling factor.
Latent encode(Run& run, const Image& image) {
    if (!run.m.vae_encoder)
        throw Error(Status::invalid_argument,
                    "generate: image-to-image and inpainting need the pipeline's vae_encoder");
    Tensor pixels({1, 3, image.height(), image.width()});
    const std::size_t plane = static_cast<std::size_t>(image.width()) * image.height();
    for (int y = 0; y < image.height(); ++y) {
        const std::uint8_t* p = image.row(y);
        for (int x = 0; x < image.width(); ++x)
            for (int k = 0; k < 3; ++k)
                pixels.values[k * plane + static_cast<std::size_t>(y) * image.width() + x] =
                    p[x * image.channels() + std::min(k, image.channels() - 1)] / 127.5f - 1;
    }
    Tensor z;
    run.timed([&] { z = run.m.vae_encoder->run({pixels}).at(0); });
    if (z.shape != run.shape())
        throw Error(Status::invalid_argument,
                    fmt::format("generate: the VAE encoder gave latents of another shape than "
                                "[1, {}, {}, {}]",
                                run.c.latent_channels, run.h, run.w));
    for (float& v : z.values) v *= static_cast<float>(run.c.scaling_factor);
    return z.values;
}

// The inpainting mask at latent resolution: 1 where any pixel of the latent's block is to be
// generated.
Latent latent_mask(const Run& run, const Image& mask) {
    const int f = run.c.vae_factor;
    Latent m(static_cast<std::size_t>(run.h) * run.w, 0);
    const int ch = mask.channels(), k = ch == 4 ? 3 : 0;
    for (int y = 0; y < run.h * f; ++y) {
        const std::uint8_t* p = mask.row(y);
        for (int x = 0; x < run.w * f; ++x)
            if (p[x * ch + k] >= 128) m[static_cast<std::size_t>(y / f) * run.w + x / f] = 1;
    }
    return m;
}

// Planar float rows ([3, n, W], −1..1) into rows y0.. of a u8 RGB image.
void to_rows(const Tensor& rows, std::int64_t y0, Image& out) {
    const auto n = static_cast<int>(rows.shape[1]), w = static_cast<int>(rows.shape[2]);
    if (w != out.width() || y0 + n > out.height())
        throw Error(Status::invalid_argument,
                    "generate: the VAE decoder's output is not the latents' size times the VAE "
                    "factor");
    const std::size_t plane = static_cast<std::size_t>(w) * n;
    for (int y = 0; y < n; ++y) {
        std::uint8_t* q = out.row(static_cast<int>(y0) + y);
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < 3; ++k) {
                const float v = rows.values[k * plane + static_cast<std::size_t>(y) * w + x];
                q[x * 3 + k] = static_cast<std::uint8_t>(
                    std::lround(std::clamp((v + 1) * 127.5f, 0.0f, 255.0f)));
            }
    }
}

// Latent → RGB by the pipeline's linear map (Stable Diffusion's published approximation when
// the manifest gives one), at latent resolution.
Image preview(const Run& run, const Latent& x0) {
    Image out = Image::allocate(run.w, run.h, 3);
    const int C = run.c.latent_channels;
    const auto plane = static_cast<std::size_t>(run.h) * run.w;
    for (int y = 0; y < run.h; ++y)
        for (int x = 0; x < run.w; ++x)
            for (int k = 0; k < 3; ++k) {
                double v = 0;
                const auto at = static_cast<std::size_t>(y) * run.w + x;
                if (run.c.latent_rgb.empty()) {
                    v = (x0[std::min(k, C - 1) * plane + at] / run.c.scaling_factor + 1) * 127.5;
                } else {
                    for (int ch = 0; ch < C; ++ch)
                        v += run.c.latent_rgb[static_cast<std::size_t>(k * C + ch)] *
                             x0[ch * plane + at];
                    v = (v + run.c.latent_rgb[static_cast<std::size_t>(3 * C + k)] + 1) * 127.5;
                }
                out.row(y)[x * 3 + k] =
                    static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
            }
    return out;
}

void check_request(const DiffusionComponents& c, const GenerateRequest& r, int width, int height) {
    if (width <= 0 || height <= 0 || width % c.vae_factor || height % c.vae_factor)
        throw Error(Status::invalid_argument,
                    fmt::format("generate: the size {}x{} must be a positive multiple of {}", width,
                                height, c.vae_factor));
    if (r.init_image && !(r.strength > 0 && r.strength <= 1))
        throw Error(Status::invalid_argument,
                    fmt::format("generate: strength must be in (0, 1], got {}", r.strength));
    if (r.mask && !r.init_image)
        throw Error(Status::invalid_argument, "generate: a mask needs an init image");
    if (r.mask && (r.mask->width() != width || r.mask->height() != height))
        throw Error(Status::invalid_argument, "generate: the mask must have the image's size");
    if (!(r.guidance >= 0))
        throw Error(Status::invalid_argument, "generate: guidance must be >= 0");
}

// One sampler step from σ to σ_next, given the denoised estimate x0 (and the previous one).
void update(Run& run, const SamplingPlan& plan, std::size_t i, Latent& x, const Latent& x0,
            const Latent& old, NoiseSource& noise) {
    const double s = plan.sigmas[i], s_next = plan.sigmas[i + 1];
    const Sampler sampler = run.r.sampler;
    if (sampler == Sampler::dpmpp_2m && s_next > 0 && !old.empty()) {
        const double h = std::log(s / s_next), h_last = std::log(plan.sigmas[i - 1] / s);
        const double q = 1 / (2 * (h_last / h));
        for (std::size_t k = 0; k < x.size(); ++k) {
            const double d = (1 + q) * x0[k] - q * old[k];
            x[k] = static_cast<float>(s_next / s * x[k] - std::expm1(-h) * d);
        }
    } else if (sampler == Sampler::euler_ancestral && s_next > 0) {
        const double up =
            std::min(s_next, std::sqrt(s_next * s_next * (s * s - s_next * s_next) / (s * s)));
        const double down = std::sqrt(s_next * s_next - up * up);
        for (std::size_t k = 0; k < x.size(); ++k)
            x[k] = static_cast<float>(x[k] + (x[k] - x0[k]) / s * (down - s));
        for (float& v : x) v += static_cast<float>(up) * noise.next();
    } else {
        // Euler's step, DDIM's (η = 0: the same step in σ-space) and DPM++ 2M's first and
        // last: x moves along (x − D) / σ to σ_next — with σ_next = 0, x becomes D.
        for (std::size_t k = 0; k < x.size(); ++k)
            x[k] = static_cast<float>(x0[k] + s_next / s * (x[k] - x0[k]));
    }
}

// The sampling loop from step `first`: x denoised step by step; inpainting's kept region
// follows the init image at each new noise level; the step callback after each step.
void sample(Run& run, const SamplingPlan& plan, int first, Latent& x, const Latent& z0,
            const Latent& eps0, const Latent& mask, NoiseSource& noise) {
    const GenerateRequest& r = run.r;
    Latent x0, old;
    const auto loop_start = Clock::now();
    for (int i = first; i < r.steps; ++i) {
        if (r.cancel && r.cancel->load(std::memory_order_relaxed))
            throw Error(Status::cancelled, "generate: cancelled");
        const auto si = static_cast<std::size_t>(i);
        x0 = denoise(run, x, plan.sigmas[si], plan.timesteps[si]);
        update(run, plan, si, x, x0, old, noise);
        old = x0;
        if (!mask.empty()) {
            const double s_next = plan.sigmas[si + 1];
            for (std::size_t k = 0; k < x.size(); ++k)
                if (mask[k % mask.size()] == 0) x[k] = static_cast<float>(z0[k] + s_next * eps0[k]);
        }
        if (r.on_step) {
            GenerateStep step;
            step.step = i + 1 - first;
            step.steps = r.steps - first;
            const double per =
                std::chrono::duration<double>(Clock::now() - loop_start).count() / step.step;
            step.eta_seconds = per * (step.steps - step.step);
            if (r.want_preview) step.preview = preview(run, x0);
            if (r.on_step(step)) throw Error(Status::cancelled, "generate: cancelled");
        }
    }
}

// The final latents decoded (whole when that fits the budget, else in tiles of the largest
// side that does), and inpainting's unmasked pixels pasted back from the init image.
Image finish(Run& run, const Latent& x, int width, int height) {
    const DiffusionComponents& c = run.c;
    const GenerateRequest& r = run.r;
    Tensor latents(run.shape());
    for (std::size_t k = 0; k < x.size(); ++k)
        latents.values[k] = static_cast<float>(x[k] / c.scaling_factor);
    // A tile's decoder activations, and the strips of full-width float rows it is blended in.
    const auto f = static_cast<std::uint64_t>(c.vae_factor);
    const auto tile_bytes = [&](int t) {
        const std::uint64_t side = static_cast<std::uint64_t>(t) * f;
        return c.vae_bytes_per_pixel * side * side + 3 * 12 * side * f * run.w;
    };
    int tile = r.vae_tile;
    if (tile == 0 && r.memory_budget_bytes > 0 &&
        c.vae_bytes_per_pixel * f * f * static_cast<std::uint64_t>(run.h) * run.w >
            r.memory_budget_bytes) {
        tile = std::max(run.h, run.w);
        while (tile > r.vae_overlap + 8 && tile_bytes(tile) > r.memory_budget_bytes) tile -= 8;
    }
    Image out = Image::allocate(run.w * c.vae_factor, run.h * c.vae_factor, 3);
    run.timed([&] {
        decode_latent_rows(*run.m.vae_decoder, latents, c.vae_factor, tile, r.vae_overlap,
                           c.vae_receptive_field, &run.report.vae_tiles,
                           [&](const Tensor& rows, std::int64_t y0) { to_rows(rows, y0, out); });
    });
    if (r.mask && r.keep_unmasked) {
        const int ch = r.mask->channels(), k = ch == 4 ? 3 : 0, ic = r.init_image->channels();
        for (int y = 0; y < height; ++y) {
            const std::uint8_t* mp = r.mask->row(y);
            const std::uint8_t* ip = r.init_image->row(y);
            std::uint8_t* q = out.row(y);
            for (int xx = 0; xx < width; ++xx)
                if (mp[xx * ch + k] < 128)
                    for (int j = 0; j < 3; ++j) q[xx * 3 + j] = ip[xx * ic + std::min(j, ic - 1)];
        }
    }
    return out;
}

}  // namespace

Image generate_image(const DiffusionComponents& c, const DiffusionModels& m,
                     const GenerateRequest& r, GenerateReport* report_out) {
    const auto started = Clock::now();
    GenerateReport report;
    const int f = c.vae_factor;
    const int width = r.init_image ? r.init_image->width() / f * f : r.width;
    const int height = r.init_image ? r.init_image->height() / f * f : r.height;
    check_request(c, r, width, height);
    Run run{c, m, r, report, height / f, width / f, {}, {}, false, {}};
    run.cond = embed(run, r.prompt, r.prompt_embeddings);
    if (r.guidance != 1) run.uncond = embed(run, r.negative_prompt, r.negative_embeddings);
    // Both guidance passes in one batch when their activations fit the budget.
    const std::uint64_t per_pass =
        c.unet_bytes_per_latent_pixel * static_cast<std::uint64_t>(run.h) * run.w;
    run.batched =
        r.guidance != 1 && (r.memory_budget_bytes == 0 || 2 * per_pass <= r.memory_budget_bytes);
    report.batched_guidance = run.batched;
    if (run.batched) run.both = stack(run.cond, run.uncond);

    const SamplingPlan plan = plan_sampling(c.schedule, r.sampler, r.steps, r.karras);
    int first = 0;
    Latent z0;
    if (r.init_image) {  // image to image: start part of the way, from the noised image
        first = r.steps - std::min(r.steps, static_cast<int>(r.steps * r.strength));
        z0 = encode(run, r.init_image->view({0, 0, width, height}));
    }
    NoiseSource noise(r.seed);
    Latent eps0(run.size());
    noise.fill(eps0);
    Latent x(run.size());
    const double sigma0 = plan.sigmas[static_cast<std::size_t>(first)];
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = static_cast<float>((z0.empty() ? 0.0f : z0[i]) + sigma0 * eps0[i]);
    const Latent mask = r.mask ? latent_mask(run, *r.mask) : Latent();
    sample(run, plan, first, x, z0, eps0, mask, noise);
    Image out = finish(run, x, width, height);
    report.total_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (report_out) *report_out = report;
    return out;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
