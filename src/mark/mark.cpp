// Public API of mark: payload packing, FrameMarker, FrameVerifier, and the file-level functions.
#include "mark/mark.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "mark/internal.h"
#include "media/cv_image.h"
#include "media/media.h"

namespace unmask::mark {
namespace {

using namespace detail;

constexpr double kRobustRms = 1.45;      // gray levels at strength 1
constexpr double kMinCorrelation = 0.12; // soft correlation with the codeword for "found"
constexpr double kMinSyncZ = 2.5;        // combined sync score for "found" on the whole-frame path (sanity gate)
constexpr int kFingerprintSide = 16;
constexpr double kMaxDecodes = 3;        // two whole-frame grids + one crop hypothesis per file

cv::Mat gray_of(const Image& image) {
  cv::Mat gray;
  if (image.channels() == 1) {
    gray = cv::Mat(image.height_px(), image.width_px(), CV_8U, const_cast<uint8_t*>(image.data())).clone();
  } else {
    cv::Mat bgr(image.height_px(), image.width_px(), CV_8UC3, const_cast<uint8_t*>(image.data()));
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  }
  return gray;
}

class FrameMarkerImpl final : public FrameMarker {
 public:
  FrameMarkerImpl(int w, int h, const MarkOptions& o)
      : width_(w), height_(h), options_(o), payload_(make_payload(o)), seed_(key_seed(o.key)),
        robust_(w, h, o.key, payload_.pack(), o.informed) {}

  static Payload make_payload(const MarkOptions& o) {
    Payload p;
    p.issuer = o.issuer;
    p.synthetic = o.synthetic;
    p.sequence = o.sequence & 0x0FFFFFFFu;
    return p;
  }

  Status mark(Image& image) override {
    if (image.width_px() != width_ || image.height_px() != height_ || image.channels() != 3) {
      return Status::usage("mark", "frame is " + std::to_string(image.width_px()) + "x" +
                                       std::to_string(image.height_px()) + ", marker was made for " +
                                       std::to_string(width_) + "x" + std::to_string(height_) + " BGR");
    }
    // One pass over the pixels for both layers: the robust change (rounded), then the tamper
    // layer's change for the luma the robust one leaves (adding the same value to B, G and R
    // adds exactly that value to the luma, unless a channel clamps), applied together. Blocks
    // where a channel clamped are checked and re-embedded on the final image.
    cv::Mat bgr(height_, width_, CV_8UC3, image.data());
    cv::cvtColor(bgr, gray_, cv::COLOR_BGR2GRAY);
    robust_.delta(gray_.data, kRobustRms * options_.strength, delta_);
    const size_t n = static_cast<size_t>(width_) * height_;
    total_.resize(n);
    uint8_t* luma = gray_.data;
    for (size_t i = 0; i < n; ++i) {
      const int r = cvRound(delta_[i]);
      total_[i] = static_cast<int16_t>(r);
      luma[i] = cv::saturate_cast<uint8_t>(luma[i] + r);
    }
    const int b = fragile_block_px(height_);
    clipped_.assign(static_cast<size_t>(std::max(1, (width_ / b) * (height_ / b))), 0);
    if (options_.semi_fragile) fragile_delta(luma, width_, height_, seed_, total_.data(), &clipped_);
    apply_luma_delta(image, total_.data(), b, width_ / b, height_ / b, clipped_);
    if (options_.semi_fragile) fragile_fix(image, seed_, clipped_);
    return Status::ok();
  }

  const Payload& payload() const override { return payload_; }

  std::vector<std::pair<std::string, std::string>> container_tags() const override {
    std::vector<std::pair<std::string, std::string>> tags = {
        {"unmask_watermark", "v" + std::to_string(kPayloadVersion) + " issuer=" + std::to_string(payload_.issuer) +
                                 " synthetic=" + (payload_.synthetic ? "1" : "0")}};
    if (!options_.method.empty()) tags.emplace_back("unmask_method", options_.method);
    return tags;
  }

 private:
  int width_, height_;
  MarkOptions options_;
  Payload payload_;
  uint64_t seed_ = 0;
  RobustEmbedder robust_;
  // Buffers reused from frame to frame.
  cv::Mat gray_;
  std::vector<float> delta_;
  std::vector<int16_t> total_;
  std::vector<uint8_t> clipped_;
};

class FrameVerifierImpl final : public FrameVerifier {
 public:
  explicit FrameVerifierImpl(const VerifyOptions& o) : options_(o), robust_(o.key), seed_(key_seed(o.key)) {}

  Status add(const Image& image, int64_t index, int64_t pts_us, const Image* previous) override {
    if (image.empty()) return Status::input("frame", "empty image");
    if (width_ == 0) { width_ = image.width_px(); height_ = image.height_px(); }
    if (image.width_px() != width_ || image.height_px() != height_) {
      return Status::input("frame " + std::to_string(index), "frame size changed within the stream");
    }
    cv::Mat gray = gray_of(image);
    robust_.add_gray(gray.data, gray.cols, gray.rows);
    if (options_.tamper) {
      cv::Mat previous_gray;
      if (previous != nullptr && previous->width_px() == width_ && previous->height_px() == height_) {
        previous_gray = gray_of(*previous);
      }
      FrameScores fs{index, pts_us / 1e6,
                     fragile_scores(gray.data, gray.cols, gray.rows, seed_,
                                    previous_gray.empty() ? nullptr : previous_gray.data)};
      const TamperMap raw = tamper_map(fs.scores);
      if (options_.render_tamper_map && (map_frame_.empty() || (raw.readable() && raw.fraction_blocks > map_fraction_))) {
        map_fraction_ = raw.fraction_blocks;
        map_frame_ = image;
        map_scores_ = fs.scores;
      }
      frames_.push_back(std::move(fs));
    }
    return Status::ok();
  }

  VerifyResult finish() override {
    VerifyResult v;
    v.frames_checked = robust_.n_frames();
    if (v.frames_checked == 0) return v;
    const RobustResult r = robust_.detect();
    v.raw_payload_bits = r.decoded.payload_bits;
    v.crc_ok = r.decoded.crc_ok;
    v.correlation = r.correlation;
    v.sync_peak = r.sync_z;
    v.period_px = r.grid.nx > 0 ? static_cast<double>(width_) / (r.canonical ? r.grid.nx : r.crop_w) : 0.0;
    // The crop search's sync score is the best of many hypotheses on the frames' average, not a
    // calibrated z-score: there the CRC and the correlation decide alone.
    v.found = r.decoded.crc_ok && r.correlation >= kMinCorrelation && (!r.canonical || r.sync_z >= kMinSyncZ);
    if (!v.found) return v;
    v.payload = Payload::unpack(r.decoded.payload_bits);
    v.bit_error_rate = r.bit_error_rate;
    // CRC-24 leaves 2^-24 per decode and a file gets at most kMaxDecodes. The sync score is not
    // a calibrated z-score on static content (its noise repeats across frames), so it does not
    // lower this bound.
    v.confidence = 1.0 - kMaxDecodes * std::ldexp(1.0, -24);
    // The tamper layer is read only as this version writes it: an older layer read with today's
    // features would show blocks as altered that are not.
    if (options_.tamper && geometry_is_original(r) && v.payload.version == kPayloadVersion) {
      v.tamper_checked = true;
      int n_tampered = 0;
      double sum = 0;
      int n_readable = 0;
      for (const FrameScores& fs : frames_) {
        const TamperMap m = tamper_map(fs.scores);
        if (!m.readable()) continue;
        ++n_readable;
        sum += m.fraction_blocks;
        if (m.regions.empty()) continue;
        ++n_tampered;
        v.tamper_frames.push_back(TamperFrame{fs.index, fs.t_s, m.fraction_blocks, m.regions});
      }
      v.tamper_frames_readable = n_readable;
      v.tamper_fraction_frames = n_readable == 0 ? 0.0 : static_cast<double>(n_tampered) / n_readable;
      v.tamper_mean_fraction_blocks = n_readable == 0 ? 0.0 : sum / n_readable;
      if (options_.render_tamper_map && !map_frame_.empty()) v.tamper_map = render(map_frame_, tamper_map(map_scores_));
    }
    return v;
  }

 private:
  struct FrameScores {
    int64_t index;
    double t_s;
    FragileScores scores;
  };

  Image render(const Image& frame, const TamperMap& m) const {
    Image out = frame;
    cv::Mat bgr(out.height_px(), out.width_px(), CV_8UC3, out.data());
    const int b = map_scores_.block_px;
    cv::Mat overlay = bgr.clone();
    for (int by = 0; by < map_scores_.blocks_y; ++by)
      for (int bx = 0; bx < map_scores_.blocks_x; ++bx)
        if (m.flagged[by * map_scores_.blocks_x + bx]) {
          cv::rectangle(overlay, cv::Rect(bx * b, by * b, b, b), cv::Scalar(0, 0, 255), cv::FILLED);
        }
    cv::addWeighted(overlay, 0.45, bgr, 0.55, 0, bgr);
    const int thickness = std::max(2, out.height_px() / 240);
    for (const Box& r : m.regions) {
      cv::rectangle(bgr, cv::Rect(int(r.x), int(r.y), int(r.w), int(r.h)), cv::Scalar(0, 255, 255), thickness);
    }
    return out;
  }

  VerifyOptions options_;
  RobustDetector robust_;
  uint64_t seed_;
  int width_ = 0, height_ = 0;
  std::vector<FrameScores> frames_;
  Image map_frame_;
  FragileScores map_scores_;
  double map_fraction_ = -1;
};

}  // namespace

Image verifier_gray(const Image& image) {
  if (image.channels() == 1 || image.empty()) return image;
  return media::to_image(gray_of(image));
}

// ---- Payload ----------------------------------------------------------------------------------

uint64_t Payload::pack() const {
  return (static_cast<uint64_t>(issuer) << 32) | (static_cast<uint64_t>(synthetic ? 1 : 0) << 31) |
         (static_cast<uint64_t>(version & 7) << 28) | (sequence & 0x0FFFFFFFu);
}

Payload Payload::unpack(uint64_t bits) {
  Payload p;
  p.issuer = static_cast<uint32_t>(bits >> 32);
  p.synthetic = ((bits >> 31) & 1) != 0;
  p.version = static_cast<uint8_t>((bits >> 28) & 7);
  p.sequence = static_cast<uint32_t>(bits & 0x0FFFFFFFu);
  return p;
}

std::string Payload::hex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(pack()));
  return buf;
}

MarkOptions synthetic_options(const std::string& method, bool still) {
  MarkOptions o;
  o.issuer = 0;
  o.synthetic = true;
  o.method = method;
  o.still = still;
  return o;
}

// ---- fingerprints -------------------------------------------------------------------------------

Fingerprint content_fingerprint(const Image& image) {
  cv::Mat gray = gray_of(image), small;
  cv::resize(gray, small, cv::Size(kFingerprintSide, kFingerprintSide), 0, 0, cv::INTER_AREA);
  return Fingerprint(small.datastart, small.dataend);
}

void SegmentFingerprints::add(const Image& image, int64_t pts_us) {
  const size_t segment = static_cast<size_t>(std::max<int64_t>(0, pts_us) / 1000000);
  if (sums_.size() <= segment) {
    sums_.resize(segment + 1, std::vector<double>(kFingerprintSide * kFingerprintSide, 0.0));
    counts_.resize(segment + 1, 0);
  }
  const Fingerprint fp = content_fingerprint(image);
  for (size_t i = 0; i < fp.size(); ++i) sums_[segment][i] += fp[i];
  ++counts_[segment];
}

std::vector<Fingerprint> SegmentFingerprints::finish() const {
  std::vector<Fingerprint> out;
  for (size_t s = 0; s < sums_.size(); ++s) {
    if (counts_[s] == 0) continue;
    Fingerprint fp(sums_[s].size());
    for (size_t i = 0; i < fp.size(); ++i) fp[i] = static_cast<uint8_t>(std::lround(sums_[s][i] / counts_[s]));
    out.push_back(std::move(fp));
  }
  return out;
}

double psnr_db(const Image& a, const Image& b) {
  if (a.size_bytes() != b.size_bytes() || a.empty()) return 0.0;
  double se = 0;
  for (size_t i = 0; i < a.size_bytes(); ++i) {
    const double d = static_cast<double>(a.data()[i]) - b.data()[i];
    se += d * d;
  }
  if (se == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(255.0 * 255.0 / (se / a.size_bytes()));
}

// ---- FrameMarker / FrameVerifier ---------------------------------------------------------------

Result<std::unique_ptr<FrameMarker>> FrameMarker::create(int width_px, int height_px, const MarkOptions& options) {
  if (width_px < 64 || height_px < 64) {
    return Status::input("mark", "frame " + std::to_string(width_px) + "x" + std::to_string(height_px) +
                                     " is too small to carry a watermark (minimum 64x64)");
  }
  if (!(options.strength > 0.0) || options.strength > 8.0) {
    return Status::usage("--strength", "must be in (0, 8]");
  }
  if (options.key.empty()) return Status::usage("mark key", "must not be empty");
  return std::unique_ptr<FrameMarker>(new FrameMarkerImpl(width_px, height_px, options));
}

std::unique_ptr<FrameVerifier> FrameVerifier::create(const VerifyOptions& options) {
  return std::make_unique<FrameVerifierImpl>(options);
}

// ---- files --------------------------------------------------------------------------------------

Result<EmbedReport> embed_file(const std::string& in, const std::string& out, const MarkOptions& options) {
  std::error_code ec;
  if (std::filesystem::exists(out, ec) && std::filesystem::equivalent(in, out, ec)) {
    return Status::usage(out, "output would overwrite the input");
  }
  auto info = media::probe(in);
  if (!info.ok()) return info.status();
  if (!info->video) return Status::input(in, "no video or image stream to mark");
  EmbedReport report;
  report.is_image = info->is_image || media::has_image_extension(in);
  if (report.is_image) {
    if (!media::has_image_extension(out)) {
      return Status::usage(out, "an image is marked into an image: use a .png or .jpg output");
    }
    auto image = media::read_image(in);
    if (!image.ok()) return image.status();
    MarkOptions still_options = options;
    still_options.still = true;
    auto marker = FrameMarker::create(image->width_px(), image->height_px(), still_options);
    if (!marker.ok()) return marker.status();
    Image marked = *image;
    UNMASK_RETURN_IF_ERROR((*marker)->mark(marked));
    report.payload = (*marker)->payload();
    report.width_px = marked.width_px();
    report.height_px = marked.height_px();
    report.n_frames = 1;
    report.psnr_db = psnr_db(*image, marked);
    report.fingerprints = {content_fingerprint(marked)};
    UNMASK_RETURN_IF_ERROR(media::write_image(out, marked, options.jpeg_quality));
    return report;
  }
  if (media::has_image_extension(out) || media::has_audio_extension(out)) {
    return Status::usage(out, "a video is marked into a video: use an .mp4, .mov or .mkv output");
  }
  media::VideoReadOptions ropts;
  ropts.apply_rotation = false;  // the mark lives in the stored orientation; the writer keeps it
  auto reader = media::VideoReader::open(in, ropts);
  if (!reader.ok()) return reader.status();
  const int w = (*reader)->output_width_px(), h = (*reader)->output_height_px();
  auto marker = FrameMarker::create(w, h, options);
  if (!marker.ok()) return marker.status();
  media::VideoWriterOptions wopts;
  wopts.crf = options.crf;
  wopts.x264_params = kMarkPreservingX264Params;
  wopts.rotation_deg = info->video->rotation_deg;
  for (const auto& [k, v] : (*marker)->container_tags()) wopts.metadata[k] = v;
  if (info->audio) wopts.copy_audio_from = in;
  const double fps = info->video->fps > 0 ? info->video->fps : 25.0;
  auto writer = media::VideoWriter::open(out, w, h, fps, wopts);
  if (!writer.ok()) return writer.status();
  report.payload = (*marker)->payload();
  report.width_px = w;
  report.height_px = h;
  SegmentFingerprints segments;
  VideoFrame frame;
  double psnr_sum = 0;
  int64_t psnr_n = 0;
  const int64_t n_expected = std::max<int64_t>(1, info->video->n_frames);
  int64_t last_pts = std::numeric_limits<int64_t>::min();
  while (true) {
    auto more = (*reader)->read(frame);
    if (!more.ok()) return more.status();
    if (!*more) break;
    Image original = frame.image;
    UNMASK_RETURN_IF_ERROR((*marker)->mark(frame.image));
    const double p = psnr_db(original, frame.image);
    if (std::isfinite(p)) { psnr_sum += p; ++psnr_n; }
    segments.add(frame.image, frame.pts_us);
    const int64_t pts = frame.pts_us > last_pts ? frame.pts_us : last_pts + 1;
    last_pts = pts;
    UNMASK_RETURN_IF_ERROR((*writer)->write(frame.image, pts));
    ++report.n_frames;
    if (options.progress) options.progress(std::min(1.0, static_cast<double>(report.n_frames) / n_expected), "marking");
  }
  if (report.n_frames == 0) return Status::input(in, "no decodable video frames");
  UNMASK_RETURN_IF_ERROR((*writer)->close());
  report.psnr_db = psnr_n > 0 ? psnr_sum / psnr_n : std::numeric_limits<double>::infinity();
  report.fingerprints = segments.finish();
  return report;
}

Result<VerifyResult> verify_file(const std::string& path, const VerifyOptions& options) {
  auto info = media::probe(path);
  if (!info.ok()) return info.status();
  if (!info->video) return Status::input(path, "no video or image stream to check");
  auto verifier = FrameVerifier::create(options);
  const bool is_image = info->is_image || media::has_image_extension(path);
  if (is_image) {
    auto image = media::read_image(path);
    if (!image.ok()) return image.status();
    UNMASK_RETURN_IF_ERROR(verifier->add(*image, 0, 0));
    VerifyResult v = verifier->finish();
    v.is_image = true;
    v.n_frames = 1;
    if (options.fingerprints) v.fingerprints = {content_fingerprint(*image)};
    return v;
  }
  media::VideoReadOptions ropts;
  ropts.apply_rotation = false;
  auto reader = media::VideoReader::open(path, ropts);
  if (!reader.ok()) return reader.status();
  const int64_t n_expected = std::max<int64_t>(1, info->video->n_frames);
  const int64_t stride = std::max<int64_t>(1, (n_expected + options.max_frames - 1) / std::max(1, options.max_frames));
  SegmentFingerprints segments;
  VideoFrame frame;
  Image previous;  // the frame before, for the tamper layer's motion test
  int64_t n = 0, n_added = 0;
  while (true) {
    if (options.tamper) previous = frame.image;
    auto more = (*reader)->read(frame);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (options.fingerprints) segments.add(frame.image, frame.pts_us);
    if (n % stride == 0 && n_added < options.max_frames) {
      UNMASK_RETURN_IF_ERROR(verifier->add(frame.image, frame.index, frame.pts_us,
                                           options.tamper && n > 0 ? &previous : nullptr));
      ++n_added;
    } else if (!options.fingerprints && n_added >= options.max_frames) {
      ++n;
      break;
    }
    ++n;
    if (options.progress) options.progress(std::min(1.0, static_cast<double>(n) / n_expected), "checking");
  }
  if (n == 0) return Status::input(path, "no decodable video frames");
  VerifyResult v = verifier->finish();
  v.n_frames = n;
  if (options.fingerprints) v.fingerprints = segments.finish();
  return v;
}

}  // namespace unmask::mark
