// The flat landmark model's cache file (shape_fit.h): written once after dlib's file was parsed,
// then mapped read-only by every later start instead of parsing ~100 MB again.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <type_traits>

#include "core/core.h"
#include "face/shape_fit.h"

namespace unmask::face::detail {

namespace {

constexpr char kMagic[8] = {'U', 'N', 'M', 'F', 'L', 'A', 'T', '\1'};
constexpr uint32_t kVersion = 1;
constexpr size_t kAlign = 64;

struct CacheHeader {
  char magic[8];
  uint32_t version;
  uint32_t header_bytes;
  uint64_t source_size;
  int64_t source_mtime_ns;
  char source_sha256[64];
  uint64_t body_bytes;
  uint64_t body_checksum;
  char reserved[16];
};
static_assert(sizeof(CacheHeader) == 128 && std::is_trivially_copyable_v<CacheHeader>);
static_assert(sizeof(FlatShapePredictor::Split) == 12 && std::is_trivially_copyable_v<FlatShapePredictor::Split>);

// Four xxHash64-style lanes over the body's 8-byte words (the body is a multiple of 64 bytes).
uint64_t body_checksum(std::string_view body) {
  constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL, kP2 = 0xC2B2AE3D27D4EB4FULL;
  uint64_t lane[4] = {kP1, kP2, ~kP1, ~kP2};
  const char* p = body.data();
  const size_t n = body.size() / 32;
  for (size_t i = 0; i < n; ++i, p += 32) {
    for (int k = 0; k < 4; ++k) {
      uint64_t w;
      std::memcpy(&w, p + 8 * k, 8);
      lane[k] += w * kP2;
      lane[k] = (lane[k] << 31) | (lane[k] >> 33);
      lane[k] *= kP1;
    }
  }
  uint64_t h = body.size();
  for (uint64_t l : lane) h = splitmix64(h ^ l);
  return h;
}

class BodyWriter {
 public:
  template <typename T>
  void put(const T* data, size_t n) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(data), n * sizeof(T));
    out_.resize((out_.size() + kAlign - 1) / kAlign * kAlign, '\0');
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class BodyReader {
 public:
  explicit BodyReader(std::string_view body) : body_(body) {}
  // n elements of T at the current (aligned) offset; nullptr when the body is too short.
  template <typename T>
  const T* take(size_t n) {
    if (n > (body_.size() - at_) / sizeof(T)) return nullptr;
    const T* p = reinterpret_cast<const T*>(body_.data() + at_);
    at_ += (n * sizeof(T) + kAlign - 1) / kAlign * kAlign;
    if (at_ > body_.size()) at_ = body_.size();
    return p;
  }
  bool at_end() const { return at_ == body_.size(); }

 private:
  std::string_view body_;
  size_t at_ = 0;
};

}  // namespace

std::string FlatShapePredictor::serialize_cache_body() const {
  BodyWriter w;
  const uint32_t dims[4] = {static_cast<uint32_t>(cascades_.size()), n_splits_, n_leaves_, dim_};
  w.put(dims, 4);
  w.put(&initial_shape_(0), dim_);
  for (const Cascade& c : cascades_) {
    const uint32_t counts[2] = {c.n_trees, static_cast<uint32_t>(c.anchor_idx.size())};
    w.put(counts, 2);
    std::vector<uint32_t> anchors(c.anchor_idx.begin(), c.anchor_idx.end());
    w.put(anchors.data(), anchors.size());
    std::vector<float> deltas;
    for (const auto& d : c.deltas) {
      deltas.push_back(d.x());
      deltas.push_back(d.y());
    }
    w.put(deltas.data(), deltas.size());
    w.put(c.split_data(), static_cast<size_t>(c.n_trees) * n_splits_);
    w.put(c.leaf_data(), static_cast<size_t>(c.n_trees) * n_leaves_ * dim_);
  }
  return w.take();
}

bool FlatShapePredictor::read_cache_body(std::string_view body, std::shared_ptr<const void> storage) {
  BodyReader in(body);
  const uint32_t* dims = in.take<uint32_t>(4);
  if (dims == nullptr) return false;
  const uint32_t n_cascades = dims[0], n_splits = dims[1], n_leaves = dims[2], dim = dims[3];
  if (n_cascades == 0 || n_cascades > 1000 || dim == 0 || dim % 2 != 0 || dim > 100000) return false;
  if (n_leaves != n_splits + 1 || (n_leaves & (n_leaves - 1)) != 0 || n_splits > (1u << 20)) return false;
  const float* shape = in.take<float>(dim);
  if (shape == nullptr) return false;
  dlib::matrix<float, 0, 1> initial_shape;
  initial_shape.set_size(dim, 1);
  for (uint32_t k = 0; k < dim; ++k) initial_shape(k) = shape[k];
  std::vector<Cascade> cascades(n_cascades);
  for (Cascade& c : cascades) {
    const uint32_t* counts = in.take<uint32_t>(2);
    if (counts == nullptr) return false;
    c.n_trees = counts[0];
    const uint32_t n_anchors = counts[1];
    if (c.n_trees == 0 || c.n_trees > 100000 || n_anchors == 0) return false;
    const uint32_t* anchors = in.take<uint32_t>(n_anchors);
    const float* deltas = in.take<float>(2 * static_cast<size_t>(n_anchors));
    if (anchors == nullptr || deltas == nullptr) return false;
    c.anchor_idx.resize(n_anchors);
    c.deltas.resize(n_anchors);
    for (uint32_t i = 0; i < n_anchors; ++i) {
      if (anchors[i] >= dim / 2) return false;
      c.anchor_idx[i] = anchors[i];
      c.deltas[i] = dlib::vector<float, 2>(deltas[2 * i], deltas[2 * i + 1]);
    }
    const size_t n_split_entries = static_cast<size_t>(c.n_trees) * n_splits;
    c.mapped_splits = in.take<Split>(n_split_entries);
    c.mapped_leaves = in.take<float>(static_cast<size_t>(c.n_trees) * n_leaves * dim);
    if (c.mapped_splits == nullptr || c.mapped_leaves == nullptr) return false;
    // The tree walk indexes the feature pixels with these: they must be in range.
    for (size_t i = 0; i < n_split_entries; ++i) {
      if (c.mapped_splits[i].idx1 >= n_anchors || c.mapped_splits[i].idx2 >= n_anchors) return false;
    }
  }
  if (!in.at_end()) return false;
  initial_shape_ = std::move(initial_shape);
  cascades_ = std::move(cascades);
  n_splits_ = n_splits;
  n_leaves_ = n_leaves;
  dim_ = dim;
  storage_ = std::move(storage);
  return true;
}

bool landmark_source_stamp(const std::string& path, LandmarkSourceStamp& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  out.size = static_cast<uint64_t>(st.st_size);
  out.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  return true;
}

std::string landmark_cache_path(const std::string& cache_dir, const std::string& source_path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(source_path, ec);
  const std::string key = ec ? source_path : abs.lexically_normal().string();
  char name[64];
  std::snprintf(name, sizeof name, "landmarks-%016llx.flat",
                static_cast<unsigned long long>(hash_text(key)));
  return (std::filesystem::path(cache_dir) / name).string();
}

bool write_landmark_cache(const FlatShapePredictor& model, const std::string& cache_path,
                          const LandmarkSourceStamp& source, const std::string& source_sha256) {
  if (model.empty() || source_sha256.size() != 64) return false;
  const std::string body = model.serialize_cache_body();
  CacheHeader h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.header_bytes = sizeof(CacheHeader);
  h.source_size = source.size;
  h.source_mtime_ns = source.mtime_ns;
  std::memcpy(h.source_sha256, source_sha256.data(), 64);
  h.body_bytes = body.size();
  h.body_checksum = body_checksum(body);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(cache_path).parent_path(), ec);
  // write_file_atomic's temporary is this writer's own: two first starts at once each write
  // theirs, and the rename puts one whole file in place.
  std::string file(reinterpret_cast<const char*>(&h), sizeof h);
  file += body;
  return write_file_atomic(cache_path, file).is_ok();
}

bool read_landmark_cache(const std::string& cache_path, const LandmarkSourceStamp& source, FlatShapePredictor& out) {
  const int fd = ::open(cache_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) < sizeof(CacheHeader)) {
    ::close(fd);
    return false;
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return false;
  std::shared_ptr<const void> storage(map, [size](const void* p) { ::munmap(const_cast<void*>(p), size); });
  CacheHeader h;
  std::memcpy(&h, map, sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.version != kVersion ||
      h.header_bytes != sizeof(CacheHeader) || h.body_bytes != size - sizeof(CacheHeader) ||
      h.source_size != source.size || h.source_mtime_ns != source.mtime_ns) {
    return false;
  }
  const std::string_view body(static_cast<const char*>(map) + sizeof(CacheHeader), h.body_bytes);
  if (body_checksum(body) != h.body_checksum) return false;
  FlatShapePredictor model;
  if (!model.read_cache_body(body, std::move(storage))) return false;
  out = std::move(model);
  return true;
}

}  // namespace unmask::face::detail
