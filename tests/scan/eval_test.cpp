// evaluate_manifest on a tiny generated manifest: real clips, synthetic-marked fakes, a broken item.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "face/face.h"
#include "mark/mark.h"
#include "nn/nn.h"
#include "scan/scan.h"
#include "scan/test_detectors.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"

namespace unmask::scan {
namespace {

using testing::TempDir;

TEST(Eval, MetricsOverAManifestWithABrokenItem) {
  nn::set_num_threads(1);
  TempDir dir;
  TempDir models;
  auto faces = face::FaceModels::load();
  ASSERT_TRUE(faces.ok());
  std::ofstream csv(dir.file("manifest.csv"));
  csv << "path,label,source\n";
  for (int i = 0; i < 2; ++i) {
    testing::FaceClipSpec spec;
    spec.n_frames = 25;
    spec.background = [i](int) { return testing::make_textured_background(640, 360, i); };
    testing::Sprite face;
    face.image = testing::face_photo(i == 0 ? "tom" : "girl", 150);
    face.top_left = testing::linear_path(100 + 40 * i, 60, 300, 80, spec.n_frames);
    spec.sprites.push_back(face);
    const std::string real = "real" + std::to_string(i) + ".mp4";
    const std::string fake = "fake" + std::to_string(i) + ".mp4";
    testing::write_face_clip(dir.file(real), spec);
    // The fakes carry the synthetic watermark: the fused score must rank them first.
    auto marked = mark::embed_file(dir.file(real), dir.file(fake), mark::synthetic_options("test"));
    ASSERT_TRUE(marked.ok()) << marked.status().message();
    csv << real << ",real,generated\n" << fake << ",fake,generated\n";
  }
  std::ofstream(dir.file("broken.mp4")) << "this is not a video";
  csv << "broken.mp4,fake,generated\n";
  csv.close();

  EvalOptions o;
  o.scan.detector_set = testing::make_tiny_detector_set(models.path().string());
  o.scan.face_models = *faces;
  o.scan.frames_per_track = 4;
  int n_progress = 0;
  o.progress = [&](double, std::string_view) { ++n_progress; };
  auto r = evaluate_manifest(dir.file("manifest.csv"), o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->items.size(), 5u);
  EXPECT_EQ(r->n_failed, 1);
  EXPECT_TRUE(r->items[4].failed);
  EXPECT_FALSE(r->items[4].error.empty());
  EXPECT_EQ(r->fused.n_real, 2);
  EXPECT_EQ(r->fused.n_fake, 2);
  EXPECT_DOUBLE_EQ(r->fused.auc, 1.0);
  EXPECT_TRUE(std::isnan(r->fused.auc_low));  // two of each: too few to resample
  EXPECT_TRUE(std::isnan(r->fused.auc_high));
  EXPECT_DOUBLE_EQ(r->fused.ap, 1.0);
  EXPECT_DOUBLE_EQ(r->fused.eer, 0.0);
  EXPECT_GT(r->fused.log_loss, 0.0);
  for (const auto& item : r->items) {
    if (item.failed) continue;
    EXPECT_EQ(item.label == 1, item.score >= 0.99) << item.path;
    EXPECT_FALSE(item.detectors.empty()) << item.path;
  }
  ASSERT_FALSE(r->per_detector.empty());
  EXPECT_EQ(r->per_detector[0].first, "blend");
  EXPECT_EQ(r->per_detector[0].second.n_real + r->per_detector[0].second.n_fake, 4);
  EXPECT_GE(n_progress, 5);
}

TEST(Eval, BadManifestIsAnInputError) {
  TempDir dir;
  EvalOptions o;
  EXPECT_EQ(evaluate_manifest(dir.file("missing.csv"), o).status().code(), StatusCode::kInput);
  std::ofstream(dir.file("bad.csv")) << "path,label\nx.mp4,maybe\n";
  EXPECT_EQ(evaluate_manifest(dir.file("bad.csv"), o).status().code(), StatusCode::kInput);
}

}  // namespace
}  // namespace unmask::scan
