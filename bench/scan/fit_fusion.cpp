// fit_fusion: fits the learned fusion (models/fusion.json) on per-video detector scores dumped by
// `bench_scan --only-accuracy --dump SCORES.csv`, and measures it honestly.
//
//   1. Leave-one-source-out: for every source (manifest column source_repo), fit on the videos of
//      all other sources and score that source's videos. The out-of-fold scores are pooled and
//      measured overall and per source (AUC, AP, EER, log loss, accuracy), next to the max rule
//      on the same evidence. These are the numbers to quote: no video is scored by weights that
//      saw its source.
//   2. The shipped model: fitted on every video (its in-sample numbers are printed as such).
//
// The penalty (--l2, default 1) and the logit cap (--clip, default 4) are fixed before looking at
// any result; the fit is deterministic (Newton's method), there is no seed.
//
// Usage: fit_fusion --scores SCORES.csv [--models DIR: refuse scores made with other detector models]
//                   [--out models/fusion.json] [--card models/fusion.card.json]
//                   [--l2 1] [--clip 4] [--no-presence] [--non-negative] [--only max|a,b]
//                   [--command "how it was run"]
// Without --out it only measures.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "learn/learn.h"
#include "scan/scan.h"

namespace {

using namespace unmask;

struct Video {
  std::string path, source;
  int label = 0;
  std::vector<scan::DetectorScore> evidence;
};

std::string metric(double v) {
  if (std::isnan(v)) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

double max_rule(const Video& v) {
  double s = 0.5;  // nothing judged: not_applicable's score
  bool any = false;
  for (const auto& e : v.evidence) {
    s = any ? std::max(s, e.score) : e.score;
    any = true;
  }
  return s;
}

nlohmann::ordered_json metrics_json(const learn::BinaryMetrics& m) {
  auto num = [](double v) { return std::isnan(v) ? nlohmann::ordered_json() : nlohmann::ordered_json(std::round(v * 1e4) / 1e4); };
  return {{"n_real", m.n_real}, {"n_fake", m.n_fake}, {"auc", num(m.auc)}, {"ap", num(m.ap)},
          {"eer", num(m.eer)},  {"log_loss", num(m.log_loss)}, {"accuracy", num(m.accuracy)}};
}

void row(const std::string& group, const std::string& scorer, const learn::BinaryMetrics& m) {
  std::printf("| %s | %s | %lld | %lld | %s | %s | %s | %s | %s |\n", group.c_str(), scorer.c_str(), static_cast<long long>(m.n_real),
              static_cast<long long>(m.n_fake), metric(m.auc).c_str(), metric(m.ap).c_str(), metric(m.eer).c_str(),
              metric(m.log_loss).c_str(), metric(m.accuracy).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string scores_path, out_path, card_path, command, models_dir;
  double l2 = 1.0, clip = 4.0;
  scan::FusionFitOptions fit;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--scores" && i + 1 < argc) scores_path = argv[++i];
    else if (a == "--out" && i + 1 < argc) out_path = argv[++i];
    else if (a == "--card" && i + 1 < argc) card_path = argv[++i];
    else if (a == "--models" && i + 1 < argc) models_dir = argv[++i];
    else if (a == "--l2" && i + 1 < argc) l2 = std::atof(argv[++i]);
    else if (a == "--clip" && i + 1 < argc) clip = std::atof(argv[++i]);
    else if (a == "--command" && i + 1 < argc) command = argv[++i];
    else if (a == "--no-presence") fit.presence = false;
    else if (a == "--non-negative") fit.non_negative = true;
    else if (a == "--only" && i + 1 < argc) {
      std::istringstream names(argv[++i]);
      std::string name;
      while (std::getline(names, name, ',')) fit.only.push_back(name);
    }
    else {
      std::fprintf(stderr, "usage: fit_fusion --scores SCORES.csv [--out fusion.json] [--card fusion.card.json] [--l2 X] [--clip X] "
                           "[--no-presence] [--non-negative] [--only max|a,b] [--models DIR] [--command TEXT]\n");
      return 2;
    }
  }
  if (scores_path.empty() || !(l2 > 0) || !(clip > 0)) {
    std::fprintf(stderr, "fit_fusion: --scores is required; --l2 and --clip must be positive\n");
    return 2;
  }
  std::ifstream in(scores_path);
  if (!in) {
    std::fprintf(stderr, "fit_fusion: cannot read %s\n", scores_path.c_str());
    return 3;
  }
  std::string first;
  std::getline(in, first);
  const std::string tag = "# detectors:";
  if (first.rfind(tag, 0) != 0) {
    std::fprintf(stderr, "fit_fusion: %s: first line must be '%s name=sha256 ...' (bench_scan --dump)\n", scores_path.c_str(), tag.c_str());
    return 3;
  }
  std::vector<scan::FusionWeight> features;
  {
    std::istringstream ss(first.substr(tag.size()));
    std::string kv;
    while (ss >> kv) {
      const auto eq = kv.find('=');
      features.push_back({kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1), 0, 0});
    }
  }
  if (!models_dir.empty()) {
    // The scores must come from the detector models there now (as the detectors name them).
    auto loaded = scan::load_available_detectors(models_dir, {});
    if (!loaded.ok()) {
      std::fprintf(stderr, "fit_fusion: %s\n", loaded.status().message().c_str());
      return 4;
    }
    scan::FusionModel check;
    check.weights = features;
    const std::string why = scan::fusion_model_mismatch(check, loaded->detectors->infos());
    if (!why.empty()) {
      std::fprintf(stderr, "fit_fusion: %s was not made with the detector models in %s: %s\n", scores_path.c_str(),
                   models_dir.c_str(), why.c_str());
      return 4;
    }
  }
  features.push_back({"lipsync", "", 0, 0});  // computed from landmarks and audio, no weights file
  features.push_back({scan::kFusionMaxFeature, "", 0, 0});  // the max rule's score
  std::stringstream rest;
  rest << in.rdbuf();
  auto items = learn::parse_manifest(rest.str(), scores_path, "/");
  if (!items.ok()) {
    std::fprintf(stderr, "fit_fusion: %s\n", items.status().message().c_str());
    return 3;
  }
  std::vector<Video> videos;
  std::set<std::string> sources;
  for (const auto& it : *items) {
    Video v;
    v.path = it.path;
    v.label = it.label;
    v.source = it.columns.count("source") ? it.columns.at("source") : "?";
    std::istringstream ev(it.columns.count("evidence") ? it.columns.at("evidence") : "");
    std::string kv;
    while (std::getline(ev, kv, ';')) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos) continue;
      v.evidence.push_back({kv.substr(0, eq), std::atof(kv.c_str() + eq + 1)});
    }
    sources.insert(v.source);
    videos.push_back(std::move(v));
  }
  if (videos.empty()) {
    std::fprintf(stderr, "fit_fusion: %s lists no videos\n", scores_path.c_str());
    return 3;
  }
  auto fit_on = [&](auto keep) {
    std::vector<std::vector<scan::DetectorScore>> ev;
    std::vector<int> labels;
    for (const Video& v : videos) {
      if (!keep(v)) continue;
      ev.push_back(v.evidence);
      labels.push_back(v.label);
    }
    return scan::fit_fusion_model(features, ev, labels, l2, clip, fit);
  };

  // 1. Leave one source out.
  std::vector<double> oof(videos.size(), 0.5);
  for (const std::string& held : sources) {
    const scan::FusionModel m = fit_on([&](const Video& v) { return v.source != held; });
    for (size_t i = 0; i < videos.size(); ++i) {
      if (videos[i].source == held) oof[i] = scan::fusion_model_score(m, videos[i].evidence);
    }
  }
  const scan::FusionModel full = fit_on([](const Video&) { return true; });
  std::vector<double> in_sample, max_scores;
  std::vector<int> labels;
  for (const Video& v : videos) {
    in_sample.push_back(scan::fusion_model_score(full, v.evidence));
    max_scores.push_back(max_rule(v));
    labels.push_back(v.label);
  }
  std::string only;
  for (const auto& o : fit.only) only += (only.empty() ? "" : ",") + o;
  std::printf("# fit_fusion on %s: %zu videos, %zu sources, l2 %.3g, clip %.3g, presence flags %s, logit weights %s, features %s\n\n",
              scores_path.c_str(), videos.size(), sources.size(), l2, clip, fit.presence ? "fitted" : "off",
              fit.non_negative ? ">= 0" : "free", only.empty() ? "all" : only.c_str());
  std::printf("| group | scorer | n_real | n_fake | AUC | AP | EER | log loss | accuracy |\n|---|---|---|---|---|---|---|---|---|\n");
  const auto m_oof = learn::binary_metrics(oof, labels);
  const auto m_max = learn::binary_metrics(max_scores, labels);
  const auto m_in = learn::binary_metrics(in_sample, labels);
  row("**all videos**", "learned, leave-one-source-out", m_oof);
  row("**all videos**", "max rule", m_max);
  row("**all videos**", "learned, in-sample (not a held-out number)", m_in);
  nlohmann::ordered_json per_source = nlohmann::ordered_json::object();
  for (const std::string& src : sources) {
    std::vector<double> s, sm;
    std::vector<int> l;
    for (size_t i = 0; i < videos.size(); ++i) {
      if (videos[i].source != src) continue;
      s.push_back(oof[i]);
      sm.push_back(max_scores[i]);
      l.push_back(labels[i]);
    }
    const auto a = learn::binary_metrics(s, l);
    const auto b = learn::binary_metrics(sm, l);
    row(src, "learned, leave-one-source-out", a);
    row(src, "max rule", b);
    per_source[src] = {{"leave_one_source_out", metrics_json(a)}, {"max_rule", metrics_json(b)}};
  }
  std::printf("\nweights fitted on all %zu videos: intercept %.3f\n\n| detector | model sha256 | w_logit | w_present |\n|---|---|---|---|\n",
              videos.size(), full.intercept);
  for (const auto& w : full.weights) {
    std::printf("| %s | %s | %.3f | %.3f |\n", w.detector.c_str(), w.model_sha256.empty() ? "-" : w.model_sha256.substr(0, 12).c_str(),
                w.w_logit, w.w_present);
  }
  std::fflush(stdout);

  if (out_path.empty()) return 0;
  const std::string json = scan::fusion_model_json(full);
  {
    std::ofstream out(out_path, std::ios::binary);
    out << json;
    if (!out) {
      std::fprintf(stderr, "fit_fusion: cannot write %s\n", out_path.c_str());
      return 3;
    }
  }
  if (!card_path.empty()) {
    int64_t n_real = 0, n_fake = 0;
    for (int y : labels) (y ? n_fake : n_real)++;
    nlohmann::ordered_json card;
    card["name"] = "fusion";
    card["model"] = out_path;
    card["sha256"] = sha256_hex(json);
    card["what"] = "L2-penalised logistic regression over per-detector video-level evidence (clipped logit + judged flag)";
    card["data"] = {{"scores", scores_path},
                    {"videos", videos.size()},
                    {"n_real", n_real},
                    {"n_fake", n_fake},
                    {"sources", std::vector<std::string>(sources.begin(), sources.end())},
                    {"note", "per-video scores of every video of /work/shared/data/MANIFEST.csv through scan (bench_scan --dump)"}};
    nlohmann::ordered_json dets = nlohmann::ordered_json::array();
    for (const auto& w : full.weights) dets.push_back({{"name", w.detector}, {"model_sha256", w.model_sha256}});
    card["detectors"] = dets;
    card["seed"] = nullptr;
    card["seed_note"] = "deterministic fit (Newton's method), no randomness";
    card["hyperparameters"] = {{"l2", l2}, {"clip", clip}, {"presence_flags", fit.presence}, {"non_negative_logit_weights", fit.non_negative},
                               {"only", fit.only}};
    card["command"] = command.empty() ? "scripts/fit-fusion.sh" : command;
    card["metrics"] = {{"leave_one_source_out", metrics_json(m_oof)},
                       {"max_rule_same_videos", metrics_json(m_max)},
                       {"in_sample_not_held_out", metrics_json(m_in)},
                       {"per_source", per_source}};
    std::ofstream c(card_path, std::ios::binary);
    c << card.dump(2) << "\n";
    if (!c) {
      std::fprintf(stderr, "fit_fusion: cannot write %s\n", card_path.c_str());
      return 3;
    }
  }
  std::printf("\nwrote %s%s%s\n", out_path.c_str(), card_path.empty() ? "" : " and ", card_path.c_str());
  return 0;
}
