// track_file (decode on one thread, track on another), tracks.json, drawing.
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <deque>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/json_text.h"
#include "face/models_impl.h"
#include "media/media.h"

namespace unmask::face {

namespace {

// A decoded frame with the tracker-independent work already done on it (scene cut, detections).
struct QueuedFrame {
  VideoFrame frame;
  FrameAnalysis analysis;
};

// A bounded single-producer single-consumer queue of decoded frames. The decoder blocks when it
// is depth() frames ahead, so memory stays flat however long the video is. The decoding thread's
// work comes in bursts (a ~20 ms full-frame HOG pass every 30th frame while faces are followed,
// with decoding stalled behind it; the tracker spends ~2 ms a frame): a queue deeper than a burst
// keeps the tracker fed through it. 16 frames (44 MB at 720p, 100 MB at 1080p) instead of 8: a
// 720p scan's median wall time 0.92 -> 0.865 s (docs/faces.md, session 18); larger frames keep 8,
// up to 2160p. Frames so large that 8 of them pass 256 MB take fewer, down to 2 (8K: 2 of 100 MB).
class FrameQueue {
 public:
  static constexpr size_t kMaxDepth = 16, kMinDepth = 8, kFloorDepth = 2;
  static constexpr size_t kBudgetBytes = size_t{128} << 20;
  static constexpr size_t kLargeFramesBudgetBytes = size_t{256} << 20;
  // The depth for frames of `frame_bytes`: as many as kBudgetBytes hold, within [kMinDepth,
  // kMaxDepth]; kMinDepth lowered to what kLargeFramesBudgetBytes hold (at least kFloorDepth).
  static size_t depth_for(size_t frame_bytes) {
    const size_t bytes = std::max<size_t>(1, frame_bytes);
    const size_t min_depth = std::clamp(kLargeFramesBudgetBytes / bytes, kFloorDepth, kMinDepth);
    return std::clamp(kBudgetBytes / bytes, min_depth, kMaxDepth);
  }
  explicit FrameQueue(size_t depth) : depth_(depth) {}
  size_t depth() const { return depth_; }

  // Producer: false when the consumer has stopped.
  bool put(QueuedFrame&& f) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return queue_.size() < depth_ || stopped_; });
    if (stopped_) return false;
    queue_.push_back(std::move(f));
    not_empty_.notify_one();
    return true;
  }
  void close(Status status) {
    std::lock_guard lock(mutex_);
    closed_ = true;
    status_ = std::move(status);
    not_empty_.notify_one();
  }
  // Consumer: false at the end (then status() says whether decoding failed).
  bool get(QueuedFrame& f) {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return false;
    f = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    not_full_.notify_all();
  }
  Status status() {
    std::lock_guard lock(mutex_);
    return status_;
  }

 private:
  const size_t depth_;
  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<QueuedFrame> queue_;
  bool closed_ = false, stopped_ = false;
  Status status_;
};

// Frame buffers handed back by the tracking thread once a frame is done, for the decoder to
// decode into again: a new frame buffer is a fresh allocation of a few MB (zero-filled, then
// faulted in page by page), which cost more CPU than converting the frame into it.
class FramePool {
 public:
  // Keeps up to `max_free` buffers (the queue's depth and a few in flight).
  explicit FramePool(size_t max_free) : max_free_(max_free) {}
  Image take() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) return Image();
    Image out = std::move(free_.back());
    free_.pop_back();
    return out;
  }
  void give(Image&& image) {
    if (image.empty()) return;
    std::lock_guard lock(mutex_);
    if (free_.size() < max_free_) free_.push_back(std::move(image));
  }

 private:
  const size_t max_free_;
  std::mutex mutex_;
  std::vector<Image> free_;
};

double round2(double v) { return std::round(v * 100.0) / 100.0; }

}  // namespace

Result<VideoFaces> track_file(const std::string& path, std::shared_ptr<const FaceModels> models,
                              const TrackFileOptions& options, const FrameCallback& on_frame,
                              const ProgressFn& progress) {
  if (options.every_nth < 1) return Status::usage("every_nth", "must be >= 1");
  media::VideoReadOptions read_options;
  read_options.every_nth = options.every_nth;
  // One core stays with the tracker, which takes frames as fast as they come; the decoder gets
  // the others. On two cores that is one decoding thread, no frame threads: FFmpeg's choice (four
  // frame threads) cost ~4 % more CPU in thread hand-offs and ran the 720p bench clip 0.79 s
  // against 0.76 s (median of 10); 1080p and 2160p took the same time with less CPU.
  read_options.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
  auto reader = media::VideoReader::open(path, read_options);
  if (!reader.ok()) return reader.status();
  const media::MediaInfo info = (*reader)->info();

  VideoFaces result;
  result.path = path;
  result.is_image = info.is_image;
  result.width_px = (*reader)->output_width_px();
  result.height_px = (*reader)->output_height_px();
  result.fps = info.video ? info.video->fps : 0.0;
  const int64_t expected_frames =
      info.video && info.video->n_frames > 0 ? info.video->n_frames / options.every_nth : 0;

  TrackerOptions tracker_options = options.tracker;
  if (info.is_image) tracker_options.detect.upsample = std::max(tracker_options.detect.upsample, options.image_upsample);
  FaceTracker tracker(models, tracker_options);
  // The decoding thread also finds the scene cuts and runs the full-frame detector on the frames
  // where a tracker following its faces wants it: the tracking thread is left the landmark fits.
  FrameAnalyzer analyzer(std::move(models), tracker_options);

  FrameQueue queue(FrameQueue::depth_for(static_cast<size_t>(result.width_px) * result.height_px * 3));
  FramePool pool(queue.depth() + std::min<size_t>(4, queue.depth()));  // 8K: 2 + 2
  std::thread decoder([&queue, &reader, &options, &analyzer, &pool] {
    int64_t n = 0;
    while (options.max_frames < 0 || n < options.max_frames) {
      QueuedFrame item;
      item.frame.image = pool.take();  // the reader converts into it when the size matches
      auto more = (*reader)->read(item.frame);
      if (!more.ok()) {
        queue.close(more.status());
        return;
      }
      if (!*more) break;
      auto analysis = analyzer.analyze(item.frame.image);
      if (!analysis.ok()) {
        queue.close(analysis.status());
        return;
      }
      item.analysis = std::move(*analysis);
      if (!queue.put(std::move(item))) break;
      ++n;
    }
    queue.close(Status::ok());
  });

  std::map<int, size_t> track_index;  // public id -> index in result.tracks
  auto consume = [&](std::vector<FrameFaces>& frames) -> Status {
    for (FrameFaces& ff : frames) {
      ++result.n_frames;
      if (!ff.faces.empty()) ++result.n_frames_with_face;
      for (const Face& f : ff.faces) {
        if (!options.keep_tracks) break;
        auto [it, inserted] = track_index.emplace(f.track_id, result.tracks.size());
        if (inserted) result.tracks.push_back(Track{f.track_id, {}});
        result.tracks[it->second].frames.push_back({ff.index, ff.pts_us, f});
      }
      if (on_frame) UNMASK_RETURN_IF_ERROR(on_frame(ff));
      pool.give(std::move(ff.image));
      if (progress && expected_frames > 0) {
        progress(std::min(1.0, static_cast<double>(result.n_frames) / expected_frames), "faces");
      }
    }
    return Status::ok();
  };

  Status status;
  QueuedFrame item;
  while (status.is_ok() && queue.get(item)) {
    auto ready = tracker.push(std::move(item.frame), std::move(item.analysis));
    if (!ready.ok()) {
      status = ready.status();
      break;
    }
    status = consume(*ready);
  }
  queue.stop();
  decoder.join();
  if (status.is_ok()) status = queue.status();
  if (!status.is_ok()) return status;
  auto rest = tracker.finish();
  UNMASK_RETURN_IF_ERROR(consume(rest));
  result.stats = tracker.stats();
  std::sort(result.tracks.begin(), result.tracks.end(),
            [](const Track& a, const Track& b) { return a.track_id < b.track_id; });
  if (progress) progress(1.0, "faces");
  return result;
}

std::string to_tracks_json(const VideoFaces& faces, int indent) {
  nlohmann::ordered_json doc;
  doc["n_frames"] = faces.n_frames;
  doc["width"] = faces.width_px;
  doc["height"] = faces.height_px;
  doc["fps"] = round2(faces.fps);
  doc["n_frames_with_face"] = faces.n_frames_with_face;
  nlohmann::ordered_json tracks = nlohmann::ordered_json::array();
  for (const Track& t : faces.tracks) {
    nlohmann::ordered_json frames = nlohmann::ordered_json::array();
    for (const TrackFrame& tf : t.frames) {
      const Face& f = tf.face;
      nlohmann::ordered_json landmarks = nlohmann::ordered_json::array();
      for (const Point2& p : f.landmarks) landmarks.push_back({round2(p.x), round2(p.y)});
      nlohmann::ordered_json fr;
      fr["frame"] = tf.frame;
      fr["t_s"] = std::round(tf.pts_us / 1e3) / 1e3;
      fr["box"] = {round2(f.box.x), round2(f.box.y), round2(f.box.w), round2(f.box.h)};
      fr["confidence"] = round2(f.confidence);
      fr["detected"] = f.detected;
      if (f.profile) fr["profile"] = true;
      fr["landmarks"] = std::move(landmarks);
      frames.push_back(std::move(fr));
    }
    tracks.push_back({{"track_id", t.track_id}, {"frames", std::move(frames)}});
  }
  doc["tracks"] = std::move(tracks);
  return json_text(doc, indent);
}

void draw_faces(Image& frame, const std::vector<Face>& faces) {
  if (frame.empty() || frame.channels() != 3) return;
  cv::Mat mat = as_mat(frame);
  static const cv::Scalar kColours[] = {{0, 255, 0},   {255, 128, 0}, {0, 128, 255}, {255, 0, 255},
                                        {0, 255, 255}, {255, 255, 0}, {128, 0, 255}, {0, 0, 255}};
  const int thickness = std::max(1, std::min(frame.width_px(), frame.height_px()) / 360);
  for (const Face& f : faces) {
    const cv::Scalar colour = f.track_id >= 0 ? kColours[f.track_id % 8] : kColours[0];
    cv::rectangle(mat, cv::Rect(cvRound(f.box.x), cvRound(f.box.y), cvRound(f.box.w), cvRound(f.box.h)),
                  colour, f.detected ? thickness * 2 : thickness);
    for (const Point2& p : f.landmarks) {
      cv::circle(mat, cv::Point(cvRound(p.x), cvRound(p.y)), thickness + 1, colour, cv::FILLED);
    }
    char label[64];
    std::snprintf(label, sizeof label, "#%d %.2f%s", f.track_id, f.confidence, f.detected ? "" : " ~");
    const double font = 0.5 * thickness;
    cv::putText(mat, label, cv::Point(cvRound(f.box.x), std::max(12, cvRound(f.box.y) - 4)),
                cv::FONT_HERSHEY_SIMPLEX, font, colour, thickness, cv::LINE_AA);
  }
}

}  // namespace unmask::face
