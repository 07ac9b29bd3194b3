// Runs a graph spec on a photo with the C++ API and saves the outputs.
// usage: effects_cpp INPUT OUTDIR
#include <cstdio>

#include "artistry/artistry.hpp"
#include "artistry/engine.hpp"
#include "artistry/graph.hpp"

int main(int argc, char** argv) try {
    if (argc != 3) return std::fprintf(stderr, "usage: effects_cpp INPUT OUTDIR\n"), 2;
    using namespace artistry;
    const Image input = load_image(argv[1]);
    const Graph graph = Graph::from_json(R"({"nodes": [
        {"id": "bw", "op": "enhanced_bw", "params": {"filter": "red"}},
        {"id": "bits", "op": "retro_8bit"}], "outputs": ["bw", "bits"]})");
    Engine engine;
    const Result result = engine.run(graph, input);
    for (const auto& [id, image] : result.outputs) {
        const std::string path = std::string(argv[2]) + "/cpp_" + id + ".png";
        save_image(image, path);
        std::printf("%s: %dx%dx%d -> %s\n", id.c_str(), image.width(), image.height(),
                    image.channels(), path.c_str());
    }
    std::printf("run %s in %.3f s\n", run_status_name(result.status), result.wall_seconds);
    return result.ok() ? 0 : 1;
} catch (const artistry::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
}
