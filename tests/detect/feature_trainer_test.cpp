// The shared steps of the video-level feature trainers (temporal, noise): the per-video row cache
// and collecting a manifest's rows with the whole-video validation split. The rows come from a
// function given here, so no video is decoded.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "detect/feature_trainer.h"
#include "support/fixtures.h"

namespace unmask::detect {
namespace {
namespace fs = std::filesystem;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); }

TEST(FeatureModelMetadata, FloatsRoundTripExactlyAndOneNumberIsReadOrRefused) {
  // Every model's normalisation and reference values travel as text in its metadata: written by
  // format_floats, read back bit for bit; a bad token, a non-finite value or a wrong count is refused.
  const std::vector<float> values = {0.1f, -3.4028235e38f, 1.17549435e-38f, 123456.789f, 0.0f, 1e-45f};
  std::vector<float> back;
  ASSERT_TRUE(parse_floats(format_floats(values), back));
  ASSERT_EQ(back.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_TRUE(same_bits(back[i], values[i])) << i;
  EXPECT_FALSE(parse_floats("1 2 x", back));
  EXPECT_FALSE(parse_floats("nan", back));
  EXPECT_FALSE(parse_floats("1 inf", back));
  const nn::Metadata meta = {{"one", "0.25"}, {"two", "1 2"}, {"bad", "x"}, {"empty", ""}};
  EXPECT_EQ(metadata_number(meta, "one"), std::optional<double>(0.25));
  EXPECT_EQ(metadata_number(meta, "two"), std::nullopt);
  EXPECT_EQ(metadata_number(meta, "bad"), std::nullopt);
  EXPECT_EQ(metadata_number(meta, "empty"), std::nullopt);
  EXPECT_EQ(metadata_number(meta, "missing"), std::nullopt);
}

TEST(CachedVideoRows, ComputesOnceAndTheCacheGivesTheSameFloats) {
  unmask::testing::TempDir dir;
  int calls = 0;
  const VideoRows made = {{0.1f, -1e-7f, kNaN}, {3.4028235e38f, 1.0f / 3.0f, 0.0f}};
  VideoRowsFn compute = [&](const std::shared_ptr<const face::FaceModels>&, const std::string&) -> Result<VideoRows> {
    calls += 1;
    return made;
  };
  auto first = cached_video_rows(nullptr, "some/video.mp4", dir.path(), "v1", 3, compute);
  auto second = cached_video_rows(nullptr, "some/video.mp4", dir.path(), "v1", 3, compute);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(second->size(), made.size());
  for (size_t i = 0; i < made.size(); ++i) {
    for (size_t j = 0; j < 3; ++j) EXPECT_TRUE(same_bits((*second)[i][j], made[i][j])) << i << "," << j;
  }
  // Another feature version is another cache entry.
  ASSERT_TRUE(cached_video_rows(nullptr, "some/video.mp4", dir.path(), "v2", 3, compute).ok());
  EXPECT_EQ(calls, 2);
}

TEST(CachedVideoRows, ACacheFileCutShortOrOfAnotherWidthIsComputedAgain) {
  unmask::testing::TempDir dir;
  int calls = 0;
  VideoRowsFn compute = [&](const std::shared_ptr<const face::FaceModels>&, const std::string&) -> Result<VideoRows> {
    calls += 1;
    return VideoRows{{1, 2, 3}, {4, 5, 6}};
  };
  ASSERT_TRUE(cached_video_rows(nullptr, "a.mp4", dir.path(), "v1", 3, compute).ok());
  // Rows of width 3 read as width 4: recomputed (and the fresh rows returned, not the cached ones).
  ASSERT_TRUE(cached_video_rows(nullptr, "a.mp4", dir.path(), "v1", 4, compute).ok());
  EXPECT_EQ(calls, 2);
  // Cut the file after its first line: no end line, so recomputed.
  fs::path file;
  for (const auto& e : fs::directory_iterator(dir.path())) file = e.path();
  std::string first_line;
  std::getline(std::ifstream(file), first_line);
  std::ofstream(file, std::ios::trunc) << first_line << "\n";
  auto rows = cached_video_rows(nullptr, "a.mp4", dir.path(), "v1", 3, compute);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(rows->size(), 2u);
}

TEST(CachedVideoRows, AFailedComputationIsPassedOnAndNotCached) {
  unmask::testing::TempDir dir;
  VideoRowsFn fail = [](const std::shared_ptr<const face::FaceModels>&, const std::string& path) -> Result<VideoRows> {
    return Status::input(path, "cannot decode");
  };
  auto rows = cached_video_rows(nullptr, "broken.mp4", dir.path(), "v1", 3, fail);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kInput);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(CollectVideoRows, CountsVideosSplitsWholeVideosAndNamesTheManifest) {
  unmask::testing::TempDir dir;
  // A manifest path with a quote in it: the card's JSON must still parse.
  const fs::path manifest = dir.path() / "set \"A\".csv";
  std::ofstream csv(manifest);
  csv << "path,label\n";
  std::map<std::string, std::pair<int, int>> rows_of_video;  // path -> (video index, rows)
  // 72 videos, 48 with rows: the split hashes the (random) temporary path, so with 1 in 4 held
  // out, "none held out" has a chance of 0.75^48 (1e-6); with 16 videos it was 1 % a run.
  for (int i = 0; i < 72; ++i) {
    const std::string name = "v" + std::to_string(i) + ".mp4";
    csv << name << "," << (i % 2 ? "fake" : "real") << "\n";
    rows_of_video[(dir.path() / name).string()] = {i, i % 3};  // 0, 1 or 2 rows
  }
  csv << "broken.mp4,fake\n";
  csv.close();
  VideoRowsFn rows_of = [&](const std::shared_ptr<const face::FaceModels>&, const std::string& path) -> Result<VideoRows> {
    auto it = rows_of_video.find(path);
    if (it == rows_of_video.end()) return Status::input(path, "cannot decode");
    VideoRows rows;
    const auto [index, n] = it->second;
    for (int k = 0; k < n; ++k) rows.push_back({static_cast<float>(index), static_cast<float>(k)});
    return rows;
  };
  TrainRequest request;
  request.manifest_path = manifest.string();
  request.out_path = (dir.path() / "m.unm").string();
  request.seed = 5;
  request.cache_dir = (dir.path() / "cache").string();
  auto set = collect_video_rows(request, {.cache_subdir = "rows", .default_cache_name = "rows-cache",
                                          .feature_version = "test-1", .width = 2, .rows_of = rows_of,
                                          .no_rows_message = "no rows"});
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->n_failed, 1);
  EXPECT_EQ(set->n_without_rows[0] + set->n_without_rows[1], 24);  // i % 3 == 0
  EXPECT_EQ(set->n_videos[0] + set->n_videos[1], 48);
  EXPECT_EQ(set->n_rows[0] + set->n_rows[1], 72);                  // 24 videos x 1 + 24 x 2
  ASSERT_EQ(set->rows.size(), 72u);
  ASSERT_EQ(set->labels.size(), 72u);
  ASSERT_EQ(set->is_val.size(), 72u);
  // Both rows of a two-row video sit together and share their split; some videos are held out.
  int n_val = 0;
  for (size_t i = 0; i + 1 < set->rows.size(); ++i) {
    if (set->rows[i][0] == set->rows[i + 1][0]) {
      EXPECT_EQ(set->is_val[i], set->is_val[i + 1]);
    }
  }
  for (bool v : set->is_val) n_val += v;
  EXPECT_GT(n_val, 0);
  EXPECT_LT(n_val, 72);
  auto card = nlohmann::json::parse("{" + set->manifest_json + "}");
  EXPECT_EQ(card["manifest"], manifest.string());
  EXPECT_EQ(card["manifest_sha256"].get<std::string>().size(), 64u);
}

TEST(CollectVideoRows, NoRowAtAllIsAnInputError) {
  unmask::testing::TempDir dir;
  const fs::path manifest = dir.path() / "m.csv";
  std::ofstream(manifest) << "path,label\na.mp4,real\nb.mp4,fake\n";
  VideoRowsFn none = [](const std::shared_ptr<const face::FaceModels>&, const std::string&) -> Result<VideoRows> {
    return VideoRows{};
  };
  TrainRequest request;
  request.manifest_path = manifest.string();
  request.out_path = (dir.path() / "m.unm").string();
  auto set = collect_video_rows(request, {.cache_subdir = "rows", .default_cache_name = "rows-cache",
                                          .feature_version = "test-1", .width = 2, .rows_of = none,
                                          .no_rows_message = "no track in any video"});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kInput);
  EXPECT_NE(set.status().message().find("no track in any video"), std::string::npos);
}

}  // namespace
}  // namespace unmask::detect
