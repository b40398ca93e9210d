#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "face/face.h"
#include "mark/mark.h"
#include "media/media.h"
#include "support/fixtures.h"
#include "synth/synth.h"

namespace unmask::synth {
namespace {

class SelfBlendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto m = face::FaceModels::load();
    ASSERT_TRUE(m.ok()) << m.status().message();
    models_ = *m;
    const auto photos = testing::debian_face_photos();
    ASSERT_FALSE(photos.empty()) << "libdlib19.1 example photos are needed (install-deps installs them)";
    auto image = media::read_image(photos.front());
    ASSERT_TRUE(image.ok());
    face::DetectOptions detect;
    detect.upsample = 1;
    face::FaceDetector detector(models_, detect);
    auto faces = detector.detect_faces(*image);
    ASSERT_TRUE(faces.ok() && !faces->empty());
    auto aligned = face::align_face(*image, faces->front().landmarks, {.size_px = 256, .margin = 0.25});
    ASSERT_TRUE(aligned.ok());
    aligned_ = new face::AlignedFace(std::move(aligned.value()));
  }
  static void TearDownTestSuite() {
    delete aligned_;
    aligned_ = nullptr;
    models_.reset();
  }
  static std::shared_ptr<const face::FaceModels> models_;
  static face::AlignedFace* aligned_;
};
std::shared_ptr<const face::FaceModels> SelfBlendTest::models_;
face::AlignedFace* SelfBlendTest::aligned_ = nullptr;

double mean_abs_diff(const Image& a, const Image& b, int x0, int y0, int w, int h) {
  double sum = 0;
  for (int y = y0; y < y0 + h; ++y) {
    for (int x = x0; x < x0 + w; ++x) {
      for (int c = 0; c < 3; ++c) sum += std::abs(int(a.at(x, y)[c]) - int(b.at(x, y)[c]));
    }
  }
  return sum / (w * h * 3);
}

TEST_F(SelfBlendTest, DeterministicForASeed) {
  std::mt19937_64 a(7), b(7), c(8);
  auto s1 = self_blend(aligned_->crop, aligned_->landmarks, a);
  auto s2 = self_blend(aligned_->crop, aligned_->landmarks, b);
  auto s3 = self_blend(aligned_->crop, aligned_->landmarks, c);
  ASSERT_TRUE(s1.ok() && s2.ok() && s3.ok());
  ASSERT_EQ(s1->fake.size_bytes(), s2->fake.size_bytes());
  EXPECT_EQ(0, std::memcmp(s1->fake.data(), s2->fake.data(), s1->fake.size_bytes()));
  EXPECT_EQ(0, std::memcmp(s1->mask.data(), s2->mask.data(), s1->mask.size_bytes()));
  EXPECT_NE(0, std::memcmp(s1->fake.data(), s3->fake.data(), s1->fake.size_bytes()));
}

TEST_F(SelfBlendTest, MaskCoversTheFaceAndTheFakeDiffersOnlyThere) {
  for (uint64_t seed = 0; seed < 6; ++seed) {
    std::mt19937_64 rng(seed);
    auto s = self_blend(aligned_->crop, aligned_->landmarks, rng);
    ASSERT_TRUE(s.ok());
    ASSERT_EQ(s->mask.channels(), 1);
    const auto nose = aligned_->landmarks[30];
    EXPECT_GT(s->mask.at(static_cast<int>(nose.x), static_cast<int>(nose.y))[0], 40) << "seed " << seed;
    EXPECT_EQ(s->mask.at(2, 2)[0], 0);
    EXPECT_EQ(s->mask.at(253, 253)[0], 0);
    // Outside the mask (corners) the pair agrees; inside (around the nose) it does not.
    EXPECT_LT(mean_abs_diff(s->fake, s->real, 0, 0, 24, 24), 2.0) << "seed " << seed;
    EXPECT_GT(mean_abs_diff(s->fake, s->real, static_cast<int>(nose.x) - 16, static_cast<int>(nose.y) - 16, 32, 32), 1.0)
        << "seed " << seed;
    // The boundary map peaks where the mask is half-way, not in the face centre.
    EXPECT_LT(s->boundary.at(static_cast<int>(nose.x), static_cast<int>(nose.y))[0],
              255 * 0.95 + (s->params.blend_ratio < 1 ? 255 : 0));
  }
}

TEST_F(SelfBlendTest, RejectsEmptyInput) {
  std::mt19937_64 rng(1);
  EXPECT_EQ(self_blend(Image(), aligned_->landmarks, rng).status().code(), StatusCode::kInput);
}

TEST_F(SelfBlendTest, FilesAreWrittenWithCsvAndCarryTheSyntheticMark) {
  testing::TempDir dir;
  const auto photos = testing::debian_face_photos();
  const std::string in = dir.file("in");
  std::filesystem::create_directories(in);
  for (size_t i = 0; i < std::min<size_t>(2, photos.size()); ++i) {
    std::filesystem::copy_file(photos[i], in + "/" + std::filesystem::path(photos[i]).filename().string());
  }
  std::ofstream(in + "/broken.jpg") << "not a jpeg";
  SelfBlendFilesOptions options;
  options.n_samples = 3;
  options.seed = 5;
  auto summary = selfblend_files(in, dir.file("out"), options, models_);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->n_samples, 3);
  EXPECT_GE(summary->n_faces, 1);
  for (const char* f : {"real_00000.png", "fake_00002.png", "mask_00001.png"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.file("out/") + f)) << f;
  }
  std::ifstream csv(summary->csv_path);
  int lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, 4);
  auto v = mark::verify_file(dir.file("out/fake_00000.png"));
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->found);
  EXPECT_TRUE(v->payload.synthetic);
}

TEST_F(SelfBlendTest, FolderWithoutFacesIsAnInputError) {
  testing::TempDir dir;
  const std::string in = dir.file("in");
  std::filesystem::create_directories(in);
  ASSERT_TRUE(media::write_image(in + "/plain.png", testing::make_pattern_frame(200, 150, 0)).is_ok());
  auto summary = selfblend_files(in, dir.file("out"), {}, models_);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), StatusCode::kInput);
}

}  // namespace
}  // namespace unmask::synth
