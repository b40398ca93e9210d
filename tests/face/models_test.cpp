#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <dlib/image_processing/frontal_face_detector.h>
#include <opencv2/imgproc.hpp>

#include "face/landmark_file.h"
#include "face/models_impl.h"
#include "face/shape_fit.h"
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

TEST(FaceModels, FlatLandmarkModelFitsExactlyWhatDlibFits) {
  // The tracker fits landmarks with detail::FlatShapePredictor (dlib's trees in a flat layout):
  // on real photos, in colour and gray, with boxes on the face, shifted, scaled, cut by the frame
  // edge and outside it, every point must be the one dlib's own predictor gives.
  const std::string path = kDefaultLandmarkModelPath;
  detail::FlatShapePredictor flat;
  ASSERT_TRUE(detail::read_landmark_model_flat(path, flat));
  EXPECT_EQ(flat.num_parts(), 68u);
  dlib::shape_predictor dlibs;
  {
    std::ifstream in(path, std::ios::binary);
    dlib::deserialize(dlibs, in);
  }
  const std::string dir = "/usr/share/doc/libdlib19.1/examples/faces/";
  int n_fits = 0;
  for (const char* name : {"Tom_Cruise_avp_2014_4.jpg", "2008_001009.jpg", "2009_004587.jpg"}) {
    auto image = media::read_image(dir + name);
    ASSERT_TRUE(image.ok()) << image.status().message();
    FaceDetector detector(test::models());
    auto faces = detector.detect(*image);
    ASSERT_TRUE(faces.ok());
    ASSERT_FALSE(faces->empty()) << name;
    cv::Mat bgr = as_mat(*image), gray;
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
    const double w = image->width_px(), h = image->height_px();
    std::vector<Box> boxes;
    for (const Face& f : *faces) {
      const Box& b = f.box;
      for (double dx : {-0.3, -0.1, 0.0, 0.07, 0.2}) {
        for (double s : {0.8, 1.0, 1.15}) {
          boxes.push_back({b.x + dx * b.w, b.y - dx * b.h, b.w * s, b.h * s});
        }
      }
    }
    boxes.push_back({-40, -30, 120, 120});          // cut by the top-left corner
    boxes.push_back({w - 60, h - 50, 140, 140});    // cut by the bottom-right corner
    boxes.push_back({w + 10, 10, 80, 80});          // outside the frame
    for (const Box& box : boxes) {
      std::vector<dlib::point> parts;
      const dlib::rectangle r = to_dlib(box);
      const dlib::cv_image<dlib::bgr_pixel> cimg(bgr);
      flat.fit(cimg, r, parts);
      const dlib::full_object_detection want = dlibs(cimg, r);
      ASSERT_EQ(parts.size(), want.num_parts());
      for (unsigned long i = 0; i < want.num_parts(); ++i) ASSERT_EQ(parts[i], want.part(i)) << name << " point " << i;
      const dlib::cv_image<unsigned char> gimg(gray);
      flat.fit(gimg, r, parts);
      const dlib::full_object_detection want_gray = dlibs(gimg, r);
      for (unsigned long i = 0; i < want_gray.num_parts(); ++i) ASSERT_EQ(parts[i], want_gray.part(i)) << name << " gray point " << i;
      n_fits += 2;
    }
  }
  EXPECT_GE(n_fits, 90);
  // And what it is not built for, it declines (FaceModels then uses dlib's reader).
  testing::TempDir tmp;
  ASSERT_TRUE(write_file_atomic(tmp.file("junk.dat"), "junk").is_ok());
  detail::FlatShapePredictor untouched;
  EXPECT_FALSE(detail::read_landmark_model_flat(tmp.file("junk.dat"), untouched));
  EXPECT_FALSE(detail::read_landmark_model_flat(tmp.file("missing.dat"), untouched));
  EXPECT_TRUE(untouched.empty());
}

TEST(FaceModels, LandmarkCacheFitsExactlyWhatTheParsedModelFitsAndRefusesStaleOrDamagedFiles) {
  // FaceModels maps the flat landmark model from a cache file instead of parsing dlib's file on
  // every start: the mapped model must fit the very points the parsed one fits, and a cache for
  // another version of the source, or damaged, must not be used.
  const std::string path = kDefaultLandmarkModelPath;
  detail::FlatShapePredictor parsed;
  ASSERT_TRUE(detail::read_landmark_model_flat(path, parsed));
  detail::LandmarkSourceStamp stamp;
  ASSERT_TRUE(detail::landmark_source_stamp(path, stamp));
  testing::TempDir dir;
  const std::string cache = detail::landmark_cache_path(dir.file("cache"), path);
  EXPECT_EQ(cache, detail::landmark_cache_path(dir.file("cache"), path));
  ASSERT_TRUE(detail::write_landmark_cache(parsed, cache, stamp, std::string(64, 'a')));
  detail::FlatShapePredictor mapped;
  ASSERT_TRUE(detail::read_landmark_cache(cache, stamp, mapped));
  EXPECT_EQ(mapped.num_parts(), 68u);
  EXPECT_TRUE(mapped.serialize_cache_body() == parsed.serialize_cache_body());
  auto image = media::read_image("/usr/share/doc/libdlib19.1/examples/faces/2008_001009.jpg");
  ASSERT_TRUE(image.ok());
  FaceDetector detector(test::models());
  auto faces = detector.detect(*image);
  ASSERT_TRUE(faces.ok());
  ASSERT_FALSE(faces->empty());
  const cv::Mat bgr = as_mat(*image);
  const dlib::cv_image<dlib::bgr_pixel> cimg(bgr);
  for (const Face& f : *faces) {
    for (double dx : {-0.2, 0.0, 0.1}) {
      const dlib::rectangle r = to_dlib({f.box.x + dx * f.box.w, f.box.y, f.box.w, f.box.h});
      std::vector<dlib::point> a, b;
      parsed.fit(cimg, r, a);
      mapped.fit(cimg, r, b);
      ASSERT_EQ(a, b);
    }
  }
  // Another source (size or time) or a changed byte: not used, and `out` stays as it was.
  detail::FlatShapePredictor untouched;
  detail::LandmarkSourceStamp other = stamp;
  other.mtime_ns += 1;
  EXPECT_FALSE(detail::read_landmark_cache(cache, other, untouched));
  other = stamp;
  other.size += 1;
  EXPECT_FALSE(detail::read_landmark_cache(cache, other, untouched));
  auto bytes = read_file(cache);
  ASSERT_TRUE(bytes.ok());
  std::string damaged = *bytes;
  damaged[damaged.size() / 2] ^= 0x10;
  ASSERT_TRUE(write_file_atomic(dir.file("damaged.flat"), damaged).is_ok());
  EXPECT_FALSE(detail::read_landmark_cache(dir.file("damaged.flat"), stamp, untouched));
  ASSERT_TRUE(write_file_atomic(dir.file("short.flat"), bytes->substr(0, bytes->size() - 64)).is_ok());
  EXPECT_FALSE(detail::read_landmark_cache(dir.file("short.flat"), stamp, untouched));
  EXPECT_FALSE(detail::read_landmark_cache(dir.file("missing.flat"), stamp, untouched));
  EXPECT_TRUE(untouched.empty());
  // FaceModels::load writes the cache on its first load and gives the same model from it later.
  ModelOptions o;
  o.landmark_cache_dir = dir.file("load");
  auto first = FaceModels::load(o);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(std::filesystem::is_regular_file(detail::landmark_cache_path(dir.file("load"), path)));
  auto second = FaceModels::load(o);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE((*second)->impl().flat_landmarks.serialize_cache_body() == parsed.serialize_cache_body());
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
