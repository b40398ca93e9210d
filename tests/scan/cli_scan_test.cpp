// `unmask scan` and `unmask eval` on the command line: exit codes, one-line errors, outputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "detect/detector.h"
#include "support/fixtures.h"

namespace unmask {
namespace {

using testing::run_command;
using testing::TempDir;

std::string unmask_cmd(const std::string& args) { return testing::unmask_binary() + " " + args; }

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

void expect_one_error_line(const testing::CommandResult& r) {
  EXPECT_EQ(r.err.rfind("unmask: error: ", 0), 0u) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(CliScan, CorruptFileExitsThree) {
  TempDir dir;
  std::ofstream(dir.file("broken.mp4")) << std::string(2048, 'x');
  auto r = run_command(unmask_cmd("scan --json " + dir.file("broken.mp4")));
  EXPECT_EQ(r.exit_code, 3);
  expect_one_error_line(r);
  auto missing = run_command(unmask_cmd("scan " + dir.file("missing.mp4")));
  EXPECT_EQ(missing.exit_code, 3);
  expect_one_error_line(missing);
}

TEST(CliScan, MissingModelExitsFour) {
  TempDir dir, empty;
  const std::string clip = dir.file("clip.mp4");
  testing::write_pattern_clip(clip, {});
  auto r = run_command("UNMASK_MODELS=" + empty.path().string() + " " + unmask_cmd("scan --json " + clip));
  EXPECT_EQ(r.exit_code, 4);
  expect_one_error_line(r);
  auto flag = run_command(unmask_cmd("scan --models " + empty.path().string() + " " + clip));
  EXPECT_EQ(flag.exit_code, 4);
  // A named detector whose model is missing, too (when the build has any detector).
  const auto names = detect::detector_names();
  if (!names.empty()) {
    auto named = run_command(unmask_cmd("scan --models " + empty.path().string() + " --detectors " + names[0] + " " + clip));
    EXPECT_EQ(named.exit_code, 4);
    expect_one_error_line(named);
  }
}

TEST(CliScan, UsageErrorsExitTwo) {
  TempDir dir;
  const std::string clip = dir.file("clip.mp4");
  testing::write_pattern_clip(clip, {});
  EXPECT_EQ(run_command(unmask_cmd("scan --json --text " + clip)).exit_code, 2);
  EXPECT_EQ(run_command(unmask_cmd("scan --frames 0 " + clip)).exit_code, 2);
  EXPECT_EQ(run_command(unmask_cmd("scan")).exit_code, 2);
  auto unknown = run_command(unmask_cmd("scan --detectors no-such-detector " + clip));
  EXPECT_EQ(unknown.exit_code, 2);
  expect_one_error_line(unknown);
}

TEST(CliEval, BadManifestExitsThreeAndMissingModelFour) {
  TempDir dir, empty;
  auto r = run_command(unmask_cmd("eval --manifest " + dir.file("missing.csv")));
  EXPECT_EQ(r.exit_code, 3);
  expect_one_error_line(r);
  const std::string clip = dir.file("clip.mp4");
  testing::write_pattern_clip(clip, {});
  std::ofstream(dir.file("m.csv")) << "path,label\nclip.mp4,real\n";
  auto m = run_command(unmask_cmd("eval --json --models " + empty.path().string() + " --manifest " + dir.file("m.csv")));
  EXPECT_EQ(m.exit_code, 4);
  expect_one_error_line(m);
}

}  // namespace
}  // namespace unmask
