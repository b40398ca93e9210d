// fit_fusion: fits the learned fusion (models/fusion.json) on per-video detector scores dumped by
// `bench_scan --only-accuracy --dump SCORES.csv`, and measures it honestly.
//
// With --test TEST.csv (what scripts/fit-fusion.sh does): the model is fitted on --scores only
// (project-made fakes and the real videos of the training sources) and TEST.csv (the manifest's
// videos) is only scored: its table, overall and per source next to the max rule on the same
// videos, is untouched by the fit. --balanced shifts the intercept so that the model assumes a
// 50 % base rate whatever the training set's (prior correction), and the test table also gives
// the log loss with the intercept moved to the test set's own base rate. --ship-if-better writes
// --out only when the learned rule beats the max rule on the test set on both AUC and log loss
// (at the 50 % prior the verdict uses), and otherwise removes a stale --out and --card.
//
// Without --test:
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
//                   [--command "how it was run"] [--test TEST.csv [--ship-if-better]] [--balanced]
// Without --out it only measures.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
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

double logit_of(double p) {
  const double q = std::clamp(p, 1e-6, 1.0 - 1e-6);
  return std::log(q / (1.0 - q));
}

// Reads a bench_scan --dump file: the detector list of its first line (name and model sha256) and
// one Video per row. Returns the exit code on failure (message printed), 0 on success.
int read_dump(const std::string& path, std::vector<scan::FusionWeight>& features, std::vector<Video>& videos) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "fit_fusion: cannot read %s\n", path.c_str());
    return 3;
  }
  std::string first;
  std::getline(in, first);
  const std::string tag = "# detectors:";
  if (first.rfind(tag, 0) != 0) {
    std::fprintf(stderr, "fit_fusion: %s: first line must be '%s name=sha256 ...' (bench_scan --dump)\n", path.c_str(), tag.c_str());
    return 3;
  }
  std::istringstream ss(first.substr(tag.size()));
  std::string kv;
  while (ss >> kv) {
    const auto eq = kv.find('=');
    features.push_back({kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1), 0, 0});
  }
  std::stringstream rest;
  rest << in.rdbuf();
  auto items = learn::parse_manifest(rest.str(), path, "/");
  if (!items.ok()) {
    std::fprintf(stderr, "fit_fusion: %s\n", items.status().message().c_str());
    return 3;
  }
  for (const auto& it : *items) {
    Video v;
    v.path = it.path;
    v.label = it.label;
    v.source = it.columns.count("source") ? it.columns.at("source") : "?";
    std::istringstream ev(it.columns.count("evidence") ? it.columns.at("evidence") : "");
    std::string e;
    while (std::getline(ev, e, ';')) {
      const auto eq = e.find('=');
      if (eq == std::string::npos) continue;
      v.evidence.push_back({e.substr(0, eq), std::atof(e.c_str() + eq + 1)});
    }
    videos.push_back(std::move(v));
  }
  if (videos.empty()) {
    std::fprintf(stderr, "fit_fusion: %s lists no videos\n", path.c_str());
    return 3;
  }
  return 0;
}

int main(int argc, char** argv) {
  std::string scores_path, test_path, out_path, card_path, command, models_dir;
  double l2 = 1.0, clip = 4.0;
  bool balanced = false, ship_if_better = false;
  scan::FusionFitOptions fit;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--scores" && i + 1 < argc) scores_path = argv[++i];
    else if (a == "--test" && i + 1 < argc) test_path = argv[++i];
    else if (a == "--out" && i + 1 < argc) out_path = argv[++i];
    else if (a == "--card" && i + 1 < argc) card_path = argv[++i];
    else if (a == "--models" && i + 1 < argc) models_dir = argv[++i];
    else if (a == "--l2" && i + 1 < argc) l2 = std::atof(argv[++i]);
    else if (a == "--clip" && i + 1 < argc) clip = std::atof(argv[++i]);
    else if (a == "--command" && i + 1 < argc) command = argv[++i];
    else if (a == "--no-presence") fit.presence = false;
    else if (a == "--non-negative") fit.non_negative = true;
    else if (a == "--balanced") balanced = true;
    else if (a == "--ship-if-better") ship_if_better = true;
    else if (a == "--only" && i + 1 < argc) {
      std::istringstream names(argv[++i]);
      std::string name;
      while (std::getline(names, name, ',')) fit.only.push_back(name);
    }
    else {
      std::fprintf(stderr, "usage: fit_fusion --scores SCORES.csv [--test TEST.csv [--ship-if-better]] [--balanced] [--out fusion.json] "
                           "[--card fusion.card.json] [--l2 X] [--clip X] [--no-presence] [--non-negative] [--only max|a,b] "
                           "[--models DIR] [--command TEXT]\n");
      return 2;
    }
  }
  if (scores_path.empty() || !(l2 > 0) || !(clip > 0) || (ship_if_better && test_path.empty())) {
    std::fprintf(stderr, "fit_fusion: --scores is required (--ship-if-better needs --test); --l2 and --clip must be positive\n");
    return 2;
  }
  std::vector<scan::FusionWeight> features;
  std::vector<Video> videos;
  if (int rc = read_dump(scores_path, features, videos)) return rc;
  std::vector<Video> test;
  if (!test_path.empty()) {
    std::vector<scan::FusionWeight> test_features;
    if (int rc = read_dump(test_path, test_features, test)) return rc;
    auto same = [](const std::vector<scan::FusionWeight>& a, const std::vector<scan::FusionWeight>& b) {
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].detector != b[i].detector || a[i].model_sha256 != b[i].model_sha256) return false;
      }
      return true;
    };
    if (!same(features, test_features)) {
      std::fprintf(stderr, "fit_fusion: %s and %s were made with different detector models: rescan both\n", scores_path.c_str(),
                   test_path.c_str());
      return 4;
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
  std::set<std::string> sources;
  for (const Video& v : videos) sources.insert(v.source);
  int64_t n_train[2] = {0, 0};
  for (const Video& v : videos) n_train[v.label != 0] += 1;
  // The prior correction: moves the intercept from the training set's base rate to 50 %.
  const double train_rate = (n_train[1] + 0.5) / (n_train[0] + n_train[1] + 1.0);
  const double prior_shift = balanced ? -logit_of(train_rate) : 0.0;
  auto fit_on = [&](auto keep) {
    std::vector<std::vector<scan::DetectorScore>> ev;
    std::vector<int> labels;
    for (const Video& v : videos) {
      if (!keep(v)) continue;
      ev.push_back(v.evidence);
      labels.push_back(v.label);
    }
    scan::FusionModel m = scan::fit_fusion_model(features, ev, labels, l2, clip, fit);
    m.intercept += prior_shift;
    return m;
  };

  std::string only;
  for (const auto& o : fit.only) only += (only.empty() ? "" : ",") + o;
  std::printf("# fit_fusion on %s: %zu videos (%lld real, %lld fake), %zu sources, l2 %.3g, clip %.3g, presence flags %s, logit weights %s, "
              "features %s, prior %s\n\n",
              scores_path.c_str(), videos.size(), static_cast<long long>(n_train[0]), static_cast<long long>(n_train[1]), sources.size(), l2,
              clip, fit.presence ? "fitted" : "off", fit.non_negative ? ">= 0" : "free", only.empty() ? "all" : only.c_str(),
              balanced ? "50 % (intercept shifted from the training base rate)" : "the training set's base rate");
  const scan::FusionModel full = fit_on([](const Video&) { return true; });
  std::vector<double> in_sample, max_scores;
  std::vector<int> labels;
  for (const Video& v : videos) {
    in_sample.push_back(scan::fusion_model_score(full, v.evidence));
    max_scores.push_back(max_rule(v));
    labels.push_back(v.label);
  }
  std::printf("| group | scorer | n_real | n_fake | AUC | AP | EER | log loss | accuracy |\n|---|---|---|---|---|---|---|---|---|\n");
  nlohmann::ordered_json metrics_card, per_source = nlohmann::ordered_json::object();
  bool better = true;
  if (test.empty()) {
    // 1. Leave one source out.
    std::vector<double> oof(videos.size(), 0.5);
    for (const std::string& held : sources) {
      const scan::FusionModel m = fit_on([&](const Video& v) { return v.source != held; });
      for (size_t i = 0; i < videos.size(); ++i) {
        if (videos[i].source == held) oof[i] = scan::fusion_model_score(m, videos[i].evidence);
      }
    }
    const auto m_oof = learn::binary_metrics(oof, labels);
    const auto m_max = learn::binary_metrics(max_scores, labels);
    const auto m_in = learn::binary_metrics(in_sample, labels);
    row("**all videos**", "learned, leave-one-source-out", m_oof);
    row("**all videos**", "max rule", m_max);
    row("**all videos**", "learned, in-sample (not a held-out number)", m_in);
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
    metrics_card = {{"leave_one_source_out", metrics_json(m_oof)},
                    {"max_rule_same_videos", metrics_json(m_max)},
                    {"in_sample_not_held_out", metrics_json(m_in)},
                    {"per_source", per_source}};
  } else {
    // Fitted on the training set only; the test set is scored, never fitted on.
    row("training set", "learned, in-sample (not a held-out number)", learn::binary_metrics(in_sample, labels));
    row("training set", "max rule", learn::binary_metrics(max_scores, labels));
    std::vector<double> t_learned, t_rate, t_max;
    std::vector<int> t_labels;
    int64_t n_test[2] = {0, 0};
    for (const Video& v : test) n_test[v.label != 0] += 1;
    const double test_rate = (n_test[1] + 0.5) / (n_test[0] + n_test[1] + 1.0);
    scan::FusionModel at_rate = full;
    at_rate.intercept += logit_of(test_rate) - (balanced ? 0.0 : logit_of(train_rate));
    std::set<std::string> test_sources;
    for (const Video& v : test) {
      t_learned.push_back(scan::fusion_model_score(full, v.evidence));
      t_rate.push_back(scan::fusion_model_score(at_rate, v.evidence));
      t_max.push_back(max_rule(v));
      t_labels.push_back(v.label);
      test_sources.insert(v.source);
    }
    const auto m_l = learn::binary_metrics(t_learned, t_labels);
    const auto m_r = learn::binary_metrics(t_rate, t_labels);
    const auto m_m = learn::binary_metrics(t_max, t_labels);
    char rate_name[96];
    std::snprintf(rate_name, sizeof rate_name, "learned, intercept at the test base rate %.3f", test_rate);
    row("**test, all videos**", "learned (untouched)", m_l);
    row("**test, all videos**", rate_name, m_r);
    row("**test, all videos**", "max rule", m_m);
    for (const std::string& src : test_sources) {
      std::vector<double> s, sm;
      std::vector<int> l;
      for (size_t i = 0; i < test.size(); ++i) {
        if (test[i].source != src) continue;
        s.push_back(t_learned[i]);
        sm.push_back(t_max[i]);
        l.push_back(t_labels[i]);
      }
      const auto a = learn::binary_metrics(s, l);
      const auto b = learn::binary_metrics(sm, l);
      if (a.n_real > 0 && a.n_fake > 0) {
        row(src, "learned (untouched)", a);
        row(src, "max rule", b);
      }
      per_source[src] = {{"learned_untouched", metrics_json(a)}, {"max_rule", metrics_json(b)}};
    }
    better = m_l.auc > m_m.auc && m_l.log_loss < m_m.log_loss;
    std::printf("\nlearned vs max rule on the test set: AUC %s vs %s, log loss %s vs %s: %s\n", metric(m_l.auc).c_str(),
                metric(m_m.auc).c_str(), metric(m_l.log_loss).c_str(), metric(m_m.log_loss).c_str(),
                better ? "the learned rule is better on both" : "the learned rule is NOT better on both");
    metrics_card = {{"test", test_path},
                    {"test_learned_untouched", metrics_json(m_l)},
                    {"test_learned_at_test_base_rate", metrics_json(m_r)},
                    {"test_max_rule", metrics_json(m_m)},
                    {"training_in_sample_not_held_out", metrics_json(learn::binary_metrics(in_sample, labels))},
                    {"per_test_source", per_source}};
  }
  std::printf("\nweights fitted on all %zu training videos: intercept %.3f\n\n| detector | model sha256 | w_logit | w_present |\n|---|---|---|---|\n",
              videos.size(), full.intercept);
  for (const auto& w : full.weights) {
    std::printf("| %s | %s | %.3f | %.3f |\n", w.detector.c_str(), w.model_sha256.empty() ? "-" : w.model_sha256.substr(0, 12).c_str(),
                w.w_logit, w.w_present);
  }
  std::fflush(stdout);

  if (out_path.empty()) return 0;
  if (ship_if_better && !better) {
    std::error_code ec;
    const bool removed = std::filesystem::remove(out_path, ec);
    if (!card_path.empty()) std::filesystem::remove(card_path, ec);
    std::printf("\nnot written: %s%s (scan keeps the max rule)\n", out_path.c_str(), removed ? " removed" : " absent");
    return 0;
  }
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
    nlohmann::ordered_json card;
    card["name"] = "fusion";
    card["model"] = out_path;
    card["sha256"] = sha256_hex(json);
    card["what"] = "L2-penalised logistic regression over per-detector video-level evidence (clipped logit + judged flag)";
    card["data"] = {{"scores", scores_path},
                    {"videos", videos.size()},
                    {"n_real", n_train[0]},
                    {"n_fake", n_train[1]},
                    {"sources", std::vector<std::string>(sources.begin(), sources.end())},
                    {"note", test.empty() ? "per-video scores of every video of /work/shared/data/MANIFEST.csv through scan (bench_scan --dump)"
                                          : "per-video scores through scan (bench_scan --dump) of the real videos of the training sources and "
                                            "fakes unmask made from them (synth swap, synth dub); the test set was scored only"}};
    nlohmann::ordered_json dets = nlohmann::ordered_json::array();
    for (const auto& w : full.weights) dets.push_back({{"name", w.detector}, {"model_sha256", w.model_sha256}});
    card["detectors"] = dets;
    card["seed"] = nullptr;
    card["seed_note"] = "deterministic fit (Newton's method), no randomness";
    card["hyperparameters"] = {{"l2", l2}, {"clip", clip}, {"presence_flags", fit.presence}, {"non_negative_logit_weights", fit.non_negative},
                               {"only", fit.only}, {"prior", balanced ? "50 % (intercept shifted by -logit of the training base rate)" : "training base rate"}};
    card["command"] = command.empty() ? "scripts/fit-fusion.sh" : command;
    card["metrics"] = metrics_card;
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
