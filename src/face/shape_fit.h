// Private: dlib's 68-point shape predictor in a flat memory layout, giving exactly dlib's landmarks
// in less time. Not part of the public API (tests include it).
//
// dlib keeps every tree's splits and every leaf (136 floats) in a heap allocation of its own
// (~120 000 of them, ~130 MB), so a fit (15 cascades x 500 trees) spends most of its time waiting
// for scattered memory. Here each cascade's splits are one array (90 KB, stays in cache) and its
// leaves another; a cascade first walks all its trees to their leaves, asking for each leaf as it
// is found (into L2), then adds the leaves in tree order while fetching the next ones ahead (L1).
// Every arithmetic step is dlib's own, in dlib's order, on the same types: the shape moves
// through the same float additions, the feature pixels are read through dlib's transforms, so
// the landmarks are identical bit for bit (tests/face compares them with dlib's predictor).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <dlib/image_processing/shape_predictor.h>

namespace unmask::face::detail {

class FlatShapePredictor {
 public:
  struct Split {
    uint32_t idx1 = 0, idx2 = 0;
    float thresh = 0;
  };
  struct Cascade {
    std::vector<unsigned long> anchor_idx;
    std::vector<dlib::vector<float, 2>> deltas;
    uint32_t n_trees = 0;
    std::vector<Split> splits;  // n_trees x n_splits (empty when the arrays are mapped)
    std::vector<float> leaves;  // n_trees x n_leaves x dim
    // The same two arrays in a mapped cache file (read_landmark_cache), kept alive by storage_.
    const Split* mapped_splits = nullptr;
    const float* mapped_leaves = nullptr;
    const Split* split_data() const { return mapped_splits ? mapped_splits : splits.data(); }
    const float* leaf_data() const { return mapped_leaves ? mapped_leaves : leaves.data(); }
  };

  unsigned long num_parts() const { return static_cast<unsigned long>(initial_shape_.size() / 2); }
  bool empty() const { return cascades_.empty(); }

  // What dlib::shape_predictor::operator()(img, rect) returns, as points.
  template <typename image_type>
  void fit(const image_type& img, const dlib::rectangle& rect, std::vector<dlib::point>& parts) const;

  // Reads dlib's shape predictor file format (version 1, binary floats). False on anything else.
  bool read(std::string_view bytes);

  // The flat arrays as one cache file (see write_landmark_cache) and back, the big arrays used in
  // place from `storage` (a mapping of the file). Private to models.cpp and the tests.
  std::string serialize_cache_body() const;
  bool read_cache_body(std::string_view body, std::shared_ptr<const void> storage);

 private:
  dlib::matrix<float, 0, 1> initial_shape_;
  std::vector<Cascade> cascades_;
  uint32_t n_splits_ = 0;  // per tree (all trees alike: a full tree of this depth)
  uint32_t n_leaves_ = 0;
  uint32_t dim_ = 0;       // 2 x parts
  std::shared_ptr<const void> storage_;  // what the cascades' mapped arrays point into, if any
};

// Reads the file at `path` (dlib format) into `out`; false when it cannot be read or is not in the
// format FlatShapePredictor::read knows.
bool read_landmark_model_flat(const std::string& path, FlatShapePredictor& out);

// A cache of the flat layout, so that a start does not parse dlib's ~100 MB file again (~0.3-0.5 s
// of CPU, most of it zero-filling and writing ~90 MB of fresh memory): the arrays as they lie in
// memory, mapped read-only and used in place (pages come from the page cache, and only the leaves
// a fit touches are ever read). The header carries the source file's size, modification time and
// SHA-256 (taken when the cache was written) and a checksum of the body; a cache that does not
// match the source's size and time, or whose checksum or bounds do not hold, is not used.
struct LandmarkSourceStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};
bool landmark_source_stamp(const std::string& path, LandmarkSourceStamp& out);
// The cache file's name for a source model inside `cache_dir` (by a hash of the absolute path).
std::string landmark_cache_path(const std::string& cache_dir, const std::string& source_path);
// Writes atomically (a temporary file of this process, then rename). False on any failure.
bool write_landmark_cache(const FlatShapePredictor& model, const std::string& cache_path,
                          const LandmarkSourceStamp& source, const std::string& source_sha256);
// False (out untouched) when the file is missing, for another source stamp, or damaged.
bool read_landmark_cache(const std::string& cache_path, const LandmarkSourceStamp& source, FlatShapePredictor& out);

template <typename image_type>
void FlatShapePredictor::fit(const image_type& img_, const dlib::rectangle& rect, std::vector<dlib::point>& parts) const {
  using namespace dlib;
  using namespace dlib::impl;
  matrix<float, 0, 1> current_shape = initial_shape_;
  // unnormalizing_tform(rect) is a function of rect alone: dlib computes it once per cascade and
  // once at the end; once here is the same transform.
  const point_transform_affine tform_to_img = unnormalizing_tform(rect);
  const rectangle area = get_rect(img_);
  const_image_view<image_type> img(img_);
  std::vector<float> feature_pixel_values;
  std::vector<const typename image_traits<image_type>::pixel_type*> feature_pixels;
  std::vector<uint32_t> leaf(0);
  for (const Cascade& c : cascades_) {
    // dlib::impl::extract_feature_pixel_values, step for step.
    {
      const matrix<float, 2, 2> tform = matrix_cast<float>(find_tform_between_shapes(initial_shape_, current_shape).get_m());
      // The pixels' addresses first, each fetched as soon as it is known, then their values: the
      // reads (cache misses in a frame another core decoded) overlap instead of queueing.
      feature_pixel_values.resize(c.deltas.size());
      feature_pixels.resize(c.deltas.size());
      for (unsigned long i = 0; i < feature_pixels.size(); ++i) {
        point p = tform_to_img(tform * c.deltas[i] + location(current_shape, c.anchor_idx[i]));
        feature_pixels[i] = area.contains(p) ? &img[p.y()][p.x()] : nullptr;
        if (feature_pixels[i]) __builtin_prefetch(feature_pixels[i]);
      }
      for (unsigned long i = 0; i < feature_pixels.size(); ++i)
        feature_pixel_values[i] = feature_pixels[i] ? get_pixel_intensity(*feature_pixels[i]) : 0;
    }
    // Every tree to its leaf (regression_tree::operator()).
    leaf.resize(c.n_trees);
    const float* leaves = c.leaf_data();
    auto leaf_ptr = [&](uint32_t t) { return leaves + (static_cast<size_t>(t) * n_leaves_ + leaf[t]) * dim_; };
    const float* fv = feature_pixel_values.data();
    for (uint32_t t = 0; t < c.n_trees; ++t) {
      const Split* s = c.split_data() + static_cast<size_t>(t) * n_splits_;
      uint32_t i = 0;
      while (i < n_splits_) {
        if ((float)fv[s[i].idx1] - (float)fv[s[i].idx2] > s[i].thresh)
          i = 2 * i + 1;
        else
          i = 2 * i + 2;
      }
      leaf[t] = i - n_splits_;
      const char* found = reinterpret_cast<const char*>(leaf_ptr(t));
      for (uint32_t b = 0; b < dim_ * sizeof(float); b += 64) __builtin_prefetch(found + b, 0, 2);
    }
    // current_shape += leaf, tree by tree in dlib's order, the next leaves fetched ahead.
    float* cur = &current_shape(0);
    constexpr uint32_t kAhead = 6;
    for (uint32_t t = 0; t < c.n_trees; ++t) {
      if (t + kAhead < c.n_trees) {
        const char* ahead = reinterpret_cast<const char*>(leaf_ptr(t + kAhead));
        for (uint32_t b = 0; b < dim_ * sizeof(float); b += 64) __builtin_prefetch(ahead + b);
      }
      const float* l = leaf_ptr(t);
      for (uint32_t k = 0; k < dim_; ++k) cur[k] += l[k];
    }
  }
  parts.resize(current_shape.size() / 2);
  for (unsigned long i = 0; i < parts.size(); ++i) parts[i] = tform_to_img(location(current_shape, i));
}

}  // namespace unmask::face::detail
