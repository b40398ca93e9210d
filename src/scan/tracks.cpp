// Per-track sampling and scoring (tracks.h).
//
// Sampling: the k-th frame of a track (k = 0, 1, 2, ...) is a candidate when k % stride == 0.
// When a track holds more than 2 x frames_per_track candidates the stride doubles and every
// other candidate is dropped, so the candidates stay evenly spread over the whole track however
// long it is, and at most 2 x frames_per_track crops per alignment are ever held. Tracks start at
// the largest power-of-two stride that still gives a track as long as the file 2 x frames_per_track
// candidates, but never sparser than ~8 candidates a second (short tracks keep enough frames): on
// a 10 s clip that saves most of the alignments that thinning would throw away.
// Scoring: the first pass scores frames_per_track candidates spread evenly; when the track's
// score is then uncertain (between 0.25 and 0.75 for some detector) the rest are scored too.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "core/clock.h"
#include "detect/detect.h"
#include "detect/interpolation.h"
#include "scan/tracks.h"

namespace unmask::scan::internal {
namespace {

constexpr int kBatchSize = 16;
constexpr int kThumbnailPx = 160;
constexpr double kUncertainLow = 0.25;
constexpr double kUncertainHigh = 0.75;

bool same_alignment(const face::AlignOptions& a, const face::AlignOptions& b) {
  return a.size_px == b.size_px && std::abs(a.margin - b.margin) < 1e-9;
}

size_t alignment_index(std::vector<face::AlignOptions>& list, const face::AlignOptions& a) {
  for (size_t i = 0; i < list.size(); ++i) {
    if (same_alignment(list[i], a)) return i;
  }
  list.push_back(a);
  return list.size() - 1;
}

}  // namespace

struct TrackCollector::Track {
  int track_id = 0;
  int64_t n_frames = 0;       // frames with this face so far (k of the next one)
  // The series for the track detectors: every frame while the track is short, whole chunks of
  // chunk_frames frames (chunk j kept when j % chunk_stride == 0) once it is long.
  detect::TrackSeries series;
  std::vector<int64_t> series_k;  // the track's frame counter of each frame in series
  int64_t chunk_frames = 1;
  int64_t chunk_stride = 1;
  // Every frame, for the outcome (lip-sync): time, mouth opening and eye-corner distance, 20
  // bytes a frame.
  std::vector<int64_t> pts_us;
  std::vector<double> mouth_opening;
  std::vector<float> eye_corner_px;
  int64_t last_pos = 0;       // frame_pos_ of the last frame with this face
  int64_t stride = 1;
  struct Candidate {
    int64_t k = 0;            // the track's frame counter at this frame
    int64_t pts_us = 0;
    Box box;
    std::vector<Image> crops; // one per alignment
  };
  std::vector<Candidate> candidates;
};

TrackCollector::TrackCollector(std::shared_ptr<const detect::DetectorSet> detectors, CollectorOptions options)
    : detectors_(std::move(detectors)), options_(options) {
  options_.frames_per_track = std::max(1, options_.frames_per_track);
  for (const auto& d : detectors_->crop) crop_alignment_.push_back(alignment_index(alignments_, d->alignment()));
  for (const auto& d : detectors_->track) {
    const auto a = d->alignment();
    track_alignment_.push_back(a ? std::optional<size_t>(alignment_index(alignments_, *a)) : std::nullopt);
    measure_face_detail_ = measure_face_detail_ || (options_.measure_face_detail && d->reads_face_detail());
  }
  // Thumbnails: a sharper crop with the margin of the detector whose heatmap is drawn on it (blend
  // when loaded), so the heatmap maps onto it by scaling alone.
  if (options_.thumbnails && !detectors_->crop.empty()) {
    heat_detector_ = 0;
    for (size_t d = 0; d < detectors_->crop.size(); ++d) {
      if (detectors_->crop[d]->info().name == "blend") heat_detector_ = static_cast<int>(d);
    }
    face::AlignOptions a = detectors_->crop[static_cast<size_t>(heat_detector_)]->alignment();
    a.size_px = std::max(a.size_px, kThumbnailPx);
    thumb_alignment_ = alignment_index(alignments_, a);
  }
  const int64_t cap = 2 * static_cast<int64_t>(options_.frames_per_track);
  const auto max_stride = static_cast<int64_t>(std::max(1.0, options_.processed_fps / 8.0));
  while (initial_stride_ * 2 <= max_stride && options_.expected_frames / (initial_stride_ * 2) >= cap) initial_stride_ *= 2;
}

TrackCollector::~TrackCollector() = default;

int64_t TrackCollector::open_series_frames() const {
  int64_t n = 0;
  for (const auto& [id, t] : open_) n += static_cast<int64_t>(t->series.pts_us.size());
  return n;
}

int64_t TrackCollector::open_candidates() const {
  int64_t n = 0;
  for (const auto& [id, t] : open_) n += static_cast<int64_t>(t->candidates.size());
  return n;
}

Status TrackCollector::add_frame(const face::FrameFaces& frame) {
  const int64_t pos = frame_pos_++;
  const int64_t max_series = std::max<int64_t>(1, options_.max_series_frames);
  std::vector<std::optional<face::Landmarks>> one(1);
  for (const face::Face& f : frame.faces) {
    auto it = open_.find(f.track_id);
    if (it == open_.end()) {
      auto t = std::make_unique<Track>();
      t->track_id = f.track_id;
      t->series.fps = options_.processed_fps;
      t->stride = initial_stride_;
      t->chunk_frames = std::clamp<int64_t>(std::llround(options_.series_chunk_s * options_.processed_fps), 1, max_series);
      it = open_.emplace(f.track_id, std::move(t)).first;
    }
    Track& t = *it->second;
    const int64_t k = t.n_frames++;
    t.pts_us.push_back(frame.pts_us);
    one[0] = f.landmarks;
    t.mouth_opening.push_back(detect::mouth_opening(one)[0]);
    t.eye_corner_px.push_back(static_cast<float>(detect::eye_corner_px(f.landmarks)));
    if ((k / t.chunk_frames) % t.chunk_stride == 0) {
      t.series.pts_us.push_back(frame.pts_us);
      t.series.landmarks.push_back(f.landmarks);
      t.series.boxes.push_back(f.box);
      t.series.detected.push_back(f.detected);
      if (measure_face_detail_) t.series.face_detail.push_back(detect::face_detail(frame.image, f.box));
      t.series_k.push_back(k);
      // Full: keep every other chunk of those held (always the first), as the candidates are thinned.
      while (static_cast<int64_t>(t.series_k.size()) > max_series) {
        t.chunk_stride *= 2;
        size_t w = 0;
        for (size_t r = 0; r < t.series_k.size(); ++r) {
          if ((t.series_k[r] / t.chunk_frames) % t.chunk_stride != 0) continue;
          t.series_k[w] = t.series_k[r];
          t.series.pts_us[w] = t.series.pts_us[r];
          t.series.landmarks[w] = t.series.landmarks[r];
          t.series.boxes[w] = t.series.boxes[r];
          t.series.detected[w] = t.series.detected[r];
          if (!t.series.face_detail.empty()) t.series.face_detail[w] = t.series.face_detail[r];
          ++w;
        }
        t.series_k.resize(w);
        t.series.pts_us.resize(w);
        t.series.landmarks.resize(w);
        t.series.boxes.resize(w);
        t.series.detected.resize(w);
        if (!t.series.face_detail.empty()) t.series.face_detail.resize(w);
        t.series_k.shrink_to_fit();
        t.series.pts_us.shrink_to_fit();
        t.series.landmarks.shrink_to_fit();
        t.series.boxes.shrink_to_fit();
        t.series.detected.shrink_to_fit();
        t.series.face_detail.shrink_to_fit();
      }
    }
    t.last_pos = pos;
    if (alignments_.empty() || k % t.stride != 0) continue;
    Track::Candidate c;
    c.k = k;
    c.pts_us = frame.pts_us;
    c.box = f.box;
    for (const face::AlignOptions& a : alignments_) {
      auto aligned = face::align_face(frame.image, f.landmarks, a);
      if (!aligned.ok()) return aligned.status();
      c.crops.push_back(std::move(aligned->crop));
    }
    t.candidates.push_back(std::move(c));
    const size_t cap = 2 * static_cast<size_t>(options_.frames_per_track);
    if (t.candidates.size() > cap) {
      t.stride *= 2;
      std::erase_if(t.candidates, [&](const Track::Candidate& x) { return x.k % t.stride != 0; });
    }
  }
  // Tracks that ended: gone for close_after_s, or not continued across a scene cut.
  const auto gap = static_cast<int64_t>(std::ceil(options_.close_after_s * options_.processed_fps));
  for (auto it = open_.begin(); it != open_.end();) {
    const bool present = it->second->last_pos == pos;
    if (!present && (frame.scene_cut || pos - it->second->last_pos > gap)) {
      UNMASK_RETURN_IF_ERROR(close_track(*it->second));
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
  return Status::ok();
}

Status TrackCollector::finish() {
  for (auto& [id, t] : open_) UNMASK_RETURN_IF_ERROR(close_track(*t));
  open_.clear();
  return Status::ok();
}

std::vector<TrackOutcome> TrackCollector::take_outcomes() {
  std::vector<TrackOutcome> out = std::move(outcomes_);
  outcomes_.clear();
  std::sort(out.begin(), out.end(), [](const TrackOutcome& a, const TrackOutcome& b) {
    return a.track_id != b.track_id ? a.track_id < b.track_id : a.start_s < b.start_s;
  });
  return out;
}

Status TrackCollector::close_track(Track& t) {
  const auto started = SteadyClock::now();
  TrackOutcome o;
  o.track_id = t.track_id;
  o.n_frames = static_cast<int>(t.n_frames);
  o.start_s = t.pts_us.front() / 1e6;
  o.end_s = t.pts_us.back() / 1e6;

  // Crop detectors, in one or two passes over the candidates.
  const size_t n_cand = t.candidates.size();
  const size_t n_crop = detectors_->crop.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::vector<double>> frame_scores(n_crop, std::vector<double>(n_cand, nan));
  std::vector<std::vector<Image>> heatmaps(n_crop, std::vector<Image>(n_cand));
  std::vector<bool> scored(n_cand, false);

  auto score_candidates = [&](const std::vector<size_t>& which) -> Status {
    for (size_t d = 0; d < n_crop; ++d) {
      const size_t ai = crop_alignment_[d];
      for (size_t start = 0; start < which.size(); start += kBatchSize) {
        const size_t end = std::min(which.size(), start + kBatchSize);
        std::vector<Image> batch;
        for (size_t i = start; i < end; ++i) batch.push_back(t.candidates[which[i]].crops[ai]);
        auto scores = detectors_->crop[d]->score(batch);
        if (!scores.ok()) return scores.status();
        if (scores->size() != batch.size()) {
          return Status::internal("detector " + detectors_->crop[d]->info().name, "returned a wrong number of scores");
        }
        for (size_t i = start; i < end; ++i) {
          frame_scores[d][which[i]] = (*scores)[i - start].score;
          heatmaps[d][which[i]] = std::move((*scores)[i - start].heatmap);
        }
      }
    }
    for (size_t i : which) scored[i] = true;
    return Status::ok();
  };
  // A detector's track score over the frames it judged (a crop detector gives NaN for a crop it
  // cannot judge, e.g. blend's quality gate); none when it judged no frame: no evidence either way.
  auto aggregate = [&](size_t d) -> std::optional<double> {
    std::vector<double> probs;
    for (size_t i = 0; i < n_cand; ++i) {
      if (scored[i] && std::isfinite(frame_scores[d][i])) probs.push_back(frame_scores[d][i]);
    }
    if (probs.empty()) return std::nullopt;
    return detect::aggregate_track(probs);
  };

  if (n_crop > 0 && n_cand > 0) {
    const size_t budget = static_cast<size_t>(options_.frames_per_track);
    std::vector<size_t> first, rest;
    if (n_cand <= budget) {
      for (size_t i = 0; i < n_cand; ++i) first.push_back(i);
    } else {
      std::vector<bool> pick(n_cand, false);
      for (size_t j = 0; j < budget; ++j) pick[((2 * j + 1) * n_cand) / (2 * budget)] = true;
      for (size_t i = 0; i < n_cand; ++i) (pick[i] ? first : rest).push_back(i);
    }
    UNMASK_RETURN_IF_ERROR(score_candidates(first));
    bool uncertain = false;
    for (size_t d = 0; d < n_crop; ++d) {
      const auto s = aggregate(d);  // nothing judged yet: the other frames may be judgeable
      uncertain |= !s || (*s > kUncertainLow && *s < kUncertainHigh);
    }
    if (uncertain && options_.second_pass && !rest.empty()) UNMASK_RETURN_IF_ERROR(score_candidates(rest));
  }

  // Per scored frame: the strongest crop detector that judged it (a frame none judged has no
  // score on the timeline). Per detector: aggregate_track over the frames it judged.
  std::optional<size_t> best_cand;
  double best_score = 0.0;
  for (size_t i = 0; i < n_cand; ++i) {
    if (!scored[i]) continue;
    ++o.n_scored_frames;
    std::optional<double> s;
    for (size_t d = 0; d < n_crop; ++d) {
      if (std::isfinite(frame_scores[d][i])) s = std::max(s.value_or(0.0), frame_scores[d][i]);
    }
    if (!s) continue;
    o.frames.push_back({t.candidates[i].pts_us / 1e6, *s, t.candidates[i].box});
    if (!best_cand || *s > best_score) best_cand = i, best_score = *s;
  }
  std::vector<std::string> not_judged;  // crop detectors that judged none of this face's crops
  for (size_t d = 0; d < n_crop; ++d) {
    if (o.n_scored_frames == 0) break;
    const std::string& name = detectors_->crop[d]->info().name;
    const auto judged = aggregate(d);
    if (!judged) {
      not_judged.push_back(name);
      continue;
    }
    const double track_score = *judged;
    o.scores.push_back({name, track_score});
    if (track_score < kSuspiciousThreshold) continue;
    // The span of frames where this detector saw manipulation.
    double first_t = -1, last_t = -1;
    for (size_t i = 0; i < n_cand; ++i) {
      if (!scored[i] || !(frame_scores[d][i] >= kSuspiciousThreshold)) continue;
      const double ts = t.candidates[i].pts_us / 1e6;
      if (first_t < 0) first_t = ts;
      last_t = ts;
    }
    if (first_t < 0) first_t = o.start_s, last_t = o.end_s;
    o.evidence.push_back(clock_text(first_t) + "-" + clock_text(last_t) + ": " + detector_phrase(name) + ", " +
                         report::fixed_text(track_score));
  }

  // Track detectors: the whole series, crops of every candidate at their alignment. The series
  // is lent to each in turn (moved in and back), not copied: on a long track it is most of the
  // scan's memory.
  for (size_t d = 0; d < detectors_->track.size(); ++d) {
    detect::TrackSeries series;
    series.fps = t.series.fps;
    series.pts_us = std::move(t.series.pts_us);
    series.landmarks = std::move(t.series.landmarks);
    series.boxes = std::move(t.series.boxes);
    series.detected = std::move(t.series.detected);
    series.face_detail = std::move(t.series.face_detail);
    for (const Track::Candidate& c : t.candidates) {
      if (!track_alignment_[d]) break;  // the detector reads no pixels
      // A candidate in a chunk the series no longer holds has no frame to go with.
      const auto at = std::lower_bound(t.series_k.begin(), t.series_k.end(), c.k);
      if (at == t.series_k.end() || *at != c.k) continue;
      series.crops.push_back(c.crops[*track_alignment_[d]]);
      series.crop_index.push_back(static_cast<size_t>(at - t.series_k.begin()));
    }
    auto result = detectors_->track[d]->score(series);
    t.series.pts_us = std::move(series.pts_us);
    t.series.landmarks = std::move(series.landmarks);
    t.series.boxes = std::move(series.boxes);
    t.series.detected = std::move(series.detected);
    t.series.face_detail = std::move(series.face_detail);
    if (!result.ok()) return result.status();
    if (!result->score) continue;
    const std::string& name = detectors_->track[d]->info().name;
    o.scores.push_back({name, *result->score});
    if (*result->score >= kSuspiciousThreshold) {
      std::string sentence = clock_text(o.start_s) + "-" + clock_text(o.end_s) + ": " + detector_phrase(name) + ", " +
                             report::fixed_text(*result->score);
      if (!result->evidence.empty()) {
        sentence += " (";
        for (size_t i = 0; i < result->evidence.size(); ++i) sentence += (i ? "; " : "") + result->evidence[i];
        sentence += ")";
      }
      o.evidence.push_back(sentence);
    }
  }
  if (o.evidence.empty() && !o.scores.empty()) {
    const auto top = std::max_element(o.scores.begin(), o.scores.end(),
                                      [](const DetectorScore& a, const DetectorScore& b) { return a.score < b.score; });
    o.evidence.push_back(clock_text(o.start_s) + "-" + clock_text(o.end_s) + ": no sign of manipulation (highest " +
                         top->detector + " " + report::fixed_text(top->score) + ")");
  }
  // Say what was not looked at, so "no sign of manipulation" is not read as a clean bill from a
  // detector that could not see this face.
  for (const std::string& name : not_judged) {
    o.evidence.push_back(clock_text(o.start_s) + "-" + clock_text(o.end_s) + ": " + name + " not judged: none of the " +
                         std::to_string(o.n_scored_frames) +
                         " sampled crops was clear enough to judge (too dark, blown out or without fine detail)");
  }

  // Thumbnail: the most suspicious scored frame (the middle candidate when nothing was scored),
  // with the heatmap of the chosen crop detector at that frame.
  if (thumb_alignment_ && n_cand > 0) {
    const size_t cand = best_cand.value_or(n_cand / 2);
    const Image& heat = heatmaps[static_cast<size_t>(heat_detector_)][cand];
    o.thumbnail_png = heatmap_thumbnail_png(t.candidates[cand].crops[*thumb_alignment_], heat, kThumbnailPx);
  }

  // What lip-sync needs of every frame; the series itself is freed with the track.
  o.mouth_opening = std::move(t.mouth_opening);
  o.eye_corner_px = detect::median_eye_corner_px(std::move(t.eye_corner_px));
  t.eye_corner_px = std::vector<float>();
  o.pts_us = std::move(t.pts_us);
  t.series = detect::TrackSeries();
  t.series_k.clear();
  t.series_k.shrink_to_fit();
  outcomes_.push_back(std::move(o));
  t.candidates.clear();
  t.candidates.shrink_to_fit();
  detect_seconds_ += seconds_since(started);
  return Status::ok();
}

}  // namespace unmask::scan::internal
