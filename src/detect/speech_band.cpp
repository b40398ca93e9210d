// How much of the speech's energy lies above the telephone band (speech_band_ratio_db): two passes
// over a 16 kHz recording, voice activity then the mean power spectrum of the voice-active frames.
#include <cmath>

#include "detect/audio_features.h"

namespace unmask::detect {

Result<SpeechBand> speech_band_ratio(AudioSource& source) {
  if (source.sample_rate_hz() != kFeatureRateHz) {
    return Status::internal("speech_band_ratio", "needs a 16 kHz source, got " + std::to_string(source.sample_rate_hz()) + " Hz");
  }
  constexpr int kBlock = 6000;  // 60 s of 10 ms frames
  const VadOptions vo;
  std::vector<double> energy_db;
  auto frames = stream_frames(source, vo.frame_len, vo.hop, kBlock, {}, [&](int64_t, const float* s, int n) {
    for (int t = 0; t < n; ++t) energy_db.push_back(frame_energy_db(s + static_cast<size_t>(t) * vo.hop, vo.frame_len));
    return Status::ok();
  });
  if (!frames.ok()) return frames.status();
  const std::vector<bool> speech = voice_activity_from_energies(energy_db, vo);
  energy_db = {};

  const FrameOptions fo;  // 25 ms frames, 10 ms hop, 512-point DFT: 31.25 Hz bins
  std::vector<double> mean_power(static_cast<size_t>(fo.n_fft / 2 + 1), 0.0);
  int64_t n_voiced = 0;
  auto spectra = stream_frames(source, fo.frame_len, fo.hop, kBlock, {}, [&](int64_t first, const float* s, int n) {
    const FeatureMatrix power = power_spectrogram_frames(s, n, fo);
    for (int t = 0; t < power.n_rows; ++t) {
      if (!speech[static_cast<size_t>(first + t)]) continue;
      ++n_voiced;
      for (int k = 0; k < power.n_cols; ++k) mean_power[static_cast<size_t>(k)] += power.at(t, k);
    }
    return Status::ok();
  });
  if (!spectra.ok()) return spectra.status();

  SpeechBand band;
  band.voiced_s = static_cast<double>(n_voiced) * fo.hop / kFeatureRateHz;
  if (n_voiced == 0) return band;
  const double bin_hz = static_cast<double>(kFeatureRateHz) / fo.n_fft;
  double inside = 0, above = 0;
  for (size_t k = 0; k < mean_power.size(); ++k) {
    const double f = static_cast<double>(k) * bin_hz;
    if (f >= kTelephoneBandLowHz && f <= kTelephoneBandHighHz) inside += mean_power[k];
    if (f >= kWidebandLowHz && f <= kWidebandHighHz) above += mean_power[k];
  }
  band.above_telephone_db = 10 * std::log10((above + 1e-20) / (inside + 1e-20));
  return band;
}

}  // namespace unmask::detect
