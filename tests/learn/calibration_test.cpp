// Platt scaling and isotonic regression on synthetic, deliberately miscalibrated scores.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "learn/learn.h"

namespace unmask::learn {
namespace {

struct Synthetic {
  std::vector<double> scores;
  std::vector<int> labels;
};

// Labels drawn with P(fake | s) = truth(s); scores uniform in [lo, hi].
template <typename Truth>
Synthetic make_set(int n, uint32_t seed, double lo, double hi, Truth truth) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> score(lo, hi), coin(0, 1);
  Synthetic set;
  for (int i = 0; i < n; ++i) {
    const double s = score(rng);
    set.scores.push_back(s);
    set.labels.push_back(coin(rng) < truth(s) ? 1 : 0);
  }
  return set;
}

double sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

// Expected calibration error: the item-weighted mean gap between mean prediction and observed
// fake rate over 10 equal-width probability bins.
template <typename Calibrated>
double calibration_error(const Synthetic& set, Calibrated calibrated) {
  double sum_p[10] = {}, sum_y[10] = {};
  for (size_t i = 0; i < set.scores.size(); ++i) {
    const double p = calibrated(set.scores[i]);
    const int bin = std::min(9, static_cast<int>(p * 10));
    sum_p[bin] += p;
    sum_y[bin] += set.labels[i];
  }
  double error = 0;
  for (int b = 0; b < 10; ++b) error += std::abs(sum_p[b] - sum_y[b]);
  return error / static_cast<double>(set.scores.size());
}

TEST(Platt, RecoversTheTrueSigmoidAndCalibrates) {
  auto truth = [](double s) { return sigmoid(3 * s - 1); };  // the raw sigmoid(s) is overconfident-wrong
  const Synthetic train = make_set(20000, 1, -3, 3, truth);
  const Synthetic test = make_set(20000, 2, -3, 3, truth);
  PlattScaling platt;
  ASSERT_TRUE(platt.fit(train.scores, train.labels).is_ok());
  EXPECT_NEAR(platt.a(), -3.0, 0.2);
  EXPECT_NEAR(platt.b(), 1.0, 0.1);

  std::vector<double> raw, calibrated;
  for (double s : test.scores) {
    raw.push_back(sigmoid(s));
    calibrated.push_back(platt.apply(s));
  }
  EXPECT_LT(log_loss(calibrated, test.labels), log_loss(raw, test.labels) - 0.05);
  EXPECT_LT(calibration_error(test, [&](double s) { return platt.apply(s); }), 0.015);
  EXPECT_GT(calibration_error(test, [](double s) { return sigmoid(s); }), 0.06);  // the check can fail

  auto parsed = PlattScaling::parse(platt.serialize());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->a(), platt.a());
  EXPECT_EQ(parsed->b(), platt.b());
  EXPECT_EQ(PlattScaling::parse("platt 1").status().code(), StatusCode::kInput);
}

TEST(Platt, StaysFiniteOnSeparableDataAndNeedsBothClasses) {
  const std::vector<double> s = {-2, -1, 1, 2};
  const std::vector<int> y = {0, 0, 1, 1};
  PlattScaling platt;
  ASSERT_TRUE(platt.fit(s, y).is_ok());
  EXPECT_TRUE(std::isfinite(platt.a()) && std::isfinite(platt.b()));
  EXPECT_GT(platt.apply(2), 0.5);
  EXPECT_LT(platt.apply(-2), 0.5);
  // Platt's smoothed targets (3/4 and 1/4 here) keep it from claiming certainty.
  EXPECT_LT(platt.apply(2), 0.9);
  EXPECT_GT(platt.apply(-2), 0.1);
  const std::vector<int> one_class = {1, 1, 1, 1};
  EXPECT_EQ(platt.fit(s, one_class).code(), StatusCode::kInput);
}

TEST(Isotonic, PoolsViolatorsAndTies) {
  IsotonicRegression iso;
  const std::vector<double> s = {1, 2, 3, 4};
  const std::vector<int> y = {1, 0, 1, 1};
  ASSERT_TRUE(iso.fit(s, y).is_ok());
  EXPECT_EQ(iso.xs(), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(iso.ys(), (std::vector<double>{0.5, 0.5, 1, 1}));
  EXPECT_DOUBLE_EQ(iso.apply(2.5), 0.75);
  EXPECT_DOUBLE_EQ(iso.apply(-10), 0.5);
  EXPECT_DOUBLE_EQ(iso.apply(10), 1.0);

  const std::vector<double> tied = {1, 1, 2};
  const std::vector<int> ty = {0, 1, 1};
  ASSERT_TRUE(iso.fit(tied, ty).is_ok());
  EXPECT_EQ(iso.ys(), (std::vector<double>{0.5, 1}));
}

TEST(Isotonic, CalibratesANonSigmoidRelation) {
  auto truth = [](double s) { return s * s; };  // Platt's family cannot express this exactly
  const Synthetic train = make_set(20000, 3, 0, 1, truth);
  const Synthetic test = make_set(20000, 4, 0, 1, truth);
  IsotonicRegression iso;
  ASSERT_TRUE(iso.fit(train.scores, train.labels).is_ok());
  EXPECT_NEAR(iso.apply(0.5), 0.25, 0.05);
  EXPECT_NEAR(iso.apply(0.9), 0.81, 0.05);
  double previous = -1;
  for (double s = 0; s <= 1; s += 0.01) {
    EXPECT_GE(iso.apply(s), previous);
    previous = iso.apply(s);
  }
  EXPECT_LT(calibration_error(test, [&](double s) { return iso.apply(s); }), 0.015);
  EXPECT_GT(calibration_error(test, [](double s) { return s; }), 0.1);  // raw scores are miscalibrated

  auto parsed = IsotonicRegression::parse(iso.serialize());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->xs(), iso.xs());
  EXPECT_EQ(parsed->ys(), iso.ys());
  EXPECT_EQ(IsotonicRegression::parse("isotonic 2 0 0.1 1").status().code(), StatusCode::kInput);
  EXPECT_EQ(IsotonicRegression::parse("isotonic 2 0 0.5 1 0.4").status().code(), StatusCode::kInput);
}

}  // namespace
}  // namespace unmask::learn
