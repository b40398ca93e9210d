#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report/report.h"

namespace unmask::report {
namespace {

Report sample_report() {
  Report r;
  r.input.path = "clip <1>.mp4";
  r.input.sha256 = std::string(64, 'a');
  r.input.duration_s = 10.0;
  r.input.has_video = true;
  r.input.has_audio = true;
  r.input.format = "mov,mp4";
  r.input.video_codec = "h264";
  r.input.width_px = 1280;
  r.input.height_px = 720;
  r.input.fps = 29.97;
  r.input.audio_codec = "aac";
  r.verdict = Verdict::kManipulated;
  r.reason = "Face track 0 shows blending seams & colour mismatch.";
  r.score = 0.93456;
  FaceTrack t;
  t.track_id = 0;
  t.start_s = 0.0;
  t.end_s = 10.0;
  t.score = 0.95;
  t.evidence = {"0:02-0:07: blending seams, 0.94"};
  t.frames = {{0.0, 0.9, {10, 20, 100, 120}}, {1.0, 0.97, {12, 20, 100, 120}}};
  t.thumbnail_png = std::string("\x89PNG\r\n", 6);
  r.faces.push_back(t);
  AudioSection a;
  a.score = 0.1;
  a.voice = VoiceResult{0.1, {{0.5, 2.0, 0.12}}};
  a.lipsync = LipsyncResult{0.2, 320, 0.8};
  r.audio = a;
  r.watermark.checked = true;
  r.detectors.push_back({"blend", "1", 0.95, std::string(64, 'b')});
  r.timing_s["total"] = 3.2;
  r.timing_s["decode"] = 0.8;
  r.options["frames"] = "32";
  return r;
}

TEST(ReportJson, HasEveryContractFieldWithTheRightType) {
  const auto j = nlohmann::json::parse(to_json(sample_report()));
  EXPECT_EQ(j["schema"], "unmask.report/1");
  EXPECT_EQ(j["tool"]["name"], "unmask");
  EXPECT_TRUE(j["tool"]["version"].is_string());
  for (const char* k : {"path", "sha256"}) EXPECT_TRUE(j["input"][k].is_string()) << k;
  EXPECT_TRUE(j["input"]["duration_s"].is_number());
  EXPECT_TRUE(j["input"]["has_video"].is_boolean());
  EXPECT_TRUE(j["input"]["has_audio"].is_boolean());
  EXPECT_EQ(j["verdict"], "manipulated");
  EXPECT_TRUE(j["reason"].is_string());
  EXPECT_DOUBLE_EQ(j["score"].get<double>(), 0.9346);
  ASSERT_TRUE(j["faces"].is_array());
  const auto& face = j["faces"][0];
  EXPECT_TRUE(face["track_id"].is_number_integer());
  for (const char* k : {"start_s", "end_s", "score"}) EXPECT_TRUE(face[k].is_number()) << k;
  const auto& frame = face["frames"][1];
  EXPECT_TRUE(frame["t_s"].is_number());
  EXPECT_TRUE(frame["score"].is_number());
  ASSERT_TRUE(frame["box"].is_array());
  EXPECT_EQ(frame["box"].size(), 4u);
  EXPECT_TRUE(j["audio"]["score"].is_number());
  EXPECT_TRUE(j["audio"]["voice"]["score"].is_number());
  EXPECT_EQ(j["audio"]["lipsync"]["offset_ms"], 320);
  EXPECT_TRUE(j["audio"]["lipsync"]["confidence"].is_number());
  EXPECT_EQ(j["watermark"]["found"], false);
  EXPECT_FALSE(j["watermark"].contains("issuer")) << "no payload when nothing was found";
  EXPECT_EQ(j["detectors"][0]["name"], "blend");
  EXPECT_TRUE(j["detectors"][0]["model_sha256"].is_string());
  EXPECT_DOUBLE_EQ(j["timing"]["total_s"].get<double>(), 3.2);
  EXPECT_DOUBLE_EQ(j["timing"]["decode_s"].get<double>(), 0.8);
}

TEST(ReportJson, NoAudioIsNull) {
  Report r = sample_report();
  r.audio.reset();
  EXPECT_TRUE(nlohmann::json::parse(to_json(r))["audio"].is_null());
}

TEST(ReportJson, RoundTrips) {
  Report r = sample_report();
  r.watermark.found = true;
  r.watermark.issuer = 4660;
  r.watermark.synthetic = true;
  const std::string once = to_json(r);
  auto back = from_json(once);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(to_json(*back), once);
  EXPECT_EQ(back->watermark.issuer, 4660u);
  EXPECT_EQ(back->faces[0].frames[1].box.x, 12);
}

TEST(ReportJson, RejectsForeignDocuments) {
  EXPECT_EQ(from_json("{}").status().code(), StatusCode::kInput);
  EXPECT_EQ(from_json("not json").status().code(), StatusCode::kInput);
  EXPECT_EQ(from_json(R"({"schema":"unmask.report/1"})").status().code(), StatusCode::kInput);
}

TEST(ReportText, LeadsWithTheVerdictAndListsEvidence) {
  const std::string text = to_text(sample_report());
  EXPECT_EQ(text.rfind("verdict   manipulated (score 0.93)", 0), 0u) << text;
  EXPECT_NE(text.find("face      track 0, 0:02-0:07: blending seams, 0.94\n"), std::string::npos) << text;
  EXPECT_NE(text.find("voice     natural speech, 0.10"), std::string::npos) << text;
  EXPECT_NE(text.find("lipsync   mismatch 0.20; best match: audio lags the lips by 320 ms (how clearly that lag stands out: 0.80)"),
            std::string::npos)
      << text;
}

TEST(ReportText, ControlBytesInTheFileNameAreShownEscaped) {
  // A name may hold a newline or a terminal escape sequence; the text report is for a terminal.
  Report r = sample_report();
  r.input.path = "a\nb\x1b]0;pwned\x07.mp4";
  const std::string text = to_text(r);
  EXPECT_NE(text.find("input     a\\x0ab\\x1b]0;pwned\\x07.mp4, 10.00 s"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  r.input.path = "caf\xc3\xa9.mp4";  // UTF-8 stays as it is
  EXPECT_NE(to_text(r).find("input     caf\xc3\xa9.mp4"), std::string::npos);
}

TEST(ReportFormats, NumbersAndClockTimes) {
  EXPECT_EQ(fixed_text(0.94123), "0.94");
  EXPECT_EQ(fixed_text(0.996), "1.00");
  EXPECT_EQ(fixed_text(12.5, 1), "12.5");
  EXPECT_EQ(clock_text(0.0), "0:00");
  EXPECT_EQ(clock_text(-3.0), "0:00");
  EXPECT_EQ(clock_text(59.6), "1:00");
  EXPECT_EQ(clock_text(125.0), "2:05");
  EXPECT_EQ(clock_text(3725.0), "1:02:05");
}

TEST(ReportText, ATrackPastAnHourShowsHours) {
  Report r = sample_report();
  r.faces[0].evidence.clear();
  r.faces[0].start_s = 3600.0;
  r.faces[0].end_s = 3725.0;
  EXPECT_NE(to_text(r).find("track 0, 1:00:00-1:02:05: score 0.95"), std::string::npos) << to_text(r);
}

TEST(ReportHtml, SelfContainedEscapedAndVerdictFirst) {
  const std::string html = to_html(sample_report());
  EXPECT_EQ(html.rfind("<!doctype html>", 0), 0u);
  const size_t verdict = html.find("Manipulated");
  const size_t timeline = html.find("<svg");
  ASSERT_NE(verdict, std::string::npos);
  ASSERT_NE(timeline, std::string::npos);
  EXPECT_LT(verdict, timeline);
  EXPECT_NE(html.find("clip &lt;1&gt;.mp4"), std::string::npos) << "paths are escaped";
  EXPECT_EQ(html.find("clip <1>.mp4"), std::string::npos);
  EXPECT_NE(html.find("data:image/png;base64,iVBORw0K"), std::string::npos);
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // Nothing is fetched from the network: the only URL is the SVG namespace.
  const std::string svg_ns = "http://www.w3.org/2000/svg";
  size_t pos = 0, urls = 0;
  while ((pos = html.find("http", pos)) != std::string::npos) {
    urls += html.compare(pos, svg_ns.size(), svg_ns) != 0;
    ++pos;
  }
  EXPECT_EQ(urls, 0u);
}

TEST(ReportHtml, InputFactsReadAsAPersonWould) {
  Report r = sample_report();
  r.input.path = "/media/Clip.MP4";
  r.input.format = "mov,mp4,m4a,3gp,3g2,mj2";
  r.input.size_bytes = 305102;
  std::string html = to_html(r);
  EXPECT_NE(html.find("mp4 <span class=\"muted\">(read as mov,mp4,m4a,3gp,3g2,mj2)</span>"), std::string::npos);
  EXPECT_NE(html.find("298 KiB (305102 bytes)"), std::string::npos);
  r.input.path = "/media/clip.bin";  // no name of the list matches: the list as it is
  r.input.size_bytes = 3 * 1024 * 1024 + 1024 * 1024 / 2;
  html = to_html(r);
  EXPECT_NE(html.find("<td>mov,mp4,m4a,3gp,3g2,mj2</td>"), std::string::npos) << html.substr(html.find("container"), 120);
  EXPECT_NE(html.find("3.5 MiB (3670016 bytes)"), std::string::npos);
  r.input.path = "clip.webm";
  r.input.format = "matroska,webm";
  r.input.size_bytes = 900;
  html = to_html(r);
  EXPECT_NE(html.find("webm <span class=\"muted\">(read as matroska,webm)</span>"), std::string::npos);
  EXPECT_NE(html.find("900 bytes"), std::string::npos);
}

TEST(Base64, KnownVectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
}

}  // namespace
}  // namespace unmask::report
