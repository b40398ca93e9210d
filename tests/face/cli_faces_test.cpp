// `unmask faces` end to end through the built binary.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "face_test_util.h"
#include "media/media.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"

namespace unmask::face {
namespace {

namespace fs = std::filesystem;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

testing::FaceClipSpec short_clip() {
  testing::FaceClipSpec spec;
  spec.n_frames = 30;
  spec.tone_hz = 440;
  testing::Sprite tom;
  tom.image = testing::face_photo("tom", 150);
  tom.top_left = testing::linear_path(100, 30, 300, 60, spec.n_frames);
  spec.sprites = {tom};
  return spec;
}

TEST(CliFaces, WritesTracksCropsAndAnnotatedVideo) {
  testing::TempDir dir;
  const std::string clip = dir.file("clip.mp4"), out = dir.file("out");
  testing::write_face_clip(clip, short_clip());
  auto r = testing::run_command(testing::unmask_binary() + " faces " + quoted(clip) + " --out " + quoted(out) +
                                " --draw --json --crop-size 128");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto printed = nlohmann::json::parse(r.out);
  auto file = read_file(out + "/tracks.json");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(nlohmann::json::parse(*file), printed);  // --json prints what tracks.json holds

  EXPECT_EQ(printed["n_frames"], 30);
  ASSERT_EQ(printed["tracks"].size(), 1u);
  const auto& track = printed["tracks"][0];
  EXPECT_EQ(track["track_id"], 0);
  ASSERT_EQ(track["frames"].size(), 30u);
  const auto& f0 = track["frames"][0];
  EXPECT_EQ(f0["frame"], 0);
  EXPECT_DOUBLE_EQ(f0["t_s"].get<double>(), 0.0);
  EXPECT_EQ(f0["box"].size(), 4u);
  EXPECT_GT(f0["confidence"].get<double>(), 0.0);
  ASSERT_EQ(f0["landmarks"].size(), 68u);
  EXPECT_EQ(f0["landmarks"][0].size(), 2u);
  EXPECT_NEAR(track["frames"][29]["t_s"].get<double>(), 29 / 25.0, 1e-3);

  int n_crops = 0;
  for (const auto& e : fs::directory_iterator(out + "/track_0")) {
    ++n_crops;
    EXPECT_EQ(e.path().extension(), ".png");
  }
  EXPECT_EQ(n_crops, 30);
  auto crop = media::read_image(out + "/track_0/000007.png");
  ASSERT_TRUE(crop.ok()) << crop.status().message();
  EXPECT_EQ(crop->width_px(), 128);

  auto info = media::probe(out + "/annotated.mp4");
  ASSERT_TRUE(info.ok()) << info.status().message();
  ASSERT_TRUE(info->video.has_value());
  EXPECT_EQ(info->video->width_px, 640);
  EXPECT_TRUE(info->audio.has_value());  // the source's sound is kept
}

TEST(CliFaces, WorksOnAnImage) {
  testing::TempDir dir;
  auto spec = short_clip();
  ASSERT_TRUE(media::write_image(dir.file("still.png"), testing::render_face_frame(spec, 0)).is_ok());
  auto r = testing::run_command(testing::unmask_binary() + " faces " + quoted(dir.file("still.png")) +
                                " --out " + quoted(dir.file("out")) + " --draw");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 track"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir.file("out") + "/track_0/000000.png"));
  EXPECT_TRUE(fs::exists(dir.file("out") + "/annotated.png"));
}

TEST(CliFaces, ExitCodesForBadInputUsageAndModel) {
  testing::TempDir dir;
  const std::string bin = testing::unmask_binary();
  auto missing = testing::run_command(bin + " faces " + quoted(dir.file("nope.mp4")) + " --out " + quoted(dir.file("o")));
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_EQ(missing.err.rfind("unmask: error: ", 0), 0u) << missing.err;
  EXPECT_TRUE(missing.out.empty());

  auto no_out = testing::run_command(bin + " faces " + quoted(dir.file("nope.mp4")));
  EXPECT_EQ(no_out.exit_code, 2);

  testing::write_face_clip(dir.file("clip.mp4"), short_clip());
  auto no_model = testing::run_command(bin + " faces " + quoted(dir.file("clip.mp4")) + " --out " +
                                       quoted(dir.file("o")) + " --landmark-model /nonexistent.dat");
  EXPECT_EQ(no_model.exit_code, 4);
  EXPECT_NE(no_model.err.find("/nonexistent.dat"), std::string::npos);
}

}  // namespace
}  // namespace unmask::face
