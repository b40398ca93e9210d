#include "media/ffmpeg_util.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace unmask::media::detail {
namespace {

// FFmpeg logs to stderr by default; the library never prints, so route it to the log sink.
void ffmpeg_log_callback(void* /*avcl*/, int level, const char* fmt, va_list args) {
  if (level > AV_LOG_WARNING) return;
  char line[512];
  std::vsnprintf(line, sizeof line, fmt, args);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!text.empty()) log_debug("ffmpeg: " + text);
}

}  // namespace

void init_ffmpeg_logging() {
  static std::once_flag once;
  std::call_once(once, [] {
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(&ffmpeg_log_callback);
  });
}

FramePtr image_to_frame(const Image& image) {
  FramePtr frame = make_frame();
  if (!frame) return frame;
  frame->format = image.channels() == 1 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_BGR24;
  frame->width = image.width_px();
  frame->height = image.height_px();
  if (av_frame_get_buffer(frame.get(), 64) < 0) return FramePtr();
  for (int y = 0; y < image.height_px(); ++y) {
    std::memcpy(frame->data[0] + static_cast<size_t>(y) * frame->linesize[0], image.row(y), image.row_bytes());
  }
  return frame;
}

bool ensure_bgr_frame(FramePtr& frame, int width_px, int height_px) {
  if (frame && frame->width == width_px && frame->height == height_px && frame->format == AV_PIX_FMT_BGR24) {
    return true;
  }
  frame = make_frame();
  if (!frame) return false;
  frame->format = AV_PIX_FMT_BGR24;
  frame->width = width_px;
  frame->height = height_px;
  return av_frame_get_buffer(frame.get(), 64) >= 0;
}

void frame_to_image(const AVFrame* frame, Image& image) {
  if (image.width_px() != frame->width || image.height_px() != frame->height || image.channels() != 3) {
    image = Image(frame->width, frame->height, 3);
  }
  for (int y = 0; y < frame->height; ++y) {
    std::memcpy(image.row(y), frame->data[0] + static_cast<size_t>(y) * frame->linesize[0], image.row_bytes());
  }
}

std::string av_error_text(int errnum) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(errnum, buf, sizeof buf);
  return buf;
}

Result<InputContextPtr> open_input(const std::string& path, StreamsWanted wanted) {
  init_ffmpeg_logging();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::input(path, errno == ENOENT ? "no such file" : std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return Status::input(path, "is a directory, not a media file");
  if (!S_ISREG(st.st_mode)) return Status::input(path, "not a regular file");
  if (st.st_size == 0) return Status::input(path, "file is empty");

  AVFormatContext* raw = nullptr;
  int err = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (err < 0) {
    return Status::input(path, "not a media file that can be read (" + av_error_text(err) + ")");
  }
  InputContextPtr fmt(raw);
  if (wanted == StreamsWanted::audio &&
      av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) >= 0) {
    for (unsigned i = 0; i < fmt->nb_streams; ++i) {
      if (fmt->streams[i]->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) {
        fmt->streams[i]->discard = AVDISCARD_ALL;
      }
    }
  }
  err = avformat_find_stream_info(fmt.get(), nullptr);
  if (err < 0) {
    return Status::input(path, "cannot read stream information (" + av_error_text(err) + ")");
  }
  return fmt;
}

Result<CodecContextPtr> open_decoder(const std::string& path, AVFormatContext* fmt, int stream_index,
                                     int threads) {
  const AVStream* stream = fmt->streams[stream_index];
  const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
  if (codec == nullptr) {
    return Status::input(path, std::string("unsupported codec '") +
                                   avcodec_get_name(stream->codecpar->codec_id) + "'");
  }
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  if (!ctx) return Status::internal(path, "out of memory allocating a decoder");
  int err = avcodec_parameters_to_context(ctx.get(), stream->codecpar);
  if (err < 0) return Status::input(path, "bad codec parameters (" + av_error_text(err) + ")");
  ctx->thread_count = threads;
  ctx->pkt_timebase = stream->time_base;
  err = avcodec_open2(ctx.get(), codec, nullptr);
  if (err < 0) return Status::input(path, "cannot open decoder (" + av_error_text(err) + ")");
  return ctx;
}

int stream_rotation_deg(const AVStream* stream) {
  const uint8_t* matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
  if (matrix == nullptr) return 0;
  // av_display_rotation_get gives the counter-clockwise angle; we report the clockwise rotation a
  // player applies to show the picture upright.
  const double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
  if (std::isnan(ccw)) return 0;
  int cw = static_cast<int>(std::lround(-ccw)) % 360;
  if (cw < 0) cw += 360;
  return ((cw + 45) / 90 * 90) % 360;
}

bool is_image_format(const AVFormatContext* fmt) {
  const std::string name = fmt->iformat->name;
  return name == "image2" || name.find("_pipe") != std::string::npos;
}

}  // namespace unmask::media::detail
