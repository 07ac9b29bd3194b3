// Noise schedules, the steps a sampler takes through them, and seeded Gaussian noise.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/generate.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

const char* sampler_name(Sampler sampler) noexcept {
    switch (sampler) {
        case Sampler::ddim:
            return "ddim";
        case Sampler::euler:
            return "euler";
        case Sampler::euler_ancestral:
            return "euler_ancestral";
        case Sampler::dpmpp_2m:
            return "dpmpp_2m";
    }
    return "?";
}

Sampler parse_sampler(const std::string& name) {
    for (Sampler s : {Sampler::ddim, Sampler::euler, Sampler::euler_ancestral, Sampler::dpmpp_2m})
        if (name == sampler_name(s)) return s;
    throw Error(
        Status::invalid_argument,
        fmt::format("sampler '{}': expected ddim, euler, euler_ancestral or dpmpp_2m", name));
}

std::vector<double> NoiseSchedule::alphas_cumprod() const {
    if (train_steps < 2 || !(beta_start > 0) || !(beta_end >= beta_start) || !(beta_end < 1))
        throw Error(Status::invalid_argument,
                    fmt::format("noise schedule: need train_steps >= 2 and 0 < beta_start <= "
                                "beta_end < 1, got {}, {}, {}",
                                train_steps, beta_start, beta_end));
    std::vector<double> out(static_cast<std::size_t>(train_steps));
    double product = 1;
    const double n = train_steps - 1;
    for (int t = 0; t < train_steps; ++t) {
        double beta;
        if (scaled_linear) {
            const double r =
                std::sqrt(beta_start) + (std::sqrt(beta_end) - std::sqrt(beta_start)) * t / n;
            beta = r * r;
        } else {
            beta = beta_start + (beta_end - beta_start) * t / n;
        }
        product *= 1 - beta;
        out[static_cast<std::size_t>(t)] = product;
    }
    return out;
}

std::vector<double> NoiseSchedule::sigmas() const {
    std::vector<double> out = alphas_cumprod();
    for (double& a : out) a = std::sqrt((1 - a) / a);
    return out;
}

namespace {

// σ at a fractional timestep: linear between the integer steps (as diffusers interpolates).
double sigma_at(const std::vector<double>& sigmas, double t) {
    const double clamped = std::clamp(t, 0.0, static_cast<double>(sigmas.size() - 1));
    const auto lo = static_cast<std::size_t>(std::floor(clamped));
    const std::size_t hi = std::min(lo + 1, sigmas.size() - 1);
    const double w = clamped - static_cast<double>(lo);
    return sigmas[lo] * (1 - w) + sigmas[hi] * w;
}

// The timestep of a σ: log σ interpolated between the schedule's steps.
double timestep_of(const std::vector<double>& sigmas, double sigma) {
    const double ls = std::log(sigma);
    if (ls <= std::log(sigmas.front())) return 0;
    if (ls >= std::log(sigmas.back())) return static_cast<double>(sigmas.size() - 1);
    for (std::size_t i = 1; i < sigmas.size(); ++i) {
        const double lo = std::log(sigmas[i - 1]), hi = std::log(sigmas[i]);
        if (ls <= hi) return static_cast<double>(i - 1) + (ls - lo) / (hi - lo);
    }
    return static_cast<double>(sigmas.size() - 1);
}

}  // namespace

SamplingPlan plan_sampling(const NoiseSchedule& schedule, Sampler sampler, int steps, bool karras) {
    if (steps < 1 || steps > schedule.train_steps)
        throw Error(Status::invalid_argument,
                    fmt::format("steps must be 1..{}, got {}", schedule.train_steps, steps));
    const std::vector<double> sigmas = schedule.sigmas();
    const int T = schedule.train_steps;
    SamplingPlan plan;
    if (karras) {  // the noise levels themselves; their timesteps interpolated on log σ
        const double rho = 7, lo = std::pow(sigmas.front(), 1 / rho),
                     hi = std::pow(sigmas.back(), 1 / rho);
        for (int i = 0; i < steps; ++i) {
            const double f = steps == 1 ? 0.0 : static_cast<double>(i) / (steps - 1);
            plan.sigmas.push_back(std::pow(hi + f * (lo - hi), rho));
            plan.timesteps.push_back(timestep_of(sigmas, plan.sigmas.back()));
        }
    } else {
        if (sampler == Sampler::ddim) {  // "leading": every T/steps from 1 (steps_offset 1)
            const int ratio = T / steps;
            for (int i = steps - 1; i >= 0; --i)
                plan.timesteps.push_back(std::min(T - 1, i * ratio + 1));
        } else {  // "linspace": T − 1 … 0
            for (int i = 0; i < steps; ++i)
                plan.timesteps.push_back(steps == 1 ? T - 1.0
                                                    : (T - 1.0) * (steps - 1 - i) / (steps - 1));
        }
        for (double t : plan.timesteps) plan.sigmas.push_back(sigma_at(sigmas, t));
    }
    for (double sigma : plan.sigmas) plan.alphas_cumprod.push_back(1 / (1 + sigma * sigma));
    plan.sigmas.push_back(0);
    plan.alphas_cumprod.push_back(1);
    return plan;
}

namespace {
std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}
}  // namespace

NoiseSource::NoiseSource(std::uint64_t seed) {
    for (auto& s : s_) s = splitmix64(seed);
}

float NoiseSource::next() {
    if (has_spare_) {
        has_spare_ = false;
        return static_cast<float>(spare_);
    }
    const auto uniform = [this] {  // (0, 1]: 53 random bits
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return (static_cast<double>(result >> 11) + 1) * 0x1.0p-53;
    };
    const double u1 = uniform(), u2 = uniform();
    const double r = std::sqrt(-2 * std::log(u1)), angle = 2 * M_PI * u2;
    spare_ = r * std::sin(angle);
    has_spare_ = true;
    return static_cast<float>(r * std::cos(angle));
}

void NoiseSource::fill(std::vector<float>& values) {
    for (float& v : values) v = next();
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
