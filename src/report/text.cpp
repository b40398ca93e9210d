// Plain-text rendering of a report for a terminal: verdict first, then the evidence.
#include <cstdio>

#include "report/report.h"

namespace unmask::report {
namespace {

std::string clock(double t_s) {
  char buf[32];
  const int total = static_cast<int>(t_s + 0.5);
  std::snprintf(buf, sizeof buf, "%d:%02d", total / 60, total % 60);
  return buf;
}

std::string fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

}  // namespace

std::string to_text(const Report& r) {
  std::string out;
  out += "verdict   " + std::string(verdict_name(r.verdict)) + " (score " + fixed2(r.score) + ")\n";
  out += "reason    " + r.reason + "\n";
  out += "input     " + r.input.path;
  if (r.input.duration_s > 0) out += ", " + fixed2(r.input.duration_s) + " s";
  if (r.input.has_video && r.input.width_px > 0) {
    out += ", " + std::to_string(r.input.width_px) + "x" + std::to_string(r.input.height_px);
  }
  out += "\n";
  // One line per piece of evidence: "track 0, 0:02-0:07: blending seams, 0.94".
  for (const FaceTrack& t : r.faces) {
    const std::string head = "face      track " + std::to_string(t.track_id) + ", ";
    if (t.evidence.empty()) {
      out += head + clock(t.start_s) + "-" + clock(t.end_s) + ": score " + fixed2(t.score) + "\n";
    }
    for (const std::string& e : t.evidence) out += head + e + "\n";
  }
  if (r.audio) {
    const AudioSection& a = *r.audio;
    if (a.voice) {
      const double v = a.voice->score;
      out += "voice     " + std::string(v >= 0.75 ? "synthetic speech likely" : v >= 0.4 ? "synthetic speech possible"
                                                                                  : "natural speech") +
             ", " + fixed2(v) + "\n";
    }
    if (a.lipsync) {
      const LipsyncResult& l = *a.lipsync;
      std::string line = "lipsync   ";
      if (l.offset_ms > 0) line += "audio lags the lips by " + std::to_string(l.offset_ms) + " ms";
      else if (l.offset_ms < 0) line += "audio leads the lips by " + std::to_string(-l.offset_ms) + " ms";
      else line += "lips and voice in step";
      line += ", mismatch " + fixed2(l.score) + " (confidence " + fixed2(l.confidence) + ")";
      out += line + "\n";
    }
    if (!a.note.empty()) out += "audio     " + a.note + "\n";
  }
  if (r.watermark.found) {
    out += "watermark issuer " + std::to_string(r.watermark.issuer) +
           (r.watermark.synthetic ? ", marked SYNTHETIC" : ", not synthetic") +
           (r.watermark.signature_present ? (r.watermark.signature_valid ? ", signature valid" : ", signature INVALID") : "") +
           "\n";
  } else if (r.watermark.checked) {
    out += "watermark none found\n";
  }
  for (const DetectorRun& d : r.detectors) {
    out += "detector  " + d.name + " v" + d.version + ": " + fixed2(d.score) + "\n";
  }
  if (!out.empty()) out.pop_back();
  return out;
}

}  // namespace unmask::report
