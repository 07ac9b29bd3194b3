// The diffusion pipeline against closed forms, on components written here (artistry::Model):
// schedules against the published formulas, a UNet predicting zero noise (the latent is then
// the start noise, unchanged), one predicting the exact noise (one step recovers the target),
// guidance 1 against the conditional pass alone, batched against sequential guidance, image to
// image and inpainting, tiled VAE decoding against the whole, the CLIP tokenizer on a small
// vocabulary.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <doctest/doctest.h>

#include "artistry/error.hpp"
#include "artistry/generate.hpp"
#include "test_support.hpp"

using namespace artistry;

namespace {

// A Model from a function of its inputs.
class FnModel final : public Model {
  public:
    using Fn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
    FnModel(std::string name, Fn fn) : fn_(std::move(fn)) { spec_.name = std::move(name); }
    const ModelSpec& spec() const noexcept override { return spec_; }
    std::vector<Tensor> run(const std::vector<Tensor>& inputs) const override {
        return fn_(inputs);
    }
    std::uint64_t weight_bytes() const noexcept override { return 0; }
    Device device() const noexcept override { return Device::cpu(); }

  private:
    ModelSpec spec_;
    Fn fn_;
};

// The decoder: each latent pixel (3 channels, values −1..1) becomes an f×f block, after a box
// blur of `radius` latent pixels (its receptive field), the edges clamped. Remembers the last
// latents it decoded.
struct Decoder {
    int f = 8, radius = 0;
    mutable std::mutex mutex;
    mutable Tensor last;
    std::shared_ptr<Model> model() {
        return std::make_shared<FnModel>("dec", [this](const std::vector<Tensor>& in) {
            const Tensor& z = in.at(0);
            {
                std::lock_guard lock(mutex);
                last = z;
            }
            const auto c = z.shape[1], h = z.shape[2], w = z.shape[3];
            Tensor out({1, 3, h * f, w * f});
            for (std::int64_t k = 0; k < 3; ++k)
                for (std::int64_t y = 0; y < h * f; ++y)
                    for (std::int64_t x = 0; x < w * f; ++x) {
                        double sum = 0;
                        int n = 0;
                        for (int dy = -radius; dy <= radius; ++dy)
                            for (int dx = -radius; dx <= radius; ++dx) {
                                const auto yy = std::clamp<std::int64_t>(y / f + dy, 0, h - 1);
                                const auto xx = std::clamp<std::int64_t>(x / f + dx, 0, w - 1);
                                sum += z.values[((std::min(k, c - 1)) * h + yy) * w + xx];
                                ++n;
                            }
                        out.values[(k * h * f + y) * w * f + x] = static_cast<float>(sum / n);
                    }
            return std::vector<Tensor>{out};
        });
    }
};

// The encoder: the mean of each f×f block, per channel (the decoder's inverse on flat blocks).
std::shared_ptr<Model> encoder(int f) {
    return std::make_shared<FnModel>("enc", [f](const std::vector<Tensor>& in) {
        const Tensor& p = in.at(0);
        const auto H = p.shape[2], W = p.shape[3];
        Tensor z({1, 3, H / f, W / f});
        for (std::int64_t k = 0; k < 3; ++k)
            for (std::int64_t y = 0; y < H; ++y)
                for (std::int64_t x = 0; x < W; ++x)
                    z.values[(k * (H / f) + y / f) * (W / f) + x / f] +=
                        p.values[(k * H + y) * W + x] / static_cast<float>(f * f);
        return std::vector<Tensor>{z};
    });
}

DiffusionComponents components() {
    DiffusionComponents c;
    c.unet = "unet";
    c.vae_decoder = "dec";
    c.latent_channels = 3;
    c.scaling_factor = 1;
    c.vae_factor = 8;
    return c;
}

Tensor embedding(float value) {
    return Tensor({1, 2, 4}, std::vector<float>(8, value));
}

GenerateRequest request(int size = 32) {
    GenerateRequest r;
    r.width = r.height = size;
    r.prompt_embeddings = embedding(1);
    r.negative_embeddings = embedding(0);
    r.seed = 42;
    return r;
}

// ε̂ = 0 whatever the input.
std::shared_ptr<Model> zero_unet() {
    return std::make_shared<FnModel>("unet", [](const std::vector<Tensor>& in) {
        Tensor out(in.at(0).shape);
        return std::vector<Tensor>{out};
    });
}

// ε̂ = a·x_in + b·mean(embedding): depends on the sample and the prompt, one batch item at a
// time (so a batch of 2 equals two calls).
std::shared_ptr<Model> linear_unet(float a, float b) {
    return std::make_shared<FnModel>("unet", [a, b](const std::vector<Tensor>& in) {
        const Tensor& x = in.at(0);
        const Tensor& emb = in.at(2);
        const auto batch = x.shape[0];
        const auto per = x.values.size() / static_cast<std::size_t>(batch);
        const auto per_emb = emb.values.size() / static_cast<std::size_t>(batch);
        Tensor out(x.shape);
        for (std::int64_t i = 0; i < batch; ++i) {
            double mean = 0;
            for (std::size_t k = 0; k < per_emb; ++k) mean += emb.values[i * per_emb + k];
            mean /= static_cast<double>(per_emb);
            for (std::size_t k = 0; k < per; ++k)
                out.values[i * per + k] = static_cast<float>(a * x.values[i * per + k] + b * mean);
        }
        return std::vector<Tensor>{out};
    });
}

std::vector<float> start_noise(std::uint64_t seed, std::size_t n) {
    NoiseSource noise(seed);
    std::vector<float> v(n);
    noise.fill(v);
    return v;
}

}  // namespace

TEST_CASE("the noise schedule and the samplers' steps follow the published formulas") {
    const NoiseSchedule s;
    const auto a = s.alphas_cumprod();
    REQUIRE(a.size() == 1000);
    // scaled_linear: β_t = (√β₀ + t/999·(√β₁ − √β₀))², ᾱ_t = Π(1 − β)
    double product = 1;
    for (int t = 0; t < 1000; ++t) {
        const double r = std::sqrt(0.00085) + t / 999.0 * (std::sqrt(0.012) - std::sqrt(0.00085));
        product *= 1 - r * r;
        if (t == 0 || t == 499 || t == 999)
            CHECK(a[static_cast<std::size_t>(t)] == doctest::Approx(product).epsilon(1e-12));
    }
    CHECK(a[999] == doctest::Approx(0.0046659).epsilon(1e-4));  // Stable Diffusion's ᾱ_999

    const auto ddim = plan_sampling(s, Sampler::ddim, 20);
    CHECK(ddim.timesteps.front() == 951);
    CHECK(ddim.timesteps.back() == 1);
    CHECK(ddim.sigmas.size() == 21);
    CHECK(ddim.sigmas.back() == 0);
    CHECK(ddim.alphas_cumprod[0] == doctest::Approx(a[951]).epsilon(1e-12));

    const auto euler = plan_sampling(s, Sampler::euler, 4);
    CHECK(euler.timesteps == std::vector<double>{999, 666, 333, 0});
    CHECK(euler.sigmas[0] == doctest::Approx(std::sqrt((1 - a[999]) / a[999])));
    CHECK(euler.sigmas[3] == doctest::Approx(std::sqrt((1 - a[0]) / a[0])));

    // Karras: σ_i = (σmax^(1/7) + i/(n−1)·(σmin^(1/7) − σmax^(1/7)))^7
    const auto k = plan_sampling(s, Sampler::dpmpp_2m, 5, true);
    const auto sig = s.sigmas();
    for (int i = 0; i < 5; ++i) {
        const double expected =
            std::pow(std::pow(sig.back(), 1 / 7.0) +
                         i / 4.0 * (std::pow(sig.front(), 1 / 7.0) - std::pow(sig.back(), 1 / 7.0)),
                     7);
        CHECK(k.sigmas[static_cast<std::size_t>(i)] == doctest::Approx(expected).epsilon(1e-12));
    }
    CHECK(k.timesteps.front() == doctest::Approx(999));
    CHECK(k.timesteps.back() == doctest::Approx(0).epsilon(1e-9));
    CHECK_THROWS_AS(plan_sampling(s, Sampler::euler, 0), Error);
    CHECK_THROWS_AS(parse_sampler("heun"), Error);
}

TEST_CASE("seeded noise is the same sequence every time and standard normal") {
    const auto a = start_noise(7, 100000), b = start_noise(7, 100000), c = start_noise(8, 10);
    CHECK(a == b);
    CHECK(std::vector<float>(a.begin(), a.begin() + 10) != c);
    double mean = 0, var = 0;
    for (float v : a) mean += v;
    mean /= static_cast<double>(a.size());
    for (float v : a) var += (v - mean) * (v - mean);
    var /= static_cast<double>(a.size());
    CHECK(std::abs(mean) < 0.01);
    CHECK(var == doctest::Approx(1).epsilon(0.02));
}

TEST_CASE("a UNet that predicts no noise leaves the start latent as it is, for every sampler") {
    for (Sampler sampler : {Sampler::ddim, Sampler::euler, Sampler::dpmpp_2m}) {
        Decoder dec;
        DiffusionModels m{zero_unet(), dec.model(), nullptr, nullptr, nullptr};
        GenerateRequest r = request();
        r.sampler = sampler;
        r.steps = 10;
        generate_image(components(), m, r);
        // D(x) = x, so x never moves: the final latent is σ₀·ε, i.e. the variance-preserving
        // start latent ε/√(1+σ₀²)·… rescaled by 1/√ᾱ_T — DDIM's known rescaling.
        const double s0 = plan_sampling(NoiseSchedule{}, sampler, 10).sigmas[0];
        const auto eps = start_noise(42, 3 * 4 * 4);
        REQUIRE(dec.last.values.size() == eps.size());
        for (std::size_t i = 0; i < eps.size(); ++i)
            CHECK(dec.last.values[i] == doctest::Approx(s0 * eps[i]).epsilon(1e-5));
    }
}

TEST_CASE("a UNet that predicts the exact noise (or v) recovers its target in one step") {
    std::vector<float> target(3 * 4 * 4);
    for (std::size_t i = 0; i < target.size(); ++i)
        target[i] = std::sin(0.7f * static_cast<float>(i));
    for (Prediction prediction : {Prediction::epsilon, Prediction::v})
        for (Sampler sampler : {Sampler::ddim, Sampler::euler}) {
            DiffusionComponents c = components();
            c.prediction = prediction;
            const double s0 = plan_sampling(c.schedule, sampler, 1).sigmas[0];
            // x_in = (z + σ·ε)/√(σ²+1) with z = target, so ε = (x_in·√(σ²+1) − z)/σ, and
            // v = (ε − σ·z)/√(σ²+1).
            auto unet = std::make_shared<FnModel>("unet", [&, s0](const std::vector<Tensor>& in) {
                Tensor out(in.at(0).shape);
                const double root = std::sqrt(s0 * s0 + 1);
                for (std::size_t i = 0; i < target.size(); ++i) {
                    const double eps = (in[0].values[i] * root - target[i]) / s0;
                    out.values[i] = static_cast<float>(
                        prediction == Prediction::epsilon ? eps : (eps - s0 * target[i]) / root);
                }
                return std::vector<Tensor>{out};
            });
            Decoder dec;
            DiffusionModels m{unet, dec.model(), nullptr, nullptr, nullptr};
            GenerateRequest r = request();
            r.sampler = sampler;
            r.steps = 1;
            r.guidance = 1;
            generate_image(c, m, r);
            for (std::size_t i = 0; i < target.size(); ++i)
                CHECK(dec.last.values[i] == doctest::Approx(target[i]).epsilon(1e-4));
        }
}

TEST_CASE("guidance 1 is the conditional pass alone; batched and sequential guidance agree") {
    Decoder a, b, c;
    GenerateReport ra, rb, rc;
    GenerateRequest r = request();
    r.steps = 6;
    r.guidance = 1;
    generate_image(components(), {linear_unet(0.3f, 0.5f), a.model(), {}, {}, {}}, r, &ra);
    CHECK(ra.unet_calls == 6);
    CHECK_FALSE(ra.batched_guidance);
    // The same conditional pass, the unconditional one given the same embedding: u + g·(c − u)
    // is c exactly.
    r.guidance = 4;
    r.negative_embeddings = r.prompt_embeddings;
    generate_image(components(), {linear_unet(0.3f, 0.5f), b.model(), {}, {}, {}}, r, &rb);
    CHECK(rb.batched_guidance);
    CHECK(rb.unet_calls == 6);
    CHECK(b.last.values == a.last.values);
    // A budget too small for a batch of 2: one pass after the other, the same numbers.
    r.negative_embeddings = embedding(0);
    Decoder d;
    generate_image(components(), {linear_unet(0.3f, 0.5f), d.model(), {}, {}, {}}, r, &rb);
    r.memory_budget_bytes = 250'000 * 16 + 1;  // one pass of the 4×4 latent fits, two do not
    generate_image(components(), {linear_unet(0.3f, 0.5f), c.model(), {}, {}, {}}, r, &rc);
    CHECK_FALSE(rc.batched_guidance);
    CHECK(rc.unet_calls == 12);
    CHECK(c.last.values == d.last.values);
    CHECK(c.last.values != a.last.values);  // the guidance did something
}

TEST_CASE("the same seed gives the same image; another seed another; every sampler runs") {
    for (Sampler sampler :
         {Sampler::ddim, Sampler::euler, Sampler::euler_ancestral, Sampler::dpmpp_2m}) {
        Decoder d1, d2, d3;
        GenerateRequest r = request();
        r.sampler = sampler;
        r.steps = 8;
        r.karras = sampler == Sampler::dpmpp_2m;
        const Image one =
            generate_image(components(), {linear_unet(0.2f, 0.1f), d1.model(), {}, {}, {}}, r);
        const Image two =
            generate_image(components(), {linear_unet(0.2f, 0.1f), d2.model(), {}, {}, {}}, r);
        r.seed = 43;
        generate_image(components(), {linear_unet(0.2f, 0.1f), d3.model(), {}, {}, {}}, r);
        CHECK(d1.last.values == d2.last.values);
        CHECK(d1.last.values != d3.last.values);
        CHECK(std::equal(one.row(0), one.row(0) + 32 * 3, two.row(0)));
    }
}

TEST_CASE("inpainting keeps the pixels outside the mask; image to image starts from the image") {
    const int size = 32;
    Image init = Image::allocate(size, size, 3);
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size * 3; ++x)
            init.row(y)[x] = static_cast<std::uint8_t>((x * 7 + y * 13) % 256);
    Image mask = Image::allocate(size, size, 1);
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x)
            mask.row(y)[x] = (x >= 8 && x < 24 && y >= 8 && y < 16) ? 255 : 0;
    DiffusionComponents c = components();
    for (bool keep : {true, false}) {
        Decoder dec;
        DiffusionModels m{linear_unet(0.2f, 0.3f), dec.model(), encoder(8), {}, {}};
        GenerateRequest r = request(size);
        r.init_image = &init;
        r.mask = &mask;
        r.strength = 0.6;
        r.steps = 10;
        r.keep_unmasked = keep;
        const Image out = generate_image(c, m, r);
        // The VAE round trip of the init image (this decoder and encoder: block means).
        Decoder round;
        const Tensor z = encoder(8)
                             ->run({[&] {
                                 Tensor p({1, 3, size, size});
                                 for (int k = 0; k < 3; ++k)
                                     for (int y = 0; y < size; ++y)
                                         for (int x = 0; x < size; ++x)
                                             p.values[(k * size + y) * size + x] =
                                                 init.row(y)[x * 3 + k] / 127.5f - 1;
                                 return p;
                             }()})
                             .at(0);
        Tensor pixels = round.model()->run({z}).at(0);
        int differ_inside = 0;
        for (int y = 0; y < size; ++y)
            for (int x = 0; x < size; ++x)
                for (int k = 0; k < 3; ++k) {
                    const auto got = out.row(y)[x * 3 + k];
                    if (mask.row(y)[x] == 0) {
                        const int expected =
                            keep ? init.row(y)[x * 3 + k]
                                 : static_cast<int>(std::lround(std::clamp(
                                       (pixels.values[(k * size + y) * size + x] + 1) * 127.5f,
                                       0.0f, 255.0f)));
                        CHECK(std::abs(int(got) - expected) <= (keep ? 0 : 1));
                    } else {
                        differ_inside += got != init.row(y)[x * 3 + k];
                    }
                }
        CHECK(differ_inside > 0);
    }
}

TEST_CASE(
    "tiled VAE decoding equals the whole decode when the overlap covers the receptive field") {
    Tensor latents({1, 3, 40, 56});
    NoiseSource noise(5);
    noise.fill(latents.values);
    for (int radius : {0, 2}) {
        Decoder dec;
        dec.radius = radius;
        const auto model = dec.model();
        const Tensor whole = decode_latents(*model, latents, 8, 0, 0);
        int tiles = 0;
        const Tensor tiled = decode_latents(*model, latents, 8, 16, 2 * radius + 2, radius, &tiles);
        CHECK(tiles > 4);
        double most = 0;
        std::size_t worst = 0;
        for (std::size_t i = 0; i < whole.values.size(); ++i)
            if (std::abs(whole.values[i] - tiled.values[i]) > most)
                most = std::abs(whole.values[i] - tiled.values[i]), worst = i;
        INFO("radius ", radius, ": largest difference ", most, " at x ", worst % (56 * 8), " y ",
             worst / (56 * 8) % (40 * 8));
        CHECK(tiled.values == whole.values);
    }
    // Overlap short of the receptive field: not exact, but close, and no visible seam.
    Decoder dec;
    dec.radius = 3;
    const auto model = dec.model();
    const Tensor whole = decode_latents(*model, latents, 8, 0, 0);
    const Tensor tiled = decode_latents(*model, latents, 8, 16, 4, 0);
    double most = 0, mean = 0;
    for (std::size_t i = 0; i < whole.values.size(); ++i) {
        const double d = std::abs(whole.values[i] - tiled.values[i]);
        most = std::max(most, d);
        mean += d;
    }
    mean /= static_cast<double>(whole.values.size());
    CHECK(most > 0);
    CHECK(most < 0.5);  // of a −1..1 range, where a hard cut would differ by up to the signal
    CHECK(mean < 0.02);
}

TEST_CASE("the CLIP tokenizer reads vocab.json and merges.txt and splits as CLIP does") {
    artistry::test::TempDir dir;
    {
        std::ofstream v(dir.file("vocab.json"));
        v << R"({"<|startoftext|>": 0, "<|endoftext|>": 1, "a</w>": 2, "c": 3, "a": 4,
                 "t</w>": 5, "ca": 6, "cat</w>": 7, "s</w>": 8, "'s</w>": 9, "1</w>": 10,
                 "2</w>": 11, "!</w>": 12, "d": 13, "o": 14, "g</w>": 15, "do": 16, "dog</w>": 17,
                 "'": 18, "s": 19})";
        std::ofstream m(dir.file("merges.txt"));
        m << "#version: 0.2\nc a\nca t</w>\nd o\ndo g</w>\n' s</w>\n";
    }
    const ClipTokenizer tok(dir.file("vocab.json"), dir.file("merges.txt"));
    CHECK(tok.pieces("A cat's dog!") ==
          std::vector<std::string>{"a</w>", "cat</w>", "'s</w>", "dog</w>", "!</w>"});
    CHECK(tok.pieces("cat12") == std::vector<std::string>{"cat</w>", "1</w>", "2</w>"});
    const auto ids = tok.encode("a cat", 6);
    CHECK(ids == std::vector<std::int64_t>{0, 2, 7, 1, 1, 1});
    CHECK(tok.encode("a a a a a a a", 4) == std::vector<std::int64_t>{0, 2, 2, 1});  // cut
    CHECK_THROWS_AS(tok.encode("zebra"), Error);
    CHECK_THROWS_AS(ClipTokenizer(dir.file("missing.json"), dir.file("merges.txt")), Error);
}
