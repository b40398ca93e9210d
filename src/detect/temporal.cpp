// The temporal detector: landmark jitter, blinks and seam flicker of one face track (temporal.h).
#include "detect/temporal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "detect/cv_image.h"
#include "detect/feature_model.h"
#include "detect/interpolation.h"
#include "detect/registry_table.h"

namespace unmask::detect {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kInnerFirst = 17;  // brows, nose, eyes, mouth: 17..67 (the jaw line is left out)

double dist(const face::Point2& a, const face::Point2& b) { return std::hypot(a.x - b.x, a.y - b.y); }

using face::landmark_mean;

double inter_ocular(const face::Landmarks& l) { return dist(landmark_mean(l, 36, 41), landmark_mean(l, 42, 47)); }

// q ~ s R p + t over the inner landmarks (least squares, complex form); RMS residual.
double similarity_residual(const face::Landmarks& p, const face::Landmarks& q) {
  const face::Point2 cp = landmark_mean(p, kInnerFirst, 67), cq = landmark_mean(q, kInnerFirst, 67);
  double num_re = 0, num_im = 0, den = 0;
  for (int i = kInnerFirst; i < face::kNumLandmarks; ++i) {
    const double px = p[i].x - cp.x, py = p[i].y - cp.y;
    const double qx = q[i].x - cq.x, qy = q[i].y - cq.y;
    num_re += px * qx + py * qy;
    num_im += px * qy - py * qx;
    den += px * px + py * py;
  }
  if (den <= 1e-12) return kNaN;
  const double a = num_re / den, b = num_im / den;
  double sum = 0;
  for (int i = kInnerFirst; i < face::kNumLandmarks; ++i) {
    const double px = p[i].x - cp.x, py = p[i].y - cp.y;
    const double qx = q[i].x - cq.x, qy = q[i].y - cq.y;
    const double ex = a * px - b * py - qx, ey = b * px + a * py - qy;
    sum += ex * ex + ey * ey;
  }
  return std::sqrt(sum / (face::kNumLandmarks - kInnerFirst));
}

double quantile(std::vector<double> v, double q) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const size_t i = static_cast<size_t>(pos);
  const double frac = pos - i;
  return i + 1 < v.size() ? v[i] * (1 - frac) + v[i + 1] * frac : v[i];
}
double median(const std::vector<double>& v) { return quantile(v, 0.5); }

// Per-crop region statistics: luma mean and log mean |Laplacian| inside the face and on a band
// around its outline (an ellipse in the aligned crop's coordinates, from the alignment template).
struct CropStats {
  double luma_inner = 0, luma_boundary = 0;
  double log_sharp_inner = 0, log_sharp_boundary = 0;
};

CropStats crop_stats(const Image& crop) {
  cv::Mat g;
  grey_of(crop).convertTo(g, CV_32F);
  cv::Mat lap;
  cv::Laplacian(g, lap, CV_32F, 3);
  // Face ellipse of the ArcFace template (centre (0.5, 0.55), semi-axes 0.42 x 0.5 of the
  // template) mapped through the margin: crop = (template + m) / (1 + 2 m).
  const double span = 1.0 + 2.0 * kTemporalMargin;
  const double cx = (0.5 + kTemporalMargin) / span * crop.width_px();
  const double cy = (0.55 + kTemporalMargin) / span * crop.height_px();
  const double ax = 0.42 / span * crop.width_px(), ay = 0.5 / span * crop.height_px();
  double sum_l[2] = {0, 0}, sum_s[2] = {0, 0}, n[2] = {0, 0};
  for (int y = 0; y < g.rows; ++y) {
    const float* gr = g.ptr<float>(y);
    const float* lr = lap.ptr<float>(y);
    for (int x = 0; x < g.cols; ++x) {
      const double rho = std::hypot((x + 0.5 - cx) / ax, (y + 0.5 - cy) / ay);
      int region = -1;
      if (rho < 0.5) {
        region = 0;
      } else if (rho > 0.85 && rho < 1.2) {
        region = 1;
      }
      if (region < 0) continue;
      sum_l[region] += gr[x];
      sum_s[region] += std::abs(lr[x]);
      n[region] += 1;
    }
  }
  CropStats s;
  s.luma_inner = sum_l[0] / std::max(1.0, n[0]);
  s.luma_boundary = sum_l[1] / std::max(1.0, n[1]);
  s.log_sharp_inner = std::log(sum_s[0] / std::max(1.0, n[0]) + 0.1);
  s.log_sharp_boundary = std::log(sum_s[1] / std::max(1.0, n[1]) + 0.1);
  return s;
}

class TemporalDetector final : public TrackDetector {
 public:
  TemporalDetector(FeatureClassifier classifier, DetectorInfo info, double real_jitter_ratio, double real_blink_rate)
      : classifier_(std::move(classifier)), info_(std::move(info)), real_jitter_ratio_(real_jitter_ratio),
        real_blink_rate_(real_blink_rate) {}

  const DetectorInfo& info() const override { return info_; }
  std::optional<face::AlignOptions> alignment() const override {
    return face::AlignOptions{.size_px = kTemporalCropPx, .margin = kTemporalMargin};
  }

  Result<TrackResult> score(const TrackSeries& track) const override {
    if (track.landmarks.size() != track.pts_us.size()) {
      return Status::input("temporal", "track has " + std::to_string(track.pts_us.size()) + " timestamps and " +
                                           std::to_string(track.landmarks.size()) + " landmark sets");
    }
    for (size_t i = 1; i < track.pts_us.size(); ++i) {
      if (track.pts_us[i] <= track.pts_us[i - 1]) return Status::input("temporal", "track timestamps must increase");
    }
    TrackResult result;
    auto features = temporal_features(track);
    if (!features) {
      const double span_s = track.pts_us.size() > 1 ? (track.pts_us.back() - track.pts_us.front()) / 1e6 : 0.0;
      char buf[96];
      std::snprintf(buf, sizeof(buf), "track too short to judge over time (%.1f s, needs %.0f s)", span_s,
                    kTemporalMinSeconds);
      result.evidence.push_back(buf);
      return result;
    }
    std::vector<float> row = *features;
    for (size_t j = 0; j < row.size(); ++j) {
      if (!std::isfinite(row[j])) row[j] = classifier_.mean()[j];
    }
    auto p = classifier_.predict({row});
    if (!p.ok()) return p.status();
    result.score = (*p)[0];

    TemporalSignals sig = temporal_signals(track);
    BlinkStats blinks = count_blinks(sig.ear, sig.t_s);
    char buf[160];
    if (blinks.n_blinks == 0) {
      std::snprintf(buf, sizeof(buf), "blinks: none in %.0f s", blinks.duration_s);
    } else {
      std::snprintf(buf, sizeof(buf), "blinks: %d in %.0f s (%.0f/min; real tracks: median %.0f/min)", blinks.n_blinks,
                    blinks.duration_s, blinks.rate_per_min, real_blink_rate_);
    }
    result.evidence.push_back(buf);
    const double ratio = std::exp(static_cast<double>((*features)[2]));
    if (real_jitter_ratio_ > 0 && std::isfinite(ratio)) {
      std::snprintf(buf, sizeof(buf), "landmark jitter %.1fx the real-track median, relative to head motion",
                    ratio / real_jitter_ratio_);
      result.evidence.push_back(buf);
    }
    if (std::isfinite((*features)[8])) {
      std::snprintf(buf, sizeof(buf), "face-boundary brightness flicker %.1fx the face interior's",
                    std::exp(static_cast<double>((*features)[8])));
      result.evidence.push_back(buf);
    }
    return result;
  }

 private:
  FeatureClassifier classifier_;
  DetectorInfo info_;
  double real_jitter_ratio_ = 0;
  double real_blink_rate_ = 0;
};

}  // namespace

TemporalSignals temporal_signals(const TrackSeries& track) {
  TemporalSignals s;
  const size_t n = std::min(track.landmarks.size(), track.pts_us.size());
  if (n == 0) return s;
  const double span_s = (track.pts_us[n - 1] - track.pts_us[0]) / 1e6;
  const double fps = n > 1 && span_s > 0 ? (n - 1) / span_s : 25.0;
  const int half = std::max(1, static_cast<int>(std::lround(0.1 * fps)));
  std::vector<face::Landmarks> smooth(n);
  for (size_t t = 0; t < n; ++t) {
    const size_t a = t >= static_cast<size_t>(half) ? t - half : 0;
    const size_t b = std::min(n - 1, t + half);
    face::Landmarks m{};
    for (size_t k = a; k <= b; ++k) {
      for (int i = 0; i < face::kNumLandmarks; ++i) {
        m[i].x += track.landmarks[k][i].x;
        m[i].y += track.landmarks[k][i].y;
      }
    }
    const double cnt = static_cast<double>(b - a + 1);
    for (auto& p : m) {
      p.x /= cnt;
      p.y /= cnt;
    }
    smooth[t] = m;
  }
  s.t_s.resize(n);
  s.jitter.resize(n);
  s.head_speed.resize(n);
  s.ear.resize(n);
  for (size_t t = 0; t < n; ++t) {
    const auto& l = track.landmarks[t];
    s.t_s[t] = (track.pts_us[t] - track.pts_us[0]) / 1e6;
    const double iod = inter_ocular(smooth[t]);
    s.jitter[t] = iod > 1e-6 ? similarity_residual(l, smooth[t]) / iod : kNaN;
    if (t == 0) {
      s.head_speed[t] = kNaN;
    } else {
      s.head_speed[t] = iod > 1e-6 ? dist(landmark_mean(smooth[t], kInnerFirst, 67), landmark_mean(smooth[t - 1], kInnerFirst, 67)) / iod
                                   : kNaN;
    }
    s.ear[t] = 0.5 * (face::eye_aspect_ratio(l, 36) + face::eye_aspect_ratio(l, 42));
  }
  return s;
}

BlinkStats count_blinks(const std::vector<double>& ear_raw, const std::vector<double>& t_s) {
  BlinkStats b;
  const size_t n = std::min(ear_raw.size(), t_s.size());
  // A 3-frame median first: a blink spans two frames or more even at 25 fps, a landmark glitch
  // one.
  std::vector<double> ear(n);
  for (size_t t = 0; t < n; ++t) {
    if (t == 0 || t + 1 >= n) {
      ear[t] = ear_raw[t];
    } else {
      double a = ear_raw[t - 1], m = ear_raw[t], c = ear_raw[t + 1];
      ear[t] = std::max(std::min(a, m), std::min(std::max(a, m), c));
    }
  }
  if (n < 2) return b;
  b.duration_s = t_s[n - 1] - t_s[0];
  const double frame_s = b.duration_s / (n - 1);
  b.open_ear = quantile(ear, 0.8);
  if (!(b.open_ear > 0)) return b;
  const double close_thr = 0.75 * b.open_ear, reopen_thr = 0.88 * b.open_ear;
  double sum_len = 0, sum_depth = 0;
  size_t t = 0;
  while (t < n) {
    if (!(ear[t] < close_thr)) {
      ++t;
      continue;
    }
    const size_t start = t;
    double lowest = ear[t];
    while (t < n && !(ear[t] > reopen_thr)) {
      if (std::isfinite(ear[t])) lowest = std::min(lowest, ear[t]);
      ++t;
    }
    // Frames from the first below close_thr to the last before reopening.
    const double len_s = (t_s[std::min(t, n) - 1] - t_s[start]) + frame_s;
    if (len_s <= 0.7) {
      b.n_blinks += 1;
      sum_len += len_s;
      sum_depth += 1.0 - lowest / b.open_ear;
    } else {
      b.n_long_closures += 1;
    }
  }
  if (b.n_blinks > 0) {
    b.mean_blink_s = sum_len / b.n_blinks;
    b.mean_depth = sum_depth / b.n_blinks;
  }
  b.rate_per_min = b.duration_s > 0 ? b.n_blinks * 60.0 / (b.duration_s + frame_s) : 0.0;
  return b;
}

std::optional<std::vector<float>> temporal_features(const TrackSeries& track) {
  const size_t n = std::min(track.landmarks.size(), track.pts_us.size());
  if (n < 10) return std::nullopt;
  const double span_s = (track.pts_us[n - 1] - track.pts_us[0]) / 1e6;
  if (span_s < kTemporalMinSeconds) return std::nullopt;

  TemporalSignals sig = temporal_signals(track);
  std::vector<float> f(kTemporalFeatureCount, std::numeric_limits<float>::quiet_NaN());
  const double jit_med = median(sig.jitter), jit_p90 = quantile(sig.jitter, 0.9);
  const double head = median(sig.head_speed);
  f[0] = static_cast<float>(std::log(jit_med + 1e-4));
  f[1] = static_cast<float>(std::log(jit_p90 + 1e-4));
  f[2] = static_cast<float>(std::log((jit_med + 1e-4) / ((std::isfinite(head) ? head : 0.0) + 0.002)));

  BlinkStats blinks = count_blinks(sig.ear, sig.t_s);
  f[3] = static_cast<float>(std::log1p(blinks.rate_per_min));
  f[4] = static_cast<float>(blinks.mean_blink_s);
  f[5] = static_cast<float>(blinks.mean_depth);
  std::vector<double> ear_dev(n, kNaN);
  for (size_t t = 0; t < n; ++t) {
    std::vector<double> w;
    for (size_t k = t >= 2 ? t - 2 : 0; k <= std::min(n - 1, t + 2); ++k) w.push_back(sig.ear[k]);
    ear_dev[t] = std::abs(sig.ear[t] - median(w));
  }
  f[6] = static_cast<float>(blinks.open_ear > 0 ? median(ear_dev) / blinks.open_ear : 0.0);
  size_t below = 0;
  for (double e : sig.ear) below += (e < 0.75 * blinks.open_ear) ? 1 : 0;
  f[7] = static_cast<float>(static_cast<double>(below) / n);

  // Seam flicker from crops at consecutive frames.
  if (track.crops.size() >= 10 && track.crop_index.size() == track.crops.size()) {
    std::vector<CropStats> stats;
    stats.reserve(track.crops.size());
    for (const Image& c : track.crops) stats.push_back(c.empty() ? CropStats{} : crop_stats(c));
    std::vector<double> d_li, d_lb, d_si, d_sb, d_diff, sharp_ratio;
    for (size_t i = 0; i < stats.size(); ++i) {
      if (track.crops[i].empty()) continue;
      sharp_ratio.push_back(stats[i].log_sharp_inner - stats[i].log_sharp_boundary);
      if (i == 0 || track.crop_index[i] != track.crop_index[i - 1] + 1 || track.crops[i - 1].empty()) continue;
      const CropStats& a = stats[i - 1];
      const CropStats& b = stats[i];
      d_li.push_back(std::abs(b.luma_inner - a.luma_inner));
      d_lb.push_back(std::abs(b.luma_boundary - a.luma_boundary));
      d_si.push_back(std::abs(b.log_sharp_inner - a.log_sharp_inner));
      d_sb.push_back(std::abs(b.log_sharp_boundary - a.log_sharp_boundary));
      d_diff.push_back(std::abs((b.luma_inner - b.luma_boundary) - (a.luma_inner - a.luma_boundary)));
    }
    if (d_li.size() >= 8) {
      f[8] = static_cast<float>(std::log((median(d_lb) + 0.05) / (median(d_li) + 0.05)));
      f[9] = static_cast<float>(std::log((median(d_sb) + 0.005) / (median(d_si) + 0.005)));
      f[10] = static_cast<float>(std::log(median(d_diff) + 0.05));
      f[11] = static_cast<float>(median(sharp_ratio));
    }
  }
  return f;
}

TrackSeries slice_track(const TrackSeries& track, size_t begin, size_t end) {
  TrackSeries out;
  end = std::min(end, track.pts_us.size());
  if (begin >= end) return out;
  out.fps = track.fps;
  out.pts_us.assign(track.pts_us.begin() + begin, track.pts_us.begin() + end);
  out.landmarks.assign(track.landmarks.begin() + begin, track.landmarks.begin() + end);
  if (track.boxes.size() >= end) out.boxes.assign(track.boxes.begin() + begin, track.boxes.begin() + end);
  if (track.detected.size() >= end) out.detected.assign(track.detected.begin() + begin, track.detected.begin() + end);
  if (track.face_detail.size() >= end) {
    out.face_detail.assign(track.face_detail.begin() + begin, track.face_detail.begin() + end);
  }
  for (size_t i = 0; i < track.crops.size() && i < track.crop_index.size(); ++i) {
    if (track.crop_index[i] >= begin && track.crop_index[i] < end) {
      out.crops.push_back(track.crops[i]);
      out.crop_index.push_back(track.crop_index[i] - begin);
    }
  }
  return out;
}

Result<std::vector<TrackSeries>> track_series_from_file(const std::string& path,
                                                        std::shared_ptr<const face::FaceModels> models,
                                                        const TrackSeriesOptions& options) {
  std::map<int, TrackSeries> by_id;
  const face::AlignOptions align{.size_px = kTemporalCropPx, .margin = kTemporalMargin};
  face::TrackFileOptions tf;
  tf.every_nth = options.every_nth;
  tf.max_frames = options.max_frames;
  auto on_frame = [&](face::FrameFaces& ff) -> Status {
    for (const face::Face& f : ff.faces) {
      TrackSeries& s = by_id[f.track_id];
      if (!s.pts_us.empty() && ff.pts_us <= s.pts_us.back()) continue;
      if (options.with_crops) {
        auto aligned = face::align_face(ff.image, f.landmarks, align);
        if (aligned.ok()) {
          s.crops.push_back(std::move(aligned->crop));
          s.crop_index.push_back(s.pts_us.size());
        }
      }
      s.pts_us.push_back(ff.pts_us);
      s.landmarks.push_back(f.landmarks);
      s.boxes.push_back(f.box);
      s.detected.push_back(f.detected);
      if (options.with_face_detail && options.every_nth == 1) s.face_detail.push_back(face_detail(ff.image, f.box));
    }
    return Status::ok();
  };
  auto faces = face::track_file(path, std::move(models), tf, on_frame);
  if (!faces.ok()) return faces.status();
  std::vector<TrackSeries> out;
  for (auto& [id, s] : by_id) {
    const size_t n = s.pts_us.size();
    const double span_s = n > 1 ? (s.pts_us.back() - s.pts_us.front()) / 1e6 : 0.0;
    if (span_s < options.min_seconds) continue;
    s.fps = n > 1 && span_s > 0 ? (n - 1) / span_s : faces->fps;
    out.push_back(std::move(s));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const TrackSeries& a, const TrackSeries& b) { return a.pts_us.size() > b.pts_us.size(); });
  return out;
}

Result<std::shared_ptr<const TrackDetector>> make_temporal_detector(nn::Model model, const std::string& what,
                                                                    const std::string& model_sha256) {
  const nn::Metadata meta = model.metadata();
  auto classifier = FeatureClassifier::create(std::move(model), what, kTemporalFeatureVersion, kTemporalFeatureCount);
  if (!classifier.ok()) return classifier.status();
  auto number = [&](const std::string& key) { return metadata_number(meta, key).value_or(0.0); };
  DetectorInfo info{.name = "temporal", .version = "1", .model_sha256 = model_sha256,
                    .model_path = what, .kind = DetectorKind::kTrack};
  return std::shared_ptr<const TrackDetector>(std::make_shared<TemporalDetector>(
      std::move(*classifier), std::move(info), std::exp(number("real_log_jitter_ratio_median")),
      number("real_blink_rate_median")));
}

Status load_temporal(const std::string& models_dir, DetectorSet& set) {
  return load_feature_detector(models_dir, "temporal", make_temporal_detector, set.track);
}

}  // namespace unmask::detect
