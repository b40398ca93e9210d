// Image and feature conversion to float batches: plain C++, no LibTorch.
#include <algorithm>
#include <cmath>
#include <string>

#include "nn/nn.h"

namespace unmask::nn {

int64_t Batch::example_size() const {
  int64_t size = 1;
  for (size_t i = 1; i < shape.size(); ++i) size *= shape[i];
  return size;
}

bool Batch::consistent() const {
  if (shape.empty()) return false;
  int64_t total = 1;
  for (int64_t d : shape) {
    if (d < 0) return false;
    total *= d;
  }
  return total == static_cast<int64_t>(values.size());
}

std::span<const float> example_values(const Batch& batch, int64_t index) {
  const int64_t size = batch.example_size();
  return {batch.values.data() + index * size, static_cast<size_t>(size)};
}

std::vector<int64_t> ModelSpec::example_shape() const {
  if (is_image_model()) return {in_channels, input_size_px, input_size_px};
  return {n_features};
}

namespace {

// Samples channel c of `img` at (x, y) in source pixel coordinates, bilinearly, clamped at the
// border.
float sample_bilinear(const Image& img, float x, float y, int c) {
  const int w = img.width_px(), h = img.height_px();
  x = std::clamp(x, 0.0f, static_cast<float>(w - 1));
  y = std::clamp(y, 0.0f, static_cast<float>(h - 1));
  const int x0 = static_cast<int>(x), y0 = static_cast<int>(y);
  const int x1 = std::min(x0 + 1, w - 1), y1 = std::min(y0 + 1, h - 1);
  const float fx = x - x0, fy = y - y0;
  const float top = img.at(x0, y0)[c] * (1 - fx) + img.at(x1, y0)[c] * fx;
  const float bottom = img.at(x0, y1)[c] * (1 - fx) + img.at(x1, y1)[c] * fx;
  return top * (1 - fy) + bottom * fy;
}

}  // namespace

Result<Batch> images_to_batch(std::span<const Image> images, int size_px, const Normalization& norm) {
  if (images.empty()) return Status::input("images_to_batch", "no images");
  if (size_px <= 0) return Status::input("images_to_batch", "size_px must be positive");
  for (int c = 0; c < 3; ++c) {
    if (!(norm.std_rgb[c] > 0)) return Status::input("images_to_batch", "normalisation std must be > 0");
  }
  const int64_t plane = static_cast<int64_t>(size_px) * size_px;
  Batch batch;
  batch.shape = {static_cast<int64_t>(images.size()), 3, size_px, size_px};
  batch.values.resize(images.size() * 3 * plane);
  for (size_t i = 0; i < images.size(); ++i) {
    const Image& img = images[i];
    if (img.empty() || img.width_px() <= 0 || img.height_px() <= 0) {
      return Status::input("images_to_batch", "image " + std::to_string(i) + " is empty");
    }
    if (img.channels() != 1 && img.channels() != 3) {
      return Status::input("images_to_batch", "image " + std::to_string(i) + " has " +
                                                  std::to_string(img.channels()) +
                                                  " channels; expected 1 or 3");
    }
    float* out = batch.values.data() + i * 3 * plane;
    const bool same_size = img.width_px() == size_px && img.height_px() == size_px;
    // Pixel centres map to pixel centres (the OpenCV INTER_LINEAR convention).
    const float sx = static_cast<float>(img.width_px()) / size_px;
    const float sy = static_cast<float>(img.height_px()) / size_px;
    for (int y = 0; y < size_px; ++y) {
      for (int x = 0; x < size_px; ++x) {
        for (int rgb = 0; rgb < 3; ++rgb) {
          const int src_c = img.channels() == 1 ? 0 : 2 - rgb;  // BGR storage
          float v;
          if (same_size) {
            v = img.at(x, y)[src_c];
          } else {
            v = sample_bilinear(img, (x + 0.5f) * sx - 0.5f, (y + 0.5f) * sy - 0.5f, src_c);
          }
          out[rgb * plane + static_cast<int64_t>(y) * size_px + x] =
              (v / 255.0f - norm.mean_rgb[rgb]) / norm.std_rgb[rgb];
        }
      }
    }
  }
  return batch;
}

Result<Batch> features_to_batch(const std::vector<std::vector<float>>& rows) {
  if (rows.empty()) return Status::input("features_to_batch", "no rows");
  const size_t n_features = rows[0].size();
  if (n_features == 0) return Status::input("features_to_batch", "rows are empty");
  Batch batch;
  batch.shape = {static_cast<int64_t>(rows.size()), static_cast<int64_t>(n_features)};
  batch.values.reserve(rows.size() * n_features);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].size() != n_features) {
      return Status::input("features_to_batch", "row " + std::to_string(i) + " has " +
                                                    std::to_string(rows[i].size()) +
                                                    " values; row 0 has " + std::to_string(n_features));
    }
    batch.values.insert(batch.values.end(), rows[i].begin(), rows[i].end());
  }
  return batch;
}

}  // namespace unmask::nn
