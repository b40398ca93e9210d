// unmask eval --manifest CSV [--json] [--roc OUT.svg] [--detectors a,b]: scan every item of a
// labelled manifest and measure the fused score and each detector (CONTRACT.md "eval --json").
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "core/json_text.h"
#include "learn/learn.h"
#include "scan/scan.h"

namespace unmask::cli {
namespace {

struct EvalCliOptions {
  std::string manifest;
  bool json = false;
  std::string roc;
  std::vector<std::string> detectors;  // empty: every detector installed
  std::string models_dir;
  int frames = scan::kDefaultFramesPerTrack;
  bool fast = false;
};

using Json = nlohmann::ordered_json;

// NaN (a metric that needs both classes) becomes null.
Json number(double v) { return std::isfinite(v) ? Json(std::round(v * 1e6) / 1e6) : Json(nullptr); }

Json metrics_json(const scan::EvalMetrics& m) {
  const Json interval = std::isfinite(m.auc_low) ? Json::array({number(m.auc_low), number(m.auc_high)}) : Json(nullptr);
  return {{"n_real", m.n_real},   {"n_fake", m.n_fake}, {"auc", number(m.auc)},
          {"auc_ci95", interval}, {"ap", number(m.ap)}, {"eer", number(m.eer)},
          {"log_loss", number(m.log_loss)}, {"accuracy", number(m.accuracy)}};
}

Json to_json(const scan::EvalResult& r) {
  Json j = metrics_json(r.fused);
  j["n_failed"] = r.n_failed;
  j["n_not_applicable"] = r.n_not_applicable;
  Json items = Json::array();
  for (const scan::EvalItem& it : r.items) {
    Json item = {{"path", it.path}, {"label", it.label == 1 ? "fake" : "real"}};
    if (it.failed) {
      item["score"] = nullptr;
      item["error"] = it.error;
    } else {
      item["score"] = number(it.score);
      item["verdict"] = it.verdict;
      Json per = Json::object();
      for (const auto& d : it.detectors) per[d.detector] = number(d.score);
      item["detectors"] = per;
    }
    items.push_back(item);
  }
  j["per_item"] = items;
  Json per_detector = Json::object();
  for (const auto& [name, m] : r.per_detector) per_detector[name] = metrics_json(m);
  j["detectors"] = per_detector;
  return j;
}

std::string fmt(double v) {
  if (!std::isfinite(v)) return "  -  ";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string to_text(const scan::EvalResult& r) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-12s %6s %6s %6s %13s %6s %6s %8s %8s\n", "", "n_real", "n_fake", "AUC",
                "AUC 95% int.", "AP", "EER", "logloss", "accuracy");
  out += line;
  auto add = [&](const std::string& name, const scan::EvalMetrics& m) {
    const std::string interval =
        std::isfinite(m.auc_low) ? fmt(m.auc_low) + "-" + fmt(m.auc_high) : std::string("-");
    std::snprintf(line, sizeof line, "%-12s %6lld %6lld %6s %13s %6s %6s %8s %8s\n", name.c_str(),
                  static_cast<long long>(m.n_real), static_cast<long long>(m.n_fake), fmt(m.auc).c_str(),
                  interval.c_str(), fmt(m.ap).c_str(), fmt(m.eer).c_str(), fmt(m.log_loss).c_str(),
                  fmt(m.accuracy).c_str());
    out += line;
  };
  add("fused", r.fused);
  for (const auto& [name, m] : r.per_detector) add(name, m);
  out += "(AUC 95% int.: a bootstrap interval of the AUC; '-' when a class has fewer than " +
         std::to_string(learn::kMinPerClassForInterval) + " items)\n";
  out += "items " + std::to_string(r.items.size()) + ", failed " + std::to_string(r.n_failed) + ", not applicable " +
         std::to_string(r.n_not_applicable);
  for (const scan::EvalItem& it : r.items) {
    // Errors name their file first ("<what>: <why>"); the path is added only when it does not.
    if (it.failed) out += "\nfailed: " + (it.error.rfind(it.path, 0) == 0 ? it.error : it.path + ": " + it.error);
  }
  return out;
}

std::string roc_document(const scan::EvalResult& r) {
  std::vector<learn::RocSeries> series;
  auto add = [&](const std::string& name, const std::string& detector) {
    std::vector<double> scores;
    std::vector<int> labels;
    for (const scan::EvalItem& it : r.items) {
      if (it.failed) continue;
      if (detector.empty()) {
        scores.push_back(it.score);
        labels.push_back(it.label);
        continue;
      }
      for (const auto& d : it.detectors) {
        if (d.detector != detector) continue;
        scores.push_back(d.score);
        labels.push_back(it.label);
      }
    }
    const double auc = learn::roc_auc(scores, labels);
    if (!std::isfinite(auc)) return;  // one class only: no curve
    series.push_back({name, learn::roc_curve(scores, labels), auc});
  };
  add("fused", "");
  for (const auto& [name, m] : r.per_detector) add(name, name);
  learn::RocSvgOptions o;
  o.title = "ROC: " + std::to_string(r.fused.n_fake) + " fake, " + std::to_string(r.fused.n_real) + " real";
  return learn::roc_svg(series, o);
}

Command make_eval(CLI::App& app) {
  auto o = std::make_shared<EvalCliOptions>();
  CLI::App* sub = app.add_subcommand("eval", "Scan a labelled manifest and measure AUC, AP, EER, log loss, accuracy");
  sub->add_option("--manifest", o->manifest, "CSV with columns path,label (real|fake); more columns allowed")->required();
  sub->add_flag("--json", o->json, "Print JSON (CONTRACT.md) instead of a table");
  sub->add_option("--roc", o->roc, "Write the ROC curves (fused and per detector) as SVG");
  add_detectors_option(sub, &o->detectors);
  sub->add_option("--models", o->models_dir, "Folder of detector models (default: $UNMASK_MODELS or models/)");
  sub->add_option("--frames", o->frames, "CNN frames per face track")->capture_default_str()->check(CLI::Range(1, 100000));
  sub->add_flag("--fast", o->fast, "Faster, less thorough scans");
  return {sub, [o] {
            scan::EvalOptions eo;
            eo.scan.models_dir = o->models_dir;
            eo.scan.detectors = o->detectors;
            eo.scan.frames_per_track = o->frames;
            eo.scan.fast = o->fast;
            if (!o->roc.empty()) {  // before scanning the whole manifest, not after
              Status s = check_output_file(o->roc);
              if (!s.is_ok()) return fail(s);
            }
            TerminalProgress progress(global_options().quiet);
            eo.progress = [&](double f, std::string_view) { progress.update(f, "eval"); };
            auto r = scan::evaluate_manifest(o->manifest, eo);
            progress.finish();
            if (!r.ok()) return fail(r.status());
            if (!o->roc.empty()) {
              Status s = write_file_atomic(o->roc, roc_document(*r));
              if (!s.is_ok()) return fail(s);
            }
            print_line(o->json ? json_text(to_json(*r), 2) : to_text(*r));
            return 0;
          }};
}

}  // namespace
}  // namespace unmask::cli

UNMASK_REGISTER_COMMAND(unmask::cli::make_eval);
