// The mouth detector: the lower-face crop rule, lower-face pseudo-fakes, loading and scoring a
// model built in the test, bad model files, default loading only when the weights are there, and
// training steps on a toy batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "detect/blend.h"
#include "detect/detector.h"
#include "detect/mouth.h"
#include "detect/training.h"
#include "face/face.h"
#include "media/media.h"
#include "nn/nn.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"
#include "photo_crops.h"

namespace unmask::detect {
namespace {

namespace fs = std::filesystem;

nn::ModelSpec mouth_spec() {
  auto spec = nn::default_spec("blend_cnn_tiny");
  EXPECT_TRUE(spec.ok());
  spec->input_size_px = kMouthInputPx;
  spec->boundary_head = true;
  return *spec;
}

// A tiny mouth network with random weights, saved with mouth metadata.
nn::Model tiny_mouth_model(const std::string& path, const std::string& calibration = "platt -2 0.5") {
  auto net = nn::Trainable::create(mouth_spec(), 3, {});
  EXPECT_TRUE(net.ok());
  auto model = net->freeze();
  EXPECT_TRUE(model.ok());
  nn::Metadata meta = {{"mouth.align_size_px", "128"}, {"mouth.align_margin", "0.25"}};
  if (!calibration.empty()) meta["mouth.calibration"] = calibration;
  EXPECT_TRUE(model->save(path, meta).is_ok());
  return *model;
}

TEST(Mouth, CropIsTheLowerFaceOnly) {
  auto crops = photo_crops(128);
  ASSERT_EQ(crops->size(), 2u);
  for (const BlendCrop& c : *crops) {
    Image m = mouth_crop(c.crop);
    ASSERT_EQ(m.width_px(), kMouthInputPx);
    ASSERT_EQ(m.height_px(), kMouthInputPx);
    ASSERT_EQ(m.channels(), 3);
    // The mouth, chin and nose base are inside; the eyes are not.
    const face::Landmarks lm = mouth_landmarks(c.landmarks, c.crop.width_px());
    for (int i : {8, 31, 35, 48, 54, 57, 62}) {
      EXPECT_GT(lm[i].x, 0) << i;
      EXPECT_LT(lm[i].x, kMouthInputPx) << i;
      EXPECT_GT(lm[i].y, 0) << i;
      EXPECT_LT(lm[i].y, kMouthInputPx) << i;
    }
    for (int i : {36, 39, 42, 45}) EXPECT_LT(lm[i].y, 0) << i;
    // Painting over the upper face (eyes, forehead) leaves the mouth crop as it was.
    Image painted = c.crop;
    for (int y = 0; y < static_cast<int>(kMouthY0 * 128) - 1; ++y) std::fill(painted.row(y), painted.row(y) + painted.row_bytes(), 200);
    Image m2 = mouth_crop(painted);
    EXPECT_TRUE(std::equal(m.data(), m.data() + m.size_bytes(), m2.data()));
  }
  EXPECT_TRUE(mouth_crop(Image()).empty());
}

TEST(Mouth, PseudoFakeDiffersOnlyInsideTheLowerFaceMask) {
  auto crops = photo_crops(128);
  ASSERT_EQ(crops->size(), 2u);
  MouthFakeOptions no_jpeg;
  no_jpeg.jpeg_probability = 0;
  int n_changed = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    const BlendCrop& c = (*crops)[seed % 2];
    const Image m = mouth_crop(c.crop);
    const face::Landmarks lm = mouth_landmarks(c.landmarks, c.crop.width_px());
    std::mt19937_64 rng(seed);
    auto s = make_mouth_fake(m, lm, rng, no_jpeg);
    ASSERT_TRUE(s.ok()) << s.status().message();
    ASSERT_EQ(s->fake.width_px(), kMouthInputPx);
    ASSERT_EQ(s->mask.channels(), 1);
    EXPECT_TRUE(std::equal(m.data(), m.data() + m.size_bytes(), s->real.data()));  // the real side is the crop
    int64_t inside = 0, changed_inside = 0, mask_y = 0, mask_n = 0;
    for (int y = 0; y < m.height_px(); ++y) {
      for (int x = 0; x < m.width_px(); ++x) {
        const int w = s->mask.row(y)[x];
        int diff = 0;
        for (int ch = 0; ch < 3; ++ch) diff = std::max(diff, std::abs(s->fake.row(y)[3 * x + ch] - s->real.row(y)[3 * x + ch]));
        if (w == 0) {
          ASSERT_LE(diff, 1) << "seed " << seed << " at " << x << "," << y;  // outside the mask: the same pixel
        } else {
          ++inside;
          changed_inside += diff > 2 ? 1 : 0;
        }
        if (w > 127) {
          mask_y += y;
          ++mask_n;
        }
      }
    }
    ASSERT_GT(mask_n, 0);
    // The mask is a lower-face region: its centre lies below the nose base.
    EXPECT_GT(static_cast<double>(mask_y) / mask_n, lm[33].y) << "seed " << seed;
    EXPECT_LT(inside, static_cast<int64_t>(m.width_px()) * m.height_px());
    if (changed_inside > inside / 10) ++n_changed;
  }
  EXPECT_GE(n_changed, 9);  // blend ratio and alteration strength vary; most pairs differ clearly

  std::mt19937_64 rng(1);
  EXPECT_FALSE(make_mouth_fake(Image(), (*crops)[0].landmarks, rng).ok());
}

TEST(Mouth, DatasetGivesLowerFaceExamplesOfBothLabels) {
  auto crops = photo_crops(128);
  ASSERT_EQ(crops->size(), 2u);
  SbiDataset data(crops, {0, 1}, kMouthInputPx, /*augment=*/true, mouth_recipe());
  ASSERT_EQ(data.size(), 4u);
  for (size_t i = 0; i < data.size(); ++i) {
    Image a, b, ba, bb;
    int la = -1, lb = -1;
    ASSERT_TRUE(data.get_images(i, 9, a, ba, la).is_ok());
    ASSERT_TRUE(data.get_images(i, 9, b, bb, lb).is_ok());
    EXPECT_EQ(la, data.label(i));
    EXPECT_EQ(la, static_cast<int>(i % 2));
    EXPECT_EQ(a.width_px(), kMouthInputPx);
    EXPECT_TRUE(std::equal(a.data(), a.data() + a.size_bytes(), b.data()));  // deterministic
    auto ex = data.get(i, 9);
    ASSERT_TRUE(ex.ok());
    EXPECT_EQ(ex->input.size(), static_cast<size_t>(3 * kMouthInputPx * kMouthInputPx));
    EXPECT_EQ(ex->boundary.size(), static_cast<size_t>((kMouthInputPx / 8) * (kMouthInputPx / 8)));
  }
}

TEST(Mouth, TrainingStepsLowerTheLossOnAToyBatch) {
  nn::set_num_threads(1);
  auto crops = photo_crops(128);
  ASSERT_EQ(crops->size(), 2u);
  SbiDataset data(crops, {0, 1}, kMouthInputPx, /*augment=*/false, mouth_recipe());
  nn::TrainBatch batch;
  const int64_t side = kMouthInputPx / 8;
  int n = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    for (size_t i = 0; i < data.size(); ++i, ++n) {
      auto ex = data.get(i, seed);
      ASSERT_TRUE(ex.ok());
      batch.inputs.values.insert(batch.inputs.values.end(), ex->input.begin(), ex->input.end());
      batch.labels.push_back(ex->label);
      batch.boundary.values.insert(batch.boundary.values.end(), ex->boundary.begin(), ex->boundary.end());
      batch.has_boundary.push_back(1);
    }
  }
  batch.inputs.shape = {n, 3, kMouthInputPx, kMouthInputPx};
  batch.boundary.shape = {n, 1, side, side};
  nn::OptimizerConfig opt;
  opt.learning_rate = 3e-3;
  auto net = nn::Trainable::create(mouth_spec(), 11, opt);
  ASSERT_TRUE(net.ok()) << net.status().message();
  // The loss of each step is measured before its update, in training mode (batch statistics).
  std::vector<double> losses;
  for (int step = 0; step < 40; ++step) {
    auto st = net->step(batch);
    ASSERT_TRUE(st.ok()) << st.status().message();
    losses.push_back(st->loss);
  }
  const double first = (losses[0] + losses[1]) / 2, last = (losses[38] + losses[39]) / 2;
  EXPECT_LT(last, 0.7 * first) << "first " << first << " last " << last;
}

TEST(Mouth, ScoresTheLowerFaceOfTheAlignedCrop) {
  nn::set_num_threads(1);
  testing::TempDir dir;
  const std::string path = dir.file("mouth.unm");
  nn::Model model = tiny_mouth_model(path);
  BlendGate off;
  off.enabled = false;
  auto det = load_mouth_detector(path, off);
  ASSERT_TRUE(det.ok()) << det.status().message();
  EXPECT_EQ((*det)->info().name, "mouth");
  EXPECT_EQ((*det)->info().version, kMouthVersion);
  EXPECT_EQ((*det)->alignment().size_px, 128);
  auto crops = photo_crops(128);
  ASSERT_EQ(crops->size(), 2u);
  std::vector<Image> images = {(*crops)[0].crop, (*crops)[1].crop};
  auto scores = (*det)->score(images);
  ASSERT_TRUE(scores.ok()) << scores.status().message();
  ASSERT_EQ(scores->size(), 2u);
  std::vector<Image> views = {mouth_crop(images[0]), mouth_crop(images[1])};
  auto batch = nn::images_to_batch(views, kMouthInputPx);
  ASSERT_TRUE(batch.ok());
  auto pred = model.predict(*batch);
  ASSERT_TRUE(pred.ok());
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR((*scores)[i].score, 1.0 / (1.0 + std::exp(-2.0 * pred->logits[i] + 0.5)), 1e-6);
    const Image& heat = (*scores)[i].heatmap;
    ASSERT_EQ(heat.width_px(), 128);
    ASSERT_EQ(heat.channels(), 1);
    for (int y = 0; y < static_cast<int>(kMouthY0 * 128) - 1; ++y) {
      for (int x = 0; x < 128; ++x) ASSERT_EQ(heat.row(y)[x], 0);  // no evidence claimed above the lower face
    }
  }
}

TEST(Mouth, MissingOrCorruptModelIsAModelErrorAndDefaultLoadingSkipsAMissingFile) {
  testing::TempDir dir;
  auto missing = load_mouth_detector(dir.file("mouth.unm"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kModel);
  EXPECT_NE(missing.status().message().find("mouth.unm"), std::string::npos);
  EXPECT_EQ(exit_code_for(missing.status()), 4);
  auto named = load_detectors(dir.path().string(), {"mouth"});
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(exit_code_for(named.status()), 4);

  const std::string path = dir.file("mouth.unm");
  tiny_mouth_model(path);
  auto bytes = read_file(path);
  ASSERT_TRUE(bytes.ok());
  std::string flipped = *bytes;
  flipped[flipped.size() / 2] ^= 0x5a;
  ASSERT_TRUE(write_file_atomic(dir.file("corrupt.unm"), flipped).is_ok());
  auto corrupt = load_mouth_detector(dir.file("corrupt.unm"));
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(exit_code_for(corrupt.status()), 4);
  ASSERT_TRUE(write_file_atomic(dir.file("cut.unm"), bytes->substr(0, bytes->size() / 3)).is_ok());
  EXPECT_EQ(exit_code_for(load_mouth_detector(dir.file("cut.unm")).status()), 4);

  // A blend model is not a mouth model (and the other way round).
  const std::string blend_path = dir.file("blend.unm");
  {
    auto spec = nn::default_spec("blend_cnn_tiny");
    ASSERT_TRUE(spec.ok());
    auto net = nn::Trainable::create(*spec, 3, {});
    ASSERT_TRUE(net.ok());
    auto m = net->freeze();
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(m->save(blend_path, {{kBlendMetaSize, "32"}, {kBlendMetaMargin, "0.3"}, {kBlendMetaCalibration, "platt 1 0"}}).is_ok());
  }
  auto wrong = load_mouth_detector(blend_path);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("mouth.align_size_px"), std::string::npos);
  EXPECT_FALSE(load_blend_detector(path).ok());
  // A mouth model cut on another lower-face box is refused.
  {
    auto net = nn::Trainable::create(mouth_spec(), 3, {});
    ASSERT_TRUE(net.ok());
    auto m = net->freeze();
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(m->save(dir.file("other.unm"), {{"mouth.align_size_px", "128"}, {"mouth.align_margin", "0.25"},
                                                  {"mouth.calibration", "platt 1 0"}, {"mouth.region", "0.1 0.4 0.9 1.0"}})
                    .is_ok());
    auto other = load_mouth_detector(dir.file("other.unm"));
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(exit_code_for(other.status()), 4);
    EXPECT_NE(other.status().message().find("retrain"), std::string::npos);
  }

  // Default loading (no names) with a models folder holding mouth.unm loads it; without, skips it
  // and fails only on the detectors that are always expected.
  testing::TempDir only_mouth;
  ASSERT_TRUE(write_file_atomic(only_mouth.file("mouth.unm"), *bytes).is_ok());
  auto just = load_detectors(only_mouth.path().string(), {"mouth"});
  ASSERT_TRUE(just.ok()) << just.status().message();
  ASSERT_EQ(just->crop.size(), 1u);
  EXPECT_EQ(just->crop[0]->info().name, "mouth");
  auto all_missing = load_detectors(dir.path().string() + "/none");
  ASSERT_FALSE(all_missing.ok());
  EXPECT_EQ(all_missing.status().message().find("mouth.unm"), std::string::npos);  // blend's file is named, not mouth's
}

// The two Debian face photos at a few sizes, written as JPEG files, and their manifest.
std::string write_face_manifest(const testing::TempDir& dir) {
  std::ofstream csv(dir.file("manifest.csv"));
  csv << "path,label,kind\n";
  int k = 0;
  for (int width : {300, 360}) {
    for (const char* name : {"tom", "girl"}) {
      const std::string file = dir.file("face" + std::to_string(k++) + ".jpg");
      EXPECT_TRUE(media::write_image(file, testing::face_photo(name, width), 92).is_ok());
      csv << file << ",real,image\n";
    }
  }
  return dir.file("manifest.csv");
}

TEST(Mouth, TrainWritesAMouthModelAndCard) {
  testing::TempDir dir;
  const std::string manifest = write_face_manifest(dir);
  TrainRequest req;
  req.manifest_path = manifest;
  req.out_path = dir.file("out/mouth.unm");
  req.epochs = 2;
  req.seed = 5;
  req.threads = 1;
  req.cache_dir = dir.file("cache");
  req.command_line = "test";
  auto summary = train_mouth(req);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->card_path, dir.file("out/mouth.card.json"));
  auto card = nlohmann::json::parse(*read_file(summary->card_path));
  EXPECT_EQ(card["detector"], "mouth");
  EXPECT_EQ(card["sha256"], *sha256_file(req.out_path));
  EXPECT_EQ(card["architecture"]["input_size_px"], kMouthInputPx);
  EXPECT_EQ(card["history"].size(), 2u);
  auto det = load_mouth_detector(req.out_path);
  ASSERT_TRUE(det.ok()) << det.status().message();
  EXPECT_EQ((*det)->alignment().size_px, 128);
  auto bad = req;
  bad.manifest_path = dir.file("nope.csv");
  EXPECT_EQ(exit_code_for(train_mouth(bad).status()), 3);
}

}  // namespace
}  // namespace unmask::detect
