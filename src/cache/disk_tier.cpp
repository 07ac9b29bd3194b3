// L2 disk tier.

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "cache/disk_tier.hpp"
#include "cache/entry_format.hpp"
#include "util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace artistry::cache {

namespace {

constexpr auto stale_temp_age = std::chrono::minutes(10);

struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

bool read_exact(int fd, void* data, std::size_t n, off_t offset) {
    auto* p = static_cast<std::uint8_t*>(data);
    while (n > 0) {
        const ssize_t r = ::pread(fd, p, n, offset);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
        offset += r;
    }
    return true;
}

}  // namespace

DiskTier::DiskTier(Options options) : options_(std::move(options)) {
    root_ = (fs::path(options_.dir) / "v1").string();
    std::error_code ec;
    fs::create_directories(root_, ec);
    if (ec || !fs::is_directory(root_))
        throw Error(Status::io_error, fmt::format("cannot create the cache folder '{}': {}", root_,
                                                  ec ? ec.message() : "not a folder"));
    stats_.tier = CacheTier::disk;
    stats_.enabled = stats_.up = true;
    stats_.capacity_bytes = options_.capacity_bytes;
    rescan();
}

std::string DiskTier::path_of(const CacheKey& key) const {
    const std::string hex = key.hex();
    return fmt::format("{}/{}/{}.art", root_, hex.substr(0, 2), hex);
}

void DiskTier::rescan() {
    struct Found {
        fs::file_time_type mtime;
        CacheKey key;
        std::uint64_t bytes;
    };
    std::vector<Found> files;
    std::error_code ec;
    const auto now = fs::file_time_type::clock::now();
    for (fs::directory_iterator sub(root_, ec), end; !ec && sub != end; sub.increment(ec)) {
        if (!sub->is_directory(ec)) continue;
        std::error_code ec2;
        for (fs::directory_iterator f(sub->path(), ec2); !ec2 && f != end; f.increment(ec2)) {
            const std::string name = f->path().filename().string();
            std::error_code ec3;
            const auto mtime = f->last_write_time(ec3);
            if (ec3) continue;
            if (name.find(".tmp-") != std::string::npos) {  // a writer that died mid-way
                if (now - mtime > stale_temp_age) fs::remove(f->path(), ec3);
                continue;
            }
            if (name.size() != 36 || !name.ends_with(".art")) continue;
            const auto key = CacheKey::from_hex(std::string_view(name).substr(0, 32));
            const auto size = f->file_size(ec3);
            if (!key || ec3) continue;
            files.push_back({mtime, *key, size});
        }
    }
    std::sort(files.begin(), files.end(),
              [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
    const std::lock_guard lock(mutex_);
    index_.clear();
    lru_.clear();
    bytes_ = 0;
    for (const Found& f : files) index_locked(f.key, f.bytes);
    evict_locked();
}

void DiskTier::index_locked(const CacheKey& key, std::uint64_t bytes) {
    if (const auto it = index_.find(key); it != index_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second.pos);
        bytes_ = bytes_ - it->second.bytes + bytes;
        it->second.bytes = bytes;
        return;
    }
    lru_.push_front(key);
    index_.emplace(key, Indexed{bytes, lru_.begin()});
    bytes_ += bytes;
}

void DiskTier::forget_locked(const CacheKey& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return;
    bytes_ -= it->second.bytes;
    lru_.erase(it->second.pos);
    index_.erase(it);
}

void DiskTier::evict_locked() {
    while (bytes_ > options_.capacity_bytes && !lru_.empty()) {
        const CacheKey victim = lru_.back();
        ::unlink(path_of(victim).c_str());
        forget_locked(victim);
        ++stats_.evictions;
    }
}

void DiskTier::corrupt(const CacheKey& key, const std::string& path) {
    ::unlink(path.c_str());
    const std::lock_guard lock(mutex_);
    forget_locked(key);
    ++corrupt_;
    ++stats_.errors;
    ++stats_.misses;
}

std::optional<DiskTier::Found> DiskTier::read(const CacheKey& key, const std::string& path) {
    const Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (file.fd < 0) {
        const int err = errno;
        const std::lock_guard lock(mutex_);
        if (err == ENOENT) {
            forget_locked(key);  // evicted by another process
        } else {
            ++stats_.errors;
        }
        ++stats_.misses;
        return std::nullopt;
    }
    struct stat st {};
    std::uint8_t head[header_bytes];
    if (::fstat(file.fd, &st) != 0 || !read_exact(file.fd, head, header_bytes, 0)) {
        corrupt(key, path);
        return std::nullopt;
    }
    const auto h = read_header(head);
    if (!h || h->key != key ||
        static_cast<std::uint64_t>(st.st_size) != header_bytes + h->payload_bytes) {
        corrupt(key, path);
        return std::nullopt;
    }
    std::optional<Image> image;
    if (h->encoding == Encoding::raw) {
        Image pixels = Image::allocate(static_cast<int>(h->width), static_cast<int>(h->height),
                                       h->channels, h->type);
        if (read_exact(file.fd, pixels.data(), pixels.byte_size(), header_bytes) &&
            hash_payload({pixels.data(), pixels.byte_size()}) == h->payload_hash)
            image = std::move(pixels);
    } else {
        std::vector<std::uint8_t> payload(h->payload_bytes);
        if (read_exact(file.fd, payload.data(), payload.size(), header_bytes) &&
            hash_payload(payload) == h->payload_hash)
            image = decode_payload(*h, payload);
    }
    if (!image) {
        corrupt(key, path);
        return std::nullopt;
    }
    ::futimens(file.fd, nullptr);  // recency for other processes' rescans
    const std::lock_guard lock(mutex_);
    index_locked(key, static_cast<std::uint64_t>(st.st_size));
    ++stats_.hits;
    return Found{std::move(*image), h->accesses};
}

std::optional<DiskTier::Found> DiskTier::get(const CacheKey& key) {
    const std::string path = path_of(key);
    try {
        return read(key, path);
    } catch (...) {  // allocation of a huge claimed shape, or similar: treat as corrupt
        corrupt(key, path);
        return std::nullopt;
    }
}

bool DiskTier::write(const CacheKey& key, const Image& image, std::uint32_t accesses,
                     const std::string& path) {
    const std::string dir = path.substr(0, path.rfind('/'));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return false;
    EntryHeader h = header_for(key, image, accesses, Encoding::raw);
    h.payload_bytes = image.byte_size();
    h.payload_hash = hash_rows(image);
    std::uint8_t head[header_bytes];
    write_header(h, head);
    try {  // all or nothing, synced: a crash never leaves a torn entry under a key
        util::AtomicOutput out(path);
        out.write({head, header_bytes});
        if (image.contiguous()) {
            out.write({image.data(), image.byte_size()});
        } else {
            for (int y = 0; y < image.height(); ++y) out.write({image.row(y), image.row_bytes()});
        }
        out.commit();
        return true;
    } catch (const Error&) {
        return false;
    }
}

bool DiskTier::put(const CacheKey& key, const Image& image, std::uint32_t accesses) {
    if (image.empty()) return false;
    const std::uint64_t bytes = header_bytes + image.byte_size();
    {
        const std::lock_guard lock(mutex_);
        if (index_.count(key) > 0) return true;  // content-addressed: already there
        if (bytes > options_.capacity_bytes) {
            ++stats_.rejected;
            return false;
        }
    }
    const std::string path = path_of(key);
    bool ok = false;
    try {
        ok = write(key, image, accesses, path);
    } catch (...) {
    }
    const std::lock_guard lock(mutex_);
    if (!ok) {
        ++stats_.errors;
        return false;
    }
    index_locked(key, bytes);
    ++stats_.puts;
    evict_locked();
    return true;
}

bool DiskTier::erase(const CacheKey& key) {
    const std::string path = path_of(key);
    const bool removed = ::unlink(path.c_str()) == 0;
    const std::lock_guard lock(mutex_);
    forget_locked(key);
    return removed;
}

std::uint64_t DiskTier::corrupt_count() const {
    const std::lock_guard lock(mutex_);
    return corrupt_;
}

CacheTierStats DiskTier::stats() const {
    const std::lock_guard lock(mutex_);
    CacheTierStats s = stats_;
    s.bytes = bytes_;
    s.entries = index_.size();
    return s;
}

}  // namespace artistry::cache
