// The robust layer's detector: normalise each frame to a working height, high-pass it, find the
// tile period from the autocorrelation (accumulated over frames), fold every frame's residual at
// that period onto one 48x48 tile (2 px per chip), find the shift with the sync chips, decode.
#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "mark/internal.h"

namespace unmask::mark::detail {
namespace {

constexpr int kWorkMaxHeight = 360;   // detector working height (frames taller are downscaled)
constexpr int kFoldPx = 2;            // pixels per chip in the folded tile
constexpr int kFold = kTileChips * kFoldPx;
constexpr int kMaxAcFrames = 16;      // frames whose power spectrum feeds the period estimate
constexpr size_t kPeriodCandidates = 8;
constexpr float kResidualClip = 4.f;  // clamp what normalisation leaves of strong edges
constexpr float kFloorRms = 2.f;     // gray levels: about the mark's own RMS

double wrap_half(double v, double period) {
  v = std::fmod(v, period);
  if (v < -period / 2) v += period;
  if (v >= period / 2) v -= period;
  return v;
}

float sample_periodic(const cv::Mat& m, double x, double y) {
  const int w = m.cols, h = m.rows;
  const double fx = std::floor(x), fy = std::floor(y);
  const double ax = x - fx, ay = y - fy;
  const int x0 = ((static_cast<int>(fx) % w) + w) % w, y0 = ((static_cast<int>(fy) % h) + h) % h;
  const int x1 = (x0 + 1) % w, y1 = (y0 + 1) % h;
  const float* r0 = m.ptr<float>(y0);
  const float* r1 = m.ptr<float>(y1);
  return static_cast<float>((1 - ay) * ((1 - ax) * r0[x0] + ax * r0[x1]) + ay * ((1 - ax) * r1[x0] + ax * r1[x1]));
}

}  // namespace

struct RobustDetector::State {
  uint64_t seed = 0;
  Layout layout;
  cv::Mat sync_template;              // 48x48 float, sync chips only
  std::vector<cv::Mat> residuals;     // working-resolution high-passed luma, one per frame
  cv::Mat power;                      // accumulated power spectrum (CCS packed)
  cv::Size dft_size;
  int n_ac = 0;
  int input_height = 0;
  double work_scale = 1.0;            // working px per input px
};

RobustDetector::RobustDetector(const std::string& key) : state_(new State) {
  state_->seed = key_seed(key);
  state_->layout = make_layout(state_->seed);
  const auto tile = tile_values(state_->layout, {}, true);
  std::vector<float> t = render_tile(tile, kFoldPx, kFold, kFold);
  state_->sync_template = cv::Mat(kFold, kFold, CV_32F, t.data()).clone();
}

RobustDetector::~RobustDetector() { delete state_; }

int RobustDetector::n_frames() const { return static_cast<int>(state_->residuals.size()); }

namespace {

// The detector's view of a frame: luma at the working height (at most kWorkMaxHeight rows).
cv::Mat to_work(const cv::Mat& gray8, double& work_scale) {
  cv::Mat work;
  if (gray8.rows > kWorkMaxHeight) {
    work_scale = static_cast<double>(kWorkMaxHeight) / gray8.rows;
    const int ww = std::max(1, static_cast<int>(std::lround(gray8.cols * work_scale)));
    cv::resize(gray8, work, cv::Size(ww, kWorkMaxHeight), 0, 0, cv::INTER_AREA);
  } else {
    work_scale = 1.0;
    work = gray8;
  }
  cv::Mat f;
  work.convertTo(f, CV_32F);
  return f;
}

// High-passed, contrast-normalised residual of a working-resolution luma.
cv::Mat residual_of(const cv::Mat& f) {
  cv::Mat blur;
  cv::GaussianBlur(f, blur, cv::Size(0, 0), 3.0);  // best of 2, 3, 5, 8 on Debian photos
  cv::Mat r = f - blur;
  // Local contrast normalisation: textured areas carry most of the host noise, so their residual
  // is scaled down by the local RMS (kFloorRms keeps flat areas, where the mark is clean, at ~1).
  cv::Mat energy;
  cv::GaussianBlur(r.mul(r), energy, cv::Size(0, 0), 4.0);
  cv::sqrt(energy + kFloorRms * kFloorRms, energy);
  cv::divide(r, energy, r, kFloorRms);
  cv::min(r, kResidualClip, r);
  cv::max(r, -kResidualClip, r);
  return r;
}

}  // namespace

void RobustDetector::add_gray(const uint8_t* gray, int width_px, int height_px) {
  State& s = *state_;
  cv::Mat src(height_px, width_px, CV_8U, const_cast<uint8_t*>(gray));
  s.input_height = height_px;
  cv::Mat r = residual_of(to_work(src, s.work_scale));
  if (s.n_ac < kMaxAcFrames) {
    if (s.n_ac == 0) {
      s.dft_size = cv::Size(cv::getOptimalDFTSize(r.cols), cv::getOptimalDFTSize(r.rows));
    }
    cv::Mat padded = cv::Mat::zeros(s.dft_size, CV_32F);
    r.copyTo(padded(cv::Rect(0, 0, r.cols, r.rows)));
    cv::Mat spectrum, planes[2], p;
    cv::dft(padded, spectrum, cv::DFT_COMPLEX_OUTPUT);
    cv::split(spectrum, planes);
    cv::magnitude(planes[0], planes[1], p);
    p = p.mul(p);
    if (s.power.empty()) s.power = p;
    else s.power += p;
    ++s.n_ac;
  }
  s.residuals.push_back(r);
}

namespace {

// Autocorrelation with bilinear access at fractional lags.
struct Autocorrelation {
  cv::Mat ac;
  double at(double lx, double ly) const { return sample_periodic(ac, lx, ly); }
};

struct Fold {
  cv::Mat tile;      // 48x48 mean residual
  double sync_z = 0;
  double dx = 0, dy = 0;  // sync peak position in fold pixels
};

Fold fold_at(const std::vector<cv::Mat>& residuals, double px, double py, const cv::Mat& sync_template) {
  Fold f;
  cv::Mat sum = cv::Mat::zeros(kFold, kFold, CV_32F);
  cv::Mat count = cv::Mat::zeros(kFold, kFold, CV_32F);
  const double fx = kFold / px, fy = kFold / py;
  cv::Mat scaled;
  for (const cv::Mat& r : residuals) {
    cv::resize(r, scaled, cv::Size(), fx, fy, fx < 1 && fy < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    for (int y = 0; y < scaled.rows; ++y) {
      const float* row = scaled.ptr<float>(y);
      float* srow = sum.ptr<float>(y % kFold);
      float* crow = count.ptr<float>(y % kFold);
      for (int x = 0; x < scaled.cols; ++x) {
        srow[x % kFold] += row[x];
        crow[x % kFold] += 1.f;
      }
    }
  }
  cv::max(count, 1.f, count);
  f.tile = sum / count;
  // Circular cross-correlation with the sync template.
  cv::Mat a, b, prod, corr;
  cv::dft(f.tile, a);
  cv::dft(sync_template, b);
  cv::mulSpectrums(a, b, prod, 0, true);
  cv::idft(prod, corr, cv::DFT_SCALE | cv::DFT_REAL_OUTPUT);
  cv::Scalar mean, stddev;
  cv::meanStdDev(corr, mean, stddev);
  double max_v;
  cv::Point max_loc;
  cv::minMaxLoc(corr, nullptr, &max_v, nullptr, &max_loc);
  f.sync_z = stddev[0] > 0 ? (max_v - mean[0]) / stddev[0] : 0.0;
  // Sub-pixel peak by parabola fits along each axis.
  auto c = [&](int x, int y) { return corr.at<float>((y + kFold) % kFold, (x + kFold) % kFold); };
  auto vertex = [](double l, double m, double r) {
    const double d = l - 2 * m + r;
    return d < 0 ? 0.5 * (l - r) / d : 0.0;
  };
  f.dx = max_loc.x + std::clamp(vertex(c(max_loc.x - 1, max_loc.y), max_v, c(max_loc.x + 1, max_loc.y)), -0.5, 0.5);
  f.dy = max_loc.y + std::clamp(vertex(c(max_loc.x, max_loc.y - 1), max_v, c(max_loc.x, max_loc.y + 1)), -0.5, 0.5);
  return f;
}

}  // namespace

namespace {

RobustResult decode_fold(const Fold& fold, const Layout& layout, double px, double py, double work_scale) {
  RobustResult out;
  out.sync_z = fold.sync_z;
  out.period_px = 0.5 * (px + py) / work_scale;
  out.shift_x = wrap_half(fold.dx / kFoldPx, kTileChips);
  out.shift_y = wrap_half(fold.dy / kFoldPx, kTileChips);
  // Soft value per coded bit: sum over its chips of pn * folded value at the chip centre.
  std::vector<double> soft(kCodedBits, 0.0);
  for (int c = 0; c < kChips; ++c) {
    const int bit = layout.coded_bit[c];
    if (bit < 0) continue;
    const int ci = c % kTileChips, cj = c / kTileChips;
    const double x = ci * kFoldPx + 0.5 * (kFoldPx - 1) + fold.dx;
    const double y = cj * kFoldPx + 0.5 * (kFoldPx - 1) + fold.dy;
    soft[bit] += layout.pn[c] * sample_periodic(fold.tile, x, y);
  }
  out.decoded = viterbi_decode(soft);
  const std::vector<uint8_t> codeword = encode_payload(out.decoded.payload_bits);
  double dot = 0, norm = 0;
  int errors = 0;
  for (int k = 0; k < kCodedBits; ++k) {
    const double sgn = codeword[k] ? -1.0 : 1.0;
    dot += sgn * soft[k];
    norm += soft[k] * soft[k];
    if (sgn * soft[k] <= 0) ++errors;
  }
  out.correlation = norm > 0 ? dot / std::sqrt(norm * kCodedBits) : 0.0;
  out.bit_error_rate = static_cast<double>(errors) / kCodedBits;
  out.soft = std::move(soft);
  return out;
}

struct Candidate {
  double px = 0, py = 0;
  Fold fold;
};

// Folds at (px, py) and at slightly different scales; keeps the strongest sync.
Candidate best_near(const std::vector<cv::Mat>& residuals, double px, double py, const cv::Mat& sync_template) {
  Candidate best;
  best.fold.sync_z = -1e9;
  for (double d : {0.0, -0.003, 0.003}) {
    Fold f = fold_at(residuals, px * (1 + d), py * (1 + d), sync_template);
    if (f.sync_z > best.fold.sync_z) best = Candidate{px * (1 + d), py * (1 + d), f};
  }
  return best;
}

}  // namespace

RobustResult RobustDetector::detect_at(double period_x, double period_y, bool zero_shift) const {
  const State& s = *state_;
  if (s.residuals.empty()) return {};
  Fold f = fold_at(s.residuals, period_x, period_y, s.sync_template);
  if (zero_shift) f.dx = f.dy = 0;
  return decode_fold(f, s.layout, period_x, period_y, s.work_scale);
}

RobustResult RobustDetector::detect() const {
  const State& s = *state_;
  if (s.residuals.empty() || s.power.empty()) return {};
  // Whiten the power spectrum (divide by its local mean) so that the tile's comb of harmonics, not
  // the host's smooth spectrum, dominates the autocorrelation.
  Autocorrelation ac;
  {
    cv::Mat smooth, white;
    cv::blur(s.power, smooth, cv::Size(31, 31), cv::Point(-1, -1), cv::BORDER_REFLECT);
    smooth += 1e-3 * cv::mean(s.power)[0] + 1e-12;
    cv::divide(s.power, smooth, white);
    cv::Mat planes[2] = {white, cv::Mat::zeros(white.size(), CV_32F)}, complex;
    cv::merge(planes, 2, complex);
    cv::idft(complex, ac.ac, cv::DFT_SCALE | cv::DFT_REAL_OUTPUT);
  }
  const int rows = s.residuals[0].rows, cols = s.residuals[0].cols;
  // Period search on the autocorrelation's 2-D lattice of peaks at (k px, l py): every lattice
  // point inside 3/4 of the frame contributes. Periods below kMinPeriod are not searched: no frame
  // we mark has a tile smaller than 72 px, and the JPEG/H.264 block grids (8-16 px) would
  // otherwise win.
  constexpr double kMinPeriod = 28.0;
  const double x_reach = 0.75 * cols, y_reach = 0.75 * rows;
  auto lattice_score = [&](double px, double py) {
    // Sum over lattice points / sqrt(count): a z-score, so that p/2 (a quarter of its points are
    // peaks) and 2p (a quarter of the peaks) both score half of the true period.
    double score = 0;
    int count = 0;
    for (int l = 0; l * py <= y_reach; ++l) {
      for (int k = (l == 0 ? 1 : -static_cast<int>(x_reach / px)); k * px <= x_reach; ++k) {
        const double x = k * px, y = l * py;
        const double w = std::max(2.0, std::min(px, py) / 8);
        score += ac.at(x, y) - 0.25 * (ac.at(x - w, y) + ac.at(x + w, y) + ac.at(x, y - w) + ac.at(x, y + w));
        ++count;
      }
    }
    return count > 0 ? score / std::sqrt(count) : 0.0;
  };
  const double p_max = std::max(kMinPeriod + 1, std::min(rows, cols) / 1.8);
  std::vector<std::pair<double, double>> scores;  // (score, p)
  for (double p = kMinPeriod; p <= p_max; p *= 1.004) scores.emplace_back(lattice_score(p, p), p);
  // Up to kPeriodCandidates distinct local maxima, strongest first; the sync fold decides.
  std::vector<double> peaks;
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a].first > scores[b].first; });
  for (size_t i : order) {
    const double p = scores[i].second;
    bool distinct = true;
    for (double q : peaks) distinct &= std::abs(p / q - 1) > 0.04;
    if (distinct) peaks.push_back(p);
    if (peaks.size() == kPeriodCandidates) break;
  }
  // Joint refinement of (px, py) within +-1.5% (aspect changes of rounding resizers included).
  auto refine = [&](double p0) {
    std::pair<double, double> best{p0, p0};
    double best_v = -1e30;
    for (double fx = 0.985; fx <= 1.015; fx += 0.0015)
      for (double fy = 0.985; fy <= 1.015; fy += 0.0015) {
        const double v = lattice_score(p0 * fx, p0 * fy);
        if (v > best_v) { best_v = v; best = {p0 * fx, p0 * fy}; }
      }
    return best;
  };
  std::vector<Candidate> candidates;
  // The geometry as marked (no resize, no crop) is always tried first.
  std::vector<double> natives;
  for (bool still : {false, true}) {
    const double p = kTileChips * chip_px_for_height(s.input_height, still) * s.work_scale;
    if (natives.empty() || std::abs(p / natives[0] - 1) > 0.01) natives.push_back(p);
  }
  for (double p : natives) candidates.push_back(best_near(s.residuals, p, p, s.sync_template));
  for (double p : peaks) {
    bool near_native = false;
    for (double q : natives) near_native |= std::abs(p / q - 1) < 0.01;
    if (near_native) continue;
    const auto [px, py] = refine(p);
    candidates.push_back(best_near(s.residuals, px, py, s.sync_template));
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) { return a.fold.sync_z > b.fold.sync_z; });
  // At most two decode attempts per file: the false-positive budget is 2 x 2^-24.
  RobustResult best = decode_fold(candidates[0].fold, s.layout, candidates[0].px, candidates[0].py, s.work_scale);
  if (!best.decoded.crc_ok && candidates.size() > 1) {
    RobustResult second = decode_fold(candidates[1].fold, s.layout, candidates[1].px, candidates[1].py, s.work_scale);
    if (second.decoded.crc_ok) return second;
  }
  if (best.decoded.crc_ok) return best;
  // Last resort, when the autocorrelation was too weak (few frames, small or heavily filtered
  // frames): scan every period with the sync fold on a subset of frames, then refine and decode
  // once more (a third and last decode attempt).
  const std::vector<cv::Mat> subset(s.residuals.begin(),
                                    s.residuals.begin() + std::min<size_t>(8, s.residuals.size()));
  double scan_p = 0, scan_z = -1e9;
  for (double p = kMinPeriod; p <= p_max; p *= 1.004) {
    const Fold f = fold_at(subset, p, p, s.sync_template);
    if (f.sync_z > scan_z) { scan_z = f.sync_z; scan_p = p; }
  }
  Candidate fine;
  fine.fold.sync_z = -1e9;
  for (double d = -0.004; d <= 0.0041; d += 0.001) {
    const Fold f = fold_at(s.residuals, scan_p * (1 + d), scan_p * (1 + d), s.sync_template);
    if (f.sync_z > fine.fold.sync_z) fine = Candidate{scan_p * (1 + d), scan_p * (1 + d), f};
  }
  RobustResult scanned = decode_fold(fine.fold, s.layout, fine.px, fine.py, s.work_scale);
  return scanned.decoded.crc_ok || scanned.sync_z > best.sync_z ? scanned : best;
}

struct InformedAmplitudes::State {
  int width = 0, height = 0;
  double p_native = 0;                 // tile period in working px
  int chip_px = 3;
  std::array<float, kChips> signs{};
  double gain = 1.0;
};

namespace {

std::array<float, kChips> chip_values(const cv::Mat& residual, double p, const cv::Mat& sync_template) {
  const Fold f = fold_at({residual}, p, p, sync_template);
  std::array<float, kChips> v{};
  for (int c = 0; c < kChips; ++c) {
    const int ci = c % kTileChips, cj = c / kTileChips;
    v[c] = sample_periodic(f.tile, ci * kFoldPx + 0.5 * (kFoldPx - 1), cj * kFoldPx + 0.5 * (kFoldPx - 1));
  }
  return v;
}

}  // namespace

InformedAmplitudes::InformedAmplitudes(int width_px, int height_px, int chip_px,
                                       const std::array<float, kChips>& signs, double gain)
    : state_(new State) {
  State& s = *state_;
  s.width = width_px;
  s.height = height_px;
  s.chip_px = chip_px;
  s.signs = signs;
  s.gain = gain;
  const double work_scale = height_px > kWorkMaxHeight ? static_cast<double>(kWorkMaxHeight) / height_px : 1.0;
  s.p_native = kTileChips * chip_px * work_scale;
}

InformedAmplitudes::~InformedAmplitudes() { delete state_; }

std::array<float, kChips> InformedAmplitudes::solve(const uint8_t* gray) const {
  const State& s = *state_;
  static const cv::Mat no_sync = cv::Mat::zeros(kTileChips * kFoldPx, kTileChips * kFoldPx, CV_32F);
  cv::Mat src(s.height, s.width, CV_8U, const_cast<uint8_t*>(gray));
  double work_scale = 1.0;
  const cv::Mat work = to_work(src, work_scale);
  const auto host = chip_values(residual_of(work), s.p_native, no_sync);
  const double chip_work_px = s.chip_px * work_scale;
  // Host term H (in the chip's own sign) per chip.
  std::array<float, kChips> h{}, g{}, mu{};
  for (int c = 0; c < kChips; ++c) { h[c] = s.signs[c] * host[c]; mu[c] = 1.f; }
  // The detector is not linear per chip (high-pass crosstalk, contrast normalisation), so the
  // gain G of each chip is re-measured with the current amplitudes, three times.
  constexpr float kMin = 0.35f, kMax = 3.0f;
  for (int iter = 0; iter < 3; ++iter) {
    std::array<float, kChips> tile{};
    for (int c = 0; c < kChips; ++c) tile[c] = static_cast<float>(s.signs[c] * mu[c] * s.gain);
    std::vector<float> r = render_tile(tile, chip_work_px, work.cols, work.rows);
    const cv::Mat pattern(work.rows, work.cols, CV_32F, r.data());
    const auto marked = chip_values(residual_of(work + pattern), s.p_native, no_sync);
    std::vector<float> gains(kChips);
    for (int c = 0; c < kChips; ++c) gains[c] = g[c] = s.signs[c] * (marked[c] - host[c]) / mu[c];
    std::nth_element(gains.begin(), gains.begin() + kChips / 2, gains.end());
    const float g_median = std::max(1e-4f, gains[kChips / 2]);
    for (float& v : g) v = std::max(v, 0.3f * g_median);
    // Least energy for a margin T on every chip that can reach it: mu = (T - H) / G. Chips whose
    // host term is too strong to overcome within kMax are left at kMin (the code corrects them)
    // rather than wasting energy. T is chosen so that the mean of mu^2 is 1: the plain pattern's
    // energy.
    auto fill = [&](float t) {
      double e = 0;
      for (int c = 0; c < kChips; ++c) {
        const float need = (t - h[c]) / g[c];
        mu[c] = need > kMax ? kMin : std::max(need, kMin);
        e += mu[c] * mu[c];
      }
      return e / kChips;
    };
    float lo = 0.f, hi = 4.f * g_median;
    for (int i = 0; i < 30; ++i) {
      const float mid = 0.5f * (lo + hi);
      if (fill(mid) > 1.0) hi = mid; else lo = mid;
    }
    fill(lo);
  }
  return mu;
}

bool geometry_is_original(const RobustResult& r, int height_px) {
  bool period_ok = false;
  for (bool still : {false, true}) {
    const double expected = kTileChips * chip_px_for_height(height_px, still);
    period_ok |= std::abs(r.period_px / expected - 1.0) < 0.015;
  }
  return period_ok && std::abs(r.shift_x) < 0.75 && std::abs(r.shift_y) < 0.75;
}

}  // namespace unmask::mark::detail
