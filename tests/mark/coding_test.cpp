// Payload coding and keyed layout, tested alone with hand-built inputs.
#include <gtest/gtest.h>

#include <random>

#include "mark/internal.h"

namespace unmask::mark {
namespace {

using namespace detail;

TEST(MarkPayload, PackUnpackRoundTripsEveryField) {
  Payload p{0xDEADBEEF, true, 5, 0x0ABCDEF1};
  EXPECT_EQ(Payload::unpack(p.pack()), p);
  EXPECT_EQ(p.hex().size(), 16u);
  Payload q{1, false, 1, 0xFFFFFFFF};  // sequence keeps 28 bits
  EXPECT_EQ(Payload::unpack(q.pack()).sequence, 0x0FFFFFFFu);
  EXPECT_EQ(Payload::unpack(q.pack()).issuer, 1u);
}

TEST(MarkCoding, CrcDetectsEverySingleBitFlip) {
  const uint64_t v = 0x0123456789ABCDEFull;
  for (int i = 0; i < 64; ++i) EXPECT_NE(crc24(v), crc24(v ^ (1ull << i))) << i;
}

TEST(MarkCoding, ViterbiCorrectsNoisySoftInput) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 0.9);  // Eb/N0 low enough for raw errors
  const uint64_t payload = 0xCAFEF00D12345678ull;
  const std::vector<uint8_t> coded = encode_payload(payload);
  ASSERT_EQ(static_cast<int>(coded.size()), kCodedBits);
  std::vector<double> soft(coded.size());
  int raw_errors = 0;
  for (size_t i = 0; i < coded.size(); ++i) {
    soft[i] = (coded[i] ? -1.0 : 1.0) + noise(rng);
    raw_errors += (soft[i] > 0) == (coded[i] != 0);
  }
  EXPECT_GT(raw_errors, 10);  // the channel really made errors...
  const Decoded d = viterbi_decode(soft);
  EXPECT_TRUE(d.crc_ok);      // ...and the code removed them
  EXPECT_EQ(d.payload_bits, payload);
}

TEST(MarkCoding, PureNoiseFailsCrc) {
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0.0, 1.0);
  int passes = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<double> soft(kCodedBits);
    for (double& s : soft) s = noise(rng);
    passes += viterbi_decode(soft).crc_ok;
  }
  EXPECT_EQ(passes, 0);
}

TEST(MarkLayout, KeyedAndBalanced) {
  const Layout a = make_layout(key_seed("a")), b = make_layout(key_seed("b"));
  const Grid g = grid_for(1280, 720);
  EXPECT_EQ(g.ny, kShortChips);
  EXPECT_EQ(g.nx % 8, 0);
  int sync = 0, differ = 0, plus = 0;
  std::vector<int> per_bit(kCodedBits, 0);
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i) {
      const int c = virtual_index(i, j);
      sync += a.coded_bit[c] < 0;
      if (a.coded_bit[c] >= 0) ++per_bit[a.coded_bit[c]];
      differ += a.pn[c] != b.pn[c];
      plus += a.pn[c] > 0;
    }
  const int n = g.chips();
  EXPECT_NEAR(sync, n / kSyncEvery, n / 40);
  const int expected = (n - n / kSyncEvery) / kCodedBits;
  for (int k : per_bit) EXPECT_GE(k, expected / 2);  // every coded bit is carried all over the frame
  EXPECT_GT(differ, n / 3);                          // a different key is a different pattern
  EXPECT_NEAR(plus, n / 2, n / 20);
}

TEST(MarkLayout, GridFollowsTheFrameNotItsPixels) {
  // A resize keeps the grid (the mark is defined relative to the frame); portrait frames swap axes.
  EXPECT_EQ(grid_for(1920, 1080), grid_for(960, 540));
  EXPECT_EQ(grid_for(854, 480), grid_for(416, 234));
  const Grid p = grid_for(464, 560);
  EXPECT_EQ(p.nx, kShortChips);
  EXPECT_GT(p.ny, kShortChips);
  EXPECT_EQ(grid_candidates(1280, 720).front(), grid_for(1280, 720));
}

TEST(MarkLayout, RenderPassesThroughChipCentres) {
  const Grid g{16, 9};
  std::vector<float> chips(g.chips());
  for (int c = 0; c < g.chips(); ++c) chips[c] = static_cast<float>(c % 7) - 3.f;
  const int w = 16 * 5, h = 9 * 5;  // 5 px per chip: the centre pixel of chip i is 5 i + 2
  const auto img = render_chips(chips, g, w, h);
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i) EXPECT_FLOAT_EQ(img[(5 * j + 2) * w + 5 * i + 2], chips[j * g.nx + i]);
}

}  // namespace
}  // namespace unmask::mark
