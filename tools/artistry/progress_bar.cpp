#include "progress_bar.hpp"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace artistry::cli {

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled) {}

ProgressBar::~ProgressBar() {
    finish();
}

void ProgressBar::update(double fraction, double eta_seconds, const std::string& label) {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    fraction = std::clamp(std::max(fraction, last_fraction_), 0.0, 1.0);  // never goes back
    last_fraction_ = fraction;
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && fraction < 1.0 && now - last_draw_ < std::chrono::milliseconds(80)) return;
    last_draw_ = now;
    const std::string eta = eta_seconds >= 0 ? fmt::format("ETA {:.1f}s", eta_seconds) : "ETA --";
    constexpr int width = 30;
    const int filled = static_cast<int>(fraction * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    fmt::print(stderr, "\r[{}] {:3.0f}% {:>10} {:<40.40}", bar, fraction * 100, eta, label);
    std::fflush(stderr);
    drawn_ = true;
}

void ProgressBar::finish() {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    if (drawn_) fmt::print(stderr, "\n");
    drawn_ = false;
}

}  // namespace artistry::cli
