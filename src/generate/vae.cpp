// The pipeline's settings from a manifest entry, and VAE decoding whole or in blended tiles.

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "artistry/error.hpp"
#include "artistry/generate.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

DiffusionComponents read_diffusion_components(const ModelSpec& pipeline) {
    DiffusionComponents c;
    nlohmann::json x;
    try {
        x = pipeline.extras.empty() ? nlohmann::json::object()
                                    : nlohmann::json::parse(pipeline.extras);
        const auto text = [&](const char* key) { return x.value(key, std::string()); };
        c.unet = text("unet");
        c.vae_decoder = text("vae_decoder");
        c.vae_encoder = text("vae_encoder");
        c.text_encoder = text("text_encoder");
        const auto folder =
            pipeline.file.empty() ? std::filesystem::path() : pipeline.file.parent_path();
        const auto path = [&](const char* key) {
            const std::string v = text(key);
            return v.empty() ? v : (folder / v).lexically_normal().string();
        };
        c.vocab = path("vocab");
        c.merges = path("merges");
        c.latent_channels = x.value("latent_channels", c.latent_channels);
        c.scaling_factor = x.value("scaling_factor", c.scaling_factor);
        c.vae_factor = x.value("vae_factor", c.vae_factor);
        const std::string prediction = x.value("prediction", std::string("epsilon"));
        if (prediction != "epsilon" && prediction != "v" && prediction != "v_prediction")
            throw Error(Status::invalid_argument, "prediction must be \"epsilon\" or \"v\"");
        c.prediction = prediction == "epsilon" ? Prediction::epsilon : Prediction::v;
        if (const auto s = x.find("schedule"); s != x.end()) {
            c.schedule.train_steps = s->value("train_steps", c.schedule.train_steps);
            c.schedule.beta_start = s->value("beta_start", c.schedule.beta_start);
            c.schedule.beta_end = s->value("beta_end", c.schedule.beta_end);
            c.schedule.scaled_linear =
                s->value("beta_schedule", std::string("scaled_linear")) == "scaled_linear";
        }
        c.latent_rgb = x.value("latent_rgb", std::vector<float>());
        c.unet_bytes_per_latent_pixel =
            x.value("unet_bytes_per_latent_pixel", c.unet_bytes_per_latent_pixel);
        c.vae_bytes_per_pixel = x.value("vae_bytes_per_pixel", c.vae_bytes_per_pixel);
        c.vae_receptive_field = x.value("vae_receptive_field", c.vae_receptive_field);
    } catch (const nlohmann::json::exception& e) {
        throw Error(Status::invalid_argument,
                    fmt::format("diffusion pipeline '{}': extras: {}", pipeline.name, e.what()));
    } catch (const Error& e) {
        throw Error(e.status(),
                    fmt::format("diffusion pipeline '{}': {}", pipeline.name, e.what()));
    }
    if (c.unet.empty() || c.vae_decoder.empty())
        throw Error(Status::invalid_argument,
                    fmt::format("diffusion pipeline '{}': extras must name \"unet\" and "
                                "\"vae_decoder\" models",
                                pipeline.name));
    if (c.latent_channels < 1 || c.vae_factor < 1 || !(c.scaling_factor > 0))
        throw Error(Status::invalid_argument,
                    fmt::format("diffusion pipeline '{}': latent_channels, vae_factor and "
                                "scaling_factor must be positive",
                                pipeline.name));
    if (!c.latent_rgb.empty() &&
        c.latent_rgb.size() != static_cast<std::size_t>(3 * c.latent_channels + 3))
        throw Error(Status::invalid_argument,
                    fmt::format("diffusion pipeline '{}': latent_rgb needs {} numbers",
                                pipeline.name, 3 * c.latent_channels + 3));
    return c;
}

namespace {

// Latent rows y0..y1, columns x0..x1 of [1, C, h, w].
Tensor crop(const Tensor& t, int x0, int y0, int x1, int y1) {
    const auto c = t.shape[1], h = t.shape[2], w = t.shape[3];
    Tensor out({1, c, y1 - y0, x1 - x0});
    float* q = out.values.data();
    for (std::int64_t ch = 0; ch < c; ++ch)
        for (int y = y0; y < y1; ++y) {
            const float* p = t.values.data() + (ch * h + y) * w + x0;
            q = std::copy(p, p + (x1 - x0), q);
        }
    return out;
}

// Tile starts along one side: every `step`, the last one flush with the end.
std::vector<int> starts(int size, int tile, int step) {
    std::vector<int> s;
    for (int x = 0;; x += step) {
        if (x + tile >= size) {
            s.push_back(std::max(0, size - tile));
            break;
        }
        s.push_back(x);
    }
    s.erase(std::unique(s.begin(), s.end()), s.end());
    return s;
}

// Weight of the new tile across an overlap of `width` pixels that begins at 0: 0 over the
// first `exact` pixels (the new tile's edge, where it may differ from the whole decode), 1
// over the last `exact` (the old tile's edge), a linear ramp between.
double ramp(int at, int width, int exact) {
    if (width <= 0) return 1;
    const int a = std::min(exact, width / 2), b = width - a;
    if (at < a) return 0;
    if (at >= b) return 1;
    return (at - a + 0.5) / (b - a);
}

// The old value moved toward the new by weight w: exactly the old at 0, the new at 1, and the
// old (= the new) wherever both agree.
float blend(float old, float now, double w) {
    if (w >= 1) return now;
    if (w <= 0) return old;
    return static_cast<float>(old + w * (now - old));
}

// Rows [from, to) of planar [3, rows, W] as a new [3, to − from, W].
Tensor rows_of(const Tensor& t, std::int64_t from, std::int64_t to) {
    const std::int64_t rows = t.shape[1], W = t.shape[2];
    Tensor out({3, to - from, W});
    for (int c = 0; c < 3; ++c)
        std::copy(t.values.begin() + (c * rows + from) * W, t.values.begin() + (c * rows + to) * W,
                  out.values.begin() + c * (to - from) * W);
    return out;
}

}  // namespace

void decode_latent_rows(const Model& decoder, const Tensor& latents, int vae_factor, int tile,
                        int overlap, int receptive_field, int* tiles_used,
                        const std::function<void(const Tensor& rows, std::int64_t y0)>& sink) {
    if (latents.shape.size() != 4 || latents.shape[0] != 1)
        throw Error(Status::invalid_argument, "decode_latents: latents must be [1, C, h, w]");
    const int h = static_cast<int>(latents.shape[2]), w = static_cast<int>(latents.shape[3]);
    if (tile <= 0 || (tile >= w && tile >= h)) {
        if (tiles_used) *tiles_used = 1;
        Tensor whole = decoder.run({latents}).at(0);
        whole.shape.erase(whole.shape.begin());
        sink(whole, 0);
        return;
    }
    overlap = std::clamp(overlap, 0, tile - 1);
    const int f = vae_factor, step = tile - overlap;
    const auto xs = starts(w, tile, step), ys = starts(h, tile, step);
    const std::int64_t W = std::int64_t{w} * f;
    const int exact = std::max(0, receptive_field) * f;
    // Each row of tiles is blended left to right into a full-width strip, then each strip
    // into the rows above it, top to bottom: one overlap at a time, so every blended pixel
    // mixes two values that are exact wherever the receptive field allows. Rows no later strip
    // reaches go to the sink at once: memory holds a strip and its overlap, not the image.
    Tensor pending;  // the previous strip's rows from pending_y on, not final yet
    std::int64_t pending_y = 0;
    for (std::size_t ty = 0; ty < ys.size(); ++ty) {
        const int y0 = ys[ty], y1 = std::min(h, y0 + tile);
        const std::int64_t th = std::int64_t{y1 - y0} * f, y0px = std::int64_t{y0} * f;
        Tensor strip({3, th, W});
        for (std::size_t tx = 0; tx < xs.size(); ++tx) {
            const int x0 = xs[tx], x1 = std::min(w, x0 + tile);
            const Tensor pixels = decoder.run({crop(latents, x0, y0, x1, y1)}).at(0);
            const std::int64_t tw = std::int64_t{x1 - x0} * f;
            if (pixels.shape != std::vector<std::int64_t>{1, 3, th, tw})
                throw Error(Status::invalid_argument,
                            fmt::format("decode_latents: the decoder gave a {}-d tensor, not "
                                        "[1, 3, {}, {}] for a {}x{} latent tile",
                                        pixels.shape.size(), th, tw, x1 - x0, y1 - y0));
            const int left = tx > 0 ? (xs[tx - 1] + std::min(tile, w - xs[tx - 1]) - x0) * f : 0;
            for (std::int64_t row = 0; row < 3 * th; ++row) {
                const float* p = pixels.values.data() + row * tw;
                float* q = strip.values.data() + row * W + std::int64_t{x0} * f;
                for (std::int64_t x = 0; x < tw; ++x)
                    q[x] = blend(q[x], p[x], x < left ? ramp(static_cast<int>(x), left, exact) : 1);
            }
        }
        if (ty > 0) {
            const std::int64_t pn = pending.shape[1];
            if (y0px > pending_y) sink(rows_of(pending, 0, y0px - pending_y), pending_y);
            const auto top = static_cast<int>(pending_y + pn - y0px);  // rows both strips hold
            for (int c = 0; c < 3; ++c)
                for (std::int64_t y = 0; y < top; ++y) {
                    const double wy = ramp(static_cast<int>(y), top, exact);
                    const float* q = pending.values.data() + (c * pn + y0px - pending_y + y) * W;
                    float* p = strip.values.data() + (c * th + y) * W;
                    for (std::int64_t x = 0; x < W; ++x) p[x] = blend(q[x], p[x], wy);
                }
        }
        const std::int64_t keep_from =
            ty + 1 < ys.size() ? std::min(th, std::int64_t{ys[ty + 1]} * f - y0px) : th;
        if (keep_from > 0) sink(rows_of(strip, 0, keep_from), y0px);
        pending = rows_of(strip, keep_from, th);
        pending_y = y0px + keep_from;
    }
    if (tiles_used) *tiles_used = static_cast<int>(xs.size() * ys.size());
}

Tensor decode_latents(const Model& decoder, const Tensor& latents, int vae_factor, int tile,
                      int overlap, int receptive_field, int* tiles_used) {
    const std::int64_t H = latents.shape.size() == 4 ? latents.shape[2] * vae_factor : 0;
    const std::int64_t W = latents.shape.size() == 4 ? latents.shape[3] * vae_factor : 0;
    Tensor out({1, 3, H, W});
    decode_latent_rows(decoder, latents, vae_factor, tile, overlap, receptive_field, tiles_used,
                       [&](const Tensor& rows, std::int64_t y0) {
                           const std::int64_t n = rows.shape[1];
                           if (rows.shape[2] != W || y0 + n > H)
                               throw Error(Status::invalid_argument,
                                           "decode_latents: the decoder's output is not the "
                                           "latents' size times the VAE factor");
                           for (int c = 0; c < 3; ++c)
                               std::copy(rows.values.begin() + c * n * W,
                                         rows.values.begin() + (c + 1) * n * W,
                                         out.values.begin() + (c * H + y0) * W);
                       });
    return out;
}

double seam_ratio(const Image& image, int step) {
    if (step < 2 || image.width() < 2 || image.height() < 2) return 1;
    const int c = image.channels();
    double all = 0, border = 0;
    std::uint64_t n_all = 0, n_border = 0;
    for (int y = 1; y < image.height(); ++y) {
        const std::uint8_t* row = image.row(y);
        const std::uint8_t* above = image.row(y - 1);
        for (int x = 1; x < image.width(); ++x)
            for (int k = 0; k < std::min(c, 3); ++k) {
                const double dx = std::abs(row[x * c + k] - row[(x - 1) * c + k]);
                const double dy = std::abs(row[x * c + k] - above[x * c + k]);
                all += dx + dy;
                n_all += 2;
                if (x % step == 0) border += dx, ++n_border;
                if (y % step == 0) border += dy, ++n_border;
            }
    }
    if (n_border == 0 || all == 0) return 1;
    return (border / static_cast<double>(n_border)) / (all / static_cast<double>(n_all));
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
