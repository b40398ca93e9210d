// unmask mark: an invisible, keyed watermark in the luma of every frame (OpenCV inside).
//
// Two layers share each frame:
//  * robust: a 64-bit payload (issuer, synthetic flag, version, sequence) + CRC-24, convolutional
//    code (K=7, rate 1/3), spread over a keyed grid of +-1 chips defined relative to the frame
//    (128 chips along the short side), so a resize lands on the same grid. The embedder cancels
//    the host's own projection on every coded bit (as the frame is and as a downscale would
//    leave it); verify area-averages each frame onto the grid, soft-combines frames weighted by
//    their sync evidence, and searches crops as a fallback.
//  * semi-fragile: per textured block, 3 bits derived from the key, the block position and its
//    coarse mean, embedded by QIM in the 3 lowest DCT coefficients. They survive a re-encode of
//    static content (CRF 23 I-frames); a pasted or swapped region breaks them, which verify
//    reports as a tamper map of connected regions.
//    Moving blocks and unreadable frames are left out (encoders carry old bits along motion).
// Limits and measurements: docs/watermark.md.
//
// Basic usage:
//
//   // Mark a file (video: audio is copied untouched; image: jpg/png in and out).
//   unmask::mark::MarkOptions opts;
//   opts.issuer = 4660;
//   auto report = unmask::mark::embed_file("in.mp4", "out.mp4", opts);   // Result<EmbedReport>
//
//   // Synthetic media (`unmask synth` does this for EVERY output):
//   auto r = unmask::mark::embed_file(tmp_path, out_path, unmask::mark::synthetic_options("landmark"));
//   // ... or while encoding, frame by frame, without a second pass:
//   auto marker = unmask::mark::FrameMarker::create(width_px, height_px,
//                                                   unmask::mark::synthetic_options("autoencoder"));
//   for (each frame) { (*marker)->mark(frame.image); writer->write(frame.image, frame.pts_us); }
//   // and add (*marker)->container_tags() to VideoWriterOptions::metadata when opening the writer.
//
//   // Check a file:
//   auto v = unmask::mark::verify_file("copy.mp4");                         // Result<VerifyResult>
//   if (v->found) use(v->payload.issuer, v->payload.synthetic);
//
// `found` is true only when the decoded payload passes its CRC-24 and the soft correlation with
// the re-encoded codeword clears a threshold: the payload of an unmarked file is never reported.
// Thread-safety: FrameMarker::mark and FrameVerifier::add are not re-entrant on one object;
// separate objects may be used on separate threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/core.h"

namespace unmask::mark {

// The public default key: anyone with unmask can read the mark. Private deployments pass their own.
inline constexpr const char* kDefaultKey = "unmask-public-watermark-key-v1";
// 3: the tamper layer reads blocks through a clamp at 4 / 251 levels and marks only blocks with
// half their pixels inside it (version 2: plain luma; version 1: 8 bits in 8 coefficients).
// Older files still decode their payload; their tamper layer is not checked (tamper_checked false).
inline constexpr int kPayloadVersion = 3;

// The 64 payload bits: issuer (32) | synthetic (1) | version (3) | sequence (28).
struct Payload {
  uint32_t issuer = 0;
  bool synthetic = false;
  uint8_t version = kPayloadVersion;  // 0-7
  uint32_t sequence = 0;              // asset or sequence number, 28 bits (higher bits dropped)

  uint64_t pack() const;
  static Payload unpack(uint64_t bits);
  std::string hex() const;            // 16 hex digits of pack()
  bool operator==(const Payload&) const = default;
};

struct MarkOptions {
  uint32_t issuer = 0;
  bool synthetic = false;
  uint32_t sequence = 0;
  double strength = 1.0;          // scales both layers; 1.0 gives ~43 dB PSNR
  bool semi_fragile = true;       // also embed the tamper layer
  bool informed = true;           // cancel each frame's own content on every coded bit (slower)
  bool still = false;             // marking a still image; embed_file sets it (same grid as video)
  std::string key = kDefaultKey;  // keys the chip pattern, the permutation and the tamper bits
  std::string method;             // free text written to the container tag "unmask_method"
  int crf = 18;                   // video output quality (x264 CRF)
  int jpeg_quality = 95;          // .jpg output quality
  ProgressFn progress;            // for embed_file; may be empty
};

// x264 options for writing marked video: keep the small residuals that carry the mark. By default
// x264 zeroes low-energy inter blocks (DCT decimation) and rounds small coefficients to zero
// (dead zones), which erases a faint mark wherever the picture moves. Pass as
// media::VideoWriterOptions::x264_params. Costs a few percent of bitrate.
inline constexpr const char* kMarkPreservingX264Params = "no-dct-decimate=1:deadzone-inter=4:deadzone-intra=4";

// The options `unmask synth` uses for every output: synthetic flag set, issuer 0 (the tool),
// `method` recorded in the container. Pass still = true when the output is a single image.
MarkOptions synthetic_options(const std::string& method, bool still = false);

// Coarse content of a frame: 16x16 grid of mean luma (256 bytes). Survives re-encoding; a swapped
// face or inserted object changes it. Frames are grouped in one-second segments by pts.
using Fingerprint = std::vector<uint8_t>;
Fingerprint content_fingerprint(const Image& image);

// Collects per-segment fingerprints (the mean over a segment's frames) from frames in pts order.
class SegmentFingerprints {
 public:
  void add(const Image& image, int64_t pts_us);
  std::vector<Fingerprint> finish() const;

 private:
  std::vector<std::vector<double>> sums_;
  std::vector<int> counts_;
};

// Marks frames of one size in place. The chip pattern is computed once in create(); mark() costs
// a few milliseconds per 1080p frame. Frames smaller than 64x64 are an input error.
class FrameMarker {
 public:
  static Result<std::unique_ptr<FrameMarker>> create(int width_px, int height_px, const MarkOptions& options);
  virtual ~FrameMarker() = default;
  // `image` must be width_px x height_px BGR (else a usage error).
  virtual Status mark(Image& image) = 0;
  virtual const Payload& payload() const = 0;
  // Tags to write into the container ("unmask_watermark", "unmask_method").
  virtual std::vector<std::pair<std::string, std::string>> container_tags() const = 0;
};

struct EmbedReport {
  Payload payload;
  bool is_image = false;
  int width_px = 0;
  int height_px = 0;
  int64_t n_frames = 0;
  double psnr_db = 0.0;                    // mean over frames, marked vs input (before encoding)
  std::vector<Fingerprint> fingerprints;   // per one-second segment of the marked frames
};

// Marks every frame of `in` and writes `out` (video: H.264 at options.crf with the audio copied;
// image: written by extension). Input error for unreadable input, usage error for bad options.
Result<EmbedReport> embed_file(const std::string& in, const std::string& out, const MarkOptions& options);

struct VerifyOptions {
  std::string key = kDefaultKey;
  int max_frames = 128;       // frames used for the watermark, evenly spread over the file
  bool tamper = true;         // compute the semi-fragile tamper map
  bool render_tamper_map = false;  // fill VerifyResult::tamper_map
  bool fingerprints = true;   // compute per-segment fingerprints of every frame
  ProgressFn progress;
};

struct TamperFrame {
  int64_t index = 0;
  double t_s = 0.0;
  double fraction_blocks = 0.0;
  std::vector<Box> regions;    // in pixels of the checked frame
};

struct VerifyResult {
  bool found = false;
  Payload payload;             // meaningful only when found
  double confidence = 0.0;     // 1 - estimated false-positive probability, 0 when not found
  double bit_error_rate = 0.5; // coded-bit error rate vs the re-encoded codeword (when found)
  int frames_checked = 0;
  int64_t n_frames = 0;        // frames decoded
  // Diagnostics of the decoder (always filled, found or not).
  uint64_t raw_payload_bits = 0;   // best-guess payload even when not found: for benchmarks only
  bool crc_ok = false;
  double correlation = 0.0;        // normalised soft correlation with the codeword
  double sync_peak = 0.0;          // sync peak over noise (z-score)
  double period_px = 0.0;          // chip size of the mark found, in input pixels (horizontal)
  // Tamper layer; only when found and the frame geometry is the one that was marked.
  // A frame is readable when most of its textured blocks still carry their bits: re-encoders copy
  // moving content from earlier frames with its old bits, so P/B-frames with motion may be
  // unreadable; they are skipped (counted out), not reported as tampered.
  bool tamper_checked = false;
  int tamper_frames_readable = 0;
  double tamper_fraction_frames = 0.0;      // of readable frames, those with a flagged region
  std::vector<TamperFrame> tamper_frames;   // readable frames with at least one flagged region
  double tamper_mean_fraction_blocks = 0.0; // over readable frames
  Image tamper_map;                         // the most tampered frame with flagged blocks drawn
  std::vector<Fingerprint> fingerprints;
  bool is_image = false;
};

// Streams frames into the detector: add() at most max_frames frames (all of one size), finish().
// The gray image FrameVerifier::add works on, converted as add() converts a colour frame: given
// to add() instead of the frame, it gives the same result from a third of the bytes.
Image verifier_gray(const Image& image);

class FrameVerifier {
 public:
  static std::unique_ptr<FrameVerifier> create(const VerifyOptions& options = {});
  virtual ~FrameVerifier() = default;
  // `previous` (optional): the frame decoded just before this one. With it, blocks whose content
  // moved are left out of the tamper check (re-encoders carry moving content with its old bits).
  virtual Status add(const Image& image, int64_t index, int64_t pts_us, const Image* previous = nullptr) = 0;
  virtual VerifyResult finish() = 0;
};

// Decodes `path` (video or image) and looks for the mark. Input error for unreadable files;
// an unmarked file is a result with found == false.
Result<VerifyResult> verify_file(const std::string& path, const VerifyOptions& options = {});

// PSNR (dB) of `b` against `a` over all channels; +inf for identical images.
double psnr_db(const Image& a, const Image& b);

}  // namespace unmask::mark
