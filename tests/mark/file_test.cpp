// embed_file / verify_file on encoded media: generated and Debian-photo clips, re-encoding at
// CRF 28, half-size resize, pasted patches, stills, bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgproc.hpp>

#include "mark/mark.h"
#include "media/media.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"

namespace unmask::mark {
namespace {

using unmask::testing::TempDir;

Image cover(const Image& src, int w, int h) {
  cv::Mat in(src.height_px(), src.width_px(), CV_8UC3, const_cast<uint8_t*>(src.data()));
  const double s = std::max(double(w) / src.width_px(), double(h) / src.height_px());
  cv::Mat scaled;
  cv::resize(in, scaled, cv::Size(), s, s, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  Image out(w, h);
  scaled(cv::Rect((scaled.cols - w) / 2, (scaled.rows - h) / 2, w, h)).copyTo(cv::Mat(h, w, CV_8UC3, out.data()));
  return out;
}

// A face photo drifting over a photo background (static, or panning like a hand-held camera),
// with a tone: n frames at 25 fps.
void write_photo_clip(const std::string& path, const std::string& photo, const std::string& background,
                      int w, int h, int n, int pan_px_per_frame = 0, int face_px_per_frame = 1) {
  auto img = media::read_image(photo);
  ASSERT_TRUE(img.ok()) << img.status().message();
  Image bg_img;
  if (background.empty()) {
    bg_img = unmask::testing::make_textured_background(w + 2 * n, h + n, 0);
  } else {
    auto read = media::read_image(background);
    ASSERT_TRUE(read.ok()) << read.status().message();
    bg_img = *read;
  }
  const Image face = cover(*img, h / 2, h / 2);
  const Image bg = cover(bg_img, w + 2 * n, h + n);
  media::VideoWriterOptions o;
  o.crf = 16;
  o.pcm_audio = unmask::testing::make_tone(440.0, n / 25.0, 16000);
  auto writer = media::VideoWriter::open(path, w, h, 25.0, o);
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  for (int i = 0; i < n; ++i) {
    Image frame(w, h);
    const int pan = pan_px_per_frame * i;
    for (int y = 0; y < h; ++y) std::copy_n(bg.at(pan, y + pan / 2), size_t(w) * 3, frame.row(y));
    unmask::testing::paste(frame, face, w / 6 + face_px_per_frame * i, h / 6 + face_px_per_frame * i / 2);
    ASSERT_TRUE((*writer)->write(frame, -1).is_ok());
  }
  ASSERT_TRUE((*writer)->close().is_ok());
}

// Decodes `in` and re-encodes it at `crf`, scaled by `scale`, optionally pasting `patch` at (x, y)
// of every frame first.
void reencode(const std::string& in, const std::string& out, int crf, double scale = 1.0,
              const Image* patch = nullptr, int x = 0, int y = 0) {
  auto reader = media::VideoReader::open(in);
  ASSERT_TRUE(reader.ok());
  const int w = static_cast<int>(std::lround((*reader)->output_width_px() * scale / 2)) * 2;
  const int h = static_cast<int>(std::lround((*reader)->output_height_px() * scale / 2)) * 2;
  media::VideoWriterOptions o;
  o.crf = crf;
  auto writer = media::VideoWriter::open(out, w, h, 25.0, o);
  ASSERT_TRUE(writer.ok());
  VideoFrame frame;
  while (true) {
    auto more = (*reader)->read(frame);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    if (patch != nullptr) unmask::testing::paste(frame.image, *patch, x, y);
    Image scaled = scale == 1.0 ? frame.image : Image(w, h);
    if (scale != 1.0) {
      cv::Mat src(frame.image.height_px(), frame.image.width_px(), CV_8UC3, frame.image.data());
      cv::resize(src, cv::Mat(h, w, CV_8UC3, scaled.data()), cv::Size(w, h), 0, 0, cv::INTER_AREA);
    }
    ASSERT_TRUE((*writer)->write(scaled, frame.pts_us).is_ok());
  }
  ASSERT_TRUE((*writer)->close().is_ok());
}

class MarkFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto photos = unmask::testing::debian_face_photos();
    if (photos.empty()) GTEST_SKIP() << "libdlib19.1 face photos not installed";
    photo_ = photos[0];
    other_ = photos[4 % photos.size()];
    background_ = "";  // generated texture (support/face_fixtures.h)
  }
  MarkOptions issuer(uint32_t id) {
    MarkOptions o;
    o.issuer = id;
    return o;
  }
  TempDir dir_;
  std::string photo_, other_, background_;
};

TEST_F(MarkFiles, PhotoClipRoundTripKeepsAudioAndSurvivesCrf28AndHalfSize) {
  const std::string clip = dir_.file("clip.mp4"), marked = dir_.file("marked.mp4");
  write_photo_clip(clip, photo_, background_, 480, 360, 40);
  auto report = embed_file(clip, marked, issuer(4660));
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->n_frames, 40);
  EXPECT_GE(report->psnr_db, 42.0);
  EXPECT_EQ(report->fingerprints.size(), 2u);  // 1.2 s: two one-second segments
  auto info = media::probe(marked);
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->audio.has_value());       // audio copied through
  auto tags = media::read_metadata(marked);
  ASSERT_TRUE(tags.ok());
  EXPECT_NE(tags->count("unmask_watermark"), 0u);

  auto v = verify_file(marked);
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_TRUE(v->found) << "corr " << v->correlation << " sync " << v->sync_peak;
  EXPECT_EQ(v->payload.issuer, 4660u);
  EXPECT_LT(v->bit_error_rate, 0.1);
  EXPECT_TRUE(v->tamper_checked);

  const std::string crf28 = dir_.file("crf28.mp4");
  reencode(marked, crf28, 28);
  v = verify_file(crf28);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->found) << "CRF 28: corr " << v->correlation << " sync " << v->sync_peak;
  EXPECT_EQ(v->payload.issuer, 4660u);

  const std::string half = dir_.file("half.mp4");
  reencode(marked, half, 18, 0.5);
  v = verify_file(half);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->found) << "0.5x: corr " << v->correlation << " sync " << v->sync_peak;
  EXPECT_EQ(v->payload.issuer, 4660u);
}

TEST_F(MarkFiles, GeneratedClipAndUnmarkedClip) {
  const std::string clip = dir_.file("pattern.mp4"), marked = dir_.file("pattern_marked.mkv");
  unmask::testing::ClipSpec spec;
  spec.width_px = 320;
  spec.height_px = 240;
  spec.n_frames = 25;
  unmask::testing::write_pattern_clip(clip, spec);
  auto unmarked = verify_file(clip);
  ASSERT_TRUE(unmarked.ok());
  EXPECT_FALSE(unmarked->found);
  EXPECT_FALSE(unmarked->tamper_checked);
  auto report = embed_file(clip, marked, issuer(99));
  ASSERT_TRUE(report.ok()) << report.status().message();
  auto v = verify_file(marked);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->found);
  EXPECT_EQ(v->payload.issuer, 99u);
}

// A locked-off camera (static scene): re-encoding alone flags almost nothing; a pasted face is
// found where it was pasted. (With motion, re-encoders carry old bits along motion vectors and
// the moving area is unreadable in P-frames: see docs/watermark.md.)
TEST_F(MarkFiles, PastedFaceIsLocalisedAfterReencode) {
  const std::string clip = dir_.file("clip.mp4"), marked = dir_.file("marked.mp4");
  write_photo_clip(clip, photo_, background_, 480, 360, 20, 0, 0);
  ASSERT_TRUE(embed_file(clip, marked, issuer(7)).ok());

  const std::string untouched = dir_.file("untouched.mp4");
  reencode(marked, untouched, 23);
  auto clean = verify_file(untouched);
  ASSERT_TRUE(clean.ok());
  ASSERT_TRUE(clean->found);
  ASSERT_TRUE(clean->tamper_checked);
  EXPECT_GT(clean->tamper_frames_readable, 10);
  EXPECT_LT(clean->tamper_mean_fraction_blocks, 0.02);

  auto other = media::read_image(other_);
  ASSERT_TRUE(other.ok());
  const Image patch = cover(*other, 128, 128);
  const Box truth{96, 64, 128, 128};
  const std::string fake = dir_.file("fake.mp4");
  reencode(marked, fake, 23, 1.0, &patch, static_cast<int>(truth.x), static_cast<int>(truth.y));
  VerifyOptions vo;
  vo.render_tamper_map = true;
  auto v = verify_file(fake, vo);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->found);
  ASSERT_TRUE(v->tamper_checked);
  EXPECT_GT(v->tamper_fraction_frames, 0.9) << v->tamper_frames_readable << " readable";
  ASSERT_FALSE(v->tamper_frames.empty());
  double mean_iou = 0;
  for (const TamperFrame& t : v->tamper_frames) {
    double best = 0;
    for (const Box& b : t.regions) best = std::max(best, iou(b, truth));
    mean_iou += best / v->tamper_frames.size();
  }
  EXPECT_GE(mean_iou, 0.5);
  EXPECT_EQ(v->tamper_map.width_px(), 480);
}

// Both attacks at once: x264 CRF 28 of a half-size copy (chips of 2 px). The embedder puts its
// energy where the encoder leaves the most evidence per unit of energy (flatter chips).
TEST_F(MarkFiles, SurvivesCrf28AndHalfSizeTogether) {
  const std::string clip = dir_.file("clip.mp4"), marked = dir_.file("marked.mp4");
  write_photo_clip(clip, photo_, background_, 960, 540, 40, 1, 1);
  auto report = embed_file(clip, marked, issuer(0x1235));
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_GE(report->psnr_db, 42.0);
  const std::string both = dir_.file("both.mp4");
  reencode(marked, both, 28, 0.5);
  auto v = verify_file(both);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->found) << "CRF 28 + 0.5x: corr " << v->correlation << " sync " << v->sync_peak;
  EXPECT_EQ(v->payload.issuer, 0x1235u);
}

// A locked-off background with a moving face: after a re-encode (one I-frame, the rest P/B) the
// tamper layer is still read in most P/B-frames (blocks that moved, or that the encoder's noise
// changed by more than half a level, are left out) and flags almost nothing. (A pasted patch in
// this clip is flagged in every frame, but in the P/B-frames it is most of the few blocks left to
// check, so those frames do not count as readable: docs/watermark.md.)
TEST_F(MarkFiles, TamperLayerIsReadInPAndBFrames) {
  const int n = 24;
  const std::string clip = dir_.file("clip.mp4"), marked = dir_.file("marked.mp4");
  write_photo_clip(clip, photo_, background_, 480, 360, n, 0, 2);
  ASSERT_TRUE(embed_file(clip, marked, issuer(8)).ok());
  const std::string untouched = dir_.file("untouched.mp4");
  reencode(marked, untouched, 23);
  auto clean = verify_file(untouched);
  ASSERT_TRUE(clean.ok());
  ASSERT_TRUE(clean->found);
  ASSERT_TRUE(clean->tamper_checked);
  EXPECT_GE(clean->tamper_frames_readable, n / 2);  // the I-frame alone would be 1
  EXPECT_LT(clean->tamper_mean_fraction_blocks, 0.01);
}

TEST_F(MarkFiles, StillImagesPngAndJpeg) {
  const std::string png = dir_.file("still.png"), jpg = dir_.file("still.jpg");
  auto img = media::read_image(photo_);
  ASSERT_TRUE(img.ok());
  ASSERT_TRUE(media::write_image(dir_.file("in.png"), cover(*img, 640, 480)).is_ok());
  auto r = embed_file(dir_.file("in.png"), png, issuer(5));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->is_image);
  EXPECT_GE(r->psnr_db, 42.0);
  auto v = verify_file(png);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->is_image);
  ASSERT_TRUE(v->found);
  EXPECT_EQ(v->payload.issuer, 5u);
  ASSERT_TRUE(embed_file(dir_.file("in.png"), jpg, issuer(5)).ok());
  v = verify_file(jpg);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(!v->found || v->payload.issuer == 5u);  // JPEG 95: found or silent, never wrong
}

TEST_F(MarkFiles, BadInputIsAnErrorNotAPayload) {
  EXPECT_EQ(verify_file(dir_.file("missing.mp4")).status().code(), StatusCode::kInput);
  EXPECT_EQ(embed_file(dir_.file("missing.mp4"), dir_.file("o.mp4"), issuer(1)).status().code(), StatusCode::kInput);
  const std::string clip = dir_.file("clip.mp4"), marked = dir_.file("marked.mp4");
  write_photo_clip(clip, photo_, background_, 320, 240, 10);
  ASSERT_TRUE(embed_file(clip, marked, issuer(1)).ok());
  // Truncated to a third: either an input error or a clean result, never a crash.
  auto bytes = read_file(marked);
  ASSERT_TRUE(bytes.ok());
  ASSERT_TRUE(write_file_atomic(dir_.file("cut.mp4"), bytes->substr(0, bytes->size() / 3)).is_ok());
  auto cut = verify_file(dir_.file("cut.mp4"));
  if (cut.ok()) EXPECT_TRUE(!cut->found || cut->payload.issuer == 1u);
  else EXPECT_EQ(cut.status().code(), StatusCode::kInput);
  // Garbage with a video extension.
  ASSERT_TRUE(write_file_atomic(dir_.file("junk.mp4"), std::string(5000, 'x')).is_ok());
  EXPECT_EQ(verify_file(dir_.file("junk.mp4")).status().code(), StatusCode::kInput);
  // Output kind must match the input kind.
  EXPECT_EQ(embed_file(clip, dir_.file("o.png"), issuer(1)).status().code(), StatusCode::kUsage);
  EXPECT_EQ(embed_file(clip, clip, issuer(1)).status().code(), StatusCode::kUsage);
}

}  // namespace
}  // namespace unmask::mark
