// Private to scan: the per-track side of a scan. Frames arrive once, in order, from
// face::track_file's callback; for each face track the collector keeps the series the track
// detectors need (times, landmarks, boxes) and aligned crops of a bounded, evenly spread set of
// candidate frames. A track is scored as soon as it ends (or at the end of the file), and its
// crops are released then: memory is bounded by the tracks alive at once, not the video's length.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/core.h"
#include "detect/detector.h"
#include "face/face.h"
#include "report/report.h"
#include "scan/scan.h"

namespace unmask::scan::internal {

struct CollectorOptions {
  int frames_per_track = kDefaultFramesPerTrack;  // first-pass CNN frames per track
  bool second_pass = true;    // score up to frames_per_track more where the first pass is uncertain
  bool thumbnails = true;
  double processed_fps = 25.0;  // frame rate of the frames given to add_frame
  double close_after_s = 2.0;   // a track unseen for this long is scored and released
  int64_t expected_frames = 0;  // frames in the file (0: unknown), to start sparse on long files
  // The series an open track keeps for the track detectors (times, 68 landmarks, box: ~1.1 KB a
  // frame) holds at most about this many frames. A longer track keeps evenly spread whole chunks
  // of series_chunk_s seconds (every other chunk is dropped each time it fills up, as the
  // candidates are thinned), so its memory is bounded however long the face stays on screen;
  // shorter tracks are kept whole (the same scores as without the bound). 9600 frames: 5 min 20 s
  // at 30 fps, ~11 MB.
  int64_t max_series_frames = 9600;
  double series_chunk_s = 10.0;
  // The frames given are every frame of the video, so detect::face_detail may be measured on each
  // for a track detector that reads it (interpolation). False for scan --fast.
  bool measure_face_detail = true;
};

struct TrackOutcome {
  int track_id = 0;
  double start_s = 0.0;
  double end_s = 0.0;
  int n_frames = 0;                         // frames the face was in
  int n_scored_frames = 0;                  // frames the crop detectors scored
  std::vector<report::FrameScore> frames;   // scored frames, fused (max over crop detectors)
  std::vector<DetectorScore> scores;        // per detector that judged the track
  std::vector<std::string> evidence;        // sentences for the report
  std::string thumbnail_png;
  // Every frame of the track, for lip-sync: its time and detect::mouth_opening (NaN when the
  // landmarks are degenerate), 16 bytes a frame rather than the 68 landmarks (20 while the track
  // is open, with its eye-corner distances).
  std::vector<int64_t> pts_us;
  std::vector<double> mouth_opening;
  // Median eye-corner distance over the track's frames (landmarks 36-45, full-resolution frame
  // pixels): lip-sync's rule 7 (detect::lipsync_face_too_small).
  double eye_corner_px = 0.0;
};

class TrackCollector {
 public:
  TrackCollector(std::shared_ptr<const detect::DetectorSet> detectors, CollectorOptions options);
  ~TrackCollector();
  TrackCollector(const TrackCollector&) = delete;
  TrackCollector& operator=(const TrackCollector&) = delete;

  // One finalised frame (faces with their track ids). Aligns the crops of candidate frames and
  // scores the tracks that ended. Errors: a detector failing (model error) or alignment failing.
  Status add_frame(const face::FrameFaces& frame);
  // Scores every open track (end of the file).
  Status finish();

  std::vector<TrackOutcome> take_outcomes();
  double detect_seconds() const { return detect_seconds_; }
  // Frames held in the series of the open tracks, and their candidate crops (for tests and
  // memory accounting).
  int64_t open_series_frames() const;
  int64_t open_candidates() const;

 private:
  struct Track;
  Status close_track(Track& track);

  std::shared_ptr<const detect::DetectorSet> detectors_;
  CollectorOptions options_;
  std::vector<face::AlignOptions> alignments_;  // distinct alignments the detectors need
  std::vector<size_t> crop_alignment_;          // per crop detector: index in alignments_
  std::vector<std::optional<size_t>> track_alignment_;  // per track detector (nullopt: no pixels)
  bool measure_face_detail_ = false;  // options.measure_face_detail and a track detector reads it
  std::optional<size_t> thumb_alignment_;       // crops for thumbnails, when wanted
  int heat_detector_ = -1;                      // crop detector whose heatmap the thumbnail shows
  int64_t initial_stride_ = 1;                  // candidate stride a new track starts with
  std::map<int, std::unique_ptr<Track>> open_;
  std::vector<TrackOutcome> outcomes_;
  int64_t frame_pos_ = 0;
  double detect_seconds_ = 0.0;
};

// A PNG (bytes) of an aligned face crop with a detector heatmap blended over it (heatmap may be
// empty: the plain crop), scaled to size_px square. Empty string when encoding fails.
std::string heatmap_thumbnail_png(const Image& crop, const Image& heatmap, int size_px = 160);

}  // namespace unmask::scan::internal
