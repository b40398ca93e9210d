// Self-contained HTML report: inline CSS and SVG, images as data: URIs, no script, no network.
// Layout: verdict banner, timeline of scores, one card per face track, audio, watermark and
// provenance, input facts, detectors and versions. Readable from 360 px (phone) upwards.
#include <algorithm>
#include <cstdio>

#include "report/report.h"

namespace unmask::report {
namespace {

std::string num(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

const char* verdict_colour(Verdict v) {
  switch (v) {
    case Verdict::kAuthentic: return "#1b7f3b";
    case Verdict::kSuspicious: return "#b26a00";
    case Verdict::kManipulated: return "#b3261e";
    case Verdict::kNotApplicable: return "#5f6368";
  }
  return "#5f6368";
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

// Distinct colours for up to 8 tracks, then they repeat.
const char* series_colour(size_t i) {
  static const char* kColours[] = {"#1a73e8", "#e8710a", "#12b5cb", "#9334e6",
                                   "#e52592", "#188038", "#f9ab00", "#5f6368"};
  return kColours[i % 8];
}

// Score over time: one polyline per face track, voice segments as bars, 0.5 line dashed.
std::string timeline_svg(const Report& r) {
  double end_s = r.input.duration_s;
  for (const auto& t : r.faces) end_s = std::max(end_s, t.end_s);
  if (r.audio && r.audio->voice) {
    for (const auto& s : r.audio->voice->segments) end_s = std::max(end_s, s.end_s);
  }
  if (end_s <= 0) end_s = 1.0;
  const double w = 800, h = 220, left = 44, right = 12, top = 12, bottom = 30;
  const double pw = w - left - right, ph = h - top - bottom;
  auto px = [&](double t) { return left + pw * std::clamp(t / end_s, 0.0, 1.0); };
  auto py = [&](double s) { return top + ph * (1.0 - std::clamp(s, 0.0, 1.0)); };

  std::string svg = "<svg class=\"timeline\" viewBox=\"0 0 800 220\" role=\"img\" aria-label=\"Scores over time\" "
                    "xmlns=\"http://www.w3.org/2000/svg\">";
  svg += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
         "\" fill=\"#fafafa\" stroke=\"#dadce0\"/>";
  for (double s : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    svg += "<line x1=\"" + num(left) + "\" x2=\"" + num(left + pw) + "\" y1=\"" + num(py(s)) + "\" y2=\"" +
           num(py(s)) + "\" stroke=\"#e0e0e0\"" + (s == 0.5 ? " stroke-dasharray=\"4 4\" stroke=\"#9aa0a6\"" : "") + "/>";
    svg += "<text x=\"" + num(left - 6) + "\" y=\"" + num(py(s) + 4) + "\" text-anchor=\"end\" font-size=\"11\" fill=\"#5f6368\">" +
           num(s, 2) + "</text>";
  }
  const int n_ticks = 6;
  for (int i = 0; i <= n_ticks; ++i) {
    const double t = end_s * i / n_ticks;
    svg += "<text x=\"" + num(px(t)) + "\" y=\"" + num(h - 10) + "\" text-anchor=\"middle\" font-size=\"11\" fill=\"#5f6368\">" +
           num(t, 1) + " s</text>";
  }
  if (r.audio && r.audio->voice) {
    for (const auto& s : r.audio->voice->segments) {
      svg += "<rect x=\"" + num(px(s.start_s)) + "\" y=\"" + num(py(s.score)) + "\" width=\"" +
             num(std::max(1.0, px(s.end_s) - px(s.start_s))) + "\" height=\"" + num(py(0) - py(s.score)) +
             "\" fill=\"#9334e6\" fill-opacity=\"0.18\"><title>voice " + num(s.score) + "</title></rect>";
    }
  }
  for (size_t i = 0; i < r.faces.size(); ++i) {
    const FaceTrack& t = r.faces[i];
    std::string points;
    for (const FrameScore& f : t.frames) points += num(px(f.t_s), 1) + "," + num(py(f.score), 1) + " ";
    if (t.frames.size() == 1) {
      svg += "<circle cx=\"" + num(px(t.frames[0].t_s)) + "\" cy=\"" + num(py(t.frames[0].score)) + "\" r=\"4\" fill=\"" +
             series_colour(i) + "\"/>";
    } else if (!points.empty()) {
      svg += "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" + std::string(series_colour(i)) + "\" points=\"" +
             points + "\"><title>track " + std::to_string(t.track_id) + "</title></polyline>";
    }
  }
  svg += "</svg>";
  return svg;
}

std::string row(const std::string& key, const std::string& value) {
  return "<tr><th>" + escape_markup(key) + "</th><td>" + value + "</td></tr>";
}

constexpr const char* kStyle = R"css(
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#202124;background:#f1f3f4}
main{max-width:960px;margin:0 auto;padding:16px}
.banner{color:#fff;border-radius:12px;padding:20px 24px;margin-bottom:16px}
.banner h1{margin:0;font-size:28px;line-height:1.2}.banner .score{font-size:18px;opacity:.95}
.banner p{margin:8px 0 0;font-size:16px}
section{background:#fff;border-radius:12px;padding:16px 20px;margin-bottom:16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:18px;margin:0 0 12px}
.timeline{width:100%;height:auto;display:block}
.legend{display:flex;flex-wrap:wrap;gap:12px;font-size:13px;margin-top:8px}
.legend span::before{content:"";display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px;background:var(--c)}
.tracks{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:12px}
.track{border:1px solid #dadce0;border-radius:10px;padding:12px}
.track img{width:100%;border-radius:8px;display:block;margin-bottom:8px;image-rendering:auto}
.track .s{font-weight:600;font-size:20px}
ul{margin:6px 0 0;padding-left:20px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{width:34%;color:#5f6368;font-weight:500}td{word-break:break-all}
.muted{color:#5f6368}footer{font-size:12px;color:#5f6368;text-align:center;padding:8px}
@media (max-width:520px){main{padding:8px}.banner{padding:16px}.banner h1{font-size:24px}section{padding:12px}th{width:40%}}
)css";

}  // namespace

std::string to_html(const Report& r) {
  const std::string tool_version = r.tool_version.empty() ? std::string(version()) : r.tool_version;
  std::string h = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<title>unmask report: " + escape_markup(std::string(verdict_name(r.verdict))) + "</title><style>" +
                  kStyle + "</style></head><body><main>";

  h += "<div class=\"banner\" style=\"background:" + std::string(verdict_colour(r.verdict)) + "\"><h1>" +
       verdict_title(r.verdict) + "</h1><div class=\"score\">Probability of manipulation: " + num(r.score * 100, 0) +
       "%</div><p>" + escape_markup(r.reason) + "</p></div>";

  if (!r.faces.empty() || (r.audio && r.audio->voice && !r.audio->voice->segments.empty())) {
    h += "<section><h2>Timeline</h2>" + timeline_svg(r) + "<div class=\"legend\">";
    for (size_t i = 0; i < r.faces.size(); ++i) {
      h += "<span style=\"--c:" + std::string(series_colour(i)) + "\">face track " + std::to_string(r.faces[i].track_id) + "</span>";
    }
    if (r.audio && r.audio->voice) h += "<span style=\"--c:#d7b8f8\">voice segments</span>";
    h += "<span class=\"muted\">dashed line: 0.5</span></div></section>";
  }

  if (!r.faces.empty()) {
    h += "<section><h2>Faces</h2><div class=\"tracks\">";
    for (const FaceTrack& t : r.faces) {
      h += "<div class=\"track\">";
      if (!t.thumbnail_png.empty()) {
        h += "<img alt=\"track " + std::to_string(t.track_id) + " with heatmap\" src=\"data:image/png;base64," +
             base64(t.thumbnail_png) + "\">";
      }
      h += "<div>Track " + std::to_string(t.track_id) + " &middot; " + num(t.start_s, 1) + "&ndash;" + num(t.end_s, 1) +
           " s</div><div class=\"s\">" + num(t.score) + "</div>";
      if (!t.evidence.empty()) {
        h += "<ul>";
        for (const auto& e : t.evidence) h += "<li>" + escape_markup(e) + "</li>";
        h += "</ul>";
      }
      h += "</div>";
    }
    h += "</div></section>";
  }

  if (r.audio) {
    const AudioSection& a = *r.audio;
    h += "<section><h2>Audio</h2><table>";
    if (a.score) h += row("audio score", num(*a.score));
    if (a.voice) h += row("synthetic voice", num(a.voice->score));
    if (a.lipsync) {
      h += row("lips vs voice mismatch", num(a.lipsync->score));
      h += row("best audio offset", std::to_string(a.lipsync->offset_ms) + " ms (confidence " + num(a.lipsync->confidence) + ")");
    }
    if (!a.note.empty()) h += row("note", escape_markup(a.note));
    h += "</table></section>";
  }

  h += "<section><h2>Watermark and provenance</h2><table>";
  if (!r.watermark.checked) {
    h += row("watermark", "<span class=\"muted\">not checked</span>");
  } else if (!r.watermark.found) {
    h += row("watermark", "none found");
  } else {
    h += row("watermark", "found (confidence " + num(r.watermark.confidence, 3) + ")");
    h += row("issuer", std::to_string(r.watermark.issuer));
    h += row("synthetic flag", r.watermark.synthetic ? "<b>yes: made by a synthesis tool</b>" : "no");
    h += row("signature", r.watermark.signature_present ? (r.watermark.signature_valid ? "valid" : "<b>invalid</b>") : "none");
    h += row("frames with tampering", num(r.watermark.tamper_fraction_frames * 100, 1) + "%");
  }
  h += "</table></section>";

  const InputFacts& in = r.input;
  h += "<section><h2>Input</h2><table>";
  h += row("file", escape_markup(in.path));
  h += row("sha256", "<code>" + escape_markup(in.sha256) + "</code>");
  h += row("size", std::to_string(in.size_bytes) + " bytes");
  h += row("container", escape_markup(in.format));
  h += row("duration", num(in.duration_s, 2) + " s");
  if (in.has_video) {
    h += row("video", escape_markup(in.video_codec) + ", " + std::to_string(in.width_px) + "&times;" +
                          std::to_string(in.height_px) + ", " + num(in.fps, 2) + " fps");
  }
  h += row("audio", in.has_audio ? escape_markup(in.audio_codec) : "none");
  h += "</table></section>";

  h += "<section><h2>Detectors and versions</h2><table>";
  h += row("unmask", escape_markup(tool_version));
  for (const DetectorRun& d : r.detectors) {
    std::string value = "score " + num(d.score) + ", version " + escape_markup(d.version);
    if (!d.model_sha256.empty()) value += "<br><span class=\"muted\">model sha256 " + escape_markup(d.model_sha256) + "</span>";
    h += row(d.name, value);
  }
  for (const auto& [stage, seconds] : r.timing_s) h += row("time: " + stage, num(seconds, 2) + " s");
  for (const auto& [key, value] : r.options) h += row("option: " + key, escape_markup(value));
  h += "</table></section>";

  h += "<footer>unmask " + escape_markup(tool_version) + " &middot; schema " + kSchema + "</footer></main></body></html>\n";
  return h;
}

}  // namespace unmask::report
