// Payload coding: CRC-24 (OpenPGP polynomial), K=7 rate-1/3 convolutional code (generators
// 133, 171, 165 octal, as in LTE), soft-decision Viterbi; and the keyed chip layout on the canonical grid.
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

Grid grid_for(int width_px, int height_px) {
  const bool landscape = width_px >= height_px;
  const double aspect = landscape ? double(width_px) / height_px : double(height_px) / width_px;
  const int n_long = std::min(kVirtualChips, 8 * std::max(9, static_cast<int>(std::lround(aspect * kShortChips / 8.0))));
  return landscape ? Grid{n_long, kShortChips} : Grid{kShortChips, n_long};
}

std::vector<Grid> grid_candidates(int width_px, int height_px) {
  const Grid g = grid_for(width_px, height_px);
  std::vector<Grid> out = {g};
  const bool landscape = g.nx >= g.ny;
  const double aspect = landscape ? double(width_px) / height_px : double(height_px) / width_px;
  const double in_steps = aspect * kShortChips / 8.0;
  // The neighbouring grid when the aspect ratio sits within 2% of a rounding boundary.
  const double frac = in_steps - std::floor(in_steps);
  int other = 0;
  if (std::abs(frac - 0.5) < 0.02 * in_steps) other = frac < 0.5 ? 1 : -1;
  if (other != 0) {
    const int n_long = std::min(kVirtualChips, 8 * std::max(9, static_cast<int>(std::lround(in_steps)) + other));
    const Grid h = landscape ? Grid{n_long, kShortChips} : Grid{kShortChips, n_long};
    if (!(h == g)) out.push_back(h);
  }
  return out;
}

Layout make_layout(uint64_t seed) {
  Layout layout;
  constexpr int n = kVirtualChips * kVirtualChips;
  layout.pn.resize(n);
  layout.coded_bit.resize(n);
  uint64_t state = seed ^ 0x6C61796F75742D32ull;  // "layout-2"
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  for (int i = n - 1; i > 0; --i) {
    const int j = static_cast<int>(splitmix64(state) % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  // Sync and data interleave in the permutation order (1 in 4 is sync), so that every part of
  // the virtual grid has both and every coded bit has chips all over it.
  int data = 0;
  for (int i = 0; i < n; ++i) {
    layout.pn[order[i]] = (splitmix64(state) & 1) ? 1 : -1;
    layout.coded_bit[order[i]] = i % kSyncEvery == kSyncEvery - 1 ? -1 : static_cast<int16_t>(data++ % kCodedBits);
  }
  return layout;
}

std::vector<float> chip_values(const Layout& layout, Grid grid, const std::vector<uint8_t>& coded,
                               const std::vector<float>& bit_amp, float sync_amp) {
  std::vector<float> v(static_cast<size_t>(grid.chips()), 0.f);
  for (int j = 0; j < grid.ny; ++j)
    for (int i = 0; i < grid.nx; ++i) {
      const int c = virtual_index(i, j);
      const int bit = layout.coded_bit[c];
      float& out = v[static_cast<size_t>(j) * grid.nx + i];
      if (bit < 0) out = sync_amp * layout.pn[c];
      else if (!coded.empty()) out = (coded[bit] ? -layout.pn[c] : layout.pn[c]) * (bit_amp.empty() ? 1.f : bit_amp[bit]);
    }
  return v;
}

std::vector<float> render_chips(const std::vector<float>& chips, Grid grid, int width_px, int height_px) {
  std::vector<float> out;
  render_chips_into(chips, grid, width_px, height_px, out);
  return out;
}

double render_chips_into(const std::vector<float>& chips, Grid grid, int width_px, int height_px, std::vector<float>& out) {
  auto axis = [](int n_px, int n_chips, std::vector<int>& i0, std::vector<int>& i1, std::vector<float>& w) {
    i0.resize(n_px); i1.resize(n_px); w.resize(n_px);
    const double scale = static_cast<double>(n_chips) / n_px;
    for (int x = 0; x < n_px; ++x) {
      const double u = std::clamp((x + 0.5) * scale - 0.5, 0.0, n_chips - 1.0);
      const int a = std::min(static_cast<int>(u), n_chips - 1);
      w[x] = static_cast<float>(u - a);
      i0[x] = a;
      i1[x] = std::min(a + 1, n_chips - 1);
    }
  };
  std::vector<int> x0, x1, y0, y1;
  std::vector<float> wx, wy;
  axis(width_px, grid.nx, x0, x1, wx);
  axis(height_px, grid.ny, y0, y1, wy);
  out.resize(static_cast<size_t>(width_px) * height_px);
  std::vector<float> top(width_px), bot(width_px);
  int cached = -1;
  double energy = 0;
  for (int y = 0; y < height_px; ++y) {
    if (y0[y] != cached) {
      cached = y0[y];
      const float* r0 = &chips[static_cast<size_t>(y0[y]) * grid.nx];
      const float* r1 = &chips[static_cast<size_t>(y1[y]) * grid.nx];
      for (int x = 0; x < width_px; ++x) {
        top[x] = r0[x0[x]] + wx[x] * (r0[x1[x]] - r0[x0[x]]);
        bot[x] = r1[x0[x]] + wx[x] * (r1[x1[x]] - r1[x0[x]]);
      }
    }
    const float b = wy[y], a = 1.f - b;
    float* o = &out[static_cast<size_t>(y) * width_px];
    float e[8] = {};  // eight partial sums so that the loop vectorises
    int x = 0;
    for (; x + 8 <= width_px; x += 8)
      for (int k = 0; k < 8; ++k) {
        const float v = a * top[x + k] + b * bot[x + k];
        o[x + k] = v;
        e[k] += v * v;
      }
    for (; x < width_px; ++x) {
      o[x] = a * top[x] + b * bot[x];
      e[0] += o[x] * o[x];
    }
    for (float v : e) energy += v;
  }
  return energy;
}

}  // namespace unmask::mark::detail
