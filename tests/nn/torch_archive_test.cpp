// nn's LibTorch-free reader of LibTorch weight archives: the archives LibTorch writes for the
// registry's networks (tensor names, shapes, values), archives built here byte by byte for the
// failure modes, and corrupted archives, which must give model errors and never crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "nn/archive_fixture.h"
#include "nn/model_file.h"
#include "nn/nn.h"
#include "nn/torch_archive.h"

namespace unmask::nn {
namespace {

using testing::archive_of;

using detail::read_torch_archive;
using namespace std::string_literals;

Trainable mlp_5_4(uint64_t seed) {
  ModelSpec spec = *default_spec("mlp");
  spec.n_features = 5;
  spec.widths = {4};
  auto net = Trainable::create(spec, seed, {});
  EXPECT_TRUE(net.ok()) << net.status().message();
  return std::move(*net);
}

// Reading must fail with a model error whose message contains `reason`.
void expect_model_error(std::string_view archive, const std::string& reason) {
  auto r = read_torch_archive(archive, "weights");
  ASSERT_FALSE(r.ok()) << "expected: " << reason;
  EXPECT_EQ(r.status().code(), StatusCode::kModel);
  EXPECT_NE(r.status().message().find(reason), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().rfind("weights: ", 0), 0u) << r.status().message();
}

// Either outcome is fine for corrupted bytes, as long as a failure is a model error.
void expect_ok_or_model_error(std::string_view archive) {
  auto r = read_torch_archive(archive, "weights");
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), StatusCode::kModel) << r.status().message();
  }
}

// ---- hand-built archives ---------------------------------------------------------------------

void put_le(std::string& out, uint64_t v, int n_bytes) {
  for (int i = 0; i < n_bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A ZIP of stored entries (no CRCs: the reader does not check them), in the given order.
std::string zip_of(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out, directory;
  for (const auto& [name, data] : entries) {
    std::string central;
    put_le(central, 0x02014b50, 4);
    put_le(central, 20, 2), put_le(central, 20, 2), put_le(central, 0, 2), put_le(central, 0, 2);  // versions, flags, method
    put_le(central, 0, 4), put_le(central, 0, 4);  // time, date, crc
    put_le(central, data.size(), 4), put_le(central, data.size(), 4);
    put_le(central, name.size(), 2), put_le(central, 0, 2), put_le(central, 0, 2);  // name, extra, comment
    put_le(central, 0, 2), put_le(central, 0, 2), put_le(central, 0, 4);  // disk, attributes
    put_le(central, out.size(), 4);
    directory += central + name;
    put_le(out, 0x04034b50, 4);
    put_le(out, 20, 2), put_le(out, 0, 2), put_le(out, 0, 2), put_le(out, 0, 4), put_le(out, 0, 4);
    put_le(out, data.size(), 4), put_le(out, data.size(), 4);
    put_le(out, name.size(), 2), put_le(out, 3, 2);  // a local extra field the central one lacks
    out += name + "xyz" + data;
  }
  const size_t directory_offset = out.size();
  out += directory;
  put_le(out, 0x06054b50, 4), put_le(out, 0, 2), put_le(out, 0, 2);
  put_le(out, entries.size(), 2), put_le(out, entries.size(), 2);
  put_le(out, directory.size(), 4), put_le(out, directory_offset, 4), put_le(out, 0, 2);
  return out;
}

std::string floats(const std::vector<float>& values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// Pickle pieces.
std::string str(const std::string& s) {
  std::string out = "X";
  put_le(out, s.size(), 4);
  return out + s;
}
std::string global(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }
std::string int1(int v) { return std::string("K") + static_cast<char>(v); }
std::string int_tuple(const std::vector<int>& v) {
  std::string out = "(";
  for (int x : v) out += int1(x);
  return out + "t";
}
const std::string kModuleStart = "\x80\x02" + global("__torch__", "Module") + ")\x81}(";
const std::string kModuleEnd = "ub";

// _rebuild_tensor_v2 of storage `key` (numel elements of `storage_type`).
std::string tensor_pickle(const std::string& key, int numel, int offset, const std::vector<int>& shape,
                          const std::vector<int>& stride, const std::string& storage_type = "FloatStorage") {
  return global("torch._utils", "_rebuild_tensor_v2") + "((" + str("storage") + global("torch", storage_type) +
         str(key) + str("cpu") + int1(numel) + "tQ" + int1(offset) + int_tuple(shape) + int_tuple(stride) +
         "\x88" + global("collections", "OrderedDict") + ")Rt" + "R";
}

// A module with attribute w (a 2x3 tensor, storage "0") and flag `training`, under directory `dir`.
std::string one_tensor_archive(const std::vector<int>& stride = {3, 1}, int storage_floats = 6,
                               const std::string& dir = "archive", int offset = 0) {
  const std::string pickle = kModuleStart + str("training") + "\x88" + str("w") +
                             tensor_pickle("0", storage_floats, offset, {2, 3}, stride) + kModuleEnd + ".";
  return zip_of({{dir + "/data/0", floats({1, 2, 3, 4, 5, 6})}, {dir + "/data.pkl", pickle}, {dir + "/version", "3\n"}});
}

// ---------------------------------------------------------------------------------------------

TEST(TorchArchive, MlpArchiveHoldsExactlyItsLayers) {
  auto tensors = read_torch_archive(archive_of(mlp_5_4(3)), "mlp");
  ASSERT_TRUE(tensors.ok()) << tensors.status().message();
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, t] : *tensors) {
    shapes[name] = t.shape;
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    EXPECT_EQ(static_cast<int64_t>(t.values.size()), numel) << name;
  }
  const std::map<std::string, std::vector<int64_t>> expected = {
      {"fc0.weight", {4, 5}}, {"fc0.bias", {4}}, {"out.weight", {1, 4}}, {"out.bias", {1}}};
  EXPECT_EQ(shapes, expected);
}

TEST(TorchArchive, CnnArchiveNamesEveryModulePath) {
  ModelSpec spec = *default_spec("blend_cnn_tiny");
  spec.boundary_head = true;
  auto net = Trainable::create(spec, 4, {});
  ASSERT_TRUE(net.ok()) << net.status().message();
  auto model = net->freeze();
  ASSERT_TRUE(model.ok());
  auto tensors = read_torch_archive(archive_of(*net), "cnn");
  ASSERT_TRUE(tensors.ok()) << tensors.status().message();
  auto shape_of = [&](const std::string& name) {
    auto it = tensors->find(name);
    return it == tensors->end() ? std::vector<int64_t>{-1} : it->second.shape;
  };
  const auto& w = spec.widths;
  EXPECT_EQ(shape_of("stem.conv.weight"), (std::vector<int64_t>{w[0], spec.in_channels, 3, 3}));
  EXPECT_EQ(shape_of("stem.bn.running_mean"), (std::vector<int64_t>{w[0]}));
  EXPECT_EQ(shape_of("stem.bn.running_var"), (std::vector<int64_t>{w[0]}));
  EXPECT_EQ(shape_of("classifier.weight"), (std::vector<int64_t>{1, w[5]}));
  EXPECT_EQ(shape_of("boundary_out.bias"), (std::vector<int64_t>{1}));
  EXPECT_EQ(shape_of("block3.se.reduce.weight"), (std::vector<int64_t>{std::max(4, w[1] / 4), w[1] * 4, 1, 1}));
  int64_t n_parameters = 0;
  for (const auto& [name, t] : *tensors) {
    EXPECT_EQ(name.find("num_batches_tracked"), std::string::npos) << name;
    if (name.ends_with(".running_mean") || name.ends_with(".running_var")) continue;
    n_parameters += static_cast<int64_t>(t.values.size());
  }
  EXPECT_EQ(n_parameters, model->n_parameters());
}

TEST(TorchArchive, MlpValuesGiveLibTorchsLogits) {
  Trainable net = mlp_5_4(7);
  auto tensors = read_torch_archive(archive_of(net), "mlp");
  ASSERT_TRUE(tensors.ok()) << tensors.status().message();
  const auto& w0 = tensors->at("fc0.weight").values;
  const auto& b0 = tensors->at("fc0.bias").values;
  const auto& w1 = tensors->at("out.weight").values;
  const auto& b1 = tensors->at("out.bias").values;
  Batch batch;
  batch.shape = {3, 5};
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int i = 0; i < 15; ++i) batch.values.push_back(dist(rng));
  auto expected = net.predict(batch);
  ASSERT_TRUE(expected.ok()) << expected.status().message();
  for (int row = 0; row < 3; ++row) {
    const float* x = batch.values.data() + row * 5;
    double logit = b1[0];
    for (int j = 0; j < 4; ++j) {
      double h = b0[j];
      for (int k = 0; k < 5; ++k) h += w0[j * 5 + k] * x[k];
      logit += w1[j] * (h / (1.0 + std::exp(-h)));  // silu
    }
    EXPECT_NEAR(logit, expected->logits[row], 1e-5) << "row " << row;
  }
}

TEST(TorchArchive, ReadsAHandBuiltArchive) {
  for (const std::string dir : {"archive", "weights_v2"}) {
    auto tensors = read_torch_archive(one_tensor_archive({3, 1}, 6, dir), "weights");
    ASSERT_TRUE(tensors.ok()) << tensors.status().message();
    ASSERT_EQ(tensors->size(), 1u);
    EXPECT_EQ(tensors->at("w").shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(tensors->at("w").values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  }
  // A storage offset, and a stride that differs only on a size-1 dimension (still contiguous).
  const std::string pickle = kModuleStart + str("v") + tensor_pickle("0", 6, 2, {1, 4}, {99, 1}) +
                             str("step") + tensor_pickle("1", 1, 0, {}, {}, "LongStorage") + kModuleEnd + ".";
  auto tensors = read_torch_archive(
      zip_of({{"a/data.pkl", pickle}, {"a/data/0", floats({1, 2, 3, 4, 5, 6})}, {"a/data/1", std::string(8, '\0')}}), "w");
  ASSERT_TRUE(tensors.ok()) << tensors.status().message();
  ASSERT_EQ(tensors->size(), 1u);  // the int64 tensor is skipped
  EXPECT_EQ(tensors->at("v").values, (std::vector<float>{3, 4, 5, 6}));
}

TEST(TorchArchive, NamesWhatIsWrongWithABadArchive) {
  expect_model_error("", "not a zip archive");
  expect_model_error(std::string(100, 'x'), "no end of central directory");
  expect_model_error(one_tensor_archive({1, 2}), "non-contiguous tensor w");
  expect_model_error(one_tensor_archive({3, 1}, 8), "truncated data for tensor w");
  expect_model_error(one_tensor_archive({3, 1}, 6, "archive", 1), "tensor w extends past its storage");
  expect_model_error(zip_of({{"archive/version", "3\n"}}), "missing entry <dir>/data.pkl");
  const std::string pickle = kModuleStart + str("w") + tensor_pickle("7", 6, 0, {2, 3}, {3, 1}) + kModuleEnd + ".";
  expect_model_error(zip_of({{"archive/data.pkl", pickle}}), "missing entry archive/data/7 for tensor w");
  // Pickles: an opcode the reader does not know, a memo index never stored, a module inside itself.
  expect_model_error(zip_of({{"archive/data.pkl", "\x80\x02\x01."}}), "unsupported pickle opcode 0x01 at offset 2");
  expect_model_error(zip_of({{"archive/data.pkl", "\x80\x02j\xff\xff\xff\xff."}}), "memo entry 4294967295 missing");
  expect_model_error(zip_of({{"archive/data.pkl", "\x80\x02K\x01"}}), "no STOP");
  expect_model_error(zip_of({{"archive/data.pkl", "\x80\x02t."}}), "TUPLE without MARK");
  expect_model_error(zip_of({{"archive/data.pkl", "\x80\x02K\x01(\x85."}}), "stack underflow");
  const std::string cycle = "\x80\x02" + global("__torch__", "Module") + ")\x81q\x00}("s + str("self") + "h\x00ub."s;
  expect_model_error(zip_of({{"archive/data.pkl", cycle}}), "reached twice");
  expect_model_error(zip_of({{"archive/data.pkl", "\x80\x02K\x01."}}), "the root is not a module");
}

TEST(TorchArchive, RejectsACompressedEntry) {
  std::string archive = archive_of(mlp_5_4(1));
  const std::string name = "/data.pkl";
  // The central directory record of data.pkl: its name follows the 46 fixed bytes.
  size_t record = std::string::npos;
  for (size_t pos = archive.find("PK\x01\x02"); pos != std::string::npos; pos = archive.find("PK\x01\x02", pos + 1)) {
    const size_t name_bytes = static_cast<uint8_t>(archive[pos + 28]) | static_cast<uint8_t>(archive[pos + 29]) << 8;
    if (archive.compare(pos + 46 + name_bytes - name.size(), name.size(), name) == 0) record = pos;
  }
  ASSERT_NE(record, std::string::npos);
  archive[record + 10] = 8;  // deflate
  expect_model_error(archive, "is compressed (method 8)");
}

TEST(TorchArchive, CorruptArchivesAreModelErrors) {
  const std::string archive = archive_of(mlp_5_4(2));
  ASSERT_TRUE(read_torch_archive(archive, "weights").ok());
  expect_model_error(archive.substr(0, 10), "not a zip archive");
  for (int i = 1; i <= 20; ++i) {  // every cut loses the end of central directory record or what it points to
    const size_t cut = archive.size() * i / 21;
    auto r = read_torch_archive(archive.substr(0, cut), "weights");
    EXPECT_FALSE(r.ok()) << "cut at " << cut;
    EXPECT_EQ(r.status().code(), StatusCode::kModel) << r.status().message();
  }
  std::mt19937 rng(11);
  for (int i = 0; i < 200; ++i) {  // random bytes, with and without a valid end record
    std::string noise(1 + rng() % 300, '\0');
    for (char& c : noise) c = static_cast<char>(rng());
    expect_ok_or_model_error(noise);
    expect_ok_or_model_error(noise + archive.substr(archive.rfind("PK\x05\x06")));
  }
  // Every byte of data.pkl and of the central directory, each set to a few values in turn.
  const size_t pickle = archive.find("\x80\x02" "c__torch__");
  ASSERT_NE(pickle, std::string::npos);
  const size_t directory = archive.find("PK\x01\x02");
  for (size_t pos = pickle; pos < archive.size(); ++pos) {
    if (pos >= pickle + 400 && pos < directory) continue;  // the code/ entries are never read
    for (int value : {0x01, 0x7f, 0x80, 0xff}) {
      std::string bad = archive;
      bad[pos] = static_cast<char>(bad[pos] ^ value);
      expect_ok_or_model_error(bad);
    }
  }
}

}  // namespace
}  // namespace unmask::nn
