// The channels and vocoders the voice trainer sends its training copies through: a lossy codec
// (FFmpeg's mp3 or AAC encoder and back), a telephone line, a random low-pass and noise, and four
// vocoder families that resynthesise real speech (the copies labelled fake).
#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "detect/audio_features.h"
#include "detect/voice.h"
#include "detect/voice_training.h"
#include "synth/synth.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>
#include <libavutil/mem.h>
}

namespace unmask::detect {

Audio lossy_codec_round_trip(const Audio& audio, const std::string& encoder, int rate_hz, int bitrate) {
  const Audio in = resample(audio, rate_hz);
  const AVCodec* enc = avcodec_find_encoder_by_name(encoder.c_str());
  if (enc == nullptr) return audio;
  AVCodecContext* ec = avcodec_alloc_context3(enc);
  AVCodecContext* dc = nullptr;
  AVFrame* frame = av_frame_alloc();
  AVPacket* pkt = av_packet_alloc();
  std::vector<float> decoded;
  auto cleanup = [&]() {
    avcodec_free_context(&ec);
    avcodec_free_context(&dc);
    av_frame_free(&frame);
    av_packet_free(&pkt);
  };
  AVSampleFormat fmt = AV_SAMPLE_FMT_NONE;
  for (const AVSampleFormat* f = enc->sample_fmts; f && *f != AV_SAMPLE_FMT_NONE; ++f) {
    if (*f == AV_SAMPLE_FMT_FLTP || (*f == AV_SAMPLE_FMT_S16P && fmt != AV_SAMPLE_FMT_FLTP)) fmt = *f;
  }
  if (!ec || !frame || !pkt || fmt == AV_SAMPLE_FMT_NONE) {
    cleanup();
    return audio;
  }
  ec->sample_rate = rate_hz;
  ec->sample_fmt = fmt;
  ec->bit_rate = bitrate;
  av_channel_layout_default(&ec->ch_layout, 1);
  ec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (avcodec_open2(ec, enc, nullptr) < 0) {
    cleanup();
    return audio;
  }
  const AVCodec* dec = avcodec_find_decoder(enc->id);
  dc = dec ? avcodec_alloc_context3(dec) : nullptr;
  if (dc == nullptr) {
    cleanup();
    return audio;
  }
  dc->sample_rate = rate_hz;
  av_channel_layout_default(&dc->ch_layout, 1);
  if (ec->extradata_size > 0) {
    dc->extradata = static_cast<uint8_t*>(av_mallocz(static_cast<size_t>(ec->extradata_size) + AV_INPUT_BUFFER_PADDING_SIZE));
    std::copy(ec->extradata, ec->extradata + ec->extradata_size, dc->extradata);
    dc->extradata_size = ec->extradata_size;
  }
  if (avcodec_open2(dc, dec, nullptr) < 0) {
    cleanup();
    return audio;
  }
  AVFrame* out = av_frame_alloc();
  auto drain_decoder = [&]() {
    while (avcodec_receive_frame(dc, out) >= 0) {
      for (int i = 0; i < out->nb_samples; ++i) {
        float v = 0;
        switch (static_cast<AVSampleFormat>(out->format)) {
          case AV_SAMPLE_FMT_FLTP: case AV_SAMPLE_FMT_FLT: v = reinterpret_cast<const float*>(out->data[0])[i]; break;
          case AV_SAMPLE_FMT_S16P: case AV_SAMPLE_FMT_S16: v = reinterpret_cast<const int16_t*>(out->data[0])[i] / 32768.0f; break;
          case AV_SAMPLE_FMT_S32P: case AV_SAMPLE_FMT_S32: v = static_cast<float>(reinterpret_cast<const int32_t*>(out->data[0])[i] / 2147483648.0); break;
          default: break;
        }
        decoded.push_back(v);
      }
    }
  };
  auto drain_encoder = [&]() {
    while (avcodec_receive_packet(ec, pkt) >= 0) {
      if (avcodec_send_packet(dc, pkt) >= 0) drain_decoder();
      av_packet_unref(pkt);
    }
  };
  const int frame_size = ec->frame_size > 0 ? ec->frame_size : 1024;
  bool ok = true;
  for (size_t pos = 0; pos < in.samples.size() && ok; pos += static_cast<size_t>(frame_size)) {
    const int n = static_cast<int>(std::min<size_t>(static_cast<size_t>(frame_size), in.samples.size() - pos));
    frame->nb_samples = n;
    frame->format = fmt;
    frame->sample_rate = rate_hz;
    av_channel_layout_copy(&frame->ch_layout, &ec->ch_layout);
    if (av_frame_get_buffer(frame, 0) < 0) { ok = false; break; }
    for (int i = 0; i < n; ++i) {
      const float v = std::clamp(in.samples[pos + static_cast<size_t>(i)], -1.0f, 1.0f);
      if (fmt == AV_SAMPLE_FMT_FLTP) reinterpret_cast<float*>(frame->data[0])[i] = v;
      else reinterpret_cast<int16_t*>(frame->data[0])[i] = static_cast<int16_t>(std::lround(v * 32767.0f));
    }
    ok = avcodec_send_frame(ec, frame) >= 0;
    av_frame_unref(frame);
    if (ok) drain_encoder();
  }
  avcodec_send_frame(ec, nullptr);
  drain_encoder();
  avcodec_send_packet(dc, nullptr);
  drain_decoder();
  av_frame_free(&out);
  cleanup();
  if (!ok || decoded.size() < in.samples.size() / 2) return audio;
  // The codec's priming delay: line the output up with the input by the lag of best correlation
  // over the first 4096 samples' worth of lags (the delay is a few thousand samples at most).
  Audio coded;
  coded.sample_rate_hz = rate_hz;
  size_t best_lag = 0;
  double best = -1e300;
  const size_t probe = std::min<size_t>(in.samples.size(), static_cast<size_t>(rate_hz) * 2);
  for (size_t lag = 0; lag < 4096 && lag + probe <= decoded.size(); lag += 1) {
    double c = 0;
    for (size_t i = 0; i < probe; i += 4) c += double(in.samples[i]) * decoded[i + lag];
    if (c > best) { best = c; best_lag = lag; }
  }
  coded.samples.assign(decoded.begin() + static_cast<std::ptrdiff_t>(best_lag), decoded.end());
  coded.samples.resize(in.samples.size(), 0.0f);
  Audio back = resample(coded, audio.sample_rate_hz);
  back.samples.resize(audio.samples.size(), 0.0f);
  return back;
}

Audio telephone_round_trip(const Audio& audio) {
  if (audio.samples.empty()) return audio;
  constexpr double kMu = 255.0;
  Audio line = resample(audio, 8000);
  for (float& v : line.samples) {
    const double x = std::clamp(static_cast<double>(v), -1.0, 1.0);
    const double y = std::copysign(std::log1p(kMu * std::abs(x)) / std::log1p(kMu), x);
    const double q = std::round(y * 127.0) / 127.0;  // 8 bits: sign + 7-bit magnitude code
    v = static_cast<float>(std::copysign((std::pow(1.0 + kMu, std::abs(q)) - 1.0) / kMu, q));
  }
  Audio out = resample(line, audio.sample_rate_hz);
  out.samples.resize(audio.samples.size(), 0.0f);
  return out;
}

namespace voice_training {

Audio random_channel(const Audio& audio, std::mt19937_64& rng, bool with_codec, bool telephone) {
  Audio out = audio;
  if (with_codec) {
    // Version 2: half the copies go through a lossy codec first (mp3 at 32-96 kbit/s at 16, 22.05
    // or 24 kHz, or AAC at 32-96 kbit/s), real and synthetic alike, so the codec is not the cue.
    // With `telephone`, a seventh of them go through a telephone line instead (pick 6).
    const int pick = std::uniform_int_distribution<int>(0, telephone ? 6 : 5)(rng);
    const int kbps = std::array{32, 48, 64, 96}[std::uniform_int_distribution<int>(0, 3)(rng)];
    if (pick == 6) return telephone_round_trip(audio);
    if (pick <= 1) out = lossy_codec_round_trip(audio, "libmp3lame", std::array{16000, 22050, 24000}[pick + (kbps > 48)], kbps * 1000);
    else if (pick == 2) out = lossy_codec_round_trip(audio, "aac", 16000, kbps * 1000);
    if (pick <= 2) return out;  // coded copies skip the low-pass and noise
  }
  const int rates[] = {0, 6800, 11025, 14000};
  const int rate = rates[std::uniform_int_distribution<int>(0, 3)(rng)];
  if (rate > 0) {
    out = resample(resample(audio, rate), audio.sample_rate_hz);
    out.samples.resize(audio.samples.size(), 0.0f);
  }
  double e = 0;
  for (float v : out.samples) e += double(v) * v;
  const double rms = std::sqrt(e / std::max<size_t>(1, out.samples.size()));
  const double snr_db = std::uniform_real_distribution<double>(20.0, 45.0)(rng);
  std::normal_distribution<double> noise(0.0, rms * std::pow(10.0, -snr_db / 20.0));
  for (float& v : out.samples) v = static_cast<float>(v + noise(rng));
  return out;
}

Audio vocoder_variant(const Audio& audio, int family, std::mt19937_64& rng, uint64_t seed) {
  auto pick = [&](auto... values) {
    const std::array<int, sizeof...(values)> a{values...};
    return a[std::uniform_int_distribution<size_t>(0, a.size() - 1)(rng)];
  };
  VocoderOptions o;
  o.seed = seed;
  int rate = audio.sample_rate_hz;
  switch (family) {
    case 0:
      rate = 22050;
      o.n_fft = 1024;
      o.hop = 256;
      o.n_mels = 80;
      o.f_max_hz = 8000;
      o.n_iterations = pick(0, 4, 8);
      break;
    case 1:
      rate = 24000;
      o.n_fft = 1024;
      o.hop = 256;
      o.n_mels = 100;
      o.donor_phase_shift_s = pick(1, 2, 3);
      o.n_iterations = pick(0, 4, 8);
      break;
    case 2:
      o.n_mels = pick(64, 80, 128);
      o.n_iterations = pick(0, 2);
      break;
    default: {
      const int order = pick(16, 20, 24);
      const double noise = std::uniform_real_distribution<double>(0.05, 0.3)(rng);
      return lpc_resynthesis(audio, order, noise, seed);
    }
  }
  Audio out = resample(mel_vocoder_resynthesis(resample(audio, rate), o), audio.sample_rate_hz);
  out.samples.resize(audio.samples.size(), 0.0f);
  return out;
}

}  // namespace voice_training

}  // namespace unmask::detect
