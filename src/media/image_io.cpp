// Still images: read through the video decoder (an image is a one-frame video), encoded with
// FFmpeg's PNG or MJPEG encoder, to a file (write_image) or in memory (encode_image).
#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/text.h"
#include "media/ffmpeg_util.h"
#include "media/media.h"

namespace unmask::media {

using namespace detail;

Result<Image> read_image(const std::string& path) {
  auto reader = VideoReader::open(path);
  if (!reader.ok()) return reader.status();
  VideoFrame frame;
  auto got = (*reader)->read(frame);
  if (!got.ok()) return got.status();
  if (!*got) return Status::input(path, "contains no picture");
  return std::move(frame.image);
}

namespace {

// `path` names the output in error messages.
Result<std::string> encode_named(const std::string& path, const Image& image, const std::string& extension,
                                 int jpeg_quality) {
  if (image.empty()) return Status::usage(path, "image is empty");
  if (image.channels() != 1 && image.channels() != 3) return Status::usage(path, "image must be gray or BGR");
  const std::string ext = ascii_lower(extension);
  const bool jpeg = ext == ".jpg" || ext == ".jpeg";
  if (!jpeg && ext != ".png") return Status::usage(path, "image output must be .png, .jpg or .jpeg");
  if (jpeg_quality < 1 || jpeg_quality > 100) return Status::usage(path, "JPEG quality must be 1-100");

  const AVCodec* codec = avcodec_find_encoder(jpeg ? AV_CODEC_ID_MJPEG : AV_CODEC_ID_PNG);
  if (codec == nullptr) return Status::model(path, "image encoder not available");
  CodecContextPtr enc(avcodec_alloc_context3(codec));
  const int w = image.width_px(), h = image.height_px();
  const bool gray = image.channels() == 1;
  AVPixelFormat target = jpeg ? (gray ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_YUVJ444P)
                              : (gray ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24);
  enc->width = w;
  enc->height = h;
  enc->pix_fmt = target;
  enc->time_base = AVRational{1, 25};
  if (jpeg) {
    // Map quality 1-100 to the MJPEG quantiser scale (2 = best, 31 = worst).
    const int qscale = std::clamp(2 + (100 - jpeg_quality) * 29 / 99, 2, 31);
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * qscale;
    enc->color_range = AVCOL_RANGE_JPEG;
  } else {
    // Paeth prediction: a report's 160 px thumbnail is 44 KB instead of FFmpeg's default 67 KB
    // (no prediction) or OpenCV's 52 KB.
    av_opt_set(enc->priv_data, "pred", "paeth", 0);
  }
  int err = avcodec_open2(enc.get(), codec, nullptr);
  if (err < 0) return Status::internal(path, "cannot open image encoder (" + av_error_text(err) + ")");

  FramePtr frame = make_frame();
  frame->format = target;
  frame->width = w;
  frame->height = h;
  if (av_frame_get_buffer(frame.get(), 0) < 0) return Status::internal(path, "out of memory");
  const AVPixelFormat src_fmt = gray ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_BGR24;
  SwsPtr sws(sws_getContext(w, h, src_fmt, w, h, target, SWS_BICUBIC | SWS_ACCURATE_RND, nullptr, nullptr, nullptr));
  if (!sws) return Status::internal(path, "cannot create colour converter");
  FramePtr src = image_to_frame(image);
  if (!src) return Status::internal(path, "out of memory");
  sws_scale(sws.get(), src->data, src->linesize, 0, h, frame->data, frame->linesize);
  frame->pts = 0;

  std::string bytes;
  PacketPtr packet = make_packet();
  err = avcodec_send_frame(enc.get(), frame.get());
  if (err >= 0) err = avcodec_send_frame(enc.get(), nullptr);
  while (err >= 0) {
    err = avcodec_receive_packet(enc.get(), packet.get());
    if (err < 0) break;
    bytes.append(reinterpret_cast<const char*>(packet->data), static_cast<size_t>(packet->size));
    av_packet_unref(packet.get());
  }
  if (bytes.empty()) return Status::internal(path, "image encoder produced nothing");
  return bytes;
}

}  // namespace

Result<std::string> encode_image(const Image& image, const std::string& extension, int jpeg_quality) {
  return encode_named(extension + " image", image, extension, jpeg_quality);
}

Status write_image(const std::string& path, const Image& image, int jpeg_quality) {
  auto bytes = encode_named(path, image, lower_extension(path), jpeg_quality);
  if (!bytes.ok()) return bytes.status();
  return write_file_atomic(path, *bytes);
}

}  // namespace unmask::media
