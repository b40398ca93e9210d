#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "face/face.h"
#include "mark/mark.h"
#include "media/media.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"
#include "synth/synth.h"

namespace unmask::synth {
namespace {

std::vector<std::vector<std::string>> read_csv_rows(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::string cur;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (quoted) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') { cur += '"'; ++i; }
        else if (c == '"') quoted = false;
        else cur += c;
      } else if (c == '"') quoted = true;
      else if (c == ',') { fields.push_back(cur); cur.clear(); }
      else cur += c;
    }
    fields.push_back(cur);
    rows.push_back(fields);
  }
  return rows;
}

TEST(Corpus, MakesEachMethodAndAManifestEvalCanRead) {
  auto models = face::FaceModels::load();
  ASSERT_TRUE(models.ok()) << models.status().message();
  testing::TempDir dir;
  const std::string real = dir.file("real");
  std::filesystem::create_directories(real);
  testing::FaceClipSpec spec;
  spec.width_px = 320;
  spec.height_px = 240;
  spec.n_frames = 12;
  spec.tone_hz = 300;
  testing::Sprite tom;
  tom.image = testing::face_photo("tom", 140);
  tom.top_left = testing::linear_path(80, 10, 100, 10, spec.n_frames);
  spec.sprites.push_back(tom);
  testing::write_face_clip(real + "/clip.mp4", spec);
  ASSERT_TRUE(media::write_image(real + "/girl.png", testing::face_photo("girl", 260)).is_ok());
  std::ofstream(real + "/notes.txt") << "not media";

  CorpusOptions options;
  options.n_fakes = 3;
  options.seed = 9;
  auto summary = make_corpus(real, dir.file("out"), options, *models);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->n_real, 2);
  EXPECT_EQ(summary->n_fake, 3);
  EXPECT_EQ(summary->n_failed, 0);

  const auto rows = read_csv_rows(summary->manifest_path);
  ASSERT_EQ(rows.size(), 1u + 2 + 3);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"path", "label", "method", "source", "target", "seed"}));
  std::set<std::string> methods;
  for (size_t i = 3; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 6u);
    EXPECT_EQ(rows[i][1], "fake");
    methods.insert(rows[i][2]);
    const std::string file = dir.file("out/") + rows[i][0];
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    auto v = mark::verify_file(file);
    ASSERT_TRUE(v.ok()) << v.status().message();
    EXPECT_TRUE(v->found && v->payload.synthetic) << file << " (" << rows[i][2] << ")";
  }
  EXPECT_EQ(methods, (std::set<std::string>{"landmark_swap", "selfblend", "dub"}));
}

TEST(Corpus, FolderWithoutMediaIsAnInputError) {
  auto models = face::FaceModels::load();
  ASSERT_TRUE(models.ok());
  testing::TempDir dir;
  std::ofstream(dir.file("a.txt")) << "text";
  auto summary = make_corpus(dir.path().string(), dir.file("out"), {}, *models);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), StatusCode::kInput);
}

}  // namespace
}  // namespace unmask::synth
