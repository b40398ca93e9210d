// Metrics against values computed by hand, and the ROC SVG.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "learn/learn.h"

namespace unmask::learn {
namespace {

// Fakes score {0.4, 0.8, 0.9}, reals {0.1, 0.4, 0.3}: one tie (0.4) across the classes.
const std::vector<double> kScores = {0.1, 0.4, 0.4, 0.8, 0.3, 0.9};
const std::vector<int> kLabels = {0, 0, 1, 1, 0, 1};

TEST(Metrics, AucCountsTiesAsHalf) {
  // Pairs (fake, real): 0.4 beats 0.1 and 0.3 and ties 0.4 (2.5); 0.8 and 0.9 beat all (3 + 3).
  EXPECT_NEAR(roc_auc(kScores, kLabels), 8.5 / 9.0, 1e-12);
  const std::vector<double> perfect = {0.1, 0.2, 0.8, 0.9};
  const std::vector<int> labels = {0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(roc_auc(perfect, labels), 1.0);
  const std::vector<int> inverted = {1, 1, 0, 0};
  EXPECT_DOUBLE_EQ(roc_auc(perfect, inverted), 0.0);
  const std::vector<double> constant = {0.5, 0.5, 0.5, 0.5};
  EXPECT_DOUBLE_EQ(roc_auc(constant, labels), 0.5);
  const std::vector<int> one_class = {1, 1, 1, 1};
  EXPECT_TRUE(std::isnan(roc_auc(perfect, one_class)));
}

TEST(Metrics, AucIntervalByBootstrap) {
  // Perfectly separated classes stay separated in every resample.
  const std::vector<double> perfect = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
  const std::vector<int> labels = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
  const Interval p = roc_auc_interval(perfect, labels);
  EXPECT_DOUBLE_EQ(p.low, 1.0);
  EXPECT_DOUBLE_EQ(p.high, 1.0);
  // One class, or a class too small to resample: no interval.
  const Interval none = roc_auc_interval(perfect, std::vector<int>(10, 0));
  EXPECT_TRUE(std::isnan(none.low) && std::isnan(none.high));
  const std::vector<int> four_fakes = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
  EXPECT_TRUE(std::isnan(roc_auc_interval(perfect, four_fakes).low));

  // Overlapping classes: the interval holds the AUC, is the same on every call (seeded), and
  // narrows as the classes grow (about as 1 / sqrt(n)).
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 1.0);
  auto sample = [&](int n, std::vector<double>& s, std::vector<int>& l) {
    for (int i = 0; i < n; ++i) {
      s.push_back(noise(rng));
      l.push_back(0);
      s.push_back(noise(rng) + 1.0);
      l.push_back(1);
    }
  };
  std::vector<double> small_s, big_s;
  std::vector<int> small_l, big_l;
  sample(20, small_s, small_l);
  sample(500, big_s, big_l);
  const Interval small = roc_auc_interval(small_s, small_l);
  const Interval again = roc_auc_interval(small_s, small_l);
  EXPECT_EQ(small.low, again.low);
  EXPECT_EQ(small.high, again.high);
  const double auc = roc_auc(small_s, small_l);
  EXPECT_LT(small.low, auc);
  EXPECT_GT(small.high, auc);
  const Interval big = roc_auc_interval(big_s, big_l);
  EXPECT_LT(big.low, roc_auc(big_s, big_l));
  EXPECT_GT(big.high, roc_auc(big_s, big_l));
  EXPECT_LT(big.high - big.low, 0.4 * (small.high - small.low));
  // The true AUC of two unit normals a standard deviation apart is Phi(1 / sqrt 2) = 0.760.
  EXPECT_LT(big.low, 0.760);
  EXPECT_GT(big.high, 0.760);
  // A narrower level gives a narrower interval inside it.
  const Interval half = roc_auc_interval(small_s, small_l, 0.5);
  EXPECT_GE(half.low, small.low);
  EXPECT_LE(half.high, small.high);
  EXPECT_LT(half.high - half.low, small.high - small.low);
}

TEST(Metrics, RocCurveHasOnePointPerDistinctScore) {
  const auto roc = roc_curve(kScores, kLabels);
  ASSERT_EQ(roc.size(), 6u);  // (0,0) + 5 distinct scores
  const double want[][3] = {{0, 0, INFINITY}, {0, 1 / 3.0, 0.9}, {0, 2 / 3.0, 0.8},
                            {1 / 3.0, 1, 0.4}, {2 / 3.0, 1, 0.3}, {1, 1, 0.1}};
  for (size_t i = 0; i < roc.size(); ++i) {
    EXPECT_NEAR(roc[i].fpr, want[i][0], 1e-12) << i;
    EXPECT_NEAR(roc[i].tpr, want[i][1], 1e-12) << i;
    EXPECT_EQ(roc[i].threshold, want[i][2]) << i;
  }
}

TEST(Metrics, AucEqualsTheTrapezoidAreaUnderTheCurve) {
  std::mt19937 rng(3);
  std::vector<double> scores;
  std::vector<int> labels;
  for (int i = 0; i < 500; ++i) {
    labels.push_back(static_cast<int>(rng() % 2));
    scores.push_back(std::round((labels.back() * 0.7 + (rng() % 1000) / 1000.0) * 10) / 10);  // many ties
  }
  const auto roc = roc_curve(scores, labels);
  double area = 0;
  for (size_t i = 1; i < roc.size(); ++i) area += (roc[i].fpr - roc[i - 1].fpr) * (roc[i].tpr + roc[i - 1].tpr) / 2;
  EXPECT_NEAR(roc_auc(scores, labels), area, 1e-12);
}

TEST(Metrics, AveragePrecision) {
  // Thresholds 0.9: R 1/3 P 1; 0.8: R 2/3 P 1; 0.4: R 1 P 3/4 -> 1/3 + 1/3 + 1/3 * 3/4.
  EXPECT_NEAR(average_precision(kScores, kLabels), 1 / 3.0 + 1 / 3.0 + 0.25, 1e-12);
  const std::vector<double> s = {0.9, 0.8, 0.7};
  const std::vector<int> y = {0, 1, 1};  // R 0 P 0; R 1/2 P 1/2; R 1 P 2/3
  EXPECT_NEAR(average_precision(s, y), 0.5 * 0.5 + 0.5 * 2 / 3.0, 1e-12);
}

TEST(Metrics, EqualErrorRateInterpolatesTheCrossing) {
  // fpr - fnr goes -1/3 at (0, 2/3) to +1/3 at (1/3, 1): halfway, fpr = fnr = 1/6, threshold 0.6.
  double threshold = 0;
  EXPECT_NEAR(equal_error_rate(kScores, kLabels, &threshold), 1 / 6.0, 1e-12);
  EXPECT_NEAR(threshold, 0.6, 1e-12);
  const std::vector<double> perfect = {0.1, 0.2, 0.8, 0.9};
  const std::vector<int> labels = {0, 0, 1, 1};
  EXPECT_NEAR(equal_error_rate(perfect, labels), 0.0, 1e-12);
}

TEST(Metrics, LogLossClipsAndAccuracyUsesHalf) {
  const std::vector<double> p = {0.9, 0.2, 0.6};
  const std::vector<int> y = {1, 0, 0};
  EXPECT_NEAR(log_loss(p, y), -(std::log(0.9) + std::log(0.8) + std::log(0.4)) / 3, 1e-12);
  const std::vector<double> certain_wrong = {0.0, 1.0};
  const std::vector<int> y2 = {1, 0};
  EXPECT_NEAR(log_loss(certain_wrong, y2), -std::log(1e-15), 1e-3);  // 1 - 1e-15 is inexact
  EXPECT_NEAR(log_loss(certain_wrong, y2, 0.01), -std::log(0.01), 1e-12);
  EXPECT_NEAR(accuracy(p, y), 2 / 3.0, 1e-12);
  const std::vector<double> half = {0.5};
  const std::vector<int> fake = {1};
  EXPECT_DOUBLE_EQ(accuracy(half, fake), 1.0);  // 0.5 counts as fake
}

TEST(Metrics, BinaryMetricsBundlesThemAll) {
  const BinaryMetrics m = binary_metrics(kScores, kLabels);
  EXPECT_EQ(m.n_fake, 3);
  EXPECT_EQ(m.n_real, 3);
  EXPECT_NEAR(m.auc, 8.5 / 9, 1e-12);
  EXPECT_NEAR(m.ap, 11 / 12.0, 1e-12);
  EXPECT_NEAR(m.eer, 1 / 6.0, 1e-12);
  EXPECT_NEAR(m.eer_threshold, 0.6, 1e-12);
  EXPECT_NEAR(m.log_loss, log_loss(kScores, kLabels), 1e-15);
  EXPECT_NEAR(m.accuracy, 5 / 6.0, 1e-12);  // only the fake at 0.4 falls below 0.5
}

TEST(RocSvg, IsASelfContainedPlotWithLegendAndDiagonal) {
  const std::vector<RocSeries> series = {{"blend <v1> & co", roc_curve(kScores, kLabels), roc_auc(kScores, kLabels)},
                                         {"spectral", {{0, 0, 1}, {1, 1, 0}}, 0.5}};
  const std::string svg = roc_svg(series, {.title = "dev set"});
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("blend &lt;v1&gt; &amp; co (AUC 0.944)"), std::string::npos);
  EXPECT_NE(svg.find("spectral (AUC 0.500)"), std::string::npos);
  EXPECT_NE(svg.find("False positive rate"), std::string::npos);
  EXPECT_NE(svg.find("True positive rate"), std::string::npos);
  EXPECT_NE(svg.find("class=\"chance\""), std::string::npos);
  EXPECT_NE(svg.find("dev set"), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("href"), std::string::npos);
  // The first curve's polyline has one vertex per ROC point; (0, 2/3) sits at x=60, y=40+385/3.
  const size_t poly = svg.find("<polyline class=\"roc\"");
  ASSERT_NE(poly, std::string::npos);
  const size_t pts = svg.find("points=\"", poly) + 8;
  const std::string points = svg.substr(pts, svg.find('"', pts) - pts);
  EXPECT_EQ(std::count(points.begin(), points.end(), ','), 6);
  EXPECT_NE(points.find("60.00,168.33"), std::string::npos) << points;
}

}  // namespace
}  // namespace unmask::learn
