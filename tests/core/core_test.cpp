#include <gtest/gtest.h>
#include <cstdio>

#include <string>
#include <vector>

#include "core/core.h"
#include "core/sha256_internal.h"
#include "core/text.h"
#include "support/fixtures.h"

namespace unmask {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return Status::input("value", "must be positive");
  return v;
}

Status chain(int v) {
  UNMASK_RETURN_IF_ERROR(parse_positive(v).status());
  return Status::ok();
}

TEST(Status, MessageNamesWhatAndWhy) {
  Status s = Status::input("clip.mp4", "no such file");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.message(), "clip.mp4: no such file");
  EXPECT_EQ(s.code(), StatusCode::kInput);
}

TEST(Status, WithReplacedRenamesEveryMentionAndKeepsTheCode) {
  const Status s = Status::input("/srv/jobs/7/input.mp4", "truncated (read /srv/jobs/7/input.mp4 to 40 %)");
  const Status r = s.with_replaced("/srv/jobs/7/input.mp4", "holiday.mp4");
  EXPECT_EQ(r.message(), "holiday.mp4: truncated (read holiday.mp4 to 40 %)");
  EXPECT_EQ(r.code(), StatusCode::kInput);
  // A replacement that contains what it replaces is not replaced again.
  EXPECT_EQ(Status::input("a", "b").with_replaced("a", "aa").message(), "aa: b");
  EXPECT_EQ(s.with_replaced("", "x").message(), s.message());
  EXPECT_TRUE(Status::ok().with_replaced("a", "b").is_ok());
}

TEST(Status, ExitCodesFollowTheContract) {
  EXPECT_EQ(exit_code_for(Status::ok()), 0);
  EXPECT_EQ(exit_code_for(Status::usage("a", "b")), 2);
  EXPECT_EQ(exit_code_for(Status::input("a", "b")), 3);
  EXPECT_EQ(exit_code_for(Status::model("a", "b")), 4);
  EXPECT_EQ(exit_code_for(Status::internal("a", "b")), 5);
  EXPECT_EQ(http_code_for(Status::usage("a", "b")), 400);
  EXPECT_EQ(http_code_for(Status::input("a", "b")), 415);
}

TEST(Result, HoldsValueOrStatus) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInput);
  EXPECT_TRUE(chain(2).is_ok());
  EXPECT_EQ(chain(0).code(), StatusCode::kInput);
}

TEST(Text, AsciiLowerAndLowerExtension) {
  EXPECT_EQ(ascii_lower("MiXeD.MP4"), "mixed.mp4");
  EXPECT_EQ(ascii_lower("Ärger"), "Ärger");  // bytes outside ASCII are left alone
  EXPECT_EQ(lower_extension("/a/B.Dir/clip.WebM"), ".webm");
  EXPECT_EQ(lower_extension("/a/B.Dir/noext"), "");
  EXPECT_EQ(lower_extension("photo.JPEG"), ".jpeg");
}

TEST(Text, PrintableTextEscapesControlBytesOnly) {
  EXPECT_EQ(printable_text("a\nb\tc\x1b\x7f"), "a\\x0ab\\x09c\\x1b\\x7f");
  EXPECT_EQ(printable_text("caf\xc3\xa9 <ok> \x93"), "caf\xc3\xa9 <ok> \x93");  // UTF-8 and high bytes kept
  EXPECT_EQ(printable_text(""), "");
}

TEST(Image, PackedRowsAndPixelAccess) {
  Image img(4, 3, 3);
  EXPECT_EQ(img.size_bytes(), 36u);
  img.at(2, 1)[1] = 77;
  EXPECT_EQ(img.data()[(1 * 4 + 2) * 3 + 1], 77);
  Image copy = img;
  copy.at(2, 1)[1] = 5;
  EXPECT_EQ(img.at(2, 1)[1], 77) << "Image is a value type";
}

TEST(Box, IntersectionOverUnion) {
  EXPECT_DOUBLE_EQ(iou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.0);
  EXPECT_DOUBLE_EQ(iou({0, 0, 10, 10}, {20, 20, 5, 5}), 0.0);
  EXPECT_NEAR(iou({0, 0, 10, 10}, {5, 0, 10, 10}), 50.0 / 150.0, 1e-12);
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Two blocks, exercising the padding across the 56-byte boundary.
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  EXPECT_EQ(sha256_hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, TheAcceleratedPathGivesThePortableDigestAtEveryLength) {
  // Lengths around the block (64) and padding (56) boundaries and a few large ones, from bytes
  // that are not all alike; sha256_hex takes the SHA extensions where the CPU has them.
  std::string bytes;
  uint32_t x = 12345;
  for (int i = 0; i < 70000; ++i) {
    x = x * 1103515245u + 12345u;
    bytes.push_back(static_cast<char>(x >> 24));
  }
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 200; ++n) lengths.push_back(n);
  for (size_t n : {255, 256, 257, 4095, 4096, 65536, 70000}) lengths.push_back(n);
  for (size_t n : lengths) {
    const std::string_view v(bytes.data(), n);
    EXPECT_EQ(sha256_hex(v), detail::sha256_hex_portable(v)) << n << " bytes";
  }
  EXPECT_EQ(detail::sha256_hex_portable("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::printf("SHA extensions used here: %s\n", detail::sha256_has_sha_ni() ? "yes" : "no");
}

TEST(FileIo, HashOfAFileInUnevenPiecesIsTheHashOfItsBytes) {
  // sha256_file reads 64 KiB at a time: a file of a length that is no multiple of it or of 64.
  testing::TempDir dir;
  std::string bytes(200001, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 7919) >> 3);
  const std::string path = dir.file("uneven.bin");
  ASSERT_TRUE(write_file_atomic(path, bytes).is_ok());
  auto hash = sha256_file(path);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(*hash, detail::sha256_hex_portable(bytes));
}

TEST(FileIo, AtomicWriteThenReadAndHash) {
  testing::TempDir dir;
  const std::string path = dir.file("x.bin");
  ASSERT_TRUE(write_file_atomic(path, "abc").is_ok());
  auto bytes = read_file(path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, "abc");
  auto hash = sha256_file(path);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(*hash, sha256_hex("abc"));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_EQ(read_file(dir.file("missing")).status().code(), StatusCode::kInput);
  EXPECT_EQ(read_file(dir.path().string()).status().code(), StatusCode::kInput);
  EXPECT_EQ(sha256_file(dir.file("missing")).status().code(), StatusCode::kInput);
}

TEST(Log, SinkReceivesMessagesAndDefaultIsSilent) {
  std::vector<std::string> seen;
  set_log_sink([&](LogLevel, std::string_view m) { seen.emplace_back(m); });
  log_warning("hello");
  set_log_sink(nullptr);
  log_warning("dropped");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "hello");
}

TEST(TerminalProgress, DisabledWhenQuiet) {
  TerminalProgress quiet(true);
  EXPECT_FALSE(quiet.enabled());
  quiet.update(0.5, "stage");  // must not draw or crash
}

}  // namespace
}  // namespace unmask
