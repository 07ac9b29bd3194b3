// libtiff glue shared by the in-memory codec and the streaming reader and writer.

#include "io/tiff_lib.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>

namespace artistry::io {

namespace {

int on_error(TIFF*, void* user, const char* module, const char* format, va_list args) {
    auto* m = static_cast<TiffMessages*>(user);
    int n = module ? std::snprintf(m->error, sizeof m->error, "%s: ", module) : 0;
    n = std::clamp(n, 0, static_cast<int>(sizeof m->error) - 1);
    std::vsnprintf(m->error + n, sizeof m->error - static_cast<std::size_t>(n), format, args);
    return 1;  // handled: the process-wide handlers (stderr) are not called
}

int on_warning(TIFF*, void*, const char*, const char*, va_list) {
    return 1;
}

TIFFOpenOptions* make_options(TiffMessages* messages) {
    messages->error[0] = '\0';
    TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
    if (!opts) return nullptr;
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, messages);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, messages);
    return opts;
}

// A new position for a seek, or -1 when it would be negative or overflow.
toff_t seek_to(std::uint64_t pos, std::uint64_t size, toff_t offset, int whence) {
    const std::uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? pos : size;
    if (offset > std::numeric_limits<std::uint64_t>::max() - base) return static_cast<toff_t>(-1);
    return base + offset;
}

tmsize_t no_io(thandle_t, void*, tmsize_t) {
    return -1;
}
int no_close(thandle_t) {
    return 0;
}
int no_map(thandle_t, void**, toff_t*) {
    return 0;
}
void no_unmap(thandle_t, void*, toff_t) {}

tmsize_t memory_read(thandle_t h, void* buffer, tmsize_t n) {
    auto* in = static_cast<TiffMemoryInput*>(h);
    if (n < 0 || in->pos >= in->bytes.size()) return 0;
    const auto count =
        std::min<std::uint64_t>(static_cast<std::uint64_t>(n), in->bytes.size() - in->pos);
    std::memcpy(buffer, in->bytes.data() + in->pos, count);
    in->pos += count;
    return static_cast<tmsize_t>(count);
}

toff_t memory_seek_input(thandle_t h, toff_t offset, int whence) {
    auto* in = static_cast<TiffMemoryInput*>(h);
    const toff_t pos = seek_to(in->pos, in->bytes.size(), offset, whence);
    if (pos != static_cast<toff_t>(-1)) in->pos = pos;
    return pos;
}

toff_t memory_size_input(thandle_t h) {
    return static_cast<TiffMemoryInput*>(h)->bytes.size();
}

// Writes at the position, growing the buffer; an allocation failure is reported as a failed
// write (libtiff then fails the call) rather than thrown through libtiff's frames.
tmsize_t memory_write(thandle_t h, void* buffer, tmsize_t n) {
    auto* out = static_cast<TiffMemoryOutput*>(h);
    if (n < 0) return -1;
    const std::uint64_t end = out->pos + static_cast<std::uint64_t>(n);
    try {
        if (end > out->bytes.size()) out->bytes.resize(end);
    } catch (const std::bad_alloc&) {
        out->failed = true;
        return -1;
    }
    std::memcpy(out->bytes.data() + out->pos, buffer, static_cast<std::size_t>(n));
    out->pos = end;
    return n;
}

toff_t memory_seek_output(thandle_t h, toff_t offset, int whence) {
    auto* out = static_cast<TiffMemoryOutput*>(h);
    const toff_t pos = seek_to(out->pos, out->bytes.size(), offset, whence);
    if (pos != static_cast<toff_t>(-1)) out->pos = pos;
    return pos;
}

toff_t memory_size_output(thandle_t h) {
    return static_cast<TiffMemoryOutput*>(h)->bytes.size();
}

}  // namespace

TIFF* open_tiff(int fd, const std::string& name, const char* mode, TiffMessages* messages) {
    TIFFOpenOptions* opts = make_options(messages);
    if (!opts) return nullptr;
    TIFF* tif = TIFFFdOpenExt(fd, name.c_str(), mode, opts);
    TIFFOpenOptionsFree(opts);
    return tif;
}

namespace {

TIFF* open_client(const char* mode, thandle_t handle, TIFFReadWriteProc read,
                  TIFFReadWriteProc write, TIFFSeekProc seek, TIFFSizeProc size,
                  TiffMessages* messages) {
    TIFFOpenOptions* opts = make_options(messages);
    if (!opts) return nullptr;
    TIFF* tif = TIFFClientOpenExt("tiff", mode, handle, read, write, seek, no_close, size, no_map,
                                  no_unmap, opts);
    TIFFOpenOptionsFree(opts);
    return tif;
}

}  // namespace

TIFF* open_tiff_reading(TiffMemoryInput* input, TiffMessages* messages) {
    return open_client("rm", input, memory_read, no_io, memory_seek_input, memory_size_input,
                       messages);
}

TIFF* open_tiff_writing(TiffMemoryOutput* output, TiffMessages* messages) {
    return open_client("w", output, no_io, memory_write, memory_seek_output, memory_size_output,
                       messages);
}

}  // namespace artistry::io
