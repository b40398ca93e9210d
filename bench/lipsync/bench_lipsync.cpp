// bench_lipsync: the lip-sync detector on real talking heads. For each video (the real clips with
// speech listed in MANIFEST.csv, or files given), the speaking face track (detect::speaking_track)
// is scored against its own audio (aligned), the audio delayed or advanced by 300 and 500 ms, and
// the video dubbed with espeak-ng (synth::dub_file). Prints one row per clip and version, the AUC
// of aligned vs each kind of mismatch, and the offset error in ms on the shifted versions.
//
//   bench_lipsync --data DIR [--max N] [--cache DIR] [--fit] [--legacy]    or    bench_lipsync FILE...
//   bench_lipsync --scan DIR [--models DIR] [--dump SCORES.csv]
//
// --cache keeps each clip's landmarks and dubbed audio (default /tmp/unmask-lipsync-cache) so
// reruns skip face tracking. --fit fits lipsync_mismatch_score's logistic weights on the rows
// (features aligned_correlation and aligned_z; aligned = 0, shifted/dubbed = 1) and reports their
// AUC under 2-fold cross-validation by clip. --legacy scores the first version's signals (mouth
// opening vs broadband RMS) with the same score, for comparison. Each row also shows the evidence
// the abstention rules look at (speech seconds with the face, mouth motion, speech modulation,
// voice-active fraction); a summary gives their extremes over the aligned clips, from which the
// thresholds in lipsync.cpp are set.
//
// --scan runs scan::scan_file (the same code path as `unmask scan`, with the voice detector that
// gates lip-sync in scan and no crop/track detectors, no watermark check) on every video of
// DIR/MANIFEST.csv and prints each one's lip-sync score or why it was not judged, then the AUC,
// the reals at 0.5 or more and the abstentions; --dump writes path,source,label,lipsync,note rows.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "detect/detect.h"
#include "detect/detector.h"
#include "report/report.h"
#include "scan/scan.h"
#include "detect/voice.h"
#include "face/face.h"
#include "learn/learn.h"
#include "media/media.h"
#include "synth/synth.h"

using namespace unmask;
namespace fs = std::filesystem;

namespace {

using LandmarkSeries = std::vector<std::optional<face::Landmarks>>;

struct Clip {
  std::string name;
  double fps = 25;
  LandmarkSeries landmarks;
};

bool load_cached(const std::string& file, Clip& clip) {
  std::ifstream in(file);
  size_t n = 0;
  if (!(in >> clip.fps >> n)) return false;
  clip.landmarks.assign(n, std::nullopt);
  for (size_t i = 0; i < n; ++i) {
    int has = 0;
    if (!(in >> has)) return false;
    if (!has) continue;
    face::Landmarks lm{};
    for (auto& p : lm) in >> p.x >> p.y;
    clip.landmarks[i] = lm;
  }
  return static_cast<bool>(in);
}

void save_cached(const std::string& file, const Clip& clip) {
  std::ofstream out(file);
  out << clip.fps << " " << clip.landmarks.size() << "\n";
  for (const auto& lm : clip.landmarks) {
    out << (lm ? 1 : 0);
    if (lm) {
      for (const auto& p : *lm) out << " " << p.x << " " << p.y;
    }
    out << "\n";
  }
}

Audio shifted(const Audio& a, int shift_ms) {
  Audio out = a;
  const long k = std::lround(shift_ms * a.sample_rate_hz / 1000.0);
  for (long t = 0; t < static_cast<long>(a.samples.size()); ++t) {
    const long src = t - k;
    out.samples[static_cast<size_t>(t)] = src >= 0 && src < static_cast<long>(a.samples.size()) ? a.samples[static_cast<size_t>(src)] : 0.0f;
  }
  return out;
}

struct Row {
  std::string clip;
  double media_s = 0;
  std::string version;  // "aligned", "+300", "-300", "+500", "-500", "dub"
  int shift_ms = 0;
  detect::AvOffset o;
  double score = 0;
};

// The score's inputs, in the order of lipsync_mismatch_score's weights.
constexpr int kFeatures = 3;
using Features = std::array<double, kFeatures>;
Features features_of(const detect::AvOffset& o) {
  return {o.aligned_correlation, std::clamp(o.aligned_z, -5.0, 5.0), o.speech_correlation};
}

// Logistic regression by Newton's method (bias first, then the features), small L2.
std::array<double, kFeatures + 1> fit_logistic(const std::vector<Features>& x, const std::vector<int>& y) {
  constexpr int K = kFeatures + 1;
  std::array<double, K> w{};
  for (int it = 0; it < 50; ++it) {
    double g[K] = {}, h[K][K] = {};
    for (int a = 0; a < K; ++a) h[a][a] = 1e-3;
    for (size_t i = 0; i < x.size(); ++i) {
      double f[K] = {1.0};
      for (int k = 0; k < kFeatures; ++k) f[k + 1] = x[i][k];
      double z = 0;
      for (int a = 0; a < K; ++a) z += w[a] * f[a];
      const double p = 1.0 / (1.0 + std::exp(-z));
      for (int a = 0; a < K; ++a) {
        g[a] += (p - y[i]) * f[a];
        for (int b = 0; b < K; ++b) h[a][b] += p * (1 - p) * f[a] * f[b];
      }
    }
    for (int a = 0; a < K; ++a) g[a] += 1e-3 * w[a];
    // Solve h d = g by Gaussian elimination with partial pivoting.
    double d[K];
    for (int c = 0; c < K; ++c) {
      int piv = c;
      for (int r = c + 1; r < K; ++r) if (std::abs(h[r][c]) > std::abs(h[piv][c])) piv = r;
      if (std::abs(h[piv][c]) < 1e-12) return w;
      std::swap(h[c], h[piv]);
      std::swap(g[c], g[piv]);
      for (int r = c + 1; r < K; ++r) {
        const double f = h[r][c] / h[c][c];
        for (int k = c; k < K; ++k) h[r][k] -= f * h[c][k];
        g[r] -= f * g[c];
      }
    }
    for (int c = K - 1; c >= 0; --c) {
      double v = g[c];
      for (int k = c + 1; k < K; ++k) v -= h[c][k] * d[k];
      d[c] = v / h[c][c];
    }
    for (int a = 0; a < K; ++a) w[a] -= d[a];
  }
  return w;
}

double linear_score(const std::array<double, kFeatures + 1>& w, const detect::AvOffset& o) {
  const auto f = features_of(o);
  double z = w[0];
  for (int k = 0; k < kFeatures; ++k) z += w[k + 1] * f[k];
  return z;
}

double auc_of(const std::vector<Row>& rows, const std::string& which) {
  std::vector<double> s;
  std::vector<int> y;
  for (const auto& r : rows) {
    const bool neg = r.version == "aligned";
    const bool pos = which == "all" ? !neg
                     : which == "300" ? (r.version == "+300" || r.version == "-300")
                     : which == "500" ? (r.version == "+500" || r.version == "-500")
                                      : r.version == which;
    if (!neg && !pos) continue;
    s.push_back(r.score);
    y.push_back(pos ? 1 : 0);
  }
  return learn::roc_auc(s, y);
}

// --scan: every video of the manifest through scan::scan_file with the voice detector only (in
// scan, lip-sync runs when the voice detector heard speech, or when no audio detector is loaded).
int scan_manifest(const std::string& data, const std::string& models_dir, const std::string& dump) {
  auto items = learn::read_manifest(data + "/MANIFEST.csv");
  if (!items.ok()) {
    std::fprintf(stderr, "%s\n", items.status().message().c_str());
    return 3;
  }
  const std::string dir = models_dir.empty() ? detect::default_models_dir() : models_dir;
  auto set = detect::load_detectors(dir, {"voice"});
  if (!set.ok()) {
    std::fprintf(stderr, "%s\n", set.status().message().c_str());
    return 4;
  }
  auto faces = face::FaceModels::load();
  if (!faces.ok()) {
    std::fprintf(stderr, "%s\n", faces.status().message().c_str());
    return 4;
  }
  scan::ScanOptions o;
  o.detector_set = std::make_shared<const detect::DetectorSet>(std::move(*set));
  o.face_models = *faces;
  o.check_watermark = false;
  o.thumbnails = false;
  std::ofstream out;
  if (!dump.empty()) {
    out.open(dump);
    out << "path,source,label,lipsync,note\n";
  }
  std::printf("| video | source | label | lip-sync | offset ms | note |\n|---|---|---|---|---|---|\n");
  std::vector<double> scores;
  std::vector<int> labels;
  int n_real = 0, n_fake = 0, abstain_real = 0, abstain_fake = 0, real_high = 0, fake_high = 0, failed = 0;
  for (const auto& item : *items) {
    auto kind = item.columns.find("kind");
    if (kind == item.columns.end() || kind->second != "video") continue;
    const std::string source = item.columns.count("source_repo") ? item.columns.at("source_repo") : "?";
    auto r = scan::scan_file(item.path, o);
    if (!r.ok()) {
      ++failed;
      std::fprintf(stderr, "failed: %s: %s\n", item.path.c_str(), r.status().message().c_str());
      continue;
    }
    (item.label ? n_fake : n_real) += 1;
    std::optional<double> score;
    int offset = 0;
    std::string note;
    if (r->audio && r->audio->lipsync) {
      score = r->audio->lipsync->score;
      offset = r->audio->lipsync->offset_ms;
    } else {
      note = r->audio ? r->audio->note : "no audio section";
      for (char& c : note) if (c == ',' || c == '\n') c = ';';
      (item.label ? abstain_fake : abstain_real) += 1;
    }
    if (score) {
      scores.push_back(*score);
      labels.push_back(item.label);
      (item.label ? fake_high : real_high) += *score >= 0.5;
    }
    const std::string shown = score ? std::to_string(*score).substr(0, 5) : "-";
    std::printf("| %s | %s | %s | %s | %s | %s |\n", item.path.substr(data.size() + 1).c_str(), source.c_str(), item.label ? "fake" : "real",
                shown.c_str(), score ? std::to_string(offset).c_str() : "-", note.c_str());
    std::fflush(stdout);
    if (out.is_open()) {
      out << '"' << item.path << "\"," << source << "," << (item.label ? "fake" : "real") << "," << (score ? std::to_string(*score) : "")
          << "," << note << "\n" << std::flush;
    }
  }
  std::printf("\n%d real and %d fake videos (%d failed to scan). Lip-sync judged %zu: AUC %.3f over the judged; reals at 0.5 or more "
              "%d; fakes at 0.5 or more %d; not judged: %d reals, %d fakes\n",
              n_real, n_fake, failed, scores.size(), learn::roc_auc(scores, labels), real_high, fake_high, abstain_real, abstain_fake);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, cache = "/tmp/unmask-lipsync-cache", scan_data, models_dir, dump;
  int max_clips = 40;
  bool fit = false, legacy = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) data = argv[++i];
    else if (a == "--max" && i + 1 < argc) max_clips = std::atoi(argv[++i]);
    else if (a == "--cache" && i + 1 < argc) cache = argv[++i];
    else if (a == "--fit") fit = true;
    else if (a == "--legacy") legacy = true;
    else if (a == "--scan" && i + 1 < argc) scan_data = argv[++i];
    else if (a == "--models" && i + 1 < argc) models_dir = argv[++i];
    else if (a == "--dump" && i + 1 < argc) dump = argv[++i];
    else if (a.starts_with("-")) {
      const bool help = a == "--help" || a == "-h";
      std::fprintf(stderr,
                   "usage: bench_lipsync --data DIR [--max N] [--cache DIR] [--fit] [--legacy] | FILE... | "
                   "--scan DIR [--models DIR] [--dump SCORES.csv]\n");
      if (!help) std::fprintf(stderr, "unknown or incomplete option: %s\n", a.c_str());
      return help ? 0 : 2;
    } else files.push_back(a);
  }
  if (files.empty() && data.empty() && scan_data.empty()) {
    std::fprintf(stderr, "bench_lipsync: nothing to measure: give --data DIR, --scan DIR or video files (--help)\n");
    return 2;
  }
  if (!scan_data.empty()) return scan_manifest(scan_data, models_dir, dump);
  if (!data.empty()) {
    std::ifstream manifest(data + "/MANIFEST.csv");
    for (std::string line; std::getline(manifest, line);) {
      // Real talking-head clips with their own audio: interview/TV and speech corpora.
      if (line.find(",video,real,") == std::string::npos) continue;
      if (line.find("pcavs") == std::string::npos && line.find("deep_avsr") == std::string::npos &&
          line.find("LipNet") == std::string::npos && line.find("EAMM") == std::string::npos) continue;
      files.push_back(data + "/" + line.substr(0, line.find(',')));
    }
    if (static_cast<int>(files.size()) > max_clips) files.resize(static_cast<size_t>(max_clips));
  }
  fs::create_directories(cache);
  std::shared_ptr<const face::FaceModels> models;
  std::printf("| clip | version | best offset ms | corr | corr near 0 | z near 0 | speech corr | confidence | speech s | mouth motion | "
              "modulation dB | voice fraction | beat | mismatch score |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::vector<Row> rows;
  std::vector<std::pair<std::string, detect::LipsyncEstimate>> aligned_evidence;  // every aligned version, judged or not
  std::vector<double> aligned_media_s;
  int abstained_aligned = 0, abstained_mismatch = 0;
  double lipsync_s = 0, media_s = 0;
  int n_clips = 0;
  for (size_t ci = 0; ci < files.size(); ++ci) {
    const auto& path = files[ci];
    Clip clip;
    clip.name = fs::path(path).parent_path().filename().string() + "_" + fs::path(path).stem().string();
    const std::string lm_file = cache + "/" + clip.name + ".lm";
    auto info = media::probe(path);
    if (!info.ok() || !info->audio || !info->video) continue;
    if (!load_cached(lm_file, clip)) {
      if (!models) {
        auto m = face::FaceModels::load();
        if (!m.ok()) {
          std::fprintf(stderr, "%s\n", m.status().message().c_str());
          return 4;
        }
        models = *m;
      }
      auto faces = face::track_file(path, models);
      if (!faces.ok() || faces->tracks.empty()) continue;
      clip.fps = faces->fps > 0 ? faces->fps : 25.0;
      std::vector<LandmarkSeries> tracks;
      for (const auto& track : faces->tracks) {
        LandmarkSeries lms(static_cast<size_t>(faces->n_frames));
        for (const auto& f : track.frames) {
          if (f.frame >= 0 && f.frame < faces->n_frames) lms[static_cast<size_t>(f.frame)] = f.face.landmarks;
        }
        tracks.push_back(std::move(lms));
      }
      const size_t k = detect::speaking_track(tracks, clip.fps);
      if (k >= tracks.size()) continue;
      clip.landmarks = tracks[k];
      save_cached(lm_file, clip);
    }
    auto audio = media::read_audio(path, 16000);
    if (!audio.ok()) continue;
    // Dubbed version: espeak-ng speech over the original speech segments (cached).
    const std::string dub_path = cache + "/" + clip.name + ".dub.mp4";
    if (!fs::exists(dub_path)) {
      const std::string text = detect::voice_sentence(ci) + " " + detect::voice_sentence(ci + 7);
      auto dub = synth::dub_file(path, text, dub_path);
      if (!dub.ok()) std::fprintf(stderr, "dub %s: %s\n", clip.name.c_str(), dub.status().message().c_str());
    }
    ++n_clips;
    std::vector<std::pair<std::string, Audio>> versions = {{"aligned", *audio}};
    for (int s : {300, -300, 500, -500}) versions.push_back({(s > 0 ? "+" : "") + std::to_string(s), shifted(*audio, s)});
    if (auto dubbed = media::read_audio(dub_path, 16000); dubbed.ok()) versions.push_back({"dub", *dubbed});
    for (const auto& [version, a] : versions) {
      Row row;
      row.clip = clip.name;
      row.version = version;
      row.shift_ms = version == "aligned" || version == "dub" ? 0 : std::stoi(version);
      const auto t0 = std::chrono::steady_clock::now();
      detect::LipsyncEstimate est;
      if (legacy) {
        auto o = detect::estimate_av_offset(detect::mouth_opening(clip.landmarks), detect::speech_envelope(a, clip.fps), clip.fps);
        if (o.ok()) {
          est.offset = *o;
          est.score = detect::lipsync_mismatch_score(*o);
        } else {
          est.note = o.status().message();
        }
      } else {
        auto r = detect::score_lipsync(clip.landmarks, clip.fps, a);
        if (r.ok()) est = *r;
      }
      lipsync_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      media_s += a.duration_s();
      if (version == "aligned") {
        aligned_evidence.push_back({clip.name, est});
        aligned_media_s.push_back(a.duration_s());
      }
      if (!est.score) {
        (version == "aligned" ? abstained_aligned : abstained_mismatch) += 1;
        std::printf("| %s | %s | - | - | - | - | - | - | %.1f | %.4f | %.2f | %.2f | %.2f | (%s) |\n", clip.name.c_str(), version.c_str(),
                    est.speech_s, est.mouth_motion, est.speech_modulation, est.voice_fraction, est.beat_strength, est.note.c_str());
        continue;
      }
      row.o = est.offset;
      row.score = *est.score;
      std::printf("| %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.4f | %.2f | %.2f | %.2f | %.3f |\n", clip.name.c_str(),
                  version.c_str(), row.o.offset_ms, row.o.correlation, row.o.aligned_correlation, row.o.aligned_z,
                  row.o.speech_correlation, row.o.confidence, est.speech_s, est.mouth_motion, est.speech_modulation,
                  est.voice_fraction, est.beat_strength, row.score);
      rows.push_back(row);
    }
    std::fflush(stdout);
  }
  std::printf("\n%d clips%s. AUC of the mismatch score, aligned vs:\n", n_clips, legacy ? " (legacy signals)" : "");
  std::printf("| shifted +-300 ms | shifted +-500 ms | dubbed (espeak-ng) | all mismatches |\n|---|---|---|---|\n");
  std::printf("| %.3f | %.3f | %.3f | %.3f |\n", auc_of(rows, "300"), auc_of(rows, "500"),
              auc_of(rows, "dub"), auc_of(rows, "all"));
  int aligned_flagged = 0, n_aligned = 0, mismatch_flagged = 0, n_mismatch = 0;
  for (const auto& r : rows) {
    if (r.version == "aligned") { ++n_aligned; aligned_flagged += r.score >= 0.5; }
    else { ++n_mismatch; mismatch_flagged += r.score >= 0.5; }
  }
  std::printf("at score 0.5: %d of %d aligned versions flagged, %d of %d mismatched versions flagged\n", aligned_flagged,
              n_aligned, mismatch_flagged, n_mismatch);
  std::printf("not judged (abstained): %d aligned versions, %d mismatched versions\n", abstained_aligned, abstained_mismatch);
  // The evidence over the aligned clips (real talking heads, judged or not): what the thresholds
  // in lipsync.cpp are set from.
  {
    double min_motion = 1e9, min_mod = 1e9, max_fraction_long = 0, max_beat = 0;
    std::string at_motion, at_mod, at_fraction, at_beat;
    for (size_t i = 0; i < aligned_evidence.size(); ++i) {
      const auto& [name, e] = aligned_evidence[i];
      if (e.speech_s < detect::kLipsyncMinSpeechSeconds) continue;
      if (e.mouth_motion < min_motion) { min_motion = e.mouth_motion; at_motion = name; }
      if (e.speech_modulation < min_mod) { min_mod = e.speech_modulation; at_mod = name; }
      if (e.beat_strength > max_beat) { max_beat = e.beat_strength; at_beat = name; }
      if (aligned_media_s[i] >= 8.0 && e.voice_fraction > max_fraction_long) {
        max_fraction_long = e.voice_fraction;
        at_fraction = name;
      }
    }
    std::printf("aligned clips with %.1f s of speech or more: lowest mouth motion %.4f (%s), lowest speech modulation %.2f dB (%s), "
                "highest voice-active fraction among those of 8 s or more %.2f (%s); thresholds in use: motion %.4f, modulation %.2f\n",
                detect::kLipsyncMinSpeechSeconds, min_motion, at_motion.c_str(), min_mod, at_mod.c_str(), max_fraction_long,
                at_fraction.c_str(), detect::kLipsyncMinMouthMotion, detect::kLipsyncMinSpeechModulation);
    std::printf("highest beat strength among them %.3f (%s)\n", max_beat, at_beat.c_str());
  }
  // Offset error on the shifted versions, and on the aligned ones (true offset 0).
  std::vector<double> err_shift, err_aligned;
  int n_conf = 0;
  for (const auto& r : rows) {
    if (r.version == "dub") continue;
    const double e = std::abs(r.o.offset_ms - r.shift_ms);
    (r.version == "aligned" ? err_aligned : err_shift).push_back(e);
    n_conf += r.o.confidence > 0.3;
  }
  auto median = [](std::vector<double> v) {
    if (v.empty()) return std::nan("");
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto within = [](const std::vector<double>& v, double ms) {
    if (v.empty()) return std::nan("");
    return 100.0 * std::count_if(v.begin(), v.end(), [&](double e) { return e <= ms; }) / v.size();
  };
  std::printf("\noffset error: shifted versions median %.0f ms, within 80 ms %.0f%% (n %zu); aligned median %.0f ms, within 80 ms %.0f%% (n %zu)\n",
              median(err_shift), within(err_shift, 80), err_shift.size(), median(err_aligned), within(err_aligned, 80), err_aligned.size());
  std::printf("lipsync signals + estimator: %.4f s of compute per s of media (face tracking not included)\n", lipsync_s / std::max(1e-9, media_s));
  if (fit) {
    std::vector<std::string> names;
    for (const auto& r : rows) {
      if (std::find(names.begin(), names.end(), r.clip) == names.end()) names.push_back(r.clip);
    }
    auto fit_on = [&](auto keep) {
      std::vector<Features> x;
      std::vector<int> y;
      for (const auto& r : rows) {
        if (!keep(r)) continue;
        x.push_back(features_of(r.o));
        y.push_back(r.version == "aligned" ? 0 : 1);
      }
      return fit_logistic(x, y);
    };
    auto clip_fold = [&](const Row& r) {
      return static_cast<int>(std::find(names.begin(), names.end(), r.clip) - names.begin()) % 2;
    };
    const auto w_all = fit_on([](const Row&) { return true; });
    int n_pos = 0, n_neg = 0;
    for (const auto& r : rows) (r.version == "aligned" ? n_neg : n_pos) += 1;
    std::printf("\nfit on all rows: bias %.3f (%.3f for even priors: minus log(%d/%d)), aligned_correlation %.3f, aligned_z %.3f, "
                "speech_correlation %.3f\n",
                w_all[0], w_all[0] - std::log(double(n_pos) / std::max(1, n_neg)), n_pos, n_neg, w_all[1], w_all[2], w_all[3]);
    std::vector<Row> refit = rows;
    for (auto& r : refit) r.score = linear_score(w_all, r.o);
    std::printf("AUC with these weights (fitted and scored on the same rows): +-300 %.3f, +-500 %.3f, dub %.3f, all %.3f\n",
                auc_of(refit, "300"), auc_of(refit, "500"), auc_of(refit, "dub"), auc_of(refit, "all"));
    // 2-fold by clip: each half scored with the weights fitted on the other.
    std::vector<Row> cv = rows;
    for (int fold = 0; fold < 2; ++fold) {
      const auto w = fit_on([&](const Row& r) { return clip_fold(r) != fold; });
      for (auto& r : cv) {
        if (clip_fold(r) == fold) r.score = linear_score(w, r.o);
      }
    }
    std::printf("2-fold cross-validated AUC by clip: +-300 %.3f, +-500 %.3f, dub %.3f, all %.3f\n", auc_of(cv, "300"),
                auc_of(cv, "500"), auc_of(cv, "dub"), auc_of(cv, "all"));
    // Each signal alone (higher = aligned, so the score is its negative).
    const char* names_f[kFeatures] = {"aligned_correlation", "aligned_z", "speech_correlation"};
    for (int k = 0; k < kFeatures; ++k) {
      std::vector<Row> one = rows;
      for (auto& r : one) r.score = -features_of(r.o)[k];
      std::printf("  %s alone: +-300 %.3f, +-500 %.3f, dub %.3f, all %.3f\n", names_f[k], auc_of(one, "300"), auc_of(one, "500"),
                  auc_of(one, "dub"), auc_of(one, "all"));
    }
  }
  return 0;
}
