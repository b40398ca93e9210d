// Ranking and probability metrics for binary (real = 0 / fake = 1) scores.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "learn/learn.h"

namespace unmask::learn {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Indices of `scores`, highest score first; ties keep their input order (irrelevant: ties are
// always consumed as a group).
std::vector<size_t> order_descending(std::span<const double> scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return order;
}

struct Counts {
  int64_t n_fake = 0;
  int64_t n_real = 0;
};

Counts count(std::span<const int> labels) {
  Counts c;
  for (int y : labels) (y == 1 ? c.n_fake : c.n_real)++;
  return c;
}

}  // namespace

double roc_auc(std::span<const double> scores, std::span<const int> labels) {
  assert(scores.size() == labels.size());
  const Counts c = count(labels);
  if (c.n_fake == 0 || c.n_real == 0) return kNaN;
  // Mann-Whitney: sum of the fakes' ranks (ascending, ties sharing their average rank).
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum_fake = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] == 1) rank_sum_fake += average_rank;
    }
    i = j;
  }
  const double u = rank_sum_fake - static_cast<double>(c.n_fake) * (c.n_fake + 1) / 2.0;
  return u / (static_cast<double>(c.n_fake) * static_cast<double>(c.n_real));
}

Interval roc_auc_interval(std::span<const double> scores, std::span<const int> labels, double level, int resamples,
                          uint64_t seed) {
  assert(scores.size() == labels.size());
  std::vector<double> reals, fakes;
  for (size_t i = 0; i < scores.size(); ++i) (labels[i] == 1 ? fakes : reals).push_back(scores[i]);
  if (reals.size() < kMinPerClassForInterval || fakes.size() < kMinPerClassForInterval || resamples < 1) {
    return {kNaN, kNaN};
  }
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick_real(0, reals.size() - 1), pick_fake(0, fakes.size() - 1);
  std::vector<int> drawn_labels(reals.size(), 0);
  drawn_labels.resize(reals.size() + fakes.size(), 1);
  std::vector<double> drawn(drawn_labels.size()), aucs;
  aucs.reserve(static_cast<size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    for (size_t i = 0; i < reals.size(); ++i) drawn[i] = reals[pick_real(rng)];
    for (size_t i = 0; i < fakes.size(); ++i) drawn[reals.size() + i] = fakes[pick_fake(rng)];
    aucs.push_back(roc_auc(drawn, drawn_labels));
  }
  std::sort(aucs.begin(), aucs.end());
  const size_t tail = std::min(
      aucs.size() - 1, static_cast<size_t>(std::floor((1.0 - std::clamp(level, 0.0, 1.0)) / 2.0 * aucs.size())));
  return {aucs[tail], aucs[aucs.size() - 1 - tail]};
}

std::vector<RocPoint> roc_curve(std::span<const double> scores, std::span<const int> labels) {
  assert(scores.size() == labels.size());
  const Counts c = count(labels);
  std::vector<RocPoint> points;
  points.push_back({0.0, 0.0, std::numeric_limits<double>::infinity()});
  const auto order = order_descending(scores);
  int64_t tp = 0, fp = 0;
  for (size_t i = 0; i < order.size();) {
    const double threshold = scores[order[i]];
    while (i < order.size() && scores[order[i]] == threshold) {
      (labels[order[i]] == 1 ? tp : fp)++;
      ++i;
    }
    points.push_back({c.n_real ? static_cast<double>(fp) / c.n_real : 0.0,
                      c.n_fake ? static_cast<double>(tp) / c.n_fake : 0.0, threshold});
  }
  return points;
}

double average_precision(std::span<const double> scores, std::span<const int> labels) {
  assert(scores.size() == labels.size());
  const Counts c = count(labels);
  if (c.n_fake == 0) return kNaN;
  const auto order = order_descending(scores);
  int64_t tp = 0, fp = 0;
  double ap = 0, previous_recall = 0;
  for (size_t i = 0; i < order.size();) {
    const double threshold = scores[order[i]];
    while (i < order.size() && scores[order[i]] == threshold) {
      (labels[order[i]] == 1 ? tp : fp)++;
      ++i;
    }
    const double recall = static_cast<double>(tp) / c.n_fake;
    const double precision = static_cast<double>(tp) / static_cast<double>(tp + fp);
    ap += (recall - previous_recall) * precision;
    previous_recall = recall;
  }
  return ap;
}

double equal_error_rate(std::span<const double> scores, std::span<const int> labels, double* threshold) {
  const Counts c = count(labels);
  if (threshold) *threshold = kNaN;
  if (c.n_fake == 0 || c.n_real == 0) return kNaN;
  const auto points = roc_curve(scores, labels);
  // d = fpr - fnr rises from -1 at (0, 0) to +1 at (1, 1); find where it crosses 0.
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    const RocPoint& a = points[i];
    const RocPoint& b = points[i + 1];
    const double da = a.fpr - (1.0 - a.tpr);
    const double db = b.fpr - (1.0 - b.tpr);
    if (da < 0 && db >= 0) {
      const double t = -da / (db - da);
      if (threshold) {
        *threshold = std::isfinite(a.threshold) ? a.threshold + t * (b.threshold - a.threshold) : b.threshold;
      }
      return a.fpr + t * (b.fpr - a.fpr);
    }
  }
  return kNaN;  // unreachable with both classes present: the last point is (1, 1)
}

double log_loss(std::span<const double> probabilities, std::span<const int> labels, double eps) {
  assert(probabilities.size() == labels.size());
  if (probabilities.empty()) return kNaN;
  double sum = 0;
  for (size_t i = 0; i < probabilities.size(); ++i) {
    const double p = std::clamp(probabilities[i], eps, 1.0 - eps);
    sum -= labels[i] == 1 ? std::log(p) : std::log(1.0 - p);
  }
  return sum / static_cast<double>(probabilities.size());
}

double accuracy(std::span<const double> probabilities, std::span<const int> labels, double threshold) {
  assert(probabilities.size() == labels.size());
  if (probabilities.empty()) return kNaN;
  int64_t correct = 0;
  for (size_t i = 0; i < probabilities.size(); ++i) {
    correct += (probabilities[i] >= threshold) == (labels[i] == 1);
  }
  return static_cast<double>(correct) / static_cast<double>(probabilities.size());
}

BinaryMetrics binary_metrics(std::span<const double> probabilities, std::span<const int> labels) {
  BinaryMetrics m;
  const Counts c = count(labels);
  m.n_fake = c.n_fake;
  m.n_real = c.n_real;
  m.auc = roc_auc(probabilities, labels);
  m.ap = average_precision(probabilities, labels);
  m.eer = equal_error_rate(probabilities, labels, &m.eer_threshold);
  m.log_loss = log_loss(probabilities, labels);
  m.accuracy = accuracy(probabilities, labels);
  return m;
}

}  // namespace unmask::learn
