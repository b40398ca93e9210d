// Outputs that cannot be written are refused before the long job, with one line naming them, and
// nothing is left behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/core.h"
#include "media/media.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"

namespace unmask {
namespace {

using testing::count_lines;
using testing::run_command;
using testing::TempDir;
using testing::unmask_cmd;

std::string q(const std::string& s) { return "'" + s + "'"; }

// The command fails with an input error whose one line names `out`, and no file appears there.
void expect_refused_output(const std::string& args, const std::string& out) {
  auto r = run_command(unmask_cmd(args));
  EXPECT_EQ(r.exit_code, 3) << args << "\n" << r.err;
  EXPECT_EQ(r.err.rfind("unmask: error: ", 0), 0u) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(out), std::string::npos) << "the error should name the output first: " << r.err;
  EXPECT_FALSE(std::filesystem::exists(out)) << out;
}

TEST(CliRobust, AnErrorAboutANameWithANewlineIsStillOneLine) {
  TempDir dir;
  const std::string name = dir.file("two\nlines\x1b[31m.mp4");
  auto r = run_command(unmask_cmd("scan " + q(name)));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("two\\x0alines\\x1b[31m.mp4"), std::string::npos) << r.err;
}

TEST(CliRobust, ScanHtmlIntoAMissingFolderIsRefusedBeforeTheScan) {
  TempDir dir;
  const std::string out = dir.file("no/such/folder/report.html");
  // The input does not exist either: the output is checked first, so the error names it.
  expect_refused_output("scan " + q(dir.file("absent.mp4")) + " --html " + q(out), out);
}

TEST(CliRobust, ScanHtmlIntoAFolderNobodyCanWriteIsRefusedBeforeTheScan) {
  // /proc/self is a folder even root cannot create files in (a mode-555 folder would not stop root).
  if (!std::filesystem::is_directory("/proc/self")) GTEST_SKIP() << "no /proc";
  TempDir dir;
  const std::string out = "/proc/self/report.html";
  auto r = run_command(unmask_cmd("scan " + q(dir.file("absent.mp4")) + " --html " + out));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find(out), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
}

TEST(CliRobust, ScanHtmlOntoAFolderLeavesNoTemporaryFile) {
  TempDir dir;
  const std::string out = dir.file("report.html");
  std::filesystem::create_directory(out);
  auto r = run_command(unmask_cmd("scan " + q(dir.file("absent.mp4")) + " --html " + q(out)));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("report.html"), std::string::npos) << r.err;
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) n += e.path().filename() != "report.html";
  EXPECT_EQ(n, 0) << "a temporary file was left beside the folder";
}

TEST(CliRobust, EvalRocIntoAMissingFolderIsRefusedBeforeTheManifestIsRead) {
  TempDir dir;
  const std::string out = dir.file("nodir/roc.svg");
  expect_refused_output("eval --manifest " + q(dir.file("absent.csv")) + " --roc " + q(out), out);
}

TEST(CliRobust, TrainOutIntoAMissingFolderIsRefusedBeforeTraining) {
  TempDir dir;
  const std::string manifest = dir.file("m.csv");
  ASSERT_TRUE(write_file_atomic(manifest, "path,label\n" + dir.file("absent.mp4") + ",real\n").is_ok());
  const std::string out = dir.file("nodir/model.unm");
  expect_refused_output("train --manifest " + q(manifest) + " --out " + q(out) + " --epochs 1", out);
}

TEST(CliRobust, TrainManifestThatIsAFolderSaysSo) {
  TempDir dir;
  auto r = run_command(unmask_cmd("train --manifest " + q(dir.path().string()) + " --out " + q(dir.file("m.unm"))));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("is a folder"), std::string::npos) << r.err;
}

TEST(CliRobust, TrainManifestWithOnlyAHeaderSaysSo) {
  TempDir dir;
  const std::string manifest = dir.file("empty.csv");
  ASSERT_TRUE(write_file_atomic(manifest, "path,label\n").is_ok());
  auto r = run_command(unmask_cmd("train --manifest " + q(manifest) + " --out " + q(dir.file("m.unm"))));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("lists no items"), std::string::npos) << r.err;
}

TEST(CliRobust, MarkVerifyTamperMapIntoAMissingFolderIsRefusedFirst) {
  TempDir dir;
  const std::string out = dir.file("nodir/map.png");
  expect_refused_output("mark verify " + q(dir.file("absent.mp4")) + " --tamper-map " + q(out), out);
}

TEST(CliRobust, SynthAnimateRefusesAMissingDriverAnImageDriverAndAMissingFolder) {
  TempDir dir;
  const std::string photo = dir.file("photo.png");
  ASSERT_TRUE(media::write_image(photo, testing::face_photo("tom", 200)).is_ok());
  auto usage = run_command(unmask_cmd("synth animate --photo " + q(photo) + " --out " + q(dir.file("a.mp4"))));
  EXPECT_EQ(usage.exit_code, 2) << usage.err;
  auto still = run_command(unmask_cmd("synth animate --photo " + q(photo) + " --driver " + q(photo) + " --out " +
                                      q(dir.file("b.mp4"))));
  EXPECT_EQ(still.exit_code, 3) << still.err;
  EXPECT_EQ(count_lines(still.err), 1) << still.err;
  EXPECT_NE(still.err.find("must be a video"), std::string::npos) << still.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("b.mp4")));
  const std::string out = dir.file("nodir/animated.mp4");
  expect_refused_output("synth animate --photo " + q(photo) + " --driver " + q(dir.file("absent.mp4")) + " --out " + q(out),
                        out);
}

TEST(CliRobust, SynthDubAndSwapOutIntoAMissingFolderAreRefusedFirstAndATinyFaceSizeIsAUsageError) {
  TempDir dir;
  const std::string out = dir.file("nodir/dub.mp4");
  expect_refused_output("synth dub --video " + q(dir.file("absent.mp4")) + " --text hello --out " + q(out), out);
  const std::string out2 = dir.file("nodir/swap.mp4");
  expect_refused_output("synth swap --source " + q(dir.file("a.jpg")) + " --target " + q(dir.file("b.mp4")) +
                            " --out " + q(out2),
                        out2);
  // A generator resolution of a few pixels is a typing error, not a face.
  auto tiny = run_command(unmask_cmd("synth swap --source " + q(dir.file("a.jpg")) + " --target " + q(dir.file("b.mp4")) +
                                     " --out " + q(dir.file("swap.mp4")) + " --face-px 5"));
  EXPECT_EQ(tiny.exit_code, 2) << tiny.err;
  EXPECT_NE(tiny.err.find("--face-px"), std::string::npos) << tiny.err;
}

TEST(CliRobust, AutoencoderSwapFlagsAndModelsAreCheckedWithTheContractsExitCodes) {
  TempDir dir;
  const std::string a = dir.file("a.jpg"), b = dir.file("b.mp4"), out = dir.file("swap.mp4");
  auto run = [](const std::string& args) { return run_command(unmask_cmd(args)); };
  const std::string swap = "synth swap --source " + q(a) + " --target " + q(b) + " --out " + q(out);
  auto no_model = run(swap + " --method autoencoder");
  EXPECT_EQ(no_model.exit_code, 2) << no_model.err;
  EXPECT_NE(no_model.err.find("train-swap"), std::string::npos) << no_model.err;
  auto stray_model = run(swap + " --model " + q(dir.file("m.unm")));
  EXPECT_EQ(stray_model.exit_code, 2) << stray_model.err;
  auto unknown = run(swap + " --method gan");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  // A model file that is not one: exit 4, naming it, before any face is looked for.
  const std::string bogus = dir.file("bogus.unm");
  ASSERT_TRUE(write_file_atomic(bogus, "not a model").is_ok());
  auto bad_model = run(swap + " --method autoencoder --model " + q(bogus));
  EXPECT_EQ(bad_model.exit_code, 4) << bad_model.err;
  EXPECT_NE(bad_model.err.find("bogus.unm"), std::string::npos) << bad_model.err;
  EXPECT_FALSE(std::filesystem::exists(out));

  const std::string train = "synth train-swap --out " + q(dir.file("pair.unm"));
  auto missing_b = run(train + " --a " + q(a));
  EXPECT_EQ(missing_b.exit_code, 2) << missing_b.err;
  auto odd_size = run(train + " --a " + q(a) + " --b " + q(b) + " --size 40");
  EXPECT_EQ(odd_size.exit_code, 2) << odd_size.err;
  EXPECT_NE(odd_size.err.find("multiple of 16"), std::string::npos) << odd_size.err;
  auto zero_steps = run(train + " --a " + q(a) + " --b " + q(b) + " --iterations 0");
  EXPECT_EQ(zero_steps.exit_code, 2) << zero_steps.err;
  auto no_rate = run(train + " --a " + q(a) + " --b " + q(b) + " --learning-rate 0");
  EXPECT_EQ(no_rate.exit_code, 2) << no_rate.err;
  auto absent = run(train + " --a " + q(a) + " --b " + q(b));
  EXPECT_EQ(absent.exit_code, 3) << absent.err;
  EXPECT_NE(absent.err.find("a.jpg"), std::string::npos) << absent.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("pair.unm")));
}

}  // namespace
}  // namespace unmask
