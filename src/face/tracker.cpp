// FaceTracker: detect every few frames, follow faces in between by re-fitting landmarks on the
// predicted box, associate by IoU, smooth landmarks, split at cuts, drop short tracks.
#include <algorithm>
#include <cstdlib>
#include <deque>
#include <map>

#include "face/stages.h"

namespace unmask::face {

namespace {

using detail::BoxCalibration;
using detail::OneEuroFilter;

Point2 centre(const Box& b) { return {b.x + b.w / 2, b.y + b.h / 2}; }
Box shifted(const Box& b, Point2 d) { return {b.x + d.x, b.y + d.y, b.w, b.h}; }

struct TrackState {
  int id = 0;               // internal id; public ids are given at confirmation
  int n_frames = 0;
  bool alive = true;
  Box box;                  // raw detector-style box at the current frame
  Point2 velocity;          // box centre motion, px per frame (smoothed)
  BoxCalibration calib;
  double confidence = 0;
  bool profile = false;
  int missed = 0;           // consecutive detector runs that did not find this track
  bool detected_now = false;
  bool hidden = false;      // not reported in the current frame (the detector missed it)
  int n_calibrations = 0;
  Landmarks raw{};
  std::vector<OneEuroFilter> filters;  // 2 per landmark
  int64_t last_pts_us = 0;
};

}  // namespace

struct FaceTracker::Impl {
  Impl(std::shared_ptr<const FaceModels> m, TrackerOptions o)
      : models(std::move(m)), options(o), detector(models, o.detect) {
    options.min_track_frames = std::max(1, options.min_track_frames);
    options.max_missed_detections = std::max(1, options.max_missed_detections);
    if (const char* env = std::getenv("UNMASK_FACE_WINDOW_LEVELS"); env != nullptr && std::string(env) == "all") {
      options.window_min_face_ratio = 0;
    }
  }

  std::shared_ptr<const FaceModels> models;
  TrackerOptions options;
  FaceDetector detector;
  detail::SceneCutDetector cuts;

  int width_px = 0, height_px = 0;
  bool has_last_pts = false;
  int64_t last_pts_us = 0;
  int frames_since_detect = 1 << 20;
  int frames_since_full = 1 << 20;  // frames since the last full-frame pass
  bool force_detect = true;
  int next_internal_id = 0;
  std::vector<TrackState> tracks;     // alive tracks
  std::map<int, int> public_id_of;    // internal -> public, for confirmed tracks
  std::deque<FrameFaces> pending;     // frames not yet released; faces carry internal ids
  Stats stats;
  bool finished = false;  // finish() was called; stats stay readable until the next push

  int detect_interval() const {
    if (options.detect_every_n > 0) return options.detect_every_n;
    return tracks.empty() ? 2 : kStableDetectInterval;
  }

  void confirm(TrackState& t) {
    if (t.n_frames >= options.min_track_frames && !public_id_of.count(t.id)) {
      public_id_of[t.id] = stats.n_tracks++;
    }
  }

  // Fits landmarks on `box`; if the fit moved far from the box, fits once more on the new box
  // (a fast face outruns the shape predictor's capture range in one step).
  void fit(TrackState& t, const Image& image, const Box& box) {
    t.raw = fit_landmarks(*models, image, box);
    Box refit = detail::box_from_landmarks(t.raw, t.calib);
    Point2 a = centre(box), b = centre(refit);
    if (std::hypot(a.x - b.x, a.y - b.y) > 0.1 * box.w) {
      t.raw = fit_landmarks(*models, image, refit);
      refit = detail::box_from_landmarks(t.raw, t.calib);
    }
    t.box = refit;
  }

  void follow(TrackState& t, const Image& image) {
    const Box before = t.box;
    const double spread_before = detail::landmark_frame(t.raw).spread;
    fit(t, image, shifted(t.box, t.velocity));
    const double spread_after = detail::landmark_frame(t.raw).spread;
    const Point2 c = centre(t.box);
    // A follow step that blows up or collapses the face, or leaves the frame, has lost it.
    if (spread_after < 0.6 * spread_before || spread_after > 1.6 * spread_before ||
        c.x < 0 || c.y < 0 || c.x >= width_px || c.y >= height_px) {
      t.alive = false;
      return;
    }
    const Point2 a = centre(before);
    t.velocity = {0.5 * t.velocity.x + 0.5 * (c.x - a.x), 0.5 * t.velocity.y + 0.5 * (c.y - a.y)};
  }

  void start_track(const Face& det, const Image& image, int64_t pts_us) {
    TrackState t;
    t.id = next_internal_id++;
    t.box = det.box;
    t.confidence = det.confidence;
    t.profile = det.profile;
    t.detected_now = true;
    t.raw = fit_landmarks(*models, image, det.box);
    t.calib = detail::calibrate(det.box, t.raw);
    t.n_calibrations = 1;
    t.filters.assign(2 * kNumLandmarks, OneEuroFilter(options.smooth_min_cutoff_hz, options.smooth_beta));
    t.last_pts_us = pts_us;
    tracks.push_back(std::move(t));
  }

  void update_with_detection(TrackState& t, const Face& det, const Image& image) {
    const Point2 a = detail::landmark_frame(t.raw).centroid;
    t.raw = fit_landmarks(*models, image, det.box);
    // The detector's boxes come in pyramid-level steps (~20% in size); the landmarks are finer.
    // Averaging the box <-> landmark relation over detections gives a box that moves with the
    // landmarks instead of jumping with the detector's quantisation.
    const BoxCalibration c = detail::calibrate(det.box, t.raw);
    const double k = 1.0 / std::min(++t.n_calibrations, 10);
    t.calib = {t.calib.dx + k * (c.dx - t.calib.dx), t.calib.dy + k * (c.dy - t.calib.dy),
               t.calib.w + k * (c.w - t.calib.w), t.calib.h + k * (c.h - t.calib.h)};
    t.box = detail::box_from_landmarks(t.raw, t.calib);
    // Velocity from the landmarks too: the detector's box jitters more than the face moves.
    const Point2 b = detail::landmark_frame(t.raw).centroid;
    t.velocity = {0.5 * t.velocity.x + 0.5 * (b.x - a.x), 0.5 * t.velocity.y + 0.5 * (b.y - a.y)};
    t.confidence = det.confidence;
    t.profile = det.profile;
    t.missed = 0;
    t.detected_now = true;
  }

  Status step(const VideoFrame& frame, FrameFaces& out, FrameAnalysis& analysis) {
    const Image& image = frame.image;
    out.index = frame.index;
    out.pts_us = frame.pts_us;
    const bool cut = analysis.scene_cut ? *analysis.scene_cut : options.split_at_cuts && cuts.update(image);
    if (options.split_at_cuts && cut) {
      out.scene_cut = true;
      ++stats.n_scene_cuts;
      tracks.clear();
      force_detect = true;
    }
    for (TrackState& t : tracks) t.detected_now = t.hidden = false;

    ++frames_since_detect;
    ++frames_since_full;
    const bool run_detector = analysis.detections || force_detect || frames_since_detect >= detect_interval();
    // Adaptive schedule between full-frame passes: only the followed faces are looked for, each
    // by the full-frame detector in a window twice its size around its predicted box.
    const bool local_only = run_detector && !analysis.detections && !force_detect &&
                            options.detect_every_n <= 0 && !tracks.empty() &&
                            frames_since_full < full_detect_interval(options);
    force_detect = false;
    if (run_detector) {
      frames_since_detect = 0;
      std::vector<Face> local;
      if (local_only) {
        ++stats.n_local_detector_runs;
        for (const TrackState& t : tracks) {
          const Box p = shifted(t.box, t.velocity);
          const double side = 2.0 * std::max(p.w, p.h);
          auto found = detector.detect_in(image, {p.x + p.w / 2 - side / 2, p.y + p.h / 2 - side / 2, side, side},
                                          options.window_min_face_ratio * std::min(p.w, p.h));
          if (!found.ok()) return found.status();
          for (const Face& f : *found) {
            // Windows of faces close together overlap: one face, once.
            if (std::none_of(local.begin(), local.end(), [&](const Face& g) { return iou(f.box, g.box) > 0.5; })) {
              local.push_back(f);
            }
          }
        }
      } else {
        frames_since_full = 0;
        ++stats.n_detector_runs;
        out.detector_ran = true;
        if (!analysis.detections) {
          auto own = detector.detect(image);
          if (!own.ok()) return own.status();
          analysis.detections = std::move(*own);
        }
      }
      const std::vector<Face>* dets = local_only ? &local : &*analysis.detections;
      // Greedy association: best IoU pairs first, between the predicted track boxes and detections.
      struct Pair {
        double iou;
        size_t track, det;
      };
      std::vector<Pair> pairs;
      for (size_t i = 0; i < tracks.size(); ++i) {
        const Box predicted = shifted(tracks[i].box, tracks[i].velocity);
        for (size_t j = 0; j < dets->size(); ++j) {
          const double v = iou(predicted, (*dets)[j].box);
          if (v >= options.match_iou) pairs.push_back({v, i, j});
        }
      }
      std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.iou > b.iou; });
      std::vector<bool> track_matched(tracks.size(), false), det_matched(dets->size(), false);
      for (const Pair& p : pairs) {
        if (track_matched[p.track] || det_matched[p.det]) continue;
        track_matched[p.track] = det_matched[p.det] = true;
        update_with_detection(tracks[p.track], (*dets)[p.det], image);
      }
      for (size_t i = 0; i < tracks.size(); ++i) {
        if (track_matched[i]) continue;
        TrackState& t = tracks[i];
        const Box predicted = shifted(t.box, t.velocity);
        auto near = detector.detect_near(image, predicted, options.redetect_min_confidence);
        if (!near.ok()) return near.status();
        const Face* best = nullptr;
        for (const Face& f : *near) {
          if (iou(f.box, predicted) >= options.match_iou && (!best || f.confidence > best->confidence)) best = &f;
        }
        if (best) {
          update_with_detection(t, *best, image);
        } else if (++t.missed >= options.max_missed_detections) {
          t.alive = false;
        } else {
          // Keep following, unreported, and look again next frame rather than coast on a miss.
          follow(t, image);
          t.hidden = true;
          force_detect = true;
        }
      }
      const size_t n_old = tracks.size();
      for (size_t j = 0; j < dets->size(); ++j) {
        if (det_matched[j]) continue;
        // A detection overlapping a live track that missed its match is that face, not a new one.
        bool overlaps = false;
        for (size_t i = 0; i < n_old; ++i) {
          if (tracks[i].alive && iou(tracks[i].box, (*dets)[j].box) > 0.5) overlaps = true;
        }
        if (!overlaps) start_track((*dets)[j], image, frame.pts_us);
      }
    } else {
      for (TrackState& t : tracks) follow(t, image);
      if (std::any_of(tracks.begin(), tracks.end(), [](const TrackState& t) { return !t.alive; })) {
        force_detect = true;
      }
    }

    // Two tracks on one face: keep the older.
    for (size_t i = 0; i < tracks.size(); ++i) {
      for (size_t j = i + 1; j < tracks.size(); ++j) {
        if (tracks[i].alive && tracks[j].alive && iou(tracks[i].box, tracks[j].box) > 0.5) {
          TrackState& younger = tracks[i].n_frames >= tracks[j].n_frames ? tracks[j] : tracks[i];
          younger.alive = false;
        }
      }
    }
    tracks.erase(std::remove_if(tracks.begin(), tracks.end(), [](const TrackState& t) { return !t.alive; }),
                 tracks.end());

    for (TrackState& t : tracks) {
      if (t.hidden) continue;
      ++t.n_frames;
      confirm(t);
      Face f;
      f.track_id = t.id;
      f.confidence = t.confidence;
      f.detected = t.detected_now;
      f.profile = t.profile;
      if (options.smooth) {
        const double dt_s = (frame.pts_us - t.last_pts_us) / 1e6;
        const double scale = detail::landmark_frame(t.raw).spread;
        for (int k = 0; k < kNumLandmarks; ++k) {
          f.landmarks[k].x = t.filters[2 * k].filter(t.raw[k].x, dt_s, scale);
          f.landmarks[k].y = t.filters[2 * k + 1].filter(t.raw[k].y, dt_s, scale);
        }
      } else {
        f.landmarks = t.raw;
      }
      f.box = detail::box_from_landmarks(f.landmarks, t.calib);
      t.last_pts_us = frame.pts_us;
      out.faces.push_back(f);
    }
    return Status::ok();
  }

  // Moves a pending frame out, mapping internal ids to public ids and dropping unconfirmed tracks.
  FrameFaces release(bool keep_unconfirmed) {
    FrameFaces f = std::move(pending.front());
    pending.pop_front();
    std::vector<Face> kept;
    for (Face& face : f.faces) {
      auto it = public_id_of.find(face.track_id);
      if (it == public_id_of.end() && keep_unconfirmed) {
        it = public_id_of.emplace(face.track_id, stats.n_tracks++).first;
      }
      if (it == public_id_of.end()) continue;
      face.track_id = it->second;
      kept.push_back(face);
    }
    std::sort(kept.begin(), kept.end(), [](const Face& a, const Face& b) { return a.track_id < b.track_id; });
    f.faces = std::move(kept);
    return f;
  }

  void reset() {
    cuts.reset();
    width_px = height_px = 0;
    has_last_pts = false;
    frames_since_detect = 1 << 20;
    frames_since_full = 1 << 20;
    force_detect = true;
    tracks.clear();
    public_id_of.clear();
    pending.clear();
  }
};

FaceTracker::FaceTracker(std::shared_ptr<const FaceModels> models, TrackerOptions options)
    : impl_(std::make_unique<Impl>(std::move(models), options)) {}
FaceTracker::~FaceTracker() = default;

const FaceTracker::Stats& FaceTracker::stats() const { return impl_->stats; }

Result<std::vector<FrameFaces>> FaceTracker::push(VideoFrame frame) { return push(std::move(frame), FrameAnalysis{}); }

Result<std::vector<FrameFaces>> FaceTracker::push(VideoFrame frame, FrameAnalysis analysis) {
  Impl& s = *impl_;
  if (frame.image.empty()) return Status::input("frame " + std::to_string(frame.index), "empty image");
  if (s.has_last_pts && frame.pts_us <= s.last_pts_us) {
    return Status::input("frame " + std::to_string(frame.index),
                         "timestamps must increase (got " + std::to_string(frame.pts_us) +
                             " us after " + std::to_string(s.last_pts_us) + " us)");
  }
  if (s.width_px == 0) {
    s.width_px = frame.image.width_px();
    s.height_px = frame.image.height_px();
  } else if (frame.image.width_px() != s.width_px || frame.image.height_px() != s.height_px) {
    return Status::input("frame " + std::to_string(frame.index), "frame size changed mid-stream");
  }
  s.has_last_pts = true;
  s.last_pts_us = frame.pts_us;
  if (s.finished) {  // a new video after finish(): ids and counts start again
    s.stats = Stats();
    s.finished = false;
  }

  FrameFaces out;
  UNMASK_RETURN_IF_ERROR(s.step(frame, out, analysis));
  out.image = std::move(frame.image);
  ++s.stats.n_frames;
  s.pending.push_back(std::move(out));

  std::vector<FrameFaces> ready;
  while (static_cast<int>(s.pending.size()) > s.options.min_track_frames - 1) {
    ready.push_back(s.release(false));
  }
  return ready;
}

std::vector<FrameFaces> FaceTracker::finish() {
  Impl& s = *impl_;
  // An input shorter than min_track_frames keeps its tracks (a still image has one frame).
  const bool short_input = s.stats.n_frames < s.options.min_track_frames;
  std::vector<FrameFaces> ready;
  while (!s.pending.empty()) ready.push_back(s.release(short_input));
  s.reset();
  s.finished = true;
  return ready;
}

int full_detect_interval(const TrackerOptions& options) {
  return std::max(kStableDetectInterval, options.full_detect_every_n);
}

struct FrameAnalyzer::Impl {
  Impl(std::shared_ptr<const FaceModels> models, const TrackerOptions& o)
      : options(o), detector(std::move(models), o.detect) {}
  TrackerOptions options;
  FaceDetector detector;
  detail::SceneCutDetector cuts;
  int64_t n = 0;  // frames analysed

  bool detection_wanted(int64_t i) const {
    return i % (options.detect_every_n > 0 ? options.detect_every_n : full_detect_interval(options)) == 0;
  }
};

FrameAnalyzer::FrameAnalyzer(std::shared_ptr<const FaceModels> models, const TrackerOptions& options)
    : impl_(std::make_unique<Impl>(std::move(models), options)) {}
FrameAnalyzer::~FrameAnalyzer() = default;

Result<FrameAnalysis> FrameAnalyzer::analyze(const Image& image) {
  Impl& s = *impl_;
  if (image.empty()) return Status::input("frame " + std::to_string(s.n), "empty image");
  FrameAnalysis a;
  if (s.options.split_at_cuts) a.scene_cut = s.cuts.update(image);
  if (s.detection_wanted(s.n)) {
    auto dets = s.detector.detect(image);
    if (!dets.ok()) return dets.status();
    a.detections = std::move(*dets);
  }
  ++s.n;
  return a;
}

}  // namespace unmask::face
