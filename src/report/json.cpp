// Canonical JSON for the scan report (schema unmask.report/1, CONTRACT.md).
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "report/report.h"

namespace unmask::report {
namespace {

using Json = nlohmann::ordered_json;

double round4(double v) { return std::isfinite(v) ? std::round(v * 10000.0) / 10000.0 : 0.0; }

Json box_json(const Box& b) { return Json::array({round4(b.x), round4(b.y), round4(b.w), round4(b.h)}); }

Json audio_json(const AudioSection& a) {
  Json j;
  j["score"] = a.score ? Json(round4(*a.score)) : Json(nullptr);
  if (a.voice) {
    Json segments = Json::array();
    for (const auto& s : a.voice->segments) {
      segments.push_back({{"start_s", round4(s.start_s)}, {"end_s", round4(s.end_s)}, {"score", round4(s.score)}});
    }
    j["voice"] = {{"score", round4(a.voice->score)}, {"segments", segments}};
  } else {
    j["voice"] = nullptr;
  }
  if (a.lipsync) {
    j["lipsync"] = {{"score", round4(a.lipsync->score)},
                    {"offset_ms", a.lipsync->offset_ms},
                    {"confidence", round4(a.lipsync->confidence)}};
  } else {
    j["lipsync"] = nullptr;
  }
  j["note"] = a.note;
  return j;
}

Json watermark_json(const WatermarkSection& w) {
  Json j;
  j["found"] = w.found;
  j["checked"] = w.checked;
  if (w.found) {
    j["issuer"] = w.issuer;
    j["synthetic"] = w.synthetic;
    j["confidence"] = round4(w.confidence);
    j["signature"] = {{"present", w.signature_present}, {"valid", w.signature_valid}};
    j["tamper_fraction_frames"] = round4(w.tamper_fraction_frames);
  }
  return j;
}

template <typename T>
T get_or(const Json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return it->get<T>();
}

Box parse_box(const Json& j) {
  Box b;
  if (j.is_array() && j.size() == 4) {
    b.x = j[0].get<double>(); b.y = j[1].get<double>(); b.w = j[2].get<double>(); b.h = j[3].get<double>();
  }
  return b;
}

}  // namespace

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kAuthentic: return "authentic";
    case Verdict::kSuspicious: return "suspicious";
    case Verdict::kManipulated: return "manipulated";
    case Verdict::kNotApplicable: return "not_applicable";
  }
  return "not_applicable";
}

Result<Verdict> parse_verdict(std::string_view name) {
  for (Verdict v : {Verdict::kAuthentic, Verdict::kSuspicious, Verdict::kManipulated, Verdict::kNotApplicable}) {
    if (verdict_name(v) == name) return v;
  }
  return Status::input("verdict", "unknown value '" + std::string(name) + "'");
}

std::string to_json(const Report& r) {
  Json j;
  j["schema"] = kSchema;
  j["tool"] = {{"name", "unmask"}, {"version", r.tool_version.empty() ? std::string(version()) : r.tool_version}};
  const InputFacts& in = r.input;
  j["input"] = {{"path", in.path},           {"sha256", in.sha256},
                {"duration_s", round4(in.duration_s)}, {"has_video", in.has_video},
                {"has_audio", in.has_audio}, {"format", in.format},
                {"size_bytes", in.size_bytes}, {"video_codec", in.video_codec},
                {"width", in.width_px},      {"height", in.height_px},
                {"fps", round4(in.fps)},     {"audio_codec", in.audio_codec}};
  j["verdict"] = verdict_name(r.verdict);
  j["reason"] = r.reason;
  j["score"] = round4(r.score);
  Json faces = Json::array();
  for (const FaceTrack& t : r.faces) {
    Json frames = Json::array();
    for (const FrameScore& f : t.frames) {
      frames.push_back({{"t_s", round4(f.t_s)}, {"score", round4(f.score)}, {"box", box_json(f.box)}});
    }
    faces.push_back({{"track_id", t.track_id}, {"start_s", round4(t.start_s)}, {"end_s", round4(t.end_s)},
                     {"score", round4(t.score)}, {"evidence", t.evidence}, {"frames", frames}});
  }
  j["faces"] = faces;
  j["audio"] = r.audio ? audio_json(*r.audio) : Json(nullptr);
  j["watermark"] = watermark_json(r.watermark);
  Json detectors = Json::array();
  for (const DetectorRun& d : r.detectors) {
    detectors.push_back({{"name", d.name}, {"version", d.version}, {"score", round4(d.score)},
                         {"model_sha256", d.model_sha256}});
  }
  j["detectors"] = detectors;
  Json timing = Json::object();
  for (const auto& [stage, seconds] : r.timing_s) timing[stage + "_s"] = round4(seconds);
  j["timing"] = timing;
  Json options = Json::object();
  for (const auto& [k, v] : r.options) options[k] = v;
  j["options"] = options;
  return json_text(j, 2);
}

Result<Report> from_json(std::string_view text) {
  try {
    const Json j = Json::parse(text);
    if (get_or<std::string>(j, "schema", "") != kSchema) {
      return Status::input("report", "schema is not " + std::string(kSchema));
    }
    Report r;
    r.tool_version = j.at("tool").at("version").get<std::string>();
    const Json& in = j.at("input");
    r.input.path = in.at("path").get<std::string>();
    r.input.sha256 = get_or<std::string>(in, "sha256", "");
    r.input.duration_s = get_or<double>(in, "duration_s", 0.0);
    r.input.has_video = get_or<bool>(in, "has_video", false);
    r.input.has_audio = get_or<bool>(in, "has_audio", false);
    r.input.format = get_or<std::string>(in, "format", "");
    r.input.size_bytes = get_or<int64_t>(in, "size_bytes", 0);
    r.input.video_codec = get_or<std::string>(in, "video_codec", "");
    r.input.width_px = get_or<int>(in, "width", 0);
    r.input.height_px = get_or<int>(in, "height", 0);
    r.input.fps = get_or<double>(in, "fps", 0.0);
    r.input.audio_codec = get_or<std::string>(in, "audio_codec", "");
    auto verdict = parse_verdict(j.at("verdict").get<std::string>());
    if (!verdict.ok()) return verdict.status();
    r.verdict = *verdict;
    r.reason = j.at("reason").get<std::string>();
    r.score = j.at("score").get<double>();
    for (const Json& t : j.at("faces")) {
      FaceTrack track;
      track.track_id = t.at("track_id").get<int>();
      track.start_s = t.at("start_s").get<double>();
      track.end_s = t.at("end_s").get<double>();
      track.score = t.at("score").get<double>();
      track.evidence = get_or<std::vector<std::string>>(t, "evidence", {});
      for (const Json& f : t.at("frames")) {
        track.frames.push_back({f.at("t_s").get<double>(), f.at("score").get<double>(), parse_box(f.at("box"))});
      }
      r.faces.push_back(std::move(track));
    }
    const Json& a = j.at("audio");
    if (!a.is_null()) {
      AudioSection audio;
      if (!a.at("score").is_null()) audio.score = a.at("score").get<double>();
      if (a.contains("voice") && !a.at("voice").is_null()) {
        VoiceResult v;
        v.score = a.at("voice").at("score").get<double>();
        for (const Json& s : get_or<Json>(a.at("voice"), "segments", Json::array())) {
          v.segments.push_back({s.at("start_s").get<double>(), s.at("end_s").get<double>(), s.at("score").get<double>()});
        }
        audio.voice = v;
      }
      if (a.contains("lipsync") && !a.at("lipsync").is_null()) {
        const Json& l = a.at("lipsync");
        audio.lipsync = LipsyncResult{l.at("score").get<double>(), l.at("offset_ms").get<int>(),
                                      l.at("confidence").get<double>()};
      }
      audio.note = get_or<std::string>(a, "note", "");
      r.audio = audio;
    }
    const Json& w = j.at("watermark");
    r.watermark.found = w.at("found").get<bool>();
    r.watermark.checked = get_or<bool>(w, "checked", false);
    if (r.watermark.found) {
      r.watermark.issuer = w.at("issuer").get<uint32_t>();
      r.watermark.synthetic = w.at("synthetic").get<bool>();
      r.watermark.confidence = get_or<double>(w, "confidence", 0.0);
      if (w.contains("signature")) {
        r.watermark.signature_present = get_or<bool>(w.at("signature"), "present", false);
        r.watermark.signature_valid = get_or<bool>(w.at("signature"), "valid", false);
      }
      r.watermark.tamper_fraction_frames = get_or<double>(w, "tamper_fraction_frames", 0.0);
    }
    for (const Json& d : j.at("detectors")) {
      r.detectors.push_back({d.at("name").get<std::string>(), d.at("version").get<std::string>(),
                             d.at("score").get<double>(), get_or<std::string>(d, "model_sha256", "")});
    }
    for (const auto& [key, value] : j.at("timing").items()) {
      std::string stage = key;
      if (stage.size() > 2 && stage.substr(stage.size() - 2) == "_s") stage.resize(stage.size() - 2);
      r.timing_s[stage] = value.get<double>();
    }
    const Json options = get_or<Json>(j, "options", Json::object());  // must outlive items()
    for (const auto& [key, value] : options.items()) {
      r.options[key] = value.get<std::string>();
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    return Status::input("report", std::string("not a valid unmask.report/1 document: ") + e.what());
  }
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63]; out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];  out += kAlphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t n = uint8_t(bytes[i]) << 16;
    out += kAlphabet[(n >> 18) & 63]; out += kAlphabet[(n >> 12) & 63]; out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63]; out += kAlphabet[(n >> 12) & 63]; out += kAlphabet[(n >> 6) & 63]; out += '=';
  }
  return out;
}

}  // namespace unmask::report
