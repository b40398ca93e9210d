// unmask media: probe, decode and encode video, audio and images (FFmpeg inside).
//
// Basic usage:
//
//   auto info = unmask::media::probe("clip.mp4");          // Result<MediaInfo>
//
//   unmask::media::VideoReadOptions opts;
//   opts.max_side_px = 640;                                // downscale on decode
//   auto reader = unmask::media::VideoReader::open("clip.mp4", opts);
//   if (!reader.ok()) return reader.status();
//   unmask::VideoFrame frame;
//   while (true) {
//     auto more = (*reader)->read(frame);                  // Result<bool>: false at the end
//     if (!more.ok()) return more.status();
//     if (!*more) break;
//     use(frame.image, frame.pts_us);
//   }
//
//   auto audio = unmask::media::read_audio("clip.mp4");    // mono float PCM at 16 kHz
//
//   unmask::media::VideoWriterOptions wopts;
//   wopts.copy_audio_from = "clip.mp4";                    // keep the original sound
//   auto writer = unmask::media::VideoWriter::open("out.mp4", 1280, 720, 30.0, wopts);
//   (*writer)->write(frame.image, frame.pts_us);
//   (*writer)->close();
//
// Images (jpg, png, bmp, webp) are videos with one frame for every reader.
// Thread-safety: each reader or writer belongs to one thread at a time; different objects may be
// used concurrently. Memory does not grow with a stream's length.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/core.h"

namespace unmask::media {

struct VideoStreamInfo {
  std::string codec;       // e.g. "h264"
  int width_px = 0;        // as stored, before rotation is applied
  int height_px = 0;
  double fps = 0.0;        // average frame rate; 0 for a single image
  int64_t n_frames = 0;    // from the container, or estimated from duration x fps
  bool n_frames_estimated = false;
  int rotation_deg = 0;    // clockwise rotation to apply for display: 0, 90, 180 or 270
};

struct AudioStreamInfo {
  std::string codec;       // e.g. "aac"
  int sample_rate_hz = 0;
  int channels = 0;
};

struct MediaInfo {
  std::string path;
  std::string format;      // the demuxer's name list, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  double duration_s = 0.0;
  int64_t size_bytes = 0;
  bool is_image = false;   // a still picture (jpg, png, ...)
  std::optional<VideoStreamInfo> video;
  std::optional<AudioStreamInfo> audio;
};

// Opens the file, reads its headers and stream information. Input error when the file is missing,
// a directory, empty, or not media FFmpeg can read; a file with neither video nor audio too.
Result<MediaInfo> probe(const std::string& path);

// The container's global metadata tags (e.g. "comment", "unmask_manifest").
Result<std::map<std::string, std::string>> read_metadata(const std::string& path);

struct VideoReadOptions {
  int every_nth = 1;          // return frames 0, k, 2k, ... (all are still decoded)
  int64_t start_us = 0;       // first presentation time to return
  int64_t end_us = -1;        // stop before this time; -1 = to the end
  int max_side_px = 0;        // downscale (keeping aspect) so the longer side fits; 0 = no limit
  bool apply_rotation = true; // rotate frames as the stream's display matrix says
  int threads = 0;            // decoder threads; 0 = FFmpeg's choice (all cores)
};

class VideoReader {
 public:
  // Input error when the file has no video stream or cannot be opened; usage error for bad options.
  static Result<std::unique_ptr<VideoReader>> open(const std::string& path,
                                                   const VideoReadOptions& options = {});
  virtual ~VideoReader() = default;

  // Decodes the next returned frame into `frame` (BGR). Returns false at the end of the stream.
  // Timestamps increase strictly; for variable frame rate the real timestamps are kept. A corrupt
  // stream is an input error; a stream that simply ends early ends the reading.
  virtual Result<bool> read(VideoFrame& frame) = 0;

  virtual const MediaInfo& info() const = 0;
  // Size of the frames read() returns (after rotation and downscaling).
  virtual int output_width_px() const = 0;
  virtual int output_height_px() const = 0;
};

// Decodes the audio of a video or audio file to mono float PCM at `sample_rate_hz`.
// Input error when there is no audio stream or it cannot be decoded.
Result<Audio> read_audio(const std::string& path, int sample_rate_hz = 16000);

// Streaming form of read_audio, for long files: read() appends up to max_samples samples.
class AudioReader {
 public:
  static Result<std::unique_ptr<AudioReader>> open(const std::string& path, int sample_rate_hz = 16000);
  virtual ~AudioReader() = default;
  // Appends at most max_samples samples to `out`; returns how many were appended (0 at the end).
  virtual Result<size_t> read(std::vector<float>& out, size_t max_samples) = 0;
  virtual int sample_rate_hz() const = 0;
  // The container and its audio; video streams are not looked into, so `video` is left empty.
  virtual const MediaInfo& info() const = 0;
};

struct VideoWriterOptions {
  int crf = 18;                          // x264 constant rate factor (0-51, lower = better)
  std::string preset = "veryfast";       // x264 preset
  std::string x264_params;               // extra x264 options "key=value:key=value" (may be empty)
  int rotation_deg = 0;                  // display matrix written to the stream (0/90/180/270)
  std::map<std::string, std::string> metadata;  // container tags
  // Audio: at most one of these. Copy keeps the source's packets untouched when the container
  // accepts the codec, and re-encodes to AAC otherwise.
  std::string copy_audio_from;
  std::optional<Audio> pcm_audio;        // encoded to AAC (mono)
};

// Encodes BGR frames to H.264 (yuv420p) in mp4/mov/mkv (chosen by the file extension), with audio.
// Writes go to a temporary file that close() renames into place: an interrupted write never
// leaves a half file under the final name.
class VideoWriter {
 public:
  static Result<std::unique_ptr<VideoWriter>> open(const std::string& path, int width_px,
                                                   int height_px, double fps,
                                                   const VideoWriterOptions& options = {});
  virtual ~VideoWriter() = default;
  // `image` must be width_px x height_px BGR. pts_us must increase; pass -1 to use index / fps.
  virtual Status write(const Image& image, int64_t pts_us = -1) = 0;
  // Flushes encoders, writes the trailer and moves the file into place.
  virtual Status close() = 0;
};

// Reads a still image (any format FFmpeg decodes) as BGR.
Result<Image> read_image(const std::string& path);
// Writes a PNG (lossless) or JPEG (quality 1-100, by extension .jpg/.jpeg) image. Gray or BGR.
Status write_image(const std::string& path, const Image& image, int jpeg_quality = 92);

// Compresses a picture as JPEG at `quality` (0-100, clamped) and decodes it again, in place: what
// it looks like after one re-encode. BGR (3 channels) or gray (1), rows `stride` bytes apart.
// libjpeg-turbo with the settings cv::imencode/cv::imdecode use (baseline tables, 2x2 chroma
// subsampling, integer DCT, no optimised Huffman coding): the pixels are exactly theirs
// (tests/media/jpeg_test.cpp), so augmentations written with OpenCV give the same training data.
Status jpeg_round_trip(uint8_t* pixels, int width_px, int height_px, size_t stride, int channels, int quality);

// Encodes a PNG or JPEG image (by `extension`: ".png", ".jpg", ".jpeg") in memory; as write_image.
Result<std::string> encode_image(const Image& image, const std::string& extension, int jpeg_quality = 92);

// True when the extension names a still-image format (.jpg, .jpeg, .png, .bmp, .webp).
bool has_image_extension(const std::string& path);
// True when the extension names an audio-only format (.wav, .mp3, .flac, .m4a, .ogg, .opus, .aac).
bool has_audio_extension(const std::string& path);

}  // namespace unmask::media
