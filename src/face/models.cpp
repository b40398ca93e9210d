// FaceModels: loads the dlib models once.
#include <filesystem>
#include <cstring>
#include <fstream>

#include "face/models_impl.h"

namespace unmask::face {

FaceModels::FaceModels() : impl_(std::make_unique<Impl>()) {}
FaceModels::~FaceModels() = default;

bool FaceModels::has_profile_cascade() const { return !impl_->profile_cascade_path.empty(); }

Result<std::shared_ptr<const FaceModels>> FaceModels::load(const ModelOptions& options) {
  const std::string& path = options.landmark_model_path;
  std::error_code ec;
  if (path.empty()) return Status::model("landmark model", "no path given");
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::model(path, "landmark model not found (install libdlib-data)");
  }
  std::shared_ptr<FaceModels> models(new FaceModels());
  models->landmark_model_path_ = path;
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::model(path, "cannot open landmark model");
    dlib::deserialize(models->impl_->landmarks, in);
  } catch (const std::exception& e) {
    return Status::model(path, std::string("not a dlib shape predictor: ") + e.what());
  }
  if (models->impl_->landmarks.num_parts() != static_cast<unsigned long>(kNumLandmarks)) {
    return Status::model(path, "expected a 68-point shape predictor, got " +
                                   std::to_string(models->impl_->landmarks.num_parts()) + " points");
  }
  models->impl_->frontal = dlib::get_frontal_face_detector();
  if (!options.profile_cascade_path.empty()) {
    cv::CascadeClassifier probe;
    bool loaded = false;
    try {
      loaded = probe.load(options.profile_cascade_path);
    } catch (const cv::Exception&) {
      loaded = false;
    }
    if (!loaded) {
      return Status::model(options.profile_cascade_path,
                           "cannot load the profile face cascade (install opencv-data)");
    }
    models->impl_->profile_cascade_path = options.profile_cascade_path;
  }
  return std::shared_ptr<const FaceModels>(std::move(models));
}

Image to_image(const cv::Mat& mat) {
  Image out(mat.cols, mat.rows, mat.channels());
  for (int y = 0; y < mat.rows; ++y) {
    std::memcpy(out.row(y), mat.ptr<uint8_t>(y), out.row_bytes());
  }
  return out;
}

}  // namespace unmask::face
