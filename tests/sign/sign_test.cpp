// Keys, canonical manifests and sidecars, tested alone with hand-built inputs.
#include <gtest/gtest.h>

#include <filesystem>

#include "sign/sign.h"
#include "support/fixtures.h"

namespace unmask::sign {
namespace {

Manifest sample_manifest() {
  Manifest m;
  m.issuer = 4660;
  m.synthetic = false;
  m.payload_hex = "0000123410000000";
  m.created_utc = "2026-11-26T05:44:40Z";
  m.tool_version = "unmask test";
  m.media_kind = "video";
  m.width_px = 640;
  m.height_px = 360;
  m.n_frames = 50;
  m.file_sha256 = std::string(64, 'a');
  m.segment_fingerprints = {std::vector<uint8_t>(256, 100), std::vector<uint8_t>(256, 120)};
  return m;
}

TEST(SignKeys, WriteReadRoundTripAndPermissions) {
  unmask::testing::TempDir dir;
  auto keys = generate_key_pair();
  ASSERT_TRUE(keys.ok());
  const std::string prefix = dir.file("studio");
  ASSERT_TRUE(write_key_pair(prefix, *keys).is_ok());
  auto secret = read_secret_key(prefix + ".key");
  auto pub = read_public_key(prefix + ".pub");
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(secret->bytes, keys->secret_key.bytes);
  EXPECT_EQ(pub->hex(), keys->public_key.hex());
  EXPECT_EQ(secret->public_key().hex(), pub->hex());
  const auto perms = std::filesystem::status(prefix + ".key").permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
}

TEST(SignKeys, MalformedKeyFilesAreInputErrors) {
  unmask::testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("bad.key"), "not a key\n").is_ok());
  EXPECT_EQ(read_secret_key(dir.file("bad.key")).status().code(), StatusCode::kInput);
  ASSERT_TRUE(write_file_atomic(dir.file("short.pub"), "unmask-ed25519-public-key-v1\nabcd\n").is_ok());
  EXPECT_EQ(read_public_key(dir.file("short.pub")).status().code(), StatusCode::kInput);
  EXPECT_EQ(read_public_key(dir.file("missing.pub")).status().code(), StatusCode::kInput);
  // A public key file given where the secret key is expected.
  auto keys = generate_key_pair();
  ASSERT_TRUE(write_key_pair(dir.file("k"), *keys).is_ok());
  EXPECT_EQ(read_secret_key(dir.file("k.pub")).status().code(), StatusCode::kInput);
  // An edited secret key (public half no longer matches the seed).
  auto text = read_file(dir.file("k.key"));
  ASSERT_TRUE(text.ok());
  std::string edited = *text;
  edited[edited.size() - 3] = edited[edited.size() - 3] == '0' ? '1' : '0';
  ASSERT_TRUE(write_file_atomic(dir.file("edited.key"), edited).is_ok());
  EXPECT_EQ(read_secret_key(dir.file("edited.key")).status().code(), StatusCode::kInput);
}

TEST(SignManifest, CanonicalTextRoundTrips) {
  const Manifest m = sample_manifest();
  auto parsed = parse_canonical_text(canonical_text(m));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(canonical_text(*parsed), canonical_text(m));
  EXPECT_EQ(parsed->segment_fingerprints, m.segment_fingerprints);
  EXPECT_EQ(parse_canonical_text("garbage").status().code(), StatusCode::kInput);
}

TEST(SignManifest, ValidThenInvalidAfterAByteFlipAndWithAWrongKey) {
  auto keys = generate_key_pair();
  ASSERT_TRUE(keys.ok());
  const Manifest m = sample_manifest();
  auto sidecar = sign_manifest(m, keys->secret_key);
  ASSERT_TRUE(sidecar.ok());
  auto s = parse_sidecar(*sidecar);
  ASSERT_TRUE(s.ok()) << s.status().message();

  CheckResult r = check(*s, &keys->public_key, m.file_sha256, {});
  EXPECT_TRUE(r.valid);
  EXPECT_EQ(r.content, ContentMatch::kByteIdentical);
  EXPECT_EQ(r.public_key_hex, keys->public_key.hex());

  // One byte of the signed text changed (the issuer): the signature no longer verifies.
  SignedManifest flipped = *s;
  const size_t at = flipped.manifest_text.find("issuer=4660");
  ASSERT_NE(at, std::string::npos);
  flipped.manifest_text[at + 7] = '5';
  EXPECT_FALSE(check(flipped, &keys->public_key, m.file_sha256, {}).valid);
  EXPECT_FALSE(check(flipped, nullptr, m.file_sha256, {}).valid);

  // Another producer's key.
  auto other = generate_key_pair();
  ASSERT_TRUE(other.ok());
  CheckResult wrong = check(*s, &other->public_key, m.file_sha256, {});
  EXPECT_FALSE(wrong.valid);
  EXPECT_FALSE(wrong.key_matches);

  // A forged sidecar: right text, public key swapped for the forger's, signature by the forger.
  Manifest forged = m;
  forged.issuer = 1;
  auto forged_sidecar = sign_manifest(forged, other->secret_key);
  ASSERT_TRUE(forged_sidecar.ok());
  auto fs = parse_sidecar(*forged_sidecar);
  ASSERT_TRUE(fs.ok());
  EXPECT_TRUE(check(*fs, nullptr, m.file_sha256, {}).valid);               // self-consistent...
  EXPECT_FALSE(check(*fs, &keys->public_key, m.file_sha256, {}).valid);    // ...but not the producer's
}

TEST(SignManifest, ContentComparisonAfterReencodeAndAlteration) {
  auto keys = generate_key_pair();
  ASSERT_TRUE(keys.ok());
  const Manifest m = sample_manifest();
  auto s = parse_sidecar(*sign_manifest(m, keys->secret_key));
  ASSERT_TRUE(s.ok());
  // Re-encoded: a different file hash, fingerprints within a level or two.
  std::vector<std::vector<uint8_t>> reencoded = m.segment_fingerprints;
  for (auto& fp : reencoded)
    for (size_t i = 0; i < fp.size(); i += 3) fp[i] = static_cast<uint8_t>(fp[i] + 2);
  CheckResult r = check(*s, nullptr, std::string(64, 'b'), reencoded);
  EXPECT_TRUE(r.valid);
  EXPECT_EQ(r.content, ContentMatch::kSameContent);
  // Altered: a 4x4-cell region of the second segment is much brighter (a new face).
  std::vector<std::vector<uint8_t>> altered = m.segment_fingerprints;
  for (int y = 4; y < 8; ++y)
    for (int x = 4; x < 8; ++x) altered[1][y * 16 + x] = 200;
  r = check(*s, nullptr, std::string(64, 'b'), altered);
  EXPECT_TRUE(r.valid);
  EXPECT_EQ(r.content, ContentMatch::kAltered);
  EXPECT_EQ(r.n_segments_differing, 1);
  EXPECT_EQ(content_match_name(r.content), "altered");
}

TEST(SignSidecar, CorruptSidecarsAreInputErrors) {
  EXPECT_EQ(parse_sidecar("{not json").status().code(), StatusCode::kInput);
  EXPECT_EQ(parse_sidecar("{\"schema\": \"other\"}").status().code(), StatusCode::kInput);
  EXPECT_EQ(parse_sidecar("{\"schema\": \"unmask.sidecar/1\", \"manifest\": \"x\", \"signature\": \"\", "
                          "\"public_key\": \"\"}").status().code(),
            StatusCode::kInput);
  EXPECT_EQ(read_sidecar("/nonexistent/x.unmask.json").status().code(), StatusCode::kInput);
  EXPECT_EQ(sidecar_path("out.mp4"), "out.mp4.unmask.json");
}

}  // namespace
}  // namespace unmask::sign
