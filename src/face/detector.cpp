// FaceDetector: dlib HOG on a resized gray frame, optional OpenCV profile cascade; landmarks.
#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "face/models_impl.h"

namespace unmask::face {

struct FaceDetector::State {
  dlib::frontal_face_detector frontal;
  std::optional<cv::CascadeClassifier> profile;
  cv::Mat gray, scaled;  // scratch, reused between calls
};

FaceDetector::FaceDetector(std::shared_ptr<const FaceModels> models, DetectOptions options)
    : models_(std::move(models)), options_(options), state_(std::make_unique<State>()) {
  state_->frontal = models_->impl().frontal;
  if (options_.use_profile && models_->has_profile_cascade()) {
    state_->profile.emplace();
    // Loading succeeded once in FaceModels::load; a failure here would be a vanished file.
    if (!state_->profile->load(models_->impl().profile_cascade_path)) state_->profile.reset();
  }
}
FaceDetector::~FaceDetector() = default;
FaceDetector::FaceDetector(FaceDetector&&) noexcept = default;
FaceDetector& FaceDetector::operator=(FaceDetector&&) noexcept = default;

namespace {

// The factor from full-resolution pixels to detector pixels.
double detect_scale(int width_px, int height_px, const DetectOptions& o) {
  double scale = 1.0;
  int long_side = std::max(width_px, height_px);
  if (o.max_side_px > 0 && long_side > 0) {
    scale = std::min(static_cast<double>(o.max_side_px) / long_side, std::max(1.0, o.max_upscale));
  }
  return scale * std::pow(2.0, std::max(0, o.upsample));
}

Status check_image(const Image& image) {
  if (image.empty()) return Status::input("face detection", "empty image");
  if (image.channels() != 3 && image.channels() != 1) {
    return Status::input("face detection", "expected a BGR or gray image");
  }
  return Status::ok();
}

// The gray frame at the detector's scale, in scratch buffers reused between calls.
cv::Mat& detector_frame(const Image& image, double scale, cv::Mat& gray, cv::Mat& scaled) {
  cv::Mat src = as_mat(image);
  if (image.channels() == 3) {
    cv::cvtColor(src, gray, cv::COLOR_BGR2GRAY);
  } else {
    gray = src;
  }
  if (std::abs(scale - 1.0) <= 1e-6) return gray;
  cv::resize(gray, scaled, cv::Size(), scale, scale, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return scaled;
}

// Appends the faces dlib's frontal detector finds in `view`, whose top-left corner is (x0, y0) of
// the detector frame, with boxes in full-resolution pixels.
void append_frontal(dlib::frontal_face_detector& frontal, const cv::Mat& view, int x0, int y0, double scale,
                    double min_confidence, std::vector<Face>& faces) {
  std::vector<dlib::rect_detection> dets;
  dlib::cv_image<unsigned char> dimg(view);
  frontal(dimg, dets, min_confidence);
  for (const auto& d : dets) {
    Face f;
    const Box b = from_dlib(d.rect);
    f.box = {(x0 + b.x) / scale, (y0 + b.y) / scale, b.w / scale, b.h / scale};
    f.confidence = d.detection_confidence;
    f.detected = true;
    faces.push_back(f);
  }
}

void sort_by_confidence(std::vector<Face>& faces) {
  std::stable_sort(faces.begin(), faces.end(),
                   [](const Face& a, const Face& b) { return a.confidence > b.confidence; });
}

}  // namespace

Result<std::vector<Face>> FaceDetector::detect(const Image& image) {
  UNMASK_RETURN_IF_ERROR(check_image(image));
  State& s = *state_;
  const double scale = detect_scale(image.width_px(), image.height_px(), options_);
  std::vector<Face> faces;
  try {
    cv::Mat* work = &detector_frame(image, scale, s.gray, s.scaled);
    append_frontal(s.frontal, *work, 0, 0, scale, options_.min_confidence, faces);
    if (s.profile) {
      // The cascade finds faces turned to the image left; the mirrored image gives the others.
      for (int flip = 0; flip < 2; ++flip) {
        cv::Mat view = *work;
        cv::Mat flipped;
        if (flip) {
          cv::flip(*work, flipped, 1);
          view = flipped;
        }
        std::vector<cv::Rect> rects;
        s.profile->detectMultiScale(view, rects, 1.15, 4, 0, cv::Size(48, 48));
        for (cv::Rect r : rects) {
          if (flip) r.x = view.cols - r.x - r.width;
          Box b{r.x / scale, r.y / scale, r.width / scale, r.height / scale};
          bool overlaps = std::any_of(faces.begin(), faces.end(),
                                      [&](const Face& f) { return iou(f.box, b) > 0.2; });
          if (overlaps) continue;
          Face f;
          f.box = b;
          f.confidence = 0.0;
          f.detected = true;
          f.profile = true;
          faces.push_back(f);
        }
      }
    }
  } catch (const cv::Exception& e) {
    return Status::internal("face detection", e.what());
  }
  sort_by_confidence(faces);
  return faces;
}

Result<std::vector<Face>> FaceDetector::detect_in(const Image& image, const Box& region) {
  UNMASK_RETURN_IF_ERROR(check_image(image));
  State& s = *state_;
  const double scale = detect_scale(image.width_px(), image.height_px(), options_);
  std::vector<Face> faces;
  try {
    // The whole frame as detect() prepares it (a few ms): the window's pixels are then exactly
    // those detect() scans.
    cv::Mat* work = &detector_frame(image, scale, s.gray, s.scaled);
    constexpr int kCell = 8;     // dlib's HOG cell: the window starts on detect()'s cell grid
    constexpr int kMinSide = 96; // the 80 px HOG window plus a cell of context
    int x0 = static_cast<int>(std::floor(region.x * scale / kCell)) * kCell;
    int y0 = static_cast<int>(std::floor(region.y * scale / kCell)) * kCell;
    int x1 = static_cast<int>(std::ceil((region.x + region.w) * scale));
    int y1 = static_cast<int>(std::ceil((region.y + region.h) * scale));
    if (x1 - x0 < kMinSide) x1 = x0 + kMinSide;
    if (y1 - y0 < kMinSide) y1 = y0 + kMinSide;
    x0 = std::max(0, x0);
    y0 = std::max(0, y0);
    x1 = std::min(work->cols, x1);
    y1 = std::min(work->rows, y1);
    if (x1 - x0 < 80 || y1 - y0 < 80) return faces;  // smaller than the HOG window
    const cv::Mat window = (*work)(cv::Rect(x0, y0, x1 - x0, y1 - y0));
    append_frontal(s.frontal, window, x0, y0, scale, options_.min_confidence, faces);
  } catch (const cv::Exception& e) {
    return Status::internal("face detection", e.what());
  }
  sort_by_confidence(faces);
  return faces;
}

Result<std::vector<Face>> FaceDetector::detect_faces(const Image& image) {
  auto faces = detect(image);
  if (!faces.ok()) return faces;
  for (Face& f : *faces) f.landmarks = fit_landmarks(*models_, image, f.box);
  return faces;
}

Result<std::vector<Face>> FaceDetector::detect_near(const Image& image, const Box& near,
                                                    double min_confidence) {
  if (image.empty()) return Status::input("face detection", "empty image");
  if (near.w <= 1 || near.h <= 1) return std::vector<Face>{};
  const double cx = near.x + near.w / 2, cy = near.y + near.h / 2, side = 2.0 * std::max(near.w, near.h);
  // The window may reach past the frame (a face at the edge): the outside is the edge replicated.
  const int x0 = static_cast<int>(cx - side / 2), y0 = static_cast<int>(cy - side / 2);
  const int win = static_cast<int>(side);
  const int cx0 = std::max(0, x0), cy0 = std::max(0, y0);
  const int cx1 = std::min(image.width_px(), x0 + win), cy1 = std::min(image.height_px(), y0 + win);
  if (cx1 - cx0 < 16 || cy1 - cy0 < 16) return std::vector<Face>{};
  State& s = *state_;
  const double scale = std::clamp(100.0 / near.w, 0.1, 4.0);
  std::vector<Face> faces;
  try {
    cv::Mat roi = as_mat(image)(cv::Rect(cx0, cy0, cx1 - cx0, cy1 - cy0));
    cv::Mat gray, window;
    if (image.channels() == 3) {
      cv::cvtColor(roi, gray, cv::COLOR_BGR2GRAY);
    } else {
      gray = roi;
    }
    cv::copyMakeBorder(gray, window, cy0 - y0, y0 + win - cy1, cx0 - x0, x0 + win - cx1, cv::BORDER_REPLICATE);
    gray = window;
    cv::resize(gray, s.scaled, cv::Size(), scale, scale, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
    if (s.scaled.cols < 80 || s.scaled.rows < 80) return faces;  // smaller than the HOG window
    dlib::cv_image<unsigned char> dimg(s.scaled);
    std::vector<dlib::rect_detection> dets;
    s.frontal(dimg, dets, min_confidence);
    for (const auto& d : dets) {
      Face f;
      const Box b = from_dlib(d.rect);
      f.box = {x0 + b.x / scale, y0 + b.y / scale, b.w / scale, b.h / scale};
      f.confidence = d.detection_confidence;
      f.detected = true;
      faces.push_back(f);
    }
  } catch (const cv::Exception& e) {
    return Status::internal("face detection", e.what());
  }
  sort_by_confidence(faces);
  return faces;
}

Landmarks fit_landmarks(const FaceModels& models, const Image& image, const Box& box) {
  // The shape predictor only samples a few hundred pixels per cascade stage, so it reads the BGR
  // frame directly (dlib converts the sampled pixels to intensity) instead of converting it all.
  cv::Mat mat = as_mat(image);
  const FaceModels::Impl& m = models.impl();
  Landmarks out{};
  if (!m.flat_landmarks.empty()) {
    thread_local std::vector<dlib::point> parts;
    if (image.channels() == 3) {
      m.flat_landmarks.fit(dlib::cv_image<dlib::bgr_pixel>(mat), to_dlib(box), parts);
    } else {
      m.flat_landmarks.fit(dlib::cv_image<unsigned char>(mat), to_dlib(box), parts);
    }
    for (int i = 0; i < kNumLandmarks; ++i) {
      out[i] = {static_cast<double>(parts[i].x()), static_cast<double>(parts[i].y())};
    }
    return out;
  }
  dlib::full_object_detection shape;
  if (image.channels() == 3) {
    dlib::cv_image<dlib::bgr_pixel> dimg(mat);
    shape = m.landmarks(dimg, to_dlib(box));
  } else {
    dlib::cv_image<unsigned char> dimg(mat);
    shape = m.landmarks(dimg, to_dlib(box));
  }
  for (int i = 0; i < kNumLandmarks; ++i) {
    out[i] = {static_cast<double>(shape.part(i).x()), static_cast<double>(shape.part(i).y())};
  }
  return out;
}

const Face* largest_face(const std::vector<Face>& faces, double min_side_px) {
  const Face* best = nullptr;
  for (const Face& f : faces) {
    if (f.box.w < min_side_px || f.box.h < min_side_px) continue;
    if (best == nullptr || f.box.area() > best->box.area()) best = &f;
  }
  return best;
}

}  // namespace unmask::face
