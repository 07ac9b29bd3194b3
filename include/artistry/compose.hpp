#pragma once
// Putting images together for people to look at.

#include <string>
#include <vector>

#include "artistry/image.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

struct ContactSheetOptions {
    int cell_width = 480;  // each image is fitted into a cell this wide, aspect kept
    int columns = 0;       // 0: chosen to make the sheet roughly 16:9
    int padding = 16;
};

// A labelled grid of the images (RGB). Transparent pixels show a checkerboard.
Image make_contact_sheet(const std::vector<Image>& images, const std::vector<std::string>& labels,
                         const ContactSheetOptions& options = {});

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
