// The semi-fragile layer. Per B x B block (B = 16 px below 360 rows, else 32 px per 1000 rows), 3
// bits are derived from the key, the block's position and its coarse mean (quantised in steps of
// 32 levels), and embedded by dithered QIM into the 3 lowest non-DC orthonormal DCT coefficients
// of the block's luma, with a large step (2.6 B). Re-encoding moves those coefficients by a small
// fraction of the step; content from elsewhere (a pasted patch, a swapped face) lands anywhere on
// the lattice, and at the wrong bits. Tamper is decided per frame from the structure of the
// flagged blocks: only connected groups of at least kMinRegionBlocks count.
#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "mark/internal.h"

namespace unmask::mark::detail {
namespace {

// (u horizontal, v vertical). The lowest coefficients survive H.264 best; for the same energy
// three coefficients get a step 1.6x that of eight. Measured after x264 CRF 23 on the I-frame of
// the 854x480 benchmark clip: median block score 0.110 with 8 coefficients at step 1.6 B, 0.085
// with 4 at 2.26 B, 0.074 with 3 at 2.6 B (foreign content: ~0.25).
constexpr std::array<std::pair<int, int>, kFragileCoefs> kCoefs = {{{1, 0}, {0, 1}, {1, 1}}};
constexpr double kStepPerBlockPx = 2.6;
constexpr int kNCoefs = kFragileCoefs;
constexpr double kMeanBin = 32.0;        // coarse content: the block mean in bins of 32 levels
constexpr double kMeanMargin = 0.25;     // near a bin edge, the neighbouring bin is accepted too
constexpr double kMinMean = 16.0, kMaxMean = 239.0;  // near-saturated blocks carry no bits
// Flat blocks carry no bits either: encoders replace them with their prediction, wiping any mark.
// A block is marked from kEmbedMinStd and checked from kCheckMinStd (gray levels of std dev), so
// that re-encoding, which lowers texture, never brings an unmarked block into the check.
// Blocks with std 4-8 levels lost their bits to x264's intra prediction at CRF 23 in 39% of
// cases (8-12: 13%, above: 2-4%), so only blocks from 8 levels are checked.
constexpr double kEmbedMinStd = 6.0;
constexpr double kCheckMinStd = 8.0;
// Mean absolute change (gray levels) from the previous frame above which a block counts as moving.
// Blocks that moved by 0.5-1.5 levels lost their bits in 48-53 % of cases after x264 CRF 23 on
// 2person.mp4 (static blocks: 15 %): the encoder predicts them from the previous frame and drops
// the residual that would restore their bits.
constexpr double kMaxMotion = 0.5;
// The layer reads each block through a clamp to [kFeatureLo, kFeatureHi]: pixels at or beyond it
// contribute the clamp value, whatever the codec did to them. Decoders clip YUV -> RGB at 0 and
// 255, so the coding noise and edge ringing of black or white pixels come back rectified
// (one-sided); along the black borders of 2person.mp4 that bias moved block coefficients by up
// to a third of a step (after CRF 23, 49 % of the checked blocks with pixels within 4 levels of 0
// or 255 were flagged, 7 % of the others). A clamp at 12 levels removed the bias too but left the
// dark parts of pasted faces unchecked (orig.webm IoU 0.68 -> 0.55); 4 levels keeps them.
constexpr int kFeatureLo = 4, kFeatureHi = 251;
// Share of a block's pixels strictly inside the clamp needed to carry bits (embed) and to be
// checked (verify); the margin keeps a decoded block from entering the check unmarked.
constexpr double kEmbedMinLive = 0.5;
constexpr double kCheckMinLive = 0.6;

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
  double mean = 0;    // of the clamped block
  double stddev = 0;  // of the clamped block
  double motion = 0;  // mean absolute change of the clamped block from the previous frame (when given)
  double live = 1;    // share of pixels strictly inside the clamp
  std::array<double, kFragileCoefs> coef{};
};

inline float clamp_feature(uint8_t v) {
  return std::min(std::max(static_cast<float>(v), static_cast<float>(kFeatureLo)), static_cast<float>(kFeatureHi));
}

// Statistics of every block of one row of blocks (a strip of B rows), through column
// projections: t_v[x] = sum_y c_v(y) g(x, y) over the strip (contiguous, vectorised loops), then
// coef(u, v) = sum_x c_u(x) t_v[x] within each block. Buffers are reused from strip to strip.
class StripStats {
 public:
  explicit StripStats(const Basis& basis) : basis_(basis) {}

  void compute(const uint8_t* gray, int width_px, int y0, int nbx, const uint8_t* previous, std::vector<BlockCoefs>& out) {
    const int b = basis_.block_px, w = nbx * b;
    for (auto& t : t_) t.assign(w, 0.f);
    sq_.assign(w, 0.f);
    live_.assign(w, 0);
    if (previous != nullptr) motion_.assign(w, 0.f);
    constexpr float lo = kFeatureLo, hi = kFeatureHi;
    for (int y = 0; y < b; ++y) {
      const uint8_t* __restrict p = gray + static_cast<size_t>(y0 + y) * width_px;
      const float c0 = basis_.c[0][y], c1 = basis_.c[1][y], c2 = basis_.c[2][y];
      float* __restrict t0 = t_[0].data();
      float* __restrict t1 = t_[1].data();
      float* __restrict t2 = t_[2].data();
      float* __restrict q = sq_.data();
      for (int x = 0; x < w; ++x) {
        const float v = std::min(std::max(static_cast<float>(p[x]), lo), hi);
        t0[x] += c0 * v;
        t1[x] += c1 * v;
        t2[x] += c2 * v;
        q[x] += v * v;
      }
      uint16_t* __restrict l = live_.data();
      for (int x = 0; x < w; ++x) l[x] += static_cast<uint16_t>((p[x] > kFeatureLo) & (p[x] < kFeatureHi));
      if (previous != nullptr) {
        const uint8_t* __restrict r = previous + static_cast<size_t>(y0 + y) * width_px;
        float* __restrict m = motion_.data();
        for (int x = 0; x < w; ++x) {
          const float a = std::min(std::max(static_cast<float>(p[x]), lo), hi);
          const float c = std::min(std::max(static_cast<float>(r[x]), lo), hi);
          m[x] += std::abs(a - c);
        }
      }
    }
    out.resize(nbx);
    const double n = static_cast<double>(b) * b;
    for (int bx = 0; bx < nbx; ++bx) {
      const int x0 = bx * b;
      BlockCoefs& bc = out[bx];
      double s0 = 0, s_sq = 0, s_m = 0;
      int n_live = 0;
      for (int x = 0; x < b; ++x) {
        s0 += t_[0][x0 + x];
        s_sq += sq_[x0 + x];
        n_live += live_[x0 + x];
      }
      bc.live = n_live / n;
      if (previous != nullptr)
        for (int x = 0; x < b; ++x) s_m += motion_[x0 + x];
      bc.mean = s0 * basis_.c[0][0] / b;  // sum_y c_0(y) g = sum g / sqrt(b)
      bc.stddev = std::sqrt(std::max(0.0, s_sq / n - bc.mean * bc.mean));
      bc.motion = s_m / n;
      for (int k = 0; k < kFragileCoefs; ++k) {
        const auto [u, v] = kCoefs[k];
        const float* cu = basis_.c[u].data();
        const float* tv = t_[v].data() + x0;
        double acc = 0;
        for (int x = 0; x < b; ++x) acc += cu[x] * tv[x];
        bc.coef[k] = acc;
      }
    }
  }

 private:
  const Basis& basis_;
  std::array<std::vector<float>, 3> t_;
  std::vector<float> sq_, motion_;
  std::vector<uint16_t> live_;  // per column of the strip (at most 32 rows per block)
};

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

// The luma change that moves block (bx, by) onto its lattice, rounded per pixel, added to
// `delta` (int16, row stride width_px). `gray` points at the block's first pixel (row stride
// width_px). A block whose pixels are all inside the feature clamp gets
// move(x, y) = sum_k m_k c_u(x) c_v(y), evaluated as sum_v c_v(y) p_v(x) with
// p_v(x) = sum_{k: v_k = v} m_k c_u(x). In a block with pixels at the clamp those pixels stay as
// they are (they cannot move the feature); the live pixels get the least change that moves the 3
// coefficients by m and keeps the block mean (so the bits' mean bin), from the 4x4 Gram matrix of
// the basis restricted to them.
// (bx, by) is the block's position (for the key); `gray` and `delta` point at its first pixel,
// both with row stride `stride`.
void add_block_delta(const BlockCoefs& bc, const uint8_t* gray, int bx, int by, uint64_t seed, const Basis& basis,
                     int stride, int16_t* delta, std::array<std::vector<float>, 3>& prof) {
  const int b = basis.block_px;
  const double step = kStepPerBlockPx * b;
  const int width_px = stride;
  const uint32_t bits = bits_for(seed, bx, by, static_cast<int>(std::floor(bc.mean / kMeanBin)));
  const auto d = dither(seed, bx, by, step);
  std::array<double, kNCoefs> m{};
  for (int k = 0; k < kNCoefs; ++k) m[k] = -qim_offset(bc.coef[k], d[k], (bits >> k) & 1, step) * step;
  if (bc.live >= 1.0) {
    for (auto& pr : prof) pr.assign(b, 0.f);
    for (int k = 0; k < kNCoefs; ++k) {
      const auto [u, v] = kCoefs[k];
      for (int x = 0; x < b; ++x) prof[v][x] += static_cast<float>(m[k]) * basis.c[u][x];
    }
    for (int y = 0; y < b; ++y) {
      const float c0 = basis.c[0][y], c1 = basis.c[1][y], c2 = basis.c[2][y];
      int16_t* row = delta + static_cast<size_t>(y) * width_px;
      for (int x = 0; x < b; ++x) {
        const float v = c0 * prof[0][x] + c1 * prof[1][x] + c2 * prof[2][x];
        row[x] = static_cast<int16_t>(row[x] + cvRound(v));
      }
    }
    return;
  }
  // Basis 0 is the DC (target change 0), 1..3 the coefficients: phi = cx_a(x) cy_c(y) with
  // (a, c) = (0, 0), (1, 0), (0, 1), (1, 1). The Gram matrix over the live pixels is separable:
  // per row, the masked sums of cx0^2, cx0 cx1 and cx1^2.
  constexpr int kN = kNCoefs + 1;
  static_assert(kCoefs[0] == std::pair{1, 0} && kCoefs[1] == std::pair{0, 1} && kCoefs[2] == std::pair{1, 1});
  const float* cx0 = basis.c[0].data();
  const float* cx1 = basis.c[1].data();
  constexpr int kA[kN] = {0, 1, 0, 1}, kC[kN] = {0, 0, 1, 1};
  cv::Matx<double, kN, kN> g = cv::Matx<double, kN, kN>::zeros();
  for (int y = 0; y < b; ++y) {
    const uint8_t* p = gray + static_cast<size_t>(y) * width_px;
    double r[2][2] = {{0, 0}, {0, 0}};
    for (int x = 0; x < b; ++x) {
      if (p[x] <= kFeatureLo || p[x] >= kFeatureHi) continue;
      r[0][0] += cx0[x] * cx0[x];
      r[0][1] += cx0[x] * cx1[x];
      r[1][1] += cx1[x] * cx1[x];
    }
    r[1][0] = r[0][1];
    const double cy[2] = {cx0[y], cx1[y]};
    for (int i = 0; i < kN; ++i)
      for (int j = i; j < kN; ++j) g(i, j) += r[kA[i]][kA[j]] * cy[kC[i]] * cy[kC[j]];
  }
  for (int i = 0; i < kN; ++i)
    for (int j = 0; j < i; ++j) g(i, j) = g(j, i);
  const cv::Vec<double, kN> target(0.0, m[0], m[1], m[2]);
  cv::Vec<double, kN> a;
  if (!cv::solve(g, target, a, cv::DECOMP_CHOLESKY)) return;  // too few live pixels to move
  // Ill-conditioned masks (live pixels in a thin strip) would need large changes: capped.
  constexpr float kMaxChange = 16.0f;
  for (int y = 0; y < b; ++y) {
    const uint8_t* p = gray + static_cast<size_t>(y) * width_px;
    int16_t* row = delta + static_cast<size_t>(y) * width_px;
    // sum_i a_i phi_i = cx0(x) (a0 cy0 + a2 cy1) + cx1(x) (a1 cy0 + a3 cy1)
    const float k0 = static_cast<float>(a[0] * cx0[y] + a[2] * cx1[y]);
    const float k1 = static_cast<float>(a[1] * cx0[y] + a[3] * cx1[y]);
    for (int x = 0; x < b; ++x) {
      if (p[x] <= kFeatureLo || p[x] >= kFeatureHi) continue;
      const float v = std::clamp(k0 * cx0[x] + k1 * cx1[x], -kMaxChange, kMaxChange);
      row[x] = static_cast<int16_t>(row[x] + cvRound(v));
    }
  }
}

// The block's score against its own bits, accepting the neighbouring mean bin near a bin edge.
double best_score(const BlockCoefs& bc, uint64_t seed, int bx, int by, double step) {
  const auto d = dither(seed, bx, by, step);
  const double pos = bc.mean / kMeanBin;
  const int bin = static_cast<int>(std::floor(pos));
  const double frac = pos - bin;
  double best = block_score(bc, d, bits_for(seed, bx, by, bin), step);
  if (frac < kMeanMargin) best = std::min(best, block_score(bc, d, bits_for(seed, bx, by, bin - 1), step));
  if (frac > 1 - kMeanMargin) best = std::min(best, block_score(bc, d, bits_for(seed, bx, by, bin + 1), step));
  return best;
}

bool carries_bits(const BlockCoefs& bc) {
  return bc.mean >= kMinMean && bc.mean <= kMaxMean && bc.stddev >= kEmbedMinStd && bc.live >= kEmbedMinLive;
}

// The box of a group of flagged blocks (x0..x1, y0..y1). The altered area ends somewhere between
// the outermost flagged blocks and the first blocks that were checked and found intact; where the
// row or column beyond a side was left out because its content moved (an altered face and the
// moving host next to it cannot be told apart there), the side is moved into it by kUnknownReach
// of a block times the share of its blocks that moved. Next to checked, flat or out-of-frame
// blocks the side stays on the block edge. Measured on the benchmark's pasted faces (CRF 23, same
// encodes; generated, real.mp4, orig.webm, 2person, then three more manifest clips not used to
// choose: dance, dirtydancing, nggyup): block box 0.766 / 0.833 / 0.677 / 0.801 / 0.706 / 0.797 /
// 0.737; a quarter block into moving neighbours 0.757 / 0.833 / 0.701 / 0.783 / 0.749 / 0.800 /
// 0.730; into any unchecked neighbour 0.756 / 0.826 / 0.716 / 0.752 / 0.767 / 0.775 / 0.685.
constexpr double kUnknownReach = 0.25;

Box region_box(const FragileScores& s, int x0, int y0, int x1, int y1) {
  const int w = s.blocks_x, h = s.blocks_y;
  const double b = s.block_px;
  auto unchecked_share = [&](int xa, int ya, int xb, int yb) {
    if (s.moving.empty()) return 0.0;
    int n = 0, u = 0;
    for (int y = std::max(0, ya); y <= std::min(h - 1, yb); ++y)
      for (int x = std::max(0, xa); x <= std::min(w - 1, xb); ++x) {
        ++n;
        u += s.moving[static_cast<size_t>(y) * w + x];
      }
    return n > 0 ? static_cast<double>(u) / n : 0.0;
  };
  const double reach = kUnknownReach * b;
  const double left = reach * unchecked_share(x0 - 1, y0, x0 - 1, y1);
  const double right = reach * unchecked_share(x1 + 1, y0, x1 + 1, y1);
  const double top = reach * unchecked_share(x0, y0 - 1, x1, y0 - 1);
  const double bottom = reach * unchecked_share(x0, y1 + 1, x1, y1 + 1);
  return Box{x0 * b - left, y0 * b - top, (x1 - x0 + 1) * b + left + right, (y1 - y0 + 1) * b + top + bottom};
}

}  // namespace

// 16 px below 360 rows, else 32 px per 1000 rows (at least 32): large blocks keep their lowest
// coefficients through re-encoding at a lower distortion per pixel.
int fragile_block_px(int height_px) { return height_px < 360 ? 16 : 32 * std::max(1, height_px / 1000); }

void fragile_delta(const uint8_t* gray, int width_px, int height_px, uint64_t seed, int16_t* delta,
                   std::vector<uint8_t>* recheck) {
  const Basis basis(fragile_block_px(height_px));
  const int b = basis.block_px, nbx = width_px / b, nby = height_px / b;
  StripStats stats(basis);
  std::vector<BlockCoefs> strip;
  std::array<std::vector<float>, 3> prof;
  for (int by = 0; by < nby; ++by) {
    stats.compute(gray, width_px, by * b, nbx, nullptr, strip);
    for (int bx = 0; bx < nbx; ++bx) {
      if (!carries_bits(strip[bx])) continue;
      const size_t at = static_cast<size_t>(by) * b * width_px + static_cast<size_t>(bx) * b;
      add_block_delta(strip[bx], gray + at, bx, by, seed, basis, width_px, delta + at, prof);
      // Pixels at the clamp did not take their share of the change: checked again on the final image.
      if (strip[bx].live < 1.0 && recheck != nullptr) (*recheck)[static_cast<size_t>(by) * nbx + bx] = 1;
    }
  }
}

void fragile_fix(Image& image, uint64_t seed, const std::vector<uint8_t>& blocks) {
  const int w = image.width_px(), h = image.height_px();
  const Basis basis(fragile_block_px(h));
  const int b = basis.block_px, nbx = w / b, nby = h / b;
  const double step = kStepPerBlockPx * b;
  // A pass moves a block onto its lattice as far as the pixels let it; pixels that clamp (a
  // channel at 0 or 255, a luma crossing the feature clamp) take part of the move away, and the
  // next pass, with the pixels as they now are, moves the rest. Each block is read on its own.
  constexpr int kPasses = 3;
  constexpr double kGoodEnough = 0.03;  // rounding alone leaves ~0.005
  StripStats stats(basis);
  std::vector<BlockCoefs> one;
  std::array<std::vector<float>, 3> prof;
  std::vector<int16_t> delta(static_cast<size_t>(b) * b);
  cv::Mat gray(b, b, CV_8U);
  for (int by = 0; by < nby; ++by)
    for (int bx = 0; bx < nbx; ++bx) {
      if (!blocks[static_cast<size_t>(by) * nbx + bx]) continue;
      cv::Mat bgr(b, b, CV_8UC3, image.at(bx * b, by * b), static_cast<size_t>(w) * 3);
      for (int pass = 0; pass < kPasses; ++pass) {
        cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
        stats.compute(gray.data, b, 0, 1, nullptr, one);
        if (!carries_bits(one[0]) || best_score(one[0], seed, bx, by, step) <= kGoodEnough) break;
        std::fill(delta.begin(), delta.end(), int16_t{0});
        add_block_delta(one[0], gray.data, bx, by, seed, basis, b, delta.data(), prof);
        for (int y = 0; y < b; ++y) {
          uint8_t* p = image.at(bx * b, by * b + y);
          const int16_t* d = &delta[static_cast<size_t>(y) * b];
          for (int x = 0; x < b; ++x)
            for (int ch = 0; ch < 3; ++ch) p[3 * x + ch] = cv::saturate_cast<uint8_t>(p[3 * x + ch] + d[x]);
        }
      }
    }
}

void fragile_embed(Image& image, uint64_t seed) {
  cv::Mat bgr(image.height_px(), image.width_px(), CV_8UC3, image.data()), gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  std::vector<int16_t> delta(static_cast<size_t>(image.width_px()) * image.height_px(), 0);
  const int b = fragile_block_px(image.height_px()), nbx = image.width_px() / b, nby = image.height_px() / b;
  std::vector<uint8_t> clipped(static_cast<size_t>(std::max(1, nbx * nby)), 0);
  fragile_delta(gray.data, gray.cols, gray.rows, seed, delta.data(), &clipped);
  apply_luma_delta(image, delta.data(), b, nbx, nby, clipped);
  fragile_fix(image, seed, clipped);
}

void apply_luma_delta(Image& image, const int16_t* delta, int block_px, int blocks_x, int blocks_y,
                      std::vector<uint8_t>& clipped) {
  const int w = image.width_px(), h = image.height_px();
  for (int y = 0; y < h; ++y) {
    uint8_t* p = image.row(y);
    const int16_t* d = delta + static_cast<size_t>(y) * w;
    const int by = y / block_px;
    uint8_t* clip_row = by < blocks_y ? &clipped[static_cast<size_t>(by) * blocks_x] : nullptr;
    // Whole blocks at a time: the clamp's flag is kept per block.
    for (int x0 = 0; x0 < w; x0 += block_px) {
      const int x1 = std::min(w, x0 + block_px);
      int out_of_range = 0;
      for (int x = x0; x < x1; ++x) {
        const int dv = d[x];
        for (int ch = 0; ch < 3; ++ch) {
          const int v = p[3 * x + ch] + dv;
          out_of_range |= (v < 0) | (v > 255);
          p[3 * x + ch] = static_cast<uint8_t>(std::clamp(v, 0, 255));
        }
      }
      const int bx = x0 / block_px;
      if (out_of_range && clip_row != nullptr && bx < blocks_x) clip_row[bx] = 1;
    }
  }
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
  if (previous_gray != nullptr) out.moving.assign(out.score.size(), 0);
  StripStats stats(basis);
  std::vector<BlockCoefs> strip;
  for (int by = 0; by < out.blocks_y; ++by) {
    stats.compute(gray_data, width_px, by * b, out.blocks_x, previous_gray, strip);
    for (int bx = 0; bx < out.blocks_x; ++bx) {
      const BlockCoefs& bc = strip[bx];
      if (bc.mean < kMinMean - 4 || bc.mean > kMaxMean + 4 || bc.stddev < kCheckMinStd || bc.live < kCheckMinLive) continue;
      if (previous_gray != nullptr && bc.motion > kMaxMotion) {
        out.moving[by * out.blocks_x + bx] = 1;
        continue;
      }
      out.score[by * out.blocks_x + bx] = static_cast<float>(best_score(bc, seed, bx, by, step));
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
  // Regions: 8-connected components of flagged blocks. Re-encoding noise leaves small scattered
  // groups; a replaced face or object is one connected area: groups smaller than
  // kMinRegionBlocks are dropped from the map.
  std::vector<int> label(raw.size(), -1);
  std::vector<int> stack, members;
  for (int i = 0; i < w * h; ++i) {
    if (!m.flagged[i] || label[i] >= 0) continue;
    int x_min = w, y_min = h, x_max = -1, y_max = -1;
    stack.assign(1, i);
    members.clear();
    label[i] = i;
    while (!stack.empty()) {
      const int j = stack.back();
      stack.pop_back();
      members.push_back(j);
      const int x = j % w, y = j / w;
      x_min = std::min(x_min, x); x_max = std::max(x_max, x);
      y_min = std::min(y_min, y); y_max = std::max(y_max, y);
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const int k = yy * w + xx;
          if (m.flagged[k] && label[k] < 0) { label[k] = i; stack.push_back(k); }
        }
    }
    if (static_cast<int>(members.size()) < kMinRegionBlocks) {
      for (int j : members) m.flagged[j] = 0;
      continue;
    }
    m.regions.push_back(region_box(s, x_min, y_min, x_max, y_max));
  }
  // Readability is judged outside the regions: a large pasted patch is unhealthy by design and
  // must not make the frame around it unreadable.
  int n_flagged = 0, n_healthy = 0, n_outside = 0, n_checked_flagged = 0;
  for (uint8_t f : m.flagged) n_flagged += f;
  for (size_t i = 0; i < s.score.size(); ++i) {
    const float v = s.score[i];
    if (v <= 0.f) continue;
    ++m.n_checked;
    if (m.flagged[i]) { ++n_checked_flagged; continue; }
    ++n_outside;
    n_healthy += v <= 0.1f;
  }
  m.healthy_fraction = n_outside > 0 ? static_cast<double>(n_healthy) / n_outside : 0.0;
  m.flagged_checked_fraction = m.n_checked > 0 ? static_cast<double>(n_checked_flagged) / m.n_checked : 0.0;
  m.raw_fraction_blocks = static_cast<double>(n_raw) / raw.size();
  m.fraction_blocks = static_cast<double>(n_flagged) / raw.size();
  return m;
}

}  // namespace unmask::mark::detail
