// How much of the speech's energy lies above the telephone band (speech_band_ratio): one pass
// over a 16 kHz recording keeps, per 10 ms frame, its energy and its power in the two bands; voice
// activity then picks the frames that count.
#include <cmath>

#include "detect/audio_features.h"

namespace unmask::detect {

Result<SpeechBand> speech_band_ratio(AudioSource& source) {
  if (source.sample_rate_hz() != kFeatureRateHz) {
    return Status::internal("speech_band_ratio", "needs a 16 kHz source, got " + std::to_string(source.sample_rate_hz()) + " Hz");
  }
  // The voice activity's frames and the spectrum's frames are the same 25 ms every 10 ms.
  const VadOptions vo;
  const FrameOptions fo;  // 512-point DFT: 31.25 Hz bins
  static_assert(VadOptions{}.frame_len == FrameOptions{}.frame_len && VadOptions{}.hop == FrameOptions{}.hop);
  const double bin_hz = static_cast<double>(kFeatureRateHz) / fo.n_fft;
  std::vector<double> energy_db, inside, above;
  auto frames = stream_frames(source, fo.frame_len, fo.hop, kStreamBlockFrames, {}, [&](int64_t, const float* s, int n) {
    const FeatureMatrix power = power_spectrogram_frames(s, n, fo);
    for (int t = 0; t < n; ++t) {
      energy_db.push_back(frame_energy_db(s + static_cast<size_t>(t) * vo.hop, vo.frame_len));
      double in = 0, up = 0;
      for (int k = 0; k < power.n_cols; ++k) {
        const double f = k * bin_hz;
        if (f >= kTelephoneBandLowHz && f <= kTelephoneBandHighHz) in += power.at(t, k);
        if (f >= kWidebandLowHz && f <= kWidebandHighHz) up += power.at(t, k);
      }
      inside.push_back(in);
      above.push_back(up);
    }
    return Status::ok();
  });
  if (!frames.ok()) return frames.status();
  const std::vector<bool> speech = voice_activity_from_energies(energy_db, vo);

  SpeechBand band;
  double in = 0, up = 0;
  int64_t n_voiced = 0;
  for (size_t t = 0; t < speech.size(); ++t) {
    if (!speech[t]) continue;
    ++n_voiced;
    in += inside[t];
    up += above[t];
  }
  band.voiced_s = static_cast<double>(n_voiced) * fo.hop / kFeatureRateHz;
  if (n_voiced == 0) return band;
  band.above_telephone_db = 10 * std::log10((up + 1e-20) / (in + 1e-20));
  return band;
}

}  // namespace unmask::detect
