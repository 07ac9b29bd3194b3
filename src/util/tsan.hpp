#pragma once
// Tells ThreadSanitizer about the hand-offs that happen inside oneTBB, whose library is not
// instrumented: a task enqueued by one thread and run by another is ordered after everything
// the enqueuing thread did before tsan_release(). No-ops in other builds.

#if defined(__SANITIZE_THREAD__)
#define ARTISTRY_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ARTISTRY_TSAN 1
#endif
#endif

#ifdef ARTISTRY_TSAN
extern "C" void AnnotateHappensBefore(const char* file, int line, const volatile void* address);
extern "C" void AnnotateHappensAfter(const char* file, int line, const volatile void* address);
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
#endif

namespace artistry::util {

inline void tsan_release([[maybe_unused]] const void* address) {
#ifdef ARTISTRY_TSAN
    AnnotateHappensBefore(__FILE__, __LINE__, address);
#endif
}

inline void tsan_acquire([[maybe_unused]] const void* address) {
#ifdef ARTISTRY_TSAN
    AnnotateHappensAfter(__FILE__, __LINE__, address);
#endif
}

// Reads a value TBB copied into its task object for us. TBB wrote it after our release and
// hands it over inside its uninstrumented library, so TSan would see a race on that copy.
template <class T>
T tsan_read_handed_over(const T& value) {
#ifdef ARTISTRY_TSAN
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    const T copy = value;
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
    return copy;
#else
    return value;
#endif
}

}  // namespace artistry::util
