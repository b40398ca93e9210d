// unmask detect: the detectors. This first part is the signal side of the lip-sync detector:
// how far the mouth moves, how loud the speech is, and the audio offset that best lines them up.
//
// Basic usage:
//
//   // Per video frame: lip opening of one face track (68-point landmarks, frame coordinates).
//   std::vector<double> mouth = unmask::detect::mouth_opening(landmarks_per_frame);
//   // The speech envelope sampled at the same frame rate.
//   std::vector<double> loudness = unmask::detect::speech_envelope(audio_16k, fps);
//   auto sync = unmask::detect::estimate_av_offset(mouth, loudness, fps);   // Result<AvOffset>
//   // sync->offset_ms > 0: the audio lags the lips.
//
//   // Or all in one (what `scan` calls): picks nothing, judges one track against the audio.
//   auto est = unmask::detect::score_lipsync(landmarks_per_frame, fps, audio);  // any audio rate
//   if (est.ok() && est->score) ... *est->score, est->offset.offset_ms, est->offset.confidence
//
// Everything here is plain arithmetic on short series: deterministic, no model, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/core.h"
#include "face/face.h"

namespace unmask::detect {

class AudioSource;  // detector.h

// Inner-lip opening per frame (mean distance of landmark pairs 61-67, 62-66, 63-65) divided by
// the eye-corner distance (36-45), so that it does not depend on the face's size. nullopt frames
// (no face) become NaN.
std::vector<double> mouth_opening(const std::vector<std::optional<face::Landmarks>>& landmarks_per_frame);

// Inner-lip polygon area (points 60-67, shoelace) over the squared eye-corner distance (36-45).
// Measured as a sync signal, alone or with the opening, it did no better than mouth_opening.
std::vector<double> mouth_area(const std::vector<std::optional<face::Landmarks>>& landmarks_per_frame);

// Log energy (dB) of the band [low_hz, high_hz] of `audio`, from 25 ms frames (10 ms hop),
// averaged over two frame periods centred on each video frame time (n_frames = duration x fps),
// floored at -100 dB. Any sample rate (resampled to 16 kHz). The default band, 1-7 kHz, is the one
// that lined up best with lip opening on real talking heads (bench_lipsync, docs/lipsync.md):
// better than the 300-3000 Hz voiced band and than broadband RMS; it leaves out low rumble, hum
// and most of the voicing energy that a closed mouth also produces.
std::vector<double> band_envelope(const Audio& audio, double fps, double low_hz = 1000.0, double high_hz = 7000.0);

// Which of several face tracks (landmarks per video frame each) is speaking: the one whose mouth
// moves most (RMS of mouth_opening around its 1 s trend, times the square root of the number of
// frames with the face). Returns tracks.size() when none has 2 s of frames.
size_t speaking_track(const std::vector<std::vector<std::optional<face::Landmarks>>>& tracks, double fps);
// The same from each track's mouth_opening series (NaN where the face is missing): a frame counts
// as "with the face" when its opening is finite. What scan keeps per frame of a track (8 bytes,
// not the 68 landmarks).
size_t speaking_track_by_opening(const std::vector<std::vector<double>>& openings, double fps);

// Log RMS energy of `audio` in windows centred on each video frame time (n_frames = duration x fps),
// in dB relative to full scale, floored at -80 dB.
std::vector<double> speech_envelope(const Audio& audio, double fps);

struct AvOffset {
  int offset_ms = 0;          // lag of the audio behind the lips at the best match
  double correlation = 0.0;   // normalised correlation at that lag, -1..1
  double aligned_correlation = 0.0;  // best correlation within +-80 ms of lag 0 (a normal AV skew)
  double confidence = 0.0;    // 0..1: how clearly the best lag stands out from the others
  // How far aligned_correlation stands above the median correlation over all lags, in units of
  // their spread: high when lips and voice line up at zero lag and nowhere else.
  double aligned_z = 0.0;
  int n_frames_used = 0;
  // Best correlation within +-80 ms over the voice-active frames only, each series with its 0.6 s
  // trend removed over those frames (speech_correlation): whether the syllables inside the speech
  // follow the lips, not only where speech starts and stops. Set by score_lipsync; 0 when unknown.
  double speech_correlation = 0.0;
};

// Normalised cross-correlation of the two series, each with its 1 s trend removed, over lags of
// +-max_offset_s; NaN frames are skipped pairwise. Input error when fewer than 2 s of frames have
// both signals, or when either is constant (no speech, a still mouth): then there is nothing to
// judge, which is not evidence either way.
Result<AvOffset> estimate_av_offset(const std::vector<double>& mouth, const std::vector<double>& envelope,
                                    double fps, double max_offset_s = 1.0);

// Best normalised correlation within +-80 ms of lag 0 between mouth and envelope over the frames
// where `speech` (one flag per video frame) is set, each series with its `trend_s` trend removed
// over those frames only; 0 when fewer than 1 s of such frames or either series is constant.
double speech_correlation(const std::vector<double>& mouth, const std::vector<double>& envelope,
                          const std::vector<bool>& speech, double fps, double trend_s = 0.6);

// Probability that lips and voice do not belong together, from the offset estimate: a logistic
// function of aligned_correlation, aligned_z and speech_correlation, fitted on real talking heads against the same
// clips with their audio shifted by +-300/500 ms and dubbed with espeak-ng (bench/lipsync,
// docs/lipsync.md gives the fit and its data).
double lipsync_mismatch_score(const AvOffset& offset);

struct LipsyncEstimate {
  // P(lips and voice do not belong together); nullopt when there is nothing to judge: `note`
  // says which rule refused (docs/lipsync.md, "When lip-sync judges"): under 1.5 s of speech with
  // the face in view, a mouth that barely moves while the voice speaks, sound that does not vary
  // like speech (by syllables), a still mouth or no varying sound at all.
  std::optional<double> score;
  AvOffset offset;   // meaningful when score is set
  std::string note;
  // The evidence the rules look at (set whenever the mouth and the sound could be measured):
  double speech_s = 0.0;           // voice-active seconds with the mouth measured
  double mouth_motion = 0.0;       // RMS of the opening around its 0.6 s trend over those frames (eye distances)
  double speech_modulation = 0.0;  // RMS of the 1-7 kHz envelope around its 1 s trend over voice-active frames (dB)
  double voice_fraction = 0.0;     // voice-active share of the recording's 10 ms frames (reported, not a rule)
  double beat_strength = 0.0;      // lipsync_beat_strength of the sound (rule 8)
};

// The thresholds of those rules. kLipsyncMinMouthMotion and kLipsyncMinSpeechModulation are half
// the lowest value among the aligned real talking heads of bench_lipsync.
inline constexpr double kLipsyncMinSpeechSeconds = 1.5;
extern const double kLipsyncMinMouthMotion;
extern const double kLipsyncMinSpeechModulation;
// Rule 8: sound whose lipsync_beat_strength is above this is music, not judged (the highest
// among the same clips plus 0.05).
extern const double kLipsyncMaxBeatStrength;

// Rule 7: a face large enough to read the lips. The opening's noise is the landmarks' pixel noise
// over the eye-corner distance, and the score was fitted on faces whose median eye-corner distance
// (landmarks 36-45, frame pixels) was 48.4 px at the smallest (bench_lipsync's aligned clips);
// half of that, as for the two thresholds above. A smaller face is not judged.
inline constexpr double kLipsyncMinEyeCornerPx = 24.2;
// The eye-corner distance (landmarks 36-45, pixels): what mouth_opening is measured in.
double eye_corner_px(const face::Landmarks& landmarks);
// The median of a track's per-frame eye-corner distances (the upper one of an even count); 0 when
// there are none. The second form over the frames with landmarks.
double median_eye_corner_px(std::vector<float> per_frame_px);
double median_eye_corner_px(const std::vector<std::optional<face::Landmarks>>& landmarks_per_frame);
// The estimate for a face whose median eye-corner distance is `eye_corner_px`: no score and a note
// saying why when it is under kLipsyncMinEyeCornerPx (0, unknown, is not judged small); nullopt
// when the face is large enough for the other rules to decide.
std::optional<LipsyncEstimate> lipsync_face_too_small(double eye_corner_px);

// Of two judged estimates for different faces of one video, whether `a` matches the voice better
// (a lower mismatch score): the face judged is the one that best matches the voice, since a
// listener's or a second person's mouth says nothing about a dub. A judged estimate beats one that
// abstained; between two that abstained, the one with more speech seconds (its note is the telling one).
bool better_lipsync_match(const LipsyncEstimate& a, const LipsyncEstimate& b);

// The lip-sync detector in one call: mouth_opening of one face track (landmarks per video frame,
// nullopt where the face is missing) against band_envelope of `audio` (any rate, mono),
// estimate_av_offset over +-1 s, lipsync_mismatch_score. Usage error only for fps <= 0.
Result<LipsyncEstimate> score_lipsync(const std::vector<std::optional<face::Landmarks>>& landmarks_per_frame, double fps,
                                      const Audio& audio);

// All the lip-sync detector takes from the sound, per 10 ms frame (25 ms frames at 16 kHz): two
// numbers a frame, so that a file of any length is judged in bounded memory.
struct LipsyncAudio {
  std::vector<double> band_power;  // power summed over band_envelope's default band (1-7 kHz)
  std::vector<double> energy_db;   // frame_energy_db, for the voice activity
  double duration_s = 0.0;
  double beat_strength = 0.0;      // lipsync_beat_strength, once for every face track judged against it
};
LipsyncAudio lipsync_audio(const Audio& audio);  // any rate (resampled to 16 kHz)
// How strongly the sound repeats at a steady beat: the highest normalised autocorrelation of the
// 1-7 kHz band envelope (dB, its 1 s trend removed) at lags of 0.3-1.2 s (50-200 beats a minute),
// over the whole recording. Drums and other music pulse at one tempo; speech does not. 0 for
// recordings under 2.4 s. lipsync_audio and lipsync_audio_stream store it in beat_strength.
double lipsync_beat_strength(const LipsyncAudio& audio);
// The same from a 16 kHz source read once. Usage error for another rate.
Result<LipsyncAudio> lipsync_audio_stream(AudioSource& source);
// score_lipsync on those: the same result as on the audio they come from.
Result<LipsyncEstimate> score_lipsync(const std::vector<std::optional<face::Landmarks>>& landmarks_per_frame, double fps,
                                      const LipsyncAudio& audio);
// And from the mouth_opening series of the track (what score_lipsync measures on the landmarks).
Result<LipsyncEstimate> score_lipsync(const std::vector<double>& mouth_opening_per_frame, double fps,
                                      const LipsyncAudio& audio);
// Several face tracks (mouth_opening per frame each, on the same frame grid as the audio): each is
// scored and the best match (better_lipsync_match) is returned, `track` set to its index. What
// scan does one track at a time.
struct TrackLipsync {
  LipsyncEstimate estimate;
  size_t track = 0;
};
Result<TrackLipsync> score_lipsync_tracks(const std::vector<std::vector<double>>& mouth_openings, double fps,
                                          const LipsyncAudio& audio);

}  // namespace unmask::detect
