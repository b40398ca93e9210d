// Private pieces of the watermark, each tested alone in tests/mark: payload coding (CRC-24 +
// convolutional code + soft Viterbi), the keyed chip tile, the robust layer's embedder and
// detector, and the semi-fragile tamper layer. OpenCV types stay in the .cpp files.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "mark/mark.h"

namespace unmask::mark::detail {

// ---- payload coding -------------------------------------------------------------------------
inline constexpr int kInfoBits = 64 + 24;                 // payload + CRC-24
inline constexpr int kConstraint = 7;                     // convolutional code K
inline constexpr int kCodedBits = (kInfoBits + kConstraint - 1) * 3;  // rate 1/3, zero tail: 282

uint32_t crc24(uint64_t payload_bits);
// 88 info bits (payload MSB first, then CRC) -> 282 coded bits (0/1).
std::vector<uint8_t> encode_payload(uint64_t payload_bits);
// Soft values (positive means coded bit 0) -> the most likely info bits; returns the payload and
// whether its CRC matches.
struct Decoded {
  uint64_t payload_bits = 0;
  bool crc_ok = false;
  std::vector<uint8_t> info_bits;
};
Decoded viterbi_decode(const std::vector<double>& soft);
// Generic pieces, exposed for tests.
std::vector<uint8_t> conv_encode(const std::vector<uint8_t>& info_bits);
std::vector<uint8_t> conv_decode(const std::vector<double>& soft, int n_info_bits);

// ---- keyed layout on the canonical grid -------------------------------------------------------
// The robust mark lives on a grid of chips defined relative to the frame, not in pixels:
// kShortChips chips along the short side, a multiple of 8 along the long side (by the aspect
// ratio). A resize (any scale, any filter) maps the frame onto the same grid, so the detector
// only resamples each frame to the grid: rescaling costs nothing but the resize's own blur.
inline constexpr int kShortChips = 128;
inline constexpr int kSyncEvery = 8;  // one chip in 8 is a sync chip

struct Grid {
  int nx = 0, ny = 0;  // chips across and down
  int chips() const { return nx * ny; }
  bool operator==(const Grid&) const = default;
};
Grid grid_for(int width_px, int height_px);
// The grid of this frame size first, then the grids of its neighbouring aspect ratios (a resizer
// that rounds the width to a multiple of 32 can move the aspect ratio past a rounding boundary).
std::vector<Grid> grid_candidates(int width_px, int height_px);

uint64_t key_seed(const std::string& key);
uint64_t splitmix64(uint64_t& state);

// Every chip of a keyed virtual grid of kVirtualChips x kVirtualChips has a +-1 sign; one in
// kSyncEvery of them (keyed positions) are sync chips that always carry +pn (they find crops and weigh frames),
// the rest carry the coded bits, each bit on chips spread over the whole grid by a keyed
// permutation. A frame's grid uses the top-left nx x ny chips of the virtual grid, so the pattern
// of a chip does not depend on the frame's aspect ratio (the crop search needs no grid size).
inline constexpr int kVirtualChips = 256;

struct Layout {
  std::vector<int8_t> pn;          // per virtual chip, row-major
  std::vector<int16_t> coded_bit;  // -1 for a sync chip, else the coded bit it carries
};
Layout make_layout(uint64_t seed);
inline int virtual_index(int i, int j) { return j * kVirtualChips + i; }

// The chip values of a grid (nx x ny, row-major) for a codeword: +-pn times `bit_amp[k]` on the
// chips of coded bit k (1 when empty), `sync_amp` times pn on sync chips. An empty codeword
// leaves the data chips at 0.
std::vector<float> chip_values(const Layout& layout, Grid grid, const std::vector<uint8_t>& coded,
                               const std::vector<float>& bit_amp, float sync_amp);

// Renders chip values (nx x ny) over a width x height frame, bilinear between chip centres (chip i
// is centred on x = (i + 0.5) * width / nx - 0.5): row-major floats.
std::vector<float> render_chips(const std::vector<float>& chips, Grid grid, int width_px, int height_px);
// The same into a reused buffer; returns the sum of squares of the rendered values.
double render_chips_into(const std::vector<float>& chips, Grid grid, int width_px, int height_px, std::vector<float>& out);

// ---- robust detector --------------------------------------------------------------------------
// The detector's front end, linear in the frame: area-average the luma over each chip of the grid,
// subtract a Gaussian low-pass (host content below the mark's band) and weigh each chip by the
// inverse of its local host activity (textured chips carry more host noise). The embedder runs
// the same front end on the host to cancel the host's own projection on every coded bit.
struct FrontEnd {
  std::vector<float> value;   // high-passed chip values
  std::vector<float> weight;  // per chip
};
FrontEnd front_end(const uint8_t* gray, int width_px, int height_px, Grid grid);
FrontEnd front_end_plane(const std::vector<float>& plane, Grid grid);  // plane: chip means

struct RobustResult {
  Decoded decoded;
  double correlation = 0.0;      // normalised soft correlation with the re-encoded codeword
  double bit_error_rate = 0.5;
  double sync_z = 0.0;           // sync correlation over its noise (z-score)
  Grid grid;
  bool canonical = true;         // decoded on the whole frame (false: found by the crop search)
  double crop_x = 0, crop_y = 0, crop_w = 1, crop_h = 1;  // the frame's part of the marked frame
  int frames_weighted = 0;       // frames with a positive sync correlation
  std::vector<double> soft;      // per coded bit, positive = 0
};

class RobustDetector {
 public:
  explicit RobustDetector(const std::string& key);
  ~RobustDetector();
  RobustDetector(const RobustDetector&) = delete;
  RobustDetector& operator=(const RobustDetector&) = delete;
  // Gray frame (8-bit, width x height, packed rows). All frames must have one size.
  void add_gray(const uint8_t* gray, int width_px, int height_px);
  int n_frames() const;
  // Canonical grids first (at most two decodes), then the crop search (one more decode).
  RobustResult detect() const;
  // Soft values of one grid from the frames added so far, without the crop search: diagnostics.
  RobustResult detect_canonical(const Grid& grid) const;

 private:
  struct State;
  State* state_;  // owned; pimpl keeps cv::Mat out of this header
};

// The robust embedder: per frame, improved spread spectrum on the front end. Each coded bit gets
// the least amplitude that lifts its projection (host included) to a common margin; bits that
// would need more than kMaxAmp times the mean are left at the floor (the code corrects them).
class RobustEmbedder {
 public:
  RobustEmbedder(int width_px, int height_px, const std::string& key, uint64_t payload_bits, bool informed);
  ~RobustEmbedder();
  RobustEmbedder(const RobustEmbedder&) = delete;
  RobustEmbedder& operator=(const RobustEmbedder&) = delete;
  // The luma change (gray levels, width x height) for this frame at an RMS of `rms` levels.
  void delta(const uint8_t* gray, double rms, std::vector<float>& out) const;

 private:
  struct State;
  State* state_;
};

// Whether a detection says the frame geometry is the marked one (whole frame, no crop), so the
// tamper layer's block grid can be read.
bool geometry_is_original(const RobustResult& r);

// ---- semi-fragile layer -----------------------------------------------------------------------
// The QIM step is fixed (not scaled by MarkOptions::strength): the verifier must know it.
inline constexpr int kFragileCoefs = 3;

int fragile_block_px(int height_px);
// Embeds the tamper bits into the BGR image in place (adds the same luma delta to B, G, R).
void fragile_embed(Image& image, uint64_t seed);
// The pieces of fragile_embed, for a marker that applies the robust and the tamper layers in one
// pass: the tamper layer's change for a frame whose luma is `gray`, rounded per pixel and added
// into `delta` (int16, width x height, row-major); blocks with pixels at the feature clamp are set
// in `recheck` (blocks_x x blocks_y, when given) for fragile_fix ...
void fragile_delta(const uint8_t* gray, int width_px, int height_px, uint64_t seed, int16_t* delta,
                   std::vector<uint8_t>* recheck = nullptr);
// ... the change applied to B, G and R alike with clamping, flagging the blocks (blocks_x x
// blocks_y of block_px, row-major) where a channel was clamped ...
void apply_luma_delta(Image& image, const int16_t* delta, int block_px, int blocks_x, int blocks_y,
                      std::vector<uint8_t>& clipped);
// ... and the flagged blocks that clamping left off their lattice embedded once more.
void fragile_fix(Image& image, uint64_t seed, const std::vector<uint8_t>& blocks);
// Per block score in [0, 0.5] (mean QIM distance in steps; ~0.05 marked, ~0.07 after x264 CRF 23,
// ~0.25 foreign content),
// row-major blocks_x x blocks_y. Blocks that cannot carry bits (near-saturated) score 0.
struct FragileScores {
  int blocks_x = 0, blocks_y = 0, block_px = 0;
  std::vector<float> score;
  std::vector<uint8_t> moving;  // 1: not checked because its content moved (empty: none known)
};
// `previous_gray` (optional, same size): the frame decoded just before. Blocks whose content moved
// since then are not checked: encoders carry moving content with its old bits (see TamperMap).
FragileScores fragile_scores(const uint8_t* gray, int width_px, int height_px, uint64_t seed,
                             const uint8_t* previous_gray = nullptr);
inline constexpr float kFragileThreshold = 0.16f;
// Connected flagged blocks smaller than this are re-encoding noise, not an altered region
// (measured after x264 CRF 23: 4-6 % of checked blocks are flagged in scattered small groups).
inline constexpr int kMinRegionBlocks = 6;
// Flags, cleans (isolated blocks dropped, enclosed holes filled, groups smaller than
// kMinRegionBlocks dropped) and groups flagged blocks.
struct TamperMap {
  std::vector<uint8_t> flagged;   // after cleaning
  double fraction_blocks = 0.0;
  double raw_fraction_blocks = 0.0;
  int n_checked = 0;            // blocks textured enough to carry bits
  double healthy_fraction = 0;  // of checked blocks outside the regions, those clearly on their lattice (score <= 0.1)
  double flagged_checked_fraction = 0;  // of checked blocks, those in a region
  // A frame is readable when most checked blocks are healthy. Re-encoders copy moving content
  // from the previous frame with its old (shifted) bits, so in P/B-frames with motion the layer
  // is lost everywhere the content moved: such frames are unverifiable, not tampered.
  // The regions may cover at most kMaxRegionShare of the checked blocks (a frame whose layer was
  // lost everywhere can form large unhealthy groups; it must not read as one big tamper).
  static constexpr double kMaxRegionShare = 0.35;
  bool readable() const { return n_checked >= 4 && healthy_fraction >= 0.5 && flagged_checked_fraction <= kMaxRegionShare; }
  std::vector<Box> regions;
};
TamperMap tamper_map(const FragileScores& scores);

}  // namespace unmask::mark::detail
