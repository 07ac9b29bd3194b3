#pragma once
// A one-line progress bar with ETA on stderr, drawn only when stderr is a terminal.

#include <chrono>
#include <mutex>
#include <string>

namespace artistry::cli {

class ProgressBar {
  public:
    explicit ProgressBar(bool enabled);
    ~ProgressBar();
    // fraction in [0, 1]; eta_seconds from the engine's learned throughput (< 0: unknown);
    // label says what is being worked on.
    void update(double fraction, double eta_seconds, const std::string& label);
    void finish();

  private:
    bool enabled_;
    bool drawn_ = false;
    double last_fraction_ = 0;
    std::chrono::steady_clock::time_point last_draw_{};
    std::mutex mutex_;
};

}  // namespace artistry::cli
