// Fusion of detector scores into one calibrated score and a verdict: the rule documented in
// scan.h, written out so that a reader can check it line by line.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "scan/scan.h"

namespace unmask::scan {
namespace {

double logit(double p) {
  const double q = std::clamp(p, 1e-6, 1.0 - 1e-6);
  return std::log(q / (1.0 - q));
}
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

report::Verdict verdict_for_score(double score) {
  if (score >= kManipulatedThreshold) return report::Verdict::kManipulated;
  if (score >= kSuspiciousThreshold) return report::Verdict::kSuspicious;
  return report::Verdict::kAuthentic;
}

// ---------------------------------------------------------------------------------------------
// Learned fusion
// ---------------------------------------------------------------------------------------------

namespace {

// Features of one video for the model's weights: x_d (clipped logit, 0 when absent), a_d.
void features_of(const FusionModel& m, const std::vector<DetectorScore>& evidence, std::vector<double>& x) {
  x.assign(2 * m.weights.size(), 0.0);
  for (size_t i = 0; i < m.weights.size(); ++i) {
    if (m.weights[i].detector == kFusionMaxFeature) {
      // The max rule's score over every detector that judged.
      if (evidence.empty()) continue;
      double mx = 0.0;
      for (const DetectorScore& e : evidence) mx = std::max(mx, e.score);
      x[2 * i] = std::clamp(logit(mx), -m.clip, m.clip);
      x[2 * i + 1] = 1.0;
      continue;
    }
    for (const DetectorScore& e : evidence) {
      if (e.detector != m.weights[i].detector) continue;
      x[2 * i] = std::clamp(logit(e.score), -m.clip, m.clip);
      x[2 * i + 1] = 1.0;
      break;
    }
  }
}

// Solves A x = b (A symmetric positive definite, small) by Gaussian elimination with pivoting.
std::vector<double> solve(std::vector<std::vector<double>> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t p = c;
    for (size_t r = c + 1; r < n; ++r) if (std::abs(a[r][c]) > std::abs(a[p][c])) p = r;
    std::swap(a[c], a[p]);
    std::swap(b[c], b[p]);
    if (std::abs(a[c][c]) < 1e-12) continue;
    for (size_t r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      if (f == 0.0) continue;
      for (size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n, 0.0);
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k) s -= a[i][k] * x[k];
    x[i] = std::abs(a[i][i]) < 1e-12 ? 0.0 : s / a[i][i];
  }
  return x;
}

}  // namespace

double fusion_model_score(const FusionModel& m, const std::vector<DetectorScore>& evidence, std::vector<double>* contributions) {
  std::vector<double> x;
  features_of(m, evidence, x);
  double z = m.intercept;
  if (contributions) contributions->assign(m.weights.size(), 0.0);
  for (size_t i = 0; i < m.weights.size(); ++i) {
    const double c = m.weights[i].w_logit * x[2 * i] + m.weights[i].w_present * x[2 * i + 1];
    z += c;
    if (contributions) (*contributions)[i] = c;
  }
  return sigmoid(z);
}

FusionModel fit_fusion_model(const std::vector<FusionWeight>& detectors, const std::vector<std::vector<DetectorScore>>& evidence,
                             const std::vector<int>& labels, double l2, double clip, const FusionFitOptions& fit) {
  FusionModel m;
  m.clip = clip;
  m.l2 = l2;
  m.weights = detectors;
  for (FusionWeight& w : m.weights) w.w_logit = w.w_present = 0.0;
  const size_t n = evidence.size();
  const size_t k = 1 + 2 * m.weights.size();  // intercept first
  std::vector<std::vector<double>> rows(n);
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> x;
    features_of(m, evidence[i], x);
    rows[i].reserve(k);
    rows[i].push_back(1.0);
    rows[i].insert(rows[i].end(), x.begin(), x.end());
  }
  // Start from the base rate.
  double pos = 0;
  for (int y : labels) pos += y != 0;
  // Active columns: the presence flags only when asked for; a logit weight that a non-negative
  // fit drives below zero is fixed at 0 and the rest refitted (an active-set loop).
  std::vector<bool> active(k, true);
  for (size_t i = 0; i < m.weights.size(); ++i) {
    const bool allowed = fit.only.empty() || std::find(fit.only.begin(), fit.only.end(), m.weights[i].detector) != fit.only.end();
    active[1 + 2 * i] = allowed;
    active[2 + 2 * i] = allowed && fit.presence;
  }
  std::vector<double> beta(k, 0.0);
  for (size_t round = 0; round <= m.weights.size(); ++round) {
  std::fill(beta.begin(), beta.end(), 0.0);
  if (n > 0) beta[0] = logit((pos + 0.5) / (n + 1.0));
  for (int iter = 0; iter < 100; ++iter) {
    std::vector<double> grad(k, 0.0);
    std::vector<std::vector<double>> hess(k, std::vector<double>(k, 0.0));
    for (size_t i = 0; i < n; ++i) {
      double z = 0;
      for (size_t j = 0; j < k; ++j) z += beta[j] * rows[i][j];
      const double p = sigmoid(z);
      const double r = p - (labels[i] != 0 ? 1.0 : 0.0);
      const double w = std::max(p * (1 - p), 1e-9);
      for (size_t j = 0; j < k; ++j) {
        grad[j] += r * rows[i][j];
        for (size_t l = 0; l < k; ++l) hess[j][l] += w * rows[i][j] * rows[i][l];
      }
    }
    for (size_t j = 1; j < k; ++j) {
      grad[j] += l2 * beta[j];
      hess[j][j] += l2;
    }
    hess[0][0] += 1e-9;
    for (size_t j = 0; j < k; ++j) {
      if (active[j]) continue;
      grad[j] = 0.0;
      for (size_t l = 0; l < k; ++l) hess[j][l] = hess[l][j] = 0.0;
      hess[j][j] = 1.0;
    }
    const std::vector<double> step = solve(hess, grad);
    double change = 0;
    for (size_t j = 0; j < k; ++j) {
      beta[j] -= step[j];
      change = std::max(change, std::abs(step[j]));
    }
    if (change < 1e-10) break;
  }
  if (!fit.non_negative) break;
  size_t worst = 0;
  for (size_t i = 0; i < m.weights.size(); ++i) {
    const size_t j = 1 + 2 * i;
    if (active[j] && beta[j] < 0 && (worst == 0 || beta[j] < beta[worst])) worst = j;
  }
  if (worst == 0) break;
  active[worst] = false;
  }
  m.intercept = beta[0];
  for (size_t i = 0; i < m.weights.size(); ++i) {
    m.weights[i].w_logit = beta[1 + 2 * i];
    m.weights[i].w_present = beta[2 + 2 * i];
  }
  return m;
}

std::string fusion_model_json(const FusionModel& m) {
  nlohmann::ordered_json j;
  j["format"] = "unmask.fusion/1";
  j["version"] = m.version;
  j["rule"] = "sigmoid(intercept + sum_d w_logit*clamp(logit(score_d),-clip,clip) + w_present*[d judged])";
  j["clip"] = m.clip;
  j["l2"] = m.l2;
  j["intercept"] = m.intercept;
  j["weights"] = nlohmann::ordered_json::array();
  for (const FusionWeight& w : m.weights) {
    j["weights"].push_back({{"detector", w.detector}, {"model_sha256", w.model_sha256}, {"w_logit", w.w_logit},
                            {"w_present", w.w_present}});
  }
  return json_text(j, 2) + "\n";
}

Result<FusionModel> load_fusion_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::model(path, "cannot read the fusion model");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    const nlohmann::json j = nlohmann::json::parse(ss.str());
    if (j.value("format", "") != "unmask.fusion/1") return Status::model(path, "not an unmask.fusion/1 file");
    FusionModel m;
    m.version = j.at("version").get<std::string>();
    m.clip = j.at("clip").get<double>();
    m.l2 = j.value("l2", 0.0);
    m.intercept = j.at("intercept").get<double>();
    std::set<std::string> seen;
    for (const auto& w : j.at("weights")) {
      FusionWeight fw;
      fw.detector = w.at("detector").get<std::string>();
      fw.model_sha256 = w.at("model_sha256").get<std::string>();
      fw.w_logit = w.at("w_logit").get<double>();
      fw.w_present = w.at("w_present").get<double>();
      if (fw.detector.empty() || !seen.insert(fw.detector).second) {
        return Status::model(path, "empty or repeated detector name '" + fw.detector + "'");
      }
      m.weights.push_back(std::move(fw));
    }
    const bool finite = std::isfinite(m.clip) && m.clip > 0 && std::isfinite(m.intercept) &&
                        std::all_of(m.weights.begin(), m.weights.end(), [](const FusionWeight& w) {
                          return std::isfinite(w.w_logit) && std::isfinite(w.w_present);
                        });
    if (!finite) return Status::model(path, "non-finite weight or non-positive clip");
    return m;
  } catch (const std::exception& e) {
    return Status::model(path, std::string("malformed fusion model: ") + e.what());
  }
}

std::string fusion_model_mismatch(const FusionModel& m, const std::vector<detect::DetectorInfo>& loaded) {
  std::map<std::string, std::string> want;
  for (const FusionWeight& w : m.weights) want[w.detector] = w.model_sha256;
  std::vector<std::string> problems;
  for (const detect::DetectorInfo& d : loaded) {
    auto it = want.find(d.name);
    if (it == want.end()) {
      problems.push_back(d.name + " is not in it");
    } else if (it->second != d.model_sha256) {
      problems.push_back(d.name + " " + d.model_sha256.substr(0, 12) + " was fitted as " + it->second.substr(0, 12));
    }
  }
  for (const FusionWeight& w : m.weights) {
    if (w.model_sha256.empty()) continue;  // no weights file (lipsync, max): nothing to load
    const bool there = std::any_of(loaded.begin(), loaded.end(), [&](const auto& d) { return d.name == w.detector; });
    if (!there) problems.push_back(w.detector + " is not loaded");
  }
  if (problems.empty()) return "";
  std::string s;
  for (const std::string& p : problems) s += (s.empty() ? "" : "; ") + p;
  return "the fusion model does not match the loaded detectors (" + s + "): refit it with scripts/fit-fusion.sh";
}

std::vector<DetectorScore> detector_evidence(const FusionInput& in) {
  bool any_long = false;
  for (const TrackEvidence& t : in.tracks) any_long |= !t.scores.empty() && t.n_scored_frames >= kMinTrackFrames;
  std::vector<DetectorScore> out;
  for (const TrackEvidence& t : in.tracks) {
    if (any_long && t.n_scored_frames < kMinTrackFrames) continue;
    for (const DetectorScore& d : t.scores) {
      auto it = std::find_if(out.begin(), out.end(), [&](const DetectorScore& o) { return o.detector == d.detector; });
      if (it == out.end()) out.push_back(d);
      else it->score = std::max(it->score, d.score);
    }
  }
  if (in.voice) out.push_back({"voice", *in.voice});
  if (in.lipsync) out.push_back({"lipsync", *in.lipsync});
  return out;
}

// ---------------------------------------------------------------------------------------------
// fuse
// ---------------------------------------------------------------------------------------------

FusionResult fuse(const FusionInput& in) {
  FusionResult out;
  const double nan = std::numeric_limits<double>::quiet_NaN();

  // Tracks: the strongest detector per track, then the strongest track among those with enough
  // scored frames (every track when none has enough, e.g. a still image).
  bool any_long = false;
  for (const TrackEvidence& t : in.tracks) any_long |= !t.scores.empty() && t.n_scored_frames >= kMinTrackFrames;
  int best_track = -1;
  for (const TrackEvidence& t : in.tracks) {
    double track = nan;
    for (const DetectorScore& d : t.scores) track = std::isnan(track) ? d.score : std::max(track, d.score);
    out.track_scores.push_back(track);
    if (std::isnan(track)) continue;
    if (any_long && t.n_scored_frames < kMinTrackFrames) continue;
    if (!out.video_score || track > *out.video_score) {
      out.video_score = track;
      best_track = t.track_id;
    }
  }

  std::string audio_source;
  if (in.voice) {
    out.audio_score = *in.voice;
    audio_source = "voice";
  }
  if (in.lipsync && (!out.audio_score || *in.lipsync > *out.audio_score)) {
    out.audio_score = *in.lipsync;
    audio_source = "lipsync";
  }

  std::optional<double> media;
  if (out.video_score) {
    media = *out.video_score;
    out.deciding = "track " + std::to_string(best_track);
  }
  if (out.audio_score && (!media || *out.audio_score > *media)) {
    media = *out.audio_score;
    out.deciding = audio_source;
  }
  if (media && in.model) {
    // The learned rule; what decided is the largest positive contribution (a track detector
    // names the track where it scored highest).
    const std::vector<DetectorScore> evidence = detector_evidence(in);
    std::vector<double> contributions;
    media = fusion_model_score(*in.model, evidence, &contributions);
    out.rule = "learned";
    double best = 0.0;
    std::string top;
    for (size_t i = 0; i < contributions.size(); ++i) {
      if (contributions[i] > best) {
        best = contributions[i];
        top = in.model->weights[i].detector;
      }
    }
    if (!top.empty() && top != "voice" && top != "lipsync") {
      double strongest = -1.0;
      for (const TrackEvidence& t : in.tracks) {
        for (const DetectorScore& d : t.scores) {
          if (d.detector == top && d.score > strongest) {
            strongest = d.score;
            out.deciding = "track " + std::to_string(t.track_id);
          }
        }
      }
    } else if (!top.empty()) {
      out.deciding = top;
    }
  }

  const report::WatermarkSection& w = in.watermark;
  if (w.found && w.synthetic) {
    out.score = std::max(media.value_or(0.0), 0.99);
    out.verdict = report::Verdict::kManipulated;
    out.deciding = "watermark";
    return out;
  }
  if (w.found) {
    // A mark of an issuer: the file is what that issuer published, unless its tamper layer says
    // regions were changed since.
    const double base = media ? logit(*media) : 0.0;
    const bool tampered = w.tamper_fraction_frames >= kTamperFractionThreshold;
    out.score = sigmoid(base + (tampered ? kTamperedMarkLogitShift : kIntactMarkLogitShift));
    out.verdict = verdict_for_score(out.score);
    out.deciding = out.deciding.empty() ? "watermark" : "watermark+" + out.deciding;
    return out;
  }
  if (!media || !in.not_applicable_reason.empty()) {
    out.score = 0.5;
    out.verdict = report::Verdict::kNotApplicable;
    out.deciding.clear();
    return out;
  }
  out.score = *media;
  out.verdict = verdict_for_score(out.score);
  return out;
}

std::string detector_phrase(const std::string& detector) {
  if (detector == "blend") return "blending seams";
  if (detector == "mouth") return "a re-synthesised mouth and lower face";
  if (detector == "spectral") return "spectral traces of a generated face";
  if (detector == "temporal") return "unnatural motion over time";
  if (detector == "noise") return "a face smoother than its surroundings";
  if (detector == "expression") return "brows that hardly move, as in an animated photo";
  if (detector == "interpolation") return "frames made by interpolation (frame rate doubled)";
  if (detector == "voice") return "synthetic speech";
  if (detector == "lipsync") return "lips out of step with the voice";
  return detector;
}

}  // namespace unmask::scan
