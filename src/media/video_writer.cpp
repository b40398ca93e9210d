// VideoWriter: BGR frames to H.264 (libx264, yuv420p) with audio copied from a source file or
// encoded from PCM to AAC, interleaved as the video advances so memory stays bounded.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "media/ffmpeg_util.h"
#include "media/media.h"

namespace unmask::media {
namespace {

using namespace detail;

constexpr AVRational kMicroseconds{1, 1000000};
constexpr AVRational kVideoTimeBase{1, 90000};

bool is_aac_rate(int rate) {
  for (int r : {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000}) {
    if (r == rate) return true;
  }
  return false;
}

// Where the audio of the output comes from, pulled as the video advances.
class AudioTrack {
 public:
  virtual ~AudioTrack() = default;
  // Writes all audio whose start time is at or before until_us (INT64_MAX = everything left).
  virtual Status pump(int64_t until_us) = 0;
  virtual Status finish() = 0;
};

// Copies compressed packets from a source file untouched.
class CopiedAudio final : public AudioTrack {
 public:
  CopiedAudio(AVFormatContext* out, InputContextPtr src, int src_index, AVStream* out_stream)
      : out_(out), src_(std::move(src)), src_index_(src_index), out_stream_(out_stream),
        packet_(make_packet()) {
    const int64_t start = src_->start_time != AV_NOPTS_VALUE ? src_->start_time : 0;
    src_start_ = av_rescale_q(start, AV_TIME_BASE_Q, src_->streams[src_index_]->time_base);
  }

  Status pump(int64_t until_us) override {
    const AVRational src_tb = src_->streams[src_index_]->time_base;
    while (!eof_) {
      if (!holding_) {
        if (av_read_frame(src_.get(), packet_.get()) < 0) {
          eof_ = true;
          break;
        }
        if (packet_->stream_index != src_index_) {
          av_packet_unref(packet_.get());
          continue;
        }
        holding_ = true;
      }
      const int64_t ts = packet_->pts != AV_NOPTS_VALUE ? packet_->pts : packet_->dts;
      if (ts != AV_NOPTS_VALUE && av_rescale_q(ts - src_start_, src_tb, kMicroseconds) > until_us) break;
      if (packet_->pts != AV_NOPTS_VALUE) packet_->pts -= src_start_;
      if (packet_->dts != AV_NOPTS_VALUE) packet_->dts -= src_start_;
      av_packet_rescale_ts(packet_.get(), src_tb, out_stream_->time_base);
      packet_->stream_index = out_stream_->index;
      packet_->pos = -1;
      holding_ = false;
      const int err = av_interleaved_write_frame(out_, packet_.get());
      if (err < 0) return Status::input("audio copy", "cannot write packet (" + av_error_text(err) + ")");
    }
    return Status::ok();
  }

  Status finish() override { return pump(INT64_MAX); }

 private:
  AVFormatContext* out_;
  InputContextPtr src_;
  int src_index_;
  AVStream* out_stream_;
  PacketPtr packet_;
  int64_t src_start_ = 0;
  bool holding_ = false;
  bool eof_ = false;
};

// Encodes mono float PCM (given, or decoded from a source file) to AAC.
class EncodedAudio final : public AudioTrack {
 public:
  EncodedAudio(AVFormatContext* out, AVStream* stream, CodecContextPtr encoder,
               std::optional<Audio> pcm, std::unique_ptr<AudioReader> reader)
      : out_(out), stream_(stream), encoder_(std::move(encoder)), pcm_(std::move(pcm)),
        reader_(std::move(reader)), frame_(make_frame()), packet_(make_packet()) {}

  Status pump(int64_t until_us) override {
    const int rate = encoder_->sample_rate;
    const int frame_size = encoder_->frame_size > 0 ? encoder_->frame_size : 1024;
    while (!source_done_ &&
           (until_us == INT64_MAX || av_rescale_q(n_samples_sent_, AVRational{1, rate}, kMicroseconds) <= until_us)) {
      std::vector<float> chunk;
      UNMASK_RETURN_IF_ERROR(take(static_cast<size_t>(frame_size), chunk));
      if (chunk.empty()) {
        source_done_ = true;
        break;
      }
      UNMASK_RETURN_IF_ERROR(send(chunk));
    }
    return Status::ok();
  }

  Status finish() override {
    UNMASK_RETURN_IF_ERROR(pump(INT64_MAX));
    avcodec_send_frame(encoder_.get(), nullptr);
    return drain();
  }

 private:
  Status take(size_t n, std::vector<float>& chunk) {
    if (pcm_) {
      const size_t left = pcm_->samples.size() - pcm_pos_;
      const size_t k = std::min(n, left);
      chunk.assign(pcm_->samples.begin() + static_cast<long>(pcm_pos_),
                   pcm_->samples.begin() + static_cast<long>(pcm_pos_ + k));
      pcm_pos_ += k;
      return Status::ok();
    }
    while (chunk.size() < n) {
      auto got = reader_->read(chunk, n - chunk.size());
      if (!got.ok()) return got.status();
      if (*got == 0) break;
    }
    return Status::ok();
  }

  Status send(const std::vector<float>& chunk) {
    av_frame_unref(frame_.get());
    frame_->nb_samples = static_cast<int>(chunk.size());
    frame_->format = encoder_->sample_fmt;
    frame_->sample_rate = encoder_->sample_rate;
    av_channel_layout_copy(&frame_->ch_layout, &encoder_->ch_layout);
    if (av_frame_get_buffer(frame_.get(), 0) < 0) return Status::internal("audio", "out of memory");
    auto* plane = reinterpret_cast<float*>(frame_->data[0]);
    for (size_t i = 0; i < chunk.size(); ++i) plane[i] = std::clamp(chunk[i], -1.0f, 1.0f);
    frame_->pts = n_samples_sent_;
    n_samples_sent_ += static_cast<int64_t>(chunk.size());
    const int err = avcodec_send_frame(encoder_.get(), frame_.get());
    if (err < 0) return Status::internal("audio encoder", av_error_text(err));
    return drain();
  }

  Status drain() {
    while (true) {
      const int r = avcodec_receive_packet(encoder_.get(), packet_.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return Status::ok();
      if (r < 0) return Status::internal("audio encoder", av_error_text(r));
      av_packet_rescale_ts(packet_.get(), encoder_->time_base, stream_->time_base);
      packet_->stream_index = stream_->index;
      const int err = av_interleaved_write_frame(out_, packet_.get());
      if (err < 0) return Status::input("audio", "cannot write packet (" + av_error_text(err) + ")");
    }
  }

  AVFormatContext* out_;
  AVStream* stream_;
  CodecContextPtr encoder_;
  std::optional<Audio> pcm_;
  std::unique_ptr<AudioReader> reader_;
  FramePtr frame_;
  PacketPtr packet_;
  size_t pcm_pos_ = 0;
  int64_t n_samples_sent_ = 0;
  bool source_done_ = false;
};

class FfmpegVideoWriter final : public VideoWriter {
 public:
  // The file is written under a temporary name of this writer's own ("OUT.partial.<pid>.<n>")
  // until close() renames it over the output.
  FfmpegVideoWriter(std::string path, int w, int h, double fps, VideoWriterOptions options)
      : path_(std::move(path)), tmp_path_(unique_temporary_path(path_ + ".partial")), width_(w), height_(h), fps_(fps),
        options_(std::move(options)) {}

  ~FfmpegVideoWriter() override {
    if (!closed_) {
      out_.reset();
      std::error_code ignored;
      std::filesystem::remove(tmp_path_, ignored);
    }
  }

  Status init() {
    if (width_ <= 0 || height_ <= 0) return Status::usage(path_, "frame size must be positive");
    if (!(fps_ > 0.0) || fps_ > 1000.0) return Status::usage(path_, "frame rate must be in (0, 1000]");
    if (options_.crf < 0 || options_.crf > 51) return Status::usage(path_, "crf must be 0-51");
    if (options_.rotation_deg % 90 != 0) return Status::usage(path_, "rotation must be a multiple of 90");
    if (!options_.copy_audio_from.empty() && options_.pcm_audio) {
      return Status::usage(path_, "give either audio to copy or PCM audio, not both");
    }
    init_ffmpeg_logging();
    // The muxer is chosen by the final name but writes (and, for faststart, re-opens) the
    // temporary file, so ctx->url must be the temporary path.
    const AVOutputFormat* oformat = av_guess_format(nullptr, path_.c_str(), nullptr);
    AVFormatContext* raw = nullptr;
    if (oformat == nullptr ||
        avformat_alloc_output_context2(&raw, oformat, nullptr, tmp_path_.c_str()) < 0 || raw == nullptr) {
      return Status::usage(path_, "unsupported output format (use .mp4, .mov or .mkv)");
    }
    out_.reset(raw);
    UNMASK_RETURN_IF_ERROR(add_video_stream());
    UNMASK_RETURN_IF_ERROR(add_audio_stream());
    for (const auto& [key, value] : options_.metadata) {
      av_dict_set(&out_->metadata, key.c_str(), value.c_str(), 0);
    }
    int err = avio_open(&out_->pb, tmp_path_.c_str(), AVIO_FLAG_WRITE);
    if (err < 0) return Status::input(path_, "cannot create file (" + av_error_text(err) + ")");
    AVDictionary* mux_opts = nullptr;
    av_dict_set(&mux_opts, "movflags", "use_metadata_tags+faststart", 0);
    err = avformat_write_header(out_.get(), &mux_opts);
    av_dict_free(&mux_opts);
    if (err < 0) return Status::input(path_, "cannot write header (" + av_error_text(err) + ")");
    frame_ = make_frame();
    packet_ = make_packet();
    return Status::ok();
  }

  Status write(const Image& image, int64_t pts_us) override {
    if (closed_) return Status::internal(path_, "write after close");
    if (image.width_px() != width_ || image.height_px() != height_ || image.channels() != 3) {
      return Status::usage(path_, "frame is " + std::to_string(image.width_px()) + "x" +
                                      std::to_string(image.height_px()) + "x" +
                                      std::to_string(image.channels()) + ", writer expects " +
                                      std::to_string(width_) + "x" + std::to_string(height_) + "x3");
    }
    if (pts_us < 0) pts_us = static_cast<int64_t>(std::llround(n_frames_ * 1e6 / fps_));
    int64_t pts = av_rescale_q(pts_us, kMicroseconds, encoder_->time_base);
    if (pts <= last_pts_) {
      if (pts_us <= last_pts_us_) {
        return Status::usage(path_, "timestamps must increase (" + std::to_string(pts_us) +
                                        " us after " + std::to_string(last_pts_us_) + " us)");
      }
      pts = last_pts_ + 1;
    }
    last_pts_ = pts;
    last_pts_us_ = pts_us;

    av_frame_unref(frame_.get());
    frame_->format = AV_PIX_FMT_YUV420P;
    frame_->width = encoder_->width;
    frame_->height = encoder_->height;
    if (av_frame_get_buffer(frame_.get(), 0) < 0) return Status::internal(path_, "out of memory");
    FramePtr src = image_to_frame(padded(image));
    if (!src) return Status::internal(path_, "out of memory");
    sws_scale(sws_.get(), src->data, src->linesize, 0, src->height, frame_->data, frame_->linesize);
    frame_->pts = pts;
    ++n_frames_;
    UNMASK_RETURN_IF_ERROR(encode(frame_.get()));
    if (audio_) UNMASK_RETURN_IF_ERROR(audio_->pump(pts_us));
    return Status::ok();
  }

  Status close() override {
    if (closed_) return Status::ok();
    if (n_frames_ == 0) return Status::usage(path_, "no frames were written");
    UNMASK_RETURN_IF_ERROR(encode(nullptr));
    if (audio_) UNMASK_RETURN_IF_ERROR(audio_->finish());
    int err = av_write_trailer(out_.get());
    if (err < 0) return Status::input(path_, "cannot finish file (" + av_error_text(err) + ")");
    audio_.reset();
    out_.reset();
    std::error_code ec;
    std::filesystem::rename(tmp_path_, path_, ec);
    if (ec) return Status::input(path_, "cannot move file into place: " + ec.message());
    closed_ = true;
    return Status::ok();
  }

 private:
  Status add_video_stream() {
    const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
    if (codec == nullptr) codec = avcodec_find_encoder(AV_CODEC_ID_H264);
    if (codec == nullptr) return Status::model("H.264 encoder", "not available in this FFmpeg build");
    encoder_.reset(avcodec_alloc_context3(codec));
    encoder_->width = width_ + (width_ & 1);  // yuv420p needs even sizes: pad by one edge column/row
    encoder_->height = height_ + (height_ & 1);
    encoder_->pix_fmt = AV_PIX_FMT_YUV420P;
    encoder_->time_base = kVideoTimeBase;
    encoder_->framerate = av_d2q(fps_, 100000);
    encoder_->colorspace = AVCOL_SPC_SMPTE170M;
    encoder_->color_primaries = AVCOL_PRI_SMPTE170M;
    encoder_->color_trc = AVCOL_TRC_SMPTE170M;
    encoder_->color_range = AVCOL_RANGE_MPEG;
    encoder_->thread_count = 0;
    if (out_->oformat->flags & AVFMT_GLOBALHEADER) encoder_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary* opts = nullptr;
    av_dict_set(&opts, "crf", std::to_string(options_.crf).c_str(), 0);
    av_dict_set(&opts, "preset", options_.preset.c_str(), 0);
    if (!options_.x264_params.empty() && std::string(codec->name) == "libx264") {
      av_dict_set(&opts, "x264-params", options_.x264_params.c_str(), 0);
    }
    const int err = avcodec_open2(encoder_.get(), codec, &opts);
    av_dict_free(&opts);
    if (err < 0) return Status::usage(path_, "cannot open H.264 encoder (" + av_error_text(err) + ")");
    video_stream_ = avformat_new_stream(out_.get(), nullptr);
    avcodec_parameters_from_context(video_stream_->codecpar, encoder_.get());
    video_stream_->time_base = encoder_->time_base;
    video_stream_->avg_frame_rate = encoder_->framerate;
    if (options_.rotation_deg % 360 != 0) {
      auto* matrix = reinterpret_cast<int32_t*>(
          av_stream_new_side_data(video_stream_, AV_PKT_DATA_DISPLAYMATRIX, sizeof(int32_t) * 9));
      // av_display_rotation_get() of this matrix returns -rotation_deg, which readers (ours and
      // ffmpeg's autorotate) take as "rotate clockwise by rotation_deg for display".
      if (matrix != nullptr) av_display_rotation_set(matrix, static_cast<double>(options_.rotation_deg));
    }
    sws_.reset(sws_getContext(encoder_->width, encoder_->height, AV_PIX_FMT_BGR24, encoder_->width,
                              encoder_->height, AV_PIX_FMT_YUV420P, kSwsFlags, nullptr, nullptr, nullptr));
    if (!sws_) return Status::internal(path_, "cannot create colour converter");
    return Status::ok();
  }

  Status add_audio_stream() {
    if (!options_.copy_audio_from.empty()) {
      auto src = open_input(options_.copy_audio_from, StreamsWanted::audio);
      if (!src.ok()) return src.status();
      const int index = av_find_best_stream(src->get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
      if (index < 0) return Status::ok();  // the source is silent: so is the output
      const AVCodecParameters* par = (*src)->streams[index]->codecpar;
      if (avformat_query_codec(out_->oformat, par->codec_id, FF_COMPLIANCE_NORMAL) == 1) {
        AVStream* st = avformat_new_stream(out_.get(), nullptr);
        avcodec_parameters_copy(st->codecpar, par);
        st->codecpar->codec_tag = 0;
        st->time_base = (*src)->streams[index]->time_base;
        audio_ = std::make_unique<CopiedAudio>(out_.get(), std::move(src.value()), index, st);
        return Status::ok();
      }
      auto reader = AudioReader::open(options_.copy_audio_from, 48000);
      if (!reader.ok()) return reader.status();
      return add_aac_stream(48000, std::nullopt, std::move(reader.value()));
    }
    if (options_.pcm_audio) {
      const int rate = options_.pcm_audio->sample_rate_hz;
      if (!is_aac_rate(rate)) return Status::usage(path_, "audio rate " + std::to_string(rate) + " Hz is not an AAC rate");
      return add_aac_stream(rate, options_.pcm_audio, nullptr);
    }
    return Status::ok();
  }

  Status add_aac_stream(int rate, std::optional<Audio> pcm, std::unique_ptr<AudioReader> reader) {
    const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (codec == nullptr) return Status::model("AAC encoder", "not available in this FFmpeg build");
    CodecContextPtr enc(avcodec_alloc_context3(codec));
    enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    enc->sample_rate = rate;
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    av_channel_layout_copy(&enc->ch_layout, &mono);
    enc->bit_rate = 96000;
    enc->time_base = AVRational{1, rate};
    if (out_->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    const int err = avcodec_open2(enc.get(), codec, nullptr);
    if (err < 0) return Status::internal(path_, "cannot open AAC encoder (" + av_error_text(err) + ")");
    AVStream* st = avformat_new_stream(out_.get(), nullptr);
    avcodec_parameters_from_context(st->codecpar, enc.get());
    st->time_base = enc->time_base;
    audio_ = std::make_unique<EncodedAudio>(out_.get(), st, std::move(enc), std::move(pcm), std::move(reader));
    return Status::ok();
  }

  const Image& padded(const Image& image) {
    if (encoder_->width == width_ && encoder_->height == height_) return image;
    if (pad_.width_px() != encoder_->width || pad_.height_px() != encoder_->height) {
      pad_ = Image(encoder_->width, encoder_->height, 3);
    }
    for (int y = 0; y < encoder_->height; ++y) {
      const uint8_t* in = image.row(std::min(y, height_ - 1));
      uint8_t* out = pad_.row(y);
      std::copy(in, in + image.row_bytes(), out);
      if (encoder_->width > width_) std::copy(in + (width_ - 1) * 3, in + width_ * 3, out + width_ * 3);
    }
    return pad_;
  }

  Status encode(const AVFrame* frame) {
    int err = avcodec_send_frame(encoder_.get(), frame);
    if (err < 0 && err != AVERROR_EOF) return Status::internal(path_, "video encoder: " + av_error_text(err));
    while (true) {
      err = avcodec_receive_packet(encoder_.get(), packet_.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return Status::ok();
      if (err < 0) return Status::internal(path_, "video encoder: " + av_error_text(err));
      av_packet_rescale_ts(packet_.get(), encoder_->time_base, video_stream_->time_base);
      packet_->stream_index = video_stream_->index;
      err = av_interleaved_write_frame(out_.get(), packet_.get());
      if (err < 0) return Status::input(path_, "cannot write video (" + av_error_text(err) + ")");
    }
  }

  std::string path_;
  std::string tmp_path_;
  int width_, height_;
  double fps_;
  VideoWriterOptions options_;
  // Declaration order matters: the audio track writes into out_, so it is destroyed first.
  OutputContextPtr out_;
  CodecContextPtr encoder_;
  std::unique_ptr<AudioTrack> audio_;
  AVStream* video_stream_ = nullptr;  // owned by out_
  SwsPtr sws_;
  FramePtr frame_;
  PacketPtr packet_;
  Image pad_;
  int64_t n_frames_ = 0;
  int64_t last_pts_ = -1;
  int64_t last_pts_us_ = -1;
  bool closed_ = false;
};

}  // namespace

Result<std::unique_ptr<VideoWriter>> VideoWriter::open(const std::string& path, int width_px,
                                                       int height_px, double fps,
                                                       const VideoWriterOptions& options) {
  auto writer = std::make_unique<FfmpegVideoWriter>(path, width_px, height_px, fps, options);
  UNMASK_RETURN_IF_ERROR(writer->init());
  return std::unique_ptr<VideoWriter>(std::move(writer));
}

}  // namespace unmask::media
