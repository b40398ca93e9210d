// unmask detect: the detector interface and registry. Three kinds of detector, by what they look
// at; `scan` and `eval` drive every loaded detector of each kind the same way:
//
//   CropDetector   aligned face crops, one score per crop (blend, spectral)
//   TrackDetector  one face track over time: landmarks, boxes and a few crops (temporal)
//   AudioDetector  the mono audio of a file, per-segment scores (voice)
//
// Basic usage:
//
//   auto set = unmask::detect::load_detectors(unmask::detect::default_models_dir());
//   for (const auto& d : set->crop) {
//     auto crops = ...;   // face::align_face(frame, landmarks, d->alignment()) per sampled frame
//     auto scores = d->score(crops);   // Result<std::vector<CropScore>>, probabilities of "fake"
//   }
//   double track = unmask::detect::aggregate_track(per_frame_probabilities);
//
// Scores are calibrated probabilities that the input is manipulated (1 = fake). Every const
// method is thread-safe. A detector whose model file is missing or corrupt fails to load with
// Status::model (exit 4); it never silently scores 0.5.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/core.h"
#include "face/face.h"

namespace unmask::detect {

enum class DetectorKind { kCrop, kTrack, kAudio };

struct DetectorInfo {
  std::string name;          // registry key: "blend", "spectral", "temporal", "voice"
  std::string version;       // bumps when the features or the network change
  std::string model_sha256;  // of the weights file; empty for detectors without one
  std::string model_path;    // empty for detectors without one
  DetectorKind kind = DetectorKind::kCrop;
  // Crop detectors whose training saw fakes only as still images (GAN faces) judge stills only:
  // their scores on video frames are outside what they were trained and calibrated for.
  bool stills_only = false;
};

// ---------------------------------------------------------------------------------------------
// Per-crop detectors
// ---------------------------------------------------------------------------------------------

struct CropScore {
  double score = 0.0;  // P(fake) for this crop; NaN when the detector cannot judge the crop
  // Where the detector saw evidence: a single-channel image (0 = nothing, 255 = strong) in crop
  // coordinates at any size; empty when the detector has no spatial output.
  Image heatmap;
};

class CropDetector {
 public:
  virtual ~CropDetector() = default;
  virtual const DetectorInfo& info() const = 0;
  // The crop the detector was trained on: pass it to face::align_face.
  virtual face::AlignOptions alignment() const = 0;
  // One score per crop, in order. Crops are BGR at alignment().size_px.
  virtual Result<std::vector<CropScore>> score(std::span<const Image> crops) const = 0;
};

// ---------------------------------------------------------------------------------------------
// Per-track detectors
// ---------------------------------------------------------------------------------------------

// One face track, every processed frame in order (frames without the face are left out).
struct TrackSeries {
  double fps = 0.0;                       // of the processed frames
  std::vector<int64_t> pts_us;
  std::vector<face::Landmarks> landmarks; // frame coordinates
  std::vector<Box> boxes;
  std::vector<bool> detected;             // detector ran and found the face in this frame
  // detect::face_detail of every frame (NaN where it could not be measured); empty when no
  // detector reads it (reads_face_detail) or the frames given were not every frame of the video
  // (scan --fast), which interpolation needs.
  std::vector<float> face_detail;
  // Aligned crops (alignment() of the detector) at a subset of the frames: crop_index[i] is the
  // position in pts_us of crops[i]. May be empty for detectors that need no pixels.
  std::vector<Image> crops;
  std::vector<size_t> crop_index;
};

struct TrackResult {
  // P(fake) for the track; nullopt when the track gives nothing to judge (too short, no blinks
  // possible at this frame rate): not evidence either way.
  std::optional<double> score;
  std::vector<std::string> evidence;  // short sentences for the report, e.g. "no blink in 24 s"
};

class TrackDetector {
 public:
  virtual ~TrackDetector() = default;
  virtual const DetectorInfo& info() const = 0;
  // The crop for TrackSeries::crops; nullopt for a detector that reads no pixels (landmarks only),
  // whose series then comes without crops and scan cuts none for it.
  virtual std::optional<face::AlignOptions> alignment() const = 0;
  // True for a detector that reads TrackSeries::face_detail: scan measures it on every frame
  // only when one does.
  virtual bool reads_face_detail() const { return false; }
  virtual Result<TrackResult> score(const TrackSeries& track) const = 0;
};

// ---------------------------------------------------------------------------------------------
// Audio detectors
// ---------------------------------------------------------------------------------------------

struct SegmentScore {
  double start_s = 0.0;
  double end_s = 0.0;
  double score = 0.0;  // P(synthetic) for this voiced segment
};

struct AudioResult {
  std::optional<double> score;          // nullopt when there is no speech: silence is not evidence
  std::vector<SegmentScore> segments;   // voiced segments only
  std::string note;                     // e.g. "no speech found"
  bool speech_found = false;            // speech was there, whether or not it was judged
};

// A recording read from its start in pieces, as many times as an analysis needs: what lets a
// long file be analysed in bounded memory (detect::file_audio_source, detect::memory_audio_source
// in audio_features.h). Mono, at sample_rate_hz(). One thread at a time.
class AudioSource {
 public:
  virtual ~AudioSource() = default;
  virtual int sample_rate_hz() const = 0;
  // The next read() starts again at the first sample.
  virtual Status rewind() = 0;
  // Appends at most max_samples samples to `out`; returns how many (0 at the end).
  virtual Result<size_t> read(std::vector<float>& out, size_t max_samples) = 0;
};

class AudioDetector {
 public:
  virtual ~AudioDetector() = default;
  virtual const DetectorInfo& info() const = 0;
  virtual int sample_rate_hz() const = 0;  // the rate score() expects (mono)
  virtual Result<AudioResult> score(const Audio& audio) const = 0;
  // The same scores from a recording read in pieces (`source` at sample_rate_hz(), rewound first).
  // A detector that can analyse in bounded memory overrides it; this default reads the whole
  // recording and calls score().
  virtual Result<AudioResult> score_stream(AudioSource& source) const {
    Audio audio;
    audio.sample_rate_hz = source.sample_rate_hz();
    UNMASK_RETURN_IF_ERROR(source.rewind());
    while (true) {
      auto n = source.read(audio.samples, size_t{1} << 16);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
    }
    return score(audio);
  }
};

// ---------------------------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------------------------

struct DetectorSet {
  std::vector<std::shared_ptr<const CropDetector>> crop;
  std::vector<std::shared_ptr<const TrackDetector>> track;
  std::vector<std::shared_ptr<const AudioDetector>> audio;
  std::vector<DetectorInfo> infos() const;
};

// Every registered detector's name, sorted.
std::vector<std::string> detector_names();

// Loads the named detectors (all registered ones when `names` is empty) with their weights from
// `models_dir` (<name>.unm). Model error naming the file when weights are missing or corrupt;
// usage error for an unknown name.
Result<DetectorSet> load_detectors(const std::string& models_dir, const std::vector<std::string>& names = {});

// $UNMASK_MODELS when set; else models/ next to the executable's parent folder
// (build/unmask -> models/); else the source tree's models/ folder.
std::string default_models_dir();

// How a track's frame scores (in time order) become one score: a mean of a part of the frame
// logits, mapped back to a probability.
//   kInterQuartileMean  the default: the middle half of the track (its lowest and highest
//                       quarters dropped). On footage unlike its training a crop detector's top
//                       frames are where it misreads a hand, a microphone, a bad landmark fit or a
//                       colour cast as a seam, so a track is judged on its typical frames. The
//                       cost: a manipulation covering less than a quarter of the track is not seen
//                       (project partial swaps: AUC 0.527; docs/detectors.md, blend).
//   kWindowedInterQuartileMean  the highest, over every run of a quarter of the track's
//                       consecutive frames (at least 4), of the run's middle-half mean: a stretch
//                       of fake frames decides, isolated spikes are trimmed (partial swaps 0.640),
//                       but on unfamiliar real video it raised more false alarms (20 of 78 manifest
//                       reals against 12).
//   kTopQuarter         the highest quarter (at least one frame): version 1 of blend's rule;
//                       follows isolated spikes.
enum class TrackAggregate { kInterQuartileMean, kWindowedInterQuartileMean, kTopQuarter };

// Track score from per-frame probabilities in time order. NaN entries (crops a detector did not
// judge, see CropScore) are left out; an input with nothing else gives 0.5.
double aggregate_track(std::span<const double> frame_probabilities,
                       TrackAggregate how = TrackAggregate::kInterQuartileMean);

}  // namespace unmask::detect
