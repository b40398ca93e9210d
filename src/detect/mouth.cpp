// The `mouth` detector: the crop rule, the lower-face pseudo-fakes, and the blend-family detector
// and trainer with the mouth recipe.
#include "detect/mouth.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "detect/cv_image.h"
#include "detect/registry_table.h"
#include "media/cv_jpeg.h"
#include "nn/nn.h"
#include "synth/mask_blend.h"

namespace unmask::detect {
namespace {

double uniform(std::mt19937_64& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
bool coin(std::mt19937_64& rng, double p) { return uniform(rng, 0, 1) < p; }

cv::Rect mouth_box(int width_px, int height_px) {
  const int x0 = static_cast<int>(std::lround(kMouthX0 * width_px));
  const int y0 = static_cast<int>(std::lround(kMouthY0 * height_px));
  const int x1 = std::max(x0 + 1, static_cast<int>(std::lround(kMouthX1 * width_px)));
  const int y1 = std::max(y0 + 1, static_cast<int>(std::lround(kMouthY1 * height_px)));
  return cv::Rect(x0, y0, std::min(x1, width_px) - x0, std::min(y1, height_px) - y0);
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// The hard (0/1) lower-face mask in mouth-crop coordinates; three shapes, as the generators paste:
// the jaw below the nose base (Wav2Lip-style lower face), the mouth with its surroundings, and the
// lower part of a box (a pasted rectangle that ends on the cheeks).
cv::Mat lower_face_mask(const face::Landmarks& lm, cv::Size size, std::mt19937_64& rng) {
  cv::Mat mask = cv::Mat::zeros(size, CV_8U);
  const double r = uniform(rng, 0, 1);
  auto pt = [&](int i) { return cv::Point(cvRound(lm[i].x), cvRound(lm[i].y)); };
  if (r < 0.45) {
    std::vector<cv::Point> pts;
    for (int i = 3; i <= 13; ++i) pts.push_back(pt(i));
    for (int i = 31; i <= 35; ++i) pts.push_back(pt(i));
    std::vector<cv::Point> hull;
    cv::convexHull(pts, hull);
    cv::fillConvexPoly(mask, hull, cv::Scalar(255));
  } else if (r < 0.75) {
    std::vector<cv::Point> pts;
    for (int i = 48; i <= 67; ++i) pts.push_back(pt(i));
    std::vector<cv::Point> hull;
    cv::convexHull(pts, hull);
    cv::fillConvexPoly(mask, hull, cv::Scalar(255));
    const int grow = std::max(1, static_cast<int>(uniform(rng, 0.05, 0.15) * size.width));
    cv::dilate(mask, mask, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * grow + 1, 2 * grow + 1)));
  } else {
    const double top = 0.5 * (lm[31].y + lm[35].y) + uniform(rng, -0.08, 0.05) * size.height;
    const double left = lm[2].x + uniform(rng, -0.05, 0.08) * size.width;
    const double right = lm[14].x + uniform(rng, -0.08, 0.05) * size.width;
    const double bottom = lm[8].y + uniform(rng, 0.0, 0.1) * size.height;
    cv::rectangle(mask, cv::Point(cvRound(left), cvRound(top)), cv::Point(cvRound(right), cvRound(bottom)),
                  cv::Scalar(255), cv::FILLED);
  }
  // The mask edge moves a little in or out.
  const int k = static_cast<int>(std::lround(uniform(rng, -3, 3)));
  if (k != 0) {
    const cv::Mat se = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * std::abs(k) + 1, 2 * std::abs(k) + 1));
    if (k > 0) {
      cv::dilate(mask, mask, se);
    } else {
      cv::Mat eroded;
      cv::erode(mask, eroded, se);
      if (cv::countNonZero(eroded) > 0) mask = eroded;
    }
  }
  return mask;
}

}  // namespace

Image mouth_crop(const Image& aligned, int size_px) {
  if (aligned.empty()) return Image();
  const cv::Mat m = as_mat(aligned);
  cv::Mat out;
  const cv::Rect box = mouth_box(m.cols, m.rows);
  const double shrink = std::min(static_cast<double>(size_px) / box.width, static_cast<double>(size_px) / box.height);
  cv::resize(m(box), out, cv::Size(size_px, size_px), 0, 0, shrink < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return to_image(out);
}

face::Landmarks mouth_landmarks(const face::Landmarks& aligned_landmarks, int aligned_px, int size_px) {
  const cv::Rect box = mouth_box(aligned_px, aligned_px);
  const double sx = static_cast<double>(size_px) / box.width, sy = static_cast<double>(size_px) / box.height;
  face::Landmarks out = aligned_landmarks;
  for (face::Point2& p : out) {
    p.x = (p.x - box.x) * sx;
    p.y = (p.y - box.y) * sy;
  }
  return out;
}

Result<MouthFakeSample> make_mouth_fake(const Image& mouth, const face::Landmarks& landmarks, std::mt19937_64& rng,
                                        const MouthFakeOptions& options) {
  if (mouth.empty() || mouth.channels() != 3) return Status::input("make_mouth_fake", "needs a non-empty BGR crop");
  const cv::Mat target = as_mat(mouth).clone();
  const int w = target.cols, h = target.rows;
  cv::Mat source = target.clone();

  // The altered copy: what a re-synthesis at low resolution, an enhancer and a paste do.
  bool resampled = false;
  if (coin(rng, 0.75)) {  // made at 1/2-1/4 of the resolution (Wav2Lip 96 px, SadTalker 256 px faces)
    const double f = uniform(rng, 2.0, 4.0);
    cv::Mat small;
    cv::resize(source, small, cv::Size(std::max(8, cvRound(w / f)), std::max(8, cvRound(h / f))), 0, 0,
               coin(rng, 0.5) ? cv::INTER_AREA : cv::INTER_LINEAR);
    if (coin(rng, 0.3)) {  // the generator's output coded at its own size
      media::jpeg_recode(small, static_cast<int>(uniform(rng, 50, 95)));
    }
    cv::resize(small, source, target.size(), 0, 0, coin(rng, 0.5) ? cv::INTER_LINEAR : cv::INTER_CUBIC);
    resampled = true;
  }
  const double fr = uniform(rng, 0, 1);
  if (fr < 0.3 || !resampled) {  // soft
    cv::GaussianBlur(source, source, cv::Size(0, 0), uniform(rng, 0.6, 1.5));
  } else if (fr < 0.6) {  // crisp and smooth, as a face restorer (GFPGAN) leaves it
    cv::Mat blurred;
    cv::GaussianBlur(source, blurred, cv::Size(0, 0), uniform(rng, 1.0, 2.0));
    const double amount = uniform(rng, 0.4, 1.5);
    cv::addWeighted(source, 1 + amount, blurred, -amount, 0, source);
  }
  if (coin(rng, 0.6)) {  // small colour and brightness shift
    const double b = uniform(rng, -8, 8);
    source.convertTo(source, CV_32FC3);
    source += cv::Scalar(b + uniform(rng, -6, 6), b + uniform(rng, -6, 6), b + uniform(rng, -6, 6));
    source.convertTo(source, CV_8UC3);
  }
  if (coin(rng, 0.7)) {  // pasted slightly off
    cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(w / 2.0f, h / 2.0f), uniform(rng, -2, 2), uniform(rng, 0.97, 1.03));
    m.at<double>(0, 2) += uniform(rng, -0.03, 0.03) * w;
    m.at<double>(1, 2) += uniform(rng, -0.03, 0.03) * h;
    cv::warpAffine(source, source, m, source.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  }

  // The soft mask: a lower-face shape, its edge blurred.
  cv::Mat hard = lower_face_mask(landmarks, target.size(), rng);
  cv::Mat soft;
  hard.convertTo(soft, CV_32F, 1.0 / 255);
  cv::GaussianBlur(soft, soft, cv::Size(0, 0), uniform(rng, 0.8, 5.0) * w / 64.0);
  double mx = 0;
  cv::minMaxLoc(soft, nullptr, &mx);
  if (mx > 0) soft /= mx;
  static constexpr double kRatios[] = {0.6, 0.8, 1, 1};
  soft *= kRatios[std::uniform_int_distribution<int>(0, 3)(rng)];

  cv::Mat fake = synth::blend_under_mask(source, target, soft), real = target;
  if (coin(rng, options.jpeg_probability)) {  // the same coding for both, so it never tells them apart
    const int quality = static_cast<int>(uniform(rng, 40, 100));
    for (cv::Mat* m : {&fake, &real}) media::jpeg_recode(*m, quality);
  }
  // Weight and seam (4 m (1 - m)) at 0..255.
  auto to_u8 = [](const cv::Mat& unit) {
    cv::Mat u8;
    unit.convertTo(u8, CV_8U, 255.0);
    return to_image(u8);
  };
  return MouthFakeSample{.real = to_image(real), .fake = to_image(fake), .mask = to_u8(soft),
                         .boundary = to_u8(4.0 * soft.mul(1.0 - soft))};
}

SbiRecipe mouth_recipe() {
  SbiRecipe r;
  r.name = "mouth";
  r.version = kMouthVersion;
  r.region_x0 = kMouthX0;
  r.region_y0 = kMouthY0;
  r.region_x1 = kMouthX1;
  r.region_y1 = kMouthY1;
  r.view = [](const Image& aligned) { return mouth_crop(aligned); };
  r.make_pair = [](const BlendCrop& c, std::mt19937_64& rng, Image& real, Image& fake, Image& boundary) -> Status {
    auto sample = make_mouth_fake(mouth_crop(c.crop), mouth_landmarks(c.landmarks, c.crop.width_px()), rng);
    if (!sample.ok()) return sample.status();
    real = std::move(sample->real);
    fake = std::move(sample->fake);
    boundary = std::move(sample->boundary);
    return Status::ok();
  };
  return r;
}

Result<std::shared_ptr<const CropDetector>> load_mouth_detector(const std::string& model_path) {
  return load_mouth_detector(model_path, default_blend_gate());
}

static std::string mouth_region_text() {
  return std::to_string(kMouthX0) + " " + std::to_string(kMouthY0) + " " + std::to_string(kMouthX1) + " " +
         std::to_string(kMouthY1);
}

Result<std::shared_ptr<const CropDetector>> load_mouth_detector(const std::string& model_path, const BlendGate& gate) {
  auto det = load_sbi_detector(model_path, mouth_recipe(), {"blend_cnn_tiny", "blend_cnn_small"}, gate);
  if (!det.ok()) return det;
  // A model trained on another crop rule would be fed crops it never saw.
  auto info = nn::read_model_info(model_path);
  if (!info.ok()) return info.status();
  auto it = info->metadata.find("mouth.region");
  if (it != info->metadata.end() && it->second != mouth_region_text()) {
    return Status::model(model_path, "trained on the lower-face box " + it->second + ", this build cuts " +
                                         mouth_region_text() + " (retrain it)");
  }
  return det;
}

// Registered, but loaded by default only when models/mouth.unm is there: a checkout without the
// trained weights scans as before (asked for by name, a missing file is a model error).
Status load_mouth(const std::string& models_dir, DetectorSet& set) {
  const std::string path = (std::filesystem::path(models_dir) / "mouth.unm").string();
  auto det = load_mouth_detector(path);
  if (!det.ok()) return det.status();
  set.crop.push_back(*det);
  return Status::ok();
}

Result<TrainSummary> train_mouth(const TrainRequest& request) {
  SbiTrainerOptions o;
  o.recipe = mouth_recipe();
  auto spec = nn::default_spec("blend_cnn_tiny");
  if (!spec.ok()) return spec.status();
  o.spec = *spec;
  o.spec.input_size_px = kMouthInputPx;
  o.spec.widths = {16, 16, 24, 32, 48, 96};
  o.spec.boundary_head = true;
  o.batch_size = std::stoi(env_or("UNMASK_MOUTH_BATCH", "32"));
  o.learning_rate = std::stod(env_or("UNMASK_MOUTH_LR", "2e-3"));
  o.default_epochs = 6;
  o.max_crops_per_source = 1000;
  o.recipe_text =
      "lower-face pseudo-fakes from real faces: the lower face (mouth_crop of the 128 px aligned crop) blended with "
      "an altered copy of itself (down-up scaling by 2-4, blur or unsharp, small colour shift and misplacement) "
      "under a soft jaw / mouth / box mask; at most 1000 crops per source; blend's video-like augmentation for both "
      "classes";
  o.metadata = {{"mouth.region", mouth_region_text()}, {"mouth.input_px", std::to_string(kMouthInputPx)}};
  return train_sbi_detector(request, o);
}

}  // namespace unmask::detect
