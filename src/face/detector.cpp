// FaceDetector: dlib HOG on a resized gray frame, optional OpenCV profile cascade; landmarks.
#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "face/hog_kernels.h"
#include "face/models_impl.h"

namespace unmask::face {

namespace {

// dlib's frontal detector (object_detector<scan_fhog_pyramid<pyramid_down<6>>>::operator()) that can
// leave out the finest pyramid levels, which only find faces smaller than a given size (level l
// finds faces of ~80 * 1.2^l detector pixels): the levels it does compute are built, filtered and
// mapped back exactly as dlib does (the same successive down-sampling from the full image, the same
// HOG, filters, thresholds, level-to-image mapping and non-max suppression), so from level 0 it
// gives dlib's detections exactly (tests/face checks) and from level k the detections dlib finds
// on levels k and up, before their suppression by detections on the levels left out. The finest
// levels are most of the cost (each level has 0.69x the pixels of the one below). Its features
// and filters run through detail::extract_hog_features and detail::apply_hog_filters (dlib's
// arithmetic with an AVX2 clone, hog_kernels.h), so detect(), detect_near() and the windows use
// it from level 0 on; dlib's own detector is kept for detect_in without a smallest face, the
// reference the tests compare this one with.
class LevelScanner {
 public:
  using Scanner = dlib::scan_fhog_pyramid<dlib::pyramid_down<6>>;

  explicit LevelScanner(const dlib::frontal_face_detector& d) : tester_(d.get_overlap_tester()) {
    scanner_.copy_configuration(d.get_scanner());
    for (unsigned long i = 0; i < d.num_detectors(); ++i) {
      filters_.push_back(scanner_.build_fhog_filterbank(d.get_w(i)));
      thresholds_.push_back(d.get_w(i)(scanner_.get_num_dimensions()));
    }
    fhog_w_ = scanner_.get_fhog_window_width();
    fhog_h_ = scanner_.get_fhog_window_height();
    box_w_ = fhog_w_ - 2 * scanner_.get_padding();
    box_h_ = fhog_h_ - 2 * scanner_.get_padding();
    const dlib::rectangle box = scanner_.get_feature_extractor().feats_to_image(
        dlib::centered_rect(dlib::point(0, 0), box_w_, box_h_), scanner_.get_cell_size(), fhog_h_, fhog_w_);
    level0_box_side_ = static_cast<double>(std::min(box.width(), box.height()));
  }

  // The first level that finds faces of at least min_side detector pixels (0 when min_side <= 0).
  unsigned long first_level_for(double min_side) const {
    if (!(min_side > level0_box_side_)) return 0;
    return static_cast<unsigned long>(std::floor(std::log(min_side / level0_box_side_) / std::log(1.2)));
  }

  void detect(const dlib::cv_image<unsigned char>& img, unsigned long first_level, double adjust_threshold,
              std::vector<dlib::rect_detection>& final_dets) {
    final_dets.clear();
    dlib::pyramid_down<6> pyr;
    // As many levels as dlib's create_fhog_pyramid makes for this image.
    unsigned long levels = 0;
    dlib::rectangle rect = dlib::get_rect(img);
    do {
      rect = pyr.rect_down(rect);
      ++levels;
    } while (rect.width() >= scanner_.get_min_pyramid_layer_width() &&
             rect.height() >= scanner_.get_min_pyramid_layer_height() && levels < scanner_.get_max_pyramid_levels());
    if (first_level >= levels) return;
    const auto& fe = scanner_.get_feature_extractor();
    const int cell = static_cast<int>(scanner_.get_cell_size());
    if (feats_.max_size() < levels) feats_.set_max_size(levels);
    feats_.set_size(levels);
    // dlib's extractor, through detail::extract_hog_features (its arithmetic, with an AVX2 clone).
    auto features = [&](const auto& level, detail::HogPlanes& out) {
      if (cell < 2) {
        fe(level, out, cell, fhog_h_, fhog_w_);
        return;
      }
      detail::extract_hog_features(static_cast<const uint8_t*>(dlib::image_data(level)), dlib::width_step(level),
                                   dlib::num_rows(level), dlib::num_columns(level), cell,
                                   static_cast<int>(fhog_h_), static_cast<int>(fhog_w_), out);
    };
    if (first_level == 0) features(img, feats_[0]);
    if (levels > 1) {
      pyr(img, temp1_);
      if (first_level <= 1) features(temp1_, feats_[1]);
      dlib::swap(temp1_, temp2_);
      for (unsigned long l = 2; l < levels; ++l) {
        pyr(temp2_, temp1_);
        if (l >= first_level) features(temp1_, feats_[l]);
        dlib::swap(temp1_, temp2_);
      }
    }
    dets_accum_.clear();
    for (size_t i = 0; i < filters_.size(); ++i) {
      const double thresh = thresholds_[i] + adjust_threshold;
      dets_.clear();
      for (unsigned long l = first_level; l < levels; ++l) {
        const dlib::rectangle area = detail::apply_hog_filters(filters_[i], feats_[l], saliency_, scratch_);
        for (long r = area.top(); r <= area.bottom(); ++r) {
          for (long c = area.left(); c <= area.right(); ++c) {
            if (saliency_[r][c] >= thresh) {
              dlib::rectangle d = fe.feats_to_image(dlib::centered_rect(dlib::point(c, r), box_w_, box_h_), cell, fhog_h_, fhog_w_);
              d = pyr.rect_up(d, l);
              dets_.push_back(std::make_pair(saliency_[r][c], d));
            }
          }
        }
      }
      std::sort(dets_.rbegin(), dets_.rend(), dlib::impl::compare_pair_rect);
      for (const auto& d : dets_) {
        dlib::rect_detection temp;
        temp.detection_confidence = d.first - thresholds_[i];
        temp.weight_index = i;
        temp.rect = d.second;
        dets_accum_.push_back(temp);
      }
    }
    if (filters_.size() > 1) std::sort(dets_accum_.rbegin(), dets_accum_.rend());
    for (const auto& d : dets_accum_) {
      const bool overlaps = std::any_of(final_dets.begin(), final_dets.end(),
                                        [&](const dlib::rect_detection& f) { return tester_(f.rect, d.rect); });
      if (!overlaps) final_dets.push_back(d);
    }
  }

 private:
  Scanner scanner_;  // its settings and feature extractor; never loaded with an image
  dlib::test_box_overlap tester_;
  std::vector<Scanner::fhog_filterbank> filters_;
  std::vector<double> thresholds_;
  unsigned long fhog_w_ = 0, fhog_h_ = 0, box_w_ = 0, box_h_ = 0;
  double level0_box_side_ = 80;
  dlib::array<dlib::array<dlib::array2d<float>>> feats_;
  dlib::array2d<unsigned char> temp1_, temp2_;
  dlib::array2d<float> saliency_, scratch_;
  std::vector<std::pair<double, dlib::rectangle>> dets_;
  std::vector<dlib::rect_detection> dets_accum_;
};

}  // namespace

struct FaceDetector::State {
  dlib::frontal_face_detector frontal;  // dlib's own, for detect_in without a smallest face
  std::optional<LevelScanner> levels;   // everything else; built on first use
  LevelScanner& scanner() {
    if (!levels) levels.emplace(frontal);
    return *levels;
  }
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

// True when the frame at the detector's scale would be less than a pixel thick (a 1 x 20000
// strip scaled to the detector's size): no face can be in it, and OpenCV refuses an empty size.
bool thinner_than_a_pixel(const Image& image, double scale) {
  return image.width_px() * scale < 1.0 || image.height_px() * scale < 1.0;
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

// Appends dlib detections in a view whose top-left corner is (x0, y0) of the detector frame
// (scaled by `scale` from the full frame) as faces with boxes in full-resolution pixels.
void append_detections(const std::vector<dlib::rect_detection>& dets, int x0, int y0, double scale,
                       std::vector<Face>& faces) {
  for (const auto& d : dets) {
    Face f;
    const Box b = from_dlib(d.rect);
    f.box = {(x0 + b.x) / scale, (y0 + b.y) / scale, b.w / scale, b.h / scale};
    f.confidence = d.detection_confidence;
    f.detected = true;
    faces.push_back(f);
  }
}

// Appends the faces dlib's frontal detector finds in `view` (see append_detections).
void append_frontal(dlib::frontal_face_detector& frontal, const cv::Mat& view, int x0, int y0, double scale,
                    double min_confidence, std::vector<Face>& faces) {
  std::vector<dlib::rect_detection> dets;
  dlib::cv_image<unsigned char> dimg(view);
  frontal(dimg, dets, min_confidence);
  append_detections(dets, x0, y0, scale, faces);
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
  if (thinner_than_a_pixel(image, scale)) return faces;
  try {
    cv::Mat* work = &detector_frame(image, scale, s.gray, s.scaled);
    std::vector<dlib::rect_detection> dets;
    s.scanner().detect(dlib::cv_image<unsigned char>(*work), 0, options_.min_confidence, dets);
    append_detections(dets, 0, 0, scale, faces);
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

Result<std::vector<Face>> FaceDetector::detect_in(const Image& image, const Box& region, double min_face_side_px) {
  UNMASK_RETURN_IF_ERROR(check_image(image));
  State& s = *state_;
  const double scale = detect_scale(image.width_px(), image.height_px(), options_);
  std::vector<Face> faces;
  if (thinner_than_a_pixel(image, scale)) return faces;
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
    if (min_face_side_px > 0) {
      std::vector<dlib::rect_detection> dets;
      LevelScanner& scanner = s.scanner();
      scanner.detect(dlib::cv_image<unsigned char>(window), scanner.first_level_for(min_face_side_px * scale),
                     options_.min_confidence, dets);
      append_detections(dets, x0, y0, scale, faces);
    } else {
      append_frontal(s.frontal, window, x0, y0, scale, options_.min_confidence, faces);
    }
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
    s.scanner().detect(dimg, 0, min_confidence, dets);
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
