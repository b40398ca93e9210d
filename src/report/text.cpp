// Plain-text rendering of a report for a terminal (verdict first, then the evidence), and the
// number and time formats every report and evidence line shares.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/text.h"
#include "report/report.h"

namespace unmask::report {

std::string fixed_text(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string clock_text(double t_s) {
  const long total = std::lround(std::max(0.0, t_s));
  char buf[48];
  if (total >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", total / 3600, (total / 60) % 60, total % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", total / 60, total % 60);
  }
  return buf;
}

std::string to_text(const Report& r) {
  std::string out;
  out += "verdict   " + std::string(verdict_name(r.verdict)) + " (score " + fixed_text(r.score) + ")\n";
  out += "reason    " + r.reason + "\n";
  out += "input     " + printable_text(r.input.path);
  if (r.input.duration_s > 0) out += ", " + fixed_text(r.input.duration_s) + " s";
  if (r.input.has_video && r.input.width_px > 0) {
    out += ", " + std::to_string(r.input.width_px) + "x" + std::to_string(r.input.height_px);
  }
  out += "\n";
  // One line per piece of evidence: "track 0, 0:02-0:07: blending seams, 0.94".
  for (const FaceTrack& t : r.faces) {
    const std::string head = "face      track " + std::to_string(t.track_id) + ", ";
    if (t.evidence.empty()) {
      out += head + clock_text(t.start_s) + "-" + clock_text(t.end_s) + ": score " + fixed_text(t.score) + "\n";
    }
    for (const std::string& e : t.evidence) out += head + e + "\n";
  }
  if (r.audio) {
    const AudioSection& a = *r.audio;
    if (a.voice) {
      const double v = a.voice->score;
      out += "voice     " + std::string(v >= 0.75 ? "synthetic speech likely" : v >= 0.4 ? "synthetic speech possible"
                                                                                  : "natural speech") +
             ", " + fixed_text(v) + "\n";
    }
    if (a.lipsync) {
      const LipsyncResult& l = *a.lipsync;
      // The confidence belongs to the lag (how clearly the best match stands out), not to the
      // mismatch: a dub has no clear lag at all, so a high mismatch often comes with a low one.
      std::string line = "lipsync   mismatch " + fixed_text(l.score) + "; best match: ";
      if (l.offset_ms > 0) line += "audio lags the lips by " + std::to_string(l.offset_ms) + " ms";
      else if (l.offset_ms < 0) line += "audio leads the lips by " + std::to_string(-l.offset_ms) + " ms";
      else line += "lips and voice in step";
      line += " (how clearly that lag stands out: " + fixed_text(l.confidence) + ")";
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
    out += "detector  " + d.name + " v" + d.version + ": " + fixed_text(d.score) + "\n";
  }
  if (!out.empty()) out.pop_back();
  return out;
}

}  // namespace unmask::report
