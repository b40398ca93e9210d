// The manifest CSV reader on good and bad manifests.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "learn/learn.h"
#include "support/fixtures.h"

namespace unmask::learn {
namespace {

Result<std::vector<ManifestItem>> parse(std::string_view text) { return parse_manifest(text, "m.csv", "/data/set"); }

std::string error_of(std::string_view text) {
  auto r = parse(text);
  EXPECT_EQ(r.status().code(), StatusCode::kInput) << text;
  return r.status().message();
}

TEST(Manifest, ReadsPathsLabelsAndExtraColumns) {
  const std::string csv =
      "\xEF\xBB\xBFpath,kind,label,note\r\n"
      "videos/a.mp4,video,real,plain\r\n"
      "\r\n"
      "\"videos/b, with comma.mp4\",video,FAKE,\"said \"\"hi\"\"\nand left\"\r\n"
      "/abs/c.png,image, fake ,\r\n"
      "../up/d.wav,audio,real,x";
  auto items = parse(csv);
  ASSERT_TRUE(items.ok()) << items.status().message();
  ASSERT_EQ(items->size(), 4u);
  EXPECT_EQ((*items)[0].path, "/data/set/videos/a.mp4");
  EXPECT_EQ((*items)[0].label, 0);
  EXPECT_EQ((*items)[0].line, 2);
  EXPECT_EQ((*items)[0].columns.at("kind"), "video");
  EXPECT_EQ((*items)[1].path, "/data/set/videos/b, with comma.mp4");
  EXPECT_EQ((*items)[1].label, 1);
  EXPECT_EQ((*items)[1].line, 4);
  EXPECT_EQ((*items)[1].columns.at("note"), "said \"hi\"\nand left");
  EXPECT_EQ((*items)[2].path, "/abs/c.png");
  EXPECT_EQ((*items)[2].label, 1);
  EXPECT_EQ((*items)[2].line, 6);
  EXPECT_EQ((*items)[3].path, "/data/up/d.wav");
  EXPECT_EQ((*items)[3].line, 7);
}

TEST(Manifest, ColumnsMayComeInAnyOrder) {
  auto items = parse("label,source,path\nfake,x,clip.mp4\n");
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].path, "/data/set/clip.mp4");
  EXPECT_EQ((*items)[0].label, 1);
}

TEST(Manifest, BadRowsNameTheirLine) {
  EXPECT_NE(error_of("path,label\na.mp4,real\nb.mp4,maybe\n").find("line 3: label must be real or fake, got 'maybe'"),
            std::string::npos);
  EXPECT_NE(error_of("path,label\na.mp4\n").find("line 2"), std::string::npos);
  EXPECT_NE(error_of("path,label\na.mp4,real,extra\n").find("line 2"), std::string::npos);
  EXPECT_NE(error_of("path,label\n,real\n").find("line 2: empty path"), std::string::npos);
  EXPECT_NE(error_of("path,label\na.mp4,real\n\"b.mp4,fake\n").find("line 3: unterminated"), std::string::npos);
  EXPECT_NE(error_of("path,label\na\"b.mp4,real\n").find("line 2"), std::string::npos);
  EXPECT_NE(error_of("file,label\na.mp4,real\n").find("path and label"), std::string::npos);
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
  EXPECT_EQ(error_of("path,label\nx,y\n").rfind("m.csv: line 2", 0), 0u);  // names the manifest
}

TEST(Manifest, ReadsAFileRelativeToItsFolder) {
  unmask::testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "sub");
  std::ofstream(dir.file("sub/list.csv")) << "path,label,source\nclips/x.mp4,fake,gen\n";
  auto items = read_manifest(dir.file("sub/list.csv"));
  ASSERT_TRUE(items.ok()) << items.status().message();
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].path, (dir.path() / "sub" / "clips" / "x.mp4").string());
  EXPECT_EQ((*items)[0].columns.at("source"), "gen");

  auto missing = read_manifest(dir.file("nope.csv"));
  EXPECT_EQ(missing.status().code(), StatusCode::kInput);
  EXPECT_EQ(exit_code_for(missing.status()), 3);
  EXPECT_NE(missing.status().message().find("nope.csv"), std::string::npos);
}

}  // namespace
}  // namespace unmask::learn
