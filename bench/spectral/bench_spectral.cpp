// Accuracy and speed of the spectral and temporal detectors on ../shared/data (MANIFEST.csv).
//
//   bench_spectral --data DIR [--models DIR] [--only spectral|temporal] [--max-per-source N]
//                  [--scores OUT.csv]
//
// spectral: every face image of the manifest (at most N per source, default 400) through the
// detector's own face finding and alignment; one score per face. AUC/EER are printed for each
// fake source against the held-out real sources, and for the held-out fakes against each real
// source. Sources used in training are marked: their numbers include training items, so the
// clean in-distribution number is the validation AUC in models/spectral.card.json. Also scored:
// 6 frames of every video (compressed video frames must not read as GAN faces).
// temporal: every video, face::track_file with default options, the longest track of >= 2 s
// scored; AUC per source with both classes and over the held-out sources.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/core.h"
#include "detect/detector.h"
#include "detect/spectral.h"
#include "detect/temporal.h"
#include "face/face.h"
#include "learn/learn.h"
#include "media/media.h"

using namespace unmask;

namespace {

// Sources the spectral trainer never saw (scripts/train-spectral.sh): the thispersondoesnotexist
// fakes and the LFW / ORL reals; and the video sources held out of every detector's training.
const std::set<std::string> kSpectralHeldOut = {"Chirayu-N/NameGame", "muxspace/facial_expressions",
                                                "hakawa-bernardi/orl-face-recognition-pca-svm", "DariusAf/MesoNet"};
const std::set<std::string> kVideoHeldOut = {"GipalLee/Deepfake_detection", "ai-forever/ghost", "OpenTalker/SadTalker",
                                             "Zz-ww/SadTalker-Video-Lip-Sync", "OpenTalker/video-retalking",
                                             "Hangz-nju-cuhk/Talking-Face_PC-AVS", "jixinya/EAMM"};

struct Scored {
  std::string source;
  int label = 0;
  double score = 0;
  std::string path;
};

double cpu_now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void print_pair(const std::string& name, const std::vector<Scored>& fakes, const std::vector<Scored>& reals) {
  std::vector<double> s;
  std::vector<int> l;
  for (const auto& f : fakes) {
    s.push_back(f.score);
    l.push_back(1);
  }
  for (const auto& r : reals) {
    s.push_back(r.score);
    l.push_back(0);
  }
  if (fakes.empty() || reals.empty()) return;
  learn::BinaryMetrics m = learn::binary_metrics(s, l);
  std::printf("| %-62s | %5zu | %5zu | %.3f | %.3f | %.3f |\n", name.c_str(), fakes.size(), reals.size(), m.auc, m.eer,
              m.log_loss);
}

std::vector<Scored> select(const std::vector<Scored>& all, int label, const std::function<bool(const std::string&)>& keep) {
  std::vector<Scored> out;
  for (const auto& s : all) {
    if (s.label == label && keep(s.source)) out.push_back(s);
  }
  return out;
}

int run_spectral(const std::vector<learn::ManifestItem>& items, const std::string& models_dir, int max_per_source,
                 std::ofstream* scores_out) {
  auto set = detect::load_detectors(models_dir, {"spectral"});
  if (!set.ok()) {
    std::fprintf(stderr, "bench_spectral: error: %s\n", set.status().message().c_str());
    return exit_code_for(set.status());
  }
  const auto& det = *set->crop.front();
  auto models = face::FaceModels::load();
  if (!models.ok()) {
    std::fprintf(stderr, "bench_spectral: error: %s\n", models.status().message().c_str());
    return 4;
  }
  std::vector<Scored> images, frames;
  std::map<std::string, std::array<int, 3>> counts;  // items, without face, faces
  std::map<std::string, int> taken;
  double score_s = 0;
  int64_t n_scored = 0;
  for (const auto& item : items) {
    const std::string& kind = item.columns.at("kind");
    const std::string source = item.columns.at("source_repo");
    const bool video = kind == "video";
    if (kind != "image" && !video) continue;
    const std::string key = source + (item.label ? "|fake" : "|real") + (video ? "|video" : "");
    if (!video && taken[key] >= max_per_source) continue;
    taken[key] += 1;
    std::vector<Image> pictures;
    if (video) {
      auto info = media::probe(item.path);
      if (!info.ok() || !info->video) continue;
      media::VideoReadOptions ro;
      ro.every_nth = static_cast<int>(std::max<int64_t>(1, info->video->n_frames / 6));
      ro.max_side_px = 1280;
      auto reader = media::VideoReader::open(item.path, ro);
      if (!reader.ok()) continue;
      VideoFrame f;
      for (int k = 0; k < 6; ++k) {
        auto more = (*reader)->read(f);
        if (!more.ok() || !*more) break;
        pictures.push_back(f.image);
      }
    } else {
      auto img = media::read_image(item.path);
      if (!img.ok()) continue;
      pictures.push_back(std::move(*img));
    }
    const bool strip = item.columns.count("method") && item.columns.at("method").find("strip") != std::string::npos;
    auto& c = counts[key];
    c[0] += 1;
    int faces_here = 0;
    for (const Image& pic : pictures) {
      auto crops = detect::spectral_face_crops(pic, *models, strip ? 8 : 1);
      if (!crops.ok() || crops->empty()) continue;
      const double t0 = cpu_now_s();
      auto scores = det.score(*crops);
      score_s += cpu_now_s() - t0;
      if (!scores.ok()) continue;
      n_scored += static_cast<int64_t>(crops->size());
      for (const auto& s : *scores) {
        (video ? frames : images).push_back({source, item.label, s.score, item.path});
        if (scores_out) *scores_out << "spectral," << (video ? "frame" : "image") << "," << source << ","
                                    << (item.label ? "fake" : "real") << "," << s.score << "," << item.path << "\n";
        faces_here += 1;
      }
    }
    c[2] += faces_here;
    if (faces_here == 0) c[1] += 1;
  }

  std::printf("\n## spectral: per source (face crops; mean P(fake), share flagged at 0.5)\n\n");
  std::printf("| %-52s | role | items | no face | faces | mean score | flagged |\n", "source");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const auto& [key, c] : counts) {
    const auto bar = key.find('|');
    const std::string source = key.substr(0, bar);
    const bool video = key.find("|video") != std::string::npos;
    const bool fake = key.find("|fake") != std::string::npos;
    const auto& pool = video ? frames : images;
    double sum = 0, flagged = 0, n = 0;
    for (const auto& s : pool) {
      if (s.source == source && s.label == (fake ? 1 : 0)) {
        sum += s.score;
        flagged += s.score >= 0.5 ? 1 : 0;
        n += 1;
      }
    }
    const bool held = video ? kVideoHeldOut.count(source) > 0 : kSpectralHeldOut.count(source) > 0;
    std::printf("| %-52s | %s | %5d | %7d | %5d | %10.3f | %7.3f |\n",
                (source + (fake ? " (fake" : " (real") + (video ? ", video frames)" : ")")).c_str(),
                held ? "held-out" : "train", c[0], c[1], c[2], n > 0 ? sum / n : NAN, n > 0 ? flagged / n : NAN);
  }

  auto is_held_real = [](const std::string& s) {
    return s == "muxspace/facial_expressions" || s == "hakawa-bernardi/orl-face-recognition-pca-svm";
  };
  std::printf("\n## spectral: AUC / EER / log loss on face images\n\n");
  std::printf("| %-62s | fakes | reals | AUC | EER | log loss |\n|---|---|---|---|---|---|\n", "pair");
  print_pair("HELD-OUT: NameGame (TPDNE StyleGAN2) vs LFW + ORL", select(images, 1, [](auto& s) { return s == "Chirayu-N/NameGame"; }),
             select(images, 0, is_held_real));
  print_pair("HELD-OUT: NameGame vs LFW (muxspace, grey)", select(images, 1, [](auto& s) { return s == "Chirayu-N/NameGame"; }),
             select(images, 0, [](auto& s) { return s == "muxspace/facial_expressions"; }));
  print_pair("HELD-OUT: NameGame vs ORL (grey)", select(images, 1, [](auto& s) { return s == "Chirayu-N/NameGame"; }),
             select(images, 0, [](auto& s) { return s == "hakawa-bernardi/orl-face-recognition-pca-svm"; }));
  print_pair("held-out reals vs train fakes: seeprettyface-* vs LFW + ORL",
             select(images, 1, [](auto& s) { return s.rfind("a312863063/", 0) == 0; }), select(images, 0, is_held_real));
  print_pair("held-out fakes vs train reals: NameGame vs UTKFace",
             select(images, 1, [](auto& s) { return s == "Chirayu-N/NameGame"; }),
             select(images, 0, [](auto& s) { return s == "delonyohan/deeplearn-agepred"; }));
  print_pair("train sources (includes training items): seeprettyface-* vs UTKFace",
             select(images, 1, [](auto& s) { return s.rfind("a312863063/", 0) == 0; }),
             select(images, 0, [](auto& s) { return s == "delonyohan/deeplearn-agepred"; }));
  print_pair("MesoNet deepfake crops (held-out, 2 v 2)", select(images, 1, [](auto& s) { return s == "DariusAf/MesoNet"; }),
             select(images, 0, [](auto& s) { return s == "DariusAf/MesoNet"; }));
  print_pair("video frames, held-out sources (fake vs real videos)",
             select(frames, 1, [](auto& s) { return kVideoHeldOut.count(s) > 0; }),
             select(frames, 0, [](auto& s) { return kVideoHeldOut.count(s) > 0; }));
  print_pair("NameGame faces vs real video frames (held-out sources)",
             select(images, 1, [](auto& s) { return s == "Chirayu-N/NameGame"; }),
             select(frames, 0, [](auto& s) { return kVideoHeldOut.count(s) > 0; }));
  std::printf("\nspectral speed: %.2f ms per crop (features + mlp, %lld crops, single call per picture)\n",
              n_scored > 0 ? 1000.0 * score_s / n_scored : NAN, static_cast<long long>(n_scored));
  return 0;
}

int run_temporal(const std::vector<learn::ManifestItem>& items, const std::string& models_dir, std::ofstream* scores_out) {
  auto set = detect::load_detectors(models_dir, {"temporal"});
  if (!set.ok()) {
    std::fprintf(stderr, "bench_spectral: error: %s\n", set.status().message().c_str());
    return exit_code_for(set.status());
  }
  const auto& det = *set->track.front();
  auto models = face::FaceModels::load();
  if (!models.ok()) return 4;
  std::vector<Scored> scored;
  std::map<std::string, std::array<int, 2>> abstained;  // per source|label: no track >= 2 s
  double score_s = 0, track_s = 0, tracking_s = 0;
  for (const auto& item : items) {
    if (item.columns.at("kind") != "video") continue;
    const std::string source = item.columns.at("source_repo");
    const double t0 = cpu_now_s();
    detect::TrackSeriesOptions opts;
    opts.min_seconds = detect::kTemporalMinSeconds;
    auto tracks = detect::track_series_from_file(item.path, *models, opts);
    tracking_s += cpu_now_s() - t0;
    if (!tracks.ok() || tracks->empty()) {
      abstained[source][item.label] += 1;
      continue;
    }
    // The video's score: the highest of its judged tracks (a swapped face among real ones).
    std::optional<double> best;
    std::string why;
    for (const auto& t : *tracks) {
      const double t1 = cpu_now_s();
      auto r = det.score(t);
      score_s += cpu_now_s() - t1;
      track_s += (t.pts_us.back() - t.pts_us.front()) / 1e6;
      if (!r.ok() || !r->score) continue;
      if (!best || *r->score > *best) {
        best = r->score;
        why.clear();
        for (const auto& e : r->evidence) why += (why.empty() ? "" : "; ") + e;
      }
    }
    if (!best) {
      abstained[source][item.label] += 1;
      continue;
    }
    scored.push_back({source, item.label, *best, item.path});
    if (scores_out) *scores_out << "temporal,video," << source << "," << (item.label ? "fake" : "real") << "," << *best
                                << "," << item.path << ",\"" << why << "\"\n";
  }
  std::printf("\n## temporal: videos (longest-scoring track of >= 2 s per video)\n\n");
  std::printf("| %-40s | role | real | fake | abstained r/f | mean real | mean fake | AUC |\n|---|---|---|---|---|---|---|---|\n",
              "source");
  std::set<std::string> sources;
  for (const auto& s : scored) sources.insert(s.source);
  for (const auto& [s, a] : abstained) sources.insert(s);
  for (const auto& src : sources) {
    std::vector<double> sc;
    std::vector<int> lb;
    double sum[2] = {0, 0};
    int n[2] = {0, 0};
    for (const auto& s : scored) {
      if (s.source != src) continue;
      sc.push_back(s.score);
      lb.push_back(s.label);
      sum[s.label] += s.score;
      n[s.label] += 1;
    }
    const double auc = n[0] > 0 && n[1] > 0 ? learn::roc_auc(sc, lb) : NAN;
    std::printf("| %-40s | %s | %4d | %4d | %d/%d | %9.3f | %9.3f | %.3f |\n", src.c_str(),
                kVideoHeldOut.count(src) ? "held-out" : "train", n[0], n[1], abstained[src][0], abstained[src][1],
                n[0] ? sum[0] / n[0] : NAN, n[1] ? sum[1] / n[1] : NAN, auc);
  }
  std::printf("\n| %-62s | fakes | reals | AUC | EER | log loss |\n|---|---|---|---|---|---|\n", "pair");
  auto held = [](const std::string& s) { return kVideoHeldOut.count(s) > 0; };
  print_pair("HELD-OUT video sources (fake vs real)", select(scored, 1, held), select(scored, 0, held));
  print_pair("held-out fakes vs all real videos", select(scored, 1, held), select(scored, 0, [](auto&) { return true; }));
  print_pair("held-out face swaps (ghost, GipalLee) vs held-out reals",
             select(scored, 1, [](auto& s) { return s == "ai-forever/ghost" || s == "GipalLee/Deepfake_detection"; }),
             select(scored, 0, held));
  std::printf("\ntemporal speed: %.3f ms per track-second (features + model; %.0f track-seconds); "
              "face tracking %.0f s for all videos\n",
              track_s > 0 ? 1000.0 * score_s / track_s : NAN, track_s, tracking_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, models_dir = detect::default_models_dir(), only, scores_path;
  int max_per_source = 400;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) {
      data = argv[++i];
    } else if (a == "--models" && i + 1 < argc) {
      models_dir = argv[++i];
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "--max-per-source" && i + 1 < argc) {
      max_per_source = std::atoi(argv[++i]);
    } else if (a == "--scores" && i + 1 < argc) {
      scores_path = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: bench_spectral --data DIR [--models DIR] [--only spectral|temporal] [--max-per-source N] "
                   "[--scores OUT.csv]\n");
      return 2;
    }
  }
  if (data.empty() || (!only.empty() && only != "spectral" && only != "temporal")) {
    std::fprintf(stderr, "bench_spectral: error: --data DIR is required; --only takes spectral or temporal\n");
    return 2;
  }
  auto items = learn::read_manifest(data + "/MANIFEST.csv");
  if (!items.ok()) {
    std::fprintf(stderr, "bench_spectral: error: %s\n", items.status().message().c_str());
    return 3;
  }
  std::ofstream scores_file;
  if (!scores_path.empty()) scores_file.open(scores_path);
  std::ofstream* scores_out = scores_file.is_open() ? &scores_file : nullptr;
  std::printf("# bench_spectral (models: %s)\n", models_dir.c_str());
  int rc = 0;
  if (only.empty() || only == "spectral") rc = run_spectral(*items, models_dir, max_per_source, scores_out);
  if (rc == 0 && (only.empty() || only == "temporal")) rc = run_temporal(*items, models_dir, scores_out);
  return rc;
}
