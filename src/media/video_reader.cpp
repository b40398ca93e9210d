// VideoReader: streams decoded BGR frames with presentation times, honouring rotation, downscaling,
// frame skipping and a time range. Memory stays bounded: one decoded frame and one converted frame.
#include <cmath>

#include "media/ffmpeg_util.h"
#include "media/media.h"

namespace unmask::media {
namespace {

using namespace detail;

// Rotates a packed BGR image clockwise by 90, 180 or 270 degrees.
void rotate_clockwise(const Image& src, int rotation_deg, Image& dst) {
  const int w = src.width_px(), h = src.height_px(), c = src.channels();
  const bool swap = rotation_deg == 90 || rotation_deg == 270;
  const int out_w = swap ? h : w, out_h = swap ? w : h;
  if (dst.width_px() != out_w || dst.height_px() != out_h || dst.channels() != c) {
    dst = Image(out_w, out_h, c);
  }
  for (int y = 0; y < out_h; ++y) {
    uint8_t* out = dst.row(y);
    for (int x = 0; x < out_w; ++x) {
      int sx = x, sy = y;
      if (rotation_deg == 90) { sx = y; sy = h - 1 - x; }
      else if (rotation_deg == 180) { sx = w - 1 - x; sy = h - 1 - y; }
      else if (rotation_deg == 270) { sx = w - 1 - y; sy = x; }
      const uint8_t* in = src.at(sx, sy);
      for (int k = 0; k < c; ++k) out[x * c + k] = in[k];
    }
  }
}

class FfmpegVideoReader final : public VideoReader {
 public:
  FfmpegVideoReader(std::string path, VideoReadOptions options)
      : path_(std::move(path)), options_(options) {}

  Status init() {
    if (options_.every_nth < 1) return Status::usage("every_nth", "must be at least 1");
    if (options_.max_side_px < 0) return Status::usage("max_side_px", "must not be negative");
    auto fmt = open_input(path_);
    if (!fmt.ok()) return fmt.status();
    fmt_ = std::move(fmt.value());
    auto info = describe(path_, fmt_.get());
    if (!info.ok()) return info.status();
    info_ = std::move(info.value());
    if (!info_.video) return Status::input(path_, "has no video stream (audio only?)");

    stream_index_ = av_find_best_stream(fmt_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    for (unsigned i = 0; i < fmt_->nb_streams; ++i) {
      if (static_cast<int>(i) != stream_index_) fmt_->streams[i]->discard = AVDISCARD_ALL;
    }
    auto decoder = open_decoder(path_, fmt_.get(), stream_index_, options_.threads);
    if (!decoder.ok()) return decoder.status();
    decoder_ = std::move(decoder.value());

    time_base_ = fmt_->streams[stream_index_]->time_base;
    start_time_ = fmt_->start_time != AV_NOPTS_VALUE ? fmt_->start_time : 0;  // AV_TIME_BASE units
    frame_duration_us_ = info_.video->fps > 0 ? static_cast<int64_t>(1e6 / info_.video->fps) : 40000;
    rotation_deg_ = options_.apply_rotation ? info_.video->rotation_deg : 0;

    // Output size before rotation: fit the longer side into max_side_px, keep even-free exact
    // aspect (rounding to the nearest pixel).
    scaled_w_ = info_.video->width_px;
    scaled_h_ = info_.video->height_px;
    const int longer = std::max(scaled_w_, scaled_h_);
    if (options_.max_side_px > 0 && longer > options_.max_side_px) {
      const double s = static_cast<double>(options_.max_side_px) / longer;
      scaled_w_ = std::max(1, static_cast<int>(std::lround(scaled_w_ * s)));
      scaled_h_ = std::max(1, static_cast<int>(std::lround(scaled_h_ * s)));
    }
    if (options_.start_us > 0) {
      const int64_t target = start_time_ + options_.start_us;  // AV_TIME_BASE units = microseconds
      if (av_seek_frame(fmt_.get(), -1, target, AVSEEK_FLAG_BACKWARD) >= 0) {
        avcodec_flush_buffers(decoder_.get());
        seeked_ = true;
      }
    }
    packet_ = make_packet();
    decoded_ = make_frame();
    return Status::ok();
  }

  Result<bool> read(VideoFrame& frame) override {
    while (true) {
      auto got = next_decoded_frame();
      if (!got.ok()) return got.status();
      if (!*got) {
        return finish_stream();
      }
      const int64_t pts_us = frame_pts_us();
      int64_t index = n_decoded_++;
      if (seeked_) index = static_cast<int64_t>(std::llround(pts_us * info_.video->fps / 1e6));
      if (pts_us < options_.start_us) continue;
      if (options_.end_us >= 0 && pts_us >= options_.end_us) {
        ended_by_range_ = true;
        return false;
      }
      if ((index % options_.every_nth) != 0) continue;
      UNMASK_RETURN_IF_ERROR(convert(frame.image));
      frame.pts_us = pts_us;
      frame.index = index;
      ++n_returned_;
      return true;
    }
  }

  const MediaInfo& info() const override { return info_; }
  int output_width_px() const override { return rotation_deg_ % 180 ? scaled_h_ : scaled_w_; }
  int output_height_px() const override { return rotation_deg_ % 180 ? scaled_w_ : scaled_h_; }

 private:
  // Decodes the next frame into decoded_. false at the end of the stream.
  Result<bool> next_decoded_frame() {
    while (true) {
      const int r = avcodec_receive_frame(decoder_.get(), decoded_.get());
      if (r == 0) return true;
      if (r == AVERROR_EOF) return false;
      if (r != AVERROR(EAGAIN)) {
        ++n_decode_errors_;
        if (n_decoded_ == 0 && n_decode_errors_ > 16) {
          return Status::input(path_, "video cannot be decoded (" + av_error_text(r) + ")");
        }
        continue;
      }
      if (flushing_) return false;
      const int rr = av_read_frame(fmt_.get(), packet_.get());
      if (rr < 0) {
        if (rr != AVERROR_EOF) read_error_ = rr;
        flushing_ = true;
        avcodec_send_packet(decoder_.get(), nullptr);
        continue;
      }
      if (packet_->stream_index == stream_index_) {
        const int sr = avcodec_send_packet(decoder_.get(), packet_.get());
        if (sr < 0 && sr != AVERROR(EAGAIN)) {
          ++n_decode_errors_;
          if (n_decoded_ == 0 && n_decode_errors_ > 16) {
            av_packet_unref(packet_.get());
            return Status::input(path_, "video cannot be decoded (" + av_error_text(sr) + ")");
          }
        }
      }
      av_packet_unref(packet_.get());
    }
  }

  Result<bool> finish_stream() {
    if (n_decoded_ == 0 && !ended_by_range_) {
      std::string why = "no video frame could be decoded";
      if (read_error_ != 0) why += " (" + av_error_text(read_error_) + ")";
      return Status::input(path_, why);
    }
    return false;
  }

  // Presentation time relative to the container start, made strictly increasing.
  int64_t frame_pts_us() {
    int64_t ts = decoded_->best_effort_timestamp;
    int64_t pts_us;
    if (ts == AV_NOPTS_VALUE) {
      pts_us = last_pts_us_ < 0 ? 0 : last_pts_us_ + frame_duration_us_;
    } else {
      pts_us = av_rescale_q(ts, time_base_, AVRational{1, 1000000}) - start_time_;
    }
    if (last_pts_us_ >= 0 && pts_us <= last_pts_us_) pts_us = last_pts_us_ + 1;
    last_pts_us_ = pts_us;
    return pts_us;
  }

  Status convert(Image& out) {
    const int in_w = decoded_->width, in_h = decoded_->height;
    const auto in_fmt = static_cast<AVPixelFormat>(decoded_->format);
    if (in_w <= 0 || in_h <= 0) return Status::input(path_, "decoded a zero-size frame");
    if (!sws_ || in_w != sws_in_w_ || in_h != sws_in_h_ || in_fmt != sws_in_fmt_) {
      sws_.reset(sws_getContext(in_w, in_h, in_fmt, scaled_w_, scaled_h_, AV_PIX_FMT_BGR24,
                                kSwsFlags, nullptr, nullptr, nullptr));
      if (!sws_) return Status::input(path_, "unsupported pixel format");
      const int colorspace = decoded_->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_ITU601;
      const int full_range = decoded_->color_range == AVCOL_RANGE_JPEG ||
                             in_fmt == AV_PIX_FMT_YUVJ420P || in_fmt == AV_PIX_FMT_YUVJ422P ||
                             in_fmt == AV_PIX_FMT_YUVJ444P;
      int* inv_table = nullptr; int* table = nullptr; int src_range = 0, dst_range = 0;
      int brightness = 0, contrast = 0, saturation = 0;
      if (sws_getColorspaceDetails(sws_.get(), &inv_table, &src_range, &table, &dst_range,
                                   &brightness, &contrast, &saturation) >= 0) {
        sws_setColorspaceDetails(sws_.get(), sws_getCoefficients(colorspace), full_range,
                                 sws_getCoefficients(SWS_CS_DEFAULT), 1, brightness, contrast,
                                 saturation);
      }
      sws_in_w_ = in_w; sws_in_h_ = in_h; sws_in_fmt_ = in_fmt;
    }
    // Straight into the Image: its tail padding absorbs swscale's overrun past the last row.
    Image& target = rotation_deg_ == 0 ? out : unrotated_;
    if (target.width_px() != scaled_w_ || target.height_px() != scaled_h_ || target.channels() != 3) {
      target = Image(scaled_w_, scaled_h_, 3);
    }
    uint8_t* dst_data[4] = {target.data(), nullptr, nullptr, nullptr};
    int dst_linesize[4] = {static_cast<int>(target.row_bytes()), 0, 0, 0};
    sws_scale(sws_.get(), decoded_->data, decoded_->linesize, 0, in_h, dst_data, dst_linesize);
    if (rotation_deg_ != 0) rotate_clockwise(unrotated_, rotation_deg_, out);
    return Status::ok();
  }

  std::string path_;
  VideoReadOptions options_;
  MediaInfo info_;
  InputContextPtr fmt_;
  CodecContextPtr decoder_;
  PacketPtr packet_;
  FramePtr decoded_;
  SwsPtr sws_;
  int sws_in_w_ = 0, sws_in_h_ = 0;
  AVPixelFormat sws_in_fmt_ = AV_PIX_FMT_NONE;
  Image unrotated_;
  int stream_index_ = -1;
  AVRational time_base_{1, 1};
  int64_t start_time_ = 0;
  int64_t frame_duration_us_ = 40000;
  int rotation_deg_ = 0;
  int scaled_w_ = 0, scaled_h_ = 0;
  int64_t last_pts_us_ = -1;
  int64_t n_decoded_ = 0;
  int64_t n_returned_ = 0;
  int n_decode_errors_ = 0;
  int read_error_ = 0;
  bool flushing_ = false;
  bool seeked_ = false;
  bool ended_by_range_ = false;
};

}  // namespace

Result<std::unique_ptr<VideoReader>> VideoReader::open(const std::string& path,
                                                       const VideoReadOptions& options) {
  auto reader = std::make_unique<FfmpegVideoReader>(path, options);
  UNMASK_RETURN_IF_ERROR(reader->init());
  return std::unique_ptr<VideoReader>(std::move(reader));
}

}  // namespace unmask::media
