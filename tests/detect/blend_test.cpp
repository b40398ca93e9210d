// The blend detector: loading and scoring a model built in the test, calibration, bad model files,
// the SBI training data, a short training run on generated photos, and `unmask train` errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "detect/blend.h"
#include "detect/detector.h"
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

Image noise_image(int size, uint32_t seed) {
  Image img(size, size, 3);
  uint32_t s = seed * 2654435761u + 1;
  for (size_t i = 0; i < img.size_bytes(); ++i) {
    s = s * 1664525u + 1013904223u;
    img.data()[i] = static_cast<uint8_t>(s >> 24);
  }
  return img;
}

// A tiny blend network with random weights, saved with blend metadata.
nn::Model tiny_model(const std::string& path, const std::string& calibration = "platt -2 0.5") {
  auto spec = nn::default_spec("blend_cnn_tiny");
  EXPECT_TRUE(spec.ok());
  spec->boundary_head = true;
  auto net = nn::Trainable::create(*spec, 3, {});
  EXPECT_TRUE(net.ok());
  auto model = net->freeze();
  EXPECT_TRUE(model.ok());
  nn::Metadata meta = {{kBlendMetaSize, "32"}, {kBlendMetaMargin, "0.3"}};
  if (!calibration.empty()) meta[kBlendMetaCalibration] = calibration;
  EXPECT_TRUE(model->save(path, meta).is_ok());
  return *model;
}

TEST(Blend, LoadsScoresAndAppliesCalibration) {
  nn::set_num_threads(1);
  testing::TempDir dir;
  const std::string path = dir.file("blend.unm");
  nn::Model model = tiny_model(path);
  auto det = load_blend_detector(path);
  ASSERT_TRUE(det.ok()) << det.status().message();
  EXPECT_EQ((*det)->info().name, "blend");
  EXPECT_EQ((*det)->info().model_path, path);
  EXPECT_EQ((*det)->info().model_sha256, *sha256_file(path));
  EXPECT_EQ((*det)->alignment().size_px, 32);
  EXPECT_DOUBLE_EQ((*det)->alignment().margin, 0.3);

  std::vector<Image> crops = {noise_image(32, 1), noise_image(32, 2), noise_image(32, 3)};
  auto scores = (*det)->score(crops);
  ASSERT_TRUE(scores.ok()) << scores.status().message();
  ASSERT_EQ(scores->size(), 3u);
  auto batch = nn::images_to_batch(crops, 32);
  ASSERT_TRUE(batch.ok());
  auto pred = model.predict(*batch);
  ASSERT_TRUE(pred.ok());
  for (size_t i = 0; i < 3; ++i) {
    const double expected = 1.0 / (1.0 + std::exp(-2.0 * pred->logits[i] + 0.5));  // platt a=-2 b=0.5
    EXPECT_NEAR((*scores)[i].score, expected, 1e-6);
    EXPECT_NE((*scores)[i].score, nn::sigmoid(pred->logits[i]));  // calibration changed it
    EXPECT_EQ((*scores)[i].heatmap.width_px(), 32);
    EXPECT_EQ((*scores)[i].heatmap.channels(), 1);
  }

  // Through the registry, by folder.
  auto set = load_detectors(dir.path().string(), {"blend"});
  ASSERT_TRUE(set.ok()) << set.status().message();
  ASSERT_EQ(set->crop.size(), 1u);
  auto again = set->crop[0]->score(crops);
  ASSERT_TRUE(again.ok());
  EXPECT_DOUBLE_EQ((*again)[1].score, (*scores)[1].score);
}

TEST(Blend, MissingOrCorruptModelIsAModelError) {
  testing::TempDir dir;
  auto missing = load_blend_detector(dir.file("blend.unm"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kModel);
  EXPECT_NE(missing.status().message().find("blend.unm"), std::string::npos);
  EXPECT_EQ(exit_code_for(missing.status()), 4);

  auto set = load_detectors(dir.path().string(), {"blend"});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kModel);

  const std::string path = dir.file("corrupt.unm");
  tiny_model(path);
  auto bytes = read_file(path);
  ASSERT_TRUE(bytes.ok());
  std::string flipped = *bytes;
  flipped[flipped.size() / 2] ^= 0x5a;
  ASSERT_TRUE(write_file_atomic(path, flipped).is_ok());
  auto corrupt = load_blend_detector(path);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), StatusCode::kModel);
  EXPECT_NE(corrupt.status().message().find("corrupt.unm"), std::string::npos);

  ASSERT_TRUE(write_file_atomic(path, bytes->substr(0, bytes->size() / 3)).is_ok());  // truncated
  EXPECT_EQ(load_blend_detector(path).status().code(), StatusCode::kModel);

  const std::string uncalibrated = dir.file("nocal.unm");
  tiny_model(uncalibrated, "");
  auto nocal = load_blend_detector(uncalibrated);
  ASSERT_FALSE(nocal.ok());
  EXPECT_EQ(nocal.status().code(), StatusCode::kModel);
  EXPECT_NE(nocal.status().message().find("blend.calibration"), std::string::npos);
}

TEST(Blend, SbiDatasetIsDeterministicAndGivesBothLabels) {
  auto crops = photo_crops(64);
  ASSERT_EQ(crops->size(), 2u);
  crops->push_back({(*crops)[0].crop, (*crops)[0].landmarks, 1, "labelled-fake", 0});
  SbiDataset data(crops, {0, 1, 2}, 64);
  ASSERT_EQ(data.size(), 5u);  // 2 per real crop, 1 per labelled fake
  EXPECT_EQ(data.n_real(), 2);
  EXPECT_EQ(data.n_fake(), 3);

  auto a = data.get(1, 42), b = data.get(1, 42), c = data.get(1, 43);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->input, b->input);
  EXPECT_EQ(a->boundary, b->boundary);
  EXPECT_NE(a->input, c->input);
  EXPECT_EQ(a->label, 1.0f);
  ASSERT_EQ(a->input.size(), 3u * 64 * 64);
  ASSERT_EQ(a->boundary.size(), 8u * 8);
  double boundary_sum = 0;
  for (float v : a->boundary) boundary_sum += v;
  EXPECT_GT(boundary_sum, 0.5);  // the blend boundary is somewhere

  auto real = data.get(0, 42);
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(real->label, 0.0f);
  ASSERT_EQ(real->boundary.size(), 8u * 8);
  for (float v : real->boundary) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(data.label(0), 0);
  EXPECT_EQ(data.label(3), 1);

  auto fake = data.get(4, 42);
  ASSERT_TRUE(fake.ok());
  EXPECT_EQ(fake->label, 1.0f);
  EXPECT_TRUE(fake->boundary.empty());

  // Same seed, other instance: same example.
  SbiDataset other(crops, {0, 1, 2}, 64);
  auto d = other.get(1, 42);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->input, a->input);
}

// The video-like augmentation is the same for both classes: it never puts a boundary target on a
// real example, never grows a fake's, keeps the crop's size, and its alignment-error step leaves
// out-of-frame black corners on some draws (as align_face does near a frame edge).
TEST(Blend, AugmentationNeverMakesABoundaryAndCoversMisalignment) {
  auto crops = photo_crops(64);
  ASSERT_FALSE(crops->empty());
  // The photo crop with a bright 6 px frame: only the out-of-frame fill can make a corner black.
  Image face = (*crops)[0].crop;
  for (int y = 0; y < face.height_px(); ++y)
    for (int x = 0; x < face.width_px(); ++x)
      if (x < 6 || y < 6 || x >= face.width_px() - 6 || y >= face.height_px() - 6) std::fill_n(face.at(x, y), 3, uint8_t{200});
  int black_corners = 0, changed = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    std::mt19937_64 rng(seed);
    Image crop = face;
    Image none(64, 64, 1);
    augment_crop(crop, none, rng);
    ASSERT_EQ(crop.width_px(), 64);
    ASSERT_EQ(crop.height_px(), 64);
    ASSERT_EQ(crop.channels(), 3);
    for (size_t i = 0; i < none.size_bytes(); ++i) ASSERT_EQ(none.data()[i], 0) << "seed " << seed;
    Image full(64, 64, 1);
    std::fill(full.data(), full.data() + full.size_bytes(), uint8_t{255});
    Image crop2 = face;
    std::mt19937_64 rng2(seed);
    augment_crop(crop2, full, rng2);
    ASSERT_EQ(full.width_px(), 64);
    EXPECT_EQ(crop2.data()[0], crop.data()[0]);  // same draws for both: the boundary does not change the image
    const uint8_t* corner = crop.at(0, 0);
    if (std::max({corner[0], corner[1], corner[2]}) < 24) ++black_corners;
    changed += std::equal(crop.data(), crop.data() + crop.size_bytes(), face.data()) ? 0 : 1;
  }
  EXPECT_GT(black_corners, 3);
  EXPECT_LT(black_corners, 60);
  EXPECT_GT(changed, 150);
}

TEST(Blend, TheSplitDoesNotDependOnWhereTheManifestLies) {
  // A test's temporary folder has a random name: hashing full paths made its split, and so its
  // training run, differ from run to run.
  EXPECT_EQ(split_key("/tmp/a1b2/photo0.jpg", "/tmp/a1b2/manifest.csv"), "photo0.jpg");
  EXPECT_EQ(split_key("/tmp/zz9/photo0.jpg", "/tmp/zz9/manifest.csv"), "photo0.jpg");
  EXPECT_EQ(split_key("/data/clips/x.mp4", "/tmp/m/manifest.csv"), "/data/clips/x.mp4");  // outside: as it is
  EXPECT_EQ(split_key("/tmp/m2/x.mp4", "/tmp/m/manifest.csv"), "/tmp/m2/x.mp4");  // a sibling is not under it
  EXPECT_EQ(split_key("x.mp4", "manifest.csv"), "x.mp4");
}

TEST(Blend, ValidationSplitIsByFile) {
  int n_val = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string src = "file" + std::to_string(i);
    const bool v = is_validation_source(src, 7, 0.2);
    EXPECT_EQ(v, is_validation_source(src, 7, 0.2));
    n_val += v ? 1 : 0;
  }
  EXPECT_GT(n_val, 140);
  EXPECT_LT(n_val, 260);
}

// Photos of the two Debian faces pasted at several places and sizes on textured backgrounds.
std::string write_photo_manifest(const testing::TempDir& dir, int n) {
  std::string csv = "path,label,kind\n";
  for (int i = 0; i < n; ++i) {
    Image bg = testing::make_textured_background(320, 240, i);
    Image face = testing::face_photo(i % 2 ? "girl" : "tom", 130 + 10 * (i % 4));
    testing::paste(bg, face, 20 + 25 * i, 10 + 5 * (i % 3));
    const std::string name = "photo" + std::to_string(i) + ".jpg";
    EXPECT_TRUE(media::write_image(dir.file(name), bg, 90).is_ok());
    csv += name + ",real,image\n";
  }
  std::ofstream(dir.file("manifest.csv")) << csv;
  return dir.file("manifest.csv");
}

TEST(Blend, ShortTrainingLowersTheLossAndWritesModelAndCard) {
  testing::TempDir dir;
  const std::string manifest = write_photo_manifest(dir, 6);
  ::setenv("UNMASK_BLEND_ARCH", "blend_cnn_tiny", 1);
  ::setenv("UNMASK_BLEND_BATCH", "8", 1);
  ::setenv("UNMASK_BLEND_LR", "3e-3", 1);
  TrainRequest req;
  req.manifest_path = manifest;
  req.out_path = dir.file("out/blend.unm");
  req.epochs = 12;
  req.seed = 5;
  req.threads = 1;
  req.cache_dir = dir.file("cache");
  req.command_line = "test";
  auto summary = train_blend(req);
  ::unsetenv("UNMASK_BLEND_ARCH");
  ::unsetenv("UNMASK_BLEND_BATCH");
  ::unsetenv("UNMASK_BLEND_LR");
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->card_path, dir.file("out/blend.card.json"));
  EXPECT_GT(summary->n_real, 0);
  EXPECT_TRUE(fs::exists(dir.file("cache/crops")));
  EXPECT_FALSE(fs::is_empty(dir.file("cache/crops")));

  auto card_text = read_file(summary->card_path);
  ASSERT_TRUE(card_text.ok());
  auto card = nlohmann::json::parse(*card_text);
  EXPECT_EQ(card["sha256"], *sha256_file(req.out_path));
  EXPECT_EQ(card["seed"], 5);
  EXPECT_EQ(card["command"], "test");
  EXPECT_TRUE(card["metrics"].contains("val_auc"));
  EXPECT_TRUE(card["metrics"].contains("train_seconds"));
  EXPECT_TRUE(card["data"].contains("crops_per_source"));
  EXPECT_EQ(card["data"]["calibration_set"], "validation crops and their self-blends");  // no video here
  ASSERT_EQ(card["history"].size(), 12u);
  const double first = card["history"][0]["train_loss"].get<double>() + card["history"][1]["train_loss"].get<double>();
  const double last = card["history"][10]["train_loss"].get<double>() + card["history"][11]["train_loss"].get<double>();
  EXPECT_LT(last, first);

  // The written model loads as a blend detector and scores its own kind of crop.
  auto det = load_blend_detector(req.out_path);
  ASSERT_TRUE(det.ok()) << det.status().message();
  EXPECT_EQ((*det)->alignment().size_px, 128);
  auto crops = photo_crops(128);
  std::vector<Image> images;
  for (const auto& c : *crops) images.push_back(c.crop);
  auto scores = (*det)->score(images);
  ASSERT_TRUE(scores.ok());
  for (const auto& s : *scores) {
    EXPECT_GE(s.score, 0.0);
    EXPECT_LE(s.score, 1.0);
  }
}

// The quality gate: a crop too dark or without fine detail is not judged (NaN), and the track
// aggregate leaves such crops out.
TEST(Blend, QualityGateLeavesOutDarkAndBlurredCrops) {
  nn::set_num_threads(1);
  auto photos = photo_crops(128);
  ASSERT_EQ(photos->size(), 2u);
  const Image sharp = (*photos)[0].crop;
  Image dark = sharp, blurred = sharp;
  for (size_t i = 0; i < dark.size_bytes(); ++i) dark.data()[i] = static_cast<uint8_t>(dark.data()[i] / 5);
  for (int pass = 0; pass < 3; ++pass) {  // 7x7 box blur, three times: like motion blur or an up-sampled face
    const Image src = blurred;
    const int w = src.width_px(), h = src.height_px();
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        for (int c = 0; c < 3; ++c) {
          int sum = 0, n = 0;
          for (int dy = -3; dy <= 3; ++dy) {
            for (int dx = -3; dx <= 3; ++dx) {
              const int yy = std::clamp(y + dy, 0, h - 1), xx = std::clamp(x + dx, 0, w - 1);
              sum += src.row(yy)[xx * 3 + c];
              ++n;
            }
          }
          blurred.row(y)[x * 3 + c] = static_cast<uint8_t>(sum / n);
        }
      }
    }
  }

  const BlendCropQuality q_sharp = measure_blend_crop(sharp), q_dark = measure_blend_crop(dark),
                         q_blur = measure_blend_crop(blurred);
  EXPECT_GT(q_sharp.mean_luma, 60.0);
  EXPECT_LT(q_dark.mean_luma, 50.0);
  EXPECT_NEAR(q_blur.mean_luma, q_sharp.mean_luma, 8.0);  // blur only spreads the light
  EXPECT_LT(q_blur.lap_var, 0.2 * q_sharp.lap_var);

  BlendGate gate;
  gate.min_lap_var = std::sqrt(q_sharp.lap_var * q_blur.lap_var);  // between the two
  EXPECT_TRUE(blend_crop_judgeable(q_sharp, gate));
  EXPECT_FALSE(blend_crop_judgeable(q_dark, gate));
  EXPECT_FALSE(blend_crop_judgeable(q_blur, gate));

  testing::TempDir dir;
  const std::string path = dir.file("blend.unm");
  tiny_model(path);
  auto det = load_blend_detector(path, gate);
  ASSERT_TRUE(det.ok()) << det.status().message();
  std::vector<Image> crops = {sharp, dark, blurred};
  auto scores = (*det)->score(crops);
  ASSERT_TRUE(scores.ok()) << scores.status().message();
  ASSERT_EQ(scores->size(), 3u);
  EXPECT_TRUE(std::isfinite((*scores)[0].score));
  EXPECT_TRUE(std::isnan((*scores)[1].score));
  EXPECT_TRUE(std::isnan((*scores)[2].score));
  EXPECT_EQ((*scores)[1].heatmap.width_px(), 128);  // the map is still drawn, at the crop's size

  // With the gate off every crop has a probability.
  gate.enabled = false;
  auto all = (*load_blend_detector(path, gate))->score(crops);
  ASSERT_TRUE(all.ok());
  for (const CropScore& s : *all) EXPECT_TRUE(s.score >= 0.0 && s.score <= 1.0);
  EXPECT_DOUBLE_EQ((*all)[0].score, (*scores)[0].score);

  // The default gate (what scan loads) does not judge the dark crop; UNMASK_BLEND_GATE=off does.
  auto by_default = (*load_blend_detector(path))->score(crops);
  ASSERT_TRUE(by_default.ok());
  EXPECT_TRUE(std::isnan((*by_default)[1].score));
  ::setenv("UNMASK_BLEND_GATE", "off", 1);
  auto gate_off = (*load_blend_detector(path))->score(crops);
  ::unsetenv("UNMASK_BLEND_GATE");
  ASSERT_TRUE(gate_off.ok());
  EXPECT_TRUE(std::isfinite((*gate_off)[1].score));
}

TEST(Blend, TrackAggregateSkipsCropsNotJudged) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> judged = {0.9, 0.2, 0.1, 0.3, 0.15};
  std::vector<double> with_gaps = {nan, 0.9, 0.2, nan, 0.1, 0.3, nan, 0.15, nan};
  EXPECT_DOUBLE_EQ(aggregate_track(with_gaps), aggregate_track(judged));
  EXPECT_TRUE(std::isfinite(aggregate_track(with_gaps)));
  const std::vector<double> none = {nan, nan};
  EXPECT_DOUBLE_EQ(aggregate_track(none), 0.5);
  EXPECT_DOUBLE_EQ(aggregate_track(std::vector<double>{}), 0.5);

  // Two isolated spikes in eight frames: the inter-quartile mean (default) and the windowed rule
  // stay with the typical frames, the top quarter follows the spikes.
  const std::vector<double> spikes = {0.2, 0.99, 0.2, 0.2, 0.2, 0.99, 0.2, 0.2};
  EXPECT_NEAR(aggregate_track(spikes), 0.2, 1e-9);
  EXPECT_NEAR(aggregate_track(spikes, TrackAggregate::kWindowedInterQuartileMean), 0.2, 1e-9);
  EXPECT_NEAR(aggregate_track(spikes, TrackAggregate::kTopQuarter), 0.99, 1e-9);
  // Middle half of {0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.05, 0.6}: 0.3, 0.5, 0.6, 0.7 in logits.
  const std::vector<double> spread = {0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.05, 0.6};
  auto lg = [](double p) { return std::log(p / (1 - p)); };
  const double m = (lg(0.3) + lg(0.5) + lg(0.6) + lg(0.7)) / 4;
  EXPECT_NEAR(aggregate_track(spread), 1 / (1 + std::exp(-m)), 1e-9);
  EXPECT_NEAR(aggregate_track(std::vector<double>{0.8}), 0.8, 1e-9);  // one frame is its own score
}

TEST(Blend, TrackAggregateFollowsAStretchOfFakeFrames) {
  // A face swapped for a seventh of a shot (4 consecutive frames of 28, runs of 7): the whole
  // track's middle half (default) does not see it, the windowed rule does; scattered, the same
  // four frames are trimmed as spikes by both.
  constexpr auto windowed = TrackAggregate::kWindowedInterQuartileMean;
  std::vector<double> stretch(28, 0.1);
  for (size_t i = 12; i < 16; ++i) stretch[i] = 0.95;
  auto lg = [](double p) { return std::log(p / (1 - p)); };
  const double m = (2 * lg(0.1) + 3 * lg(0.95)) / 5;  // run of 7: three 0.1, four 0.95; middle five
  EXPECT_NEAR(aggregate_track(stretch, windowed), 1 / (1 + std::exp(-m)), 1e-9);
  EXPECT_GT(aggregate_track(stretch, windowed), 0.7);
  EXPECT_NEAR(aggregate_track(stretch), 0.1, 1e-9);
  std::vector<double> scattered(28, 0.1);
  for (size_t i : {2, 9, 17, 25}) scattered[i] = 0.95;
  EXPECT_NEAR(aggregate_track(scattered, windowed), 0.1, 1e-9);
  EXPECT_NEAR(aggregate_track(scattered), 0.1, 1e-9);
  // A stretch as long as a run is the run's own score.
  for (size_t i = 16; i < 19; ++i) stretch[i] = 0.95;
  EXPECT_NEAR(aggregate_track(stretch, windowed), 0.95, 1e-9);
}

TEST(Blend, TrainCommandErrors) {
  testing::TempDir dir;
  auto missing = testing::run_command(testing::unmask_binary() + " train --manifest " + dir.file("none.csv") +
                                      " --out " + dir.file("m.unm"));
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  EXPECT_NE(missing.err.find("none.csv"), std::string::npos);

  std::ofstream(dir.file("m.csv")) << "path,label\nx.jpg,real\n";
  auto unknown = testing::run_command(testing::unmask_binary() + " train --manifest " + dir.file("m.csv") + " --out " +
                                      dir.file("m.unm") + " --detector nosuch");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("nosuch"), std::string::npos);

  std::ofstream(dir.file("bad.csv")) << "path,label\nx.jpg,maybe\n";
  auto bad = testing::run_command(testing::unmask_binary() + " train --manifest " + dir.file("bad.csv") + " --out " +
                                  dir.file("m.unm"));
  EXPECT_EQ(bad.exit_code, 3) << bad.err;
}

}  // namespace
}  // namespace unmask::detect
