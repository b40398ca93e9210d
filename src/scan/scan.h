// unmask scan: the main job. One file in (video, image or audio), one report out: faces tracked,
// every loaded detector run where it applies, the watermark checked, everything fused into one
// calibrated score and a verdict with the evidence behind it.
//
// Basic usage:
//
//   unmask::scan::ScanOptions opts;              // models from detect::default_models_dir()
//   opts.frames_per_track = 32;                  // CNN budget per face track (`--frames`)
//   auto report = unmask::scan::scan_file("clip.mp4", opts);   // Result<report::Report>
//   if (!report.ok()) return report.status();    // input error (exit 3), model error (exit 4)
//   std::cout << unmask::report::to_json(*report);
//
//   // Many files (eval, serve): load the detectors and face models once and share them.
//   auto set = unmask::scan::load_available_detectors(models_dir, {});
//   opts.detector_set = set->detectors;
//   for (auto& path : paths) scan_file(path, opts);
//
// Data flow (one decode of the video): media::probe -> face::track_file, whose per-frame callback
// aligns the crops of a few sampled frames per track while the frame is in memory and feeds a
// sample of frames to the watermark verifier -> crop and track detectors per track (batched; a
// track is scored as soon as it ends, so memory does not grow with the video's length) ->
// audio detectors and lip-sync -> fuse() -> Report.
//
// Thread-safety: scan_file may run concurrently on different files with shared ScanOptions
// members (detectors and face models are immutable). Nothing here prints.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/core.h"
#include "detect/detector.h"
#include "face/face.h"
#include "report/report.h"

namespace unmask::scan {

inline constexpr int kDefaultFramesPerTrack = 32;

struct FusionModel;  // learned fusion, below

struct ScanOptions {
  std::string models_dir;               // empty: detect::default_models_dir()
  // Detector names to run; empty: every registered detector whose model is there. A named
  // detector whose model is missing is a model error.
  std::vector<std::string> detectors;
  // Already loaded detectors (eval, serve, tests): used as they are; models_dir and detectors
  // are then ignored.
  std::shared_ptr<const detect::DetectorSet> detector_set;
  std::shared_ptr<const face::FaceModels> face_models;  // loaded when null
  // The learned fusion to use with detector_set (load_available_detectors gives it); ignored
  // when detector_set is null (then read from the models folder). Null: the max rule.
  std::shared_ptr<const FusionModel> fusion;
  // CNN frames per face track, spread over the track's time; up to twice as many where the
  // first pass leaves the track's score uncertain. >= 1.
  int frames_per_track = kDefaultFramesPerTrack;
  // Faster, less thorough: faces tracked on every other frame, a third of the CNN frames, no
  // second pass, fewer watermark frames and no tamper layer.
  bool fast = false;
  bool check_watermark = true;
  bool thumbnails = true;               // PNG per track with the heatmap (HTML report)
  ProgressFn progress;                  // fraction and stage: "faces", "detectors", "audio"
};

// Scans one file. Errors: input (missing, unreadable, corrupt media: exit 3), model (a detector
// or the face model missing or corrupt, or no detector at all: exit 4), usage (bad options).
// "Nothing to judge" is a report with verdict not_applicable, not an error.
Result<report::Report> scan_file(const std::string& path, const ScanOptions& options);

// ---------------------------------------------------------------------------------------------
// Detectors
// ---------------------------------------------------------------------------------------------

struct AvailableDetectors {
  std::shared_ptr<const detect::DetectorSet> detectors;
  // Registered detectors left out because models_dir has no model for them, as
  // "name (no <models_dir>/name.unm)".
  std::vector<std::string> skipped;
  // <models_dir>/fusion.json when it is there (a malformed one is a model error); null: max rule.
  std::shared_ptr<const FusionModel> fusion;
};
// With `names` empty: every registered detector that loads; one whose model file is absent is
// skipped, one whose file is there but corrupt is a model error; no detector at all is a model
// error naming the folder. With names: exactly those (detect::load_detectors' errors).
Result<AvailableDetectors> load_available_detectors(const std::string& models_dir,
                                                    const std::vector<std::string>& names);

// ---------------------------------------------------------------------------------------------
// Fusion: detector scores to one calibrated score and a verdict (a transparent rule)
// ---------------------------------------------------------------------------------------------
//
//   track score  = max over the detectors that judged the track (each a calibrated P(fake)):
//                  the detectors look for different manipulations, so the strongest evidence
//                  speaks; a detector that found nothing to judge abstains.
//   video score  = max over tracks with at least kMinTrackFrames scored frames (all tracks when
//                  none has that many, e.g. a still image): one manipulated face makes a
//                  manipulated video.
//   audio score  = max(voice, lip-sync mismatch) over those that judged.
//   media score  = max(video score, audio score).
//   watermark    = synthetic flag: decisive, score >= 0.99, manipulated. A valid issuer mark
//                  with the tamper layer intact: strong evidence of authenticity, logit - 4
//                  (odds / 55). A mark whose tamper layer shows an altered region in at least
//                  30% of readable frames: logit + 2. A frame counts as altered when at least
//                  8% of its blocks are flagged: re-encoding alone flags scattered blocks (an
//                  untouched marked clip: at most 7.7% per frame, re-encoded at CRF 23: 3 of 26
//                  frames above 8%), a grey box over a face flags 9-28% in most frames.
//   verdict      = manipulated when score >= 0.75, suspicious when 0.40 <= score < 0.75,
//                  authentic below 0.40; not_applicable (score 0.5) when nothing could be
//                  judged: no face and no speech, too short, unreadable streams.

inline constexpr int kMinTrackFrames = 3;
inline constexpr double kManipulatedThreshold = 0.75;
inline constexpr double kSuspiciousThreshold = 0.40;
inline constexpr double kIntactMarkLogitShift = -4.0;
inline constexpr double kTamperedMarkLogitShift = 2.0;
inline constexpr double kTamperFractionThreshold = 0.30;
inline constexpr double kTamperMinBlockFraction = 0.08;

// The fraction of the tamper layer's readable frames that count as altered: those among the
// flagged frames (their fraction of flagged blocks given) with at least kTamperMinBlockFraction.
// 0 when no frame was readable.
double altered_frame_fraction(int frames_readable, const std::vector<double>& flagged_block_fractions);

struct DetectorScore {
  std::string detector;
  double score = 0.0;
};

struct TrackEvidence {
  int track_id = 0;
  int n_scored_frames = 0;
  std::vector<DetectorScore> scores;  // detectors that judged this track
};

// ---------------------------------------------------------------------------------------------
// Learned fusion (models/fusion.json): a logistic model over per-detector evidence
// ---------------------------------------------------------------------------------------------
//
// Over-confident false alarms of one detector pass straight through the max rule. The learned
// rule weighs the detectors instead: for every detector d it knows,
//
//   x_d = clamp(logit(video-level score of d), -clip, +clip)   (0 when d did not judge)
//   a_d = 1 when d judged the file, else 0
//   score = sigmoid(intercept + sum_d (w_logit[d] x_d + w_present[d] a_d))
//
// The video-level score of a track detector is the strongest over the tracks that count (those
// with >= kMinTrackFrames scored frames, all when none has that many: detector_evidence()); voice
// and lipsync as they scored. The weights are fitted (fit_fusion_model, scripts/fit-fusion.sh) on
// videos scanned with exactly the detector models whose sha256 the file records. It applies to
// videos only (images and audio files keep the max rule: the fit saw neither), and only when the
// loaded detectors are exactly those it was fitted with (same names, same sha256): otherwise
// scan falls back to the max rule and says so in the report's options["warnings"]. The
// watermark rules apply on top of either rule, unchanged.

// A feature that is no detector: the max rule's score over the detectors that judged.
inline constexpr const char* kFusionMaxFeature = "max";

struct FusionWeight {
  std::string detector;               // "blend", "temporal", "voice", "lipsync", ..., or "max"
  std::string model_sha256;           // of the weights it was fitted with; empty: no weights file
  double w_logit = 0.0;
  double w_present = 0.0;
};

struct FusionModel {
  std::string version = "1";
  double clip = 4.0;                  // |logit| cap per detector
  double l2 = 1.0;                    // the ridge penalty it was fitted with (recorded)
  double intercept = 0.0;
  std::vector<FusionWeight> weights;
};

// Reads a fusion model (JSON written by fusion_model_json). Model error when it is malformed.
Result<FusionModel> load_fusion_model(const std::string& path);
std::string fusion_model_json(const FusionModel& model);
// Empty when `loaded` (every detector loaded for the scan, before stills-only ones sit out) is
// exactly the set the model was fitted with, same sha256; otherwise why not, in one sentence.
std::string fusion_model_mismatch(const FusionModel& model, const std::vector<detect::DetectorInfo>& loaded);
// The learned score for per-detector video-level evidence (detector_evidence()). `contributions`,
// when given, receives w_logit x_d + w_present a_d per model weight, in order.
double fusion_model_score(const FusionModel& model, const std::vector<DetectorScore>& evidence,
                          std::vector<double>* contributions = nullptr);
// Fits the weights by L2-penalised logistic regression (Newton's method; the intercept is not
// penalised) on per-video evidence and labels (1 fake). `detectors` names the features and their
// model sha256 (the order of the weights). Deterministic: no randomness involved.
struct FusionFitOptions {
  // Fit w_present too. Off: a detector that abstains is no evidence either way (whether a file
  // has speech says nothing about its authenticity, though in a small set it may correlate).
  bool presence = true;
  // Keep every w_logit >= 0: a detector's stronger evidence never lowers the score.
  bool non_negative = false;
  // Fit only these features (others keep weight 0 but stay recorded with their sha256); empty:
  // all. {kFusionMaxFeature} alone is the max rule recalibrated (Platt): same ranking, fitted
  // probabilities.
  std::vector<std::string> only;
};
FusionModel fit_fusion_model(const std::vector<FusionWeight>& detectors, const std::vector<std::vector<DetectorScore>>& evidence,
                             const std::vector<int>& labels, double l2, double clip, const FusionFitOptions& fit = {});

struct FusionInput {
  std::vector<TrackEvidence> tracks;
  std::optional<double> voice;        // synthetic-speech probability, when speech was judged
  std::optional<double> lipsync;      // lips/voice mismatch probability, when judged
  report::WatermarkSection watermark;
  // Why nothing may be judged (not_applicable), chosen by the caller from what it saw:
  // e.g. "no face and no speech found", "too short to judge (0.1 s)".
  std::string not_applicable_reason;
  // The learned rule, when the caller found it applicable (a video, detectors matching); null:
  // the max rule.
  const FusionModel* model = nullptr;
};

// Per detector, the video-level score the fusion uses: the strongest over the tracks that count
// (>= kMinTrackFrames scored frames; all tracks when none has that many), then voice and lipsync.
std::vector<DetectorScore> detector_evidence(const FusionInput& input);

struct FusionResult {
  double score = 0.5;
  report::Verdict verdict = report::Verdict::kNotApplicable;
  std::optional<double> video_score;  // fused over tracks, when any track was judged
  std::optional<double> audio_score;
  std::vector<double> track_scores;   // per FusionInput::tracks entry (NaN when not judged)
  // What decided: "watermark", "track <id>", "voice", "lipsync", "watermark+...", or "" when
  // nothing could be judged. Under the learned rule: the largest positive contribution.
  std::string deciding;
  std::string rule = "max";           // "max" or "learned"
};

FusionResult fuse(const FusionInput& input);

// The verdict for a fused score (thresholds above).
report::Verdict verdict_for_score(double score);

// A short phrase naming what a detector looks for: "blending seams" (blend), "spectral traces
// of a generated face" (spectral), "unnatural motion over time" (temporal), "synthetic speech"
// (voice); the name itself for others.
std::string detector_phrase(const std::string& detector);

// "m:ss" for a time in seconds (h:mm:ss from one hour): report's, the one every report prints.
using report::clock_text;

// ---------------------------------------------------------------------------------------------
// Evaluation over a manifest (`unmask eval`)
// ---------------------------------------------------------------------------------------------

struct EvalItem {
  std::string path;
  int label = 0;                      // 1 fake, 0 real
  bool failed = false;                // the scan failed (input error): counted, not fatal
  std::string error;                  // why, when failed
  double score = 0.5;                 // fused score
  std::string verdict;
  std::vector<DetectorScore> detectors;  // per-detector file-level scores, where they judged
};

struct EvalMetrics {
  int64_t n_real = 0, n_fake = 0;
  double auc = 0, ap = 0, eer = 0, log_loss = 0, accuracy = 0;
  // The AUC's bootstrap 95 % interval (learn::roc_auc_interval); NaN unless both classes.
  double auc_low = 0, auc_high = 0;
};

struct EvalResult {
  std::vector<EvalItem> items;
  int64_t n_failed = 0;
  int64_t n_not_applicable = 0;
  EvalMetrics fused;                  // over the items that did not fail
  // Per detector, over the items it judged (a detector that abstained on an item leaves it out).
  std::vector<std::pair<std::string, EvalMetrics>> per_detector;
};

struct EvalOptions {
  ScanOptions scan;                   // detector_set / face_models are loaded once when null
  ProgressFn progress;                // fraction of items done, and the item's path
};

// Scans every manifest item. Input error for an unreadable or malformed manifest; model errors
// stop the run (every item would fail the same way); an item that fails to decode is counted in
// n_failed and left out of the metrics.
Result<EvalResult> evaluate_manifest(const std::string& manifest_path, const EvalOptions& options);

}  // namespace unmask::scan
