// Self-blended images (SBI). A face is blended with a slightly altered copy of itself: the result
// has the statistical traces of a face swap (a blending boundary, colour and sharpness mismatch,
// a small misalignment) without any identity change, so a detector trained on it learns the
// traces rather than one generator's fingerprint. Follows Shiohara & Yamasaki (CVPR 2022):
// source-target augmentation, a deformed and blurred convex-hull mask, a random blend ratio.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "media/cv_jpeg.h"
#include "synth/mask_blend.h"
#include "synth/synth.h"

namespace unmask::synth {
namespace {

double uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}
int uniform_int(std::mt19937_64& rng, int lo, int hi) {  // inclusive
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}
bool coin(std::mt19937_64& rng, double p) { return uniform(rng, 0, 1) < p; }
int odd_kernel(std::mt19937_64& rng, int lo, int hi) { return uniform_int(rng, lo / 2, hi / 2) * 2 + 1; }

// Colour (RGB shift, hue/saturation/value, brightness/contrast) and frequency (blur or sharpen)
// alterations, as SBI's source-target generator.
void alter(cv::Mat& img, SelfBlendParams& p, std::mt19937_64& rng) {
  for (double& s : p.rgb_shift) s = uniform(rng, -20, 20);
  p.hue_shift_deg = uniform(rng, -10, 10);
  p.saturation_scale = 1 + uniform(rng, -0.12, 0.12);
  p.value_scale = 1 + uniform(rng, -0.08, 0.08);
  p.brightness = uniform(rng, -0.1, 0.1) * 255;
  p.contrast = 1 + uniform(rng, -0.1, 0.1);
  p.frequency_op = uniform_int(rng, 0, 2);

  cv::Mat f;
  img.convertTo(f, CV_32FC3);
  f += cv::Scalar(p.rgb_shift[0], p.rgb_shift[1], p.rgb_shift[2]);
  cv::Mat clipped;
  f.convertTo(clipped, CV_8UC3);
  cv::Mat hsv;
  cv::cvtColor(clipped, hsv, cv::COLOR_BGR2HSV_FULL);
  hsv.convertTo(hsv, CV_32FC3);
  std::vector<cv::Mat> ch;
  cv::split(hsv, ch);
  ch[0] += p.hue_shift_deg * 256.0 / 360.0;
  cv::Mat wrapped = ch[0].clone();
  for (int y = 0; y < wrapped.rows; ++y) {
    auto* row = wrapped.ptr<float>(y);
    for (int x = 0; x < wrapped.cols; ++x) row[x] = std::fmod(row[x] + 256.0f, 256.0f);
  }
  ch[0] = wrapped;
  ch[1] *= p.saturation_scale;
  ch[2] *= p.value_scale;
  cv::merge(ch, hsv);
  hsv.convertTo(hsv, CV_8UC3);
  cv::cvtColor(hsv, img, cv::COLOR_HSV2BGR_FULL);
  img.convertTo(img, CV_8UC3, p.contrast, p.brightness + 128 * (1 - p.contrast));

  if (p.frequency_op == 1) {  // lose detail: down-scale then up-scale
    const double s = uniform(rng, 0.35, 0.7);
    cv::Mat small;
    cv::resize(img, small, cv::Size(), s, s, cv::INTER_AREA);
    cv::resize(small, img, img.size(), 0, 0, cv::INTER_LINEAR);
  } else if (p.frequency_op == 2) {  // unsharp mask
    cv::Mat blurred;
    cv::GaussianBlur(img, blurred, cv::Size(0, 0), 1.5);
    cv::addWeighted(img, 1.6, blurred, -0.6, 0, img);
  }
}

// Convex hull of the landmarks (variant 1 raises the brows to include the forehead).
cv::Mat hull_mask(const face::Landmarks& lm, cv::Size size, int variant) {
  std::vector<cv::Point> pts;
  if (variant == 0) {
    for (const auto& p : lm) pts.emplace_back(cvRound(p.x), cvRound(p.y));
  } else {
    const double face_h = std::abs(lm[8].y - 0.5 * (lm[19].y + lm[24].y));
    for (int i = 0; i <= 16; ++i) pts.emplace_back(cvRound(lm[i].x), cvRound(lm[i].y));
    for (int i = 17; i <= 26; ++i) pts.emplace_back(cvRound(lm[i].x), cvRound(lm[i].y - 0.2 * face_h));
  }
  std::vector<cv::Point> hull;
  cv::convexHull(pts, hull);
  cv::Mat mask = cv::Mat::zeros(size, CV_32F);
  cv::fillConvexPoly(mask, hull, cv::Scalar(1.0));
  return mask;
}

// Elastic deformation: a smooth random displacement field (SBI uses alpha 50, sigma 7 at 256 px).
cv::Mat elastic(const cv::Mat& mask, std::mt19937_64& rng) {
  const double scale = mask.cols / 256.0;
  const double alpha = 50 * scale, sigma = 7 * scale;
  cv::Mat dx(mask.size(), CV_32F), dy(mask.size(), CV_32F);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int y = 0; y < mask.rows; ++y) {
    for (int x = 0; x < mask.cols; ++x) {
      dx.at<float>(y, x) = u(rng);
      dy.at<float>(y, x) = u(rng);
    }
  }
  cv::GaussianBlur(dx, dx, cv::Size(0, 0), sigma);
  cv::GaussianBlur(dy, dy, cv::Size(0, 0), sigma);
  // Normalise so that alpha is the typical displacement in pixels regardless of sigma.
  double mx = 0, my = 0;
  cv::minMaxLoc(cv::abs(dx), nullptr, &mx);
  cv::minMaxLoc(cv::abs(dy), nullptr, &my);
  const double norm = std::max({mx, my, 1e-6});
  cv::Mat map_x(mask.size(), CV_32F), map_y(mask.size(), CV_32F);
  const double amplitude = alpha * 0.2 / norm;
  for (int y = 0; y < mask.rows; ++y) {
    for (int x = 0; x < mask.cols; ++x) {
      map_x.at<float>(y, x) = static_cast<float>(x + amplitude * dx.at<float>(y, x));
      map_y.at<float>(y, x) = static_cast<float>(y + amplitude * dy.at<float>(y, x));
    }
  }
  cv::Mat out;
  cv::remap(mask, out, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
  return out;
}

// SBI's get_blend_mask: blur, keep the core, blur again with a random sigma, normalise.
cv::Mat blend_mask(const cv::Mat& hard, SelfBlendParams& p, std::mt19937_64& rng) {
  const cv::Size original = hard.size();
  const cv::Size work(uniform_int(rng, 192, 257), uniform_int(rng, 192, 257));
  cv::Mat m;
  cv::resize(hard, m, work);
  p.blur_kernel_1 = odd_kernel(rng, 5, 25);
  p.blur_kernel_2 = odd_kernel(rng, 5, 25);
  cv::GaussianBlur(m, m, cv::Size(p.blur_kernel_1, p.blur_kernel_1), 0);
  double mx = 0;
  cv::minMaxLoc(m, nullptr, &mx);
  if (mx <= 0) return cv::Mat::zeros(original, CV_32F);
  m /= mx;
  cv::threshold(m, m, 0.999, 1.0, cv::THRESH_BINARY);
  cv::GaussianBlur(m, m, cv::Size(p.blur_kernel_2, p.blur_kernel_2), uniform(rng, 5, 45));
  cv::minMaxLoc(m, nullptr, &mx);
  if (mx > 0) m /= mx;
  cv::resize(m, m, original);
  return m;
}

Image to_image(const cv::Mat& m8) {
  Image out(m8.cols, m8.rows, m8.channels());
  cv::Mat view(m8.rows, m8.cols, m8.type(), out.data());
  m8.copyTo(view);
  return out;
}

}  // namespace

Result<SelfBlendSample> self_blend(const Image& aligned_face, const face::Landmarks& landmarks,
                                   std::mt19937_64& rng) {
  if (aligned_face.empty() || aligned_face.channels() != 3) {
    return Status::input("self_blend", "needs a non-empty BGR face crop");
  }
  const cv::Mat input(aligned_face.height_px(), aligned_face.width_px(), CV_8UC3,
                      const_cast<uint8_t*>(aligned_face.data()));
  SelfBlendSample sample;
  SelfBlendParams& p = sample.params;

  cv::Mat target = input.clone();
  cv::Mat source = input.clone();
  p.altered_source = coin(rng, 0.5);
  alter(p.altered_source ? source : target, p, rng);

  p.hull = coin(rng, 0.5) ? 0 : 1;
  cv::Mat mask = hull_mask(landmarks, input.size(), p.hull);

  // Shift and scale the source and its mask a little: the pasted face sits slightly off.
  p.shift_x = uniform(rng, -0.03, 0.03);
  p.shift_y = uniform(rng, -0.015, 0.015);
  p.scale = uniform(rng, 0.95, 1.05);
  const cv::Point2f centre(input.cols / 2.0f, input.rows / 2.0f);
  cv::Mat affine = cv::getRotationMatrix2D(centre, 0.0, p.scale);
  affine.at<double>(0, 2) += p.shift_x * input.cols;
  affine.at<double>(1, 2) += p.shift_y * input.rows;
  cv::warpAffine(source, source, affine, input.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  cv::warpAffine(mask, mask, affine, input.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
  mask = elastic(mask, rng);

  cv::Mat soft = blend_mask(mask, p, rng);
  static constexpr double kRatios[] = {0.25, 0.5, 0.75, 1, 1, 1};
  p.blend_ratio = kRatios[uniform_int(rng, 0, 5)];
  soft *= p.blend_ratio;

  cv::Mat fake = blend_under_mask(source, target, soft), real = target;

  // Shared post-processing so compression does not tell the classes apart: the same JPEG
  // quality for both images of the pair.
  if (coin(rng, 0.5)) {
    p.jpeg_quality = uniform_int(rng, 40, 100);
    media::jpeg_recode(fake, p.jpeg_quality);
    media::jpeg_recode(real, p.jpeg_quality);
  }

  cv::Mat mask8, boundary8;
  soft.convertTo(mask8, CV_8U, 255.0);
  cv::Mat boundary = 4.0 * soft.mul(1.0 - soft);
  boundary.convertTo(boundary8, CV_8U, 255.0);
  sample.real = to_image(real);
  sample.fake = to_image(fake);
  sample.mask = to_image(mask8);
  sample.boundary = to_image(boundary8);
  return sample;
}

}  // namespace unmask::synth
