// scan_file: probe, one decode with face tracking (crops, watermark frames), detectors, audio,
// fusion, the report.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <cstdio>
#include <filesystem>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <thread>

#include "core/clock.h"
#include "detect/detect.h"
#include "mark/mark.h"
#include "media/media.h"
#include "nn/nn.h"
#include "scan/audio.h"
#include "scan/scan.h"
#include "scan/tracks.h"
#include "sign/sign.h"

namespace unmask::scan {
namespace {

namespace fs = std::filesystem;

constexpr int kWatermarkFrames = 16;
constexpr int kWatermarkFramesFast = 8;
constexpr double kMinAudioSeconds = 0.5;
constexpr int kMinVideoFrames = 3;

// The watermark check, fed from the same decode as the faces: an evenly spread sample of frames
// (and the frame before each, for the tamper layer's motion test), plus the content fingerprints
// of every frame when a signed sidecar asks for them. The verifier runs on a thread of its own
// (copies of the sampled frames go to it through a short queue): the decoder leaves most of the
// second core free, and the face tracker keeps the first. Its final search for the mark (the
// costly part, ~0.13 s of CPU at 720p) runs on that thread too, as soon as the last sampled frame
// is in (or at close(), when the file ends early or fingerprints need every frame), beside the
// tracking of the last frames and the scoring of the last face tracks.
class WatermarkTap {
 public:
  WatermarkTap(int64_t n_expected_frames, int max_frames, bool tamper, bool fingerprints)
      : max_frames_(max_frames), fingerprints_(fingerprints), tamper_(tamper) {
    mark::VerifyOptions vo;
    vo.max_frames = max_frames;
    vo.tamper = tamper;
    vo.fingerprints = fingerprints;
    verifier_ = mark::FrameVerifier::create(vo);
    stride_ = std::max<int64_t>(1, (std::max<int64_t>(1, n_expected_frames) + max_frames - 1) / max_frames);
    worker_ = std::thread([this] { run(); });
  }
  ~WatermarkTap() { stop(/*abandon=*/true); }
  WatermarkTap(const WatermarkTap&) = delete;
  WatermarkTap& operator=(const WatermarkTap&) = delete;

  // Called from the tracking thread for every frame, in order.
  Status add(const face::FrameFaces& ff) {
    if (fingerprints_) segments_.add(ff.image, ff.pts_us);
    if (n_ % stride_ == 0 && n_added_ < max_frames_) {
      Job job{sample_copy(ff.image), std::move(previous_), ff.index, ff.pts_us};
      // As many jobs as 256 MB of their colour frames hold: at 8K (two 100 MB frames, sent as
      // gray copies) one at a time; at 2160p and below three.
      const size_t job_bytes = std::max<size_t>(1, 2 * ff.image.size_bytes());
      const size_t depth = std::clamp<size_t>(kQueueBudgetBytes / job_bytes, 1, kQueueDepth);
      std::unique_lock lock(mutex_);
      not_full_.wait(lock, [&] { return queue_.size() < depth || !status_.is_ok(); });
      if (!status_.is_ok()) return status_;
      queue_.push_back(std::move(job));
      ++n_added_;
      // The sample is complete and no fingerprints are wanted: nothing later in the file changes
      // the result, so the final search starts now, beside the tracking of the last frames
      // (whose decoding is done by then, leaving a core free) instead of after them.
      if (n_added_ == max_frames_ && !fingerprints_) closed_ = true;
      not_empty_.notify_one();
    }
    ++n_;
    if (tamper_ && n_ % stride_ == 0 && n_added_ < max_frames_) {
      previous_ = sample_copy(ff.image);  // the frame before the next sample
    } else if (!previous_.empty()) {
      previous_ = Image();
    }
    return Status::ok();
  }

  // No more frames: the verifier's final search starts on its thread.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }

  Result<mark::VerifyResult> finish() {
    close();
    stop(/*abandon=*/false);
    if (!status_.is_ok()) return status_;
    if (!result_) return Status::internal("watermark", "the verifier did not finish");
    mark::VerifyResult v = std::move(*result_);
    v.n_frames = n_;
    if (fingerprints_) v.fingerprints = segments_.finish();
    return v;
  }
  // Time spent in the verifier (on its thread, overlapping the decode and the last tracks' scoring).
  double seconds() const { return seconds_; }

 private:
  static constexpr size_t kQueueDepth = 3;
  static constexpr size_t kQueueBudgetBytes = size_t{256} << 20;
  // Frames larger than 2160p (25 MB) go to the verifier as its gray image (the same result from a
  // third of the bytes: 33 MB instead of 100 at 8K); smaller ones as they are, converted on the
  // verifier's thread rather than the tracker's.
  static constexpr size_t kGrayCopyAboveBytes = size_t{32} << 20;
  static Image sample_copy(const Image& frame) {
    return frame.size_bytes() > kGrayCopyAboveBytes ? mark::verifier_gray(frame) : frame;
  }
  struct Job {
    Image image;
    Image previous;
    int64_t index = 0;
    int64_t pts_us = 0;
  };

  void run() {
    while (true) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, [&] { return !queue_.empty() || closed_ || abandoned_; });
        if (abandoned_) return;
        if (queue_.empty()) break;
        job = std::move(queue_.front());
        queue_.pop_front();
        not_full_.notify_one();
      }
      const auto started = SteadyClock::now();
      Status s = verifier_->add(job.image, job.index, job.pts_us, job.previous.empty() ? nullptr : &job.previous);
      seconds_ += seconds_since(started);
      if (!s.is_ok()) {
        std::lock_guard lock(mutex_);
        status_ = s;
        not_full_.notify_all();
        return;
      }
    }
    const auto started = SteadyClock::now();
    result_ = verifier_->finish();
    seconds_ += seconds_since(started);
  }

  void stop(bool abandon) {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      abandoned_ = abandoned_ || abandon;
      not_empty_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
  }

  std::unique_ptr<mark::FrameVerifier> verifier_;
  mark::SegmentFingerprints segments_;
  Image previous_;
  int max_frames_;
  bool fingerprints_;
  bool tamper_;
  int64_t stride_ = 1;
  int64_t n_ = 0;
  int n_added_ = 0;
  double seconds_ = 0.0;  // written by the worker; read after it is joined
  std::optional<mark::VerifyResult> result_;  // written by the worker; read after it is joined
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Job> queue_;
  bool closed_ = false;
  bool abandoned_ = false;  // stopped without a result wanted (an error elsewhere)
  Status status_;
  std::thread worker_;
};

}  // namespace

double altered_frame_fraction(int frames_readable, const std::vector<double>& flagged_block_fractions) {
  if (frames_readable <= 0) return 0.0;
  int altered = 0;
  for (double fraction : flagged_block_fractions) altered += fraction >= kTamperMinBlockFraction;
  return std::min(1.0, static_cast<double>(altered) / frames_readable);
}

namespace {

void fill_watermark(const mark::VerifyResult& v, report::WatermarkSection& w) {
  w.checked = true;
  w.found = v.found;
  if (!v.found) return;
  w.issuer = v.payload.issuer;
  w.synthetic = v.payload.synthetic;
  w.confidence = v.confidence;
  std::vector<double> flagged;
  for (const mark::TamperFrame& frame : v.tamper_frames) flagged.push_back(frame.fraction_blocks);
  w.tamper_fraction_frames = altered_frame_fraction(v.tamper_frames_readable, flagged);
}

// The signed sidecar (<file>.unmask.json), when there is one: present/valid in the report.
void check_sidecar(const std::string& path, const std::string& sha256, const mark::VerifyResult& v,
                   report::WatermarkSection& w) {
  const std::string sidecar = sign::sidecar_path(path);
  std::error_code ec;
  if (!fs::exists(sidecar, ec)) return;
  w.signature_present = true;
  auto manifest = sign::read_sidecar(sidecar);
  if (!manifest.ok()) return;  // present but unreadable: not valid
  const sign::CheckResult check = sign::check(*manifest, nullptr, sha256, v.fingerprints);
  w.signature_valid = check.valid && check.content != sign::ContentMatch::kAltered;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

// One sentence on what decided the verdict.
std::string reason_for(const FusionResult& f, const report::Report& r, const internal::AudioOutcome& audio,
                       const std::vector<internal::TrackOutcome>& tracks, const std::string& not_applicable) {
  const report::WatermarkSection& w = r.watermark;
  // The strongest evidence of the media itself (before the watermark): a track or the audio.
  std::string strongest;
  double strongest_score = -1.0;
  for (const auto& t : tracks) {
    for (const DetectorScore& d : t.scores) {
      if (d.score <= strongest_score) continue;
      strongest_score = d.score;
      const std::string where =
          "face track " + std::to_string(t.track_id) + " (" + clock_text(t.start_s) + "-" + clock_text(t.end_s) + ")";
      strongest = d.score >= kManipulatedThreshold  ? where + " shows " + detector_phrase(d.detector)
                  : d.score >= kSuspiciousThreshold ? where + " shows weak signs of " + detector_phrase(d.detector)
                                                    : d.detector + " " + report::fixed_text(d.score) + " on " + where;
      if (d.score >= kSuspiciousThreshold) strongest += " (" + d.detector + " " + report::fixed_text(d.score) + ")";
    }
  }
  if (audio.voice && *audio.voice > strongest_score) {
    strongest_score = *audio.voice;
    strongest = *audio.voice >= kSuspiciousThreshold
                    ? "the voice sounds synthetic (" + audio.voice_detector + " " + report::fixed_text(*audio.voice) + ")"
                    : audio.voice_detector + " " + report::fixed_text(*audio.voice) + " on the speech";
  }
  if (audio.lipsync && audio.lipsync->score > strongest_score) {
    strongest_score = audio.lipsync->score;
    strongest = audio.lipsync->score >= kSuspiciousThreshold
                    ? "the lips do not follow the voice (lip-sync mismatch " + report::fixed_text(audio.lipsync->score) + ")"
                    : "lip-sync mismatch " + report::fixed_text(audio.lipsync->score);
  }

  if (w.found && w.synthetic) {
    std::string out = "The file carries the unmask watermark with the synthetic flag (issuer " + std::to_string(w.issuer) +
                      "): it was made by a synthesis tool";
    if (!strongest.empty()) out += "; without the mark, the strongest evidence: " + strongest;
    return out + ".";
  }
  if (f.verdict == report::Verdict::kNotApplicable) return not_applicable;
  std::string out;
  if (f.verdict == report::Verdict::kAuthentic) {
    int n_tracks = 0;
    for (const auto& t : tracks) n_tracks += !t.scores.empty();
    std::vector<std::string> what;
    if (n_tracks > 0) what.push_back(std::to_string(n_tracks) + " face track" + (n_tracks == 1 ? "" : "s"));
    if (audio.judged_any) what.push_back("the audio");
    out = "No sign of manipulation in " + join(what, " and ");
    if (!strongest.empty()) out += "; the highest score: " + strongest;
  } else {
    out = f.verdict == report::Verdict::kManipulated ? "Manipulated: " : "Inconclusive signs of manipulation: ";
    out += strongest.empty() ? "fused score " + report::fixed_text(f.score) : strongest;
  }
  if (w.found) {
    out += w.tamper_fraction_frames >= kTamperFractionThreshold
               ? "; issuer " + std::to_string(w.issuer) + "'s watermark shows tampering in " +
                     report::fixed_text(w.tamper_fraction_frames * 100) + "% of frames"
               : "; it carries issuer " + std::to_string(w.issuer) + "'s watermark, intact";
  }
  return out + ".";
}

}  // namespace

Result<AvailableDetectors> load_available_detectors(const std::string& models_dir, const std::vector<std::string>& names) {
  AvailableDetectors out;
  {
    std::error_code ec;
    const fs::path fusion = fs::path(models_dir) / "fusion.json";
    if (fs::exists(fusion, ec)) {
      auto model = load_fusion_model(fusion.string());
      if (!model.ok()) return model.status();
      out.fusion = std::make_shared<const FusionModel>(std::move(*model));
    }
  }
  if (!names.empty()) {
    auto set = detect::load_detectors(models_dir, names);
    if (!set.ok()) return set.status();
    out.detectors = std::make_shared<const detect::DetectorSet>(std::move(*set));
    return out;
  }
  detect::DetectorSet all;
  for (const std::string& name : detect::detector_names()) {
    auto one = detect::load_detectors(models_dir, {name});
    if (!one.ok()) {
      std::error_code ec;
      const fs::path model = fs::path(models_dir) / (name + ".unm");
      if (one.status().code() == StatusCode::kModel && !fs::exists(model, ec)) {
        out.skipped.push_back(name + " (no " + model.string() + ")");
        continue;
      }
      return one.status();
    }
    for (auto& d : one->crop) all.crop.push_back(d);
    for (auto& d : one->track) all.track.push_back(d);
    for (auto& d : one->audio) all.audio.push_back(d);
  }
  if (all.crop.empty() && all.track.empty() && all.audio.empty()) {
    const std::vector<std::string> known = detect::detector_names();
    return Status::model("models " + models_dir,
                         known.empty() ? "no detector is registered in this build"
                                       : "no detector model found (expected one of: " + join(known, ", ") + " as <name>.unm)");
  }
  out.detectors = std::make_shared<const detect::DetectorSet>(std::move(all));
  return out;
}

Result<report::Report> scan_file(const std::string& path, const ScanOptions& options) {
  const auto started = SteadyClock::now();
  if (options.frames_per_track < 1) return Status::usage("--frames", "must be at least 1");
  report::Report r;
  auto progress = [&](double f, std::string_view stage) {
    if (options.progress) options.progress(std::clamp(f, 0.0, 1.0), stage);
  };

  // 1. What the file is.
  auto probe_started = SteadyClock::now();
  auto info = media::probe(path);
  if (!info.ok()) return info.status();
  r.timing_s["probe"] = seconds_since(probe_started);
  const bool is_image = info->is_image || (info->video && media::has_image_extension(path));
  r.input.path = path;
  r.input.duration_s = info->duration_s;
  r.input.format = info->format;
  r.input.size_bytes = info->size_bytes;
  r.input.has_video = info->video.has_value();
  r.input.has_audio = info->audio.has_value();
  if (info->video) {
    r.input.video_codec = info->video->codec;
    const bool turned = info->video->rotation_deg == 90 || info->video->rotation_deg == 270;
    r.input.width_px = turned ? info->video->height_px : info->video->width_px;
    r.input.height_px = turned ? info->video->width_px : info->video->height_px;
    r.input.fps = info->video->fps;
  }
  if (info->audio) r.input.audio_codec = info->audio->codec;

  // The file's hash runs beside the decode (it reads the file once more, from the page cache).
  auto sha_future = std::async(std::launch::async, [path] {
    const auto t = SteadyClock::now();
    auto sha = sha256_file(path);
    return std::make_pair(std::move(sha), seconds_since(t));
  });

  // 2. Detectors and face models.
  const auto load_started = SteadyClock::now();
  // The landmark model (~100 MB) loads beside the detectors.
  std::future<Result<std::shared_ptr<const face::FaceModels>>> face_future;
  if (info->video && !options.face_models) {
    face_future = std::async(std::launch::async, [] { return face::FaceModels::load(); });
  }
  // Whatever way the scan ends, no network build is left running behind it (the process may exit).
  struct WaitForBuilds {
    ~WaitForBuilds() { (void)nn::wait_for_builds(); }
  };
  std::optional<WaitForBuilds> builds_guard;
  std::shared_ptr<const detect::DetectorSet> detectors = options.detector_set;
  std::shared_ptr<const FusionModel> fusion_model = options.fusion;
  std::vector<std::string> skipped;
  if (!detectors) {
    const std::string dir = options.models_dir.empty() ? detect::default_models_dir() : options.models_dir;
    // The networks (and LibTorch, ~0.35 s the first time) are built on threads while the video
    // decodes; scoring waits for them, and a failed build is reported before the scan ends.
    builds_guard.emplace();  // also when a later detector fails to load after earlier ones started
    nn::set_background_builds(true);
    auto loaded = load_available_detectors(dir, options.detectors);
    nn::set_background_builds(false);
    if (!loaded.ok()) return loaded.status();
    detectors = loaded->detectors;
    skipped = loaded->skipped;
    fusion_model = loaded->fusion;
    r.options["models_dir"] = dir;
  }
  // The learned fusion applies to videos scanned with exactly the detectors it was fitted with.
  std::string fusion_mismatch;
  if (fusion_model) fusion_mismatch = fusion_model_mismatch(*fusion_model, detectors->infos());
  if (!is_image) {
    // Detectors meant for stills only sit out on videos (DetectorInfo::stills_only).
    auto for_video = std::make_shared<detect::DetectorSet>(*detectors);
    std::erase_if(for_video->crop, [](const auto& d) { return d->info().stills_only; });
    if (for_video->crop.size() != detectors->crop.size()) detectors = for_video;
  }
  const bool face_work = info->video && (!detectors->crop.empty() || !detectors->track.empty() || info->audio);
  std::shared_ptr<const face::FaceModels> face_models = options.face_models;
  if (face_future.valid()) {
    auto loaded = face_future.get();
    if (!loaded.ok() && face_work) return loaded.status();
    if (loaded.ok()) face_models = *loaded;
  }
  r.timing_s["load"] = seconds_since(load_started);

  // The audio's own analyses start now, beside the decode (a thread of their own; on this thread
  // after the video when none can start). The future waits for them on every way out.
  const bool lipsync_wanted = info->video.has_value();
  std::future<internal::AudioHeard> audio_future;
  if (info->audio) {
    try {
      audio_future = std::async(std::launch::async, [path, detectors, lipsync_wanted] {
        return internal::hear_audio(path, *detectors, lipsync_wanted);
      });
    } catch (const std::system_error&) {
    }
  }

  // 3. One decode: faces, crops, watermark frames.
  const int every_nth = options.fast && !is_image ? 2 : 1;
  const int frames_per_track = options.fast ? std::max(1, options.frames_per_track / 3) : options.frames_per_track;
  const double fps = info->video && info->video->fps > 0 ? info->video->fps : 25.0;
  const double processed_fps = fps / every_nth;
  std::vector<internal::TrackOutcome> tracks;
  std::optional<mark::VerifyResult> verify;
  std::string video_error;
  int64_t n_frames = 0;
  double detect_s = 0.0, watermark_s = 0.0;
  const std::string sidecar = sign::sidecar_path(path);
  std::error_code ec;
  const bool want_fingerprints = fs::exists(sidecar, ec);
  const int rotation = info->video ? info->video->rotation_deg : 0;
  if (info->video && face_work) {
    const auto decode_started = SteadyClock::now();
    internal::CollectorOptions co;
    co.frames_per_track = frames_per_track;
    co.second_pass = !options.fast;
    co.thumbnails = options.thumbnails;
    co.processed_fps = processed_fps;
    co.measure_face_detail = every_nth == 1;
    co.expected_frames = std::max<int64_t>(0, info->video->n_frames / every_nth);
    internal::TrackCollector collector(detectors, co);
    std::optional<WatermarkTap> tap;
    // The mark lives in the stored orientation; a rotated video is checked by its own pass below.
    if (options.check_watermark && rotation == 0) {
      const int64_t expected = std::max<int64_t>(1, info->video->n_frames / every_nth);
      tap.emplace(expected, options.fast ? kWatermarkFramesFast : kWatermarkFrames, !options.fast, want_fingerprints);
    }
    face::TrackFileOptions to;
    to.every_nth = every_nth;
    to.keep_tracks = false;  // the collector keeps what the detectors need
    auto on_frame = [&](face::FrameFaces& ff) -> Status {
      ++n_frames;
      if (tap) UNMASK_RETURN_IF_ERROR(tap->add(ff));
      return collector.add_frame(ff);
    };
    auto faces = face::track_file(path, face_models, to, on_frame,
                                  [&](double f, std::string_view) { progress(0.85 * f, "faces"); });
    if (!faces.ok()) {
      if (faces.status().code() != StatusCode::kInput || !info->audio) return faces.status();
      video_error = faces.status().message();
    } else {
      if (tap) tap->close();  // the mark search overlaps the scoring of the last tracks
      UNMASK_RETURN_IF_ERROR(collector.finish());
      tracks = collector.take_outcomes();
      if (tap) {
        auto v = tap->finish();
        if (!v.ok()) return v.status();
        verify = std::move(*v);
        watermark_s = tap->seconds();
      }
    }
    detect_s = collector.detect_seconds();
    r.timing_s["decode"] = seconds_since(decode_started) - detect_s;  // the watermark thread overlaps it
    r.timing_s["detect"] = detect_s;
  }
  if (info->video && options.check_watermark && !verify && video_error.empty()) {
    const auto t = SteadyClock::now();
    mark::VerifyOptions vo;
    vo.max_frames = options.fast ? kWatermarkFramesFast : kWatermarkFrames;
    vo.tamper = !options.fast;
    vo.fingerprints = want_fingerprints;
    auto v = mark::verify_file(path, vo);
    if (v.ok()) verify = std::move(*v);
    else if (!face_work) return v.status();
    watermark_s = seconds_since(t);
  }
  if (options.check_watermark && info->video) r.timing_s["watermark"] = watermark_s;

  // 4. Audio: voice detectors and lip-sync.
  internal::AudioOutcome audio;
  std::string audio_error;
  if (info->audio) {
    progress(0.88, "audio");
    internal::AudioHeard heard = audio_future.valid() ? audio_future.get() : internal::hear_audio(path, *detectors, lipsync_wanted);
    const auto t = SteadyClock::now();
    const Status& s = heard.status;
    if (!s.is_ok()) {
      if (s.code() != StatusCode::kInput || (!info->video || !video_error.empty())) return s;
      audio_error = s.message();
    } else {
      audio = std::move(heard.outcome);
      if (heard.lipsync_sound) internal::judge_lipsync_of(tracks, *heard.lipsync_sound, processed_fps, info->duration_s, audio);
    }
    // The audio's own time (beside the decode) and lip-sync's.
    r.timing_s["audio"] = heard.seconds + seconds_since(t);
  }

  // Every network the detectors built in the background exists, or the scan says why not (a
  // build nothing waited for, e.g. no face in the video, is still a model error).
  UNMASK_RETURN_IF_ERROR(nn::wait_for_builds());

  // 5. Hash and provenance.
  auto [sha, sha_s] = sha_future.get();
  if (!sha.ok()) return sha.status();
  r.input.sha256 = *sha;
  r.timing_s["sha256"] = sha_s;
  if (verify) {
    fill_watermark(*verify, r.watermark);
    if (verify->found) check_sidecar(path, r.input.sha256, *verify, r.watermark);
  }

  // 6. Fusion.
  FusionInput fin;
  for (const auto& t : tracks) fin.tracks.push_back({t.track_id, t.n_scored_frames, t.scores});
  fin.voice = audio.voice;
  if (audio.lipsync) fin.lipsync = audio.lipsync->score;
  fin.watermark = r.watermark;
  const bool faces_judged = std::any_of(tracks.begin(), tracks.end(), [](const auto& t) { return !t.scores.empty(); });
  std::string not_applicable;
  if (!video_error.empty() && !audio.judged_any) {
    not_applicable = "The video stream could not be decoded (" + video_error + ") and the audio gave nothing to judge.";
  } else if (!audio_error.empty() && !faces_judged) {
    not_applicable = "The audio stream could not be decoded (" + audio_error + ") and no face was judged.";
  } else if (info->video && !is_image && video_error.empty() && face_work && n_frames < kMinVideoFrames && !audio.judged_any) {
    not_applicable = "Too short to judge: " + std::to_string(n_frames) + " video frame" + (n_frames == 1 ? "" : "s") + ".";
  } else if (!info->video && info->duration_s < kMinAudioSeconds) {
    not_applicable = "Too short to judge: " + report::fixed_text(info->duration_s) + " s of audio.";
  } else if (!faces_judged && !audio.judged_any) {
    if (!tracks.empty()) {
      not_applicable = "Faces were found but no face detector is installed, and there is no speech to judge.";
    } else if (is_image) {
      not_applicable = "No face found in the image.";
    } else if (!info->video) {
      not_applicable = detectors->audio.empty() ? "No voice detector is installed to judge an audio file."
                       : audio.speech_heard    ? "The speech could not be judged (" + join(audio.notes, "; ") + ")."
                                               : "No speech found in the audio.";
    } else if (!info->audio) {
      not_applicable = "No face found, and the video has no audio track.";
    } else {
      not_applicable = audio.speech_heard ? "No face found, and the speech could not be judged (" + join(audio.notes, "; ") + ")."
                                          : "No face and no speech found.";
    }
  }
  fin.not_applicable_reason = (r.watermark.found) ? "" : not_applicable;
  const bool learned = fusion_model && fusion_mismatch.empty() && info->video && !is_image;
  if (learned) fin.model = fusion_model.get();
  const FusionResult fused = fuse(fin);
  r.score = fused.score;
  r.verdict = fused.verdict;
  r.reason = reason_for(fused, r, audio, tracks, not_applicable);

  // 7. The report.
  for (auto& t : tracks) {
    report::FaceTrack ft;
    ft.track_id = t.track_id;
    ft.start_s = t.start_s;
    ft.end_s = t.end_s;
    double s = std::numeric_limits<double>::quiet_NaN();
    for (const auto& d : t.scores) s = std::isnan(s) ? d.score : std::max(s, d.score);
    ft.score = std::isnan(s) ? 0.0 : s;
    ft.frames = std::move(t.frames);
    ft.evidence = std::move(t.evidence);
    ft.thumbnail_png = std::move(t.thumbnail_png);
    r.faces.push_back(std::move(ft));
  }
  if (info->audio) {
    report::AudioSection a;
    a.score = fused.audio_score;
    if (audio.voice) a.voice = report::VoiceResult{*audio.voice, audio.segments};
    a.lipsync = audio.lipsync;
    std::vector<std::string> notes = audio.notes;
    if (!audio_error.empty()) notes.push_back("audio could not be decoded: " + audio_error);
    if (detectors->audio.empty()) notes.push_back("no voice detector installed");
    if (!audio.lipsync && info->video && tracks.empty()) notes.push_back("lip-sync not judged: no face");
    a.note = join(notes, "; ");
    r.audio = a;
  }
  // File-level score per detector: the strongest over tracks; audio detectors as they scored.
  // (the tracks that count for the fusion: detector_evidence).
  std::map<std::string, double> by_detector;
  for (const auto& d : detector_evidence(fin)) by_detector[d.detector] = d.score;
  for (const auto& d : audio.detector_scores) by_detector[d.detector] = d.score;
  std::vector<std::string> loaded_names;
  for (const detect::DetectorInfo& di : detectors->infos()) {
    loaded_names.push_back(di.name + " " + di.version);
    auto it = by_detector.find(di.name);
    if (it != by_detector.end()) r.detectors.push_back({di.name, di.version, it->second, di.model_sha256});
  }
  if (auto it = by_detector.find("lipsync"); it != by_detector.end()) r.detectors.push_back({"lipsync", "1", it->second, ""});

  r.options["frames"] = std::to_string(options.frames_per_track);
  r.options["fast"] = options.fast ? "true" : "false";
  r.options["detectors_loaded"] = join(loaded_names, ", ");
  if (!skipped.empty()) r.options["detectors_skipped"] = join(skipped, ", ");
  r.options["frame_step"] = std::to_string(every_nth);
  r.options["fusion"] = fused.rule == "learned"
                           ? "learned (models/fusion.json, version " + fusion_model->version +
                                 ") over per-detector evidence; watermark decisive; thresholds 0.40/0.75"
                           : "max over detectors, tracks and audio; watermark decisive; thresholds 0.40/0.75";
  if (!fusion_mismatch.empty()) r.options["warnings"] = fusion_mismatch + "; the max rule was used";
  r.timing_s["total"] = seconds_since(started);
  progress(1.0, "done");
  return r;
}

}  // namespace unmask::scan
