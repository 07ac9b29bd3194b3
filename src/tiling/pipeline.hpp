#pragma once
// The band pipeline behind run_tiled and run_tiled_file: a chain split into stages (a segment of
// point/local effects with its halo, a sequential band processor, or a whole-image stage), each
// taking full-width row bands in raster order and passing its finished rows to the next.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "artistry/tiling.hpp"

namespace artistry::tiling {

struct ResolvedStep {
    const EffectInfo* info = nullptr;
    Params params;
    Footprint footprint;
    Scale scale;                   // the output's size (an integer factor: bands stay whole rows)
    ModelStore* models = nullptr;  // what describe and begin_analysis are told (null: shared)

    // The effect's plan for a width × height input (EffectInfo::plan).
    EffectPlan plan(int width, int height) const;
};

// A global step with a streamed analysis (EffectInfo::begin_analysis set).
bool has_analysis(const ResolvedStep& step);

// Per step of a chain: the state its analysis pass produced (null: not analysed yet, or a step
// without analysis).
using AnalysisStates = std::vector<std::shared_ptr<const void>>;

// The load options of a streamed read: the pixel and file-size limits lifted (memory is bounded
// by the band), the per-side limit kept.
LoadOptions streamed_load(const LoadOptions& load);

// Effects take RGB or RGBA: a grey file's rows are expanded as they are read.
Image grey_to_rgb(const Image& grey);

std::vector<ResolvedStep> resolve_chain(const EffectChain& chain, const TileOptions& options);

// Receives finished rows: band (full width) holds absolute rows y0 … y0 + height − 1.
using BandSink = std::function<void(const Image& band, int y0)>;

class Stage {
  public:
    virtual ~Stage() = default;
    virtual void push(const Image& band, int y0) = 0;  // rows in raster order, no gaps
    virtual void finish() = 0;                         // after the last row
};

// What a run gives its effects besides pixels and their place: the EffectContext fields that
// the whole-image path sets too.
struct RunContext {
    ModelStore* models = nullptr;  // null: ModelStore::shared()
    const std::atomic<bool>* cancel = nullptr;
    // Per step of the chain: the structured output of a has_data step that ran on the whole
    // image (a global step without a streamed pass, such as detect_faces). Null: not collected.
    std::vector<std::string>* data = nullptr;
};

struct PipelineShape {
    int width = 0, height = 0, channels = 0;
    int tile_rows = 0;   // rows per band
    int tile_width = 0;  // columns per tile; 0: whole width
    RunContext context;
};

// The stages for `steps`, the last one feeding `sink`. whole_image is set when a stage gathers
// the whole image (a global effect, or a sequential one without band processing). With
// `states`, steps with analysis run per tile through EffectInfo::apply with their state; the
// first such step whose state is still null ends the pipeline instead: its analyzer takes the
// bands, and finish() stores its state in (*states)[step] (`sink` is then never called).
std::unique_ptr<Stage> build_pipeline(const std::vector<ResolvedStep>& steps,
                                      const PipelineShape& shape, BandSink sink,
                                      bool* whole_image = nullptr,
                                      AnalysisStates* states = nullptr);

// The analysis passes of a chain, one per step with analysis, in order: each feeds the source
// through the steps before it (earlier analysed steps applying their state) into the step's
// analyzer. `source` pushes every band of the input in raster order into the stage it is
// given, then calls its finish(). The result is what build_pipeline's `states` takes.
AnalysisStates analyse_chain(const std::vector<ResolvedStep>& steps, const PipelineShape& shape,
                             const std::function<void(Stage&)>& source);

// The next analysis pass of a chain (the steps before the first step with analysis whose state
// is still null, ending in its analyzer; finish() stores the state), or null when every such
// step has its state: analyse_chain one pass at a time, for sources shared by several chains.
std::unique_ptr<Stage> next_analysis_pass(const std::vector<ResolvedStep>& steps,
                                          const PipelineShape& shape, AnalysisStates& states);

// The size of the chain's output for a width × height input.
std::pair<int, int> output_size(const std::vector<ResolvedStep>& steps, int width, int height);

// The effects of steps that the pipeline must run whole (names), for refusals.
std::vector<std::string> whole_image_effects(const std::vector<ResolvedStep>& steps, int width,
                                             int height);

std::uint64_t working_set(const std::vector<ResolvedStep>& steps, const PipelineShape& shape,
                          int queue_depth);

// The band height that runs fastest (band_rows_for_speed in artistry/tiling.hpp) for chains
// fed from one source together, no larger than what keeps their working sets, summed, within
// budget_bytes.
int fast_band_rows(const std::vector<std::vector<ResolvedStep>>& chains, PipelineShape shape,
                   std::uint64_t budget_bytes, int queue_depth);

// With options.memory: `planned_bytes` (capped at the budget) reserved for the run, waiting
// up to options.memory_wait_seconds, in a scope charging the run's images. Else inactive.
AllocationScope charge_run(const TileOptions& options, std::uint64_t planned_bytes);

}  // namespace artistry::tiling
