// The semi-fragile layer. Per B x B block (B = 16 px per 360 rows), 8 bits are derived from the
// key, the block's position and its coarse mean (quantised in steps of 32 levels), and embedded by
// dithered QIM into 8 low-frequency orthonormal DCT coefficients of the block's luma. Re-encoding
// moves those coefficients by a fraction of the step; content from elsewhere (a pasted patch, a
// swapped face) lands anywhere on the lattice, and at the wrong bits.
#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "mark/internal.h"

namespace unmask::mark::detail {
namespace {

constexpr std::array<std::pair<int, int>, kFragileCoefs> kCoefs = {
    {{1, 0}, {0, 1}, {1, 1}, {2, 0}, {0, 2}, {2, 1}, {1, 2}, {2, 2}}};  // (u horizontal, v vertical)
constexpr double kStepPerBlockPx = 1.6;
constexpr int kNCoefs = kFragileCoefs;  // QIM step = 1.2 B: ~1.0 MSE per pixel
constexpr double kMeanBin = 32.0;        // coarse content: the block mean in bins of 32 levels
constexpr double kMeanMargin = 0.25;     // near a bin edge, the neighbouring bin is accepted too
constexpr double kMinMean = 16.0, kMaxMean = 239.0;  // near-saturated blocks carry no bits
// Flat blocks carry no bits either: encoders replace them with their prediction, wiping any mark.
// A block is marked from kEmbedMinStd and checked from kCheckMinStd (gray levels of std dev), so
// that re-encoding, which lowers texture, never brings an unmarked block into the check.
constexpr double kEmbedMinStd = 3.0;
constexpr double kCheckMinStd = 4.0;
// Mean absolute change (gray levels) from the previous frame above which a block counts as moving.
constexpr double kMaxMotion = 1.5;

struct Basis {
  int block_px = 0;
  std::array<std::vector<float>, 3> c;  // c[u][x], orthonormal DCT-II
  explicit Basis(int b) : block_px(b) {
    for (int u = 0; u < 3; ++u) {
      c[u].resize(b);
      const double alpha = u == 0 ? std::sqrt(1.0 / b) : std::sqrt(2.0 / b);
      for (int x = 0; x < b; ++x) c[u][x] = static_cast<float>(alpha * std::cos(M_PI * (2 * x + 1) * u / (2.0 * b)));
    }
  }
};

struct BlockCoefs {
  double mean = 0;
  double stddev = 0;
  std::array<double, kFragileCoefs> coef{};
};

BlockCoefs block_coefs(const cv::Mat& gray, int x0, int y0, const Basis& basis) {
  const int b = basis.block_px;
  std::array<std::vector<double>, 3> rows;
  for (auto& r : rows) r.assign(b, 0.0);
  double sum = 0, sum_sq = 0;
  for (int y = 0; y < b; ++y) {
    const uint8_t* p = gray.ptr<uint8_t>(y0 + y) + x0;
    double r0 = 0, r1 = 0, r2 = 0, s = 0;
    for (int x = 0; x < b; ++x) {
      const float v = p[x];
      s += v;
      sum_sq += v * v;
      r0 += basis.c[0][x] * v;
      r1 += basis.c[1][x] * v;
      r2 += basis.c[2][x] * v;
    }
    rows[0][y] = r0; rows[1][y] = r1; rows[2][y] = r2;
    sum += s;
  }
  BlockCoefs bc;
  bc.mean = sum / (b * b);
  bc.stddev = std::sqrt(std::max(0.0, sum_sq / (b * b) - bc.mean * bc.mean));
  for (int k = 0; k < kFragileCoefs; ++k) {
    const auto [u, v] = kCoefs[k];
    double acc = 0;
    for (int y = 0; y < b; ++y) acc += basis.c[v][y] * rows[u][y];
    bc.coef[k] = acc;
  }
  return bc;
}

// Keyed dither (fixed per block) and bits (per block and coarse-mean bin).
std::array<double, kFragileCoefs> dither(uint64_t seed, int bx, int by, double step) {
  uint64_t st = seed ^ 0x646974686572ull ^ (static_cast<uint64_t>(bx) * 0x9E3779B1ull) ^ (static_cast<uint64_t>(by) << 40);
  std::array<double, kFragileCoefs> d{};
  for (auto& v : d) v = step * static_cast<double>(splitmix64(st) >> 11) / 9007199254740992.0;
  return d;
}
uint32_t bits_for(uint64_t seed, int bx, int by, int bin) {
  uint64_t st = seed ^ 0x62697473ull ^ (static_cast<uint64_t>(bx) << 20) ^ (static_cast<uint64_t>(by) << 42) ^
                (static_cast<uint64_t>(bin + 16) * 0xD6E8FEB86659FD93ull);
  return static_cast<uint32_t>(splitmix64(st) & 0xFF);
}

// QIM distance of coefficient c from the lattice of bit `bit`, in steps, in [-0.5, 0.5].
double qim_offset(double c, double d, int bit, double step) {
  const double e = (c - d - bit * step / 2) / step;
  return e - std::round(e);
}

double block_score(const BlockCoefs& bc, const std::array<double, kFragileCoefs>& d, uint32_t bits, double step) {
  double s = 0;
  for (int k = 0; k < kNCoefs; ++k) s += std::abs(qim_offset(bc.coef[k], d[k], (bits >> k) & 1, step));
  return s / kNCoefs;
}

void embed_pass(Image& image, const cv::Mat& gray, uint64_t seed, const Basis& basis, const std::vector<uint8_t>* only) {
  const int b = basis.block_px;
  const double step = kStepPerBlockPx * b;
  const int nbx = image.width_px() / b, nby = image.height_px() / b;
  std::vector<float> delta(static_cast<size_t>(b) * b);
  for (int by = 0; by < nby; ++by) {
    for (int bx = 0; bx < nbx; ++bx) {
      if (only != nullptr && !(*only)[by * nbx + bx]) continue;
      const BlockCoefs bc = block_coefs(gray, bx * b, by * b, basis);
      if (bc.mean < kMinMean || bc.mean > kMaxMean || bc.stddev < kEmbedMinStd) continue;
      const uint32_t bits = bits_for(seed, bx, by, static_cast<int>(std::floor(bc.mean / kMeanBin)));
      const auto d = dither(seed, bx, by, step);
      std::array<double, kFragileCoefs> move{};
      for (int k = 0; k < kNCoefs; ++k) move[k] = -qim_offset(bc.coef[k], d[k], (bits >> k) & 1, step) * step;
      // delta(x, y) = sum_k move_k c_u(x) c_v(y)
      for (int y = 0; y < b; ++y) {
        float* drow = &delta[static_cast<size_t>(y) * b];
        for (int x = 0; x < b; ++x) drow[x] = 0.f;
        for (int k = 0; k < kFragileCoefs; ++k) {
          const auto [u, v] = kCoefs[k];
          const float a = static_cast<float>(move[k]) * basis.c[v][y];
          const float* cu = basis.c[u].data();
          for (int x = 0; x < b; ++x) drow[x] += a * cu[x];
        }
      }
      for (int y = 0; y < b; ++y) {
        uint8_t* p = image.at(bx * b, by * b + y);
        const float* drow = &delta[static_cast<size_t>(y) * b];
        for (int x = 0; x < b; ++x) {
          const int dv = static_cast<int>(std::lround(drow[x]));
          for (int ch = 0; ch < 3; ++ch) p[3 * x + ch] = cv::saturate_cast<uint8_t>(p[3 * x + ch] + dv);
        }
      }
    }
  }
}

cv::Mat gray_of(Image& image) {
  cv::Mat bgr(image.height_px(), image.width_px(), CV_8UC3, image.data());
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  return gray;
}

}  // namespace

// 16 px below 360 rows, else 32 px per 1000 rows (at least 32): large blocks keep their lowest
// coefficients through re-encoding at a lower distortion per pixel.
int fragile_block_px(int height_px) { return height_px < 360 ? 16 : 32 * std::max(1, height_px / 1000); }

void fragile_embed(Image& image, uint64_t seed) {
  const Basis basis(fragile_block_px(image.height_px()));
  embed_pass(image, gray_of(image), seed, basis, nullptr);
  // Clipping and rounding can leave a block off its lattice: one more pass on those blocks.
  cv::Mat gray = gray_of(image);
  FragileScores s = fragile_scores(gray.data, gray.cols, gray.rows, seed);
  std::vector<uint8_t> redo(s.score.size());
  bool any = false;
  for (size_t i = 0; i < redo.size(); ++i) any |= (redo[i] = s.score[i] > 0.06f) != 0;
  if (any) embed_pass(image, gray, seed, basis, &redo);
}

FragileScores fragile_scores(const uint8_t* gray_data, int width_px, int height_px, uint64_t seed,
                             const uint8_t* previous_gray) {
  FragileScores out;
  const Basis basis(fragile_block_px(height_px));
  const int b = basis.block_px;
  const double step = kStepPerBlockPx * b;
  out.block_px = b;
  out.blocks_x = width_px / b;
  out.blocks_y = height_px / b;
  out.score.assign(static_cast<size_t>(out.blocks_x) * out.blocks_y, 0.f);
  cv::Mat gray(height_px, width_px, CV_8U, const_cast<uint8_t*>(gray_data));
  for (int by = 0; by < out.blocks_y; ++by) {
    for (int bx = 0; bx < out.blocks_x; ++bx) {
      const BlockCoefs bc = block_coefs(gray, bx * b, by * b, basis);
      if (bc.mean < kMinMean - 4 || bc.mean > kMaxMean + 4 || bc.stddev < kCheckMinStd) continue;
      if (previous_gray != nullptr) {
        double diff = 0;
        for (int y = 0; y < b; ++y) {
          const uint8_t* p = gray.ptr<uint8_t>(by * b + y) + bx * b;
          const uint8_t* q = previous_gray + static_cast<size_t>(by * b + y) * width_px + bx * b;
          for (int x = 0; x < b; ++x) diff += std::abs(int(p[x]) - int(q[x]));
        }
        if (diff / (b * b) > kMaxMotion) continue;
      }
      const auto d = dither(seed, bx, by, step);
      const double pos = bc.mean / kMeanBin;
      const int bin = static_cast<int>(std::floor(pos));
      const double frac = pos - bin;
      double best = block_score(bc, d, bits_for(seed, bx, by, bin), step);
      if (frac < kMeanMargin) best = std::min(best, block_score(bc, d, bits_for(seed, bx, by, bin - 1), step));
      if (frac > 1 - kMeanMargin) best = std::min(best, block_score(bc, d, bits_for(seed, bx, by, bin + 1), step));
      out.score[by * out.blocks_x + bx] = static_cast<float>(best);
    }
  }
  return out;
}

TamperMap tamper_map(const FragileScores& s) {
  TamperMap m;
  const int w = s.blocks_x, h = s.blocks_y;
  if (w == 0 || h == 0) return m;
  std::vector<uint8_t> raw(s.score.size());
  int n_raw = 0;
  for (size_t i = 0; i < raw.size(); ++i) n_raw += raw[i] = s.score[i] > kFragileThreshold;
  auto neighbours = [&](const std::vector<uint8_t>& f, int x, int y) {
    int n = 0;
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) {
        if (dx == 0 && dy == 0) continue;
        const int xx = x + dx, yy = y + dy;
        if (xx >= 0 && yy >= 0 && xx < w && yy < h) n += f[yy * w + xx];
      }
    return n;
  };
  // Isolated flags are re-encoding noise; blocks mostly surrounded by flags are misses.
  m.flagged.assign(raw.size(), 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int n = neighbours(raw, x, y);
      m.flagged[y * w + x] = raw[y * w + x] ? n >= 1 : n >= 5;
    }
  int n_flagged = 0, n_healthy = 0;
  for (uint8_t f : m.flagged) n_flagged += f;
  for (float v : s.score) {
    if (v <= 0.f) continue;
    ++m.n_checked;
    n_healthy += v <= 0.1f;
  }
  m.healthy_fraction = m.n_checked > 0 ? static_cast<double>(n_healthy) / m.n_checked : 0.0;
  m.raw_fraction_blocks = static_cast<double>(n_raw) / raw.size();
  m.fraction_blocks = static_cast<double>(n_flagged) / raw.size();
  // Regions: 8-connected components of flagged blocks, as pixel boxes.
  std::vector<int> label(raw.size(), -1);
  std::vector<int> stack;
  for (int i = 0; i < w * h; ++i) {
    if (!m.flagged[i] || label[i] >= 0) continue;
    int x_min = w, y_min = h, x_max = -1, y_max = -1, n = 0;
    stack.assign(1, i);
    label[i] = i;
    while (!stack.empty()) {
      const int j = stack.back();
      stack.pop_back();
      const int x = j % w, y = j / w;
      x_min = std::min(x_min, x); x_max = std::max(x_max, x);
      y_min = std::min(y_min, y); y_max = std::max(y_max, y);
      ++n;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const int k = yy * w + xx;
          if (m.flagged[k] && label[k] < 0) { label[k] = i; stack.push_back(k); }
        }
    }
    if (n >= 2) {
      const double b = s.block_px;
      m.regions.push_back(Box{x_min * b, y_min * b, (x_max - x_min + 1) * b, (y_max - y_min + 1) * b});
    }
  }
  return m;
}

}  // namespace unmask::mark::detail
