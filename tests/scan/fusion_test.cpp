// The fusion rule of scan.h, case by case.
#include <gtest/gtest.h>

#include <cmath>

#include "scan/scan.h"

namespace unmask::scan {
namespace {

TrackEvidence track(int id, int n_frames, std::vector<DetectorScore> scores) { return {id, n_frames, std::move(scores)}; }

TEST(Fusion, StrongestDetectorThenStrongestTrack) {
  FusionInput in;
  in.tracks = {track(0, 20, {{"blend", 0.2}, {"spectral", 0.9}}), track(1, 20, {{"blend", 0.3}})};
  const FusionResult f = fuse(in);
  EXPECT_DOUBLE_EQ(f.score, 0.9);
  EXPECT_EQ(f.verdict, report::Verdict::kManipulated);
  EXPECT_EQ(f.deciding, "track 0");
  ASSERT_EQ(f.track_scores.size(), 2u);
  EXPECT_DOUBLE_EQ(f.track_scores[1], 0.3);
}

TEST(Fusion, ShortTracksCountOnlyWhenNothingLongerExists) {
  FusionInput in;
  in.tracks = {track(0, 30, {{"blend", 0.1}}), track(1, 1, {{"blend", 0.95}})};
  EXPECT_DOUBLE_EQ(fuse(in).score, 0.1) << "a one-frame track next to a long one is noise";
  in.tracks = {track(0, 1, {{"blend", 0.95}})};
  EXPECT_DOUBLE_EQ(fuse(in).score, 0.95) << "a still image has one-frame tracks only";
}

TEST(Fusion, AudioJoinsByMax) {
  FusionInput in;
  in.tracks = {track(0, 20, {{"blend", 0.1}})};
  in.voice = 0.6;
  in.lipsync = 0.2;
  const FusionResult f = fuse(in);
  EXPECT_DOUBLE_EQ(f.score, 0.6);
  EXPECT_EQ(f.verdict, report::Verdict::kSuspicious);
  EXPECT_EQ(f.deciding, "voice");
  EXPECT_DOUBLE_EQ(*f.audio_score, 0.6);
  EXPECT_DOUBLE_EQ(*f.video_score, 0.1);
}

TEST(Fusion, Thresholds) {
  EXPECT_EQ(verdict_for_score(0.39), report::Verdict::kAuthentic);
  EXPECT_EQ(verdict_for_score(0.40), report::Verdict::kSuspicious);
  EXPECT_EQ(verdict_for_score(0.749), report::Verdict::kSuspicious);
  EXPECT_EQ(verdict_for_score(0.75), report::Verdict::kManipulated);
}

TEST(Fusion, SyntheticMarkIsDecisive) {
  FusionInput in;
  in.tracks = {track(0, 20, {{"blend", 0.05}})};
  in.watermark.checked = in.watermark.found = in.watermark.synthetic = true;
  const FusionResult f = fuse(in);
  EXPECT_GE(f.score, 0.99);
  EXPECT_EQ(f.verdict, report::Verdict::kManipulated);
  EXPECT_EQ(f.deciding, "watermark");
  // Even with nothing else to judge.
  FusionInput only_mark;
  only_mark.watermark = in.watermark;
  only_mark.not_applicable_reason = "No face and no speech found.";
  EXPECT_EQ(fuse(only_mark).verdict, report::Verdict::kManipulated);
}

TEST(Fusion, IntactIssuerMarkIsStrongEvidenceOfAuthenticity) {
  FusionInput in;
  in.tracks = {track(0, 20, {{"blend", 0.8}})};
  in.watermark.checked = in.watermark.found = true;
  const FusionResult f = fuse(in);
  const double expected = 1.0 / (1.0 + std::exp(-(std::log(0.8 / 0.2) + kIntactMarkLogitShift)));
  EXPECT_NEAR(f.score, expected, 1e-9);
  EXPECT_EQ(f.verdict, report::Verdict::kAuthentic);
  // A tamper layer that flags frames pushes the other way.
  in.watermark.tamper_fraction_frames = 0.3;
  in.tracks = {track(0, 20, {{"blend", 0.5}})};
  const FusionResult t = fuse(in);
  EXPECT_GT(t.score, 0.85);
  EXPECT_EQ(t.verdict, report::Verdict::kManipulated);
}

TEST(Fusion, OnlyFramesWithAnAlteredAreaCountAsTampered) {
  // Scattered single blocks (re-encoding noise) do not make a frame altered; 8% of blocks do.
  EXPECT_DOUBLE_EQ(altered_frame_fraction(10, {0.009, 0.018, 0.05, 0.077}), 0.0);
  EXPECT_DOUBLE_EQ(altered_frame_fraction(10, {0.009, 0.08, 0.12, 0.2}), 0.3);
  EXPECT_DOUBLE_EQ(altered_frame_fraction(0, {0.5}), 0.0);
  EXPECT_GE(altered_frame_fraction(10, {0.1, 0.1, 0.1}), kTamperFractionThreshold);
  EXPECT_LT(altered_frame_fraction(10, {0.1, 0.1}), kTamperFractionThreshold);
}

TEST(Fusion, NothingToJudgeIsNotApplicable) {
  FusionInput in;
  in.not_applicable_reason = "No face and no speech found.";
  FusionResult f = fuse(in);
  EXPECT_EQ(f.verdict, report::Verdict::kNotApplicable);
  EXPECT_DOUBLE_EQ(f.score, 0.5);
  EXPECT_TRUE(f.deciding.empty());
  FusionInput empty;
  empty.tracks = {track(0, 10, {})};  // a face no detector judged
  EXPECT_EQ(fuse(empty).verdict, report::Verdict::kNotApplicable);
}

TEST(Fusion, WordsAndClock) {
  EXPECT_EQ(detector_phrase("blend"), "blending seams");
  EXPECT_EQ(detector_phrase("newthing"), "newthing");
  EXPECT_EQ(clock_text(0.0), "0:00");
  EXPECT_EQ(clock_text(7.4), "0:07");
  EXPECT_EQ(clock_text(125.0), "2:05");
  EXPECT_EQ(clock_text(3725.0), "1:02:05");
}

}  // namespace
}  // namespace unmask::scan
