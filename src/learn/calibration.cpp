// Platt scaling and isotonic regression.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <sstream>

#include "learn/learn.h"

namespace unmask::learn {
namespace {

Status check_fit_input(std::string_view what, std::span<const double> scores, std::span<const int> labels) {
  if (scores.size() != labels.size()) return Status::input(what, "scores and labels differ in length");
  bool has_real = false, has_fake = false;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1) return Status::input(what, "labels must be 0 or 1");
    if (!std::isfinite(scores[i])) return Status::input(what, "scores must be finite");
    (labels[i] == 1 ? has_fake : has_real) = true;
  }
  if (!has_real || !has_fake) return Status::input(what, "needs both real and fake examples");
  return Status::ok();
}

// Round-trip text for a double (shortest representation that parses back exactly).
std::string exact(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

// Splits on whitespace.
std::vector<std::string_view> tokens(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

bool parse_double(std::string_view s, double& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(out);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Platt scaling (Newton's method with backtracking: Lin, Lin and Weng, "A note on Platt's
// probabilistic outputs for support vector machines", 2007).
// ---------------------------------------------------------------------------------------------

Status PlattScaling::fit(std::span<const double> scores, std::span<const int> labels) {
  UNMASK_RETURN_IF_ERROR(check_fit_input("platt scaling", scores, labels));
  double n_fake = 0, n_real = 0;
  for (int y : labels) (y == 1 ? n_fake : n_real) += 1;
  const double hi = (n_fake + 1) / (n_fake + 2), lo = 1 / (n_real + 2);
  std::vector<double> t(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) t[i] = labels[i] == 1 ? hi : lo;

  // Negative log-likelihood of p = 1 / (1 + exp(a s + b)), written to avoid overflow.
  auto objective = [&](double a, double b) {
    double f = 0;
    for (size_t i = 0; i < t.size(); ++i) {
      const double z = scores[i] * a + b;
      f += z >= 0 ? t[i] * z + std::log1p(std::exp(-z)) : (t[i] - 1) * z + std::log1p(std::exp(z));
    }
    return f;
  };
  double a = 0, b = std::log((n_real + 1) / (n_fake + 1));
  double f = objective(a, b);
  constexpr int kMaxIterations = 100;
  constexpr double kMinStep = 1e-10, kSigma = 1e-12, kTolerance = 1e-5;
  for (int it = 0; it < kMaxIterations; ++it) {
    double h11 = kSigma, h22 = kSigma, h21 = 0, g1 = 0, g2 = 0;
    for (size_t i = 0; i < t.size(); ++i) {
      const double z = scores[i] * a + b;
      double p, q;  // p = P(fake), q = 1 - p
      if (z >= 0) {
        p = std::exp(-z) / (1 + std::exp(-z));
        q = 1 / (1 + std::exp(-z));
      } else {
        p = 1 / (1 + std::exp(z));
        q = std::exp(z) / (1 + std::exp(z));
      }
      const double d2 = p * q;
      h11 += scores[i] * scores[i] * d2;
      h22 += d2;
      h21 += scores[i] * d2;
      const double d1 = t[i] - p;
      g1 += scores[i] * d1;
      g2 += d1;
    }
    if (std::abs(g1) < kTolerance && std::abs(g2) < kTolerance) break;
    const double det = h11 * h22 - h21 * h21;
    const double da = -(h22 * g1 - h21 * g2) / det;
    const double db = -(-h21 * g1 + h11 * g2) / det;
    const double gd = g1 * da + g2 * db;
    double step = 1;
    while (step >= kMinStep) {
      const double na = a + step * da, nb = b + step * db;
      const double nf = objective(na, nb);
      if (nf < f + 1e-4 * step * gd) {
        a = na;
        b = nb;
        f = nf;
        break;
      }
      step /= 2;
    }
    if (step < kMinStep) break;  // no further progress possible in double precision
  }
  a_ = a;
  b_ = b;
  return Status::ok();
}

double PlattScaling::apply(double score) const {
  const double z = a_ * score + b_;
  return z >= 0 ? std::exp(-z) / (1 + std::exp(-z)) : 1 / (1 + std::exp(z));
}

std::string PlattScaling::serialize() const { return "platt " + exact(a_) + " " + exact(b_); }

Result<PlattScaling> PlattScaling::parse(std::string_view text) {
  const auto t = tokens(text);
  PlattScaling p;
  if (t.size() != 3 || t[0] != "platt" || !parse_double(t[1], p.a_) || !parse_double(t[2], p.b_)) {
    return Status::input("platt scaling", "expected 'platt A B', got '" + std::string(text) + "'");
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Isotonic regression (pool adjacent violators, weighted by the number of tied scores).
// ---------------------------------------------------------------------------------------------

Status IsotonicRegression::fit(std::span<const double> scores, std::span<const int> labels) {
  UNMASK_RETURN_IF_ERROR(check_fit_input("isotonic regression", scores, labels));
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return scores[i] < scores[j]; });

  struct Block {
    double sum_y = 0, weight = 0, x_min = 0, x_max = 0;
    double mean() const { return sum_y / weight; }
  };
  std::vector<Block> blocks;
  for (size_t i = 0; i < order.size();) {
    Block tie{0, 0, scores[order[i]], scores[order[i]]};
    while (i < order.size() && scores[order[i]] == tie.x_min) {
      tie.sum_y += labels[order[i]];
      tie.weight += 1;
      ++i;
    }
    blocks.push_back(tie);
    // Merge backwards while the sequence of means decreases.
    while (blocks.size() >= 2 && blocks[blocks.size() - 2].mean() >= blocks.back().mean()) {
      Block last = blocks.back();
      blocks.pop_back();
      Block& prev = blocks.back();
      prev.sum_y += last.sum_y;
      prev.weight += last.weight;
      prev.x_max = last.x_max;
    }
  }
  xs_.clear();
  ys_.clear();
  for (const Block& b : blocks) {
    xs_.push_back(b.x_min);
    ys_.push_back(b.mean());
    if (b.x_max > b.x_min) {
      xs_.push_back(b.x_max);
      ys_.push_back(b.mean());
    }
  }
  return Status::ok();
}

double IsotonicRegression::apply(double score) const {
  if (xs_.empty()) return 0.5;
  if (score <= xs_.front()) return ys_.front();
  if (score >= xs_.back()) return ys_.back();
  const size_t hi = static_cast<size_t>(std::upper_bound(xs_.begin(), xs_.end(), score) - xs_.begin());
  const size_t lo = hi - 1;
  const double t = (score - xs_[lo]) / (xs_[hi] - xs_[lo]);
  return ys_[lo] + t * (ys_[hi] - ys_[lo]);
}

std::string IsotonicRegression::serialize() const {
  std::string out = "isotonic " + std::to_string(xs_.size());
  for (size_t i = 0; i < xs_.size(); ++i) out += " " + exact(xs_[i]) + " " + exact(ys_[i]);
  return out;
}

Result<IsotonicRegression> IsotonicRegression::parse(std::string_view text) {
  const auto t = tokens(text);
  auto fail = [&] {
    return Status::input("isotonic regression", "expected 'isotonic N x0 y0 ...', got '" +
                                                    std::string(text.substr(0, 80)) + "'");
  };
  double n = 0;
  if (t.size() < 2 || t[0] != "isotonic" || !parse_double(t[1], n) || n < 1 ||
      t.size() != 2 + 2 * static_cast<size_t>(n)) {
    return fail();
  }
  IsotonicRegression iso;
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    double x = 0, y = 0;
    if (!parse_double(t[2 + 2 * i], x) || !parse_double(t[3 + 2 * i], y)) return fail();
    if (y < 0 || y > 1 || (i > 0 && (x <= iso.xs_.back() || y < iso.ys_.back()))) return fail();
    iso.xs_.push_back(x);
    iso.ys_.push_back(y);
  }
  return iso;
}

}  // namespace unmask::learn
