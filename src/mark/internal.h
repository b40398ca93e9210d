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

// ---- keyed layout -----------------------------------------------------------------------------
inline constexpr int kTileChips = 24;                     // the tile is 24 x 24 chips
inline constexpr int kChips = kTileChips * kTileChips;    // 576
inline constexpr int kSyncChips = 192;

uint64_t key_seed(const std::string& key);
uint64_t splitmix64(uint64_t& state);

struct Layout {
  std::array<int8_t, kChips> pn{};          // keyed +-1 sign of every chip
  std::array<int16_t, kChips> coded_bit{};  // -1 for a sync chip, else the coded bit it carries
};
Layout make_layout(uint64_t seed);

// The tile's chip values (+-1) for a codeword; sync_only leaves data chips at 0.
std::array<float, kChips> tile_values(const Layout& layout, const std::vector<uint8_t>& coded, bool sync_only);

// Chip size in pixels for a frame of this height: video max(3, round(height / 60)), still image
// max(3, round(height / 100)). Large chips are low frequencies, which H.264 at CRF 28 and a
// half-size resize keep; a still has no frames to combine and needs more tiles instead. The
// detector does not need to know which: it measures the period.
int chip_px_for_height(int height_px, bool still);

// Renders the periodic tile at `chip_px` pixels per chip (bilinear between chip centres) over a
// width x height grid, row-major floats. Origin: chip (0,0) is centred on pixel (chip_px-1)/2.
std::vector<float> render_tile(const std::array<float, kChips>& tile, double chip_px, int width_px, int height_px);

// ---- robust detector --------------------------------------------------------------------------
// Per-frame state of the detector is the high-passed, downscaled luma ("residual"); the detector
// accumulates its power spectrum to find the period, folds residuals at the period onto one tile,
// finds the shift with the sync chips and decodes.
struct RobustResult {
  Decoded decoded;
  double correlation = 0.0;
  double bit_error_rate = 0.5;
  double sync_z = 0.0;
  double period_px = 0.0;        // in input pixels (isotropic estimate)
  double shift_x = 0.0, shift_y = 0.0;  // sync offset in chips (0 = not shifted), wrapped to [-12, 12)
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
  RobustResult detect() const;
  // Decodes at a given period (working px) only: for tests and diagnostics.
  RobustResult detect_at(double period_x, double period_y, bool zero_shift = false) const;

 private:
  struct State;
  State* state_;  // owned; pimpl keeps cv::Mat out of this header
};

// Informed embedding: per frame, how much of each chip to add so that, as the detector will see
// this very frame, the host's own projection is overcome with the least energy. Returns chip
// amplitude multipliers with mean square 1, in [0.35, 3].
class InformedAmplitudes {
 public:
  // `signs`: the tile's chip values (+-1); `gain`: the gray-level scale of a +-1 chip.
  InformedAmplitudes(int width_px, int height_px, int chip_px, const std::array<float, kChips>& signs,
                     double gain);
  ~InformedAmplitudes();
  InformedAmplitudes(const InformedAmplitudes&) = delete;
  InformedAmplitudes& operator=(const InformedAmplitudes&) = delete;
  std::array<float, kChips> solve(const uint8_t* gray) const;

 private:
  struct State;
  State* state_;
};

// Whether a detection says the frame geometry is the marked one (same chip grid, no shift), so
// the tamper layer's block grid can be read.
bool geometry_is_original(const RobustResult& r, int height_px);

// ---- semi-fragile layer -----------------------------------------------------------------------
// The QIM step is fixed (not scaled by MarkOptions::strength): the verifier must know it.
inline constexpr int kFragileCoefs = 8;

int fragile_block_px(int height_px);
// Embeds the tamper bits into the BGR image in place (adds the same luma delta to B, G, R).
void fragile_embed(Image& image, uint64_t seed);
// Per block score in [0, 0.5] (mean QIM distance in steps; ~0.05 marked, ~0.25 foreign content),
// row-major blocks_x x blocks_y. Blocks that cannot carry bits (near-saturated) score 0.
struct FragileScores {
  int blocks_x = 0, blocks_y = 0, block_px = 0;
  std::vector<float> score;
};
// `previous_gray` (optional, same size): the frame decoded just before. Blocks whose content moved
// since then are not checked: encoders carry moving content with its old bits (see TamperMap).
FragileScores fragile_scores(const uint8_t* gray, int width_px, int height_px, uint64_t seed,
                             const uint8_t* previous_gray = nullptr);
inline constexpr float kFragileThreshold = 0.16f;
// Flags, cleans (isolated blocks dropped, enclosed holes filled) and groups flagged blocks.
struct TamperMap {
  std::vector<uint8_t> flagged;   // after cleaning
  double fraction_blocks = 0.0;
  double raw_fraction_blocks = 0.0;
  int n_checked = 0;            // blocks textured enough to carry bits
  double healthy_fraction = 0;  // of checked blocks, those clearly on their lattice (score <= 0.1)
  // A frame is readable when most checked blocks are healthy. Re-encoders copy moving content
  // from the previous frame with its old (shifted) bits, so in P/B-frames with motion the layer
  // is lost everywhere the content moved: such frames are unverifiable, not tampered.
  bool readable() const { return n_checked >= 4 && healthy_fraction >= 0.5; }
  std::vector<Box> regions;
};
TamperMap tamper_map(const FragileScores& scores);

}  // namespace unmask::mark::detail
