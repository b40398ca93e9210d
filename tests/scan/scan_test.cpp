// scan_file end to end on generated media, with tiny detectors built in the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "mark/mark.h"
#include "media/media.h"
#include "nn/nn.h"
#include "report/report.h"
#include "scan/scan.h"
#include "scan/test_detectors.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"

namespace unmask::scan {
namespace {

using testing::TempDir;

// Shared across the tests of this binary: face models (~1 s to load) and the tiny detectors.
struct Shared {
  TempDir models_dir;
  std::shared_ptr<const face::FaceModels> faces;
  std::shared_ptr<const detect::DetectorSet> detectors;
};
Shared& shared() {
  static Shared* s = [] {
    nn::set_num_threads(1);
    auto* x = new Shared;
    auto models = face::FaceModels::load();
    if (!models.ok()) throw std::runtime_error(models.status().message());
    x->faces = *models;
    x->detectors = testing::make_tiny_detector_set(x->models_dir.path().string());
    return x;
  }();
  return *s;
}

ScanOptions options() {
  ScanOptions o;
  o.face_models = shared().faces;
  o.detector_set = shared().detectors;
  return o;
}

// Tom's photo moving across a textured background, 3 s at 25 fps, with a tone when asked.
void write_face_clip(const std::string& path, double tone_hz, int n_frames = 75) {
  testing::FaceClipSpec spec;
  spec.n_frames = n_frames;
  spec.tone_hz = tone_hz;
  spec.background = [](int) { return testing::make_textured_background(640, 360, 0); };
  testing::Sprite tom;
  tom.image = testing::face_photo("tom", 150);
  tom.top_left = testing::linear_path(60, 40, 420, 60, n_frames);
  spec.sprites.push_back(tom);
  testing::write_face_clip(path, spec);
}

template <typename F>
void expect_number(const nlohmann::json& j, const char* key, F check) {
  ASSERT_TRUE(j.contains(key)) << key;
  ASSERT_TRUE(j[key].is_number()) << key << " = " << j[key];
  check(j[key].get<double>());
}

TEST(Scan, JsonFollowsTheContract) {
  TempDir dir;
  const std::string clip = dir.file("face.mp4");
  write_face_clip(clip, 440.0);
  auto r = scan_file(clip, options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto j = nlohmann::json::parse(report::to_json(*r));

  EXPECT_EQ(j["schema"], "unmask.report/1");
  EXPECT_EQ(j["tool"]["name"], "unmask");
  EXPECT_TRUE(j["tool"]["version"].is_string());
  const auto& in = j["input"];
  EXPECT_EQ(in["path"], clip);
  ASSERT_TRUE(in["sha256"].is_string());
  EXPECT_EQ(in["sha256"], *sha256_file(clip));
  expect_number(in, "duration_s", [](double d) { EXPECT_NEAR(d, 3.0, 0.1); });
  EXPECT_EQ(in["has_video"], true);
  EXPECT_EQ(in["has_audio"], true);
  EXPECT_TRUE(in["format"].is_string());
  EXPECT_TRUE(in["size_bytes"].is_number_integer());
  EXPECT_EQ(in["video_codec"], "h264");
  EXPECT_EQ(in["width"], 640);
  EXPECT_EQ(in["height"], 360);
  EXPECT_EQ(in["audio_codec"], "aac");

  ASSERT_TRUE(j["verdict"].is_string());
  EXPECT_TRUE(report::parse_verdict(j["verdict"].get<std::string>()).ok());
  EXPECT_NE(j["verdict"], "not_applicable") << "a face was there to judge";
  ASSERT_TRUE(j["reason"].is_string());
  EXPECT_FALSE(j["reason"].get<std::string>().empty());
  expect_number(j, "score", [](double s) { EXPECT_TRUE(s >= 0 && s <= 1); });

  ASSERT_TRUE(j["faces"].is_array());
  ASSERT_EQ(j["faces"].size(), 1u);
  const auto& t = j["faces"][0];
  EXPECT_TRUE(t["track_id"].is_number_integer());
  expect_number(t, "start_s", [](double s) { EXPECT_LT(s, 0.5); });
  expect_number(t, "end_s", [](double s) { EXPECT_GT(s, 2.5); });
  expect_number(t, "score", [](double s) { EXPECT_TRUE(s >= 0 && s <= 1); });
  ASSERT_TRUE(t["frames"].is_array());
  ASSERT_FALSE(t["frames"].empty());
  double last_t = -1;
  for (const auto& f : t["frames"]) {
    expect_number(f, "t_s", [&](double ts) { EXPECT_GT(ts, last_t); last_t = ts; });
    expect_number(f, "score", [](double s) { EXPECT_TRUE(s >= 0 && s <= 1); });
    ASSERT_TRUE(f["box"].is_array());
    ASSERT_EQ(f["box"].size(), 4u);
    for (const auto& v : f["box"]) EXPECT_TRUE(v.is_number());
    EXPECT_GT(f["box"][2].get<double>(), 40.0) << "face box width";
  }
  EXPECT_TRUE(t["evidence"].is_array());

  const auto& a = j["audio"];
  ASSERT_TRUE(a.is_object());
  EXPECT_TRUE(a["score"].is_number() || a["score"].is_null());
  ASSERT_TRUE(a["voice"].is_object()) << "the tone is loud enough for the test voice detector";
  expect_number(a["voice"], "score", [](double s) { EXPECT_TRUE(s >= 0 && s <= 1); });
  EXPECT_TRUE(a["voice"]["segments"].is_array());
  EXPECT_TRUE(a["lipsync"].is_object() || a["lipsync"].is_null());
  if (a["lipsync"].is_object()) {
    expect_number(a["lipsync"], "score", [](double) {});
    EXPECT_TRUE(a["lipsync"]["offset_ms"].is_number_integer());
    expect_number(a["lipsync"], "confidence", [](double) {});
  }
  EXPECT_TRUE(a["note"].is_string());

  ASSERT_TRUE(j["watermark"].is_object());
  EXPECT_EQ(j["watermark"]["found"], false);
  EXPECT_EQ(j["watermark"]["checked"], true);

  ASSERT_TRUE(j["detectors"].is_array());
  ASSERT_GE(j["detectors"].size(), 2u) << "the crop and the audio detector both judged";
  for (const auto& d : j["detectors"]) {
    EXPECT_TRUE(d["name"].is_string());
    EXPECT_TRUE(d["version"].is_string());
    expect_number(d, "score", [](double s) { EXPECT_TRUE(s >= 0 && s <= 1); });
    EXPECT_TRUE(d["model_sha256"].is_string());
  }
  EXPECT_EQ(j["detectors"][0]["name"], "blend");
  EXPECT_EQ(j["detectors"][0]["model_sha256"].get<std::string>().size(), 64u);

  ASSERT_TRUE(j["timing"].is_object());
  expect_number(j["timing"], "total_s", [](double s) { EXPECT_GT(s, 0); });
  expect_number(j["timing"], "decode_s", [](double s) { EXPECT_GE(s, 0); });
  ASSERT_TRUE(j["options"].is_object());
  EXPECT_EQ(j["options"]["frames"], "32");

  // The document reads back.
  auto back = report::from_json(report::to_json(*r));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->verdict, r->verdict);
}

TEST(Scan, ClipWithoutFaceOrSoundIsNotApplicable) {
  TempDir dir;
  const std::string clip = dir.file("pattern.mp4");
  testing::write_pattern_clip(clip, {});
  auto r = scan_file(clip, options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->verdict, report::Verdict::kNotApplicable);
  EXPECT_NE(r->reason.find("No face"), std::string::npos) << r->reason;
  EXPECT_TRUE(r->faces.empty());
  EXPECT_DOUBLE_EQ(r->score, 0.5);
  EXPECT_FALSE(r->audio.has_value());
  EXPECT_TRUE(r->detectors.empty());
}

TEST(Scan, AnAudioStreamThatCannotBeDecodedLeavesTheFacesJudged) {
  // A Matroska file whose audio track's codec setup (CodecPrivate, the second one in the file:
  // the video's comes first) is garbage: the video decodes, the audio decoder cannot open. The
  // audio is analysed on its own thread beside the video: its failure is a note, the faces are
  // still judged, and the scan succeeds.
  TempDir dir;
  const std::string good = dir.file("face.mkv");
  write_face_clip(good, 440.0);
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string codec_private("\x63\xA2", 2);
  const size_t video_setup = bytes.find(codec_private);
  ASSERT_NE(video_setup, std::string::npos);
  const size_t audio_setup = bytes.find(codec_private, video_setup + 2);
  ASSERT_NE(audio_setup, std::string::npos);
  const int size = static_cast<unsigned char>(bytes[audio_setup + 2]) & 0x7f;  // one-byte EBML size
  ASSERT_GT(size, 0);
  for (int k = 0; k < size; ++k) bytes[audio_setup + 3 + k] = '\xFF';
  const std::string bad = dir.file("bad_audio.mkv");
  std::ofstream(bad, std::ios::binary) << bytes;

  auto info = media::probe(bad);
  ASSERT_TRUE(info.ok()) << info.status().message();
  ASSERT_TRUE(info->audio.has_value()) << "the stream is still listed";
  auto r = scan_file(bad, options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_FALSE(r->faces.empty()) << "the video was tracked";
  ASSERT_TRUE(r->audio.has_value());
  EXPECT_NE(r->audio->note.find("audio could not be decoded"), std::string::npos) << r->audio->note;
  EXPECT_FALSE(r->audio->voice.has_value());
  EXPECT_NE(r->verdict, report::Verdict::kNotApplicable) << r->reason;
}

TEST(Scan, SyntheticWatermarkMakesItManipulated) {
  TempDir dir;
  const std::string clip = dir.file("face.mp4");
  write_face_clip(clip, 0.0, 50);
  const std::string marked = dir.file("marked.mp4");
  auto embedded = mark::embed_file(clip, marked, mark::synthetic_options("test"));
  ASSERT_TRUE(embedded.ok()) << embedded.status().message();
  auto r = scan_file(marked, options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->watermark.found);
  EXPECT_TRUE(r->watermark.synthetic);
  EXPECT_EQ(r->verdict, report::Verdict::kManipulated);
  EXPECT_GE(r->score, 0.99);
  EXPECT_NE(r->reason.find("synthetic flag"), std::string::npos) << r->reason;
  // The unmarked original is not reported as marked.
  auto plain = scan_file(clip, options());
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->watermark.found);
  EXPECT_LT(plain->score, 0.99);
}

TEST(Scan, ImageIsScanned) {
  TempDir dir;
  const std::string photo = dir.file("tom.png");
  ASSERT_TRUE(media::write_image(photo, testing::face_photo("tom", 400)).is_ok());
  auto r = scan_file(photo, options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->faces.size(), 1u);
  EXPECT_EQ(r->faces[0].frames.size(), 1u);
  EXPECT_NE(r->verdict, report::Verdict::kNotApplicable);
  EXPECT_TRUE(r->input.has_video);
  EXPECT_FALSE(r->input.has_audio);
  ASSERT_EQ(r->detectors.size(), 1u);
  EXPECT_NEAR(r->score, r->detectors[0].score, 1e-9) << "one detector, one face: the fused score is its score";
  EXPECT_NEAR(r->faces[0].score, r->faces[0].frames[0].score, 1e-6);
}

// A crop detector that judges stills only: the tiny detector under another name.
class StillsOnly : public detect::CropDetector {
 public:
  explicit StillsOnly(std::shared_ptr<const detect::CropDetector> inner) : inner_(std::move(inner)), info_(inner_->info()) {
    info_.name = "stills";
    info_.stills_only = true;
  }
  const detect::DetectorInfo& info() const override { return info_; }
  face::AlignOptions alignment() const override { return inner_->alignment(); }
  Result<std::vector<detect::CropScore>> score(std::span<const Image> crops) const override { return inner_->score(crops); }

 private:
  std::shared_ptr<const detect::CropDetector> inner_;
  detect::DetectorInfo info_;
};

TEST(Scan, StillsOnlyDetectorsJudgeImagesNotVideos) {
  auto set = std::make_shared<detect::DetectorSet>(*shared().detectors);
  set->crop.push_back(std::make_shared<StillsOnly>(set->crop.at(0)));
  ScanOptions o = options();
  o.detector_set = set;
  auto judged_by_stills = [](const report::Report& r) {
    return std::any_of(r.detectors.begin(), r.detectors.end(), [](const auto& d) { return d.name == "stills"; });
  };
  TempDir dir;
  const std::string photo = dir.file("tom.png");
  ASSERT_TRUE(media::write_image(photo, testing::face_photo("tom", 400)).is_ok());
  auto image = scan_file(photo, o);
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_TRUE(judged_by_stills(*image));
  const std::string clip = dir.file("face.mp4");
  write_face_clip(clip, 0.0, 30);
  auto video = scan_file(clip, o);
  ASSERT_TRUE(video.ok()) << video.status().message();
  ASSERT_FALSE(video->detectors.empty());
  EXPECT_FALSE(judged_by_stills(*video));
}

// A crop detector that judges no crop (as blend's quality gate does on soft or dark faces): NaN.
class JudgesNothing : public detect::CropDetector {
 public:
  explicit JudgesNothing(std::shared_ptr<const detect::CropDetector> inner) : inner_(std::move(inner)), info_(inner_->info()) {
    info_.name = "refuser";
  }
  const detect::DetectorInfo& info() const override { return info_; }
  face::AlignOptions alignment() const override { return inner_->alignment(); }
  Result<std::vector<detect::CropScore>> score(std::span<const Image> crops) const override {
    std::vector<detect::CropScore> out(crops.size());
    for (auto& c : out) c.score = std::numeric_limits<double>::quiet_NaN();
    return out;
  }

 private:
  std::shared_ptr<const detect::CropDetector> inner_;
  detect::DetectorInfo info_;
};

TEST(Scan, ACropDetectorThatJudgesNoFrameGivesNoEvidence) {
  TempDir dir;
  const std::string clip = dir.file("face.mp4");
  write_face_clip(clip, 0.0, 30);
  auto baseline = scan_file(clip, options());
  ASSERT_TRUE(baseline.ok()) << baseline.status().message();

  auto set = std::make_shared<detect::DetectorSet>(*shared().detectors);
  set->crop.push_back(std::make_shared<JudgesNothing>(set->crop.at(0)));
  ScanOptions o = options();
  o.detector_set = set;
  auto r = scan_file(clip, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (const auto& d : r->detectors) EXPECT_NE(d.name, "refuser") << "no judged frame is no score, not 0.5";
  EXPECT_NEAR(r->score, baseline->score, 1e-9);
  ASSERT_EQ(r->faces.size(), baseline->faces.size());
  for (size_t i = 0; i < r->faces.size(); ++i) {
    ASSERT_FALSE(r->faces[i].frames.empty());
    for (const auto& f : r->faces[i].frames) EXPECT_TRUE(std::isfinite(f.score));
  }

  // Only refusers: the frames have no score on the timeline and the face no crop evidence.
  auto refusers = std::make_shared<detect::DetectorSet>();
  refusers->crop.push_back(std::make_shared<JudgesNothing>(shared().detectors->crop.at(0)));
  o.detector_set = refusers;
  auto none = scan_file(clip, o);
  ASSERT_TRUE(none.ok()) << none.status().message();
  for (const auto& f : none->faces) EXPECT_TRUE(f.frames.empty());
  for (const auto& d : none->detectors) EXPECT_NE(d.name, "refuser");
  // The report says the face was not looked at, rather than only "no sign of manipulation".
  ASSERT_FALSE(none->faces.empty());
  const auto& ev = none->faces[0].evidence;
  EXPECT_TRUE(std::any_of(ev.begin(), ev.end(), [](const std::string& e) { return e.find("refuser not judged") != std::string::npos; }))
      << (ev.empty() ? "" : ev[0]);
}

TEST(Scan, LearnedFusionOnlyWithTheDetectorsItWasFittedWith) {
  TempDir dir;
  const std::string clip = dir.file("face.mp4");
  write_face_clip(clip, 440.0, 50);
  ScanOptions o = options();
  auto baseline = scan_file(clip, o);
  ASSERT_TRUE(baseline.ok()) << baseline.status().message();
  EXPECT_EQ(baseline->options.count("warnings"), 0u);
  EXPECT_NE(baseline->options.at("fusion").find("max"), std::string::npos);

  // A model fitted with exactly these detectors: a strongly negative intercept makes its score
  // differ from the max rule's, so the test sees which rule ran.
  FusionModel m;
  m.intercept = -6.0;
  for (const detect::DetectorInfo& d : shared().detectors->infos()) m.weights.push_back({d.name, d.model_sha256, 0.5, 0.0});
  m.weights.push_back({"lipsync", "", 0.5, 0.0});
  o.fusion = std::make_shared<const FusionModel>(m);
  auto learned = scan_file(clip, o);
  ASSERT_TRUE(learned.ok()) << learned.status().message();
  EXPECT_EQ(learned->options.count("warnings"), 0u);
  EXPECT_NE(learned->options.at("fusion").find("learned"), std::string::npos);
  EXPECT_LT(learned->score, 0.05);
  EXPECT_EQ(learned->verdict, report::Verdict::kAuthentic);

  // One detector retrained since (another sha256): the max rule, and the report says why.
  m.weights[0].model_sha256 = "0000" + m.weights[0].model_sha256.substr(4);
  o.fusion = std::make_shared<const FusionModel>(m);
  auto stale = scan_file(clip, o);
  ASSERT_TRUE(stale.ok()) << stale.status().message();
  ASSERT_EQ(stale->options.count("warnings"), 1u);
  EXPECT_NE(stale->options.at("warnings").find(m.weights[0].detector), std::string::npos) << stale->options.at("warnings");
  EXPECT_NEAR(stale->score, baseline->score, 1e-9);

  // A malformed models/fusion.json is a model error naming the file (before any detector loads).
  TempDir models;
  std::ofstream(models.file("fusion.json")) << "{ broken";
  auto broken = load_available_detectors(models.path().string(), {});
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("fusion.json"), std::string::npos) << broken.status().message();
  EXPECT_EQ(broken.status().code(), StatusCode::kModel);
}

TEST(Scan, AudioFileIsScanned) {
  TempDir dir;
  const std::string wav = dir.file("speech.wav");
  // Bursts of tone with pauses: three voiced 0.5 s windows out of four.
  Audio a = testing::make_tone(220.0, 2.0, 16000, 0.3);
  for (size_t i = 16000; i < 24000; ++i) a.samples[i] = 0.0f;
  testing::write_wav(wav, a);
  auto r = scan_file(wav, options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->input.has_video);
  EXPECT_TRUE(r->input.has_audio);
  EXPECT_TRUE(r->faces.empty());
  ASSERT_TRUE(r->audio.has_value());
  ASSERT_TRUE(r->audio->voice.has_value());
  EXPECT_EQ(r->audio->voice->segments.size(), 3u);
  EXPECT_NE(r->verdict, report::Verdict::kNotApplicable);
  EXPECT_NEAR(r->score, r->audio->voice->score, 1e-9);

  const std::string quiet = dir.file("silence.wav");
  testing::write_wav(quiet, testing::make_tone(220.0, 2.0, 16000, 0.001));
  auto s = scan_file(quiet, options());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->verdict, report::Verdict::kNotApplicable);
  EXPECT_NE(s->reason.find("No speech"), std::string::npos) << s->reason;
}

TEST(Scan, CnnFramesFollowTheBudgetAndSpreadOverTheTrack) {
  TempDir dir;
  const std::string clip = dir.file("face.mp4");
  write_face_clip(clip, 0.0, 75);
  ScanOptions o = options();
  o.frames_per_track = 8;
  auto r = scan_file(clip, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->faces.size(), 1u);
  const auto& frames = r->faces[0].frames;
  EXPECT_GE(frames.size(), 8u);
  EXPECT_LE(frames.size(), 16u) << "at most twice the budget, where the score is uncertain";
  EXPECT_LT(frames.front().t_s, 0.5);
  EXPECT_GT(frames.back().t_s, 2.3);
  o.frames_per_track = 2;
  o.fast = true;
  auto fast = scan_file(clip, o);
  ASSERT_TRUE(fast.ok());
  EXPECT_LE(fast->faces.at(0).frames.size(), 2u);
  EXPECT_EQ(fast->options.at("frame_step"), "2");
}

TEST(Scan, TrackThumbnailIsAPngWithTheHeatmap) {
  TempDir dir;
  const std::string clip = dir.file("face.mp4");
  write_face_clip(clip, 0.0, 30);
  auto r = scan_file(clip, options());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->faces.size(), 1u);
  const std::string& png = r->faces[0].thumbnail_png;
  ASSERT_GT(png.size(), 100u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  ScanOptions o = options();
  o.thumbnails = false;
  auto bare = scan_file(clip, o);
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->faces.at(0).thumbnail_png.empty());
}

TEST(Scan, CorruptFileIsAnInputError) {
  TempDir dir;
  const std::string bad = dir.file("broken.mp4");
  std::ofstream(bad) << std::string(4096, '\x17') << "not a video";
  auto r = scan_file(bad, options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInput);
  EXPECT_NE(r.status().message().find(bad), std::string::npos);
  auto missing = scan_file(dir.file("missing.mp4"), options());
  EXPECT_EQ(missing.status().code(), StatusCode::kInput);
}

TEST(Scan, NoModelIsAModelError) {
  TempDir empty;
  auto set = load_available_detectors(empty.path().string(), {});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kModel);
  ScanOptions o;
  o.models_dir = empty.path().string();
  o.face_models = shared().faces;
  TempDir dir;
  const std::string clip = dir.file("pattern.mp4");
  testing::write_pattern_clip(clip, {});
  auto r = scan_file(clip, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kModel);
  o.detectors = {"no-such-detector"};
  EXPECT_EQ(scan_file(clip, o).status().code(), StatusCode::kUsage);
}

TEST(Scan, BadFrameBudgetIsAUsageError) {
  TempDir dir;
  const std::string clip = dir.file("pattern.mp4");
  testing::write_pattern_clip(clip, {});
  ScanOptions o = options();
  o.frames_per_track = 0;
  EXPECT_EQ(scan_file(clip, o).status().code(), StatusCode::kUsage);
}

}  // namespace
}  // namespace unmask::scan
