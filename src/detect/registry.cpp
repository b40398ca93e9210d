// The detector registry: one table of every detector unmask has, how to load it, and where the
// weights live.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>

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

double aggregate_track(std::span<const double> frame_probabilities, TrackAggregate how) {
  std::vector<double> logits;
  logits.reserve(frame_probabilities.size());
  for (double p : frame_probabilities) {
    if (!std::isfinite(p)) continue;  // a crop the detector did not judge
    double q = std::clamp(p, 1e-6, 1.0 - 1e-6);
    logits.push_back(std::log(q / (1.0 - q)));
  }
  if (logits.empty()) return 0.5;
  std::sort(logits.begin(), logits.end());
  const size_t n = logits.size();
  size_t begin = 0, end = n;
  if (how == TrackAggregate::kTopQuarter) {
    begin = n - std::max<size_t>(1, n / 4);
  } else {
    begin = n / 4;
    end = n - n / 4;
  }
  double sum = 0;
  for (size_t i = begin; i < end; ++i) sum += logits[i];
  const double mean = sum / static_cast<double>(end - begin);
  return 1.0 / (1.0 + std::exp(-mean));
}

}  // namespace unmask::detect
