#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include "detect/detect.h"
#include "support/face_fixtures.h"

namespace unmask::detect {
namespace {

constexpr double kFps = 25.0;

// Syllable-like activity: smooth bumps at random times (3-6 per second), 0..1.
std::vector<double> syllables(int n_frames, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> x(static_cast<size_t>(n_frames), 0.0);
  for (int t = 0; t < n_frames;) {
    const int width = 3 + static_cast<int>(u(rng) * 5);
    const double height = 0.4 + 0.6 * u(rng);
    for (int k = 0; k < width && t + k < n_frames; ++k) x[static_cast<size_t>(t + k)] += height * std::sin(M_PI * (k + 0.5) / width);
    t += width + static_cast<int>(u(rng) * 6);
  }
  return x;
}

// Speech-like activity: syllables in phrases of 1-2 s with pauses of 0.5-1 s between them (a
// speaker breathes; score_lipsync refuses sound that never pauses).
std::vector<bool> phrases(int n_frames, uint32_t seed);
std::vector<double> spoken(int n_frames, uint32_t seed) {
  auto act = syllables(n_frames, seed);
  const auto on = phrases(n_frames, seed + 1000);
  for (size_t t = 0; t < act.size(); ++t) act[t] *= on[t] ? 1.0 : 0.0;
  return act;
}

// Envelope in dB of the same activity, delayed by `lag` frames, with noise.
std::vector<double> envelope_of(const std::vector<double>& act, int lag, double noise_db, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0, noise_db);
  std::vector<double> e(act.size());
  for (size_t t = 0; t < act.size(); ++t) {
    const int src = static_cast<int>(t) - lag;
    const double a = (src >= 0 && src < static_cast<int>(act.size())) ? act[static_cast<size_t>(src)] : 0.0;
    e[t] = 20 * std::log10(0.01 + a) + n(rng);
  }
  return e;
}

TEST(AvOffset, RecoversAKnownShift) {
  const auto act = syllables(250, 1);  // 10 s
  std::vector<double> mouth(act.size());
  std::mt19937 rng(2);
  std::normal_distribution<double> jitter(0, 0.02);
  for (size_t t = 0; t < act.size(); ++t) mouth[t] = 0.05 + 0.3 * act[t] + jitter(rng);
  for (int lag : {0, 8, -5, 13}) {
    auto o = estimate_av_offset(mouth, envelope_of(act, lag, 2.0, 3), kFps);
    ASSERT_TRUE(o.ok()) << o.status().message();
    EXPECT_NEAR(o->offset_ms, lag * 40, 40) << "lag " << lag;
    EXPECT_GT(o->correlation, 0.5);
    EXPECT_GT(o->confidence, 0.4);
  }
}

TEST(AvOffset, ShiftedAudioScoresHigherThanAligned) {
  const auto act = syllables(250, 4);
  std::vector<double> mouth(act.begin(), act.end());
  auto aligned = estimate_av_offset(mouth, envelope_of(act, 0, 2.0, 5), kFps);
  auto shifted = estimate_av_offset(mouth, envelope_of(act, 13, 2.0, 5), kFps);  // 520 ms
  auto other = estimate_av_offset(mouth, envelope_of(syllables(250, 99), 0, 2.0, 5), kFps);  // other speech
  ASSERT_TRUE(aligned.ok() && shifted.ok() && other.ok());
  // What score_lipsync adds: the correlation inside the speech (here every frame is speech).
  const std::vector<bool> all(act.size(), true);
  aligned->speech_correlation = speech_correlation(mouth, envelope_of(act, 0, 2.0, 5), all, kFps);
  shifted->speech_correlation = speech_correlation(mouth, envelope_of(act, 13, 2.0, 5), all, kFps);
  other->speech_correlation = speech_correlation(mouth, envelope_of(syllables(250, 99), 0, 2.0, 5), all, kFps);
  EXPECT_GT(aligned->speech_correlation, 0.5);
  EXPECT_LT(shifted->speech_correlation, 0.3);
  EXPECT_LT(lipsync_mismatch_score(*aligned), 0.2);
  EXPECT_GT(lipsync_mismatch_score(*shifted), 0.7);
  EXPECT_GT(lipsync_mismatch_score(*other), 0.5);
}

TEST(AvOffset, NothingToJudgeIsAnInputErrorNotAGuess) {
  const std::vector<double> still(250, 0.1);
  const auto act = syllables(250, 6);
  EXPECT_EQ(estimate_av_offset(still, envelope_of(act, 0, 1.0, 7), kFps).status().code(), StatusCode::kInput);
  const std::vector<double> silence(250, -80.0);
  EXPECT_EQ(estimate_av_offset(act, silence, kFps).status().code(), StatusCode::kInput);
  const auto short_act = syllables(30, 8);  // 1.2 s
  EXPECT_EQ(estimate_av_offset(short_act, envelope_of(short_act, 0, 1.0, 9), kFps).status().code(), StatusCode::kInput);
}

TEST(Signals, MouthOpeningIsScaleFreeAndEnvelopeTracksLoudness) {
  face::Landmarks lm{};
  lm[36] = {100, 100};
  lm[45] = {160, 100};
  lm[61] = {120, 150}; lm[67] = {120, 162};
  lm[62] = {130, 150}; lm[66] = {130, 162};
  lm[63] = {140, 150}; lm[65] = {140, 162};
  face::Landmarks big = lm;
  for (auto& p : big) { p.x *= 2; p.y *= 2; }
  const auto open = mouth_opening({lm, big, std::nullopt});
  ASSERT_EQ(open.size(), 3u);
  EXPECT_NEAR(open[0], 12.0 / 60.0, 1e-9);
  EXPECT_NEAR(open[1], open[0], 1e-9);
  EXPECT_TRUE(std::isnan(open[2]));

  Audio a;
  a.sample_rate_hz = 16000;
  a.samples.assign(16000, 0.0f);
  for (size_t i = 8000; i < 16000; ++i) a.samples[i] = 0.5f * static_cast<float>(std::sin(i * 0.3));
  const auto env = speech_envelope(a, kFps);
  ASSERT_EQ(env.size(), 25u);
  EXPECT_LE(env[2], -79.0);
  EXPECT_NEAR(env[20], 20 * std::log10(0.5 / std::sqrt(2.0)), 0.5);
}


// A talking head without pixels: the 68 landmarks dlib ships annotated for a Debian face photo,
// with the inner lips opened by `act` (0..1 per frame), and audio whose voiced-band loudness
// follows the same activity delayed by `shift_s`: a 150 Hz buzz with harmonics to 6 kHz.
std::vector<std::optional<face::Landmarks>> talking_landmarks(const std::vector<double>& act) {
  face::Landmarks base{};
  bool found = false;
  for (const auto& photo : testing::debian_annotated_faces()) {
    for (const auto& f : photo.faces) {
      if (f.landmarks.size() != 68 || found) continue;
      for (size_t i = 0; i < 68; ++i) base[i] = {f.landmarks[i].first, f.landmarks[i].second};
      found = true;
    }
  }
  if (!found) {  // dlib's XML not installed: a plain synthetic face of the same layout
    for (int i = 0; i < 68; ++i) base[i] = {100.0 + 2 * i, 100.0 + (i % 7)};
    base[36] = {100, 100};
    base[45] = {160, 100};
    for (int i = 60; i < 68; ++i) base[i] = {115.0 + 30 * std::cos(M_PI * (i - 60) / 4), 150.0 + 4 * std::sin(M_PI * (i - 60) / 4)};
  }
  // At the size of a talking head in the calibration (eye corners 60 px apart; the Debian photo's
  // face is smaller than lip-sync reads: rule 7).
  const double k = 60.0 / std::hypot(base[45].x - base[36].x, base[45].y - base[36].y);
  for (auto& p : base) p = {base[36].x + k * (p.x - base[36].x), base[36].y + k * (p.y - base[36].y)};
  const double eyes = std::hypot(base[45].x - base[36].x, base[45].y - base[36].y);
  std::vector<std::optional<face::Landmarks>> out;
  std::mt19937 rng(11);
  std::normal_distribution<double> jitter(0, 0.004 * eyes);
  for (double a : act) {
    face::Landmarks lm = base;
    for (int i : {61, 62, 63}) lm[i].y -= 0.12 * eyes * a;
    for (int i : {65, 66, 67}) lm[i].y += 0.12 * eyes * a;
    for (auto& p : lm) { p.x += jitter(rng); p.y += jitter(rng); }
    out.push_back(lm);
  }
  return out;
}

Audio voiced_audio(const std::vector<double>& act, double shift_s, uint32_t seed) {
  Audio a;
  a.sample_rate_hz = 16000;
  a.samples.assign(static_cast<size_t>(act.size() / kFps * 16000), 0.0f);
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, 0.002);
  for (size_t i = 0; i < a.samples.size(); ++i) {
    const double t = i / 16000.0 - shift_s;
    const double pos = t * kFps;
    double level = 0;
    if (pos >= 0 && pos < act.size() - 1) {
      const auto k = static_cast<size_t>(pos);
      level = act[k] + (pos - k) * (act[k + 1] - act[k]);
    }
    double v = 0;
    for (int h = 1; h * 150 <= 6000; ++h) v += std::sin(2 * M_PI * 150 * h * i / 16000.0) / h;
    a.samples[i] = static_cast<float>(0.2 * level * v + noise(rng));
  }
  return a;
}

TEST(ScoreLipsync, AudioShiftedByHalfASecondScoresHigherThanAligned) {
  const auto act = spoken(300, 21);  // 12 s at 25 fps
  const auto lms = talking_landmarks(act);
  auto aligned = score_lipsync(lms, kFps, voiced_audio(act, 0.0, 1));
  auto shifted = score_lipsync(lms, kFps, voiced_audio(act, 0.5, 1));
  auto other = score_lipsync(lms, kFps, voiced_audio(spoken(300, 77), 0.0, 1));
  ASSERT_TRUE(aligned.ok() && shifted.ok() && other.ok());
  ASSERT_TRUE(aligned->score && shifted->score && other->score) << aligned->note << shifted->note << other->note;
  EXPECT_NEAR(aligned->offset.offset_ms, 0, 40);
  EXPECT_NEAR(shifted->offset.offset_ms, 500, 40);
  EXPECT_GT(*shifted->score, *aligned->score + 0.3);
  EXPECT_GT(*other->score, *aligned->score + 0.3);
  EXPECT_LT(*aligned->score, 0.3);
  EXPECT_GT(*shifted->score, 0.7);
}

TEST(ScoreLipsync, NothingToJudgeGivesNoScore) {
  const auto act = syllables(200, 22);
  const auto lms = talking_landmarks(act);
  Audio silence;
  silence.sample_rate_hz = 16000;
  silence.samples.assign(8 * 16000, 0.0f);
  auto r = score_lipsync(lms, kFps, silence);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->score.has_value());
  EXPECT_FALSE(r->note.empty());
  // No face at all.
  std::vector<std::optional<face::Landmarks>> none(200);
  r = score_lipsync(none, kFps, voiced_audio(act, 0.0, 2));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->score.has_value());
  EXPECT_EQ(score_lipsync(lms, 0.0, silence).status().code(), StatusCode::kUsage);
}

TEST(Signals, BandEnvelopeIgnoresRumbleAndHiss) {
  Audio a;
  a.sample_rate_hz = 16000;
  a.samples.assign(3 * 16000, 0.0f);
  for (size_t i = 0; i < a.samples.size(); ++i) {
    const double t = i / 16000.0;
    if (t < 1.0) a.samples[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 60 * t));         // rumble
    else if (t < 2.0) a.samples[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 2500 * t));  // in the band
    else a.samples[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 7800 * t));               // above it
  }
  const auto env = band_envelope(a, kFps);
  ASSERT_EQ(env.size(), 75u);
  EXPECT_GT(env[37], env[12] + 30.0);
  EXPECT_GT(env[37], env[62] + 30.0);
  EXPECT_NEAR(env[37], 0.0, 6.0);  // a sine of amplitude 0.5 in the band reads roughly 0 dB
}

// Phrases of 1-2 s separated by 0.5-1 s pauses; inside each phrase the syllables of `act`.
std::vector<bool> phrases(int n_frames, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> talk(25, 50), pause(12, 25);
  std::vector<bool> on(static_cast<size_t>(n_frames), false);
  for (int t = pause(rng); t < n_frames;) {
    const int len = talk(rng);
    for (int k = 0; k < len && t + k < n_frames; ++k) on[static_cast<size_t>(t + k)] = true;
    t += len + pause(rng);
  }
  return on;
}

TEST(SpeechCorrelation, ADubInTheSameSpeechStretchesIsToldApart) {
  // A dub puts other syllables in the original's speech stretches: mouth and voice still start and
  // stop together, only the syllables inside disagree. The correlation over the whole clip still
  // sees the stretches; the one inside the speech does not.
  const int n = 500;  // 20 s
  const auto on = phrases(n, 3);
  const auto own = syllables(n, 31), other = syllables(n, 32);
  std::vector<double> mouth(n), aligned_act(n), dub_act(n);
  for (int t = 0; t < n; ++t) {
    aligned_act[t] = on[t] ? 0.3 + own[t] : 0.0;
    dub_act[t] = on[t] ? 0.3 + other[t] : 0.0;
    mouth[t] = 0.05 + 0.3 * aligned_act[t];
  }
  const auto aligned_env = envelope_of(aligned_act, 0, 1.0, 7);
  const auto dub_env = envelope_of(dub_act, 0, 1.0, 7);
  const double c_aligned = speech_correlation(mouth, aligned_env, on, kFps);
  const double c_dub = speech_correlation(mouth, dub_env, on, kFps);
  EXPECT_GT(c_aligned, 0.6);
  EXPECT_LT(c_dub, 0.3);
  EXPECT_GT(c_aligned, c_dub + 0.4);
  // The whole-clip estimator finds the dub's stretches in place (positive correlation near 0).
  auto whole = estimate_av_offset(mouth, dub_env, kFps);
  ASSERT_TRUE(whole.ok());
  EXPECT_GT(whole->aligned_correlation, c_dub);
  // Under 1 s of speech, or nothing varying: 0, not a guess.
  EXPECT_EQ(speech_correlation(mouth, aligned_env, std::vector<bool>(n, false), kFps), 0.0);
  EXPECT_EQ(speech_correlation(std::vector<double>(n, 0.1), aligned_env, on, kFps), 0.0);
}

TEST(Signals, MouthAreaAndSpeakingTrack) {
  face::Landmarks lm{};
  lm[36] = {0, 0};
  lm[45] = {10, 0};
  // Inner lips as a 4 x 2 rectangle traced through 60..67.
  const double xs[8] = {0, 1, 2, 4, 4, 2, 1, 0}, ys[8] = {0, -1, -1, -1, 1, 1, 1, 0};
  for (int i = 0; i < 8; ++i) lm[60 + i] = {xs[i], ys[i]};
  const auto area = mouth_area({lm, std::nullopt});
  EXPECT_NEAR(area[0], (8.0 - 0.5 - 0.5) / 100.0, 1e-9);  // the polygon, over 10^2
  EXPECT_TRUE(std::isnan(area[1]));
  const auto act = syllables(100, 5);
  const auto talking = talking_landmarks(act);
  const auto still = talking_landmarks(std::vector<double>(100, 0.1));
  EXPECT_EQ(speaking_track({still, talking}, kFps), 1u);
  EXPECT_EQ(speaking_track({talking, still}, kFps), 0u);
  EXPECT_EQ(speaking_track({std::vector<std::optional<face::Landmarks>>(100)}, kFps), 1u);  // none: size()
}

// The rules for when lip-sync judges (docs/lipsync.md): nothing to judge is not evidence.

TEST(LipsyncRules, AStillMouthAgainstSpeechAbstains) {
  // Landmark jitter only: the mouth does not open while the voice speaks (a photo, a listener).
  const auto act = spoken(300, 41);
  const auto still = talking_landmarks(std::vector<double>(300, 0.1));
  auto r = score_lipsync(still, kFps, voiced_audio(act, 0.0, 3));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->score.has_value()) << *r->score;
  EXPECT_NE(r->note.find("barely moves"), std::string::npos) << r->note;
  EXPECT_GT(r->speech_s, kLipsyncMinSpeechSeconds);
  EXPECT_LT(r->mouth_motion, kLipsyncMinMouthMotion);
  // The same voice with the mouth that speaks it is judged, and judged in sync.
  auto talking = score_lipsync(talking_landmarks(act), kFps, voiced_audio(act, 0.0, 3));
  ASSERT_TRUE(talking.ok() && talking->score) << talking->note;
  EXPECT_GT(talking->mouth_motion, kLipsyncMinMouthMotion);
  EXPECT_LT(*talking->score, 0.3);
}

// The same landmarks scaled about the first eye corner so that the eye corners are `eyes_px` apart.
std::vector<std::optional<face::Landmarks>> scaled_to(std::vector<std::optional<face::Landmarks>> lms, double eyes_px) {
  const face::Landmarks& first = *lms.front();
  const face::Point2 o = first[36];
  const double k = eyes_px / std::hypot(first[45].x - o.x, first[45].y - o.y);
  for (auto& lm : lms) {
    for (auto& p : *lm) p = {o.x + k * (p.x - o.x), o.y + k * (p.y - o.y)};
  }
  return lms;
}

TEST(LipsyncRules, AFaceTooSmallToReadTheLipsAbstains) {
  const auto act = spoken(300, 43);
  const auto audio = voiced_audio(act, 0.0, 5);
  const auto talking = talking_landmarks(act);
  auto small = score_lipsync(scaled_to(talking, 20.0), kFps, audio);
  ASSERT_TRUE(small.ok());
  EXPECT_FALSE(small->score.has_value()) << *small->score;
  EXPECT_NE(small->note.find("too small to read the lips (eye corners 20 px apart"), std::string::npos) << small->note;
  EXPECT_NEAR(median_eye_corner_px(scaled_to(talking, 20.0)), 20.0, 0.5);
  // The same face a little larger than the threshold is judged, and judged in sync.
  auto large = score_lipsync(scaled_to(talking, 1.2 * kLipsyncMinEyeCornerPx), kFps, audio);
  ASSERT_TRUE(large.ok() && large->score) << large->note;
  EXPECT_LT(*large->score, 0.3);
  // The rule alone: unknown (0) or large enough gives nothing; under the threshold a note.
  EXPECT_FALSE(lipsync_face_too_small(0.0).has_value());
  EXPECT_FALSE(lipsync_face_too_small(kLipsyncMinEyeCornerPx).has_value());
  ASSERT_TRUE(lipsync_face_too_small(kLipsyncMinEyeCornerPx - 0.5).has_value());
  EXPECT_FALSE(lipsync_face_too_small(kLipsyncMinEyeCornerPx - 0.5)->score.has_value());
  EXPECT_EQ(median_eye_corner_px(std::vector<std::optional<face::Landmarks>>(5)), 0.0);
}

TEST(LipsyncRules, TooLittleSpeechAbstains) {
  // 12 s of a talking face, but the voice speaks for 1 s only.
  const auto act = syllables(300, 42);
  std::vector<double> short_speech(act);
  for (size_t t = 25; t < short_speech.size(); ++t) short_speech[t] = 0.0;
  auto r = score_lipsync(talking_landmarks(act), kFps, voiced_audio(short_speech, 0.0, 4));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->score.has_value());
  EXPECT_LT(r->speech_s, kLipsyncMinSpeechSeconds);
  EXPECT_NE(r->note.find("speech with the face"), std::string::npos) << r->note;
}

// Music-like sound: held chords of three tones (harmonics into the 1-7 kHz band), one every second,
// cross-faded, no pauses; quiet for the first 2 s.
Audio chords(double seconds, uint32_t seed) {
  Audio a;
  a.sample_rate_hz = 16000;
  a.samples.assign(static_cast<size_t>(seconds * 16000), 0.0f);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> pitch(200, 500);
  std::normal_distribution<double> noise(0, 0.002);
  const int n_chords = static_cast<int>(seconds) + 1;
  std::vector<std::array<double, 3>> f(static_cast<size_t>(n_chords));
  for (auto& c : f) c = {pitch(rng), pitch(rng), pitch(rng)};
  for (size_t i = 0; i < a.samples.size(); ++i) {
    const double t = i / 16000.0;
    double v = 0;
    if (t >= 2.0) {
      const auto k = static_cast<size_t>(t);
      const double w = std::clamp((t - k - 0.9) / 0.1, 0.0, 1.0);  // 100 ms cross-fade into the next chord
      for (int j = 0; j < 3; ++j) {
        for (int h = 1; h <= 12; ++h) {
          v += (1 - w) * std::sin(2 * M_PI * f[k][j] * h * t) / h + w * std::sin(2 * M_PI * f[k + 1][j] * h * t) / h;
        }
      }
    }
    a.samples[i] = static_cast<float>(0.05 * v + noise(rng));
  }
  return a;
}

TEST(LipsyncRules, MusicLikeSoundAbstains) {
  const auto act = spoken(300, 43);  // a mouth that moves, over 10 s of held chords
  auto r = score_lipsync(talking_landmarks(act), kFps, chords(12.0, 5));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->score.has_value()) << *r->score;
  EXPECT_NE(r->note.find("like speech"), std::string::npos) << r->note;
  // Silence: no score either (the estimator finds no varying sound).
  Audio silence;
  silence.sample_rate_hz = 16000;
  silence.samples.assign(12 * 16000, 0.0f);
  r = score_lipsync(talking_landmarks(act), kFps, silence);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->score.has_value());
}

TEST(LipsyncRules, SoundWithASteadyBeatAbstains) {
  // A mouth that moves as in speech, over a pulse at 120 beats a minute (a drum-led song).
  const auto act = spoken(300, 46);
  std::vector<double> beat(300, 0.0);
  for (size_t t = 0; t < beat.size(); ++t) {
    const double phase = std::fmod(t / kFps, 0.5) / 0.5;
    beat[t] = phase < 0.2 ? std::sin(M_PI * phase / 0.2) : 0.0;
  }
  const auto music = lipsync_audio(voiced_audio(beat, 0.0, 7));
  EXPECT_GT(lipsync_beat_strength(music), kLipsyncMaxBeatStrength);
  auto r = score_lipsync(talking_landmarks(act), kFps, music);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->score.has_value()) << *r->score;
  EXPECT_NE(r->note.find("steady beat"), std::string::npos) << r->note;
  // Speech with pauses has no steady beat, and is judged.
  const auto speech = lipsync_audio(voiced_audio(act, 0.0, 7));
  EXPECT_LT(lipsync_beat_strength(speech), kLipsyncMaxBeatStrength);
  auto s = score_lipsync(talking_landmarks(act), kFps, speech);
  ASSERT_TRUE(s.ok() && s->score) << s->note;
  EXPECT_LT(*s->score, 0.3);
  // Too short to tell a tempo: 0.
  EXPECT_EQ(lipsync_beat_strength(lipsync_audio(voiced_audio(std::vector<double>(50, 0.5), 0.0, 8))), 0.0);
}

TEST(LipsyncRules, TwoFacesAreJudgedByTheOneThatMatchesTheVoice) {
  // The speaker's mouth follows the voice; a second face (a listener, someone reacting) moves its
  // mouth more, to other syllables. The mouth that moves most is the second one, but the voice
  // belongs to the first: lips and voice do belong together.
  const auto act = spoken(300, 44);
  const auto other = syllables(300, 45);  // moving on and on, not in the voice's phrases
  const auto speaker = talking_landmarks(act);
  std::vector<double> big(other);
  for (double& v : big) v *= 2.0;
  const auto listener = talking_landmarks(big);
  ASSERT_EQ(speaking_track({speaker, listener}, kFps), 1u);  // what the old rule judged
  const auto sound = lipsync_audio(voiced_audio(act, 0.0, 6));
  auto alone = score_lipsync(listener, kFps, sound);
  ASSERT_TRUE(alone.ok() && alone->score) << alone->note;
  EXPECT_GT(*alone->score, 0.5);  // the listener's mouth alone does not match the voice
  for (const auto& order : {std::vector<size_t>{0, 1}, std::vector<size_t>{1, 0}}) {
    std::vector<std::vector<double>> openings;
    for (size_t k : order) openings.push_back(mouth_opening(k == 0 ? speaker : listener));
    auto r = score_lipsync_tracks(openings, kFps, sound);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->estimate.score) << r->estimate.note;
    EXPECT_EQ(order[r->track], 0u);
    EXPECT_LT(*r->estimate.score, 0.3);
  }
  // And when the voice belongs to neither face, the best match still mismatches.
  const auto stranger = lipsync_audio(voiced_audio(spoken(300, 46), 0.0, 7));
  auto r = score_lipsync_tracks({mouth_opening(speaker), mouth_opening(listener)}, kFps, stranger);
  ASSERT_TRUE(r.ok() && r->estimate.score) << r->estimate.note;
  EXPECT_GT(*r->estimate.score, 0.5);
  EXPECT_EQ(score_lipsync_tracks({}, kFps, stranger)->estimate.score, std::nullopt);
}

}  // namespace
}  // namespace unmask::detect
