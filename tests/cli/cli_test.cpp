// The CLI contract: exit codes, one-line errors on stderr, JSON on stdout only.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/fixtures.h"

namespace unmask {
namespace {

using testing::run_command;
using testing::TempDir;

using testing::count_lines;
using testing::unmask_cmd;

TEST(Cli, VersionPrintsAndExitsZero) {
  auto r = run_command(unmask_cmd("--version"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("unmask "), std::string::npos);
}

TEST(Cli, UnknownFlagIsUsageError) {
  auto r = run_command(unmask_cmd("probe --no-such-flag x.mp4"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("unmask: error: ", 0), 0u) << r.err;
  EXPECT_EQ(count_lines(r.err), 1);
  auto r2 = run_command(unmask_cmd("no-such-command"));
  EXPECT_EQ(r2.exit_code, 2);
  auto r3 = run_command(unmask_cmd("probe"));
  EXPECT_EQ(r3.exit_code, 2) << "missing argument";
  // No command at all: one error line that names the commands, nothing on stdout.
  auto bare = run_command(unmask_cmd(""));
  EXPECT_EQ(bare.exit_code, 2);
  EXPECT_EQ(bare.err.rfind("unmask: error: ", 0), 0u) << bare.err;
  EXPECT_EQ(count_lines(bare.err), 1) << bare.err;
  EXPECT_NE(bare.err.find("scan"), std::string::npos) << bare.err;
  EXPECT_TRUE(bare.out.empty()) << bare.out;
}

TEST(Cli, MakeBuildsBuildUnmaskAsTheContractSays) {
  // UNMASK_BINARY is <build>/src/cli/unmask; <build>/unmask is the link `make` leaves for users.
  const std::filesystem::path binary = testing::unmask_binary();
  const std::filesystem::path link = binary.parent_path().parent_path().parent_path() / "unmask";
  ASSERT_TRUE(std::filesystem::exists(link)) << link;
  auto r = run_command(link.string() + " --version");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("unmask "), std::string::npos);
}

TEST(Cli, ProbeJsonFollowsTheContract) {
  TempDir dir;
  const std::string clip = dir.file("clip.mp4");
  testing::ClipSpec spec;
  spec.tone_hz = 440;
  testing::write_pattern_clip(clip, spec);
  auto r = run_command(unmask_cmd("probe --json " + clip));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << "logs must not appear on a clean run: " << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["path"], clip);
  EXPECT_TRUE(j["format"].is_string());
  EXPECT_TRUE(j["duration_s"].is_number());
  EXPECT_TRUE(j["size_bytes"].is_number_integer());
  EXPECT_EQ(j["video"]["codec"], "h264");
  EXPECT_EQ(j["video"]["width"], 320);
  EXPECT_EQ(j["video"]["height"], 240);
  EXPECT_DOUBLE_EQ(j["video"]["fps"].get<double>(), 25.0);
  EXPECT_EQ(j["video"]["n_frames"], 50);
  EXPECT_EQ(j["video"]["rotation"], 0);
  EXPECT_EQ(j["audio"]["codec"], "aac");
  EXPECT_EQ(j["audio"]["sample_rate_hz"], 44100);
  EXPECT_EQ(j["audio"]["channels"], 1);
}

TEST(Cli, ProbeJsonHasNullForAbsentStream) {
  TempDir dir;
  const std::string wav = dir.file("a.wav");
  testing::write_wav(wav, testing::make_tone(440, 0.3, 16000));
  auto r = run_command(unmask_cmd("probe --json " + wav));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["video"].is_null());
  EXPECT_TRUE(j["audio"].is_object());
}

TEST(Cli, BadInputsExitThreeWithOneLine) {
  TempDir dir;
  std::ofstream(dir.file("empty.mp4")).close();
  std::ofstream(dir.file("text.mp4")) << "hello, this is text and not a video at all\n";
  const std::vector<std::string> bad = {dir.file("missing.mp4"), dir.file("empty.mp4"),
                                        dir.file("text.mp4"), dir.path().string()};
  for (const auto& path : bad) {
    auto r = run_command(unmask_cmd("probe --json " + path));
    EXPECT_EQ(r.exit_code, 3) << path;
    EXPECT_TRUE(r.out.empty()) << "nothing on stdout for " << path;
    EXPECT_EQ(r.err.rfind("unmask: error: ", 0), 0u) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
  }
}

}  // namespace
}  // namespace unmask
