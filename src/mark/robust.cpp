// The robust layer on the canonical grid (see internal.h): the front end shared by embedder and
// detector, the informed (host-cancelling) embedder, soft combining across frames weighted by
// each frame's own sync evidence, and a crop search for frames that show part of the marked one.
#include <algorithm>
#include <cmath>
#include <exception>
#include <system_error>
#include <thread>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "mark/internal.h"

namespace unmask::mark::detail {
namespace {

constexpr double kHighPassSigma = 0.8;   // chips: host content below the mark's band is removed
constexpr double kActivitySigma = 2.0;   // chips: local host activity for the weights
constexpr float kActivityFloor = 0.3f;   // gray levels^2 added to the activity
constexpr int kCellsPerChip = 4;         // crop search works on quarter chips
constexpr float kMinAmp = 0.5f, kMaxAmp = 3.0f;  // informed bit amplitudes (mean square 1)
constexpr float kSyncAmp = 0.5f;         // sync chips' amplitude relative to the data's mean
// The informed embedder also cancels the host as the detector sees it after a downscale and
// re-encode, simulated by a Gaussian blur of this many chips on the chip plane (measured on the
// 854x480 clip after CRF 28 + 0.5x, 48 frames: combined correlation 0.58 -> 0.70; 0.8 chips 0.66).
constexpr double kAttackBlurChips = 0.5;
// Energy across chips (informed embedding): chip amplitudes follow 1 / sqrt(activity +
// kMaskOffset) of the host, normalised to the same mean square and clamped to [kMaskMin,
// kMaskMax] times the mean. After x264 CRF 28 of a half-size copy, a textured chip keeps more of
// its mark (0.2-0.37 of it) than a flat one (0.01-0.12), but its host noise grows faster still,
// so per unit of energy the flatter chips carry 5-10x more evidence (measured per activity bin
// on orig.webm and 2person.mp4; docs/watermark.md). Exponent -0.25 (more energy in texture, the
// perceptual rule) lost the mark on all four benchmark clips; +0.25, +0.5 (this) and +0.75
// decoded all four, 0.5 with the best margin on the weakest clip.
constexpr double kMaskOffset = 1.0;      // gray levels^2
constexpr float kMaskMin = 0.25f, kMaskMax = 3.0f;

// Exact area coverage of n_out cells laid over n_in pixels (n_in >= n_out): cell i covers
// [i s, (i + 1) s) with s = n_in / n_out; pixels first..last, the end pixels partly.
struct AreaSpan {
  int first = 0, last = 0;
  float w_first = 1.f, w_last = 1.f;  // coverage of the end pixels (first == last: w_first)
};

std::vector<AreaSpan> area_spans(int n_in, int n_out) {
  std::vector<AreaSpan> spans(n_out);
  const double s = static_cast<double>(n_in) / n_out;
  for (int i = 0; i < n_out; ++i) {
    const double a = i * s, b = std::min<double>(n_in, (i + 1) * s);
    AreaSpan& sp = spans[i];
    sp.first = static_cast<int>(std::floor(a));
    sp.last = std::min(n_in - 1, static_cast<int>(std::ceil(b)) - 1);
    if (sp.first == sp.last) {
      sp.w_first = static_cast<float>(b - a);
      sp.w_last = 0.f;
    } else {
      sp.w_first = static_cast<float>(sp.first + 1 - a);
      sp.w_last = static_cast<float>(b - sp.last);
    }
  }
  return spans;
}

// Area averages of `gray` over the cells of an nx x ny grid laid over the whole frame (exact
// fractional coverage, so that a resized frame gives the same cells). Separable: rows of the
// frame are summed into each cell row first (vectorised), then the columns within a cell row.
// Cells smaller than a pixel (tiny frames) go through cv::resize.
cv::Mat cell_means(const uint8_t* gray, int width_px, int height_px, int nx, int ny) {
  cv::Mat out(ny, nx, CV_32F);
  if (nx > width_px || ny > height_px) {
    cv::Mat src(height_px, width_px, CV_8U, const_cast<uint8_t*>(gray)), f;
    src.convertTo(f, CV_32F);
    cv::resize(f, out, cv::Size(nx, ny), 0, 0, cv::INTER_AREA);
    return out;
  }
  const std::vector<AreaSpan> sx = area_spans(width_px, nx), sy = area_spans(height_px, ny);
  const float norm = static_cast<float>(static_cast<double>(nx) * ny / (static_cast<double>(width_px) * height_px));
  std::vector<float> acc(width_px);
  for (int j = 0; j < ny; ++j) {
    const AreaSpan& v = sy[j];
    std::fill(acc.begin(), acc.end(), 0.f);
    for (int y = v.first; y <= v.last; ++y) {
      const float w = y == v.first ? v.w_first : y == v.last ? v.w_last : 1.f;
      const uint8_t* p = gray + static_cast<size_t>(y) * width_px;
      float* a = acc.data();
      for (int x = 0; x < width_px; ++x) a[x] += w * static_cast<float>(p[x]);
    }
    float* o = out.ptr<float>(j);
    for (int i = 0; i < nx; ++i) {
      const AreaSpan& h = sx[i];
      float s = h.w_first * acc[h.first];
      if (h.last > h.first) {
        for (int x = h.first + 1; x < h.last; ++x) s += acc[x];
        s += h.w_last * acc[h.last];
      }
      o[i] = s * norm;
    }
  }
  return out;
}

cv::Mat cell_means_f(const cv::Mat& f, int nx, int ny) {
  cv::Mat out;
  cv::resize(f, out, cv::Size(nx, ny), 0, 0, cv::INTER_AREA);
  return out;
}

// Area average of quarter-chip cells into chips (cells plane is kCellsPerChip times the grid).
cv::Mat chips_from_cells(const cv::Mat& cells) {
  cv::Mat out;
  cv::resize(cells, out, cv::Size(cells.cols / kCellsPerChip, cells.rows / kCellsPerChip), 0, 0, cv::INTER_AREA);
  return out;
}

void front_end_mat(const cv::Mat& plane, cv::Mat& value, cv::Mat& weight) {
  cv::Mat low;
  cv::GaussianBlur(plane, low, cv::Size(0, 0), kHighPassSigma, kHighPassSigma, cv::BORDER_REFLECT);
  value = plane - low;
  cv::Mat activity;
  cv::GaussianBlur(value.mul(value), activity, cv::Size(0, 0), kActivitySigma, kActivitySigma, cv::BORDER_REFLECT);
  cv::divide(1.0, activity + kActivityFloor, weight);
}

FrontEnd to_front_end(const cv::Mat& value, const cv::Mat& weight) {
  FrontEnd fe;
  fe.value.assign(value.begin<float>(), value.end<float>());
  fe.weight.assign(weight.begin<float>(), weight.end<float>());
  return fe;
}

// Per-frame statistics of one grid: soft value per coded bit, sync correlation and its noise.
struct FrameStats {
  std::vector<double> soft;
  double sync = 0, sync_noise2 = 0;
};

FrameStats stats_of(const Layout& layout, Grid g, const cv::Mat& value, const cv::Mat& weight) {
  FrameStats st;
  st.soft.assign(kCodedBits, 0.0);
  for (int j = 0; j < g.ny; ++j) {
    const float* v = value.ptr<float>(j);
    const float* w = weight.ptr<float>(j);
    for (int i = 0; i < g.nx; ++i) {
      const int c = virtual_index(i, j);
      const double y = static_cast<double>(w[i]) * v[i];
      const int bit = layout.coded_bit[c];
      if (bit < 0) {
        st.sync += layout.pn[c] * y;
        st.sync_noise2 += y * y;
      } else {
        st.soft[bit] += layout.pn[c] * y;
      }
    }
  }
  return st;
}

RobustResult decode_soft(std::vector<double> soft) {
  RobustResult out;
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

// Chip means of the part [ox, ox + kx) x [oy, oy + ky) (in chips of the marked frame) that a
// cropped frame shows, for chips 0..nx-1 x 0..ny-1 of the marked grid, from an integral image of
// the cropped frame's cells. Chips outside the crop get weight 0 (mask).
struct CropView {
  cv::Mat plane, mask;
  int nx = 0, ny = 0;
};

// Bilinear lookups in the integral image (exact for axis-aligned fractional boxes of a
// piecewise-constant image, up to the bilinear interpolation of the corner terms), on a grid of
// points: every column x of the grid meets every row y. Where a coordinate falls (its cell and
// fraction, clamped to the image) is worked out once per column and once per row; each point is
// then the same expression of the same numbers as a lookup of its own would be.
struct IntegralAxis {
  int index = 0;      // the cell's first integral-image line
  double frac = 0.0;  // how far past it
};

IntegralAxis integral_axis(double v, int lines) {
  v = std::clamp(v, 0.0, lines - 1.0);
  const int i = std::min(static_cast<int>(v), lines - 2);
  return IntegralAxis{i, v - i};
}

// Chips of a crop view along one side: the crop's kx (or ky) chips from offset ox (or oy),
// capped by the virtual grid.
int crop_view_chips(double offset, double k) {
  return std::min(kVirtualChips, static_cast<int>(std::ceil(offset + k)));
}

CropView crop_view(const cv::Mat& integral, int cells_x, int cells_y, double kx, double ky, double ox, double oy) {
  CropView v;
  v.nx = crop_view_chips(ox, kx);
  v.ny = crop_view_chips(oy, ky);
  v.plane = cv::Mat::zeros(v.ny, v.nx, CV_32F);
  v.mask = cv::Mat::zeros(v.ny, v.nx, CV_32F);
  const double sx = cells_x / kx, sy = cells_y / ky;  // cells per chip
  // The box sums' four corner lookups, each computed once per chip corner instead of once for each of
  // the (up to four) chips that share it: the same lookups in the same arithmetic, so the same
  // values. Chip i spans columns [(i - ox) sx, (i + 1 - ox) sx), corner k sits at (k - ox) sx.
  const int i0 = static_cast<int>(std::floor(ox)), j0 = static_cast<int>(std::floor(oy));
  if (i0 < v.nx && j0 < v.ny) {
    const int ncx = v.nx - i0 + 1, ncy = v.ny - j0 + 1;
    thread_local std::vector<double> corner;
    thread_local std::vector<IntegralAxis> columns;
    corner.resize(static_cast<size_t>(ncx) * ncy);
    columns.resize(ncx);
    for (int a = 0; a < ncx; ++a) columns[a] = integral_axis((i0 + a - ox) * sx, integral.cols);
    for (int b = 0; b < ncy; ++b) {
      const IntegralAxis row = integral_axis((j0 + b - oy) * sy, integral.rows);
      const double ay = row.frac;
      const double* r0 = integral.ptr<double>(row.index);
      const double* r1 = integral.ptr<double>(row.index + 1);
      double* out = &corner[static_cast<size_t>(b) * ncx];
      for (int a = 0; a < ncx; ++a) {
        const int xi = columns[a].index;
        const double ax = columns[a].frac;
        out[a] = (1 - ay) * ((1 - ax) * r0[xi] + ax * r0[xi + 1]) + ay * ((1 - ax) * r1[xi] + ax * r1[xi + 1]);
      }
    }
    for (int j = j0; j < v.ny; ++j) {
      const double y0 = (j - oy) * sy, y1 = (j + 1 - oy) * sy;
      if (y0 < -0.01 || y1 > cells_y + 0.01) continue;
      const double* c0 = &corner[static_cast<size_t>(j - j0) * ncx];
      const double* c1 = c0 + ncx;
      for (int i = i0; i < v.nx; ++i) {
        const double x0 = (i - ox) * sx, x1 = (i + 1 - ox) * sx;
        if (x0 < -0.01 || x1 > cells_x + 0.01) continue;
        const int a = i - i0;
        const double sum = c1[a + 1] - c1[a] - c0[a + 1] + c0[a];
        v.plane.at<float>(j, i) = static_cast<float>(sum / ((x1 - x0) * (y1 - y0)));
        v.mask.at<float>(j, i) = 1.f;
      }
    }
  }
  // Fill the chips outside the crop with the nearest inside value so the high-pass sees no edge.
  cv::Mat filled = v.plane.clone();
  for (int j = 0; j < v.ny; ++j) {
    int first = -1;
    for (int i = 0; i < v.nx; ++i)
      if (v.mask.at<float>(j, i) > 0) { first = i; break; }
    if (first < 0) continue;
    for (int i = 0; i < first; ++i) filled.at<float>(j, i) = filled.at<float>(j, first);
  }
  for (int i = 0; i < v.nx; ++i) {
    int first = -1;
    for (int j = 0; j < v.ny; ++j)
      if (v.mask.at<float>(j, i) > 0) { first = j; break; }
    if (first < 0) continue;
    for (int j = 0; j < first; ++j) filled.at<float>(j, i) = filled.at<float>(first, i);
  }
  v.plane = filled;
  return v;
}

// Sync z-score of a crop hypothesis: weighted high-passed chips against the sync signs.
double crop_sync_z(const Layout& layout, const CropView& v, cv::Mat* value_out = nullptr, cv::Mat* weight_out = nullptr) {
  cv::Mat value, weight;
  front_end_mat(v.plane, value, weight);
  weight = weight.mul(v.mask);
  double s = 0, n2 = 0;
  for (int j = 0; j < v.ny; ++j)
    for (int i = 0; i < v.nx; ++i) {
      const int c = virtual_index(i, j);
      if (layout.coded_bit[c] >= 0) continue;
      const double y = static_cast<double>(weight.at<float>(j, i)) * value.at<float>(j, i);
      s += layout.pn[c] * y;
      n2 += y * y;
    }
  if (value_out) *value_out = value;
  if (weight_out) *weight_out = weight;
  return n2 > 0 ? s / std::sqrt(n2) : 0.0;
}

}  // namespace

FrontEnd front_end(const uint8_t* gray, int width_px, int height_px, Grid grid) {
  const cv::Mat plane = cell_means(gray, width_px, height_px, grid.nx, grid.ny);
  cv::Mat value, weight;
  front_end_mat(plane, value, weight);
  return to_front_end(value, weight);
}

FrontEnd front_end_plane(const std::vector<float>& plane, Grid grid) {
  cv::Mat p(grid.ny, grid.nx, CV_32F, const_cast<float*>(plane.data()));
  cv::Mat value, weight;
  front_end_mat(p, value, weight);
  return to_front_end(value, weight);
}

// ---- detector ---------------------------------------------------------------------------------

struct RobustDetector::State {
  Layout layout;
  int width = 0, height = 0;
  std::vector<Grid> grids;
  struct Acc {
    std::vector<double> soft;        // sync-weighted sum over frames
    double sync = 0, sync_noise2 = 0;
    int weighted = 0;
  };
  std::vector<Acc> acc;              // per grid candidate
  cv::Mat cells_sum;                 // quarter-chip cells of the frame's own grid, summed
  int n = 0;
};

RobustDetector::RobustDetector(const std::string& key) : state_(new State) { state_->layout = make_layout(key_seed(key)); }
RobustDetector::~RobustDetector() { delete state_; }
int RobustDetector::n_frames() const { return state_->n; }

void RobustDetector::add_gray(const uint8_t* gray, int width_px, int height_px) {
  State& s = *state_;
  if (s.n == 0) {
    s.width = width_px;
    s.height = height_px;
    s.grids = grid_candidates(width_px, height_px);
    s.acc.assign(s.grids.size(), State::Acc{std::vector<double>(kCodedBits, 0.0), 0, 0, 0});
  }
  const Grid g0 = s.grids[0];
  const cv::Mat cells = cell_means(gray, width_px, height_px, g0.nx * kCellsPerChip, g0.ny * kCellsPerChip);
  if (s.cells_sum.empty()) s.cells_sum = cv::Mat::zeros(cells.size(), CV_64F);
  cv::accumulate(cells, s.cells_sum);
  for (size_t k = 0; k < s.grids.size(); ++k) {
    const Grid g = s.grids[k];
    const cv::Mat plane = k == 0 ? chips_from_cells(cells) : cell_means(gray, width_px, height_px, g.nx, g.ny);
    cv::Mat value, weight;
    front_end_mat(plane, value, weight);
    const FrameStats st = stats_of(s.layout, g, value, weight);
    State::Acc& a = s.acc[k];
    a.sync += st.sync;
    a.sync_noise2 += st.sync_noise2;
    // Maximal-ratio combining: a frame's soft values count in proportion to its own mark
    // amplitude over its noise power, both measured on the sync chips. Frames whose mark was
    // carried away (re-encoders move old content with its old mark) count for little.
    if (st.sync > 0 && st.sync_noise2 > 0) {
      const double w = st.sync / st.sync_noise2;
      for (int b = 0; b < kCodedBits; ++b) a.soft[b] += w * st.soft[b];
      ++a.weighted;
    }
  }
  ++s.n;
}

RobustResult RobustDetector::detect_canonical(const Grid& grid) const {
  const State& s = *state_;
  for (size_t k = 0; k < s.grids.size(); ++k) {
    if (!(s.grids[k] == grid)) continue;
    const State::Acc& a = s.acc[k];
    RobustResult r = decode_soft(a.soft);
    r.sync_z = a.sync_noise2 > 0 ? a.sync / std::sqrt(a.sync_noise2) : 0.0;
    r.grid = grid;
    r.frames_weighted = a.weighted;
    return r;
  }
  return {};
}

RobustResult RobustDetector::detect() const {
  const State& s = *state_;
  if (s.n == 0) return {};
  // 1. The whole frame on its grid (and a neighbouring aspect grid): any resize lands here.
  RobustResult best;
  best.sync_z = -1e9;
  for (const Grid& g : s.grids) {
    RobustResult r = detect_canonical(g);
    if (r.decoded.crc_ok) return r;
    if (r.sync_z > best.sync_z) best = r;
  }
  // 2. A crop: the frame shows kx x ky chips of the marked grid from chip (ox, oy) on. Search the
  // chip counts (crops keep >= 70% of each side, chips stay square within 6%), take the offset
  // from an FFT correlation with the sync chips, refine all four, decode once.
  const int cells_x = s.cells_sum.cols, cells_y = s.cells_sum.rows;
  cv::Mat mean_cells = s.cells_sum / s.n;
  cv::Mat integral;
  cv::integral(mean_cells, integral, CV_64F);
  const bool landscape = s.width >= s.height;
  const double aspect = static_cast<double>(s.width) / s.height;  // of the cropped frame
  struct Hyp { double kx, ky, ox, oy, z; };
  Hyp top{0, 0, 0, 0, -1e9};
  const int max_off = 48;
  // The sync template's spectrum depends on the transform size alone: a few sizes serve all the
  // hypotheses (computed once each instead of once per hypothesis; the same values).
  std::vector<std::pair<cv::Size, cv::Mat>> template_spectra;
  auto template_spectrum = [&](int dw, int dh) -> cv::Mat {  // a Mat header: shares the pixels
    for (const auto& [size, spectrum] : template_spectra) {
      if (size.width == dw && size.height == dh) return spectrum;
    }
    cv::Mat t = cv::Mat::zeros(dh, dw, CV_32F);
    for (int j = 0; j < dh; ++j)
      for (int i = 0; i < dw; ++i) {
        const int c = virtual_index(i, j);
        if (s.layout.coded_bit[c] < 0) t.at<float>(j, i) = s.layout.pn[c];
      }
    cv::Mat ft;
    cv::dft(t, ft);
    template_spectra.emplace_back(cv::Size(dw, dh), std::move(ft));
    return template_spectra.back().second;
  };
  // The hypotheses: half-chip steps of the short side, 1% steps of the chip aspect, integer
  // offsets (the best offset of each from an FFT correlation with the sync chips). Scoring all
  // ~850 of them was a sixth of a 720p scan's CPU; the search is done in two passes instead:
  // every other step of both (a quarter of them), then the full grid around the best 32 of
  // those. A mark's peak is smooth over the grid (a half-chip or 1% step shifts the far edge by
  // under a chip), so it shows at the next coarse point too; docs/watermark.md has the crop
  // rows before and after. Each pass is scored on two threads; the winner is the first best in
  // list order, whatever the threads' timing.
  struct Candidate {
    double kx, ky;
    int dw, dh;
    int ik, ir;  // the short side's and the aspect's step
    cv::Mat ft;
    bool scored = false;
    Hyp best{0, 0, 0, 0, -1e9};
  };
  std::vector<Candidate> candidates;
  std::vector<std::vector<int>> at;  // at[ik][ir]: index in `candidates`, -1 when out of range
  {
    int ik = 0;
    for (double k_short = kShortChips * 0.7; k_short <= kShortChips + 0.01; k_short += 0.5, ++ik) {
      at.emplace_back();
      for (double rho = 0.95; rho <= 1.0501; rho += 0.01) {
        const int ir = static_cast<int>(at.back().size());
        at.back().push_back(-1);
        const double ky = landscape ? k_short : k_short * rho / aspect;
        const double kx = landscape ? k_short * aspect / rho : k_short;
        if (kx > kVirtualChips - max_off || ky > kVirtualChips - max_off) continue;
        // crop_view's plane size at offset 0, hence the transform size.
        const int dw = cv::getOptimalDFTSize(crop_view_chips(0, kx) + max_off);
        const int dh = cv::getOptimalDFTSize(crop_view_chips(0, ky) + max_off);
        at.back().back() = static_cast<int>(candidates.size());
        candidates.push_back(Candidate{kx, ky, dw, dh, ik, ir, cv::Mat(), false, Hyp{0, 0, 0, 0, -1e9}});
      }
    }
  }
  auto score_one = [&](Candidate& c) {
    const CropView v = crop_view(integral, cells_x, cells_y, c.kx, c.ky, 0, 0);
    cv::Mat value, weight;
    front_end_mat(v.plane, value, weight);
    cv::Mat y = value.mul(weight).mul(v.mask);
    const double norm = std::sqrt(std::max(1e-12, cv::sum(y.mul(y))[0] / kSyncEvery));
    cv::Mat a = cv::Mat::zeros(c.dh, c.dw, CV_32F);
    y.copyTo(a(cv::Rect(0, 0, v.nx, v.ny)));
    cv::Mat fa, prod, corr;
    // Rows past v.ny are zero (their transforms are zeros: skipped), and only the first max_off
    // rows of the correlation are read (the others are not computed).
    cv::dft(a, fa, 0, v.ny);
    cv::mulSpectrums(c.ft, fa, prod, 0, true);  // corr(o) = sum_x t(x + o) a(x)
    cv::idft(prod, corr, cv::DFT_SCALE | cv::DFT_REAL_OUTPUT, max_off);
    for (int oy = 0; oy < max_off; ++oy)
      for (int ox = 0; ox < max_off; ++ox) {
        const double z = corr.at<float>(oy, ox) / norm;
        if (z > c.best.z) c.best = Hyp{c.kx, c.ky, double(ox), double(oy), z};
      }
    c.scored = true;
  };
  // Scores the listed hypotheses (indices into `candidates`) on this thread and a helper.
  auto score_all = [&](const std::vector<int>& which) {
    for (int h : which) candidates[h].ft = template_spectrum(candidates[h].dw, candidates[h].dh);
    auto score = [&](size_t first) {
      for (size_t i = first; i < which.size(); i += 2) score_one(candidates[which[i]]);
    };
    std::exception_ptr helper_error;
    std::thread helper;
    try {
      helper = std::thread([&] {
        try {
          score(1);
        } catch (...) {
          helper_error = std::current_exception();
        }
      });
    } catch (const std::system_error&) {
      score(1);  // no second thread: the same work on this one
    }
    try {
      score(0);
    } catch (...) {
      if (helper.joinable()) helper.join();
      throw;
    }
    if (helper.joinable()) helper.join();
    if (helper_error) std::rethrow_exception(helper_error);
  };
  // The coarse winners whose neighbourhoods the second pass scores: a weak mark's coarse point
  // can rank below many noise maxima (a 20% crop of a generated clip: 17th-32nd; 32 keep every
  // crop the full grid found in bench_watermark).
  constexpr size_t kFinePassSeeds = 32;
  std::vector<int> first_pass;
  for (size_t h = 0; h < candidates.size(); ++h) {
    if (candidates[h].ik % 2 == 0 && candidates[h].ir % 2 == 0) first_pass.push_back(static_cast<int>(h));
  }
  score_all(first_pass);
  std::vector<int> seeds = first_pass;
  std::stable_sort(seeds.begin(), seeds.end(), [&](int a, int b) { return candidates[a].best.z > candidates[b].best.z; });
  if (seeds.size() > kFinePassSeeds) seeds.resize(kFinePassSeeds);
  std::vector<int> second_pass;
  for (int h : seeds) {
    for (int dk = -1; dk <= 1; ++dk)
      for (int dr = -1; dr <= 1; ++dr) {
        const int ik = candidates[h].ik + dk, ir = candidates[h].ir + dr;
        if (ik < 0 || ik >= static_cast<int>(at.size()) || ir < 0 || ir >= static_cast<int>(at[ik].size())) continue;
        const int n = at[ik][ir];
        if (n < 0 || candidates[n].scored || std::find(second_pass.begin(), second_pass.end(), n) != second_pass.end()) continue;
        second_pass.push_back(n);
      }
  }
  std::sort(second_pass.begin(), second_pass.end());
  score_all(second_pass);
  for (const Candidate& c : candidates) {
    if (c.scored && c.best.z > top.z) top = c.best;
  }
  if (top.z < 0) return best;
  // Refine by coordinate search at fractional chips.
  auto z_of = [&](const Hyp& h) {
    return crop_sync_z(s.layout, crop_view(integral, cells_x, cells_y, h.kx, h.ky, h.ox, h.oy));
  };
  top.z = z_of(top);
  for (double step : {0.5, 0.25, 0.125}) {
    for (int round = 0; round < 2; ++round) {
      for (int p = 0; p < 4; ++p) {
        for (double d : {-step, step}) {
          Hyp h = top;
          double* f = p == 0 ? &h.kx : p == 1 ? &h.ky : p == 2 ? &h.ox : &h.oy;
          *f += d;
          if (h.ox < 0 || h.oy < 0) continue;
          h.z = z_of(h);
          if (h.z > top.z) top = h;
        }
      }
    }
  }
  const CropView v = crop_view(integral, cells_x, cells_y, top.kx, top.ky, top.ox, top.oy);
  cv::Mat value, weight;
  const double z = crop_sync_z(s.layout, v, &value, &weight);
  const FrameStats st = stats_of(s.layout, Grid{v.nx, v.ny}, value, weight);
  RobustResult r = decode_soft(st.soft);
  r.sync_z = z;
  r.canonical = false;
  r.grid = Grid{v.nx, v.ny};
  r.crop_x = top.ox; r.crop_y = top.oy; r.crop_w = top.kx; r.crop_h = top.ky;
  r.frames_weighted = s.n;
  return r.decoded.crc_ok || (!best.decoded.crc_ok && r.sync_z > best.sync_z) ? r : best;
}

// ---- embedder ---------------------------------------------------------------------------------

struct RobustEmbedder::State {
  int width = 0, height = 0;
  Grid grid;
  Layout layout;
  std::vector<uint8_t> coded;
  bool informed = true;
  cv::Mat response;                 // front-end value of the unit pattern (all amplitudes 1)
  cv::Mat response_attacked;        // the same through the simulated attack
  std::vector<int> bit_chips;       // chips per coded bit in this grid
  int n_sync = 0;
  double render_gain = 1.0;         // pixel RMS of the rendered unit pattern (chips of +-1)
};

RobustEmbedder::RobustEmbedder(int width_px, int height_px, const std::string& key, uint64_t payload_bits, bool informed)
    : state_(new State) {
  State& s = *state_;
  s.width = width_px;
  s.height = height_px;
  s.grid = grid_for(width_px, height_px);
  s.layout = make_layout(key_seed(key));
  s.coded = encode_payload(payload_bits);
  s.informed = informed;
  s.bit_chips.assign(kCodedBits, 0);
  for (int j = 0; j < s.grid.ny; ++j)
    for (int i = 0; i < s.grid.nx; ++i) {
      const int bit = s.layout.coded_bit[virtual_index(i, j)];
      if (bit < 0) ++s.n_sync; else ++s.bit_chips[bit];
    }
  const std::vector<float> unit = chip_values(s.layout, s.grid, s.coded, {}, 1.f);
  const std::vector<float> r = render_chips(unit, s.grid, width_px, height_px);
  double energy = 0;
  for (float v : r) energy += static_cast<double>(v) * v;
  s.render_gain = std::sqrt(energy / std::max<size_t>(1, r.size()));
  if (informed) {
    // How the detector's front end sees the unit pattern once rendered into this frame size.
    cv::Mat rendered(height_px, width_px, CV_32F, const_cast<float*>(r.data()));
    const cv::Mat p32 = cell_means_f(rendered, s.grid.nx, s.grid.ny);
    cv::Mat low;
    cv::GaussianBlur(p32, low, cv::Size(0, 0), kHighPassSigma, kHighPassSigma, cv::BORDER_REFLECT);
    s.response = p32 - low;
    cv::Mat blurred;
    cv::GaussianBlur(p32, blurred, cv::Size(0, 0), kAttackBlurChips, kAttackBlurChips, cv::BORDER_REFLECT);
    cv::GaussianBlur(blurred, low, cv::Size(0, 0), kHighPassSigma, kHighPassSigma, cv::BORDER_REFLECT);
    s.response_attacked = blurred - low;
  }
}

RobustEmbedder::~RobustEmbedder() { delete state_; }

void RobustEmbedder::delta(const uint8_t* gray, double rms, std::vector<float>& out) const {
  const State& s = *state_;
  // Chip amplitudes are in gray levels; their mean square that renders at `rms` pixels.
  const double chip_rms = rms / std::max(1e-6, s.render_gain);
  std::vector<float> amp(kCodedBits, static_cast<float>(chip_rms));
  float sync_amp = static_cast<float>(chip_rms);
  std::vector<float> mask;  // per chip, empty = 1
  if (s.informed) {
    // Host projection h and gain g of every coded bit, in the bit's own sign, as the detector
    // will weigh this very frame.
    const cv::Mat plane = cell_means(gray, s.width, s.height, s.grid.nx, s.grid.ny);
    cv::Mat value, weight;
    front_end_mat(plane, value, weight);
    std::vector<double> h(kCodedBits, 0.0), g(kCodedBits, 0.0), h_att(kCodedBits, 0.0), g_att(kCodedBits, 0.0);
    // Per-chip energy mask from the host's activity (the detector's weight is 1 / (activity +
    // floor)); `bit_energy` is the sum of the squared mask over each bit's chips.
    mask.resize(static_cast<size_t>(s.grid.chips()));
    double mean_square = 0;
    for (int j = 0; j < s.grid.ny; ++j) {
      const float* w = weight.ptr<float>(j);
      float* m = mask.data() + static_cast<size_t>(j) * s.grid.nx;
      for (int i = 0; i < s.grid.nx; ++i) {
        const double activity = std::max(0.0, 1.0 / w[i] - kActivityFloor);
        m[i] = static_cast<float>(1.0 / std::sqrt(activity + kMaskOffset));
        mean_square += static_cast<double>(m[i]) * m[i];
      }
    }
    const float inv_rms = static_cast<float>(1.0 / std::sqrt(std::max(1e-30, mean_square / s.grid.chips())));
    for (float& m : mask) m = std::clamp(m * inv_rms, kMaskMin, kMaskMax);
    std::vector<double> bit_energy(kCodedBits, 0.0);
    cv::Mat blurred, value_att, weight_att;
    cv::GaussianBlur(plane, blurred, cv::Size(0, 0), kAttackBlurChips, kAttackBlurChips, cv::BORDER_REFLECT);
    front_end_mat(blurred, value_att, weight_att);
    for (int j = 0; j < s.grid.ny; ++j) {
      const float* v = value.ptr<float>(j);
      const float* w = weight.ptr<float>(j);
      const float* resp = s.response.ptr<float>(j);
      const float* va = value_att.ptr<float>(j);
      const float* wa = weight_att.ptr<float>(j);
      const float* ra = s.response_attacked.ptr<float>(j);
      for (int i = 0; i < s.grid.nx; ++i) {
        const int c = virtual_index(i, j);
        const int bit = s.layout.coded_bit[c];
        if (bit < 0) continue;
        const double sign = s.coded[bit] ? -s.layout.pn[c] : s.layout.pn[c];
        h[bit] += sign * w[i] * v[i];
        const double mk = mask[static_cast<size_t>(j) * s.grid.nx + i];
        bit_energy[bit] += mk * mk;
        g[bit] += sign * w[i] * resp[i] * mk;
        h_att[bit] += sign * wa[i] * va[i];
        g_att[bit] += sign * wa[i] * ra[i] * mk;
      }
    }
    // Least energy for a common margin T (gray levels of a unit chip): a = T - h / g, at least
    // kMinAmp; bits that would need more than kMaxAmp are left at kMinAmp (the code corrects
    // them). T is set so that the mean square amplitude over all chips is chip_rms^2.
    sync_amp = static_cast<float>(kSyncAmp * chip_rms);
    const double n_total = s.grid.chips();
    const double target = chip_rms * chip_rms;
    const double a_min = kMinAmp * chip_rms, a_max = kMaxAmp * chip_rms;
    auto fill = [&](double t) {
      double e = s.n_sync * static_cast<double>(sync_amp) * sync_amp;
      for (int b = 0; b < kCodedBits; ++b) {
        const double gb = std::max(g[b], 1e-9);
        // The margin must hold for the frame as marked and as the simulated attack leaves it.
        const double need = std::max(t - h[b] / gb, t - h_att[b] / std::max(g_att[b], 1e-9));
        amp[b] = static_cast<float>(need > a_max ? a_min : std::max(need, a_min));
        e += bit_energy[b] * static_cast<double>(amp[b]) * amp[b];
      }
      return e / n_total;
    };
    double lo = 0, hi = 2 * a_max;
    for (int i = 0; i < 40; ++i) {
      const double mid = 0.5 * (lo + hi);
      if (fill(mid) > target) hi = mid; else lo = mid;
    }
    fill(lo);
  }
  std::vector<float> chips = chip_values(s.layout, s.grid, s.coded, amp, sync_amp);
  if (!mask.empty())
    for (size_t k = 0; k < chips.size(); ++k) chips[k] *= mask[k];
  // The render's RMS follows the chips' only on average: never exceed the promised energy.
  const double energy = render_chips_into(chips, s.grid, s.width, s.height, out);
  const double cur = std::sqrt(energy / std::max<size_t>(1, out.size()));
  if (cur > rms) {
    const float scale = static_cast<float>(rms / cur);
    for (float& v : out) v *= scale;
  }
}

bool geometry_is_original(const RobustResult& r) { return r.canonical; }

}  // namespace unmask::mark::detail
