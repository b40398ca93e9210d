// The fusion rule of scan.h, case by case.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "support/fixtures.h"

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

// ---------------------------------------------------------------------------------------------
// Learned fusion
// ---------------------------------------------------------------------------------------------

// Videos where "good" separates the classes (fakes ~0.8, reals ~0.2, with overlap) while "loud"
// raises confident false alarms on a third of the reals and says nothing useful about fakes.
void learned_fixture(std::vector<std::vector<DetectorScore>>& ev, std::vector<int>& labels) {
  uint64_t state = 42;
  auto uniform = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (int i = 0; i < 120; ++i) {
    const int y = i % 4 == 0;  // a quarter are fakes
    const double good = std::clamp(y ? 0.55 + 0.4 * uniform() : 0.05 + 0.5 * uniform(), 0.01, 0.99);
    const double loud = (!y && i % 3 == 0) ? 0.999 : 0.02 + 0.3 * uniform();
    std::vector<DetectorScore> e = {{"good", good}, {"loud", loud}};
    if (i % 5 != 0) e.push_back({"voice", y ? 0.5 + 0.3 * uniform() : 0.2 + 0.3 * uniform()});
    ev.push_back(e);
    labels.push_back(y);
  }
}

std::vector<FusionWeight> learned_features() { return {{"good", "aaa", 0, 0}, {"loud", "bbb", 0, 0}, {"voice", "ccc", 0, 0}}; }

TEST(LearnedFusion, FitWeighsTheInformativeDetectorAndDiscountsFalseAlarms) {
  std::vector<std::vector<DetectorScore>> ev;
  std::vector<int> labels;
  learned_fixture(ev, labels);
  const FusionModel m = fit_fusion_model(learned_features(), ev, labels, 1.0, 4.0);
  ASSERT_EQ(m.weights.size(), 3u);
  EXPECT_GT(m.weights[0].w_logit, 0.5) << "the separating detector gets a clear positive weight";
  EXPECT_LT(m.weights[1].w_logit, 0.2) << "the detector whose alarms fire on reals is not trusted";
  EXPECT_GT(m.weights[2].w_logit, 0.0);
  // Better log loss than the max rule on the data it was fitted on, and ranks well.
  std::vector<double> fitted, maxed;
  for (const auto& e : ev) {
    fitted.push_back(fusion_model_score(m, e));
    double mx = 0;
    for (const auto& d : e) mx = std::max(mx, d.score);
    maxed.push_back(mx);
  }
  double ll_fit = 0, ll_max = 0;
  for (size_t i = 0; i < ev.size(); ++i) {
    auto ll = [&](double p) { p = std::clamp(p, 1e-6, 1 - 1e-6); return labels[i] ? -std::log(p) : -std::log(1 - p); };
    ll_fit += ll(fitted[i]);
    ll_max += ll(maxed[i]);
  }
  EXPECT_LT(ll_fit, 0.5 * ll_max);
  // A confident false alarm of "loud" alone no longer makes a video manipulated.
  EXPECT_LT(fusion_model_score(m, {{"good", 0.1}, {"loud", 0.999}}), kManipulatedThreshold);
  EXPECT_GT(fusion_model_score(m, {{"good", 0.95}, {"loud", 0.05}}), fusion_model_score(m, {{"good", 0.3}, {"loud", 0.05}}));
  // Deterministic.
  const FusionModel again = fit_fusion_model(learned_features(), ev, labels, 1.0, 4.0);
  EXPECT_DOUBLE_EQ(again.intercept, m.intercept);
  // A stronger penalty shrinks the weights.
  const FusionModel shrunk = fit_fusion_model(learned_features(), ev, labels, 100.0, 4.0);
  EXPECT_LT(std::abs(shrunk.weights[0].w_logit), std::abs(m.weights[0].w_logit));
}

TEST(LearnedFusion, RecalibratedMaxKeepsTheRankingAndNonNegativeWeights) {
  std::vector<std::vector<DetectorScore>> ev;
  std::vector<int> labels;
  learned_fixture(ev, labels);
  std::vector<FusionWeight> features = learned_features();
  features.push_back({kFusionMaxFeature, "", 0, 0});
  FusionFitOptions only_max;
  only_max.only = {kFusionMaxFeature};
  only_max.presence = false;
  const FusionModel m = fit_fusion_model(features, ev, labels, 1.0, 4.0, only_max);
  for (size_t i = 0; i + 1 < m.weights.size(); ++i) {
    EXPECT_EQ(m.weights[i].w_logit, 0.0);
    EXPECT_EQ(m.weights[i].w_present, 0.0);
  }
  EXPECT_GT(m.weights.back().w_logit, 0.0);
  // A monotone map of the max rule's score: same order as the max.
  auto mx = [](const std::vector<DetectorScore>& e) {
    double v = 0;
    for (const auto& d : e) v = std::max(v, d.score);
    return v;
  };
  for (size_t i = 1; i < ev.size(); ++i) {
    if (std::abs(mx(ev[i]) - mx(ev[i - 1])) < 1e-9) continue;
    EXPECT_EQ(mx(ev[i]) > mx(ev[i - 1]), fusion_model_score(m, ev[i]) > fusion_model_score(m, ev[i - 1])) << i;
  }
  // Non-negative: the false-alarm detector's negative weight is held at 0.
  FusionFitOptions nonneg;
  nonneg.non_negative = true;
  const FusionModel free_fit = fit_fusion_model(learned_features(), ev, labels, 1.0, 4.0);
  ASSERT_LT(free_fit.weights[1].w_logit, 0.0);
  const FusionModel n = fit_fusion_model(learned_features(), ev, labels, 1.0, 4.0, nonneg);
  EXPECT_EQ(n.weights[1].w_logit, 0.0);
  EXPECT_GT(n.weights[0].w_logit, 0.5);
}

TEST(LearnedFusion, JsonRoundTripAndMalformedFilesAreModelErrors) {
  std::vector<std::vector<DetectorScore>> ev;
  std::vector<int> labels;
  learned_fixture(ev, labels);
  const FusionModel m = fit_fusion_model(learned_features(), ev, labels, 1.0, 4.0);
  testing::TempDir dir;
  const std::string path = (dir.path() / "fusion.json").string();
  std::ofstream(path) << fusion_model_json(m);
  auto back = load_fusion_model(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->weights.size(), 3u);
  EXPECT_EQ(back->weights[1].model_sha256, "bbb");
  EXPECT_NEAR(fusion_model_score(*back, ev[3]), fusion_model_score(m, ev[3]), 1e-9);

  for (const std::string& bad : {std::string("{not json"), std::string("{\"format\": \"other\"}"),
                                std::string("{\"format\": \"unmask.fusion/1\", \"version\": \"1\", \"clip\": 4, \"intercept\": 0}")}) {
    std::ofstream(path) << bad;
    auto r = load_fusion_model(path);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kModel);
  }
  EXPECT_EQ(load_fusion_model((dir.path() / "absent.json").string()).status().code(), StatusCode::kModel);
}

TEST(LearnedFusion, MismatchedDetectorsAreNamed) {
  FusionModel m;
  m.weights = {{"blend", "sha-blend", 1, 0}, {"voice", "sha-voice", 1, 0}, {"lipsync", "", 1, 0}};
  auto info = [](std::string name, std::string sha) {
    detect::DetectorInfo d;
    d.name = std::move(name);
    d.model_sha256 = std::move(sha);
    return d;
  };
  EXPECT_EQ(fusion_model_mismatch(m, {info("blend", "sha-blend"), info("voice", "sha-voice")}), "");
  const std::string retrained = fusion_model_mismatch(m, {info("blend", "sha-blend"), info("voice", "sha-voice-2")});
  EXPECT_NE(retrained.find("voice"), std::string::npos) << retrained;
  EXPECT_NE(fusion_model_mismatch(m, {info("blend", "sha-blend")}).find("voice is not loaded"), std::string::npos);
  EXPECT_NE(fusion_model_mismatch(m, {info("blend", "sha-blend"), info("voice", "sha-voice"), info("new", "x")}).find("new"),
            std::string::npos);
}

TEST(LearnedFusion, FuseUsesTheModelOnCountedTracksAndKeepsTheWatermarkRules) {
  FusionModel m;
  m.clip = 4.0;
  m.intercept = -2.0;
  m.weights = {{"blend", "x", 0.1, 0.0}, {"temporal", "y", 1.0, 0.0}, {"voice", "z", 1.0, 0.5}};
  FusionInput in;
  in.tracks = {track(0, 20, {{"blend", 0.999}, {"temporal", 0.3}}), track(1, 1, {{"temporal", 0.999}})};
  in.model = &m;
  FusionResult f = fuse(in);
  EXPECT_EQ(f.rule, "learned");
  const auto ev = detector_evidence(in);
  ASSERT_EQ(ev.size(), 2u) << "the one-frame track does not count next to a long one";
  EXPECT_DOUBLE_EQ(ev[1].score, 0.3);
  const double z = -2.0 + 0.1 * 4.0 + 1.0 * std::log(0.3 / 0.7);
  EXPECT_NEAR(f.score, 1.0 / (1.0 + std::exp(-z)), 1e-9);
  EXPECT_EQ(f.verdict, report::Verdict::kAuthentic) << "a confident blend alarm with a small weight does not decide";
  EXPECT_EQ(fuse(FusionInput{in.tracks, {}, {}, {}, {}, nullptr}).verdict, report::Verdict::kManipulated) << "max rule";
  in.voice = 0.97;
  f = fuse(in);
  EXPECT_EQ(f.deciding, "voice");
  EXPECT_GT(f.score, 0.75);
  in.watermark.checked = in.watermark.found = in.watermark.synthetic = true;
  in.voice.reset();
  EXPECT_GE(fuse(in).score, 0.99);
  EXPECT_EQ(fuse(in).verdict, report::Verdict::kManipulated);
}

}  // namespace
}  // namespace unmask::scan
