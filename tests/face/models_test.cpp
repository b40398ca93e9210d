#include <thread>

#include "face_test_util.h"
#include "media/media.h"
#include "support/fixtures.h"

namespace unmask::face {
namespace {

TEST(FaceModels, MissingLandmarkModelIsAModelError) {
  ModelOptions o;
  o.landmark_model_path = "/nonexistent/shape_predictor.dat";
  auto m = FaceModels::load(o);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kModel);
  EXPECT_NE(m.status().message().find("/nonexistent/shape_predictor.dat"), std::string::npos);
  EXPECT_EQ(exit_code_for(m.status()), 4);
}

TEST(FaceModels, CorruptLandmarkModelIsAModelError) {
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("bad.dat"), "not a model at all").is_ok());
  ModelOptions o;
  o.landmark_model_path = dir.file("bad.dat");
  auto m = FaceModels::load(o);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kModel);
}

TEST(FaceModels, MissingProfileCascadeIsAModelError) {
  ModelOptions o;
  o.profile_cascade_path = "/nonexistent/profile.xml";
  auto m = FaceModels::load(o);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kModel);
}

TEST(FaceModels, SharedModelsWorkFromSeveralThreads) {
  // One immutable FaceModels, one FaceDetector per thread: the same answer on every thread.
  auto image = media::read_image("/usr/share/doc/libdlib19.1/examples/faces/Tom_Cruise_avp_2014_4.jpg");
  ASSERT_TRUE(image.ok()) << image.status().message();
  std::vector<std::vector<Face>> results(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      FaceDetector detector(test::models());
      auto faces = detector.detect_faces(*image);
      if (faces.ok()) results[t] = *faces;
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(results[0].size(), 1u);
  ASSERT_EQ(results[1].size(), 1u);
  for (int i = 0; i < kNumLandmarks; ++i) {
    EXPECT_EQ(results[0][0].landmarks[i].x, results[1][0].landmarks[i].x);
    EXPECT_EQ(results[0][0].landmarks[i].y, results[1][0].landmarks[i].y);
  }
}

}  // namespace
}  // namespace unmask::face
