// One JPEG re-encode of a picture in memory, through libjpeg-turbo: the compression step of the
// training augmentations and of synth's self-blended pairs. It used to be cv::imencode +
// cv::imdecode; OpenCV's image codecs pulled GDAL and ~75 libraries unmask loads for nothing else
// into every process (~0.06 s of dynamic linking at each start), so the same calls are made here.
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <jpeglib.h>
#include <algorithm>
#include <string>

#include "media/media.h"

namespace unmask::media {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr info) {
  auto* err = reinterpret_cast<ErrorManager*>(info->err);
  info->err->format_message(info, err->message);
  std::longjmp(err->jump, 1);
}

void no_warnings(j_common_ptr, int) {}

// libjpeg's error manager, set to jump back to the setjmp of the caller on an error.
jpeg_error_mgr* jumping_errors(ErrorManager& err) {
  jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = no_warnings;
  return &err.pub;
}

// Both halves hold no C++ object across setjmp: longjmp skips destructors.
bool encode(const uint8_t* pixels, int width, int height, size_t stride, int channels, int quality,
            unsigned char** out, unsigned long* out_size, char* message) {
  jpeg_compress_struct info;
  ErrorManager err;
  info.err = jumping_errors(err);
  if (setjmp(err.jump) != 0) {
    std::memcpy(message, err.message, sizeof err.message);
    jpeg_destroy_compress(&info);
    return false;
  }
  jpeg_create_compress(&info);
  jpeg_mem_dest(&info, out, out_size);
  info.image_width = static_cast<JDIMENSION>(width);
  info.image_height = static_cast<JDIMENSION>(height);
  info.input_components = channels;
  info.in_color_space = channels == 3 ? JCS_EXT_BGR : JCS_GRAYSCALE;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);  // baseline tables, as OpenCV
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(pixels + info.next_scanline * stride);
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  return true;
}

bool decode(const unsigned char* bytes, unsigned long size, uint8_t* pixels, int width, int height, size_t stride,
            int channels, char* message) {
  jpeg_decompress_struct info;
  ErrorManager err;
  info.err = jumping_errors(err);
  if (setjmp(err.jump) != 0) {
    std::memcpy(message, err.message, sizeof err.message);
    jpeg_destroy_decompress(&info);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, bytes, size);
  jpeg_read_header(&info, TRUE);
  info.out_color_space = channels == 3 ? JCS_EXT_BGR : JCS_GRAYSCALE;
  jpeg_start_decompress(&info);
  if (static_cast<int>(info.output_width) != width || static_cast<int>(info.output_height) != height) {
    std::snprintf(message, JMSG_LENGTH_MAX, "decoded %ux%u, expected %dx%d", info.output_width, info.output_height,
                  width, height);
    jpeg_destroy_decompress(&info);
    return false;
  }
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = pixels + info.output_scanline * stride;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return true;
}

}  // namespace

Status jpeg_round_trip(uint8_t* pixels, int width_px, int height_px, size_t stride, int channels, int quality) {
  if (pixels == nullptr || width_px <= 0 || height_px <= 0) return Status::usage("jpeg", "empty picture");
  if (channels != 1 && channels != 3) return Status::usage("jpeg", "picture must be gray or BGR");
  if (stride < static_cast<size_t>(width_px) * static_cast<size_t>(channels)) {
    return Status::usage("jpeg", "row stride shorter than a row");
  }
  quality = std::clamp(quality, 0, 100);  // as cv::imencode
  unsigned char* bytes = nullptr;
  unsigned long size = 0;
  char message[JMSG_LENGTH_MAX] = {0};
  const bool encoded = encode(pixels, width_px, height_px, stride, channels, quality, &bytes, &size, message);
  bool decoded = false;
  if (encoded) decoded = decode(bytes, size, pixels, width_px, height_px, stride, channels, message);
  std::free(bytes);
  if (!encoded || !decoded) return Status::internal("jpeg", std::string(encoded ? "decode: " : "encode: ") + message);
  return Status::ok();
}

}  // namespace unmask::media
