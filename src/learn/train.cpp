// The seeded, resumable training loop for binary classifiers, and its checkpoint file.
//
// Reproducibility: the epoch order is a Fisher-Yates shuffle driven by splitmix64(seed, epoch);
// each example's augmentation seed is splitmix64(seed, epoch, index). Nothing else is random
// (the networks have no dropout), so a run is a pure function of (spec, data, config), and a
// checkpoint only needs the weights, the optimiser state and the position.
//
// Checkpoint file: "UNMASKCK" | u32 LE version | u32 LE header length | header text |
// u64 LE state length | nn::Trainable state | 64 hex chars SHA-256 of all before.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <random>

#include "learn/learn.h"

namespace unmask::learn {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::string_view kCheckpointMagic = "UNMASKCK";
constexpr uint32_t kCheckpointVersion = 1;
constexpr uint64_t kValidationStream = 0x76616c6964617465ULL;  // "validate"

uint64_t mix(uint64_t a, uint64_t b) { return splitmix64(a ^ splitmix64(b)); }
uint64_t mix(uint64_t a, uint64_t b, uint64_t c) { return mix(mix(a, b), c); }

std::vector<size_t> epoch_order(size_t n, uint64_t seed, int epoch) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  uint64_t state = mix(seed, static_cast<uint64_t>(epoch));
  for (size_t i = n; i > 1; --i) {
    state = splitmix64(state);
    std::swap(order[i - 1], order[state % i]);
  }
  return order;
}

// [begin, end) of each mini-batch; a trailing batch of one example joins the previous one.
std::vector<std::pair<size_t, size_t>> plan_batches(size_t n, size_t batch_size) {
  std::vector<std::pair<size_t, size_t>> batches;
  for (size_t begin = 0; begin < n; begin += batch_size) batches.push_back({begin, std::min(n, begin + batch_size)});
  if (batches.size() > 1 && batches.back().second - batches.back().first == 1) {
    batches.pop_back();
    batches.back().second = n;
  }
  return batches;
}

// Exact text for doubles (hex float round-trips bit for bit; "nan" and "inf" too).
std::string exact(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::hex);
  return std::string(buf, end);
}
bool parse_exact(std::string_view s, double& v) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::hex);
  return ec == std::errc() && ptr == s.data() + s.size();
}
bool parse_int(std::string_view s, int64_t& v) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

// What a checkpoint must agree on with the run resuming it.
std::string fingerprint(const nn::ModelSpec& spec, const TrainConfig& config, size_t n_train) {
  std::string s = spec.name + "/" + std::to_string(spec.in_channels) + "/" + std::to_string(spec.input_size_px) +
                  "/" + std::to_string(spec.boundary_head) + "/" + std::to_string(spec.n_features) + "/w";
  for (int w : spec.widths) {
    s += '_';
    s += std::to_string(w);
  }
  s += " seed=" + std::to_string(config.seed) + " batch_size=" + std::to_string(config.batch_size) +
       " n_train=" + std::to_string(n_train) + " lr=" + exact(config.optimizer.learning_rate) +
       " wd=" + exact(config.optimizer.weight_decay) + " bw=" + exact(config.optimizer.boundary_loss_weight);
  return s;
}

// The loop's position. After a completed epoch e (1-based), epoch == e and step_in_epoch == 0.
struct Position {
  int epoch = 0;               // epochs completed
  int64_t step_in_epoch = 0;   // batches done in the current epoch
  double epoch_loss_sum = 0;
  int64_t epoch_n_steps = 0;
  std::vector<EpochStats> history;
};

void put_le(std::string& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get_le(std::string_view in, size_t offset, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in[offset + i])) << (8 * i);
  return v;
}

Status write_checkpoint(const std::string& path, const std::string& fp, const Position& pos,
                        const nn::Trainable& net) {
  auto state = net.save_state();
  if (!state.ok()) return state.status();
  std::string header = "fingerprint=" + fp + "\n";
  header += "epoch=" + std::to_string(pos.epoch) + "\n";
  header += "step_in_epoch=" + std::to_string(pos.step_in_epoch) + "\n";
  header += "epoch_loss_sum=" + exact(pos.epoch_loss_sum) + "\n";
  header += "epoch_n_steps=" + std::to_string(pos.epoch_n_steps) + "\n";
  for (const EpochStats& e : pos.history) {
    header += "history=" + std::to_string(e.epoch) + " " + exact(e.train_loss) + " " + exact(e.val_auc) + " " +
              exact(e.val_log_loss) + "\n";
  }
  std::string bytes(kCheckpointMagic);
  put_le(bytes, kCheckpointVersion, 4);
  put_le(bytes, header.size(), 4);
  bytes += header;
  put_le(bytes, state->size(), 8);
  bytes += *state;
  bytes += sha256_hex(bytes);
  Status written = write_file_atomic(path, bytes);
  if (!written.is_ok()) return Status::model(path, "cannot write the checkpoint: " + written.message());
  return Status::ok();
}

// require_fingerprint false: weights for fine-tuning, from a run on other data.
Status read_checkpoint(const std::string& path, const std::string& fp, Position& pos, nn::Trainable& net,
                       bool require_fingerprint = true) {
  auto bytes_or = read_file(path);
  if (!bytes_or.ok()) return Status::model(path, "cannot read the checkpoint: " + bytes_or.status().message());
  const std::string_view bytes = *bytes_or;
  auto fail = [&](const std::string& why) { return Status::model(path, why); };
  if (!bytes.starts_with(kCheckpointMagic)) return fail("not an unmask checkpoint (bad magic)");
  size_t p = kCheckpointMagic.size();
  if (bytes.size() < p + 8) return fail("truncated checkpoint");
  if (get_le(bytes, p, 4) != kCheckpointVersion) return fail("unsupported checkpoint version");
  const uint64_t header_len = get_le(bytes, p + 4, 4);
  p += 8;
  if (bytes.size() < p + header_len + 8) return fail("truncated checkpoint");
  const std::string_view header = bytes.substr(p, header_len);
  p += header_len;
  const uint64_t state_len = get_le(bytes, p, 8);
  p += 8;
  if (state_len > bytes.size() || bytes.size() - p != state_len + 64) return fail("truncated checkpoint");
  if (sha256_hex(bytes.substr(0, p + state_len)) != bytes.substr(p + state_len)) {
    return fail("checksum mismatch: the checkpoint is corrupt");
  }
  Position loaded;
  bool fingerprint_ok = false;
  std::string other_fp;
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find('\n', start);
    if (end == std::string_view::npos) end = header.size();
    const std::string_view line = header.substr(start, end - start);
    start = end + 1;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return fail("bad checkpoint header line");
    const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    int64_t iv = 0;
    if (key == "fingerprint") {
      other_fp = std::string(value);
      fingerprint_ok = value == fp;
    } else if (key == "epoch" && parse_int(value, iv)) {
      loaded.epoch = static_cast<int>(iv);
    } else if (key == "step_in_epoch" && parse_int(value, iv)) {
      loaded.step_in_epoch = iv;
    } else if (key == "epoch_n_steps" && parse_int(value, iv)) {
      loaded.epoch_n_steps = iv;
    } else if (key == "epoch_loss_sum" && parse_exact(value, loaded.epoch_loss_sum)) {
    } else if (key == "history") {
      EpochStats e;
      std::vector<std::string_view> parts;
      size_t s = 0;
      while (s <= value.size()) {
        size_t sp = value.find(' ', s);
        if (sp == std::string_view::npos) sp = value.size();
        parts.push_back(value.substr(s, sp - s));
        s = sp + 1;
      }
      if (parts.size() != 4 || !parse_int(parts[0], iv) || !parse_exact(parts[1], e.train_loss) ||
          !parse_exact(parts[2], e.val_auc) || !parse_exact(parts[3], e.val_log_loss)) {
        return fail("bad history line in the checkpoint");
      }
      e.epoch = static_cast<int>(iv);
      loaded.history.push_back(e);
    } else {
      return fail("bad checkpoint header line '" + std::string(line) + "'");
    }
  }
  if (!fingerprint_ok && require_fingerprint) {
    return fail("was made by a different run (" + other_fp + "); this run is (" + fp +
                "): delete it or use the same settings");
  }
  UNMASK_RETURN_IF_ERROR(net.load_state(bytes.substr(p, state_len)));
  pos = std::move(loaded);
  return Status::ok();
}

// Builds the mini-batch of examples order[begin, end) for `epoch`.
Result<nn::TrainBatch> make_batch(const Dataset& data, const nn::ModelSpec& spec, const std::vector<size_t>& order,
                                  size_t begin, size_t end, uint64_t seed, int epoch) {
  const std::vector<int64_t> shape = spec.example_shape();
  int64_t example_size = 1;
  for (int64_t d : shape) example_size *= d;
  const int64_t side = spec.boundary_size_px();
  const int64_t n = static_cast<int64_t>(end - begin);
  nn::TrainBatch batch;
  batch.inputs.shape = {n};
  batch.inputs.shape.insert(batch.inputs.shape.end(), shape.begin(), shape.end());
  batch.inputs.values.reserve(n * example_size);
  bool any_boundary = false;
  std::vector<Example> examples;
  for (size_t k = begin; k < end; ++k) {
    const size_t index = order[k];
    auto ex = data.get(index, mix(seed, static_cast<uint64_t>(epoch), index));
    if (!ex.ok()) return ex.status();
    if (static_cast<int64_t>(ex->input.size()) != example_size) {
      return Status::input("training example " + std::to_string(index),
                           "has " + std::to_string(ex->input.size()) + " values; " + spec.name + " takes " +
                               std::to_string(example_size));
    }
    if (!ex->boundary.empty() && side > 0) {
      if (static_cast<int64_t>(ex->boundary.size()) != side * side) {
        return Status::input("training example " + std::to_string(index),
                             "boundary target must have " + std::to_string(side * side) + " values");
      }
      any_boundary = true;
    }
    batch.inputs.values.insert(batch.inputs.values.end(), ex->input.begin(), ex->input.end());
    batch.labels.push_back(ex->label);
    examples.push_back(std::move(*ex));
  }
  if (any_boundary) {
    batch.boundary.shape = {n, 1, side, side};
    batch.boundary.values.assign(static_cast<size_t>(n * side * side), 0.0f);
    for (int64_t i = 0; i < n; ++i) {
      const bool has = !examples[i].boundary.empty();
      batch.has_boundary.push_back(has ? 1 : 0);
      if (has) std::copy(examples[i].boundary.begin(), examples[i].boundary.end(),
                         batch.boundary.values.begin() + i * side * side);
    }
  }
  return batch;
}

using PredictFn = std::function<Result<nn::Prediction>(const nn::Batch&)>;

// P(fake) for every example of `data` (in order) and the labels (>= 0.5 counts as fake).
Status score_dataset(const PredictFn& predict, const nn::ModelSpec& spec, const Dataset& data, uint64_t seed,
                     int batch_size, std::vector<double>& probabilities, std::vector<int>& labels) {
  std::vector<size_t> order(data.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(order.size(), begin + static_cast<size_t>(batch_size));
    // Validation examples get a fixed seed per index: the same every epoch.
    auto batch = make_batch(data, spec, order, begin, end, mix(seed, kValidationStream), 0);
    if (!batch.ok()) return batch.status();
    auto out = predict(batch->inputs);
    if (!out.ok()) return out.status();
    for (size_t i = 0; i < out->logits.size(); ++i) {
      probabilities.push_back(nn::sigmoid(out->logits[i]));
      labels.push_back(batch->labels[i] >= 0.5f ? 1 : 0);
    }
  }
  return Status::ok();
}

std::string describe(int epoch, int epochs, int64_t step, size_t n_steps, double loss, double val_auc) {
  char buf[160];
  if (std::isnan(val_auc)) {
    std::snprintf(buf, sizeof(buf), "epoch %d/%d step %lld/%zu loss %.4f", epoch, epochs,
                  static_cast<long long>(step), n_steps, loss);
  } else {
    std::snprintf(buf, sizeof(buf), "epoch %d/%d step %lld/%zu loss %.4f val_auc %.3f", epoch, epochs,
                  static_cast<long long>(step), n_steps, loss, val_auc);
  }
  return buf;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

InMemoryDataset::InMemoryDataset(std::vector<int64_t> example_shape) {
  example_size_ = 1;
  for (int64_t d : example_shape) example_size_ *= d;
}

Status InMemoryDataset::add(std::vector<float> input, float label, std::vector<float> boundary) {
  if (static_cast<int64_t>(input.size()) != example_size_) {
    return Status::input("dataset example", "has " + std::to_string(input.size()) + " values, expected " +
                                                std::to_string(example_size_));
  }
  if (!(label >= 0.0f && label <= 1.0f)) return Status::input("dataset example", "label must be in [0, 1]");
  examples_.push_back({std::move(input), label, std::move(boundary)});
  return Status::ok();
}

Result<Example> InMemoryDataset::get(size_t index, uint64_t /*seed*/) const {
  if (index >= examples_.size()) return Status::internal("dataset", "index out of range");
  return examples_[index];
}

Result<Example> MixupDataset::get(size_t index, uint64_t seed) const {
  if (!(alpha_ > 0.0)) return Status::usage("mixup", "alpha must be > 0");
  auto first = base_.get(index, seed);
  if (!first.ok() || base_.size() < 2) return first;
  std::mt19937_64 rng(mix(seed, 0x6d69787570ULL));  // "mixup"
  const size_t partner = std::uniform_int_distribution<size_t>(0, base_.size() - 1)(rng);
  std::gamma_distribution<double> gamma(alpha_, 1.0);
  const double a = gamma(rng), b = gamma(rng);
  // lambda ~ Beta(alpha, alpha), folded to >= 0.5 so that example `index` stays the larger part.
  double lambda = a + b > 0.0 ? a / (a + b) : 1.0;
  lambda = std::max(lambda, 1.0 - lambda);
  auto second = base_.get(partner, mix(seed, partner));
  if (!second.ok()) return second.status();
  if (second->input.size() != first->input.size()) {
    return Status::internal("mixup", "examples " + std::to_string(index) + " and " + std::to_string(partner) + " differ in size");
  }
  const float l = static_cast<float>(lambda), r = 1.0f - l;
  Example out = std::move(*first);
  for (size_t k = 0; k < out.input.size(); ++k) out.input[k] = l * out.input[k] + r * second->input[k];
  out.label = l * out.label + r * second->label;
  if (!out.boundary.empty() && second->boundary.size() == out.boundary.size()) {
    for (size_t k = 0; k < out.boundary.size(); ++k) out.boundary[k] = l * out.boundary[k] + r * second->boundary[k];
  } else {
    out.boundary.clear();
  }
  return out;
}

Result<std::vector<double>> predict_dataset(const nn::Model& model, const Dataset& data, uint64_t seed,
                                            int batch_size) {
  if (model.empty()) return Status::model("model", "no model loaded");
  std::vector<double> probabilities;
  std::vector<int> labels;
  UNMASK_RETURN_IF_ERROR(score_dataset([&](const nn::Batch& b) { return model.predict(b); }, model.spec(), data,
                                       seed, std::max(1, batch_size), probabilities, labels));
  return probabilities;
}

Result<TrainResult> train_binary(const nn::ModelSpec& spec, const Dataset& train, const Dataset* validation,
                                 const TrainConfig& config) {
  if (config.epochs < 1) return Status::model("training", "epochs must be >= 1");
  if (config.batch_size < 2) return Status::model("training", "batch_size must be >= 2 (batch norm)");
  if (train.size() < 2) return Status::input("training data", "needs at least 2 examples");
  auto net_or = nn::Trainable::create(spec, config.seed, config.optimizer);
  if (!net_or.ok()) return net_or.status();
  nn::Trainable net = std::move(*net_or);

  const std::string fp = fingerprint(spec, config, train.size());
  Position pos;
  const bool checkpointing = !config.checkpoint_path.empty();
  if (checkpointing && config.resume && std::filesystem::exists(config.checkpoint_path)) {
    UNMASK_RETURN_IF_ERROR(read_checkpoint(config.checkpoint_path, fp, pos, net));
  } else if (!config.init_checkpoint.empty()) {
    Position ignored;
    UNMASK_RETURN_IF_ERROR(read_checkpoint(config.init_checkpoint, fp, ignored, net, /*require_fingerprint=*/false));
  }

  const auto batches = plan_batches(train.size(), static_cast<size_t>(config.batch_size));
  const double total_steps = static_cast<double>(batches.size()) * config.epochs;
  TrainResult result;
  auto finish = [&](bool stopped) -> Result<TrainResult> {
    auto model = net.freeze({{"train.seed", std::to_string(config.seed)},
                             {"train.steps", std::to_string(net.n_steps())},
                             {"train.epochs", std::to_string(pos.epoch)}});
    if (!model.ok()) return model.status();
    result.model = std::move(*model);
    result.history = pos.history;
    result.n_steps = net.n_steps();
    result.stopped = stopped;
    return std::move(result);
  };
  auto checkpoint = [&]() -> Status {
    return checkpointing ? write_checkpoint(config.checkpoint_path, fp, pos, net) : Status::ok();
  };

  for (; pos.epoch < config.epochs;) {
    const int epoch = pos.epoch;  // 0-based index of the running epoch
    const auto order = epoch_order(train.size(), config.seed, epoch);
    for (size_t b = static_cast<size_t>(pos.step_in_epoch); b < batches.size(); ++b) {
      auto batch = make_batch(train, spec, order, batches[b].first, batches[b].second, config.seed, epoch);
      if (!batch.ok()) return batch.status();
      auto stats = net.step(*batch);
      if (!stats.ok()) return stats.status();
      pos.epoch_loss_sum += stats->loss;
      ++pos.epoch_n_steps;
      pos.step_in_epoch = static_cast<int64_t>(b + 1);
      if (config.progress) {
        const double done = static_cast<double>(epoch) * batches.size() + static_cast<double>(b + 1);
        config.progress(done / total_steps,
                        describe(epoch + 1, config.epochs, static_cast<int64_t>(b + 1), batches.size(),
                                 stats->loss, pos.history.empty() ? kNaN : pos.history.back().val_auc));
      }
      if (config.should_stop && config.should_stop()) {
        UNMASK_RETURN_IF_ERROR(checkpoint());
        return finish(true);
      }
      if (config.checkpoint_every_steps > 0 && net.n_steps() % config.checkpoint_every_steps == 0 &&
          b + 1 < batches.size()) {
        UNMASK_RETURN_IF_ERROR(checkpoint());
      }
    }

    EpochStats stats;
    stats.epoch = epoch + 1;
    stats.train_loss = pos.epoch_n_steps ? pos.epoch_loss_sum / static_cast<double>(pos.epoch_n_steps) : kNaN;
    stats.val_auc = kNaN;
    stats.val_log_loss = kNaN;
    if (validation && validation->size() > 0) {
      std::vector<double> probabilities;
      std::vector<int> labels;
      UNMASK_RETURN_IF_ERROR(score_dataset([&](const nn::Batch& x) { return net.predict(x); }, spec, *validation,
                                           config.seed, std::max(2, config.batch_size), probabilities, labels));
      stats.val_auc = roc_auc(probabilities, labels);
      stats.val_log_loss = log_loss(probabilities, labels);
    }
    pos.history.push_back(stats);
    pos.epoch = epoch + 1;
    pos.step_in_epoch = 0;
    pos.epoch_loss_sum = 0;
    pos.epoch_n_steps = 0;
    UNMASK_RETURN_IF_ERROR(checkpoint());
    if (config.progress) {
      config.progress(static_cast<double>(pos.epoch) * batches.size() / total_steps,
                      describe(pos.epoch, config.epochs, static_cast<int64_t>(batches.size()), batches.size(),
                               stats.train_loss, stats.val_auc));
    }
  }
  return finish(false);
}

}  // namespace unmask::learn
