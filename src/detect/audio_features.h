// unmask detect: audio features for the voice detector (and the lip-sync signals). Framing with a
// Hamming window, power spectra through OpenCV's DFT, mel and linear filterbanks, log-mel and
// LFCC (linear-frequency cepstral coefficients, the ASVspoof baseline front end) with deltas,
// an energy voice activity detector with hangover, resampling and loudness normalisation.
//
// Basic usage:
//
//   Audio speech = unmask::detect::prepare_speech(audio);          // 16 kHz, speech at -26 dBFS
//   auto spec = unmask::detect::power_spectrogram(speech.samples, speech.sample_rate_hz);
//   auto lfcc = unmask::detect::lfcc(spec, 20, 20);                // n_frames x 20
//   auto full = unmask::detect::with_deltas(lfcc);                 // n_frames x 60
//   auto speech_frames = unmask::detect::voice_activity(speech);   // one flag per 10 ms hop
//
// Everything here is plain arithmetic: deterministic, no model, thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/core.h"
#include "detect/detector.h"

namespace unmask::detect {

inline constexpr int kFeatureRateHz = 16000;

// Row-major float matrix: n_rows frames x n_cols values.
struct FeatureMatrix {
  int n_rows = 0;
  int n_cols = 0;
  std::vector<float> values;

  float at(int row, int col) const { return values[static_cast<size_t>(row) * n_cols + col]; }
  float& at(int row, int col) { return values[static_cast<size_t>(row) * n_cols + col]; }
};

struct FrameOptions {
  int frame_len = 400;  // samples per analysis frame (25 ms at 16 kHz)
  int hop = 160;        // samples between frame starts (10 ms at 16 kHz)
  int n_fft = 512;      // DFT size (>= frame_len; the frame is zero-padded)
};

// Symmetric Hamming window: 0.54 - 0.46 cos(2 pi n / (N - 1)).
std::vector<float> hamming_window(int n);

// Power spectrum |X(k)|^2 of each Hamming-windowed frame, k = 0..n_fft/2: n_frames x (n_fft/2 + 1).
// Frame t covers samples [t * hop, t * hop + frame_len); the last partial frame is dropped.
// Fewer samples than one frame give an empty matrix. Bin k sits at k * sample_rate_hz / n_fft.
FeatureMatrix power_spectrogram(const std::vector<float>& samples, int sample_rate_hz,
                                const FrameOptions& options = {});
// The same for `n_frames` frames whose first starts at `samples` ((n_frames - 1) * hop + frame_len
// samples must follow): one block of a recording read in pieces (stream_frames).
FeatureMatrix power_spectrogram_frames(const float* samples, int n_frames, const FrameOptions& options = {});

// Triangular filters: n_bands x n_bins weights (n_bins = n_fft / 2 + 1). Mel filters have centres
// equally spaced on the mel scale (HTK: 2595 log10(1 + f / 700)) between f_min and f_max; linear
// ones equally spaced in Hz. Each filter peaks at 1 at its centre and reaches 0 at its neighbours'.
struct FilterBank {
  int n_bands = 0;
  int n_bins = 0;
  std::vector<float> weights;     // n_bands x n_bins
  std::vector<double> centre_hz;  // n_bands
};
FilterBank mel_filterbank(int n_bands, int n_fft, int sample_rate_hz, double f_min_hz = 0.0, double f_max_hz = -1.0);
FilterBank linear_filterbank(int n_bands, int n_fft, int sample_rate_hz, double f_min_hz = 0.0, double f_max_hz = -1.0);
double hz_to_mel(double hz);
double mel_to_hz(double mel);

// log(filterbank energy + 1e-10) per frame: n_frames x n_bands. f_max < 0 means Nyquist.
FeatureMatrix log_filterbank(const FeatureMatrix& power, const FilterBank& bank);
FeatureMatrix log_mel(const FeatureMatrix& power, int sample_rate_hz, int n_fft, int n_bands = 40);

// Orthonormal DCT-II of each row, first n_coeffs: c_k = s_k sum_n x_n cos(pi k (2n + 1) / (2N)),
// s_0 = sqrt(1/N), s_k = sqrt(2/N).
FeatureMatrix dct_rows(const FeatureMatrix& x, int n_coeffs);

// LFCC: log energies of n_filters linear triangular filters over 0..Nyquist, then the DCT-II.
FeatureMatrix lfcc(const FeatureMatrix& power, int sample_rate_hz, int n_fft, int n_filters = 20, int n_coeffs = 20);

// Regression deltas over +-width frames (edges repeated): d_t = sum_k k (x_{t+k} - x_{t-k}) / (2 sum k^2).
FeatureMatrix deltas(const FeatureMatrix& x, int width = 2);
// [x, deltas(x), deltas(deltas(x))]: n_frames x 3 n_cols.
FeatureMatrix with_deltas(const FeatureMatrix& x, int width = 2);

// Energy voice activity detection, one flag per hop (frame t covers [t * hop, t * hop + frame_len)):
// a frame is speech when its log energy is above max(noise floor + margin, peak - range), where
// the floor and peak are the 10th and 98th percentiles of the recording's frame energies; a
// speech run is held on for `hangover_frames` after it ends and runs shorter than
// `min_run_frames` are dropped. A recording whose peak is below `silence_dbfs` has no speech.
struct VadOptions {
  int frame_len = 400;
  int hop = 160;
  double margin_db = 12.0;
  double range_db = 35.0;
  double silence_dbfs = -55.0;
  int hangover_frames = 8;  // 80 ms at a 10 ms hop
  int min_run_frames = 10;  // 100 ms
};
std::vector<bool> voice_activity(const Audio& audio, const VadOptions& options = {});
// The per-frame measure voice_activity thresholds: 10 log10(mean square of the frame + 1e-12).
double frame_energy_db(const float* samples, int frame_len);
// voice_activity from those energies (one per frame, the whole recording's: the floor and peak
// are its percentiles).
std::vector<bool> voice_activity_from_energies(const std::vector<double>& energy_db, const VadOptions& options = {});

// Band-limited resampling (windowed sinc, 16 zero crossings, cut-off at the lower Nyquist).
// Returns the input unchanged when the rates match.
Audio resample(const Audio& audio, int sample_rate_hz);

// The speech of `audio` ready for features: mono at 16 kHz, DC removed, scaled so that the RMS
// over voice-active frames is `target_dbfs` (clipped to +-1). Silence stays silence.
Audio prepare_speech(const Audio& audio, double target_dbfs = -26.0);

// ---------------------------------------------------------------------------------------------
// Recordings of any length in bounded memory: an AudioSource is read from its start once per pass
// and each pass keeps a few numbers per 10 ms frame, never the samples.
// ---------------------------------------------------------------------------------------------

// A source over `audio` (held by reference: it must outlive the source).
std::unique_ptr<AudioSource> memory_audio_source(const Audio& audio);
// A source decoding the audio of `path` to mono at `sample_rate_hz` (media::AudioReader); each
// rewind reopens the file. Input error when there is no audio stream or it cannot be decoded.
Result<std::unique_ptr<AudioSource>> file_audio_source(const std::string& path, int sample_rate_hz);

// Reads `source` once from its start and hands its frames (frame_len samples every hop; the last
// partial frame dropped, as power_spectrogram and voice_activity frame) to on_block in blocks of
// at most block_frames: on_block(first_frame, samples, n_frames) with samples[0] the sample
// first_frame * hop and (n_frames - 1) * hop + frame_len samples from there. `transform`, when
// set, is applied in place to the samples as they are read, in order, each once. Memory: one
// block. Returns the number of samples read. Usage error unless 0 < hop <= frame_len.
// The block size the passes over a recording use: 60 s of 10 ms frames.
inline constexpr int kStreamBlockFrames = 6000;
using SampleTransform = std::function<void(float* samples, size_t n)>;
using FrameBlockFn = std::function<Status(int64_t first_frame, const float* samples, int n_frames)>;
Result<int64_t> stream_frames(AudioSource& source, int frame_len, int hop, int block_frames,
                              const SampleTransform& transform, const FrameBlockFn& on_block);

// What prepare_speech does to a 16 kHz recording, measured over all of it: the mean it removes and
// the gain that brings the voice-active RMS to the target (then clipped to +-1).
struct SpeechLevels {
  int64_t n_samples = 0;
  double mean = 0.0;
  double gain = 1.0;
  bool scaled = false;  // false when there is no voice activity: the samples keep their level
};
// Three passes over `source` (mean; voice activity; RMS over the active frames). The numbers
// are the same as prepare_speech's, bit for bit.
Result<SpeechLevels> measure_speech_levels(AudioSource& source, double target_dbfs = -26.0);
// prepare_speech's arithmetic on a piece of the recording, in place.
void apply_speech_levels(const SpeechLevels& levels, float* samples, size_t n);

// ---------------------------------------------------------------------------------------------
// Telephone-band speech: a phone line (G.711, AMR-NB, GSM) passes 300-3400 Hz and nothing above
// 4 kHz, and a recording of it keeps that gap whatever rate it is stored at.
// ---------------------------------------------------------------------------------------------

inline constexpr double kTelephoneBandLowHz = 300.0, kTelephoneBandHighHz = 3400.0;
inline constexpr double kWidebandLowHz = 4600.0, kWidebandHighHz = 7600.0;
// Speech whose energy above the band lies this far under its energy in it was carried by a
// telephone line (docs/voice.md, session 10: clean training files -36.5 dB at the lowest, phone-line
// copies of them -41.2 dB at the highest).
inline constexpr double kTelephoneBandDb = -39.0;

struct SpeechBand {
  double voiced_s = 0.0;  // voice-active time measured (0: no speech, no ratio)
  // 10 log10 of the mean power of the voice-active frames in 4.2-7.6 kHz over that in 0.3-3.4 kHz.
  double above_telephone_db = 0.0;
};
// One pass over a 16 kHz source: each frame's energy (for voice activity, as voice_activity frames
// it) and its power in both bands; the voiced frames' band powers are summed once the voice
// activity of the whole recording is known. Memory: 24 bytes per 10 ms frame.
Result<SpeechBand> speech_band_ratio(AudioSource& source);

}  // namespace unmask::detect
