// `unmask keygen` and `unmask mark embed|verify` end to end: exit codes, CONTRACT JSON, signature
// valid / invalid after a byte flip / wrong key, corrupt manifest, unmarked input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "media/media.h"
#include "support/fixtures.h"

namespace unmask {
namespace {

using unmask::testing::run_command;
using unmask::testing::unmask_binary;

TEST(MarkCli, KeygenEmbedVerifySignatureAndBadInput) {
  unmask::testing::TempDir dir;
  const std::string u = unmask_binary() + " -q ";
  const std::string clip = dir.file("clip.mp4"), marked = dir.file("marked.mp4");
  unmask::testing::ClipSpec spec;
  spec.width_px = 320;
  spec.height_px = 240;
  spec.n_frames = 25;
  spec.tone_hz = 440;
  unmask::testing::write_pattern_clip(clip, spec);

  ASSERT_EQ(run_command(u + "keygen --out " + dir.file("studio")).exit_code, 0);
  ASSERT_EQ(run_command(u + "keygen --out " + dir.file("other")).exit_code, 0);
  EXPECT_EQ(run_command(u + "keygen --out " + dir.file("studio")).exit_code, 2);  // no silent overwrite

  auto e = run_command(u + "mark embed " + clip + " " + marked + " --issuer 4660 --key " + dir.file("studio.key"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  ASSERT_TRUE(std::filesystem::exists(marked + ".unmask.json"));
  auto info = media::probe(marked);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->audio.has_value());

  auto v = run_command(u + "mark verify " + marked + " --json --pub " + dir.file("studio.pub"));
  ASSERT_EQ(v.exit_code, 0) << v.err;
  auto j = nlohmann::json::parse(v.out);
  EXPECT_TRUE(j["watermark"]["found"].get<bool>());
  EXPECT_EQ(j["watermark"]["issuer"].get<int>(), 4660);
  EXPECT_FALSE(j["watermark"]["synthetic"].get<bool>());
  EXPECT_GT(j["watermark"]["confidence"].get<double>(), 0.999);
  EXPECT_GT(j["watermark"]["frames_checked"].get<int>(), 0);
  EXPECT_TRUE(j["signature"]["present"].get<bool>());
  EXPECT_TRUE(j["signature"]["valid"].get<bool>());
  EXPECT_EQ(j["signature"]["content"], "byte_identical");
  EXPECT_TRUE(j["tamper"].contains("fraction_frames"));
  EXPECT_TRUE(j["tamper"]["frames"].is_array());

  // Wrong public key: a result, not an error.
  v = run_command(u + "mark verify " + marked + " --json --pub " + dir.file("other.pub"));
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_FALSE(nlohmann::json::parse(v.out)["signature"]["valid"].get<bool>());

  // One byte of the signed manifest flipped (JSON still well formed): invalid.
  auto sidecar = read_file(marked + ".unmask.json");
  ASSERT_TRUE(sidecar.ok());
  std::string flipped = *sidecar;
  const size_t at = flipped.find("issuer=4660");
  ASSERT_NE(at, std::string::npos);
  flipped[at + 7] = '9';
  ASSERT_TRUE(write_file_atomic(marked + ".unmask.json", flipped).is_ok());
  v = run_command(u + "mark verify " + marked + " --json");
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_FALSE(nlohmann::json::parse(v.out)["signature"]["valid"].get<bool>());

  // A corrupt manifest is a bad-manifest input error (exit 3) with one error line.
  ASSERT_TRUE(write_file_atomic(marked + ".unmask.json", sidecar->substr(0, sidecar->size() / 2)).is_ok());
  v = run_command(u + "mark verify " + marked + " --json");
  EXPECT_EQ(v.exit_code, 3);
  EXPECT_NE(v.err.find("unmask: error: "), std::string::npos);
  EXPECT_TRUE(v.out.empty());

  // Unmarked input: found false and no payload fields at all.
  v = run_command(u + "mark verify " + clip + " --json");
  ASSERT_EQ(v.exit_code, 0) << v.err;
  j = nlohmann::json::parse(v.out);
  EXPECT_FALSE(j["watermark"]["found"].get<bool>());
  EXPECT_FALSE(j["watermark"].contains("issuer"));
  EXPECT_FALSE(j["signature"]["present"].get<bool>());

  // Missing file, bad key file, missing --issuer.
  EXPECT_EQ(run_command(u + "mark verify " + dir.file("nope.mp4")).exit_code, 3);
  EXPECT_EQ(run_command(u + "mark embed " + clip + " " + dir.file("o.mp4") + " --issuer 1 --key " +
                        dir.file("studio.pub")).exit_code, 3);
  EXPECT_EQ(run_command(u + "mark embed " + clip + " " + dir.file("o.mp4")).exit_code, 2);
  // A strength that is not a number is refused by the flag, in the flag's words, like one out of range.
  for (const char* strength : {"nan", "inf", "0.05"}) {
    auto r = run_command(u + "mark embed " + clip + " " + dir.file("o.mp4") + " --issuer 1 --strength " + strength);
    EXPECT_EQ(r.exit_code, 2) << strength;
    EXPECT_NE(r.err.find("--strength: Value " + std::string(strength) + " not in range 0.1"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace unmask
