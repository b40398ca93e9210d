// TrackCollector's memory per face track: a face on screen for a very long time keeps a bounded
// series for the track detectors (whole chunks, evenly spread) and a bounded set of candidate
// crops, while a short track is handed over whole, frame for frame.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "scan/tracks.h"

namespace unmask::scan::internal {
namespace {

// A track detector that records what it was given and checks that the series is consistent.
class RecordingTrackDetector : public detect::TrackDetector {
 public:
  RecordingTrackDetector() {
    info_.name = "recorder";
    info_.version = "1";
    info_.kind = detect::DetectorKind::kTrack;
  }
  const detect::DetectorInfo& info() const override { return info_; }
  std::optional<face::AlignOptions> alignment() const override { return align; }
  bool reads_face_detail() const override { return wants_detail; }
  Result<detect::TrackResult> score(const detect::TrackSeries& s) const override {
    seen.push_back(s.pts_us);
    crops_seen.push_back(s.crops.size());
    details_seen.push_back(s.face_detail.size());
    first_landmarks.push_back(s.landmarks.empty() ? face::Landmarks{} : s.landmarks.front());
    consistent = consistent && s.landmarks.size() == s.pts_us.size() && s.boxes.size() == s.pts_us.size() &&
                 s.detected.size() == s.pts_us.size() && s.crops.size() == s.crop_index.size() &&
                 (s.face_detail.empty() || s.face_detail.size() == s.pts_us.size());
    for (size_t i = 1; i < s.pts_us.size(); ++i) consistent = consistent && s.pts_us[i] > s.pts_us[i - 1];
    for (size_t i = 0; i < s.crop_index.size(); ++i) {
      consistent = consistent && s.crop_index[i] < s.pts_us.size() && (i == 0 || s.crop_index[i] > s.crop_index[i - 1]);
    }
    detect::TrackResult r;
    r.score = 0.25;
    return r;
  }
  std::optional<face::AlignOptions> align = face::AlignOptions{.size_px = 16, .margin = 0.25};
  bool wants_detail = true;
  mutable std::vector<std::vector<int64_t>> seen;
  mutable std::vector<size_t> crops_seen;
  mutable std::vector<size_t> details_seen;  // face_detail values handed over
  mutable std::vector<face::Landmarks> first_landmarks;
  mutable bool consistent = true;

 private:
  detect::DetectorInfo info_;
};

constexpr double kFps = 30.0;

int64_t pts_of(int64_t i) { return static_cast<int64_t>(std::llround(i * 1e6 / kFps)); }

// One face, its landmarks a rough face shape that drifts a little with i (non-degenerate, so the
// crops can be aligned and the mouth opening measured).
face::FrameFaces frame_with_face(int64_t i, const Image& image) {
  face::FrameFaces ff;
  ff.index = i;
  ff.pts_us = pts_of(i);
  ff.image = image;
  face::Face f;
  f.track_id = 0;
  f.detected = i % 5 == 0;
  const double dx = 0.1 * static_cast<double>(i % 7);
  for (int k = 0; k < face::kNumLandmarks; ++k) {
    const double a = 2.0 * 3.14159265358979 * k / face::kNumLandmarks;
    f.landmarks[k] = {32 + dx + 12 * std::cos(a), 32 + 15 * std::sin(a)};
  }
  f.box = {20 + dx, 17, 24, 30};
  ff.faces.push_back(f);
  return ff;
}

struct Fixture {
  std::shared_ptr<RecordingTrackDetector> recorder = std::make_shared<RecordingTrackDetector>();
  std::shared_ptr<detect::DetectorSet> set = [this] {
    auto s = std::make_shared<detect::DetectorSet>();
    s->track.push_back(recorder);
    return s;
  }();
  Image image{64, 64, 3};
};

TEST(TrackMemory, AVeryLongTrackKeepsABoundedSeriesOfWholeChunks) {
  Fixture fx;
  CollectorOptions o;
  o.processed_fps = kFps;
  o.thumbnails = false;
  TrackCollector collector(fx.set, o);
  const int64_t n = 100000;  // 55 minutes of one face
  const int64_t chunk = std::llround(o.series_chunk_s * kFps);
  int64_t max_held = 0, max_candidates = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(collector.add_frame(frame_with_face(i, fx.image)).is_ok());
    max_held = std::max(max_held, collector.open_series_frames());
    max_candidates = std::max(max_candidates, collector.open_candidates());
  }
  EXPECT_LE(max_held, o.max_series_frames);
  EXPECT_LE(max_candidates, 2 * o.frames_per_track);
  ASSERT_TRUE(collector.finish().is_ok());
  auto outcomes = collector.take_outcomes();
  ASSERT_EQ(outcomes.size(), 1u);
  // The outcome still covers every frame (lip-sync needs them all) ...
  EXPECT_EQ(outcomes[0].n_frames, n);
  EXPECT_EQ(static_cast<int64_t>(outcomes[0].pts_us.size()), n);
  EXPECT_EQ(static_cast<int64_t>(outcomes[0].mouth_opening.size()), n);
  EXPECT_DOUBLE_EQ(outcomes[0].end_s, pts_of(n - 1) / 1e6);
  ASSERT_EQ(outcomes[0].scores.size(), 1u);
  // ... while the detector got at most the bound: at least half of it, in whole chunks spread
  // from the start of the track to its end.
  ASSERT_EQ(fx.recorder->seen.size(), 1u);
  EXPECT_TRUE(fx.recorder->consistent);
  const std::vector<int64_t>& pts = fx.recorder->seen[0];
  EXPECT_LE(static_cast<int64_t>(pts.size()), o.max_series_frames);
  EXPECT_GE(static_cast<int64_t>(pts.size()), o.max_series_frames / 2);
  EXPECT_EQ(pts.front(), 0);
  EXPECT_GT(pts.back(), pts_of(n * 3 / 4));
  std::vector<int64_t> frame_numbers;
  for (int64_t p : pts) frame_numbers.push_back(std::llround(p * kFps / 1e6));
  size_t run_start = 0;
  for (size_t i = 1; i <= frame_numbers.size(); ++i) {
    if (i < frame_numbers.size() && frame_numbers[i] == frame_numbers[i - 1] + 1) continue;
    // A run of consecutive frames: whole chunks (the last one may be cut by the end of the track).
    EXPECT_EQ(frame_numbers[run_start] % chunk, 0) << "run at " << frame_numbers[run_start];
    if (i < frame_numbers.size()) {
      EXPECT_EQ((frame_numbers[i - 1] + 1) % chunk, 0) << "run at " << frame_numbers[run_start];
    }
    run_start = i;
  }
}

TEST(TrackMemory, ADetectorThatReadsNoPixelsGetsNoCropsAndNoneAreCut) {
  for (const bool pixels : {true, false}) {
    Fixture fx;
    if (!pixels) fx.recorder->align = std::nullopt;
    CollectorOptions o;
    o.processed_fps = kFps;
    o.thumbnails = false;
    TrackCollector collector(fx.set, o);
    int64_t max_candidates = 0;
    for (int64_t i = 0; i < 300; ++i) {
      ASSERT_TRUE(collector.add_frame(frame_with_face(i, fx.image)).is_ok());
      max_candidates = std::max(max_candidates, collector.open_candidates());
    }
    ASSERT_TRUE(collector.finish().is_ok());
    ASSERT_EQ(fx.recorder->seen.size(), 1u) << pixels;
    EXPECT_TRUE(fx.recorder->consistent);
    EXPECT_EQ(fx.recorder->seen[0].size(), 300u);  // every frame's landmarks either way
    if (pixels) {
      EXPECT_GT(fx.recorder->crops_seen[0], 0u);
      EXPECT_GT(max_candidates, 0);
    } else {
      EXPECT_EQ(fx.recorder->crops_seen[0], 0u);
      EXPECT_EQ(max_candidates, 0);  // no crop was aligned at all
    }
    EXPECT_EQ(fx.recorder->details_seen[0], 300u);  // face detail of every frame, pixels or not
    auto outcomes = collector.take_outcomes();
    ASSERT_EQ(outcomes.size(), 1u);
    ASSERT_EQ(outcomes[0].scores.size(), 1u);
  }
}

TEST(TrackMemory, FaceDetailIsMeasuredOnlyWhenEveryFrameIsGivenAndADetectorReadsIt) {
  for (const bool every_frame : {true, false}) {
    Fixture fx;
    CollectorOptions o;
    o.processed_fps = kFps;
    o.thumbnails = false;
    o.measure_face_detail = every_frame;  // scan --fast gives every other frame
    TrackCollector collector(fx.set, o);
    for (int64_t i = 0; i < 100; ++i) ASSERT_TRUE(collector.add_frame(frame_with_face(i, fx.image)).is_ok());
    ASSERT_TRUE(collector.finish().is_ok());
    ASSERT_EQ(fx.recorder->details_seen.size(), 1u);
    EXPECT_TRUE(fx.recorder->consistent);
    EXPECT_EQ(fx.recorder->details_seen[0], every_frame ? 100u : 0u);
  }
  Fixture fx;
  fx.recorder->wants_detail = false;
  CollectorOptions o;
  o.processed_fps = kFps;
  o.thumbnails = false;
  TrackCollector collector(fx.set, o);
  for (int64_t i = 0; i < 100; ++i) ASSERT_TRUE(collector.add_frame(frame_with_face(i, fx.image)).is_ok());
  ASSERT_TRUE(collector.finish().is_ok());
  ASSERT_EQ(fx.recorder->details_seen.size(), 1u);
  EXPECT_EQ(fx.recorder->details_seen[0], 0u) << "no detector reads it: not measured";
}

TEST(TrackMemory, ATrackShorterThanTheBoundIsHandedOverWhole) {
  Fixture fx;
  CollectorOptions o;
  o.processed_fps = kFps;
  o.thumbnails = false;
  o.max_series_frames = 3000;
  TrackCollector collector(fx.set, o);
  const int64_t n = 3000;
  for (int64_t i = 0; i < n; ++i) ASSERT_TRUE(collector.add_frame(frame_with_face(i, fx.image)).is_ok());
  EXPECT_EQ(collector.open_series_frames(), n);
  ASSERT_TRUE(collector.finish().is_ok());
  ASSERT_EQ(fx.recorder->seen.size(), 1u);
  EXPECT_TRUE(fx.recorder->consistent);
  ASSERT_EQ(static_cast<int64_t>(fx.recorder->seen[0].size()), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(fx.recorder->seen[0][static_cast<size_t>(i)], pts_of(i));
  EXPECT_EQ(fx.recorder->first_landmarks[0][0].x, frame_with_face(0, fx.image).faces[0].landmarks[0].x);
  // One frame more than the bound: the series is thinned to whole chunks.
  TrackCollector thinned(fx.set, o);
  for (int64_t i = 0; i <= n; ++i) ASSERT_TRUE(thinned.add_frame(frame_with_face(i, fx.image)).is_ok());
  EXPECT_LT(thinned.open_series_frames(), n);
  EXPECT_GE(thinned.open_series_frames(), n / 2);
}

}  // namespace
}  // namespace unmask::scan::internal
