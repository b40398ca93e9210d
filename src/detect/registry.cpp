// The detector registry: one table of every detector unmask has, how to load it, and where the
// weights live.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>

#include "detect/detector.h"
#include "detect/registry_table.h"

namespace unmask::detect {
namespace fs = std::filesystem;

std::vector<DetectorInfo> DetectorSet::infos() const {
  std::vector<DetectorInfo> out;
  for (const auto& d : crop) out.push_back(d->info());
  for (const auto& d : track) out.push_back(d->info());
  for (const auto& d : audio) out.push_back(d->info());
  return out;
}

std::vector<std::string> detector_names() {
  std::vector<std::string> names;
  for (const RegistryEntry& entry : registry_table()) names.push_back(entry.name);
  std::sort(names.begin(), names.end());
  return names;
}

Result<DetectorSet> load_detectors(const std::string& models_dir, const std::vector<std::string>& names) {
  const auto& table = registry_table();
  for (const std::string& name : names) {
    bool known = std::any_of(table.begin(), table.end(), [&](const RegistryEntry& e) { return e.name == name; });
    if (known) continue;
    std::string list;
    for (const std::string& n : detector_names()) list += (list.empty() ? "" : ", ") + n;
    return Status::usage("detector " + name, "unknown (known: " + list + ")");
  }
  DetectorSet set;
  for (const RegistryEntry& entry : table) {
    if (!names.empty() && std::find(names.begin(), names.end(), entry.name) == names.end()) continue;
    if (names.empty() && entry.default_only_if_present) {
      std::error_code ec;
      if (!fs::exists(fs::path(models_dir) / (entry.name + ".unm"), ec)) continue;
    }
    UNMASK_RETURN_IF_ERROR(entry.load(models_dir, set));
  }
  return set;
}

std::string default_models_dir() {
  if (const char* env = std::getenv("UNMASK_MODELS"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path candidate = exe.parent_path().parent_path() / "models";
    if (fs::is_directory(candidate, ec)) return candidate.string();
  }
  return (fs::path(UNMASK_SOURCE_DIR) / "models").string();
}

namespace {

// Mean of the middle half of `logits` (sorted in place): the lowest and highest quarters dropped;
// under 4 values, the mean of all.
double inter_quartile_mean(std::vector<double>& logits) {
  std::sort(logits.begin(), logits.end());
  const size_t n = logits.size();
  const size_t begin = n / 4, end = n - n / 4;
  double sum = 0;
  for (size_t i = begin; i < end; ++i) sum += logits[i];
  return sum / static_cast<double>(end - begin);
}

}  // namespace

double aggregate_track(std::span<const double> frame_probabilities, TrackAggregate how) {
  std::vector<double> logits;
  logits.reserve(frame_probabilities.size());
  for (double p : frame_probabilities) {
    if (!std::isfinite(p)) continue;  // a crop the detector did not judge
    double q = std::clamp(p, 1e-6, 1.0 - 1e-6);
    logits.push_back(std::log(q / (1.0 - q)));
  }
  if (logits.empty()) return 0.5;
  const size_t n = logits.size();
  double mean = 0;
  if (how == TrackAggregate::kTopQuarter) {
    std::sort(logits.begin(), logits.end(), std::greater<>());
    const size_t top = std::max<size_t>(1, n / 4);
    for (size_t i = 0; i < top; ++i) mean += logits[i];
    mean /= static_cast<double>(top);
  } else if (how == TrackAggregate::kInterQuartileMean) {
    mean = inter_quartile_mean(logits);
  } else {  // kWindowedInterQuartileMean
    const size_t run = std::max<size_t>(4, n / 4);
    if (n <= run) {
      mean = inter_quartile_mean(logits);
    } else {
      mean = -std::numeric_limits<double>::infinity();
      std::vector<double> window;
      for (size_t i = 0; i + run <= n; ++i) {
        window.assign(logits.begin() + static_cast<std::ptrdiff_t>(i), logits.begin() + static_cast<std::ptrdiff_t>(i + run));
        mean = std::max(mean, inter_quartile_mean(window));
      }
    }
  }
  return 1.0 / (1.0 + std::exp(-mean));
}

}  // namespace unmask::detect
