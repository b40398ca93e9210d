// FrameMarker + FrameVerifier in memory: Debian face photos and generated frames, with the attacks
// that need no encoder (resize, crop, paste).
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mark/internal.h"
#include "mark/mark.h"
#include "media/media.h"
#include "support/fixtures.h"

namespace unmask::mark {
namespace {

using unmask::testing::debian_face_photos;

// A photo scaled to cover w x h, centre-cropped.
Image cover(const Image& src, int w, int h) {
  cv::Mat in(src.height_px(), src.width_px(), CV_8UC3, const_cast<uint8_t*>(src.data()));
  const double s = std::max(double(w) / src.width_px(), double(h) / src.height_px());
  cv::Mat scaled;
  cv::resize(in, scaled, cv::Size(), s, s, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::Rect roi((scaled.cols - w) / 2, (scaled.rows - h) / 2, w, h);
  Image out(w, h);
  scaled(roi).copyTo(cv::Mat(h, w, CV_8UC3, out.data()));
  return out;
}

Image resized(const Image& src, int w, int h) {
  cv::Mat in(src.height_px(), src.width_px(), CV_8UC3, const_cast<uint8_t*>(src.data()));
  Image out(w, h);
  cv::Mat dst(h, w, CV_8UC3, out.data());
  cv::resize(in, dst, dst.size(), 0, 0, cv::INTER_AREA);
  return out;
}

Image cropped(const Image& src, int x, int y, int w, int h) {
  Image out(w, h);
  for (int r = 0; r < h; ++r) std::copy_n(src.at(x, y + r), size_t(w) * 3, out.row(r));
  return out;
}

// n frames of a slow pan over a photo (content moves, the mark stays on the pixel grid).
std::vector<Image> photo_clip(const std::string& photo, int w, int h, int n) {
  auto img = media::read_image(photo);
  EXPECT_TRUE(img.ok()) << img.status().message();
  const Image big = cover(*img, w + 2 * n, h + 2 * n);
  std::vector<Image> frames;
  for (int i = 0; i < n; ++i) frames.push_back(cropped(big, 2 * i, i, w, h));
  return frames;
}

MarkOptions options_for(uint32_t issuer) {
  MarkOptions o;
  o.issuer = issuer;
  o.sequence = 77;
  return o;
}

VerifyResult verify_frames(const std::vector<Image>& frames, const std::string& key = kDefaultKey) {
  VerifyOptions vo;
  vo.key = key;
  auto v = FrameVerifier::create(vo);
  for (size_t i = 0; i < frames.size(); ++i) {
    Status s = v->add(frames[i], int64_t(i), int64_t(i) * 40000);
    EXPECT_TRUE(s.is_ok()) << s.message();
  }
  return v->finish();
}

std::vector<Image> mark_all(std::vector<Image> frames, const MarkOptions& o) {
  auto m = FrameMarker::create(frames[0].width_px(), frames[0].height_px(), o);
  EXPECT_TRUE(m.ok());
  for (Image& f : frames) EXPECT_TRUE((*m)->mark(f).is_ok());
  return frames;
}

class MarkPhotos : public ::testing::Test {
 protected:
  void SetUp() override {
    photos_ = debian_face_photos();
    if (photos_.empty()) GTEST_SKIP() << "libdlib19.1 face photos not installed";
  }
  std::vector<std::string> photos_;
};

TEST_F(MarkPhotos, EmbedThenVerifyRecoversPayloadAtHighPsnr) {
  const auto original = photo_clip(photos_[0], 640, 360, 8);
  const auto marked = mark_all(original, options_for(4660));
  for (size_t i = 0; i < marked.size(); ++i) EXPECT_GE(psnr_db(original[i], marked[i]), 42.0);
  const VerifyResult r = verify_frames(marked);
  ASSERT_TRUE(r.found) << "corr " << r.correlation << " sync " << r.sync_peak << " period " << r.period_px << " crc " << r.crc_ok;
  EXPECT_EQ(r.payload.issuer, 4660u);
  EXPECT_EQ(r.payload.sequence, 77u);
  EXPECT_FALSE(r.payload.synthetic);
  EXPECT_LT(r.bit_error_rate, 0.2);
  EXPECT_EQ(r.frames_checked, 8);
  EXPECT_TRUE(r.tamper_checked);
  EXPECT_LT(r.tamper_mean_fraction_blocks, 0.01);
}

TEST_F(MarkPhotos, SyntheticFlagIsCarried) {
  const auto marked = mark_all(photo_clip(photos_[5], 480, 360, 4), synthetic_options("test"));
  const VerifyResult r = verify_frames(marked);
  ASSERT_TRUE(r.found) << "corr " << r.correlation << " sync " << r.sync_peak;
  EXPECT_TRUE(r.payload.synthetic);
  EXPECT_EQ(r.payload.issuer, 0u);
}

// A single still has no frames to combine: detection is not certain
// (about half of Debian's photos, see docs/watermark.md), but a payload, when reported, is always
// the right one.
TEST_F(MarkPhotos, SingleStillsOftenFoundNeverWrong) {
  int found = 0;
  for (const std::string& p : photos_) {
    auto img = media::read_image(p);
    ASSERT_TRUE(img.ok());
    MarkOptions o = options_for(2024);
    o.still = true;
    const VerifyResult r = verify_frames(mark_all({*img}, o));
    if (!r.found) continue;
    ++found;
    EXPECT_EQ(r.payload.issuer, 2024u) << p;
    EXPECT_EQ(r.payload.sequence, 77u) << p;
  }
  EXPECT_GE(found * 3, static_cast<int>(photos_.size()));
}

TEST_F(MarkPhotos, UnmarkedPhotosAreNotFound) {
  for (const std::string& p : photos_) {
    auto img = media::read_image(p);
    ASSERT_TRUE(img.ok());
    const VerifyResult r = verify_frames({*img});
    EXPECT_FALSE(r.found) << p;
    EXPECT_EQ(r.confidence, 0.0);
  }
}

TEST_F(MarkPhotos, WrongKeyFindsNothing) {
  MarkOptions o = options_for(9);
  o.key = "studio-private-key";
  const auto marked = mark_all(photo_clip(photos_[1], 480, 360, 4), o);
  EXPECT_TRUE(verify_frames(marked, "studio-private-key").found);
  EXPECT_FALSE(verify_frames(marked).found);
}

TEST_F(MarkPhotos, SurvivesHalfSizeResize) {
  const auto marked = mark_all(photo_clip(photos_[0], 640, 360, 24), options_for(123456));
  std::vector<Image> small;
  for (const Image& f : marked) small.push_back(resized(f, 320, 180));
  const VerifyResult r = verify_frames(small);
  ASSERT_TRUE(r.found) << "corr " << r.correlation << " sync " << r.sync_peak << " period " << r.period_px << " crc " << r.crc_ok;
  EXPECT_EQ(r.payload.issuer, 123456u);
}

TEST_F(MarkPhotos, SurvivesCropOfTenPercent) {
  const auto marked = mark_all(photo_clip(photos_[3], 640, 360, 24), options_for(31337));
  std::vector<Image> crops;
  for (const Image& f : marked) crops.push_back(cropped(f, 37, 19, 576, 324));  // 10% smaller, shifted
  const VerifyResult r = verify_frames(crops);
  ASSERT_TRUE(r.found) << "corr " << r.correlation << " sync " << r.sync_peak << " period " << r.period_px << " crc " << r.crc_ok;
  EXPECT_EQ(r.payload.issuer, 31337u);
}

TEST_F(MarkPhotos, PastedPatchIsLocalised) {
  const auto marked = mark_all(photo_clip(photos_[0], 640, 360, 12), options_for(5));
  auto other = media::read_image(photos_[4]);
  ASSERT_TRUE(other.ok());
  const Image patch = cover(*other, 128, 128);
  const Box truth{240, 96, 128, 128};
  std::vector<Image> attacked = marked;
  for (Image& f : attacked) unmask::testing::paste(f, patch, int(truth.x), int(truth.y));
  VerifyOptions vo;
  auto v = FrameVerifier::create(vo);
  for (size_t i = 0; i < attacked.size(); ++i) ASSERT_TRUE(v->add(attacked[i], int64_t(i), int64_t(i) * 40000).is_ok());
  const VerifyResult r = v->finish();
  ASSERT_TRUE(r.found);
  ASSERT_TRUE(r.tamper_checked);
  ASSERT_EQ(r.tamper_frames.size(), attacked.size());
  for (const TamperFrame& t : r.tamper_frames) {
    ASSERT_FALSE(t.regions.empty());
    double best = 0;
    for (const Box& b : t.regions) best = std::max(best, iou(b, truth));
    EXPECT_GE(best, 0.6) << "frame " << t.index;
    EXPECT_LT(t.fraction_blocks, 0.15);
  }
}

// What the scan's watermark tap sends for frames larger than 2160p: the verifier's own gray image
// gives the same result as the colour frame, tamper map regions included.
TEST_F(MarkPhotos, GrayFramesGiveTheVerifiersResultOnColourFrames) {
  const auto marked = mark_all(photo_clip(photos_[0], 640, 360, 8), options_for(9));
  auto other = media::read_image(photos_[4]);
  ASSERT_TRUE(other.ok());
  std::vector<Image> attacked = marked;
  for (Image& f : attacked) unmask::testing::paste(f, cover(*other, 128, 128), 240, 96);
  auto verify = [&](bool gray) {
    auto v = FrameVerifier::create(VerifyOptions{});
    for (size_t i = 0; i < attacked.size(); ++i) {
      const Image frame = gray ? verifier_gray(attacked[i]) : attacked[i];
      const Image previous = i == 0 ? Image() : gray ? verifier_gray(attacked[i - 1]) : attacked[i - 1];
      EXPECT_EQ(frame.channels(), gray ? 1 : 3);
      EXPECT_TRUE(v->add(frame, int64_t(i), int64_t(i) * 40000, previous.empty() ? nullptr : &previous).is_ok());
    }
    return v->finish();
  };
  const VerifyResult colour = verify(false), gray = verify(true);
  ASSERT_TRUE(colour.found);
  EXPECT_EQ(gray.found, colour.found);
  EXPECT_EQ(gray.payload.issuer, colour.payload.issuer);
  EXPECT_EQ(gray.raw_payload_bits, colour.raw_payload_bits);
  EXPECT_EQ(gray.correlation, colour.correlation);
  EXPECT_EQ(gray.sync_peak, colour.sync_peak);
  EXPECT_EQ(gray.bit_error_rate, colour.bit_error_rate);
  EXPECT_EQ(gray.tamper_frames_readable, colour.tamper_frames_readable);
  EXPECT_EQ(gray.tamper_mean_fraction_blocks, colour.tamper_mean_fraction_blocks);
  ASSERT_EQ(gray.tamper_frames.size(), colour.tamper_frames.size());
  ASSERT_FALSE(colour.tamper_frames.empty());
  for (size_t i = 0; i < colour.tamper_frames.size(); ++i) {
    EXPECT_EQ(gray.tamper_frames[i].fraction_blocks, colour.tamper_frames[i].fraction_blocks);
    EXPECT_EQ(gray.tamper_frames[i].regions.size(), colour.tamper_frames[i].regions.size());
  }
}

// The detector's area means are computed separably (fast path): they must equal OpenCV's exact
// INTER_AREA resampling for frames larger and smaller than the grid's cells.
TEST_F(MarkPhotos, FrontEndAreaMeansEqualInterArea) {
  auto img = media::read_image(photos_[2]);
  ASSERT_TRUE(img.ok());
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{1280, 720}, {854, 480}, {464, 560}, {333, 201}, {150, 90}}) {
    const Image frame = cover(*img, w, h);
    cv::Mat bgr(h, w, CV_8UC3, const_cast<uint8_t*>(frame.data())), gray, f, plane;
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
    const detail::Grid grid = detail::grid_for(w, h);
    gray.convertTo(f, CV_32F);
    cv::resize(f, plane, cv::Size(grid.nx, grid.ny), 0, 0, cv::INTER_AREA);
    const detail::FrontEnd fast = detail::front_end(gray.data, w, h, grid);
    const detail::FrontEnd ref = detail::front_end_plane(std::vector<float>(plane.begin<float>(), plane.end<float>()), grid);
    ASSERT_EQ(fast.value.size(), ref.value.size());
    double max_diff = 0, max_value = 0;
    for (size_t i = 0; i < ref.value.size(); ++i) {
      max_diff = std::max(max_diff, double(std::abs(fast.value[i] - ref.value[i])));
      max_value = std::max(max_value, double(std::abs(ref.value[i])));
    }
    EXPECT_GT(max_value, 1.0) << w << "x" << h;
    EXPECT_LT(max_diff, 1e-3) << w << "x" << h;
  }
}

// Both layers are applied in one pass; where a channel clamps (bright, saturated areas) the
// tamper layer is checked and re-embedded on the final image, so every block stays on its lattice.
TEST_F(MarkPhotos, TamperLayerSurvivesClampingInBrightFrames) {
  auto img = media::read_image(photos_[0]);
  ASSERT_TRUE(img.ok());
  Image frame = cover(*img, 640, 360);
  cv::Mat bgr(360, 640, CV_8UC3, frame.data());
  bgr.convertTo(bgr, -1, 1.5, 40);  // many pixels at 255, many blocks partly saturated
  const Image original = frame;
  auto marker = FrameMarker::create(640, 360, options_for(3));
  ASSERT_TRUE(marker.ok());
  ASSERT_TRUE((*marker)->mark(frame).is_ok());
  EXPECT_GE(psnr_db(original, frame), 40.0);
  cv::Mat gray;
  cv::cvtColor(cv::Mat(360, 640, CV_8UC3, frame.data()), gray, cv::COLOR_BGR2GRAY);
  const detail::FragileScores scores = detail::fragile_scores(gray.data, 640, 360, detail::key_seed(kDefaultKey));
  const detail::TamperMap map = detail::tamper_map(scores);
  ASSERT_GE(map.n_checked, 20);
  EXPECT_GE(map.healthy_fraction, 0.97);
  EXPECT_EQ(map.fraction_blocks, 0.0);
  // The unmarked frame is off the lattice: the check is not vacuous.
  cv::cvtColor(cv::Mat(360, 640, CV_8UC3, const_cast<uint8_t*>(original.data())), gray, cv::COLOR_BGR2GRAY);
  EXPECT_LT(detail::tamper_map(detail::fragile_scores(gray.data, 640, 360, detail::key_seed(kDefaultKey))).healthy_fraction, 0.5);
}

// Blocks across a black border carry their bits in their live pixels (the black ones are at the
// feature clamp and are left alone) and keep them through a JPEG round trip, whose ringing along
// the border the decoder clips at 0.
TEST_F(MarkPhotos, TamperLayerIgnoresClippedNoiseAlongBlackBorders) {
  auto img = media::read_image(photos_[4]);
  ASSERT_TRUE(img.ok());
  Image frame = cover(*img, 640, 360);
  cv::Mat bgr(360, 640, CV_8UC3, frame.data());
  // Letterbox bands ending inside the block rows 3 (y 96..127) and 8 (y 256..287): a quarter of
  // those blocks is black.
  bgr(cv::Rect(0, 0, 640, 104)).setTo(cv::Scalar::all(0));
  bgr(cv::Rect(0, 280, 640, 80)).setTo(cv::Scalar::all(0));
  auto marker = FrameMarker::create(640, 360, options_for(5));
  ASSERT_TRUE(marker.ok());
  ASSERT_TRUE((*marker)->mark(frame).is_ok());
  // A JPEG round trip rings along the border; its decoder clips YCbCr -> RGB at 0.
  std::vector<uint8_t> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 80}));
  const cv::Mat decoded = cv::imdecode(jpeg, cv::IMREAD_COLOR);
  cv::Mat gray;
  cv::cvtColor(decoded, gray, cv::COLOR_BGR2GRAY);
  const detail::FragileScores scores = detail::fragile_scores(gray.data, 640, 360, detail::key_seed(kDefaultKey));
  int border_checked = 0, border_flagged = 0;
  for (int by : {3, 8})
    for (int bx = 0; bx < scores.blocks_x; ++bx) {
      const float v = scores.score[by * scores.blocks_x + bx];
      if (v <= 0.f) continue;
      ++border_checked;
      border_flagged += v > detail::kFragileThreshold;
    }
  EXPECT_GE(border_checked, 12);
  EXPECT_LE(border_flagged * 10, border_checked) << border_flagged << " of " << border_checked;
  const detail::TamperMap map = detail::tamper_map(scores);
  EXPECT_TRUE(map.readable());
  EXPECT_TRUE(map.regions.empty());
}

// A region's side reaches a quarter block into a neighbouring row or column left out because its
// content moved (there the altered area may go on), and stays on the block edge where the
// neighbours were checked and intact, flat (unchecked, not moving) or outside the frame.
TEST(MarkTamperMap, RegionReachesIntoMovingNeighboursOnly) {
  detail::FragileScores s;
  s.blocks_x = 10;
  s.blocks_y = 8;
  s.block_px = 32;
  s.score.assign(80, 0.05f);  // checked, intact
  for (int y = 2; y <= 4; ++y)
    for (int x = 3; x <= 5; ++x) s.score[y * 10 + x] = 0.3f;  // altered: blocks 3..5 x 2..4
  s.moving.assign(80, 0);
  for (int y = 0; y < 8; ++y) {
    s.score[y * 10 + 2] = 0.f;  // column 2 unchecked: moving
    s.moving[y * 10 + 2] = 1;
    s.score[y * 10 + 6] = 0.f;  // column 6 unchecked: flat
  }
  const detail::TamperMap m = detail::tamper_map(s);
  ASSERT_EQ(m.regions.size(), 1u);
  const Box& r = m.regions[0];
  EXPECT_DOUBLE_EQ(r.x, 3 * 32 - 8.0);  // a quarter block into the unchecked column
  EXPECT_DOUBLE_EQ(r.w, 3 * 32 + 8.0);  // the right side stays on its block edge
  EXPECT_DOUBLE_EQ(r.y, 2 * 32.0);
  EXPECT_DOUBLE_EQ(r.h, 3 * 32.0);
}

// The robust layer spreads its energy by the host's activity: flatter chips get more of it
// (after CRF 28 of a half-size copy they keep the most evidence per unit of energy).
TEST_F(MarkPhotos, RobustEnergyGoesToFlatterAreas) {
  auto img = media::read_image(photos_[2]);
  ASSERT_TRUE(img.ok());
  Image frame = cover(*img, 640, 360);
  cv::Mat bgr(360, 640, CV_8UC3, frame.data());
  cv::GaussianBlur(bgr(cv::Rect(0, 0, 320, 360)), bgr(cv::Rect(0, 0, 320, 360)), cv::Size(0, 0), 6);  // left: smooth
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  detail::RobustEmbedder informed(640, 360, kDefaultKey, Payload{1, false, kPayloadVersion, 2}.pack(), true);
  std::vector<float> d;
  informed.delta(gray.data, 1.45, d);
  const cv::Mat dm(360, 640, CV_32F, d.data());
  const double flat = cv::norm(dm(cv::Rect(16, 16, 288, 328))), textured = cv::norm(dm(cv::Rect(336, 16, 288, 328)));
  EXPECT_GT(flat, 1.5 * textured);
  EXPECT_LE(cv::norm(dm) / std::sqrt(640.0 * 360.0), 1.45 + 1e-3);
}

TEST(MarkFrames, GeneratedFramesRoundTripAndRejectBadSizes) {
  std::vector<Image> frames;
  for (int i = 0; i < 10; ++i) frames.push_back(unmask::testing::make_pattern_frame(320, 240, i, 10 + 20 * i, 80, 40));
  const auto marked = mark_all(frames, options_for(77));
  const VerifyResult r = verify_frames(marked);
  ASSERT_TRUE(r.found) << "corr " << r.correlation << " sync " << r.sync_peak << " period " << r.period_px << " crc " << r.crc_ok;
  EXPECT_EQ(r.payload.issuer, 77u);
  EXPECT_FALSE(verify_frames(frames).found);
  auto m = FrameMarker::create(320, 240, options_for(1));
  ASSERT_TRUE(m.ok());
  Image wrong(100, 100);
  EXPECT_EQ((*m)->mark(wrong).code(), StatusCode::kUsage);
  EXPECT_EQ(FrameMarker::create(32, 32, options_for(1)).status().code(), StatusCode::kInput);
}

}  // namespace
}  // namespace unmask::mark
