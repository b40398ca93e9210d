// The blend detector: milliseconds per aligned face crop (batch 1 and batch 16, the detector's
// whole score(): conversion, forward pass, calibration, heat map), and with --data the frame-level
// AUC of the model on the face IMAGES of the shared manifest (fake generated faces vs real
// photos), per source and pooled, separating real photos the model was trained on (listed in the
// training manifest named by the model card) from unseen ones.
//
//   OMP_WAIT_POLICY=passive bench_blend [--model models/blend.unm] [--threads 2] [--iters 30]
//                                       [--data /work/shared/data] [--max-per-source 400]
//                                       [--detector blend|mouth]
//
// --detector mouth times the lower-face detector of the same family (models/mouth.unm by default).
//
// Target: <= 15 ms per crop on 2 cores. cpu_ms is the process CPU time per crop (all threads),
// which does not grow when other jobs share the cores.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "detect/blend.h"
#include "detect/mouth.h"
#include "face/face.h"
#include "learn/learn.h"
#include "media/media.h"
#include "nn/nn.h"

namespace {

using namespace unmask;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? std::nan("") : v[v.size() / 2];
}

Image noise_crop(int size, unsigned seed) {
  Image img(size, size, 3);
  unsigned s = seed * 2654435761u + 7;
  for (size_t i = 0; i < img.size_bytes(); ++i) {
    s = s * 1664525u + 1013904223u;
    img.data()[i] = static_cast<uint8_t>(s >> 24);
  }
  return img;
}

void speed(const detect::CropDetector& det, int iters, int threads) {
  const int size = det.alignment().size_px;
  std::printf("\n## Speed: ms per %dx%d face crop, %d LibTorch thread(s), median of %d runs\n\n", size, size, threads,
              iters);
  std::printf("| batch | wall ms/crop | cpu ms/crop |\n|---|---|---|\n");
  for (int batch : {1, 16}) {
    std::vector<Image> crops;
    for (int i = 0; i < batch; ++i) crops.push_back(noise_crop(size, static_cast<unsigned>(i)));
    for (int w = 0; w < 3; ++w) (void)det.score(crops);
    std::vector<double> wall, cpu;
    for (int it = 0; it < iters; ++it) {
      const std::clock_t c0 = std::clock();
      const auto t0 = Clock::now();
      auto s = det.score(crops);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      const double cms = 1000.0 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
      if (!s.ok()) {
        std::fprintf(stderr, "bench_blend: error: %s\n", s.status().message().c_str());
        std::exit(4);
      }
      wall.push_back(ms / batch);
      cpu.push_back(cms / batch);
    }
    std::printf("| %d | %.2f | %.2f |\n", batch, median(wall), median(cpu));
  }
}

struct Scored {
  std::string source;
  int label = 0;
  bool seen = false;  // in the training manifest
  double score = 0;
};

void row(const std::string& name, const std::vector<const Scored*>& items) {
  std::vector<double> s;
  std::vector<int> l;
  int n_fake = 0, n_real = 0;
  double sum_fake = 0, sum_real = 0;
  for (const Scored* x : items) {
    s.push_back(x->score);
    l.push_back(x->label);
    (x->label ? n_fake : n_real)++;
    (x->label ? sum_fake : sum_real) += x->score;
  }
  auto fmt = [](double v) {
    char b[32];
    if (std::isnan(v)) return std::string("-");
    std::snprintf(b, sizeof b, "%.3f", v);
    return std::string(b);
  };
  const bool both = n_fake > 0 && n_real > 0;
  const learn::BinaryMetrics m = both ? learn::binary_metrics(s, l) : learn::BinaryMetrics{};
  std::printf("| %s | %d | %d | %s | %s | %s | %s | %s |\n", name.c_str(), n_real, n_fake,
              fmt(n_real ? sum_real / n_real : std::nan("")).c_str(), fmt(n_fake ? sum_fake / n_fake : std::nan("")).c_str(),
              both ? fmt(m.auc).c_str() : "-", both ? fmt(m.eer).c_str() : "-", both ? fmt(m.log_loss).c_str() : "-");
}

int accuracy(const detect::CropDetector& det, const std::string& model_path, const std::string& data, int max_per_source) {
  auto items = learn::read_manifest((fs::path(data) / "MANIFEST.csv").string());
  if (!items.ok()) {
    std::fprintf(stderr, "bench_blend: error: %s\n", items.status().message().c_str());
    return 3;
  }
  // Real photos the model was trained on: the training manifest named in the model card.
  std::set<std::string> seen;
  fs::path card = model_path;
  card.replace_extension("");
  std::string train_manifest;
  if (auto text = read_file(card.string() + ".card.json"); text.ok()) {
    try {
      train_manifest = nlohmann::json::parse(*text)["data"]["manifest"].get<std::string>();
    } catch (const std::exception&) {
    }
  }
  if (!train_manifest.empty()) {
    if (auto t = learn::read_manifest(train_manifest); t.ok()) {
      for (const auto& it : *t) seen.insert(fs::weakly_canonical(it.path).string());
    }
  }
  // Images only; at most max_per_source per (source, label), spread evenly.
  std::map<std::pair<std::string, int>, std::vector<const learn::ManifestItem*>> groups;
  for (const auto& it : *items) {
    auto kind = it.columns.find("kind");
    if (kind == it.columns.end() || kind->second != "image") continue;
    groups[{it.columns.at("source_repo"), it.label}].push_back(&it);
  }
  auto models = face::FaceModels::load();
  if (!models.ok()) {
    std::fprintf(stderr, "bench_blend: error: %s\n", models.status().message().c_str());
    return 4;
  }
  face::DetectOptions dopt;
  face::FaceDetector small_faces(*models, [] { face::DetectOptions o; o.upsample = 1; return o; }());
  face::FaceDetector detector(*models, dopt);
  std::vector<Scored> scored;
  std::map<std::string, std::pair<int, int>> found;  // source -> (images, with face)
  const auto t0 = Clock::now();
  for (auto& [key, list] : groups) {
    const size_t n = std::min<size_t>(list.size(), static_cast<size_t>(max_per_source));
    for (size_t k = 0; k < n; ++k) {
      const learn::ManifestItem& it = *list[k * list.size() / n];
      found[key.first].first++;
      auto image = media::read_image(it.path);
      if (!image.ok()) continue;
      auto faces = detector.detect_faces(*image);
      if (faces.ok() && faces->empty()) faces = small_faces.detect_faces(*image);
      if (!faces.ok() || faces->empty()) continue;
      const auto best = std::max_element(faces->begin(), faces->end(),
                                         [](const face::Face& a, const face::Face& b) { return a.box.area() < b.box.area(); });
      auto aligned = face::align_face(*image, best->landmarks, det.alignment());
      if (!aligned.ok()) continue;
      auto s = det.score({&aligned->crop, 1});
      if (!s.ok()) continue;
      found[key.first].second++;
      scored.push_back({key.first, it.label, seen.count(fs::weakly_canonical(it.path).string()) > 0, (*s)[0].score});
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("\n## Frame-level accuracy on the face images of %s/MANIFEST.csv\n\n", data.c_str());
  std::printf("At most %d images per source and label; the largest face of each; %.0f s. Training manifest: %s "
              "(%zu files; 'seen' reals below are in it).\n\n",
              max_per_source, seconds, train_manifest.empty() ? "(unknown)" : train_manifest.c_str(), seen.size());
  std::printf("| source | images | with face |\n|---|---|---|\n");
  for (const auto& [src, f] : found) std::printf("| %s | %d | %d |\n", src.c_str(), f.first, f.second);
  std::printf("\n| set | n real | n fake | mean P(fake) real | mean P(fake) fake | AUC | EER | log loss |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::map<std::string, std::vector<const Scored*>> by_source;
  std::vector<const Scored*> all, unseen;
  std::vector<const Scored*> fakes;
  for (const Scored& s : scored) {
    by_source[s.source + (s.seen ? " (seen in training)" : "")].push_back(&s);
    all.push_back(&s);
    if (!s.seen) unseen.push_back(&s);
    if (s.label) fakes.push_back(&s);
  }
  for (const auto& [src, list] : by_source) row(src, list);
  row("ALL fakes vs ALL reals", all);
  row("ALL fakes vs UNSEEN reals", unseen);
  // Each fake source against every unseen real.
  std::map<std::string, std::vector<const Scored*>> fake_sources;
  for (const Scored* f : fakes) fake_sources[f->source].push_back(f);
  for (auto& [src, list] : fake_sources) {
    std::vector<const Scored*> v = list;
    for (const Scored* s : unseen) if (!s->label) v.push_back(s);
    row(src + " vs unseen reals", v);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, data, detector = "blend";
  int threads = 2, iters = 30, max_per_source = 400;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_blend: error: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model") model_path = next();
    else if (a == "--threads") threads = std::atoi(next());
    else if (a == "--iters") iters = std::max(1, std::atoi(next()));
    else if (a == "--data") data = next();
    else if (a == "--max-per-source") max_per_source = std::max(1, std::atoi(next()));
    else if (a == "--detector") detector = next();
    else {
      std::fprintf(stderr, "bench_blend: error: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (detector != "blend" && detector != "mouth") {
    std::fprintf(stderr, "bench_blend: error: --detector must be blend or mouth, got %s\n", detector.c_str());
    return 2;
  }
  if (model_path.empty()) model_path = (fs::path(detect::default_models_dir()) / (detector + ".unm")).string();
  nn::set_num_threads(threads);
  auto det = detector == "mouth" ? detect::load_mouth_detector(model_path) : detect::load_blend_detector(model_path);
  if (!det.ok()) {
    std::fprintf(stderr, "bench_blend: error: %s\n", det.status().message().c_str());
    return 4;
  }
  const char* wait = std::getenv("OMP_WAIT_POLICY");
  std::printf("# bench_blend: %s (sha256 %.16s...), OMP_WAIT_POLICY=%s\n", model_path.c_str(),
              (*det)->info().model_sha256.c_str(), wait ? wait : "(unset)");
  speed(**det, iters, threads);
  if (!data.empty()) return accuracy(**det, model_path, data, max_per_source);
  return 0;
}
