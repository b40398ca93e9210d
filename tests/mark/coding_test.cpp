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
  int sync = 0, differ = 0, plus = 0;
  std::vector<int> per_bit(kCodedBits, 0);
  for (int c = 0; c < kChips; ++c) {
    sync += a.coded_bit[c] < 0;
    if (a.coded_bit[c] >= 0) ++per_bit[a.coded_bit[c]];
    differ += a.pn[c] != b.pn[c];
    plus += a.pn[c] > 0;
  }
  EXPECT_EQ(sync, kSyncChips);
  for (int n : per_bit) EXPECT_GE(n, 1);  // every coded bit is carried
  EXPECT_GT(differ, kChips / 3);          // a different key is a different pattern
  EXPECT_NEAR(plus, kChips / 2, 60);
}

TEST(MarkLayout, RenderIsPeriodicInTheTile) {
  const auto tile = tile_values(make_layout(1), encode_payload(42), false);
  const int chip = 5, period = chip * kTileChips;
  const auto img = render_tile(tile, chip, 2 * period + 7, 8);
  for (int x = 0; x < period + 7; ++x) EXPECT_FLOAT_EQ(img[x], img[x + period]);
}

}  // namespace
}  // namespace unmask::mark
