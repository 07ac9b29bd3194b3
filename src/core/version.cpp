#include <tbb/version.h>
#include <opencv2/core/version.hpp>

#include "artistry/artistry.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

#define ARTISTRY_STR2(x) #x
#define ARTISTRY_STR(x) ARTISTRY_STR2(x)

const char* version() noexcept {
    return ARTISTRY_VERSION_STRING;
}

const char* build_info() noexcept {
    return "artistry " ARTISTRY_VERSION_STRING "; compiler: " __VERSION__ "; OpenCV " CV_VERSION
           "; oneTBB " ARTISTRY_STR(TBB_VERSION_MAJOR) "." ARTISTRY_STR(TBB_VERSION_MINOR)
#ifdef NDEBUG
               "; build: release"
#else
               "; build: debug"
#endif
        ;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
