// unmask report: the result of a scan as one value type, and its three renderings — canonical
// JSON (schema "unmask.report/1", CONTRACT.md), plain text for a terminal, and a self-contained
// HTML page (inline CSS and SVG, no network).
//
// Basic usage:
//
//   unmask::report::Report r;
//   r.input.path = "clip.mp4";
//   r.verdict = unmask::report::Verdict::kManipulated;
//   r.reason = "Face track 0 shows blending seams in 41 of 50 sampled frames.";
//   r.score = 0.93;
//   std::string json = unmask::report::to_json(r);    // stable key order, 2-space indent
//   auto back = unmask::report::from_json(json);      // Result<Report>
//   std::string page = unmask::report::to_html(r);
//
// Depends on core only; nlohmann-json stays inside the .cpp files.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/core.h"

namespace unmask::report {

inline constexpr const char* kSchema = "unmask.report/1";

enum class Verdict { kAuthentic, kSuspicious, kManipulated, kNotApplicable };
std::string_view verdict_name(Verdict v);  // "authentic", "suspicious", ...
Result<Verdict> parse_verdict(std::string_view name);

struct InputFacts {
  std::string path;
  std::string sha256;
  double duration_s = 0.0;
  bool has_video = false;
  bool has_audio = false;
  std::string format;          // container, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::string video_codec;     // empty when there is no video
  int width_px = 0;
  int height_px = 0;
  double fps = 0.0;
  std::string audio_codec;     // empty when there is no audio
  int64_t size_bytes = 0;
};

// One scored frame of a face track: time, probability of manipulation, face box in the frame.
struct FrameScore {
  double t_s = 0.0;
  double score = 0.0;
  Box box;
};

struct FaceTrack {
  int track_id = 0;
  double start_s = 0.0;
  double end_s = 0.0;
  double score = 0.0;                 // calibrated, per track
  std::vector<FrameScore> frames;     // the sampled frames, in time order
  std::vector<std::string> evidence;  // short sentences, e.g. "blending seams, 0.94"
  std::string thumbnail_png;          // PNG bytes of the face with the detector's heatmap; may be empty
};

struct TimedScore {
  double start_s = 0.0;
  double end_s = 0.0;
  double score = 0.0;
};

struct VoiceResult {
  double score = 0.0;                 // probability the speech is synthetic
  std::vector<TimedScore> segments;   // per voiced segment
};

struct LipsyncResult {
  double score = 0.0;                 // probability lips and voice do not belong together
  int offset_ms = 0;                  // best audio offset; positive = audio lags the lips
  double confidence = 0.0;
};

struct AudioSection {
  std::optional<double> score;        // fused audio score; absent when nothing could be judged
  std::optional<VoiceResult> voice;
  std::optional<LipsyncResult> lipsync;
  std::string note;                   // e.g. "no speech found", "video has no audio track"
};

struct WatermarkSection {
  bool checked = false;               // false: the check did not run
  bool found = false;
  uint32_t issuer = 0;                // meaningful only when found
  bool synthetic = false;
  double confidence = 0.0;
  bool signature_present = false;
  bool signature_valid = false;
  double tamper_fraction_frames = 0.0;
};

struct DetectorRun {
  std::string name;
  std::string version;
  double score = 0.0;
  std::string model_sha256;           // empty for detectors without weights
};

struct Report {
  std::string tool_version;           // filled from core::version() when empty
  InputFacts input;
  Verdict verdict = Verdict::kNotApplicable;
  std::string reason;
  double score = 0.0;                 // calibrated probability that the media is manipulated
  std::vector<FaceTrack> faces;
  std::optional<AudioSection> audio;  // absent: JSON null
  WatermarkSection watermark;
  std::vector<DetectorRun> detectors;
  std::map<std::string, double> timing_s;        // "total", "decode", ... -> seconds
  std::map<std::string, std::string> options;    // options and seeds the scan ran with
};

// Canonical JSON: fields in the contract's order, numbers rounded to 4 decimals.
std::string to_json(const Report& report);
// Parses a report written by to_json (e.g. a stored job); input error when it does not conform.
Result<Report> from_json(std::string_view json);
// A few readable lines: verdict, score, reason, evidence per track and for audio.
std::string to_text(const Report& report);
// A self-contained HTML page: verdict first, timeline SVG, tracks with thumbnails, watermark,
// input facts, versions. Works at desktop and phone widths.
std::string to_html(const Report& report);

// Numbers and times as every report and evidence line prints them: fixed_text(0.9412) "0.94"
// (`decimals` after the point), clock_text(125) "2:05", from one hour "1:02:05" (rounded to the
// second; negative times print as 0:00).
std::string fixed_text(double v, int decimals = 2);
std::string clock_text(double t_s);

// Base64 of bytes (for data: URIs in the HTML).
std::string base64(std::string_view bytes);

}  // namespace unmask::report
