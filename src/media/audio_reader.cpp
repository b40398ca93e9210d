// AudioReader and read_audio(): decode any audio stream to mono float PCM at a chosen rate through
// libswresample. Streaming: the reader holds at most one decoded frame and the resampler's delay.
#include "media/ffmpeg_util.h"
#include "media/media.h"

namespace unmask::media {
namespace {

using namespace detail;

class FfmpegAudioReader final : public AudioReader {
 public:
  FfmpegAudioReader(std::string path, int rate_hz) : path_(std::move(path)), rate_hz_(rate_hz) {}

  Status init() {
    if (rate_hz_ < 1000 || rate_hz_ > 384000) {
      return Status::usage("sample rate", std::to_string(rate_hz_) + " Hz is out of range");
    }
    auto fmt = open_input(path_, StreamsWanted::audio);
    if (!fmt.ok()) return fmt.status();
    fmt_ = std::move(fmt.value());
    auto info = describe(path_, fmt_.get());
    if (!info.ok()) return info.status();
    info_ = std::move(info.value());
    if (!info_.audio) return Status::input(path_, "has no audio stream");
    stream_index_ = av_find_best_stream(fmt_.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    for (unsigned i = 0; i < fmt_->nb_streams; ++i) {
      if (static_cast<int>(i) != stream_index_) fmt_->streams[i]->discard = AVDISCARD_ALL;
    }
    auto decoder = open_decoder(path_, fmt_.get(), stream_index_, 1);
    if (!decoder.ok()) return decoder.status();
    decoder_ = std::move(decoder.value());
    packet_ = make_packet();
    decoded_ = make_frame();
    return Status::ok();
  }

  Result<size_t> read(std::vector<float>& out, size_t max_samples) override {
    size_t appended = 0;
    while (appended < max_samples) {
      if (pending_pos_ < pending_.size()) {
        const size_t take = std::min(max_samples - appended, pending_.size() - pending_pos_);
        out.insert(out.end(), pending_.begin() + static_cast<long>(pending_pos_),
                   pending_.begin() + static_cast<long>(pending_pos_ + take));
        pending_pos_ += take;
        appended += take;
        continue;
      }
      pending_.clear();
      pending_pos_ = 0;
      if (finished_) break;
      UNMASK_RETURN_IF_ERROR(refill());
    }
    return appended;
  }

  int sample_rate_hz() const override { return rate_hz_; }
  const MediaInfo& info() const override { return info_; }

 private:
  // Decodes the next frame (or drains the resampler at the end) into pending_.
  Status refill() {
    while (true) {
      const int r = avcodec_receive_frame(decoder_.get(), decoded_.get());
      if (r == 0) {
        n_frames_decoded_++;
        return resample(decoded_.get());
      }
      if (r == AVERROR_EOF) {
        if (swr_) UNMASK_RETURN_IF_ERROR(resample(nullptr));
        finished_ = true;
        if (n_frames_decoded_ == 0) return Status::input(path_, "no audio could be decoded");
        return Status::ok();
      }
      if (r != AVERROR(EAGAIN)) {
        if (++n_errors_ > 64 && n_frames_decoded_ == 0) {
          return Status::input(path_, "audio cannot be decoded (" + av_error_text(r) + ")");
        }
        continue;
      }
      if (flushing_) {
        finished_ = true;
        return Status::ok();
      }
      const int rr = av_read_frame(fmt_.get(), packet_.get());
      if (rr < 0) {
        flushing_ = true;
        avcodec_send_packet(decoder_.get(), nullptr);
        continue;
      }
      if (packet_->stream_index == stream_index_) {
        if (avcodec_send_packet(decoder_.get(), packet_.get()) < 0) ++n_errors_;
      }
      av_packet_unref(packet_.get());
    }
  }

  Status ensure_resampler(const AVFrame* frame) {
    if (swr_ && frame->sample_rate == swr_in_rate_ && frame->format == swr_in_format_ &&
        frame->ch_layout.nb_channels == swr_in_channels_) {
      return Status::ok();
    }
    if (swr_) UNMASK_RETURN_IF_ERROR(resample(nullptr));  // drain the old one
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    AVChannelLayout in_layout{};
    if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || frame->ch_layout.nb_channels <= 0) {
      av_channel_layout_default(&in_layout, std::max(1, frame->ch_layout.nb_channels));
    } else {
      av_channel_layout_copy(&in_layout, &frame->ch_layout);
    }
    SwrContext* raw = nullptr;
    int err = swr_alloc_set_opts2(&raw, &mono, AV_SAMPLE_FMT_FLT, rate_hz_, &in_layout,
                                  static_cast<AVSampleFormat>(frame->format), frame->sample_rate, 0,
                                  nullptr);
    av_channel_layout_uninit(&in_layout);
    swr_.reset(raw);
    if (err < 0 || swr_init(swr_.get()) < 0) {
      swr_.reset();
      return Status::input(path_, "cannot resample this audio");
    }
    swr_in_rate_ = frame->sample_rate;
    swr_in_format_ = frame->format;
    swr_in_channels_ = frame->ch_layout.nb_channels;
    return Status::ok();
  }

  // Resamples `frame` (nullptr drains) and appends to pending_.
  Status resample(const AVFrame* frame) {
    if (frame != nullptr) UNMASK_RETURN_IF_ERROR(ensure_resampler(frame));
    if (!swr_) return Status::ok();
    const int in_samples = frame != nullptr ? frame->nb_samples : 0;
    const int capacity = swr_get_out_samples(swr_.get(), in_samples) + 16;
    const size_t old = pending_.size();
    pending_.resize(old + static_cast<size_t>(capacity));
    uint8_t* out_planes[1] = {reinterpret_cast<uint8_t*>(pending_.data() + old)};
    const int n = swr_convert(swr_.get(), out_planes, capacity,
                              frame != nullptr ? const_cast<const uint8_t**>(frame->extended_data) : nullptr,
                              in_samples);
    if (n < 0) return Status::input(path_, "resampling failed");
    pending_.resize(old + static_cast<size_t>(n));
    return Status::ok();
  }

  std::string path_;
  int rate_hz_;
  MediaInfo info_;
  InputContextPtr fmt_;
  CodecContextPtr decoder_;
  PacketPtr packet_;
  FramePtr decoded_;
  SwrPtr swr_;
  int swr_in_rate_ = 0, swr_in_format_ = -1, swr_in_channels_ = 0;
  int stream_index_ = -1;
  std::vector<float> pending_;
  size_t pending_pos_ = 0;
  int64_t n_frames_decoded_ = 0;
  int n_errors_ = 0;
  bool flushing_ = false;
  bool finished_ = false;
};

}  // namespace

Result<std::unique_ptr<AudioReader>> AudioReader::open(const std::string& path, int sample_rate_hz) {
  auto reader = std::make_unique<FfmpegAudioReader>(path, sample_rate_hz);
  UNMASK_RETURN_IF_ERROR(reader->init());
  return std::unique_ptr<AudioReader>(std::move(reader));
}

Result<Audio> read_audio(const std::string& path, int sample_rate_hz) {
  auto reader = AudioReader::open(path, sample_rate_hz);
  if (!reader.ok()) return reader.status();
  Audio audio;
  audio.sample_rate_hz = sample_rate_hz;
  while (true) {
    auto n = (*reader)->read(audio.samples, 1 << 16);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
  }
  return audio;
}

}  // namespace unmask::media
