// A second process for the cache tests: computes keys and reads/writes a shared L2 folder.
//   cache_peer key W H C SEED        prints "<content hash> <result key>"
//   cache_peer put DIR W H C SEED    stores the image under its result key; prints the key
//   cache_peer get DIR KEY           prints "hit <content hash of the pixels>" or "miss"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "artistry/cache.hpp"
#include "cache_test_support.hpp"

using namespace artistry;

namespace {

ResultCache disk_only(const char* dir) {
    CacheOptions o;
    o.use_environment = false;
    o.memory = false;
    o.disk = true;
    o.disk_dir = dir;
    o.disk_bytes = 256ull << 20;
    o.async_writes = false;
    return ResultCache(o);
}

Image image_from(char** argv) {
    return test::pattern_image(std::atoi(argv[0]), std::atoi(argv[1]), std::atoi(argv[2]),
                               static_cast<std::uint32_t>(std::atoi(argv[3])));
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "key" && argc == 6) {
        const Image image = image_from(argv + 2);
        std::printf("%s %s\n", content_hash(image).hex().c_str(),
                    test::result_key(image).hex().c_str());
        return 0;
    }
    if (mode == "put" && argc == 7) {
        ResultCache cache = disk_only(argv[2]);
        const Image image = image_from(argv + 3);
        const CacheKey key = test::result_key(image);
        cache.put(key, image);
        std::printf("%s\n", key.hex().c_str());
        return 0;
    }
    if (mode == "get" && argc == 4) {
        ResultCache cache = disk_only(argv[2]);
        const auto key = CacheKey::from_hex(argv[3]);
        const auto hit = key ? cache.get(*key) : std::nullopt;
        if (hit)
            std::printf("hit %s\n", content_hash(hit->image).hex().c_str());
        else
            std::printf("miss\n");
        return 0;
    }
    std::fprintf(stderr, "usage: cache_peer key W H C SEED | put DIR W H C SEED | get DIR KEY\n");
    return 2;
}
