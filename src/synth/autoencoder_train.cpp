// train_swap_autoencoder: the autoencoder face swap's training (synth.h), and the aligned faces it
// trains on. Each step draws, for each identity, batch_size faces and two views of each: the
// target (a random rotation of up to 10 degrees, scale 0.95-1.05 and shift of up to 5 %) and the
// input (the target under a smooth random warp: a 5x5 grid of offsets of about 2.5 % of the side,
// interpolated). Rebuilding the unwarped face from the warped one is what makes the decoders learn
// a face rather than copy pixels. The draws come from (seed, step) alone, so a resumed run takes
// the same steps as an uninterrupted one.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

#include <opencv2/imgproc.hpp>

#include "core/text.h"
#include "media/cv_image.h"
#include "media/media.h"
#include "nn/autoencoder.h"
#include "synth/autoencoder_swap.h"

namespace unmask::synth {
namespace fs = std::filesystem;

namespace detail {
namespace {

// The media files of `path`: itself, or a folder's files in name order.
Result<std::vector<std::string>> media_files(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::input(path, "no such file or folder");
  if (!fs::is_directory(path, ec)) return std::vector<std::string>{path};
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    if (e.is_regular_file() && !media::has_audio_extension(e.path().string())) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return Status::input(path, "folder has no files");
  return files;
}

}  // namespace

Result<std::vector<Image>> collect_aligned_faces(const std::string& path, int size_px, int max_faces,
                                                 std::shared_ptr<const face::FaceModels> models,
                                                 const ProgressFn& progress) {
  auto files = media_files(path);
  if (!files.ok()) return files.status();
  const bool single = files->size() == 1;
  face::AlignOptions align;
  align.size_px = size_px;
  align.margin = kAutoencoderMargin;
  std::vector<Image> faces;
  auto add_largest = [&](face::FaceDetector& detector, const Image& image) -> Status {
    auto found = detector.detect_faces(image);
    if (!found.ok()) return found.status();
    if (const face::Face* f = face::largest_face(*found)) {
      auto aligned = face::align_face(image, f->landmarks, align);
      if (aligned.ok() && aligned->crop.channels() == 3) faces.push_back(std::move(aligned->crop));
    }
    return Status::ok();
  };
  for (size_t i = 0; i < files->size() && static_cast<int>(faces.size()) < max_faces; ++i) {
    const std::string& file = (*files)[i];
    if (progress) progress(static_cast<double>(i) / files->size(), "finding faces in " + fs::path(file).filename().string());
    auto info = media::probe(file);
    if (!info.ok() || !info->video) {
      if (single) return info.ok() ? Status::input(file, "has no pictures") : info.status();
      continue;  // a folder's other files are skipped
    }
    face::DetectOptions detect;
    detect.upsample = info->is_image ? 1 : 0;
    face::FaceDetector detector(models, detect);
    if (info->is_image) {
      auto image = media::read_image(file);
      if (!image.ok()) {
        if (single) return image.status();
        continue;
      }
      UNMASK_RETURN_IF_ERROR(add_largest(detector, *image));
      continue;
    }
    // Frames spread over the video: about an even share of what is left to collect.
    const int64_t want = std::max<int64_t>(1, (max_faces - static_cast<int64_t>(faces.size())) /
                                                  static_cast<int64_t>(files->size() - i));
    media::VideoReadOptions read;
    read.every_nth = static_cast<int>(std::max<int64_t>(1, std::max<int64_t>(1, info->video->n_frames) / want));
    auto reader = media::VideoReader::open(file, read);
    if (!reader.ok()) {
      if (single) return reader.status();
      continue;
    }
    VideoFrame frame;
    while (static_cast<int>(faces.size()) < max_faces) {
      auto more = (*reader)->read(frame);
      if (!more.ok() && single) return more.status();
      if (!more.ok() || !*more) break;  // a folder's damaged video gives the faces read so far
      UNMASK_RETURN_IF_ERROR(add_largest(detector, frame.image));
    }
  }
  if (faces.empty()) return Status::input(path, "no face found");
  return faces;
}

}  // namespace detail

namespace {

// The target view: rotation, scale and shift about the centre (replicated border).
cv::Mat random_view(const cv::Mat& face, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> rot(-10.0, 10.0), scale(0.95, 1.05), shift(-0.05, 0.05);
  const double side = face.cols;
  cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(static_cast<float>(side / 2), static_cast<float>(side / 2)), rot(rng),
                                      scale(rng));
  m.at<double>(0, 2) += shift(rng) * side;
  m.at<double>(1, 2) += shift(rng) * side;
  cv::Mat out;
  cv::warpAffine(face, out, m, face.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

// The input view: a smooth random warp (5x5 control offsets, bicubically interpolated).
cv::Mat random_warp(const cv::Mat& face, std::mt19937_64& rng) {
  const int n = face.cols;
  std::normal_distribution<float> offset(0.0f, static_cast<float>(0.025 * n));
  cv::Mat dx(5, 5, CV_32F), dy(5, 5, CV_32F);
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 5; ++x) {
      const bool edge = x == 0 || y == 0 || x == 4 || y == 4;  // the frame's edge stays put
      dx.at<float>(y, x) = edge ? 0.0f : offset(rng);
      dy.at<float>(y, x) = edge ? 0.0f : offset(rng);
    }
  }
  cv::Mat big_dx, big_dy;
  cv::resize(dx, big_dx, face.size(), 0, 0, cv::INTER_CUBIC);
  cv::resize(dy, big_dy, face.size(), 0, 0, cv::INTER_CUBIC);
  cv::Mat map_x(face.size(), CV_32F), map_y(face.size(), CV_32F);
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      map_x.at<float>(y, x) = static_cast<float>(x) + big_dx.at<float>(y, x);
      map_y.at<float>(y, x) = static_cast<float>(y) + big_dy.at<float>(y, x);
    }
  }
  cv::Mat out;
  cv::remap(face, out, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

struct StepBatches {
  nn::Batch inputs, targets;
};

Result<StepBatches> training_batch(const std::vector<Image>& faces, int batch_size, int size_px, std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> pick(0, faces.size() - 1);
  std::vector<Image> inputs, targets;
  for (int i = 0; i < batch_size; ++i) {
    const cv::Mat view = random_view(media::as_mat(faces[pick(rng)]), rng);
    inputs.push_back(media::to_image(random_warp(view, rng)));
    targets.push_back(media::to_image(view));
  }
  auto in = nn::faces_to_batch(inputs, size_px);
  if (!in.ok()) return in.status();
  auto target = nn::faces_to_batch(targets, size_px);
  if (!target.ok()) return target.status();
  return StepBatches{*std::move(in), *std::move(target)};
}

// What a checkpoint must have been made with to be resumed.
std::string run_key(const TrainSwapOptions& o, const nn::ModelSpec& spec, int n_a, int n_b) {
  std::ostringstream key;
  key << "unmask swap autoencoder checkpoint 1; seed " << o.seed << "; size " << spec.input_size_px << "; batch "
      << o.batch_size << "; learning rate " << o.learning_rate << "; faces " << n_a << " " << n_b << "; widths";
  for (int w : spec.widths) key << " " << w;
  return key.str();
}

Status write_checkpoint(const std::string& path, const std::string& key, const nn::Autoencoder& net) {
  auto state = net.save_state();
  if (!state.ok()) return state.status();
  return write_file_atomic(path, key + "\n" + *state);
}

}  // namespace

Result<TrainSwapSummary> train_swap_autoencoder(const std::string& a, const std::string& b, const std::string& out,
                                                const TrainSwapOptions& options,
                                                std::shared_ptr<const face::FaceModels> models) {
  if (options.iterations < 1) return Status::usage("--iterations", "must be at least 1");
  if (options.batch_size < 2) return Status::usage("batch size", "must be at least 2");
  if (options.max_faces < 4) return Status::usage("max faces", "must be at least 4");
  if (options.checkpoint_every < 1) return Status::usage("checkpoint interval", "must be at least 1 step");
  nn::ModelSpec spec = nn::Autoencoder::default_spec(options.size_px);
  if (!options.widths.empty()) spec.widths = options.widths;
  if (Status valid = nn::Autoencoder::validate(spec); !valid.is_ok()) return Status::usage("--size", valid.message());
  const auto started = std::chrono::steady_clock::now();
  auto report = [&](double f, std::string_view what) {
    if (options.progress) options.progress(f, what);
  };

  auto faces_a = detail::collect_aligned_faces(a, spec.input_size_px, options.max_faces, models,
                                               [&](double f, std::string_view s) { report(0.05 * f, s); });
  if (!faces_a.ok()) return faces_a.status();
  auto faces_b = detail::collect_aligned_faces(b, spec.input_size_px, options.max_faces, models,
                                               [&](double f, std::string_view s) { report(0.05 + 0.05 * f, s); });
  if (!faces_b.ok()) return faces_b.status();
  constexpr size_t kMinFaces = 4;
  if (faces_a->size() < kMinFaces) return Status::input(a, "only " + std::to_string(faces_a->size()) + " faces found; at least 4 are needed");
  if (faces_b->size() < kMinFaces) return Status::input(b, "only " + std::to_string(faces_b->size()) + " faces found; at least 4 are needed");

  auto net = nn::Autoencoder::create(spec, options.seed, options.learning_rate);
  if (!net.ok()) return net.status();
  const std::string checkpoint = out + ".ckpt";
  const std::string key = run_key(options, spec, static_cast<int>(faces_a->size()), static_cast<int>(faces_b->size()));
  std::error_code ec;
  if (options.resume && fs::exists(checkpoint, ec)) {
    auto bytes = read_file(checkpoint);
    if (!bytes.ok()) return Status::model(checkpoint, bytes.status().message());
    const size_t nl = bytes->find('\n');
    if (nl == std::string::npos || bytes->substr(0, nl) != key) {
      return Status::model(checkpoint, "was made by another run (other faces, seed, size or batch): delete it or leave out --resume");
    }
    Status loaded = net->load_state(std::string_view(*bytes).substr(nl + 1));
    if (!loaded.is_ok()) return Status::model(checkpoint, loaded.message());
  }

  TrainSwapSummary summary;
  summary.n_faces_a = static_cast<int>(faces_a->size());
  summary.n_faces_b = static_cast<int>(faces_b->size());
  summary.resumed_from = net->n_steps();
  std::vector<double> losses;
  for (int64_t step = net->n_steps(); step < options.iterations; ++step) {
    std::mt19937_64 rng(options.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(step));
    auto batch_a = training_batch(*faces_a, options.batch_size, spec.input_size_px, rng);
    if (!batch_a.ok()) return batch_a.status();
    auto batch_b = training_batch(*faces_b, options.batch_size, spec.input_size_px, rng);
    if (!batch_b.ok()) return batch_b.status();
    auto loss = net->step(batch_a->inputs, batch_a->targets, batch_b->inputs, batch_b->targets);
    if (!loss.ok()) return loss.status();
    losses.push_back(*loss);
    std::ostringstream what;
    what << "step " << step + 1 << "/" << options.iterations << " loss " << *loss;
    report(0.1 + 0.9 * static_cast<double>(step + 1) / options.iterations, what.str());
    const bool stop = options.should_stop && options.should_stop() && step + 1 < options.iterations;
    if (stop || ((step + 1) % options.checkpoint_every == 0 && step + 1 < options.iterations)) {
      Status written = write_checkpoint(checkpoint, key, *net);
      if (!written.is_ok()) return Status::model(checkpoint, "cannot write the checkpoint: " + written.message());
    }
    if (stop) {
      summary.stopped = true;
      break;
    }
  }
  auto mean_of = [](auto begin, auto end) {
    double s = 0;
    for (auto it = begin; it != end; ++it) s += *it;
    return end == begin ? 0.0 : s / static_cast<double>(end - begin);
  };
  if (!losses.empty()) {
    const size_t window = std::clamp<size_t>(losses.size() / 4, 1, 50);
    summary.first_loss = mean_of(losses.begin(), losses.begin() + static_cast<std::ptrdiff_t>(window));
    summary.final_loss = mean_of(losses.end() - static_cast<std::ptrdiff_t>(window), losses.end());
  }
  summary.iterations = net->n_steps();
  if (summary.stopped) {
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return summary;
  }

  std::ostringstream loss_text;
  loss_text << summary.final_loss;
  nn::Metadata meta = {{"method", "autoencoder face swap: shared encoder, decoder A, decoder B"},
                       {"identity_a", printable_text(fs::path(a).filename().string())},
                       {"identity_b", printable_text(fs::path(b).filename().string())},
                       {"faces_a", std::to_string(summary.n_faces_a)},
                       {"faces_b", std::to_string(summary.n_faces_b)},
                       {"steps", std::to_string(summary.iterations)},
                       {"batch_size", std::to_string(options.batch_size)},
                       {"seed", std::to_string(options.seed)},
                       {"align_margin", std::to_string(detail::kAutoencoderMargin)},
                       {"final_l1_loss", loss_text.str()}};
  Status saved = net->save(out, meta);
  if (!saved.is_ok()) return saved;
  fs::remove(checkpoint, ec);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report(1.0, "done");
  return summary;
}

}  // namespace unmask::synth
