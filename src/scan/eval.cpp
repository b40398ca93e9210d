// evaluate_manifest: scan every item of a manifest and measure the fused score and each
// detector against the labels.
#include <algorithm>
#include <map>

#include "learn/learn.h"
#include "scan/scan.h"

namespace unmask::scan {
namespace {

EvalMetrics metrics_of(const std::vector<double>& scores, const std::vector<int>& labels) {
  const learn::BinaryMetrics m = learn::binary_metrics(scores, labels);
  const learn::Interval auc = learn::roc_auc_interval(scores, labels);
  return {m.n_real, m.n_fake, m.auc, m.ap, m.eer, m.log_loss, m.accuracy, auc.low, auc.high};
}

}  // namespace

Result<EvalResult> evaluate_manifest(const std::string& manifest_path, const EvalOptions& options) {
  auto items = learn::read_manifest(manifest_path);
  if (!items.ok()) return items.status();
  if (items->empty()) return Status::input(manifest_path, "the manifest lists no items");

  ScanOptions scan = options.scan;
  std::vector<std::string> skipped;
  if (!scan.detector_set) {
    const std::string dir = scan.models_dir.empty() ? detect::default_models_dir() : scan.models_dir;
    auto loaded = load_available_detectors(dir, scan.detectors);
    if (!loaded.ok()) return loaded.status();
    scan.detector_set = loaded->detectors;
    scan.fusion = loaded->fusion;  // the same fusion as `unmask scan` with these models
  }
  if (!scan.face_models) {
    auto models = face::FaceModels::load();
    if (!models.ok()) return models.status();
    scan.face_models = *models;
  }
  scan.thumbnails = false;
  scan.progress = nullptr;

  EvalResult out;
  std::vector<double> fused_scores;
  std::vector<int> fused_labels;
  std::map<std::string, std::pair<std::vector<double>, std::vector<int>>> per_detector;
  for (size_t i = 0; i < items->size(); ++i) {
    const learn::ManifestItem& item = (*items)[i];
    if (options.progress) options.progress(static_cast<double>(i) / items->size(), item.path);
    EvalItem e;
    e.path = item.path;
    e.label = item.label;
    auto report = scan_file(item.path, scan);
    if (!report.ok()) {
      // Broken media is counted; anything else (a model or internal error) would fail every item.
      if (report.status().code() != StatusCode::kInput) return report.status();
      e.failed = true;
      e.error = report.status().message();
      ++out.n_failed;
      out.items.push_back(std::move(e));
      continue;
    }
    e.score = report->score;
    e.verdict = std::string(report::verdict_name(report->verdict));
    out.n_not_applicable += report->verdict == report::Verdict::kNotApplicable;
    fused_scores.push_back(e.score);
    fused_labels.push_back(e.label);
    for (const report::DetectorRun& d : report->detectors) {
      e.detectors.push_back({d.name, d.score});
      auto& [scores, labels] = per_detector[d.name];
      scores.push_back(d.score);
      labels.push_back(e.label);
    }
    out.items.push_back(std::move(e));
  }
  if (options.progress) options.progress(1.0, "done");
  out.fused = metrics_of(fused_scores, fused_labels);
  for (const auto& [name, data] : per_detector) out.per_detector.emplace_back(name, metrics_of(data.first, data.second));
  return out;
}

}  // namespace unmask::scan
