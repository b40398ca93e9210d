// Self-contained HTML report: inline CSS and SVG, images as data: URIs, no script, no network.
// Layout: the verdict (banner with a score gauge and the reason), the evidence in sentences, a
// timeline of scores per face track and for the audio, one card per face track with its heatmap
// thumbnail, audio, watermark and provenance, input facts, detectors and versions. Readable from
// 360 px (phone) upwards: the timeline is drawn twice (wide and narrow) and CSS shows one.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/text.h"
#include "report/report.h"

namespace unmask::report {
namespace {

// The verdict thresholds of scan's fusion rule (scan.h), drawn as bands on the gauge and timeline.
constexpr double kSuspiciousFrom = 0.40;
constexpr double kManipulatedFrom = 0.75;

// A number for the page: a value that is not finite prints as 0.
std::string num(double v, int decimals = 2) { return fixed_text(std::isfinite(v) ? v : 0.0, decimals); }

const char* verdict_class(Verdict v) {
  switch (v) {
    case Verdict::kAuthentic: return "authentic";
    case Verdict::kSuspicious: return "suspicious";
    case Verdict::kManipulated: return "manipulated";
    case Verdict::kNotApplicable: return "na";
  }
  return "na";
}

const char* verdict_title(Verdict v) {
  switch (v) {
    case Verdict::kAuthentic: return "Authentic";
    case Verdict::kSuspicious: return "Suspicious";
    case Verdict::kManipulated: return "Manipulated";
    case Verdict::kNotApplicable: return "Not applicable";
  }
  return "";
}

const char* verdict_hint(Verdict v) {
  switch (v) {
    case Verdict::kAuthentic: return "No sign of manipulation was found.";
    case Verdict::kSuspicious: return "Some signs of manipulation; not conclusive. Look at the evidence below.";
    case Verdict::kManipulated: return "Strong signs that this media was manipulated.";
    case Verdict::kNotApplicable: return "There was nothing unmask could judge in this file.";
  }
  return "";
}

// Colour of a score: green, amber or red by the verdict bands.
const char* score_colour(double s) {
  if (s >= kManipulatedFrom) return "#c5221f";
  if (s >= kSuspiciousFrom) return "#b06000";
  return "#188038";
}

// Distinct colours for up to 6 tracks, then they repeat.
const char* series_colour(size_t i) {
  static const char* kColours[] = {"#1a73e8", "#e8710a", "#9334e6", "#12b5cb", "#e52592", "#5f6368"};
  return kColours[i % 6];
}

std::string file_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// FFmpeg names a demuxer by every format it reads ("mov,mp4,m4a,3gp,3g2,mj2"); a reader wants the
// one this file is: the name that matches the file's extension, with the full list after it in
// grey. Without a match the list as it is.
std::string container_markup(const std::string& format, const std::string& path) {
  const std::string name = file_name(path);
  const size_t dot = name.find_last_of('.');
  if (dot == std::string::npos || format.find(',') == std::string::npos) return escape_markup(format);
  const std::string ext = ascii_lower(name.substr(dot + 1));
  size_t start = 0;
  while (start <= format.size()) {
    const size_t comma = std::min(format.find(',', start), format.size());
    if (!ext.empty() && format.compare(start, comma - start, ext) == 0) {
      return escape_markup(ext) + " <span class=\"muted\">(read as " + escape_markup(format) + ")</span>";
    }
    start = comma + 1;
  }
  return escape_markup(format);
}

// "305102 bytes" as a person reads a size: "298 KiB (305102 bytes)".
std::string size_text(int64_t bytes) {
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  double v = static_cast<double>(bytes) / 1024.0;
  int unit = 0;
  while (v >= 1024.0 && unit < 3) {
    v /= 1024.0;
    ++unit;
  }
  return fixed_text(v, v < 10 ? 1 : 0) + " " + kUnits[unit] + " (" + std::to_string(bytes) + " bytes)";
}

// Scores over time. Top: the score axis with the verdict bands, one line (and dots at the scored
// frames) per face track. Below: one lane per track showing when the face is on screen, and an
// audio lane with the voice segments coloured by score. `w` is the viewBox width; font sizes are
// in the same units, so the narrow drawing (for phones) keeps legible text.
std::string timeline_svg(const Report& r, double w, int n_ticks, const char* css_class) {
  double end_s = r.input.duration_s;
  for (const auto& t : r.faces) end_s = std::max(end_s, t.end_s);
  const bool has_voice = r.audio && r.audio->voice && !r.audio->voice->segments.empty();
  if (has_voice) {
    for (const auto& s : r.audio->voice->segments) end_s = std::max(end_s, s.end_s);
  }
  if (end_s <= 0) end_s = 1.0;
  const double font = 12;
  const double left = 40, right = 10, top = 10, plot_h = 150, lane_h = 16, lane_gap = 6;
  const size_t n_lanes = r.faces.size() + (has_voice ? 1 : 0);
  const double lanes_top = top + plot_h + 26;
  const double h = lanes_top + n_lanes * (lane_h + lane_gap) + 4;
  const double pw = w - left - right;
  auto px = [&](double t) { return left + pw * std::clamp(t / end_s, 0.0, 1.0); };
  auto py = [&](double s) { return top + plot_h * (1.0 - std::clamp(s, 0.0, 1.0)); };

  std::string svg = "<svg class=\"timeline " + std::string(css_class) + "\" viewBox=\"0 0 " + num(w, 0) + " " + num(h, 0) +
                    "\" role=\"img\" aria-label=\"Scores over time\" xmlns=\"http://www.w3.org/2000/svg\" "
                    "font-family=\"system-ui,sans-serif\" font-size=\"" + num(font, 0) + "\">";
  // Verdict bands and grid.
  svg += "<rect x=\"" + num(left) + "\" y=\"" + num(py(1.0)) + "\" width=\"" + num(pw) + "\" height=\"" +
         num(py(kManipulatedFrom) - py(1.0)) + "\" fill=\"#fce8e6\"/>";
  svg += "<rect x=\"" + num(left) + "\" y=\"" + num(py(kManipulatedFrom)) + "\" width=\"" + num(pw) + "\" height=\"" +
         num(py(kSuspiciousFrom) - py(kManipulatedFrom)) + "\" fill=\"#fef7e0\"/>";
  svg += "<rect x=\"" + num(left) + "\" y=\"" + num(py(kSuspiciousFrom)) + "\" width=\"" + num(pw) + "\" height=\"" +
         num(py(0.0) - py(kSuspiciousFrom)) + "\" fill=\"#e6f4ea\"/>";
  for (double s : {0.0, 0.5, 1.0}) {
    svg += "<line x1=\"" + num(left) + "\" x2=\"" + num(left + pw) + "\" y1=\"" + num(py(s)) + "\" y2=\"" + num(py(s)) +
           "\" stroke=\"#dadce0\"" + (s == 0.5 ? " stroke-dasharray=\"4 4\"" : "") + "/>";
    svg += "<text x=\"" + num(left - 6) + "\" y=\"" + num(py(s) + 4) + "\" text-anchor=\"end\" fill=\"#5f6368\">" + num(s, 1) +
           "</text>";
  }
  // Round time steps (0.5 s, 1 s, 2 s, 5 s, ... 1 h) with at most n_ticks intervals.
  double step = 0.5;
  for (double candidate : {0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0}) {
    step = candidate;
    if (end_s / candidate <= n_ticks) break;
  }
  for (int i = 0; i * step <= end_s + 1e-9; ++i) {
    const double t = i * step;
    const char* anchor = i == 0 ? "start" : px(t) > left + pw - 20 ? "end" : "middle";
    svg += "<text x=\"" + num(px(t)) + "\" y=\"" + num(top + plot_h + 16) + "\" text-anchor=\"" + anchor +
           "\" fill=\"#5f6368\">" + (end_s < 60 ? num(t, step < 1 ? 1 : 0) + " s" : clock_text(t)) + "</text>";
    svg += "<line x1=\"" + num(px(t)) + "\" x2=\"" + num(px(t)) + "\" y1=\"" + num(top + plot_h) + "\" y2=\"" +
           num(top + plot_h + 4) + "\" stroke=\"#9aa0a6\"/>";
  }
  // Face tracks.
  for (size_t i = 0; i < r.faces.size(); ++i) {
    const FaceTrack& t = r.faces[i];
    const std::string colour = series_colour(i);
    std::string points;
    for (const FrameScore& f : t.frames) points += num(px(f.t_s), 1) + "," + num(py(f.score), 1) + " ";
    if (t.frames.size() > 1) {
      svg += "<polyline fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke=\"" + colour + "\" points=\"" +
             points + "\"><title>face track " + std::to_string(t.track_id) + "</title></polyline>";
    }
    for (const FrameScore& f : t.frames) {
      svg += "<circle cx=\"" + num(px(f.t_s), 1) + "\" cy=\"" + num(py(f.score), 1) + "\" r=\"" +
             (t.frames.size() > 40 ? "1.8" : "2.6") + "\" fill=\"" + colour + "\"><title>track " +
             std::to_string(t.track_id) + " at " + num(f.t_s, 2) + " s: " + num(f.score) + "</title></circle>";
    }
  }
  // Lanes: when each face is on screen, and the voice.
  double y = lanes_top;
  for (size_t i = 0; i < r.faces.size(); ++i, y += lane_h + lane_gap) {
    const FaceTrack& t = r.faces[i];
    svg += "<text x=\"" + num(left - 6) + "\" y=\"" + num(y + lane_h - 4) + "\" text-anchor=\"end\" fill=\"#3c4043\">f" +
           std::to_string(t.track_id) + "</text>";
    svg += "<rect x=\"" + num(left) + "\" y=\"" + num(y) + "\" width=\"" + num(pw) + "\" height=\"" + num(lane_h) +
           "\" rx=\"3\" fill=\"#f1f3f4\"/>";
    svg += "<rect x=\"" + num(px(t.start_s)) + "\" y=\"" + num(y) + "\" width=\"" +
           num(std::max(3.0, px(t.end_s) - px(t.start_s))) + "\" height=\"" + num(lane_h) + "\" rx=\"3\" fill=\"" +
           series_colour(i) + "\" fill-opacity=\"0.85\"><title>face track " + std::to_string(t.track_id) + ", " +
           clock_text(t.start_s) + "-" + clock_text(t.end_s) + ", score " + num(t.score) + "</title></rect>";
  }
  if (has_voice) {
    svg += "<text x=\"" + num(left - 6) + "\" y=\"" + num(y + lane_h - 4) + "\" text-anchor=\"end\" fill=\"#3c4043\">voice</text>";
    svg += "<rect x=\"" + num(left) + "\" y=\"" + num(y) + "\" width=\"" + num(pw) + "\" height=\"" + num(lane_h) +
           "\" rx=\"3\" fill=\"#f1f3f4\"/>";
    for (const auto& s : r.audio->voice->segments) {
      svg += "<rect x=\"" + num(px(s.start_s)) + "\" y=\"" + num(y) + "\" width=\"" +
             num(std::max(2.0, px(s.end_s) - px(s.start_s))) + "\" height=\"" + num(lane_h) + "\" fill=\"" +
             score_colour(s.score) + "\" fill-opacity=\"0.8\"><title>voice " + num(s.start_s, 1) + "-" + num(s.end_s, 1) +
             " s: " + num(s.score) + "</title></rect>";
    }
  }
  svg += "</svg>";
  return svg;
}

std::string row(const std::string& key, const std::string& value) {
  return "<tr><th>" + escape_markup(key) + "</th><td>" + value + "</td></tr>";
}

std::string gauge(double score) {
  const double pct = std::clamp(score, 0.0, 1.0) * 100.0;
  return "<div class=\"gauge\" role=\"img\" aria-label=\"score " + num(score) + "\"><div class=\"band b1\" style=\"width:" +
         num(kSuspiciousFrom * 100, 0) + "%\"></div><div class=\"band b2\" style=\"width:" +
         num((kManipulatedFrom - kSuspiciousFrom) * 100, 0) + "%\"></div><div class=\"band b3\"></div>"
         "<div class=\"marker\" style=\"left:" + num(pct, 1) + "%\"></div></div>"
         "<div class=\"gauge-labels\"><span>authentic</span><span>suspicious</span><span>manipulated</span></div>";
}

// The evidence in sentences: per face track, audio, watermark.
std::string evidence_list(const Report& r) {
  std::string items;
  // A synthetic flag decides on its own: it comes first.
  if (r.watermark.found && r.watermark.synthetic) {
    items += "<li><b>Watermark</b>: marked as synthetic by the tool that made it</li>";
  }
  for (const FaceTrack& t : r.faces) {
    for (const std::string& e : t.evidence) {
      items += "<li><b>Face track " + std::to_string(t.track_id) + "</b>, " + escape_markup(e) + "</li>";
    }
  }
  if (r.audio) {
    if (r.audio->voice) {
      const double v = r.audio->voice->score;
      items += std::string("<li><b>Voice</b>: ") +
               (v >= kManipulatedFrom ? "synthetic speech likely" : v >= kSuspiciousFrom ? "synthetic speech possible" : "natural speech") +
               ", " + num(v) + "</li>";
    }
    if (r.audio->lipsync) {
      const LipsyncResult& l = *r.audio->lipsync;
      std::string s = "<li><b>Lips and voice</b>: ";
      if (l.offset_ms > 0) s += "the audio lags the lips by " + std::to_string(l.offset_ms) + " ms";
      else if (l.offset_ms < 0) s += "the audio leads the lips by " + std::to_string(-l.offset_ms) + " ms";
      else s += "in step";
      items += s + ", mismatch " + num(l.score) + "</li>";
    }
  }
  if (r.watermark.found && !r.watermark.synthetic) {
    items += "<li><b>Watermark</b>: issuer " + std::to_string(r.watermark.issuer) + "'s mark" +
             (r.watermark.tamper_fraction_frames > 0 ? ", tampering flagged in " + num(r.watermark.tamper_fraction_frames * 100, 0) +
                                                           "% of checked frames"
                                                     : ", intact") +
             "</li>";
  }
  if (items.empty()) return "";
  return "<section><h2>Evidence</h2><ul class=\"evidence\">" + items + "</ul></section>";
}

constexpr const char* kStyle = R"css(
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#202124;background:#f1f3f4}
main{max-width:980px;margin:0 auto;padding:20px 16px}
.banner{color:#fff;border-radius:14px;padding:20px 24px 18px;margin-bottom:16px;box-shadow:0 1px 3px rgba(0,0,0,.15)}
.banner.authentic{background:#188038}.banner.suspicious{background:#b06000}.banner.manipulated{background:#c5221f}.banner.na{background:#5f6368}
.kicker{font-size:13px;letter-spacing:.06em;text-transform:uppercase;opacity:.85}
.headline{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 16px}
.banner h1{margin:2px 0 0;font-size:34px;line-height:1.15}
.banner .score{font-size:17px;opacity:.95}
.banner .hint{margin:2px 0 0;font-size:15px;opacity:.9}
.banner .reason{margin:10px 0 0;font-size:16px;background:rgba(0,0,0,.14);border-radius:8px;padding:8px 12px}
.banner .file{margin-top:10px;font-size:13px;opacity:.9;word-break:break-all}
.gauge{position:relative;display:flex;height:10px;border-radius:5px;overflow:visible;margin:14px 0 4px;background:rgba(255,255,255,.25)}
.gauge .band{height:100%}.gauge .b1{background:#81c995;border-radius:5px 0 0 5px}.gauge .b2{background:#fdd663}.gauge .b3{flex:1;background:#f28b82;border-radius:0 5px 5px 0}
.gauge .marker{position:absolute;top:-5px;width:6px;height:20px;margin-left:-3px;background:#fff;border-radius:3px;box-shadow:0 0 0 2px rgba(0,0,0,.35)}
.gauge-labels{display:flex;justify-content:space-between;font-size:12px;opacity:.85}
section{background:#fff;border-radius:14px;padding:16px 20px;margin-bottom:16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:18px;margin:0 0 10px}
.evidence{margin:0;padding-left:20px}.evidence li{margin:3px 0}
.timeline{width:100%;height:auto;display:block}.tl-narrow{display:none}
.legend{display:flex;flex-wrap:wrap;gap:6px 14px;font-size:13px;margin-top:8px;color:#3c4043}
.legend span::before{content:"";display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px;background:var(--c)}
.tracks{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px}
.track{border:1px solid #dadce0;border-radius:12px;padding:12px;display:flex;flex-direction:column;gap:8px}
.track .info{display:flex;flex-direction:column;gap:4px;min-width:0}
.track img{width:100%;max-width:240px;aspect-ratio:1;border-radius:8px;display:block;margin:0 auto;background:#f1f3f4}
.track .head{display:flex;justify-content:space-between;align-items:baseline;gap:8px}
.track .name{font-weight:600}.track .when{color:#5f6368;font-size:13px}
.pill{display:inline-block;font-weight:600;color:#fff;border-radius:999px;padding:1px 10px;font-size:14px}
.track ul{margin:0;padding-left:18px;font-size:14px}
.caption{font-size:12px;color:#5f6368}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{width:32%;color:#5f6368;font-weight:500}td{overflow-wrap:anywhere}
code{font-size:13px}
details summary{cursor:pointer;color:#1a73e8;margin-top:8px}
.muted{color:#5f6368}footer{font-size:12px;color:#5f6368;text-align:center;padding:8px}
@media (max-width:600px){
 main{padding:10px 8px}.banner{padding:16px}.banner h1{font-size:28px}section{padding:12px 14px}
 th{width:38%}.tl-wide{display:none}.tl-narrow{display:block}
 .tracks{grid-template-columns:1fr}.track{flex-direction:row;align-items:flex-start;padding:10px}
 .track img{width:112px;flex:none;margin:0}.track .info{flex:1}
}
)css";

}  // namespace

std::string to_html(const Report& r) {
  const std::string tool_version = r.tool_version.empty() ? std::string(version()) : r.tool_version;
  const char* cls = verdict_class(r.verdict);
  std::string h = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<title>" + escape_markup(verdict_title(r.verdict)) + " - " + escape_markup(file_name(r.input.path)) +
                  " - unmask report</title><style>" + kStyle + "</style></head><body><main>";

  // Verdict first.
  h += "<header class=\"banner " + std::string(cls) + "\"><div class=\"kicker\">unmask report</div>";
  h += "<div class=\"headline\"><h1>" + std::string(verdict_title(r.verdict)) + "</h1>";
  if (r.verdict != Verdict::kNotApplicable) {
    h += "<div class=\"score\">probability of manipulation <b>" + num(r.score * 100, 0) + "%</b></div>";
  }
  h += "</div><p class=\"hint\">" + std::string(verdict_hint(r.verdict)) + "</p>";
  if (r.verdict != Verdict::kNotApplicable) h += gauge(r.score);
  h += "<p class=\"reason\">" + escape_markup(r.reason) + "</p>";
  h += "<div class=\"file\">" + escape_markup(file_name(r.input.path));
  if (r.input.duration_s > 0) h += " &middot; " + num(r.input.duration_s, 1) + " s";
  if (!r.input.sha256.empty()) h += " &middot; sha256 " + escape_markup(r.input.sha256.substr(0, 12)) + "&hellip;";
  h += "</div></header>";

  h += evidence_list(r);

  const bool has_voice = r.audio && r.audio->voice && !r.audio->voice->segments.empty();
  if (!r.faces.empty() || has_voice) {
    h += "<section><h2>Timeline</h2>" + timeline_svg(r, 900, 8, "tl-wide") + timeline_svg(r, 420, 4, "tl-narrow") +
         "<div class=\"legend\">";
    for (size_t i = 0; i < r.faces.size(); ++i) {
      h += "<span style=\"--c:" + std::string(series_colour(i)) + "\">face track " + std::to_string(r.faces[i].track_id) + "</span>";
    }
    if (has_voice) h += "<span style=\"--c:#9aa0a6\">voice segments (coloured by score)</span>";
    h += "<span style=\"--c:#fce8e6\">manipulated &ge; " + num(kManipulatedFrom) + "</span><span style=\"--c:#fef7e0\">suspicious &ge; " +
         num(kSuspiciousFrom) + "</span></div><p class=\"caption\">Lines: per-frame scores of the detectors that look at "
         "each face picture (the strongest of them at each sampled frame). Bars: when each face is on screen and, for the "
         "voice, each voiced segment's score. Detectors that judge a whole track (motion over time) give the track's "
         "score in its card below.</p></section>";
  }

  if (!r.faces.empty()) {
    h += "<section><h2>Faces</h2><div class=\"tracks\">";
    for (const FaceTrack& t : r.faces) {
      h += "<div class=\"track\">";
      if (!t.thumbnail_png.empty()) {
        h += "<img alt=\"face track " + std::to_string(t.track_id) + " with the detector's heatmap\" src=\"data:image/png;base64," +
             base64(t.thumbnail_png) + "\">";
      }
      h += "<div class=\"info\"><div class=\"head\"><span class=\"name\">Track " + std::to_string(t.track_id) +
           "</span><span class=\"pill\" style=\"background:" + score_colour(t.score) + "\">" + num(t.score) + "</span></div>";
      h += "<div class=\"when\">" + clock_text(t.start_s) + "&ndash;" + clock_text(t.end_s) + " &middot; " +
           std::to_string(t.frames.size()) + " frame" + (t.frames.size() == 1 ? "" : "s") + " scored</div>";
      if (!t.evidence.empty()) {
        h += "<ul>";
        for (const auto& e : t.evidence) h += "<li>" + escape_markup(e) + "</li>";
        h += "</ul>";
      }
      h += "</div></div>";
    }
    h += "</div><p class=\"caption\">Thumbnails: the most suspicious scored frame of each track, aligned; warm colours "
         "show where the detector saw blending.</p></section>";
  }

  if (r.audio) {
    const AudioSection& a = *r.audio;
    h += "<section><h2>Audio</h2><table>";
    h += row("audio score", a.score ? num(*a.score) : "<span class=\"muted\">not judged</span>");
    if (a.voice) h += row("synthetic voice", num(a.voice->score) + " over " + std::to_string(a.voice->segments.size()) + " voiced segment" +
                                                 (a.voice->segments.size() == 1 ? "" : "s"));
    if (a.lipsync) {
      h += row("lips vs voice mismatch", num(a.lipsync->score));
      h += row("best audio offset", std::to_string(a.lipsync->offset_ms) + " ms (positive: audio lags the lips; confidence " +
                                        num(a.lipsync->confidence) + ")");
    }
    if (!a.note.empty()) h += row("note", escape_markup(a.note));
    h += "</table></section>";
  }

  h += "<section><h2>Watermark and provenance</h2><table>";
  if (!r.watermark.checked) {
    h += row("watermark", "<span class=\"muted\">not checked</span>");
  } else if (!r.watermark.found) {
    h += row("watermark", "none found <span class=\"muted\">(unmarked media is the common case: this is not evidence either way)</span>");
  } else {
    h += row("watermark", "found (confidence " + num(r.watermark.confidence, 3) + ")");
    h += row("issuer", std::to_string(r.watermark.issuer));
    h += row("synthetic flag", r.watermark.synthetic ? "<b>yes: made by a synthesis tool</b>" : "no");
    h += row("signature", r.watermark.signature_present ? (r.watermark.signature_valid ? "valid" : "<b>invalid or content changed</b>")
                                                        : "none (no signed sidecar next to the file)");
    h += row("frames with tampering", num(r.watermark.tamper_fraction_frames * 100, 1) + "%");
  }
  h += "</table></section>";

  const InputFacts& in = r.input;
  h += "<section><h2>Input</h2><table>";
  h += row("file", escape_markup(in.path));
  h += row("sha256", "<code>" + escape_markup(in.sha256) + "</code>");
  h += row("size", size_text(in.size_bytes));
  h += row("container", container_markup(in.format, in.path));
  h += row("duration", num(in.duration_s, 2) + " s");
  if (in.has_video) {
    std::string v = escape_markup(in.video_codec) + ", " + std::to_string(in.width_px) + "&times;" + std::to_string(in.height_px);
    if (in.fps > 0) v += ", " + num(in.fps, 2) + " fps";
    h += row("video", v);
  } else {
    h += row("video", "none");
  }
  h += row("audio", in.has_audio ? escape_markup(in.audio_codec) : "none");
  h += "</table></section>";

  h += "<section><h2>Detectors and versions</h2><table>";
  h += row("unmask", escape_markup(tool_version));
  for (const DetectorRun& d : r.detectors) {
    std::string value = "<span class=\"pill\" style=\"background:" + std::string(score_colour(d.score)) + "\">" + num(d.score) +
                        "</span> version " + escape_markup(d.version);
    if (!d.model_sha256.empty()) value += "<br><span class=\"muted\">model sha256 <code>" + escape_markup(d.model_sha256) + "</code></span>";
    h += row(d.name, value);
  }
  h += "</table>";
  if (!r.timing_s.empty() || !r.options.empty()) {
    h += "<details><summary>Timing and options</summary><table>";
    for (const auto& [stage, seconds] : r.timing_s) h += row("time: " + stage, num(seconds, 2) + " s");
    for (const auto& [key, value] : r.options) h += row(key, escape_markup(value));
    h += "</table></details>";
  }
  h += "</section>";

  h += "<footer>unmask " + escape_markup(tool_version) + " &middot; schema " + kSchema +
       " &middot; scores are calibrated probabilities of manipulation</footer></main></body></html>\n";
  return h;
}

}  // namespace unmask::report
