#include <fstream>
#include <sstream>
#include <thread>

#include <dlib/image_processing/frontal_face_detector.h>

#include "face/landmark_file.h"
#include "face/stages.h"
#include "face_test_util.h"
#include "media/media.h"
#include "support/fixtures.h"

namespace unmask::face {
namespace {

TEST(FaceModels, BuiltInFrontalDetectorIsDlibsOwnBitForBit) {
  // FaceModels loads the frontal detector from bytes serialized at build time instead of decoding
  // dlib's compressed copy on every start: they must be exactly what dlib's decoder gives.
  std::ostringstream dlibs_own;
  dlib::serialize(dlib::get_frontal_face_detector(), dlibs_own);
  const std::string_view built_in = detail::frontal_detector_bytes();
  ASSERT_GT(built_in.size(), 1000u);
  EXPECT_TRUE(dlibs_own.str() == built_in);
}

TEST(FaceModels, FastLandmarkReaderBuildsDlibsModelExactly) {
  // FaceModels reads the 68-point model with its own reader: serialized again by dlib, the model
  // must be byte for byte what dlib's own reader gives (the file's trees, leaves, anchors, deltas).
  const std::string path = kDefaultLandmarkModelPath;
  dlib::shape_predictor fast;
  ASSERT_TRUE(detail::read_landmark_model_fast(path, fast));
  dlib::shape_predictor slow;
  {
    std::ifstream in(path, std::ios::binary);
    dlib::deserialize(slow, in);
  }
  std::ostringstream a, b;
  dlib::serialize(fast, a);
  dlib::serialize(slow, b);
  EXPECT_EQ(fast.num_parts(), 68u);
  EXPECT_TRUE(a.str() == b.str());
  // And what it is not built for, it declines (the caller then uses dlib's reader).
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("junk.dat"), "junk").is_ok());
  dlib::shape_predictor untouched;
  EXPECT_FALSE(detail::read_landmark_model_fast(dir.file("junk.dat"), untouched));
  EXPECT_FALSE(detail::read_landmark_model_fast(dir.file("missing.dat"), untouched));
  EXPECT_EQ(untouched.num_parts(), 0u);
}

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
