// unmask face: detect faces, fit 68 landmarks, align crops, and follow faces through a video.
//
// Basic usage:
//
//   // Once per process (loads the ~100 MB landmark model, about 1 s). Immutable, thread-safe.
//   auto models = unmask::face::FaceModels::load();            // Result<shared_ptr<const FaceModels>>
//   if (!models.ok()) return models.status();                  // missing model file: Status::model
//
//   // A still image: detect + landmarks.
//   unmask::face::FaceDetector detector(*models);               // per thread (holds scratch state)
//   auto faces = detector.detect_faces(image);                 // Result<vector<Face>>
//   auto aligned = unmask::face::align_face(image, (*faces)[0].landmarks, {.size_px = 256});
//
//   // A video, frame by frame (timestamps must increase; the tracker checks).
//   unmask::face::FaceTracker tracker(*models);                 // per video (per-run state)
//   for (VideoFrame& f : frames) {
//     auto done = tracker.push(std::move(f));                   // Result<vector<FrameFaces>>
//     for (auto& ff : *done) use(ff);                           // finalised frames, in order
//   }
//   for (auto& ff : tracker.finish()) use(ff);                  // the frames still held back
//
//   // A whole file through media::VideoReader (decoding runs on its own thread).
//   auto result = unmask::face::track_file("clip.mp4", *models, {});  // Result<VideoFaces>
//   std::string json = unmask::face::to_tracks_json(*result);        // CONTRACT.md tracks.json
//
// Coordinates are full-resolution frame pixels, x right, y down. Landmarks follow the iBUG 300-W
// 68-point scheme (0-16 jaw, 17-26 brows, 27-35 nose, 36-41 and 42-47 eyes, 48-67 mouth); "left"
// and "right" below mean image left and right.
//
// Thread-safety: FaceModels is immutable and may be shared by any number of threads. FaceDetector
// and FaceTracker are not thread-safe; use one per thread. Nothing here prints.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/core.h"

namespace unmask::face {

inline constexpr int kNumLandmarks = 68;
inline constexpr const char* kDefaultLandmarkModelPath =
    "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";
inline constexpr const char* kDefaultProfileCascadePath =
    "/usr/share/opencv4/haarcascades/haarcascade_profileface.xml";

struct Point2 {
  double x = 0, y = 0;
};
using Landmarks = std::array<Point2, kNumLandmarks>;

// The mean of landmarks first..last (inclusive), e.g. (36, 41) for the left eye's centre.
Point2 landmark_mean(const Landmarks& landmarks, int first, int last);

// The eye aspect ratio (Soukupova & Cech) of the eye whose six points start at `first` (36 or 42;
// iBUG order: corner, top, top, corner, bottom, bottom): mean lid distance over corner distance.
// NaN when the corners coincide.
double eye_aspect_ratio(const Landmarks& landmarks, int first);

// The five points used for alignment, from 68 landmarks: left eye centre, right eye centre, nose
// tip, left mouth corner, right mouth corner (image left/right).
std::array<Point2, 5> five_points(const Landmarks& landmarks);

// A 2x3 affine map: x' = m[0] x + m[1] y + m[2];  y' = m[3] x + m[4] y + m[5].
struct Affine2 {
  std::array<double, 6> m{1, 0, 0, 0, 1, 0};
  Point2 apply(Point2 p) const { return {m[0] * p.x + m[1] * p.y + m[2], m[3] * p.x + m[4] * p.y + m[5]}; }
  // Precondition: invertible (a similarity with scale > 0 always is).
  Affine2 inverse() const;
  // Axis-aligned bounding box of the mapped rectangle.
  Box apply(const Box& b) const;
};

// ---------------------------------------------------------------------------------------------
// Models: loaded once, shared immutably
// ---------------------------------------------------------------------------------------------

struct ModelOptions {
  std::string landmark_model_path = kDefaultLandmarkModelPath;
  // OpenCV Haar cascade for side faces (package opencv-data). Empty: no profile detector. Loaded
  // only if given; DetectOptions::use_profile must also be set for it to run.
  std::string profile_cascade_path;
  // Where the landmark model's flat-layout cache lives (written on the first load, mapped by the
  // later ones: ~0.4 s of CPU less per start; docs/faces.md). nullopt: default_cache_dir();
  // empty: no cache, dlib's file is parsed every time.
  std::optional<std::string> landmark_cache_dir;
};

// $UNMASK_CACHE_DIR, else $XDG_CACHE_HOME/unmask, else $HOME/.cache/unmask; empty when none is set.
std::string default_cache_dir();

// The dlib HOG frontal face detector and the 68-point shape predictor (and optionally the profile
// cascade). Immutable after load(); share the pointer.
class FaceModels {
 public:
  // Model error (exit 4) naming the file when it is missing or unreadable.
  static Result<std::shared_ptr<const FaceModels>> load(const ModelOptions& options = {});
  ~FaceModels();
  FaceModels(const FaceModels&) = delete;
  FaceModels& operator=(const FaceModels&) = delete;

  const std::string& landmark_model_path() const { return landmark_model_path_; }
  bool has_profile_cascade() const;

  struct Impl;  // dlib/OpenCV objects; defined in models_impl.h
  const Impl& impl() const { return *impl_; }

 private:
  FaceModels();
  std::string landmark_model_path_;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Detection and landmarks
// ---------------------------------------------------------------------------------------------

struct DetectOptions {
  // The frame is resized so its longer side is this long before HOG detection (down for large
  // frames, up by at most max_upscale for small ones); boxes are mapped back to full resolution.
  int max_side_px = 640;
  double max_upscale = 2.0;
  // Extra 2x pyramid-up steps on top of that, for small faces (each costs ~4x time).
  int upsample = 0;
  // dlib HOG SVM margin threshold: 0 is dlib's default; lower finds more faces and more mistakes.
  double min_confidence = 0.0;
  // Also run the OpenCV profile cascade (needs ModelOptions::profile_cascade_path); side faces
  // found only by it get confidence 0 and profile = true.
  bool use_profile = false;
};

struct Face {
  int track_id = -1;      // stable id within one FaceTracker run; -1 for still-image detection
  Box box;                // face box (dlib detector convention: brows to chin, roughly square)
  Landmarks landmarks{};  // 68 points
  double confidence = 0;  // detector score of the latest detection of this face (> 0: a face)
  bool detected = false;  // true when the detector found it in this very frame; false: followed
  bool profile = false;   // found by the profile cascade
};

// Runs detection (and landmark fitting) on whole images. Holds per-instance scratch state: use
// one per thread. Cheap to construct (~ms).
class FaceDetector {
 public:
  explicit FaceDetector(std::shared_ptr<const FaceModels> models, DetectOptions options = {});
  ~FaceDetector();
  FaceDetector(FaceDetector&&) noexcept;
  FaceDetector& operator=(FaceDetector&&) noexcept;

  // Boxes only, strongest first, in full-resolution pixels. Input error for an empty image.
  Result<std::vector<Face>> detect(const Image& image);
  // detect() plus 68 landmarks per face.
  Result<std::vector<Face>> detect_faces(const Image& image);
  // Boxes only, searched in a window twice the size of `near` around it, resized so that a face
  // of near's size is about 100 px for the detector, with its own SVM threshold (lower than
  // detect()'s to re-find a known face that the full-frame pass missed). Cheap: a few ms.
  Result<std::vector<Face>> detect_near(const Image& image, const Box& near, double min_confidence);
  // detect() within `region` only (clipped to the frame): the same resized gray frame, scale and
  // threshold, the window's origin on detect()'s HOG cell grid, so that a face inside gives about
  // the box detect() gives it. What the tracker runs around its faces between full-frame passes.
  // min_face_side_px > 0: the HOG pyramid's finest levels, which only find faces smaller than this
  // (full-resolution px), are not computed (most of the cost when the face is large); the levels
  // that are give exactly the detections detect() finds on them. min_face_side_px = 0: dlib's own
  // detector code, which gives what detect() gives (tests/face compare the two).
  Result<std::vector<Face>> detect_in(const Image& image, const Box& region, double min_face_side_px = 0);

  const DetectOptions& options() const { return options_; }

 private:
  struct State;
  std::shared_ptr<const FaceModels> models_;
  DetectOptions options_;
  std::unique_ptr<State> state_;
};

// Fits the 68 landmarks inside `box` (a detector-style box) on a BGR or gray image. About 3 ms.
// Thread-safe (const model).
Landmarks fit_landmarks(const FaceModels& models, const Image& image, const Box& box);

// ---------------------------------------------------------------------------------------------
// Alignment
// ---------------------------------------------------------------------------------------------

struct AlignOptions {
  int size_px = 256;     // square crop side
  // Context around the canonical face (ArcFace-style 5-point template) as a fraction of the
  // template's side on each edge: 0 = tight face, 0.25 = face plus a quarter on every side.
  double margin = 0.25;
};

struct AlignedFace {
  Image crop;                 // size_px x size_px, same channel count as the input
  Affine2 frame_to_crop;      // similarity mapping frame pixels to crop pixels
  Affine2 crop_to_frame;      // its inverse: maps crop-space scores/masks back onto the frame
  Landmarks landmarks{};      // the landmarks in crop coordinates
};

// Least-squares similarity (rotation, uniform scale, translation) taking five_points(landmarks)
// to the canonical template at the given size and margin.
Affine2 alignment_transform(const Landmarks& landmarks, const AlignOptions& options = {});
// Warps the aligned crop (bilinear, border replicated). Input error for an empty image.
Result<AlignedFace> align_face(const Image& image, const Landmarks& landmarks,
                               const AlignOptions& options = {});
// Warps a crop-space image (e.g. a 1-channel mask or a heat map) back onto a frame of the given
// size with crop_to_frame; pixels outside the crop are 0.
Image unwarp_to_frame(const Image& crop_space, const Affine2& crop_to_frame, int width_px,
                      int height_px);

// ---------------------------------------------------------------------------------------------
// Tracking
// ---------------------------------------------------------------------------------------------

struct TrackerOptions {
  DetectOptions detect;
  // Run the full-frame detector every N frames and follow faces (landmark re-fit on the predicted
  // box) in between. 0 = adaptive: while tracks are followed, every kStableDetectInterval frames
  // each track is looked for again in a window twice its size around its predicted box (FaceDetector::
  // detect_in, a few ms) and the full frame is searched (for new faces) every full_detect_every_n
  // frames; every other frame with no track, and on the very next frame after a scene cut or a
  // miss.
  int detect_every_n = 0;
  // The adaptive schedule's full-frame interval while tracks are followed: a face that enters
  // beside a followed one is found within this many frames (one second at 30 fps; 15 until
  // session 17: docs/faces.md). <= kStableDetectInterval: the full frame every
  // kStableDetectInterval frames (the schedule before local re-detection).
  int full_detect_every_n = 30;
  // The adaptive schedule's windows look for faces down to this fraction of the followed face's
  // side (detect_in's min_face_side_px): the HOG levels for smaller faces are skipped. 0.69 is two
  // pyramid levels (1.2^-2) below the face's own. 0: every level (the schedule before session 7;
  // also when the environment has UNMASK_FACE_WINDOW_LEVELS=all, for A/B runs).
  double window_min_face_ratio = 0.69;
  // Tracks seen in fewer frames than this are dropped (unless the whole input is shorter).
  // Results are held back min_track_frames - 1 frames so that ids are only given to kept tracks.
  int min_track_frames = 3;
  // A track that the detector misses this many times in a row ends.
  int max_missed_detections = 2;
  double match_iou = 0.3;     // detection <-> track association threshold
  // When the full-frame pass misses a track, the detector looks again around the track's
  // predicted box with this lower threshold; if that fails too, the face is not reported in that
  // frame and the track counts a miss.
  double redetect_min_confidence = -0.5;
  bool split_at_cuts = true;  // end every track at a scene cut
  // One-Euro filter on landmarks (causal, low lag): cutoff = min_cutoff_hz + beta * speed, with
  // speed in face-sizes per second. smooth = false outputs the raw per-frame fit.
  bool smooth = true;
  double smooth_min_cutoff_hz = 1.5;
  double smooth_beta = 4.0;
};
inline constexpr int kStableDetectInterval = 5;
// The full-frame interval of the adaptive schedule: full_detect_every_n, at least kStableDetectInterval.
int full_detect_interval(const TrackerOptions& options);

// Faces of one frame, once final. `image` is the frame given to push(), handed back so callers
// can crop or draw without keeping their own copy.
struct FrameFaces {
  int64_t index = 0;
  int64_t pts_us = 0;
  bool scene_cut = false;  // a cut was detected just before this frame
  bool detector_ran = false;
  std::vector<Face> faces;
  Image image;
};

// The work on one frame that does not depend on the tracker's state, done ahead of push() by
// someone else: track_file does it on its decoding thread, where it overlaps the tracking of the
// earlier frames (a full-frame HOG pass costs several landmark fits). See FrameAnalyzer.
struct FrameAnalysis {
  // A scene cut just before this frame, from a SceneCutDetector fed every frame in order. Give it
  // for every frame of a video or for none (then the tracker runs its own).
  std::optional<bool> scene_cut;
  // FaceDetector::detect() on this very frame with the tracker's DetectOptions. When given, the
  // tracker takes it as this frame's full-frame detector pass (whether or not one was due).
  std::optional<std::vector<Face>> detections;
};

// Per-video state. Frames go in order; results come out in the same order, each frame exactly
// once, at most min_track_frames - 1 frames later.
class FaceTracker {
 public:
  explicit FaceTracker(std::shared_ptr<const FaceModels> models, TrackerOptions options = {});
  ~FaceTracker();
  FaceTracker(const FaceTracker&) = delete;
  FaceTracker& operator=(const FaceTracker&) = delete;

  // Processes one frame. Input error when pts_us does not increase or the frame size changes.
  Result<std::vector<FrameFaces>> push(VideoFrame frame);
  // The same with part of the work already done (see FrameAnalysis).
  Result<std::vector<FrameFaces>> push(VideoFrame frame, FrameAnalysis analysis);
  // Releases the held-back frames; the tracker can then take a new video.
  std::vector<FrameFaces> finish();

  struct Stats {
    int64_t n_frames = 0;
    int64_t n_detector_runs = 0;        // full-frame passes
    int64_t n_local_detector_runs = 0;  // frames where the tracks were re-detected locally only
    int64_t n_scene_cuts = 0;
    int n_tracks = 0;  // ids given so far
  };
  const Stats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Produces FrameAnalysis for a tracker's frames, in order, on any one thread: the scene cut of
// every frame, and the full-frame detections on a fixed grid of frames (every detect_every_n-th,
// or every full_detect_interval()-th with the adaptive schedule), where a tracker following its
// faces wants them; the tracker still runs the detector itself when it needs it in between (no
// face yet, a miss, a cut). The grid depends on nothing but the frame count, so the results do
// not depend on the threads' timing.
class FrameAnalyzer {
 public:
  FrameAnalyzer(std::shared_ptr<const FaceModels> models, const TrackerOptions& options);
  ~FrameAnalyzer();
  FrameAnalyzer(const FrameAnalyzer&) = delete;
  FrameAnalyzer& operator=(const FrameAnalyzer&) = delete;
  Result<FrameAnalysis> analyze(const Image& image);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Whole files
// ---------------------------------------------------------------------------------------------

struct TrackFrame {
  int64_t frame = 0;   // decoded frame index
  int64_t pts_us = 0;
  Face face;
};
struct Track {
  int track_id = 0;
  std::vector<TrackFrame> frames;  // increasing frame index
};
// Every face of a file grouped by track (about 1.2 KB per face per frame).
struct VideoFaces {
  std::string path;
  int64_t n_frames = 0;      // frames processed
  int width_px = 0, height_px = 0;
  double fps = 0;
  bool is_image = false;
  int64_t n_frames_with_face = 0;
  FaceTracker::Stats stats;
  std::vector<Track> tracks;
};

struct TrackFileOptions {
  TrackerOptions tracker;
  int every_nth = 1;            // process frames 0, k, 2k, ...
  int64_t max_frames = -1;      // stop after this many processed frames; -1 = all
  // Stills get this many detector up-sampling steps (faces in photos are often small).
  int image_upsample = 1;
  // false: the faces go to the callback only and the result's tracks stay empty, so that memory
  // does not grow with the video's length (~1.1 KB per face per frame otherwise).
  bool keep_tracks = true;
};

// Streams the file through VideoReader (on a decoding thread) and a FaceTracker. For stills the
// tracker keeps single-frame tracks. `on_frame`, if given, sees every finalised frame (with its
// image) in order; a failure it returns stops the run and is returned. Input error for unreadable
// media; "no face" is an empty result, not an error.
using FrameCallback = std::function<Status(FrameFaces&)>;
Result<VideoFaces> track_file(const std::string& path, std::shared_ptr<const FaceModels> models,
                              const TrackFileOptions& options = {},
                              const FrameCallback& on_frame = {}, const ProgressFn& progress = {});

// The tracks.json document of CONTRACT.md ({"n_frames", "tracks": [{"track_id", "frames": [...]}]})
// plus extra fields (width, height, fps, per-frame "detected"). Coordinates rounded to 0.01 px.
std::string to_tracks_json(const VideoFaces& faces, int indent = -1);

// Draws boxes, track ids and landmarks onto a BGR frame, in a colour per track id. Detected
// faces get a thick box, followed ones a thin box and a "~" after the id.
void draw_faces(Image& frame, const std::vector<Face>& faces);

// The face with the largest box among those at least min_side_px on both sides; nullptr when
// there is none. The pointer is into `faces`.
const Face* largest_face(const std::vector<Face>& faces, double min_side_px = 0.0);

// What `unmask faces` writes into a directory.
struct ExportOptions {
  std::string out_dir;
  bool write_crops = true;  // out_dir/track_<id>/<frame, 6 digits>.png, aligned
  AlignOptions crop;
  bool draw = false;        // out_dir/annotated.mp4 (stills: annotated.png), with the source's audio
  TrackFileOptions track;
};
struct ExportResult {
  VideoFaces faces;
  std::string tracks_json_path;  // out_dir/tracks.json
  std::string annotated_path;    // empty without draw
  int64_t n_crops = 0;
};
// track_file plus the files above. Input error when out_dir cannot be created or written.
Result<ExportResult> export_faces(const std::string& path, std::shared_ptr<const FaceModels> models,
                                  const ExportOptions& options, const ProgressFn& progress = {});

}  // namespace unmask::face
