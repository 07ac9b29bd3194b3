#pragma once
// Image generation: a latent diffusion pipeline over components a user exports as TorchScript
// (docs/generation.md): an optional CLIP text encoder with its BPE tokenizer, a noise-predicting
// UNet called as (sample, timestep, encoder_hidden_states), and a VAE decoder and encoder.
// Samplers DDIM, Euler, Euler ancestral and DPM++ 2M (Karras sigmas optional), classifier-free
// guidance, image-to-image and inpainting, a per-step callback with a cheap preview, and VAE
// decoding in overlapping tiles when the whole decode does not fit the memory allowed.
//
// Everything here runs on artistry::Model (models.hpp): no LibTorch header is needed, and a
// test can stand a component in with a model of its own.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "artistry/image.hpp"
#include "artistry/models.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

enum class Sampler : std::uint8_t { ddim, euler, euler_ancestral, dpmpp_2m };
const char* sampler_name(Sampler sampler) noexcept;  // "ddim", "euler", ...
Sampler parse_sampler(const std::string& name);      // Error(invalid_argument) naming the choices

enum class Prediction : std::uint8_t { epsilon, v };

// The training noise schedule (diffusers' scaled_linear by default, Stable Diffusion's).
struct NoiseSchedule {
    int train_steps = 1000;
    double beta_start = 0.00085;
    double beta_end = 0.012;
    bool scaled_linear = true;  // false: betas linear in [beta_start, beta_end]

    std::vector<double> alphas_cumprod() const;  // ᾱ_t, t = 0 … train_steps − 1
    std::vector<double> sigmas() const;          // σ_t = sqrt((1 − ᾱ_t) / ᾱ_t)
};

// What one sampling run steps through: the model's timestep at each step (continuous for the
// Karras sigmas) and the noise levels, sigmas[i] at step i and a final 0.
struct SamplingPlan {
    std::vector<double> timesteps;
    std::vector<double> sigmas;          // steps + 1
    std::vector<double> alphas_cumprod;  // ᾱ at each step, and 1 at the end (DDIM)
};
// DDIM: timesteps "leading" (t = i·T/steps + 1), the others "linspace" (T − 1 … 0, as
// diffusers' Euler schedulers). karras: σ_i = (σmax^(1/7) + i/(n−1)·(σmin^(1/7) − σmax^(1/7)))^7
// between the schedule's extremes, their timesteps interpolated on log σ.
SamplingPlan plan_sampling(const NoiseSchedule& schedule, Sampler sampler, int steps,
                           bool karras = false);

// Standard normal floats from a seed: the same sequence on every machine and thread count
// (xoshiro256** seeded by splitmix64, Box–Muller in double precision).
class NoiseSource {
  public:
    explicit NoiseSource(std::uint64_t seed);
    float next();
    void fill(std::vector<float>& values);

  private:
    std::uint64_t s_[4];
    double spare_ = 0;
    bool has_spare_ = false;
};

// CLIP's byte-level BPE tokenizer from the standard vocab.json and merges.txt: text lowercased
// and split as CLIP splits it (letters, single digits, contractions, runs of punctuation;
// non-ASCII code points count as letters), words end in "</w>", ids wrapped in <|startoftext|>
// and <|endoftext|> and padded with <|endoftext|> to `length` (longer prompts are cut).
class ClipTokenizer {
  public:
    ClipTokenizer(const std::string& vocab_json_path, const std::string& merges_txt_path);
    std::vector<std::int64_t> encode(const std::string& text, int length = 77) const;
    // The BPE pieces of one text, without ids (for tests and debugging).
    std::vector<std::string> pieces(const std::string& text) const;

  private:
    struct Impl;
    std::shared_ptr<const Impl> impl_;
};

// A pipeline's components and settings: a manifest entry of task "diffusion" whose extras name
// the component models (entries of the same store) and the rest, e.g.
// {"unet": "sd15-unet", "vae_decoder": "sd15-vae-dec", "vae_encoder": "sd15-vae-enc",
//  "text_encoder": "sd15-text", "vocab": "vocab.json", "merges": "merges.txt",
//  "latent_channels": 4, "scaling_factor": 0.18215, "vae_factor": 8, "prediction": "epsilon",
//  "schedule": {"train_steps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
//               "beta_schedule": "scaled_linear"},
//  "latent_rgb": [12 numbers: RGB = M·latent + b, row-major M (3×C) then b],
//  "unet_bytes_per_latent_pixel": 250000, "vae_bytes_per_pixel": 1600,
//  "vae_receptive_field": 0}
struct DiffusionComponents {
    std::string unet, vae_decoder, vae_encoder, text_encoder;  // empty: not installed
    std::string vocab, merges;                                 // absolute paths
    int latent_channels = 4;
    double scaling_factor = 0.18215;
    int vae_factor = 8;
    Prediction prediction = Prediction::epsilon;
    NoiseSchedule schedule;
    std::vector<float> latent_rgb;  // 3 × latent_channels + 3; empty: the first 3 channels
    // Memory estimates for the planner: UNet activations per latent pixel of one batch item,
    // VAE decoder activations per output pixel; the decoder's receptive field in latent pixels
    // (0: unbounded, as with a mid-block attention).
    std::uint64_t unet_bytes_per_latent_pixel = 250'000;
    std::uint64_t vae_bytes_per_pixel = 1'600;
    int vae_receptive_field = 0;
};
// From a manifest entry's extras; relative tokenizer paths are against the folder of the
// entry's file.
DiffusionComponents read_diffusion_components(const ModelSpec& pipeline);

struct GenerateStep {
    int step = 0;  // steps done
    int steps = 0;
    double eta_seconds = 0;
    Image preview;  // the current estimate of the clean image, latent → RGB by a linear map
};

struct GenerateRequest {
    std::string prompt, negative_prompt;  // through the text encoder when it is installed
    // Precomputed embeddings ([1, tokens, width]) used instead of the text encoder when set.
    Tensor prompt_embeddings, negative_embeddings;
    int width = 512, height = 512;  // multiples of vae_factor; img2img: the init image's size
    int steps = 20;
    double guidance = 7.5;  // classifier-free guidance; 1: the conditional pass alone
    std::uint64_t seed = 0;
    Sampler sampler = Sampler::euler;
    bool karras = false;
    // Image-to-image: the init image (u8 RGB/RGBA) noised to `strength` (0..1] and denoised.
    const Image* init_image = nullptr;
    double strength = 0.8;
    // Inpainting (with init_image): where to generate (u8, grey or the alpha of RGBA, ≥ 128),
    // the rest kept from the init image: in the latents at every step, and its pixels pasted
    // back at the end when keep_unmasked.
    const Image* mask = nullptr;
    bool keep_unmasked = true;
    // Working memory the pipeline may use beyond the weights (0: no limit): the conditional
    // and unconditional UNet passes run as one batch of 2 when both fit, else one after the
    // other; the VAE decodes in tiles when the whole image does not fit.
    std::uint64_t memory_budget_bytes = 0;
    int vae_tile = 0;     // latent pixels per tile side; 0: chosen from the budget
    int vae_overlap = 8;  // latent pixels shared by neighbouring tiles
    // After each step; return true to cancel (Error(cancelled)). Previews are made only when
    // want_preview is set.
    std::function<bool(const GenerateStep&)> on_step;
    bool want_preview = false;
    const std::atomic<bool>* cancel = nullptr;
};

// What a run did, for tests and benchmarks.
struct GenerateReport {
    bool batched_guidance = false;  // both guidance passes in one batch of 2
    int unet_calls = 0;
    int vae_tiles = 1;
    double component_seconds = 0;  // inside the models
    double total_seconds = 0;
};

// The pipeline on models the caller holds (tests, benchmarks), and on a store's models.
struct DiffusionModels {
    std::shared_ptr<const Model> unet, vae_decoder, vae_encoder, text_encoder;
    std::shared_ptr<const ClipTokenizer> tokenizer;
};
DiffusionModels load_diffusion_models(const DiffusionComponents& components, ModelStore& store);
Image generate_image(const DiffusionComponents& components, const DiffusionModels& models,
                     const GenerateRequest& request, GenerateReport* report = nullptr);

// Latents [1, C, h, w] (already divided by the scaling factor) → pixels [1, 3, h·f, w·f] in
// −1..1, decoded whole (tile 0) or in tiles of `tile` latent pixels overlapping by `overlap`,
// blended across the overlap. Tiles equal the whole decode exactly when the decoder's
// receptive field (latent pixels) is at most overlap / 2 and `receptive_field` says so: the
// blend then mixes only values both tiles decoded exactly.
Tensor decode_latents(const Model& decoder, const Tensor& latents, int vae_factor, int tile,
                      int overlap, int receptive_field = 0, int* tiles_used = nullptr);

// The same decode, its rows handed to `sink` in order as they become final ([3, n, W] planar
// floats starting at pixel row y0): memory holds a row of tiles and its overlap, not the image.
void decode_latent_rows(const Model& decoder, const Tensor& latents, int vae_factor, int tile,
                        int overlap, int receptive_field, int* tiles_used,
                        const std::function<void(const Tensor& rows, std::int64_t y0)>& sink);

// How visible tile borders are in an image: the mean absolute difference between neighbouring
// pixels across the borders (columns x = k·step, rows y = k·step) divided by the same mean over
// the whole image. About 1: no seam; above 1: the borders stand out.
double seam_ratio(const Image& image, int step);

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
