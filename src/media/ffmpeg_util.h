// Private to media: RAII wrappers for FFmpeg handles and error text.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include <memory>
#include <string>

#include "core/core.h"

namespace unmask::media::detail {

struct InputContextDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct OutputContextDeleter {
  void operator()(AVFormatContext* c) const {
    if (c == nullptr) return;
    if (c->pb != nullptr && !(c->oformat->flags & AVFMT_NOFILE)) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
struct SwrDeleter {
  void operator()(SwrContext* s) const { swr_free(&s); }
};

using InputContextPtr = std::unique_ptr<AVFormatContext, InputContextDeleter>;
using OutputContextPtr = std::unique_ptr<AVFormatContext, OutputContextDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;

inline FramePtr make_frame() { return FramePtr(av_frame_alloc()); }
inline PacketPtr make_packet() { return PacketPtr(av_packet_alloc()); }

// Routes FFmpeg's own log to the project's log sink (debug level). Idempotent, thread-safe.
void init_ffmpeg_logging();

// Colour conversion flags for readers and writers: swscale's x86 SIMD YUV<->RGB converters round
// differently from its C code, by up to a few levels per pixel and depending on buffer alignment;
// watermark bits and pixel-exact tests need one deterministic, accurate path.
constexpr int kSwsFlags = SWS_BILINEAR;

// swscale reads and writes a little past the last row of packed buffers (SIMD), so it never
// works on an Image's memory directly: these copy through frames with aligned, padded rows.
// An AVFrame (BGR24 or GRAY8) holding a copy of `image`; nullptr when out of memory.
FramePtr image_to_frame(const Image& image);
// (Re)allocates `frame` as width x height BGR24 with padded rows unless it already is.
bool ensure_bgr_frame(FramePtr& frame, int width_px, int height_px);
// Copies the rows of a BGR24 frame into `image` (resized to fit).
void frame_to_image(const AVFrame* frame, Image& image);

// Human-readable text for an FFmpeg error code.
std::string av_error_text(int errnum);

// Which streams open_input() reads stream information for.
enum class StreamsWanted {
  all,
  // Only audio: when the container's header already lists an audio stream, every other stream
  // is discarded before stream information is read, so no video frame is decoded to open the
  // file (~6 ms for a 720p H.264 mp4, paid by every audio pass over a video file).
  audio,
};

// Opens `path` for demuxing and reads stream info, with checks that give clear input errors:
// missing file, directory, empty file, unrecognised data. FFmpeg's own log is silenced.
Result<InputContextPtr> open_input(const std::string& path, StreamsWanted wanted = StreamsWanted::all);

// Opens a decoder for stream `stream_index` of `fmt`. `threads` 0 = automatic.
Result<CodecContextPtr> open_decoder(const std::string& path, AVFormatContext* fmt, int stream_index,
                                     int threads);

// Clockwise display rotation (0/90/180/270) from the stream's display matrix.
int stream_rotation_deg(const AVStream* stream);

// True when the container is an image demuxer (image2, png_pipe, jpeg_pipe, ...).
bool is_image_format(const AVFormatContext* fmt);

}  // namespace unmask::media::detail

namespace unmask::media {
struct MediaInfo;
namespace detail {
// Fills MediaInfo from an opened input (probe.cpp); input errors for unusable files. A video
// stream opened without its stream information (StreamsWanted::audio) is left out.
Result<MediaInfo> describe(const std::string& path, AVFormatContext* fmt);
}  // namespace detail
}  // namespace unmask::media
