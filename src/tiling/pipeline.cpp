// The band pipeline: stages that turn full-width row bands in raster order into finished rows.

#include "tiling/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <numeric>

#include <fmt/format.h>
#include <tbb/info.h>

#include "artistry/error.hpp"
#include "util/parallel.hpp"

namespace artistry::tiling {

namespace {

bool is_halo_kind(const Footprint& f) {
    return f.kind == Footprint::Kind::point || f.kind == Footprint::Kind::local;
}

// Steps that never need the whole image: halo steps and steps with a streamed analysis (a
// point step once analysed).
bool is_streamed(const ResolvedStep& s) {
    return is_halo_kind(s.footprint) || has_analysis(s);
}

// One step of a halo segment, with its analysis state when it is an analysed global step.
struct TileStep {
    const ResolvedStep* step = nullptr;
    std::shared_ptr<const void> state;
    std::string* data = nullptr;  // where its structured output goes, when collected
};

EffectContext context_at(int x, int y, const PipelineShape& shape);

// The slot for step `s`'s structured output, when the run collects it.
std::string* data_slot(const std::vector<ResolvedStep>& steps, const ResolvedStep& s,
                       const PipelineShape& shape) {
    auto* slots = shape.context.data;
    const auto at = static_cast<std::size_t>(&s - steps.data());
    return slots != nullptr && s.info->has_data && at < slots->size() ? &(*slots)[at] : nullptr;
}

// A sequential step's band processor; with `state`, an analysed global step's (null when it
// applies per tile instead).
std::unique_ptr<BandProcessor> band_processor(const ResolvedStep& s, const PipelineShape& shape,
                                              const std::shared_ptr<const void>& state = {}) {
    if (!s.info->begin_bands) return nullptr;
    if (state ? s.footprint.kind != Footprint::Kind::global
              : s.footprint.kind != Footprint::Kind::sequential)
        return nullptr;
    return s.info->begin_bands(s.params, shape.width, shape.height, context_at(0, 0, shape), state);
}

void copy_rows(const Image& src, const Image& dst, int dst_x, int dst_y) {
    const std::size_t n = src.row_bytes(),
                      off = static_cast<std::size_t>(dst_x) * dst.pixel_bytes();
    for (int y = 0; y < src.height(); ++y) std::memcpy(dst.row(dst_y + y) + off, src.row(y), n);
}

PipelineShape shape_of_size(int width, int height) {
    PipelineShape shape;
    shape.width = width;
    shape.height = height;
    return shape;
}

EffectContext context_at(int x, int y, const PipelineShape& shape) {
    EffectContext ctx;
    ctx.origin_x = x;
    ctx.origin_y = y;
    ctx.full_width = shape.width;
    ctx.full_height = shape.height;
    ctx.models = shape.context.models;
    ctx.cancel = shape.context.cancel;
    return ctx;
}

// Point and local effects in a row: halo = the sum of their radii. Keeps a window of input rows
// and emits the rows whose halo it has seen, tile by tile. The last step may change the size by
// an integer factor (an upscaler): its tiles are then full rows of whole alignment units, and
// the output rows are that factor more.
class HaloStage final : public Stage {
  public:
    HaloStage(std::vector<TileStep> steps, const PipelineShape& shape, BandSink sink)
        : steps_(std::move(steps)), shape_(shape), sink_(std::move(sink)) {
        for (const auto& s : steps_)
            if (s.state || s.step->footprint.kind == Footprint::Kind::local)
                halo_ += s.step->footprint.radius;
        const ResolvedStep& last = *steps_.back().step;
        if (!last.scale.identity()) {
            scale_ = last.scale.num;
            align_ = std::max(1, last.footprint.band_alignment);
        }
    }

    void push(const Image& band, int y0) override {
        if (y0 != window_y0_ + window_.height() && !window_.empty())
            throw Error(Status::internal, "tiling: bands out of order");
        if (window_.empty()) {
            window_ = band;  // no copy: a view of the caller's band is enough until trimmed
            window_y0_ = y0;
            borrowed_ = true;
        } else {
            Image joined =
                Image::allocate(shape_.width, window_.height() + band.height(), band.channels());
            copy_rows(window_, joined, 0, 0);
            copy_rows(band, joined, 0, window_.height());
            window_ = std::move(joined);
        }
        emit(false);
    }

    void finish() override { emit(true); }

  private:
    void emit(bool last) {
        const int window_end = window_y0_ + window_.height();
        const int ready = (last || window_end >= shape_.height)
                              ? window_end
                              : (window_end - halo_) / align_ * align_;
        if (ready <= emitted_) {
            if (borrowed_) window_ = window_.clone();
            borrowed_ = false;
            return;
        }
        run_tiles(emitted_, ready);
        emitted_ = ready;
        // Keep the rows the next output rows still need as their upper halo.
        const int keep_from = std::max(window_y0_, emitted_ - halo_);
        if (keep_from >= window_end) {
            window_ = Image();
            window_y0_ = window_end;
        } else if (keep_from > window_y0_) {
            window_ =
                window_.view({0, keep_from - window_y0_, shape_.width, window_end - keep_from})
                    .clone();
            window_y0_ = keep_from;
        } else if (borrowed_) {
            window_ = window_.clone();  // the caller may reuse its band once push returns
        }
        borrowed_ = false;
    }

    Image run_steps(Image img, int x, int y) {
        EffectContext ctx = context_at(x, y, shape_);
        for (const auto& s : steps_) {
            ctx.analysis = s.state;
            std::string data;
            ctx.data = s.data != nullptr ? &data : nullptr;
            img = s.step->info->render(img, s.step->params, ctx);
            if (s.data != nullptr) {  // every tile says the same: the first one is kept
                const std::lock_guard lock(data_mutex_);
                if (s.data->empty()) *s.data = std::move(data);
            }
        }
        return img;
    }

    void run_tiles(int y0, int y1) {
        const int w = shape_.width, h = shape_.height, s = scale_;
        const int tw = shape_.tile_width > 0 && s == 1 ? std::min(shape_.tile_width, w) : w;
        const int th = (std::max(1, shape_.tile_rows) + align_ - 1) / align_ * align_;
        const int cols = (w + tw - 1) / tw, rows = (y1 - y0 + th - 1) / th;
        const auto ext = [&](int tx, int ty, Rect& tile, Rect& e) {
            tile = {tx * tw, y0 + ty * th, std::min(tw, w - tx * tw),
                    std::min(th, y1 - y0 - ty * th)};
            e.x = std::max(0, tile.x - halo_);
            e.y = std::max(0, tile.y - halo_);
            e.width = std::min(w, tile.x + tile.width + halo_) - e.x;
            e.height = std::min(h, tile.y + tile.height + halo_) - e.y;
        };
        const auto input = [&](const Rect& e) {
            return window_.view({e.x, e.y - window_y0_, e.width, e.height});
        };
        if (cols == 1 && rows == 1) {
            Rect tile, e;
            ext(0, 0, tile, e);
            Image out = run_steps(input(e), e.x, e.y);
            sink_(
                out.view({(tile.x - e.x) * s, (tile.y - e.y) * s, tile.width * s, tile.height * s}),
                y0 * s);
            return;
        }
        // The first tile tells the output's channels (pop_art turns RGBA into RGB).
        Image out;
        const auto run_tile = [&](int i) {
            Rect tile, e;
            ext(i % cols, i / cols, tile, e);
            const Image r = run_steps(input(e), e.x, e.y);
            if (out.empty()) out = Image::allocate(w * s, (y1 - y0) * s, r.channels());
            if (r.channels() != out.channels())
                throw Error(Status::internal, "tiling: tiles gave different channel counts");
            copy_rows(
                r.view({(tile.x - e.x) * s, (tile.y - e.y) * s, tile.width * s, tile.height * s}),
                out, tile.x * s, (tile.y - y0) * s);
        };
        run_tile(0);
        // Tiles on pool threads charge the run's account too.
        util::parallel_for(1, cols * rows, [&, account = AllocationScope::current()](int i) {
            const AllocationScope on_this_thread(account);
            run_tile(i);
        });
        sink_(out, y0 * s);
    }

    std::vector<TileStep> steps_;
    PipelineShape shape_;
    BandSink sink_;
    std::mutex data_mutex_;
    int halo_ = 0;
    int scale_ = 1;  // the last step's output is this many times larger …
    int align_ = 1;  // … and its rows come in whole multiples of its band alignment
    Image window_;   // input rows window_y0_ … window_y0_ + height − 1
    int window_y0_ = 0;
    bool borrowed_ = false;
    int emitted_ = 0;
};

// Error diffusion and other sequential effects: one band processor, bands in order.
class BandStage final : public Stage {
  public:
    BandStage(std::unique_ptr<BandProcessor> processor, BandSink sink)
        : processor_(std::move(processor)), sink_(std::move(sink)) {}
    void push(const Image& band, int y0) override {
        Image out = Image::allocate(band.width(), band.height(), band.channels());
        processor_->process(band, out, y0);
        sink_(out, y0);
    }
    void finish() override {}

  private:
    std::unique_ptr<BandProcessor> processor_;
    BandSink sink_;
};

// Regroups bands for a stage whose bands must start and end on multiples of `alignment`
// (absolute rows), but for the image's last band.
class AlignStage final : public Stage {
  public:
    AlignStage(int alignment, int height, std::unique_ptr<Stage> inner)
        : alignment_(alignment), height_(height), inner_(std::move(inner)) {}
    void push(const Image& band, int y0) override {
        if (!pending_.empty() && y0 != pending_y0_ + pending_.height())
            throw Error(Status::internal, "tiling: bands out of order");
        if (pending_.empty()) {
            pending_ = band;
            pending_y0_ = y0;
        } else {
            Image joined =
                Image::allocate(band.width(), pending_.height() + band.height(), band.channels());
            copy_rows(pending_, joined, 0, 0);
            copy_rows(band, joined, 0, pending_.height());
            pending_ = std::move(joined);
        }
        const int end = pending_y0_ + pending_.height();
        const int cut = end >= height_ ? end : std::max(pending_y0_, end / alignment_ * alignment_);
        if (cut > pending_y0_)
            inner_->push(pending_.view({0, 0, pending_.width(), cut - pending_y0_}), pending_y0_);
        if (cut >= end) {
            pending_ = Image();
        } else {
            // The caller may reuse its band once push returns: keep a copy of the rest.
            pending_ = pending_.view({0, cut - pending_y0_, pending_.width(), end - cut}).clone();
            pending_y0_ = cut;
        }
    }
    void finish() override {
        if (!pending_.empty()) inner_->push(pending_, pending_y0_);
        pending_ = Image();
        inner_->finish();
    }

  private:
    int alignment_, height_;
    std::unique_ptr<Stage> inner_;
    Image pending_;  // rows waiting for an aligned end
    int pending_y0_ = 0;
};

std::unique_ptr<Stage> aligned(std::unique_ptr<Stage> stage, const ResolvedStep& step, int height) {
    const int a = step.footprint.band_alignment;
    if (a <= 1) return stage;
    return std::make_unique<AlignStage>(a, height, std::move(stage));
}

// Gathers the whole image and runs the effect once: global effects without a streamed pass.
class WholeStage final : public Stage {
  public:
    WholeStage(const ResolvedStep& step, const PipelineShape& shape, BandSink sink,
               std::string* data)
        : step_(step), shape_(shape), sink_(std::move(sink)), data_(data) {}
    void push(const Image& band, int y0) override {
        if (full_.empty()) full_ = Image::allocate(shape_.width, shape_.height, band.channels());
        copy_rows(band, full_, 0, y0);
    }
    void finish() override {
        EffectContext ctx = context_at(0, 0, shape_);
        ctx.data = data_;
        const Image out = apply_effect(*step_.info, full_, step_.params, ctx);
        full_ = Image();
        const int t = std::max(1, shape_.tile_rows);
        for (int y = 0; y < out.height(); y += t)
            sink_(out.view({0, y, out.width(), std::min(t, out.height() - y)}), y);
    }

  private:
    const ResolvedStep& step_;
    PipelineShape shape_;
    BandSink sink_;
    std::string* data_;  // the step's structured output, when collected
    Image full_;
};

// The analysis pass of a global step: every band into its analyzer; the state on finish.
class AnalyzeStage final : public Stage {
  public:
    AnalyzeStage(std::unique_ptr<Analyzer> analyzer, std::shared_ptr<const void>& result)
        : analyzer_(std::move(analyzer)), result_(result) {}
    void push(const Image& band, int y0) override { analyzer_->add_rows(band, y0); }
    void finish() override {
        result_ = analyzer_->finish();
        if (!result_) throw Error(Status::internal, "tiling: an analysis gave no state");
    }

  private:
    std::unique_ptr<Analyzer> analyzer_;
    std::shared_ptr<const void>& result_;
};

class Chain final : public Stage {
  public:
    explicit Chain(std::vector<std::unique_ptr<Stage>> stages) : stages_(std::move(stages)) {}
    void push(const Image& band, int y0) override { stages_.front()->push(band, y0); }
    void finish() override {
        for (auto& s : stages_) s->finish();
    }

  private:
    std::vector<std::unique_ptr<Stage>> stages_;
};

class PassStage final : public Stage {
  public:
    explicit PassStage(BandSink sink) : sink_(std::move(sink)) {}
    void push(const Image& band, int y0) override { sink_(band, y0); }
    void finish() override {}

  private:
    BandSink sink_;
};

}  // namespace

EffectPlan ResolvedStep::plan(int width, int height) const {
    EffectContext ctx;
    ctx.models = models;
    return info->plan(params, width, height, ctx);
}

bool has_analysis(const ResolvedStep& step) {
    return step.footprint.kind == Footprint::Kind::global && step.info->begin_analysis;
}

std::vector<ResolvedStep> resolve_chain(const EffectChain& chain, const TileOptions& options) {
    const EffectRegistry& reg = options.registry ? *options.registry : EffectRegistry::builtin();
    std::vector<ResolvedStep> steps;
    for (const auto& c : chain) {
        ResolvedStep s;
        s.info = &reg.get(c.effect);
        s.params = reg.resolve(c.effect, c.params);
        s.models = options.models;
        const EffectPlan plan = s.plan(0, 0);
        s.footprint = plan.footprint;
        s.scale = plan.scale;
        if (plan.scale.den != 1)  // bands of output rows: whole multiples of input rows
            throw Error(Status::unsupported,
                        fmt::format("effect '{}' makes the image {}/{} its size and cannot "
                                    "stream in bands (they hold whole multiples of input rows); "
                                    "run it in memory",
                                    c.effect, plan.scale.num, plan.scale.den));
        steps.push_back(std::move(s));
    }
    return steps;
}

namespace {

// One stage's worth of steps: a run of halo steps, a band processor, an analysis pass or a
// step that runs whole.
struct Group {
    std::vector<TileStep> steps;
    PipelineShape shape;  // of its input: a size-changing step before it changes it
    bool halo = false;
    std::size_t analyse = 0;               // analysis pass: 1 + the step's index
    std::unique_ptr<BandProcessor> bands;  // an analysed step that runs in bands
};

// Groups the steps: runs of point/local (analysed global steps included), then one group per
// other step; an analysis pass ends the chain.
std::vector<Group> group_steps(const std::vector<ResolvedStep>& steps, const PipelineShape& shape,
                               AnalysisStates* states) {
    std::vector<Group> groups;
    PipelineShape cur = shape;
    bool open_halo = false;  // the last group takes more halo steps
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const auto& s = steps[i];
        std::shared_ptr<const void> state;
        if (states && has_analysis(s)) {
            state = states->at(i);
            if (!state) {
                groups.push_back({{{&s, nullptr}}, cur, false, i + 1, nullptr});
                break;
            }
        }
        const bool halo = is_halo_kind(s.footprint) || state != nullptr;
        std::unique_ptr<BandProcessor> bands;
        if (state) bands = band_processor(s, cur, state);
        if (bands) {
            groups.push_back({{{&s, nullptr}}, cur, false, 0, std::move(bands)});
        } else if (halo && open_halo) {
            groups.back().steps.push_back({&s, std::move(state), data_slot(steps, s, shape)});
        } else {
            groups.push_back(
                {{{&s, std::move(state), data_slot(steps, s, shape)}}, cur, halo, 0, nullptr});
        }
        // A size-changing step ends its group: the next works on the larger image.
        open_halo = halo && groups.back().halo && s.scale.identity();
        if (!s.scale.identity()) {
            cur.width = s.scale.apply(cur.width);
            cur.height = s.scale.apply(cur.height);
            cur.tile_rows = s.scale.apply(cur.tile_rows);
            cur.tile_width = s.scale.apply(cur.tile_width);
        }
    }
    return groups;
}

}  // namespace

std::unique_ptr<Stage> build_pipeline(const std::vector<ResolvedStep>& steps,
                                      const PipelineShape& shape, BandSink sink, bool* whole_image,
                                      AnalysisStates* states) {
    if (whole_image) *whole_image = false;
    // Built back to front so each stage's sink is the next stage.
    std::vector<Group> groups = group_steps(steps, shape, states);
    if (groups.empty()) return std::make_unique<PassStage>(std::move(sink));

    std::vector<std::unique_ptr<Stage>> stages(groups.size());
    for (std::size_t i = groups.size(); i-- > 0;) {
        BandSink next =
            i + 1 < groups.size()
                ? BandSink([s = stages[i + 1].get()](const Image& b, int y) { s->push(b, y); })
                : sink;
        Group& g = groups[i];
        const ResolvedStep& first = *g.steps[0].step;
        const PipelineShape& in = g.shape;
        if (g.analyse) {
            auto analyzer =
                first.info->begin_analysis(first.params, in.width, in.height, context_at(0, 0, in));
            if (!analyzer)  // these parameters need the whole image at once (classical matting)
                throw Error(Status::unsupported,
                            fmt::format("effect '{}' with {} needs the whole image in memory and "
                                        "cannot stream in bands; run it in memory (a larger "
                                        "ARTISTRY_MEMORY_BUDGET, no --tile) or choose parameters "
                                        "that stream",
                                        first.info->name, first.params.canonical()));
            stages[i] = aligned(
                std::make_unique<AnalyzeStage>(std::move(analyzer), states->at(g.analyse - 1)),
                first, in.height);
        } else if (g.halo) {
            stages[i] = std::make_unique<HaloStage>(g.steps, in, std::move(next));
        } else if (auto p = g.bands ? std::move(g.bands) : band_processor(first, in)) {
            stages[i] = aligned(std::make_unique<BandStage>(std::move(p), std::move(next)), first,
                                in.height);
        } else {
            if (whole_image) *whole_image = true;
            stages[i] = std::make_unique<WholeStage>(first, in, std::move(next),
                                                     data_slot(steps, first, shape));
        }
    }
    return std::make_unique<Chain>(std::move(stages));
}

std::unique_ptr<Stage> next_analysis_pass(const std::vector<ResolvedStep>& steps,
                                          const PipelineShape& shape, AnalysisStates& states) {
    if (states.size() != steps.size()) states.resize(steps.size());
    for (std::size_t i = 0; i < steps.size(); ++i)
        if (has_analysis(steps[i]) && !states[i])
            return build_pipeline(steps, shape, BandSink(), nullptr, &states);
    return nullptr;
}

AnalysisStates analyse_chain(const std::vector<ResolvedStep>& steps, const PipelineShape& shape,
                             const std::function<void(Stage&)>& source) {
    AnalysisStates states(steps.size());
    std::size_t done = 0;
    while (auto pass = next_analysis_pass(steps, shape, states)) {
        source(*pass);
        const auto analysed = static_cast<std::size_t>(std::count_if(
            states.begin(), states.end(), [](const auto& s) { return s != nullptr; }));
        if (analysed <= done)
            throw Error(Status::internal, "tiling: an analysis pass did not finish");
        done = analysed;
    }
    return states;
}

std::pair<int, int> output_size(const std::vector<ResolvedStep>& steps, int width, int height) {
    for (const auto& s : steps) {
        width = s.scale.apply(width);
        height = s.scale.apply(height);
    }
    return {width, height};
}

std::vector<std::string> whole_image_effects(const std::vector<ResolvedStep>& steps, int width,
                                             int height) {
    std::vector<std::string> names;
    for (const auto& s : steps)
        if (!is_streamed(s) && !band_processor(s, shape_of_size(width, height)))
            names.push_back(s.info->name);
    return names;
}

std::uint64_t working_set(const std::vector<ResolvedStep>& steps, const PipelineShape& shape,
                          int queue_depth) {
    using u64 = std::uint64_t;
    u64 W = static_cast<u64>(shape.width), H = static_cast<u64>(shape.height);
    const u64 ch = static_cast<u64>(shape.channels);
    u64 t = static_cast<u64>(shape.tile_rows);
    u64 row = W * ch;
    // After a size-changing step, the rows that follow are larger and more.
    const auto rescale = [&](const ResolvedStep& s) {
        W = static_cast<u64>(s.scale.apply(static_cast<int>(W)));
        H = static_cast<u64>(s.scale.apply(static_cast<int>(H)));
        t = static_cast<u64>(s.scale.apply(static_cast<int>(t)));
        row = W * ch;
    };
    const auto estimate = [](const ResolvedStep& s, u64 w, u64 h) -> u64 {
        return s.info->describe ? s.plan(static_cast<int>(w), static_cast<int>(h)).memory_bytes
                                : 4 * w * h;
    };
    // Bands in the two queues, plus the one being read and the one being written.
    u64 bytes = 2 * static_cast<u64>(queue_depth + 1) * t * row;
    std::size_t i = 0;
    while (i < steps.size()) {
        if (is_streamed(steps[i])) {
            // Analysed global steps count as point steps: the final pass is the largest.
            u64 halo = 0, worst = 0;
            std::size_t j = i;
            for (; j < steps.size() && is_streamed(steps[j]) &&
                   (j == i || steps[j - 1].scale.identity());
                 ++j)
                halo += steps[j].footprint.kind != Footprint::Kind::point
                            ? static_cast<u64>(std::max(0, steps[j].footprint.radius))
                            : 0;
            const u64 tw =
                shape.tile_width > 0 ? std::min<u64>(static_cast<u64>(shape.tile_width), W) : W;
            const u64 ew = std::min(W, tw + 2 * halo), eh = std::min(H, t + 2 * halo);
            for (std::size_t k = i; k < j; ++k) worst = std::max(worst, estimate(steps[k], ew, eh));
            const u64 in_flight =
                shape.tile_width > 0
                    ? std::min<u64>(static_cast<u64>(std::max(1, tbb::info::default_concurrency())),
                                    (W + tw - 1) / tw)
                    : 1;
            const u64 grow = static_cast<u64>(steps[j - 1].scale.apply(1));  // output rows
            bytes += (2 * t + 2 * halo) * row + t * row * grow * grow +
                     in_flight * (2 * ew * eh * ch + worst);
            rescale(steps[j - 1]);
            i = j;
        } else if (band_processor(steps[i], shape)) {
            // Aligned regrouping holds up to one alignment's rows more than the band.
            const u64 a = static_cast<u64>(std::max(1, steps[i].footprint.band_alignment));
            bytes += (t + a) * row + estimate(steps[i], W, t + a);
            ++i;
        } else {
            bytes += 2 * H * row + estimate(steps[i], W, H);
            rescale(steps[i]);
            ++i;
        }
    }
    return bytes;
}
}  // namespace artistry::tiling
