// autoencoder_replacer: the face drawn by a trained autoencoder swap (autoencoder_swap.h). The
// target face is aligned as in training, encoded, decoded by the source identity's decoder,
// warped back onto the frame and pasted like every swap (face_paste.h).
#include "synth/autoencoder_swap.h"

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "media/cv_image.h"
#include "nn/autoencoder.h"
#include "synth/face_paste.h"

namespace unmask::synth::detail {
namespace {

constexpr int kMaxSourceFaces = 16;

double mean_abs_error(const nn::Batch& a, const nn::Batch& b) {
  double s = 0;
  for (size_t i = 0; i < a.values.size(); ++i) s += std::abs(a.values[i] - b.values[i]);
  return a.values.empty() ? 0.0 : s / static_cast<double>(a.values.size());
}

}  // namespace

Result<AutoencoderReplacer> autoencoder_replacer(const std::string& source, const SwapOptions& options,
                                                 std::shared_ptr<const face::FaceModels> models) {
  if (options.model_path.empty()) return Status::usage("--model", "the autoencoder swap needs a model (synth train-swap)");
  auto loaded = nn::Autoencoder::load(options.model_path);
  if (!loaded.ok()) return loaded.status();
  auto net = std::make_shared<nn::Autoencoder>(*std::move(loaded));
  const int size = net->spec().input_size_px;
  auto faces = collect_aligned_faces(source, size, kMaxSourceFaces, models);
  if (!faces.ok()) return faces.status();
  auto batch = nn::faces_to_batch(*faces, size);
  if (!batch.ok()) return batch.status();
  double error[2];
  for (int d = 0; d < 2; ++d) {
    auto rebuilt = net->reconstruct(*batch, d);
    if (!rebuilt.ok()) return rebuilt.status();
    error[d] = mean_abs_error(*batch, *rebuilt);
  }
  AutoencoderReplacer out;
  out.n_source_faces = static_cast<int>(faces->size());
  out.decoder = error[1] < error[0] ? 1 : 0;
  out.replace = [net, size, decoder = out.decoder, options](Image& frame, const face::Landmarks& landmarks) -> Result<Image> {
    if (frame.empty() || frame.channels() != 3) return Status::input("swap target", "frame must be BGR");
    face::AlignOptions align;
    align.size_px = size;
    align.margin = kAutoencoderMargin;
    auto aligned = face::align_face(frame, landmarks, align);
    if (!aligned.ok()) return aligned.status();
    auto input = nn::faces_to_batch(std::span<const Image>(&aligned->crop, 1), size);
    if (!input.ok()) return input.status();
    auto drawn = net->reconstruct(*input, decoder);
    if (!drawn.ok()) return drawn.status();
    const std::vector<Image> face_images = nn::batch_to_faces(*drawn);
    if (face_images.size() != 1) return Status::internal("autoencoder swap", "the network gave no face");
    cv::Mat dst = media::as_mat(frame);
    cv::Mat rendered = dst.clone();
    const auto& m = aligned->crop_to_frame.m;
    const cv::Mat to_frame = (cv::Mat_<double>(2, 3) << m[0], m[1], m[2], m[3], m[4], m[5]);
    cv::warpAffine(media::as_mat(face_images[0]), rendered, to_frame, dst.size(), cv::INTER_LINEAR,
                   cv::BORDER_TRANSPARENT);
    return paste_rendered_face(dst, rendered, landmarks, options);
  };
  return out;
}

}  // namespace unmask::synth::detail
