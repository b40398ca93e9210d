// Detection and landmarks on the photos dlib ships, against the boxes and landmarks annotated in
// dlib's own example XML files.
#include <algorithm>
#include <cmath>

#include "face_test_util.h"
#include "media/media.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"

namespace unmask::face {
namespace {

double landmark_error(const Landmarks& got, const testing::AnnotatedFace& want) {
  double sum = 0;
  for (int i = 0; i < kNumLandmarks; ++i) {
    sum += std::hypot(got[i].x - want.landmarks[i].first, got[i].y - want.landmarks[i].second);
  }
  return sum / kNumLandmarks;
}

TEST(FaceDetector, WindowWithoutTheFinestLevelsFindsWhatTheFullPyramidFindsOnTheOthers) {
  // detect_in with a smallest face size computes only the HOG pyramid levels that find faces that
  // big, with its own copy of dlib's detection loop: with a size below every level it must give
  // dlib's detections exactly, and with the size of a face found (minus a level) that face with
  // the same box and confidence.
  const std::string dir = "/usr/share/doc/libdlib19.1/examples/faces/";
  DetectOptions options;
  options.max_side_px = 1280;  // these photos' faces are small at 640
  FaceDetector detector(test::models(), options);
  int n_faces = 0;
  for (const char* name : {"Tom_Cruise_avp_2014_4.jpg", "2008_001009.jpg", "2009_004587.jpg", "2008_002470.jpg"}) {
    auto image = media::read_image(dir + name);
    ASSERT_TRUE(image.ok()) << image.status().message();
    const Box all{0, 0, static_cast<double>(image->width_px()), static_cast<double>(image->height_px())};
    auto dlibs = detector.detect_in(*image, all);
    auto every_level = detector.detect_in(*image, all, 1.0);
    ASSERT_TRUE(dlibs.ok() && every_level.ok());
    ASSERT_EQ(dlibs->size(), every_level->size()) << name;
    for (size_t i = 0; i < dlibs->size(); ++i) {
      EXPECT_EQ((*dlibs)[i].box.x, (*every_level)[i].box.x);
      EXPECT_EQ((*dlibs)[i].box.y, (*every_level)[i].box.y);
      EXPECT_EQ((*dlibs)[i].box.w, (*every_level)[i].box.w);
      EXPECT_EQ((*dlibs)[i].confidence, (*every_level)[i].confidence);
    }
    for (const Face& f : *dlibs) {
      // Around each face, as the tracker looks for it: the same detection from fewer levels.
      const Box window{f.box.x - f.box.w / 2, f.box.y - f.box.h / 2, 2 * f.box.w, 2 * f.box.h};
      auto full = detector.detect_in(*image, window);
      auto coarse = detector.detect_in(*image, window, 0.69 * f.box.w);
      ASSERT_TRUE(full.ok() && coarse.ok());
      const auto same = [&](const Face& g) { return iou(g.box, f.box) > 0.5; };
      auto a = std::find_if(full->begin(), full->end(), same);
      auto b = std::find_if(coarse->begin(), coarse->end(), same);
      ASSERT_TRUE(a != full->end());
      ASSERT_TRUE(b != coarse->end()) << name;
      EXPECT_EQ(a->box.x, b->box.x);
      EXPECT_EQ(a->box.w, b->box.w);
      EXPECT_EQ(a->confidence, b->confidence);
      EXPECT_LE(coarse->size(), full->size());
      ++n_faces;
    }
  }
  EXPECT_GE(n_faces, 4);
}

TEST(FaceDetector, FindsTheAnnotatedFacesInDebianPhotos) {
  auto photos = testing::debian_annotated_faces();
  ASSERT_GE(photos.size(), 9u) << "libdlib19.1 example photos not installed";
  DetectOptions options;
  options.upsample = 1;  // the faces in these photos are 40-80 px
  FaceDetector detector(test::models(), options);
  int n_annotated = 0, n_matched = 0, n_extra = 0;
  for (const auto& photo : photos) {
    auto image = media::read_image(photo.path);
    ASSERT_TRUE(image.ok()) << image.status().message();
    auto faces = detector.detect_faces(*image);
    ASSERT_TRUE(faces.ok());
    // Known face count per photo, within one (the XML lists hard faces too).
    EXPECT_NEAR(static_cast<double>(faces->size()), static_cast<double>(photo.faces.size()), 1.0) << photo.path;
    std::vector<bool> used(faces->size(), false);
    for (const auto& want : photo.faces) {
      ++n_annotated;
      for (size_t j = 0; j < faces->size(); ++j) {
        const Face& got = (*faces)[j];
        if (used[j] || iou(got.box, want.box) < 0.5) continue;
        used[j] = true;
        ++n_matched;
        EXPECT_GT(got.confidence, 0.0);
        EXPECT_TRUE(got.detected);
        // The XML landmarks were made by this very model on the annotated box; ours come from
        // our own box, so they agree to within a couple of pixels, not exactly.
        EXPECT_LT(landmark_error(got.landmarks, want), 0.08 * want.box.w) << photo.path;
        // Landmarks lie within their box (a margin for the chin and jaw that dlib boxes cut).
        for (const Point2& p : got.landmarks) {
          EXPECT_GT(p.x, got.box.x - 0.25 * got.box.w);
          EXPECT_LT(p.x, got.box.x + 1.25 * got.box.w);
          EXPECT_GT(p.y, got.box.y - 0.15 * got.box.h);
          EXPECT_LT(p.y, got.box.y + 1.3 * got.box.h);
        }
        break;
      }
    }
    for (bool u : used) n_extra += u ? 0 : 1;
  }
  EXPECT_GE(n_matched, n_annotated * 9 / 10) << n_matched << " of " << n_annotated;
  EXPECT_LE(n_extra, 2);
}

TEST(FaceDetector, DownscaledDetectionMapsBoxesBackToFullResolution) {
  // The same photo at 1x and 3x: with max_side_px fixed, the boxes scale by 3.
  auto small = testing::face_photo("tom", 300);
  Image big = testing::resize_bilinear(small, 900, small.height_px() * 3);
  FaceDetector detector(test::models());
  auto a = detector.detect(small);
  auto b = detector.detect(big);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), 1u);
  ASSERT_EQ(b->size(), 1u);
  const Box& s = (*a)[0].box;
  const Box& l = (*b)[0].box;
  EXPECT_NEAR(l.x, 3 * s.x, 0.06 * l.w);
  EXPECT_NEAR(l.y, 3 * s.y, 0.06 * l.w);
  EXPECT_NEAR(l.w, 3 * s.w, 0.12 * l.w);
}

TEST(FaceDetector, DetectNearLooksOnlyAroundTheGivenBox) {
  // The face small in a big frame: detect_near() rescales the window so the face suits HOG and
  // finds it there, including at the frame edge, and finds nothing in a window without it.
  Image frame = testing::make_textured_background(1280, 720, 1);
  testing::paste(frame, testing::face_photo("tom", 150), 1180, 500);  // partly outside, right edge
  FaceDetector detector(test::models());
  testing::FaceClipSpec still;
  testing::Sprite tom;
  tom.image = testing::face_photo("tom", 150);
  tom.top_left = [](int) { return std::pair<int, int>{100, 50}; };
  still.sprites = {tom};
  auto ref = detector.detect(testing::render_face_frame(still, 0));
  ASSERT_TRUE(ref.ok());
  ASSERT_EQ(ref->size(), 1u);
  Box near = (*ref)[0].box;  // where the face sits in the sprite, moved to the pasted position
  near.x += 1080;
  near.y += 450;
  auto found = detector.detect_near(frame, near, -0.5);
  ASSERT_TRUE(found.ok());
  ASSERT_GE(found->size(), 1u);
  EXPECT_GT(iou((*found)[0].box, near), 0.5);
  auto elsewhere = detector.detect_near(frame, Box{200, 200, near.w, near.h}, -0.5);
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_TRUE(elsewhere->empty());
}

TEST(LargestFace, PicksTheBiggestBoxAboveTheMinimumSide) {
  std::vector<Face> faces(3);
  faces[0].box = {0, 0, 40, 40};
  faces[1].box = {100, 0, 90, 30};   // larger area, but only 30 px tall
  faces[2].box = {200, 0, 50, 50};
  EXPECT_EQ(largest_face(faces), &faces[1]);
  EXPECT_EQ(largest_face(faces, 35.0), &faces[2]);
  EXPECT_EQ(largest_face(faces, 60.0), nullptr);
  EXPECT_EQ(largest_face({}), nullptr);
}

TEST(FaceDetector, NoFaceIsAnEmptyResultNotAnError) {
  FaceDetector detector(test::models());
  auto faces = detector.detect_faces(testing::make_textured_background(640, 360, 0));
  ASSERT_TRUE(faces.ok());
  EXPECT_TRUE(faces->empty());
}

TEST(FaceDetector, AStripThinnerThanAPixelAtTheDetectorsScaleHasNoFace) {
  // 1 x 20000 and 20000 x 1: scaled to the detector's size the short side rounds to 0 pixels.
  FaceDetector detector(test::models());
  for (auto [w, h] : {std::pair{1, 20000}, std::pair{20000, 1}}) {
    Image strip(w, h, 3);
    auto faces = detector.detect(strip);
    ASSERT_TRUE(faces.ok()) << w << "x" << h << ": " << faces.status().message();
    EXPECT_TRUE(faces->empty());
    auto near = detector.detect_in(strip, Box{0, 0, static_cast<double>(w), static_cast<double>(h)}, 0);
    ASSERT_TRUE(near.ok()) << near.status().message();
    EXPECT_TRUE(near->empty());
  }
}

TEST(FaceDetector, EmptyImageIsAnInputError) {
  FaceDetector detector(test::models());
  auto faces = detector.detect(Image());
  ASSERT_FALSE(faces.ok());
  EXPECT_EQ(faces.status().code(), StatusCode::kInput);
}

TEST(FaceDetector, ProfileCascadeAddsSideFacesOnlyWhenAskedFor) {
  ModelOptions mo;
  mo.profile_cascade_path = kDefaultProfileCascadePath;
  auto models = FaceModels::load(mo);
  ASSERT_TRUE(models.ok()) << models.status().message();
  EXPECT_TRUE((*models)->has_profile_cascade());
  // A frontal face must not be found twice (the cascade's boxes overlapping HOG's are dropped).
  auto photo = testing::face_photo("tom", 300);
  DetectOptions with;
  with.use_profile = true;
  FaceDetector detector(*models, with);
  auto faces = detector.detect(photo);
  ASSERT_TRUE(faces.ok());
  ASSERT_GE(faces->size(), 1u);
  EXPECT_FALSE((*faces)[0].profile);
  int n_frontal = 0;
  for (const Face& f : *faces) n_frontal += f.profile ? 0 : 1;
  EXPECT_EQ(n_frontal, 1);
}

}  // namespace
}  // namespace unmask::face
