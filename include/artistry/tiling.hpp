#pragma once
// Tiled large-image processing: a chain of effects run over an image in bands and tiles with
// halos, in memory or streamed from file to file, with bytes identical to the whole-image run.
//
// How each footprint is made exact:
//  - point / local(r): a run of them is one segment whose halo is the sum of their radii; each
//    tile is extended by the halo (clipped at the image edge, so edges see the real edge), run
//    with ctx.origin = the extended tile's absolute position and ctx.full_* = the whole image,
//    then cropped. Tiles of a band run in parallel.
//  - sequential with EffectInfo::begin_bands: full-width row bands in raster order through one
//    BandProcessor that carries its state (error rows) from band to band; bands regrouped to
//    start and end on multiples of Footprint::band_alignment (retro_8bit's block rows).
//  - global with EffectInfo::begin_analysis and apply: a streamed statistics pass first (the
//    input, through the steps before it, band by band into the effect's Analyzer; a file is
//    read once more for each such step), then the effect's apply per tile with its state and
//    ctx.origin as a local step of Footprint::radius, or, when begin_bands given the state
//    returns a processor, in bands as a sequential step (adaptive palette + error diffusion).
//    pop_art, enhanced_bw's CLAHE and the adaptive palettes of dither and retro_8bit do so.
//  - global without them, and sequential without begin_bands: the effect runs on the whole
//    image (its input gathered in memory). run_tiled_file does so only when that fits the
//    memory budget and refuses otherwise with Error(unsupported) naming the effect.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "artistry/effect.hpp"
#include "artistry/image.hpp"
#include "artistry/io.hpp"
#include "artistry/memory.hpp"
#include "artistry/stream.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

// One effect of a chain: its name in the registry and its parameters (completed by resolve).
struct ChainStep {
    std::string effect;
    ParamMap params;
};
using EffectChain = std::vector<ChainStep>;

struct TileOptions {
    // Rows per band (and the edge of a tile when tile_width is 0 … see below); 0: the height
    // that runs fastest within memory_budget_bytes (band_rows_for_speed).
    int tile_size = 0;
    // Columns per tile inside a band; 0: the whole width (one tile per band: the effects then
    // parallelise the band's rows themselves and pay their per-call setup once per band).
    int tile_width = 0;
    std::uint64_t memory_budget_bytes = std::uint64_t{256} << 20;
    int queue_depth = 2;  // bands waiting between the reader, the workers and the writer
    const EffectRegistry* registry = nullptr;  // nullptr: EffectRegistry::builtin()
    // run_tiled_file lifts max_pixels and max_file_bytes (memory is bounded by the band);
    // max_dimension holds.
    LoadOptions load;
    StreamReadOptions stream_read;
    SaveOptions save;
    StreamWriteOptions stream_write;
    // run_tiled_file: called on the writer thread after each band is written, with the rows
    // written so far and the image's height. Keep it short; exceptions from it fail the run.
    std::function<void(int rows_done, int rows_total)> progress;
    // run_tiled_file: checked between bands; once true the run stops with Error(cancelled) and
    // leaves no output.
    const std::atomic<bool>* cancel = nullptr;
    // Where model-backed effects get their models (EffectContext::models). Null:
    // ModelStore::shared().
    ModelStore* models = nullptr;
    // When set, the run reserves its planned working set (capped at the CPU budget) from this
    // manager for its whole length and charges its band and tile images to it (an
    // AllocationScope on every thread of the run), so concurrent runs share one budget.
    MemoryManager* memory = nullptr;
    double memory_wait_seconds = 600;  // how long reservations may wait for memory
};

// What a file run did.
struct TiledRunStats {
    int tile_size = 0;                // rows per band used
    int bands = 0;                    // bands read in the final pass
    std::uint64_t planned_bytes = 0;  // the working set the bands were planned for
    bool whole_image_stage = false;   // some effect ran on the whole image (global fallback)
    // Reads of the input file (analysis passes and the final one) and the rows they decoded,
    // shared by the outputs of one run_tiled_files call: each pass is read once for all.
    int input_passes = 0;
    std::uint64_t rows_read = 0;
    // Per step of the chain: the structured output (EffectContext::data) of a has_data effect
    // that ran on the whole image (detect_faces); empty for the other steps.
    std::vector<std::string> data;
};

// The chain on an in-memory u8 RGB/RGBA image, tiled; equals running the effects one after the
// other on the whole image.
Image run_tiled(const EffectChain& chain, const Image& input, const TileOptions& options = {});

// Streams input_path (JPEG/PNG/TIFF) through the chain into output_path (format from its
// extension): a reader thread, the workers and a writer thread joined by bounded queues.
// Memory is bounded by the band size × the chain, not by the image. The output appears only
// when the whole run succeeds (a truncated input throws Error(decode_error) and leaves nothing).
TiledRunStats run_tiled_file(const EffectChain& chain, const std::string& input_path,
                             const std::string& output_path, const TileOptions& options = {});

// One output of a streamed run: its chain (from the input) and the file it writes.
struct StreamedOutput {
    EffectChain chain;
    std::string path;
    // Called on the output's writer thread after each band is written, as TileOptions::progress.
    std::function<void(int rows_done, int rows_total)> progress;
};

// Several outputs of one input streamed together, the input read once per pass for all of them
// (one final pass, and one before it per level of streamed analysis): bands go from one reader
// to every chain, the chains run side by side, each output has its own writer. Either every
// output appears or, on failure or cancellation, none does. Stats per output, in order.
std::vector<TiledRunStats> run_tiled_files(const std::vector<StreamedOutput>& outputs,
                                           const std::string& input_path,
                                           const TileOptions& options = {});

// How a chain splits into bands of output rows that separate processes compute apart
// (artistry.distributed spreads one large image over several machines this way).
struct RowBandPlan {
    bool bandable = false;  // every step point or local, none changing the image's size
    int halo = 0;           // input rows each side of a band that its output rows depend on
    std::string reason;     // when not bandable: the effect that is not, and why
};
RowBandPlan plan_row_bands(const EffectChain& chain, const TileOptions& options = {});

// Output rows [y0, y1) of a bandable chain over input_path (JPEG/PNG/TIFF, read as
// run_tiled_file reads it: grey expanded to RGB, pixel and file-size limits lifted). Decodes
// the input to row y1 + halo and keeps the rows from y0 − halo: bands computed apart and written
// in order give exactly run_tiled_file's pixels. Error(unsupported) when the chain is not
// bandable (RowBandPlan::reason), Error(invalid_argument) for rows outside the image.
Image run_tiled_rows(const EffectChain& chain, const std::string& input_path, int y0, int y1,
                     const TileOptions& options = {});

// The working set in bytes of running `chain` over a width × height × channels image in bands
// of `tile_size` rows (tiles of options.tile_width columns, or whole width).
std::uint64_t tiled_working_set(const EffectChain& chain, int width, int height, int channels,
                                int tile_size, const TileOptions& options = {});

// The largest band height whose working set fits `budget_bytes` (at least 8 rows). The one
// place a budget becomes a tile size: the memory manager's largest_fit can stand in here.
int tile_size_for_budget(const EffectChain& chain, int width, int height, int channels,
                         std::uint64_t budget_bytes, const TileOptions& options = {});

// The band height that runs fastest: a band's working set sized to the CPU caches, enough rows
// for every worker, a multiple of the effects' band alignment and large against their halos;
// tile_size_for_budget is the upper bound. Big bands buy nothing: they leave the caches.
int band_rows_for_speed(const EffectChain& chain, int width, int height, int channels,
                        std::uint64_t budget_bytes, const TileOptions& options = {});

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
