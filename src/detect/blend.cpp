// The `blend` detector: aligned face crops -> blend_cnn_small -> Platt-calibrated P(fake), and the
// network's boundary map (where it thinks two images were blended) as the heat map.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <opencv2/imgproc.hpp>

#include "detect/blend.h"
#include "detect/cv_image.h"
#include "detect/registry_table.h"
#include "learn/learn.h"
#include "nn/nn.h"

namespace unmask::detect {
namespace {

constexpr size_t kMaxBatch = 32;

class BlendDetector : public CropDetector {
 public:
  BlendDetector(nn::Model model, face::AlignOptions align, learn::PlattScaling platt, BlendGate gate,
                DetectorInfo info, SbiRecipe recipe)
      : model_(std::move(model)), align_(align), platt_(platt), gate_(gate), info_(std::move(info)),
        recipe_(std::move(recipe)) {}

  const DetectorInfo& info() const override { return info_; }
  face::AlignOptions alignment() const override { return align_; }

  Result<std::vector<CropScore>> score(std::span<const Image> crops) const override {
    std::vector<CropScore> out;
    out.reserve(crops.size());
    const int size = model_.spec().input_size_px;
    for (size_t begin = 0; begin < crops.size(); begin += kMaxBatch) {
      const size_t end = std::min(crops.size(), begin + kMaxBatch);
      std::vector<Image> views;
      if (recipe_.view) {
        for (size_t i = begin; i < end; ++i) views.push_back(recipe_.view(crops[i]));
      }
      auto batch = nn::images_to_batch(recipe_.view ? std::span<const Image>(views) : crops.subspan(begin, end - begin),
                                       size);
      if (!batch.ok()) return batch.status();
      auto pred = model_.predict(*batch);
      if (!pred.ok()) return pred.status();
      const int64_t b = model_.spec().boundary_size_px();
      for (size_t i = 0; i < pred->logits.size(); ++i) {
        CropScore s;
        s.score = platt_.apply(pred->logits[i]);
        if (gate_.enabled && !blend_crop_judgeable(measure_blend_crop(crops[begin + i]), gate_)) {
          s.score = std::numeric_limits<double>::quiet_NaN();
        }
        if (b > 0 && pred->boundary.n() == static_cast<int64_t>(end - begin)) {
          cv::Mat small(static_cast<int>(b), static_cast<int>(b), CV_32FC1);
          const float* src = pred->boundary.values.data() + i * b * b;
          std::copy(src, src + b * b, small.ptr<float>(0));
          const Image& crop = crops[begin + i];
          // The boundary map covers the recipe's region of the crop (the whole crop for blend).
          const int x0 = static_cast<int>(std::lround(recipe_.region_x0 * crop.width_px()));
          const int y0 = static_cast<int>(std::lround(recipe_.region_y0 * crop.height_px()));
          const int x1 = std::max(x0 + 1, static_cast<int>(std::lround(recipe_.region_x1 * crop.width_px())));
          const int y1 = std::max(y0 + 1, static_cast<int>(std::lround(recipe_.region_y1 * crop.height_px())));
          cv::Mat big;
          cv::resize(small, big, cv::Size(x1 - x0, y1 - y0), 0, 0, cv::INTER_LINEAR);
          s.heatmap = Image(crop.width_px(), crop.height_px(), 1);
          for (int y = y0; y < std::min(y1, crop.height_px()); ++y) {
            const float* row = big.ptr<float>(y - y0);
            uint8_t* dst = s.heatmap.row(y);
            for (int x = x0; x < std::min(x1, crop.width_px()); ++x) {
              dst[x] = static_cast<uint8_t>(std::lround(std::clamp(row[x - x0], 0.0f, 1.0f) * 255.0f));
            }
          }
        }
        out.push_back(std::move(s));
      }
    }
    return out;
  }

 private:
  nn::Model model_;
  face::AlignOptions align_;
  learn::PlattScaling platt_;
  BlendGate gate_;
  DetectorInfo info_;
  SbiRecipe recipe_;
};

}  // namespace

BlendCropQuality measure_blend_crop(const Image& crop) {
  BlendCropQuality q;
  if (crop.empty()) return q;
  const cv::Mat gray = grey_of(crop);
  const cv::Rect centre(gray.cols / 4, gray.rows / 4, std::max(1, gray.cols / 2), std::max(1, gray.rows / 2));
  cv::Mat inner = gray(centre), lap;
  q.mean_luma = cv::mean(inner)[0];
  cv::Laplacian(inner, lap, CV_64F);
  cv::Scalar mean, sd;
  cv::meanStdDev(lap, mean, sd);
  q.lap_var = sd[0] * sd[0];
  return q;
}

BlendGate default_blend_gate() {
  BlendGate gate;
  gate.min_lap_var = kBlendMinLapVar;
  if (const char* env = std::getenv("UNMASK_BLEND_GATE"); env && std::string(env) == "off") gate.enabled = false;
  return gate;
}

bool blend_crop_judgeable(const BlendCropQuality& q, const BlendGate& gate) {
  return q.mean_luma >= gate.min_luma && q.mean_luma <= gate.max_luma && q.lap_var >= gate.min_lap_var;
}

Result<std::shared_ptr<const CropDetector>> load_blend_detector(const std::string& model_path) {
  return load_blend_detector(model_path, default_blend_gate());
}

Result<std::shared_ptr<const CropDetector>> load_blend_detector(const std::string& model_path, const BlendGate& gate) {
  // Tests and experiments may ship the toy architecture; anything else is an error.
  return load_sbi_detector(model_path, SbiRecipe{}, {kBlendArch, "blend_cnn_tiny"}, gate);
}

Result<std::shared_ptr<const CropDetector>> load_sbi_detector(const std::string& model_path, const SbiRecipe& recipe,
                                                              const std::vector<std::string>& arches,
                                                              const BlendGate& gate) {
  if (arches.empty()) return Status::internal("load_sbi_detector", "no architecture given");
  // The architecture is read from the file's header first, so the file is loaded once and a
  // failure to load it (bad weights, no LibTorch module) is reported as itself.
  auto file = nn::read_model_info(model_path);
  if (!file.ok()) return file.status();
  if (std::find(arches.begin(), arches.end(), file->spec.name) == arches.end()) {
    return Status::model(model_path, "holds architecture '" + file->spec.name + "', expected '" + arches.front() + "'");
  }
  auto model = nn::load_model(model_path, file->spec.name);
  if (!model.ok()) return model.status();
  if (!model->spec().is_image_model()) return Status::model(model_path, "not an image model");
  const nn::Metadata& meta = model->metadata();
  auto get = [&](const std::string& key) -> Result<std::string> {
    auto it = meta.find(key);
    if (it == meta.end()) return Status::model(model_path, "metadata lacks " + key + " (not a " + recipe.name + " model)");
    return it->second;
  };
  auto size_s = get(recipe.name + ".align_size_px");
  if (!size_s.ok()) return size_s.status();
  auto margin_s = get(recipe.name + ".align_margin");
  if (!margin_s.ok()) return margin_s.status();
  auto calib_s = get(recipe.name + ".calibration");
  if (!calib_s.ok()) return calib_s.status();
  face::AlignOptions align;
  try {
    align.size_px = std::stoi(*size_s);
    align.margin = std::stod(*margin_s);
  } catch (const std::exception&) {
    return Status::model(model_path, "bad alignment metadata '" + *size_s + "', '" + *margin_s + "'");
  }
  if (align.size_px < 16 || align.size_px > 4096 || !(align.margin >= 0 && align.margin <= 2)) {
    return Status::model(model_path, "bad alignment metadata");
  }
  auto platt = learn::PlattScaling::parse(*calib_s);
  if (!platt.ok()) return Status::model(model_path, "bad calibration: " + platt.status().message());
  auto file_sha = sha256_file(model_path);
  if (!file_sha.ok()) return Status::model(model_path, file_sha.status().message());
  DetectorInfo info{.name = recipe.name, .version = recipe.version, .model_sha256 = *file_sha,
                    .model_path = model_path, .kind = DetectorKind::kCrop};
  return std::shared_ptr<const CropDetector>(
      std::make_shared<BlendDetector>(std::move(*model), align, *platt, gate, std::move(info), recipe));
}

Status load_blend(const std::string& models_dir, DetectorSet& set) {
  const std::string path = (std::filesystem::path(models_dir) / "blend.unm").string();
  auto det = load_blend_detector(path);
  if (!det.ok()) return det.status();
  set.crop.push_back(*det);
  return Status::ok();
}

}  // namespace unmask::detect
