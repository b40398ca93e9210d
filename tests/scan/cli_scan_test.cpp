// `unmask scan` and `unmask eval` on the command line: exit codes, one-line errors, outputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "detect/blend.h"
#include "detect/detector.h"
#include "media/media.h"
#include "nn/model_file.h"
#include "nn/nn.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"

namespace unmask {
namespace {

using testing::run_command;
using testing::TempDir;

using testing::count_lines;
using testing::unmask_cmd;

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

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(CliTrain, RunsLibTorchWithPassiveOpenMpThreadsAndScanDoesNotReexecute) {
  // unmask train re-executes itself with OMP_WAIT_POLICY=passive before any library constructor
  // runs: libgomp (which prints its settings at start-up with OMP_DISPLAY_ENV) starts once, passive.
  TempDir dir, empty;
  const std::string train = unmask_cmd("train --manifest " + dir.file("missing.csv") + " --out " + dir.file("m.unm"));
  auto r = run_command("env -u OMP_WAIT_POLICY OMP_DISPLAY_ENV=verbose " + train);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(count_of(r.err, "OPENMP DISPLAY ENVIRONMENT BEGIN"), 1u) << r.err;
  EXPECT_EQ(count_of(r.err, "GOMP_SPINCOUNT = '0'"), 1u) << r.err;
  // A user's own policy is kept.
  auto active = run_command("OMP_WAIT_POLICY=active OMP_DISPLAY_ENV=verbose " + train);
  EXPECT_EQ(count_of(active.err, "OPENMP DISPLAY ENVIRONMENT BEGIN"), 1u) << active.err;
  EXPECT_EQ(count_of(active.err, "GOMP_SPINCOUNT = '0'"), 0u) << active.err;
  // scan runs no OpenMP code (its networks run on nn's own kernels): it starts once, as it is.
  const std::string clip = dir.file("clip.mp4");
  testing::write_pattern_clip(clip, {});
  auto scan = run_command("env -u OMP_WAIT_POLICY OMP_DISPLAY_ENV=verbose " +
                          unmask_cmd("scan --models " + empty.path().string() + " " + clip));
  EXPECT_EQ(scan.exit_code, 4);
  EXPECT_EQ(count_of(scan.err, "OPENMP DISPLAY ENVIRONMENT BEGIN"), 1u) << scan.err;
  EXPECT_EQ(count_of(scan.err, "GOMP_SPINCOUNT = '0'"), 0u) << scan.err;
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
  // Spaces around a name are not part of it: the error names the unknown one as written.
  auto spaced = run_command(unmask_cmd("scan --detectors 'blend , no-such-detector' " + clip));
  EXPECT_EQ(spaced.exit_code, 2);
  EXPECT_NE(spaced.err.find("detector no-such-detector: unknown"), std::string::npos) << spaced.err;
}

TEST(CliScan, ADetectorListNamingNoDetectorIsAUsageErrorNotEveryDetector) {
  // `--detectors "$LIST"` with an empty variable must not quietly run every detector.
  TempDir dir;
  const std::string clip = dir.file("clip.mp4");
  testing::write_pattern_clip(clip, {});
  for (const char* list : {"''", "','", "' , '"}) {
    for (const std::string& cmd : {"scan " + clip, "eval --manifest " + dir.file("absent.csv")}) {
      auto r = run_command(unmask_cmd(cmd + " --detectors " + list));
      EXPECT_EQ(r.exit_code, 2) << cmd << " --detectors " << list << "\n" << r.err;
      expect_one_error_line(r);
      EXPECT_NE(r.err.find("--detectors: names no detector"), std::string::npos) << r.err;
    }
  }
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

// A models folder with a blend model on the toy architecture (weights from a seed), as the blend
// loader accepts it: the command line then runs end to end without the shipped weights.
void write_tiny_blend(const std::string& models_dir) {
  nn::ModelSpec spec = *nn::default_spec("blend_cnn_tiny");
  spec.boundary_head = true;
  auto net = nn::Trainable::create(spec, 5, {});
  ASSERT_TRUE(net.ok());
  auto model = net->freeze();
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(model->save(models_dir + "/blend.unm", {{detect::kBlendMetaSize, "32"},
                                                      {detect::kBlendMetaMargin, "0.25"},
                                                      {detect::kBlendMetaCalibration, "platt -1 0"}})
                  .is_ok());
}

TEST(CliScan, ScoresWithoutTheLibTorchModule) {
  // Scoring runs on nn's own kernels: a scan needs no libunmask_nn_torch.so. Inference on
  // LibTorch (UNMASK_NN_INFERENCE=torch, for comparisons) does, and without it the scan is a model
  // error that says which file was looked for, not a crash.
  TempDir dir, models;
  write_tiny_blend(models.path().string());
  const std::string clip = dir.file("clip.mp4");
  testing::write_pattern_clip(clip, {});
  const std::string no_module = "UNMASK_NN_MODULE=" + dir.file("no-such-module.so") + " ";
  const std::string scan = unmask_cmd("scan --json --models " + models.path().string() + " " + clip);
  auto native = run_command(no_module + scan);
  EXPECT_EQ(native.exit_code, 0) << native.err;
  auto r = run_command(no_module + "UNMASK_NN_INFERENCE=torch " + scan);
  EXPECT_EQ(r.exit_code, 4);
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("libunmask_nn_torch.so"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no-such-module.so"), std::string::npos) << r.err;
#if !defined(__SANITIZE_ADDRESS__)
  // Not even loaded (sanitizer builds link the module at start-up, see src/nn/CMakeLists.txt).
  auto files = run_command("LD_DEBUG=files " + scan);
  EXPECT_EQ(files.exit_code, 0);
  EXPECT_NE(files.err.find("libavcodec"), std::string::npos) << "LD_DEBUG printed nothing";
  EXPECT_EQ(files.err.find("libtorch"), std::string::npos) << "scan loaded LibTorch";
#endif
}

TEST(CliScan, AFileNameThatIsNotUtf8GivesJsonAndAnEvalRow) {
  // Linux file names are bytes: an archive named in Latin-1 ("caf\xe9.mp4") is an ordinary file.
  // Its name reaches the JSON, which must still be written (not exit 5 after the whole scan).
  TempDir dir, models;
  write_tiny_blend(models.path().string());
  const std::string clip = dir.file("caf\xe9 \x93" "clip.mp4");
  testing::write_pattern_clip(clip, {});
  const std::string named = "'" + clip + "'";
  for (const std::string& args : {"probe --json " + named, "scan --json --models " + models.path().string() + " " + named}) {
    auto r = run_command(unmask_cmd(args));
    ASSERT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    const std::string path = j.contains("input") ? j["input"]["path"] : j["path"];
    EXPECT_NE(path.find("caf\xef\xbf\xbd \xef\xbf\xbd" "clip.mp4"), std::string::npos)  // U+FFFD for each byte
        << path;
  }
  std::ofstream(dir.file("m.csv")) << "path,label\n" << clip << ",real\n";
  auto e = run_command(unmask_cmd("eval --json --models " + models.path().string() + " --manifest " + dir.file("m.csv")));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  auto j = nlohmann::json::parse(e.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << e.out;
  EXPECT_EQ(j["n_failed"], 0);
}

TEST(CliScan, WeightsThatDoNotFitExitFourEvenWhenNoFaceNeedsThem) {
  // scan builds its networks beside the decode; a model whose weights do not fit its header's
  // architecture is still a model error, also when the clip has no face to score.
  TempDir dir, models;
  nn::ModelSpec spec = *nn::default_spec("blend_cnn_tiny");
  auto net = nn::Trainable::create(spec, 5, {});
  ASSERT_TRUE(net.ok());
  auto file = nn::detail::decode_model_file(*net->freeze()->to_bytes(), "tiny");
  ASSERT_TRUE(file.ok());
  spec.widths[5] += 8;  // the head is wider than the weights
  const nn::Metadata meta = {{detect::kBlendMetaSize, "32"}, {detect::kBlendMetaMargin, "0.25"},
                             {detect::kBlendMetaCalibration, "platt -1 0"}};
  std::ofstream(models.file("blend.unm"), std::ios::binary) << *nn::detail::encode_model_file(spec, meta, file->weights);
  const std::string clip = dir.file("clip.mp4");
  testing::write_pattern_clip(clip, {});
  auto r = run_command(unmask_cmd("scan --json --models " + models.path().string() + " " + clip));
  EXPECT_EQ(r.exit_code, 4);
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("do not fit"), std::string::npos) << r.err;
}

TEST(CliScan, ScansAClipAnImageAndAudioWithAModelFolder) {
  TempDir dir, models;
  write_tiny_blend(models.path().string());
  const std::string flags = "--models " + models.path().string() + " ";

  testing::FaceClipSpec spec;
  spec.n_frames = 25;
  spec.tone_hz = 300;
  testing::Sprite tom;
  tom.image = testing::face_photo("tom", 150);
  tom.top_left = testing::linear_path(100, 40, 300, 60, spec.n_frames);
  spec.sprites.push_back(tom);
  const std::string clip = dir.file("face.mp4");
  testing::write_face_clip(clip, spec);

  // --html prints the text summary; --report-dir writes every rendering; nothing on stderr.
  auto r = run_command(unmask_cmd("scan --quiet " + flags + clip + " --html " + dir.file("r.html") + " --report-dir " +
                                  dir.file("rep")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_EQ(r.out.rfind("verdict   ", 0), 0u) << r.out;
  EXPECT_TRUE(std::filesystem::file_size(dir.file("r.html")) > 1000);
  for (const char* f : {"rep/report.json", "rep/report.html", "rep/report.txt", "rep/track_0.png"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.file(f))) << f;
  }
  std::ifstream json_file(dir.file("rep/report.json"));
  const auto doc = nlohmann::json::parse(json_file);
  EXPECT_EQ(doc["schema"], "unmask.report/1");
  ASSERT_EQ(doc["faces"].size(), 1u);
  EXPECT_EQ(doc["detectors"][0]["name"], "blend");
  EXPECT_EQ(doc["detectors"][0]["model_sha256"].get<std::string>().size(), 64u);

  const std::string photo = dir.file("tom.jpg");
  ASSERT_TRUE(media::write_image(photo, testing::face_photo("tom", 300)).is_ok());
  // JSON on stdout when it is not a terminal, without --json.
  auto img = run_command(unmask_cmd("scan --quiet " + flags + photo));
  ASSERT_EQ(img.exit_code, 0) << img.err;
  EXPECT_EQ(nlohmann::json::parse(img.out)["faces"].size(), 1u);

  // An audio file with only a face detector installed: nothing to judge, still exit 0.
  const std::string wav = dir.file("tone.wav");
  testing::write_wav(wav, testing::make_tone(300, 1.0, 16000));
  auto audio = run_command(unmask_cmd("scan --quiet --json " + flags + wav));
  ASSERT_EQ(audio.exit_code, 0) << audio.err;
  const auto a = nlohmann::json::parse(audio.out);
  EXPECT_EQ(a["verdict"], "not_applicable");
  EXPECT_EQ(a["input"]["has_video"], false);

  // eval over the three, plus a broken item that is counted, not fatal.
  std::ofstream(dir.file("broken.mp4")) << "not media";
  std::ofstream(dir.file("m.csv")) << "path,label\nface.mp4,real\ntom.jpg,fake\ntone.wav,real\nbroken.mp4,fake\n";
  auto e = run_command(unmask_cmd("eval --quiet --json --frames 4 " + flags + "--manifest " + dir.file("m.csv") + " --roc " +
                                  dir.file("roc.svg")));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const auto ev = nlohmann::json::parse(e.out);
  EXPECT_EQ(ev["n_failed"], 1);
  EXPECT_EQ(ev["n_real"], 2);
  EXPECT_EQ(ev["n_fake"], 1);
  for (const char* k : {"auc", "ap", "eer", "log_loss", "accuracy"}) EXPECT_TRUE(ev[k].is_number()) << k;
  EXPECT_TRUE(ev["auc_ci95"].is_null());  // 2 real, 1 fake: too few to resample (learn::roc_auc_interval)
  ASSERT_EQ(ev["per_item"].size(), 4u);
  EXPECT_TRUE(ev["per_item"][3]["score"].is_null());
  EXPECT_TRUE(ev["detectors"].contains("blend"));
  EXPECT_TRUE(std::filesystem::exists(dir.file("roc.svg")));

  // The text summary names a failed item's file once ("failed: <path>: <why>").
  auto t = run_command(unmask_cmd("eval --quiet --frames 4 " + flags + "--manifest " + dir.file("m.csv")));
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const std::string broken = dir.file("broken.mp4");
  const size_t at = t.out.find("failed: " + broken + ": ");
  ASSERT_NE(at, std::string::npos) << t.out;
  EXPECT_NE(t.out.find("AUC 95% int."), std::string::npos) << t.out;
  const std::string line = t.out.substr(at, t.out.find('\n', at) - at);
  EXPECT_EQ(line.find(broken, 8 + broken.size()), std::string::npos) << line;
}

}  // namespace
}  // namespace unmask
