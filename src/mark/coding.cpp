// Payload coding: CRC-24 (OpenPGP polynomial), K=7 rate-1/3 convolutional code (generators
// 133, 171, 165 octal, as in LTE), soft-decision Viterbi; and the keyed chip layout.
#include <algorithm>
#include <cmath>
#include <limits>

#include "mark/internal.h"

namespace unmask::mark::detail {
namespace {

constexpr std::array<uint32_t, 3> kGenerators = {0133, 0171, 0165};
constexpr int kStates = 1 << (kConstraint - 1);

int parity(uint32_t v) { return __builtin_parity(v); }

}  // namespace

uint32_t crc24(uint64_t payload_bits) {
  uint32_t crc = 0xB704CE;
  for (int byte = 7; byte >= 0; --byte) {
    crc ^= static_cast<uint32_t>((payload_bits >> (8 * byte)) & 0xFF) << 16;
    for (int i = 0; i < 8; ++i) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x864CFB;
    }
  }
  return crc & 0xFFFFFF;
}

std::vector<uint8_t> conv_encode(const std::vector<uint8_t>& info_bits) {
  std::vector<uint8_t> out;
  out.reserve((info_bits.size() + kConstraint - 1) * 3);
  uint32_t reg = 0;  // newest bit in bit 6
  auto push = [&](uint8_t bit) {
    reg = (reg >> 1) | (static_cast<uint32_t>(bit) << (kConstraint - 1));
    for (uint32_t g : kGenerators) out.push_back(static_cast<uint8_t>(parity(reg & g)));
  };
  for (uint8_t b : info_bits) push(b & 1);
  for (int i = 0; i < kConstraint - 1; ++i) push(0);
  return out;
}

std::vector<uint8_t> conv_decode(const std::vector<double>& soft, int n_info_bits) {
  const int n_steps = n_info_bits + kConstraint - 1;
  constexpr double kNeg = -std::numeric_limits<double>::infinity();
  std::vector<double> metric(kStates, kNeg), next(kStates);
  metric[0] = 0.0;
  std::vector<uint8_t> from_bit(static_cast<size_t>(n_steps) * kStates);  // survivor's dropped bit
  // Branch outputs: state s holds the previous 6 bits (newest in bit 5); input b gives register
  // (b << 6) | s and next state ((b << 6) | s) >> 1.
  std::array<std::array<std::array<int8_t, 3>, 2>, kStates> sign{};
  for (int s = 0; s < kStates; ++s)
    for (int b = 0; b < 2; ++b)
      for (int g = 0; g < 3; ++g)
        sign[s][b][g] = parity(((static_cast<uint32_t>(b) << 6) | s) & kGenerators[g]) ? -1 : 1;
  for (int t = 0; t < n_steps; ++t) {
    std::fill(next.begin(), next.end(), kNeg);
    const double y0 = soft[3 * t], y1 = soft[3 * t + 1], y2 = soft[3 * t + 2];
    const bool tail = t >= n_info_bits;
    for (int s = 0; s < kStates; ++s) {
      if (metric[s] == kNeg) continue;
      for (int b = 0; b < (tail ? 1 : 2); ++b) {
        const auto& sg = sign[s][b];
        const double m = metric[s] + sg[0] * y0 + sg[1] * y1 + sg[2] * y2;
        const int ns = ((b << 6) | s) >> 1;
        if (m > next[ns]) {
          next[ns] = m;
          from_bit[static_cast<size_t>(t) * kStates + ns] = static_cast<uint8_t>(s & 1);
        }
      }
    }
    metric.swap(next);
  }
  // Trace back from state 0 (the tail forces it).
  std::vector<uint8_t> bits(n_steps);
  int s = 0;
  for (int t = n_steps - 1; t >= 0; --t) {
    bits[t] = static_cast<uint8_t>((s >> 5) & 1);  // the input bit that entered at step t
    const int dropped = from_bit[static_cast<size_t>(t) * kStates + s];
    s = ((s << 1) & (kStates - 1)) | dropped;
  }
  bits.resize(n_info_bits);
  return bits;
}

std::vector<uint8_t> encode_payload(uint64_t payload_bits) {
  std::vector<uint8_t> info(kInfoBits);
  for (int i = 0; i < 64; ++i) info[i] = static_cast<uint8_t>((payload_bits >> (63 - i)) & 1);
  const uint32_t crc = crc24(payload_bits);
  for (int i = 0; i < 24; ++i) info[64 + i] = static_cast<uint8_t>((crc >> (23 - i)) & 1);
  return conv_encode(info);
}

Decoded viterbi_decode(const std::vector<double>& soft) {
  Decoded d;
  d.info_bits = conv_decode(soft, kInfoBits);
  uint32_t crc = 0;
  for (int i = 0; i < 64; ++i) d.payload_bits = (d.payload_bits << 1) | d.info_bits[i];
  for (int i = 0; i < 24; ++i) crc = (crc << 1) | d.info_bits[64 + i];
  d.crc_ok = crc == crc24(d.payload_bits);
  return d;
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t key_seed(const std::string& key) {
  const std::string digest = sha256_hex(key);
  return std::stoull(digest.substr(0, 16), nullptr, 16);
}

Layout make_layout(uint64_t seed) {
  Layout layout;
  uint64_t state = seed ^ 0x6C61796F75742D31ull;  // "layout-1"
  std::array<int, kChips> order{};
  for (int i = 0; i < kChips; ++i) order[i] = i;
  for (int i = kChips - 1; i > 0; --i) {
    const int j = static_cast<int>(splitmix64(state) % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  for (int i = 0; i < kChips; ++i) {
    layout.pn[i] = (splitmix64(state) & 1) ? 1 : -1;
    const int chip = order[i];
    layout.coded_bit[chip] = i < kSyncChips ? -1 : static_cast<int16_t>((i - kSyncChips) % kCodedBits);
  }
  return layout;
}

std::array<float, kChips> tile_values(const Layout& layout, const std::vector<uint8_t>& coded, bool sync_only) {
  std::array<float, kChips> v{};
  for (int c = 0; c < kChips; ++c) {
    const int bit = layout.coded_bit[c];
    if (bit < 0) v[c] = layout.pn[c];
    else if (!sync_only) v[c] = coded[bit] ? -layout.pn[c] : layout.pn[c];
  }
  return v;
}

constexpr double kVideoDiv = 60.0;
int chip_px_for_height(int height_px, bool still) {
  return std::max(3, static_cast<int>(std::lround(height_px / (still ? 100.0 : kVideoDiv))));
}

std::vector<float> render_tile(const std::array<float, kChips>& tile, double chip_px, int width_px, int height_px) {
  // Chip coordinate of pixel x: u = (x + 0.5) / chip_px - 0.5; bilinear between chip centres.
  auto axis = [&](int n, std::vector<int>& i0, std::vector<int>& i1, std::vector<float>& w) {
    i0.resize(n); i1.resize(n); w.resize(n);
    for (int x = 0; x < n; ++x) {
      const double u = (x + 0.5) / chip_px - 0.5;
      const double fl = std::floor(u);
      const int a = static_cast<int>(fl);
      w[x] = static_cast<float>(u - fl);
      i0[x] = ((a % kTileChips) + kTileChips) % kTileChips;
      i1[x] = (i0[x] + 1) % kTileChips;
    }
  };
  std::vector<int> x0, x1, y0, y1;
  std::vector<float> wx, wy;
  axis(width_px, x0, x1, wx);
  axis(height_px, y0, y1, wy);
  std::vector<float> out(static_cast<size_t>(width_px) * height_px);
  for (int y = 0; y < height_px; ++y) {
    const float* r0 = &tile[y0[y] * kTileChips];
    const float* r1 = &tile[y1[y] * kTileChips];
    const float b = wy[y], a = 1.f - b;
    float* o = &out[static_cast<size_t>(y) * width_px];
    for (int x = 0; x < width_px; ++x) {
      const float top = r0[x0[x]] + wx[x] * (r0[x1[x]] - r0[x0[x]]);
      const float bot = r1[x0[x]] + wx[x] * (r1[x1[x]] - r1[x0[x]]);
      o[x] = a * top + b * bot;
    }
  }
  return out;
}

}  // namespace unmask::mark::detail
