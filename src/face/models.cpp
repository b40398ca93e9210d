// FaceModels: loads the dlib models once.
#include <bit>
#include <cmath>
#include <filesystem>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "face/landmark_file.h"
#include "face/models_impl.h"
#include "face/shape_fit.h"
#include "face/stages.h"

namespace unmask::face {

namespace detail {
// frontal_detector_data.cpp, generated at build time by gen_frontal_detector.
extern const unsigned char kFrontalDetector[];
extern const std::size_t kFrontalDetectorSize;

std::string_view frontal_detector_bytes() {
  return {reinterpret_cast<const char*>(kFrontalDetector), kFrontalDetectorSize};
}
// dlib's shape predictor file read without std::istream. dlib deserializes its ~32 million floats
// one virtual stream call at a time (~0.5 s of the start of every command that tracks faces);
// this reads the same format from memory (~0.1 s) and builds the same object: integers as dlib
// packs them, floats through dlib's own float_details conversion, and the feature pixels handed
// to shape_predictor's public constructor in the form that makes it recompute the file's anchors
// and offsets exactly (checked here, value by value). Anything unexpected returns nothing and the
// caller uses dlib's reader.
namespace {

class PackedReader {
 public:
  explicit PackedReader(std::string_view bytes) : p_(reinterpret_cast<const unsigned char*>(bytes.data())), end_(p_ + bytes.size()) {}
  bool ok() const { return ok_; }

  // dlib's pack_int: a control byte (0x80 sign for signed types, low bits the byte count), then
  // the magnitude's bytes, least significant first.
  template <typename T>
  T integer() {
    if (p_ >= end_) return fail<T>();
    unsigned char size = *p_++;
    bool negative = false;
    if constexpr (std::is_signed_v<T>) {
      negative = (size & 0x80) != 0;
      size &= 0x0F;
    } else {
      size &= 0x8F;
    }
    if (size == 0 || size > sizeof(T) || end_ - p_ < size) return fail<T>();
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; --i) v = (v << 8) | p_[i];
    p_ += size;
    T out = static_cast<T>(v);
    if (negative) out = static_cast<T>(out * -1);
    return out;
  }

  float real() {
    if (p_ >= end_ || (*p_ & 0x70) != 0) return fail<float>();  // dlib's old text format: not handled here
    const auto mantissa = integer<dlib::int64>();
    const auto exponent = integer<dlib::int16>();
    // dlib's conversion is ldexp((float)mantissa, exponent). With a mantissa of at most 24 bits
    // and a normal, finite result that is one exact multiplication by a power of two (the same
    // value, without the library call); anything else goes through dlib.
    if (mantissa > -(1 << 24) && mantissa < (1 << 24) && exponent >= -126 && exponent <= 103) {
      const float pow2 = std::bit_cast<float>(static_cast<uint32_t>(exponent + 127) << 23);
      return static_cast<float>(mantissa) * pow2;
    }
    return static_cast<float>(dlib::float_details(mantissa, exponent));
  }

  bool column(dlib::matrix<float, 0, 1>& m) {
    long nr = integer<long>(), nc = integer<long>();
    nr = std::abs(nr);
    nc = std::abs(nc);
    if (!ok_ || nc != 1 || static_cast<unsigned long>(nr) > remaining()) return fail<bool>();
    m.set_size(nr, 1);
    for (long r = 0; r < nr; ++r) m(r) = real();
    return ok_;
  }

  unsigned long count() {
    const auto n = integer<unsigned long>();
    return n <= remaining() ? n : fail<unsigned long>();  // every element takes at least one byte
  }

 private:
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  template <typename T>
  T fail() {
    ok_ = false;
    p_ = end_;
    return T{};
  }
  const unsigned char* p_;
  const unsigned char* end_;
  bool ok_ = true;
};

// A pixel coordinate p with (p - anchor) == delta exactly in float arithmetic (what
// create_shape_relative_encoding computes): start from anchor + delta and step a few ulps.
std::optional<float> exact_sum(float anchor, float delta) {
  float p = anchor + delta;
  for (int step = 0; step < 8; ++step) {
    if (p - anchor == delta) return p;
    p = std::nextafter(p, (p - anchor) < delta ? INFINITY : -INFINITY);
  }
  return std::nullopt;
}

// `bytes` (the file, ~100 MB) is released once parsed, before the predictor is built (which
// copies the ~130 MB of trees): the peak stays at the trees twice.
std::optional<dlib::shape_predictor> read_shape_predictor_fast(std::string bytes) {
  PackedReader in(bytes);
  if (in.integer<int>() != 1) return std::nullopt;  // format version
  dlib::matrix<float, 0, 1> initial_shape;
  if (!in.column(initial_shape) || initial_shape.size() % 2 != 0) return std::nullopt;
  std::vector<std::vector<dlib::impl::regression_tree>> forests(in.count());
  for (auto& forest : forests) {
    forest.resize(in.count());
    for (auto& tree : forest) {
      tree.splits.resize(in.count());
      for (auto& split : tree.splits) {
        split.idx1 = in.integer<unsigned long>();
        split.idx2 = in.integer<unsigned long>();
        split.thresh = in.real();
      }
      tree.leaf_values.resize(in.count());
      for (auto& leaf : tree.leaf_values) {
        if (!in.column(leaf)) return std::nullopt;
      }
      if (!in.ok()) return std::nullopt;
    }
  }
  std::vector<std::vector<unsigned long>> anchors(in.count());
  for (auto& a : anchors) {
    a.resize(in.count());
    for (auto& i : a) i = in.integer<unsigned long>();
  }
  std::vector<std::vector<dlib::vector<float, 2>>> deltas(in.count());
  for (auto& d : deltas) {
    d.resize(in.count());
    for (auto& v : d) {
      v.x() = in.real();
      v.y() = in.real();
    }
  }
  if (!in.ok() || anchors.size() != forests.size() || deltas.size() != forests.size()) return std::nullopt;
  std::string().swap(bytes);
  const unsigned long n_parts = initial_shape.size() / 2;
  std::vector<std::vector<dlib::vector<float, 2>>> pixels(forests.size());
  for (size_t c = 0; c < forests.size(); ++c) {
    if (anchors[c].size() != deltas[c].size()) return std::nullopt;
    pixels[c].resize(anchors[c].size());
    for (size_t i = 0; i < anchors[c].size(); ++i) {
      if (anchors[c][i] >= n_parts) return std::nullopt;
      const dlib::vector<float, 2> at = dlib::impl::location(initial_shape, anchors[c][i]);
      const auto x = exact_sum(at.x(), deltas[c][i].x()), y = exact_sum(at.y(), deltas[c][i].y());
      if (!x || !y) return std::nullopt;
      pixels[c][i] = dlib::vector<float, 2>(*x, *y);
    }
    // What the constructor will compute from these pixels must be the file's anchors and deltas.
    std::vector<unsigned long> a;
    std::vector<dlib::vector<float, 2>> d;
    dlib::impl::create_shape_relative_encoding(initial_shape, pixels[c], a, d);
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i] != anchors[c][i] || d[i].x() != deltas[c][i].x() || d[i].y() != deltas[c][i].y()) return std::nullopt;
    }
    for (const auto& tree : forests[c]) {
      if (tree.leaf_values.size() != tree.splits.size() + 1) return std::nullopt;
      for (const auto& split : tree.splits) {
        if (split.idx1 >= pixels[c].size() || split.idx2 >= pixels[c].size()) return std::nullopt;
      }
      for (const auto& leaf : tree.leaf_values) {
        if (leaf.size() != initial_shape.size()) return std::nullopt;
      }
    }
  }
  return dlib::shape_predictor(initial_shape, forests, pixels);
}

}  // namespace

bool FlatShapePredictor::read(std::string_view bytes) {
  PackedReader in(bytes);
  if (in.integer<int>() != 1) return false;  // format version
  dlib::matrix<float, 0, 1> initial_shape;
  if (!in.column(initial_shape) || initial_shape.size() == 0 || initial_shape.size() % 2 != 0) return false;
  const auto dim = static_cast<uint32_t>(initial_shape.size());
  std::vector<Cascade> cascades(in.count());
  uint32_t n_splits = 0, n_leaves = 0;
  bool first = true;
  for (Cascade& c : cascades) {
    c.n_trees = static_cast<uint32_t>(in.count());
    for (uint32_t t = 0; t < c.n_trees && in.ok(); ++t) {
      const unsigned long ns = in.count();
      if (first) {
        // A full tree: leaves = splits + 1, a power of two (what regression_tree requires).
        n_splits = static_cast<uint32_t>(ns);
        n_leaves = n_splits + 1;
        if ((n_leaves & (n_leaves - 1)) != 0 || n_splits > (1u << 20)) return false;
        first = false;
      }
      if (ns != n_splits) return false;
      if (c.splits.empty()) {
        c.splits.reserve(static_cast<size_t>(c.n_trees) * n_splits);
        c.leaves.reserve(static_cast<size_t>(c.n_trees) * n_leaves * dim);
      }
      for (unsigned long i = 0; i < ns; ++i) {
        Split sp;
        const auto a = in.integer<unsigned long>(), b = in.integer<unsigned long>();
        sp.thresh = in.real();
        if (a > UINT32_MAX || b > UINT32_MAX) return false;
        sp.idx1 = static_cast<uint32_t>(a);
        sp.idx2 = static_cast<uint32_t>(b);
        c.splits.push_back(sp);
      }
      if (in.count() != n_leaves) return false;
      for (uint32_t l = 0; l < n_leaves; ++l) {
        long nr = in.integer<long>(), nc = in.integer<long>();
        if (!in.ok() || std::abs(nc) != 1 || std::abs(nr) != static_cast<long>(dim)) return false;
        for (uint32_t k = 0; k < dim; ++k) c.leaves.push_back(in.real());
      }
    }
    if (!in.ok()) return false;
  }
  if (in.count() != cascades.size()) return false;
  for (Cascade& c : cascades) {
    c.anchor_idx.resize(in.count());
    for (auto& i : c.anchor_idx) {
      i = in.integer<unsigned long>();
      if (i >= dim / 2) return false;
    }
  }
  if (in.count() != cascades.size()) return false;
  for (Cascade& c : cascades) {
    c.deltas.resize(in.count());
    for (auto& v : c.deltas) {
      v.x() = in.real();
      v.y() = in.real();
    }
    if (c.deltas.size() != c.anchor_idx.size()) return false;
    for (const Split& sp : c.splits) {
      if (sp.idx1 >= c.deltas.size() || sp.idx2 >= c.deltas.size()) return false;
    }
  }
  if (!in.ok() || cascades.empty()) return false;
  initial_shape_ = std::move(initial_shape);
  cascades_ = std::move(cascades);
  n_splits_ = n_splits;
  n_leaves_ = n_leaves;
  dim_ = dim;
  return true;
}

namespace {

// The whole file as bytes; none when it cannot be read.
std::optional<std::string> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return std::nullopt;
  std::string bytes(size, '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) return std::nullopt;
  return bytes;
}

}  // namespace

bool read_landmark_model_flat(const std::string& path, FlatShapePredictor& out) {
  auto bytes = read_file_bytes(path);
  if (!bytes) return false;
  FlatShapePredictor model;
  if (!model.read(*bytes)) return false;
  out = std::move(model);
  return true;
}

bool read_landmark_model_fast(const std::string& path, dlib::shape_predictor& out) {
  auto bytes = read_file_bytes(path);
  if (!bytes) return false;
  auto sp = read_shape_predictor_fast(std::move(*bytes));
  if (!sp) return false;
  out = std::move(*sp);
  return true;
}

}  // namespace detail

std::string default_cache_dir() {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
  };
  if (std::string d = env("UNMASK_CACHE_DIR"); !d.empty()) return d;
  if (std::string d = env("XDG_CACHE_HOME"); !d.empty()) return (std::filesystem::path(d) / "unmask").string();
  if (std::string d = env("HOME"); !d.empty()) return (std::filesystem::path(d) / ".cache" / "unmask").string();
  return {};
}

namespace {

// The flat landmark model from its cache when there is a valid one for this file; else parsed
// from dlib's file, and the cache written for the next start (a failure to write only costs that).
bool read_landmark_model_cached(const std::string& path, const ModelOptions& options,
                                detail::FlatShapePredictor& out) {
  const std::string dir = options.landmark_cache_dir ? *options.landmark_cache_dir : default_cache_dir();
  detail::LandmarkSourceStamp stamp;
  const bool cacheable = !dir.empty() && detail::landmark_source_stamp(path, stamp);
  const std::string cache = cacheable ? detail::landmark_cache_path(dir, path) : std::string();
  if (cacheable && detail::read_landmark_cache(cache, stamp, out)) return true;
  if (!detail::read_landmark_model_flat(path, out)) return false;
  if (cacheable) {
    auto sha = sha256_file(path);
    detail::LandmarkSourceStamp after;
    // Written only when the file did not change while it was read.
    if (sha.ok() && detail::landmark_source_stamp(path, after) && after.size == stamp.size &&
        after.mtime_ns == stamp.mtime_ns) {
      detail::write_landmark_cache(out, cache, stamp, *sha);
    }
  }
  return true;
}

}  // namespace

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
    if (!read_landmark_model_cached(path, options, models->impl_->flat_landmarks) &&
        !detail::read_landmark_model_fast(path, models->impl_->landmarks)) {
      std::ifstream in(path, std::ios::binary);
      if (!in) return Status::model(path, "cannot open landmark model");
      dlib::deserialize(models->impl_->landmarks, in);
    }
  } catch (const std::exception& e) {
    return Status::model(path, std::string("not a dlib shape predictor: ") + e.what());
  }
  if (models->impl_->landmark_parts() != static_cast<unsigned long>(kNumLandmarks)) {
    return Status::model(path, "expected a 68-point shape predictor, got " +
                                   std::to_string(models->impl_->landmark_parts()) + " points");
  }
  // dlib's frontal detector from its plain serialized form (~5 ms; dlib's own compressed copy
  // takes ~0.6 s to decode). Same filters, bit for bit (tests/face checks).
  try {
    std::istringstream in{std::string(detail::frontal_detector_bytes())};
    dlib::deserialize(models->impl_->frontal, in);
  } catch (const std::exception& e) {
    return Status::internal("frontal face detector", e.what());
  }
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

}  // namespace unmask::face
