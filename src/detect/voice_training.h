// unmask detect, internal to the voice trainer (voice_train.cpp, voice_channels.cpp,
// voice_ensemble.cpp): the channels and vocoders that make its training copies, and which manifest
// rows it reads. Not part of the detector's interface (voice.h has that).
#pragma once

#include <cstdint>
#include <random>

#include "core/core.h"
#include "learn/learn.h"

namespace unmask::detect::voice_training {

// Manifest files are read up to this length; the rest is not used.
inline constexpr double kMaxFileSeconds = 30.0;

// A copy of `audio` (16 kHz) through a random channel, so that the classifier learns what both
// classes share across channels rather than the channel of each source: a low-pass at 3.4, 5.5
// or 7 kHz (or none) by band-limited resampling down and back up, and white noise 20-45 dB below
// the signal. Applied alike to real and synthetic speech. With `with_codec` (version 2) half the
// copies go through a lossy codec instead; with `telephone` a seventh through a telephone line.
Audio random_channel(const Audio& audio, std::mt19937_64& rng, bool with_codec = false, bool telephone = false);

// Version 2's second resynthesis of every real training file, one of four vocoder families
// (chosen by the caller), so that training sees more than one way a vocoder can get speech wrong:
//   0: a Tacotron2-style mel vocoder input: 22.05 kHz, 1024-point DFT, hop 256, 80 mel bands up
//      to 8 kHz, 0/4/8 Griffin-Lim iterations from a random phase;
//   1: 24 kHz, 1024 / 256, 100 mel bands, the phase of another stretch of the same utterance
//      (1-3 s later), 0/4/8 iterations;
//   2: 16 kHz, 64/80/128 mel bands, random phase with no or 2 iterations;
//   3: an LPC source-filter vocoder with a pulse train (order 16/20/24, noise 5-30 %).
inline constexpr int kVocoderFamilies = 4;
inline constexpr const char* kVocoderFamilyNames[kVocoderFamilies] = {
    "mel 22.05 kHz 1024/256 80 bands to 8 kHz, Griffin-Lim 0/4/8 iterations",
    "mel 24 kHz 1024/256 100 bands, phase of the utterance 1-3 s later, 0/4/8 iterations",
    "mel 16 kHz 512/128 64/80/128 bands, random phase, 0/2 iterations",
    "LPC order 16/20/24 with a pulse train at the frame's F0, noise 5-30 %"};

// One resynthesis of `audio` by vocoder `family`, its settings drawn from `rng` and its random
// phase seeded by `seed`. Same rate and length as the input.
Audio vocoder_variant(const Audio& audio, int family, std::mt19937_64& rng, uint64_t seed);

// Audio rows of either label; video rows only when real (a fake video's manipulation is in its
// pictures: its voice may well be bona fide). Sets `is_video`.
bool voice_row_used(const learn::ManifestItem& item, bool& is_video);

// The espeak-ng clips of a training run: every training voice at three rates and two pitches.
int n_espeak_clips();

}  // namespace unmask::detect::voice_training
