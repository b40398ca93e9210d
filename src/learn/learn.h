// unmask learn: metrics, calibration, ROC plots, manifests and the training loop for binary
// (real/fake) classifiers. No LibTorch here: networks are trained through nn::Trainable.
//
// Basic usage (evaluation):
//
//   auto items = unmask::learn::read_manifest("data/eval.csv");   // Status::input on bad rows
//   std::vector<double> scores; std::vector<int> labels;            // label 1 = fake
//   ... run a detector per item ...
//   unmask::learn::BinaryMetrics m = unmask::learn::binary_metrics(scores, labels);
//   std::string svg = unmask::learn::roc_svg({{"blend", unmask::learn::roc_curve(scores, labels), m.auc}});
//
// Basic usage (training):
//
//   unmask::learn::InMemoryDataset train(spec.example_shape()), val(spec.example_shape());
//   train.add(input_values, /*label=*/1.0f);  ...
//   unmask::learn::TrainConfig cfg; cfg.epochs = 5; cfg.seed = 7;
//   cfg.checkpoint_path = "run.ckpt"; cfg.resume = true;   // picks up an interrupted run
//   auto result = unmask::learn::train_binary(spec, train, &val, cfg);
//   result->model.save("blend.unm", {{"seed", "7"}});
//
// Labels everywhere: 1 = fake (the positive class), 0 = real. Scores: higher = more likely fake.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"
#include "nn/nn.h"

namespace unmask::learn {

// ---------------------------------------------------------------------------------------------
// Metrics. scores and labels have equal length (a precondition: mismatched lengths are a bug).
// A metric that needs both classes is NaN when one is absent.
// ---------------------------------------------------------------------------------------------

// Area under the ROC curve = the Mann-Whitney U statistic / (n_fake * n_real): the probability
// that a random fake scores above a random real, ties counting one half.
double roc_auc(std::span<const double> scores, std::span<const int> labels);

// How far the AUC of these scores can be trusted: a bootstrap interval. `resamples` times, the
// reals and the fakes are each drawn with replacement at their own count and the AUC taken; the
// interval runs between the (1 - level) / 2 and (1 + level) / 2 quantiles of those AUCs. A fixed
// seed, so the same scores give the same interval. {NaN, NaN} when a class has fewer than
// kMinPerClassForInterval items: resampling two or three items says nothing (two perfectly
// separated pairs would give the interval 1.000-1.000).
inline constexpr size_t kMinPerClassForInterval = 5;
struct Interval {
  double low = 0;
  double high = 0;
};
Interval roc_auc_interval(std::span<const double> scores, std::span<const int> labels, double level = 0.95,
                          int resamples = 2000, uint64_t seed = 1);

// Average precision: sum over distinct thresholds (descending) of (R_k - R_{k-1}) * P_k, tied
// scores forming one threshold (the scikit-learn definition). NaN without fakes.
double average_precision(std::span<const double> scores, std::span<const int> labels);

// One ROC point per distinct score, plus (0, 0) at threshold +inf first: "fake when score >=
// threshold" gives false-positive rate fpr and true-positive rate tpr.
struct RocPoint {
  double fpr = 0;
  double tpr = 0;
  double threshold = 0;
};
std::vector<RocPoint> roc_curve(std::span<const double> scores, std::span<const int> labels);

// Equal error rate: where the false-positive rate equals the false-negative rate (1 - tpr), by
// linear interpolation along the ROC curve. `threshold` (optional out) gets the interpolated
// score threshold there.
double equal_error_rate(std::span<const double> scores, std::span<const int> labels,
                        double* threshold = nullptr);

// Mean binary cross-entropy of probabilities, each clipped to [eps, 1 - eps] first (an
// unclipped 0 for a fake would be infinite). NaN for an empty set.
inline constexpr double kLogLossEps = 1e-15;
double log_loss(std::span<const double> probabilities, std::span<const int> labels,
                double eps = kLogLossEps);

// Fraction of items where (probability >= threshold) == (label == 1).
double accuracy(std::span<const double> probabilities, std::span<const int> labels,
                double threshold = 0.5);

// Everything `unmask eval --json` reports, for probabilities in [0, 1].
struct BinaryMetrics {
  int64_t n_real = 0;
  int64_t n_fake = 0;
  double auc = 0;
  double ap = 0;
  double eer = 0;
  double eer_threshold = 0;
  double log_loss = 0;
  double accuracy = 0;
};
BinaryMetrics binary_metrics(std::span<const double> probabilities, std::span<const int> labels);

// ---------------------------------------------------------------------------------------------
// Calibration: raw scores (logits or any monotone score) to probabilities.
// ---------------------------------------------------------------------------------------------

// Platt scaling: p = 1 / (1 + exp(a * s + b)), fitted by Newton's method on Platt's smoothed
// targets ((n_fake + 1) / (n_fake + 2) and 1 / (n_real + 2)), which keeps it finite on separable
// data. Default-constructed: a = -1, b = 0 (plain sigmoid).
class PlattScaling {
 public:
  // Input error when the lengths differ or a class is missing.
  Status fit(std::span<const double> scores, std::span<const int> labels);
  double apply(double score) const;
  double a() const { return a_; }
  double b() const { return b_; }
  // "platt a b" with full precision; parse() reads it back (input error otherwise).
  std::string serialize() const;
  static Result<PlattScaling> parse(std::string_view text);

 private:
  double a_ = -1.0;
  double b_ = 0.0;
};

// Isotonic regression: the non-decreasing step function of the score closest (least squares) to
// the labels, by pool-adjacent-violators; tied scores are pooled first. apply() interpolates
// linearly between the fitted points and is constant beyond the first and last.
class IsotonicRegression {
 public:
  Status fit(std::span<const double> scores, std::span<const int> labels);
  double apply(double score) const;  // 0.5 when not fitted
  const std::vector<double>& xs() const { return xs_; }
  const std::vector<double>& ys() const { return ys_; }
  // "isotonic n x0 y0 x1 y1 ..."; parse() reads it back.
  std::string serialize() const;
  static Result<IsotonicRegression> parse(std::string_view text);

 private:
  std::vector<double> xs_;  // increasing
  std::vector<double> ys_;  // non-decreasing, in [0, 1]
};

// ---------------------------------------------------------------------------------------------
// ROC curve as a self-contained SVG document (no scripts, fonts or external references).
// ---------------------------------------------------------------------------------------------

struct RocSeries {
  std::string label;  // legend text, e.g. "blend"; XML-escaped on output
  std::vector<RocPoint> points;
  double auc = 0;     // shown in the legend as "label (AUC 0.913)"
};
struct RocSvgOptions {
  int width_px = 480;
  int height_px = 480;
  std::string title = "ROC curve";
};
std::string roc_svg(const std::vector<RocSeries>& series, const RocSvgOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Manifests: CSV with a header naming at least `path` and `label` (real | fake); more columns
// allowed and kept. RFC 4180 quoting ("a,b", "say ""hi"""), CRLF, a UTF-8 BOM and blank lines
// are accepted. Relative paths are resolved against the CSV's folder.
// ---------------------------------------------------------------------------------------------

struct ManifestItem {
  std::string path;   // resolved
  int label = 0;      // 1 fake, 0 real
  int line = 0;       // 1-based line of the row's start in the CSV
  std::map<std::string, std::string> columns;  // every column of the row, by header name
};

// Status::input naming the file and line: unreadable file, no header, header without path or
// label, a row with fewer fields than the header, a label other than real/fake (any case), an
// empty path, an unterminated quote.
Result<std::vector<ManifestItem>> read_manifest(const std::string& csv_path);
// The same on text in memory; `what` names it in messages, relative paths resolve against
// base_dir.
Result<std::vector<ManifestItem>> parse_manifest(std::string_view csv_text, std::string_view what,
                                                 const std::string& base_dir);

// ---------------------------------------------------------------------------------------------
// Training loop for binary classifiers.
// ---------------------------------------------------------------------------------------------

struct Example {
  std::vector<float> input;     // spec.example_shape() values
  float label = 0;              // 1 fake, 0 real (soft labels in [0, 1] allowed)
  std::vector<float> boundary;  // boundary_size_px^2 targets in [0, 1], or empty for none
};

// Training data. get() must be deterministic in (index, seed): augmentation draws only from
// `seed`, which the loop derives from the run seed, the epoch and the index. That is what makes
// a resumed run equal an uninterrupted one. get() is called from one thread.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual size_t size() const = 0;
  virtual Result<Example> get(size_t index, uint64_t seed) const = 0;
};

// Examples held in memory, returned as they are (no augmentation).
class InMemoryDataset : public Dataset {
 public:
  explicit InMemoryDataset(std::vector<int64_t> example_shape);
  // Input error when the input length does not match the example shape.
  Status add(std::vector<float> input, float label, std::vector<float> boundary = {});
  size_t size() const override { return examples_.size(); }
  Result<Example> get(size_t index, uint64_t seed) const override;

 private:
  int64_t example_size_ = 0;
  std::vector<Example> examples_;
};

// Mixup (Zhang et al. 2018) of the examples of `base`: example i comes back as
// lambda * x_i + (1 - lambda) * x_j with the label mixed the same way, where the partner j and
// lambda ~ Beta(alpha, alpha) are drawn from the example's seed (so get() stays deterministic in
// (index, seed)). Boundary targets are mixed when both examples have one, dropped otherwise.
// `base` must outlive it; alpha must be > 0.
class MixupDataset : public Dataset {
 public:
  MixupDataset(const Dataset& base, double alpha) : base_(base), alpha_(alpha) {}
  size_t size() const override { return base_.size(); }
  Result<Example> get(size_t index, uint64_t seed) const override;

 private:
  const Dataset& base_;
  double alpha_;
};

struct TrainConfig {
  int epochs = 10;
  int batch_size = 32;
  uint64_t seed = 1;
  nn::OptimizerConfig optimizer;
  // Checkpoints (weights, optimiser, position, history) are written atomically to this path
  // every checkpoint_every_steps steps, at the end of each epoch and when stopped. Empty: none.
  std::string checkpoint_path;
  int checkpoint_every_steps = 50;
  // Continue from checkpoint_path when it exists (a model error when it was made with another
  // spec, seed, batch size or dataset size); start afresh when it does not.
  bool resume = false;
  // Fine-tuning: when no checkpoint is resumed, start from the weights and optimiser state of this
  // checkpoint, made by a run of the same architecture on any data (its position is not taken:
  // the run counts epochs from 0). Model error when it is missing, corrupt or of another spec.
  std::string init_checkpoint;
  // fraction of all steps done, and "epoch 2/10 loss 0.412 val_auc 0.873".
  ProgressFn progress;
  // Polled after every step; true stops the run after writing a checkpoint (a clean interrupt).
  std::function<bool()> should_stop;
};

struct EpochStats {
  int epoch = 0;             // 1-based
  double train_loss = 0;     // mean step loss over the epoch
  double val_auc = 0;        // NaN without validation data or with one class
  double val_log_loss = 0;   // NaN without validation data
};

struct TrainResult {
  nn::Model model;                 // the weights at the end (or at the stop)
  std::vector<EpochStats> history; // one entry per completed epoch, resumed ones included
  int64_t n_steps = 0;
  bool stopped = false;            // should_stop ended the run early
};

// Trains `spec` from seed-initialised weights (or the checkpoint) with Adam on BCE with logits
// (plus the boundary loss for examples with boundary targets). Each epoch visits the training set
// in a seeded random order in batches of batch_size (a last batch of one example is merged into
// the previous, because batch norm needs two); after each epoch it scores `validation` (may be
// null). Errors: model errors from nn and checkpoints, input errors from the datasets.
Result<TrainResult> train_binary(const nn::ModelSpec& spec, const Dataset& train,
                                 const Dataset* validation, const TrainConfig& config);

// Scores every example of a dataset with a model: P(fake) per example, in order.
Result<std::vector<double>> predict_dataset(const nn::Model& model, const Dataset& data,
                                            uint64_t seed = 0, int batch_size = 64);

}  // namespace unmask::learn
