// What the blend detector sees and says, frame by frame: for each video or image given, the
// largest face of every Nth frame is aligned exactly as scan aligns it for blend (the model's own
// alignment metadata), scored, and described (face box side, crop sharpness, brightness,
// saturation, 8x8 block-edge strength). Writes a CSV of those per frame and, per input, a PNG
// mosaic of up to 16 crops with their boundary heat maps beside them, so the cause of a false
// alarm can be looked at instead of guessed.
//
//   OMP_WAIT_POLICY=passive blend_probe --model models/blend.unm --out DIR [--every 10]
//                                       [--max 48] FILE...
//
// The detector is loaded with its quality gate off, so every crop has a score; centre_luma and
// centre_lap_var are the gate's own measures (detect::measure_blend_crop) and judged says whether
// the default gate would score the crop.
//
// Output: DIR/frames.csv (file,frame,track,box_px,score,lap_var,mean_luma,sat,blockiness,
// centre_luma,centre_lap_var,judged) and
// DIR/<file stem>.png; a per-file summary table on stdout.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "detect/blend.h"
#include "face/face.h"
#include "media/media.h"
#include "nn/nn.h"

namespace {

using namespace unmask;
namespace fs = std::filesystem;

cv::Mat as_mat(const Image& image) {
  return cv::Mat(image.height_px(), image.width_px(), CV_8UC(image.channels()), const_cast<uint8_t*>(image.data()));
}

struct Stats {
  double lap_var = 0, mean_luma = 0, sat = 0, blockiness = 0;
};

// Block-edge strength: mean |difference| across 8-px block borders over mean |difference| inside
// blocks (1 = no block structure, > 1 = visible coding blocks). Measured on the crop, which is
// warped, so it is a weak proxy; on the frame region it would be exact.
double blockiness(const cv::Mat& gray) {
  double edge = 0, inner = 0;
  int ne = 0, ni = 0;
  for (int y = 0; y < gray.rows; ++y) {
    const uint8_t* r = gray.ptr<uint8_t>(y);
    for (int x = 1; x < gray.cols; ++x) {
      const double d = std::abs(static_cast<int>(r[x]) - static_cast<int>(r[x - 1]));
      if (x % 8 == 0) {
        edge += d;
        ++ne;
      } else {
        inner += d;
        ++ni;
      }
    }
  }
  return (edge / std::max(1, ne)) / std::max(1e-6, inner / std::max(1, ni));
}

Stats describe(const Image& crop, const Image& frame, const Box& box) {
  Stats s;
  cv::Mat bgr = as_mat(crop), gray, lap, hsv;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  cv::Laplacian(gray, lap, CV_64F);
  cv::Scalar m, sd;
  cv::meanStdDev(lap, m, sd);
  s.lap_var = sd[0] * sd[0];
  s.mean_luma = cv::mean(gray)[0];
  cv::cvtColor(bgr, hsv, cv::COLOR_BGR2HSV);
  s.sat = cv::mean(hsv)[1];
  // Block edges in the frame's own pixel grid, over the face box.
  cv::Mat f = as_mat(frame), fg;
  const cv::Rect r = cv::Rect(static_cast<int>(box.x), static_cast<int>(box.y), static_cast<int>(box.w),
                              static_cast<int>(box.h)) &
                     cv::Rect(0, 0, f.cols, f.rows);
  if (r.width >= 16 && r.height >= 16) {
    const int x0 = r.x - r.x % 8;
    const cv::Rect aligned(x0, r.y, std::min(f.cols - x0, r.width + (r.x - x0)), r.height);
    cv::cvtColor(f(aligned), fg, cv::COLOR_BGR2GRAY);
    s.blockiness = blockiness(fg);
  }
  return s;
}

struct Sample {
  int64_t frame = 0;
  int track = -1;
  double box_px = 0;
  Image crop;
  Stats stats;
  double score = 0;
  Image heat;
  detect::BlendCropQuality quality;
};

}  // namespace

int main(int argc, char** argv) {
  std::string model_path = "models/blend.unm", out_dir;
  int every = 10, max_n = 48;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "blend_probe: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model") model_path = next();
    else if (a == "--out") out_dir = next();
    else if (a == "--every") every = std::stoi(next());
    else if (a == "--max") max_n = std::stoi(next());
    else if (a.starts_with("--")) {
      std::fprintf(stderr, "blend_probe: unknown option %s\n", a.c_str());
      return 2;
    } else files.push_back(a);
  }
  if (out_dir.empty() || files.empty()) {
    std::fprintf(stderr, "usage: blend_probe --model M --out DIR [--every N] [--max N] FILE...\n");
    return 2;
  }
  nn::set_num_threads(2);
  detect::BlendGate no_gate;
  no_gate.enabled = false;
  const detect::BlendGate gate = detect::default_blend_gate();
  auto det = detect::load_blend_detector(model_path, no_gate);
  if (!det.ok()) {
    std::fprintf(stderr, "blend_probe: %s\n", det.status().message().c_str());
    return 4;
  }
  auto models = face::FaceModels::load();
  if (!models.ok()) {
    std::fprintf(stderr, "blend_probe: %s\n", models.status().message().c_str());
    return 4;
  }
  fs::create_directories(out_dir);
  std::ofstream csv(fs::path(out_dir) / "frames.csv");
  csv << "file,frame,track,box_px,score,lap_var,mean_luma,sat,blockiness,centre_luma,centre_lap_var,judged\n";
  const face::AlignOptions align = (*det)->alignment();
  std::printf("| file | frames | median box px | median score | p90 score | median lap var | median luma | median blockiness |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const std::string& path : files) {
    std::vector<Sample> samples;
    auto take = [&](const Image& image, const face::Face& f, int64_t frame) {
      auto aligned = face::align_face(image, f.landmarks, align);
      if (!aligned.ok()) return;
      Sample s;
      s.frame = frame;
      s.track = f.track_id;
      s.box_px = std::max(f.box.w, f.box.h);
      s.crop = std::move(aligned->crop);
      s.stats = describe(s.crop, image, f.box);
      s.quality = detect::measure_blend_crop(s.crop);
      samples.push_back(std::move(s));
    };
    if (media::has_image_extension(path)) {
      auto image = media::read_image(path);
      if (!image.ok()) {
        std::fprintf(stderr, "blend_probe: %s\n", image.status().message().c_str());
        continue;
      }
      face::DetectOptions d;
      d.max_upscale = 1.0;
      face::FaceDetector detector(*models, d);
      auto faces = detector.detect_faces(*image);
      if (faces.ok()) {
        if (const face::Face* f = face::largest_face(*faces, 40)) take(*image, *f, 0);
      }
    } else {
      face::TrackFileOptions t;
      t.every_nth = every;
      auto r = face::track_file(path, *models, t, [&](face::FrameFaces& ff) -> Status {
        if (static_cast<int>(samples.size()) >= max_n) return Status::ok();
        for (const face::Face& f : ff.faces) {
          if (std::max(f.box.w, f.box.h) >= 40) take(ff.image, f, ff.index);
        }
        return Status::ok();
      });
      if (!r.ok()) {
        std::fprintf(stderr, "blend_probe: %s\n", r.status().message().c_str());
        continue;
      }
    }
    std::vector<Image> crops;
    for (const Sample& s : samples) crops.push_back(s.crop);
    auto scores = (*det)->score(crops);
    if (!scores.ok()) {
      std::fprintf(stderr, "blend_probe: %s\n", scores.status().message().c_str());
      return 5;
    }
    for (size_t i = 0; i < samples.size(); ++i) {
      samples[i].score = (*scores)[i].score;
      samples[i].heat = (*scores)[i].heatmap;
    }
    const std::string stem = fs::path(path).parent_path().filename().string() + "_" + fs::path(path).stem().string();
    std::vector<double> sc, box, lap, luma, blk;
    for (const Sample& s : samples) {
      csv << '"' << path << '"' << ',' << s.frame << ',' << s.track << ',' << s.box_px << ',' << s.score << ','
          << s.stats.lap_var << ',' << s.stats.mean_luma << ',' << s.stats.sat << ',' << s.stats.blockiness << ','
          << s.quality.mean_luma << ',' << s.quality.lap_var << ',' << (detect::blend_crop_judgeable(s.quality, gate) ? 1 : 0)
          << '\n';
      sc.push_back(s.score);
      box.push_back(s.box_px);
      lap.push_back(s.stats.lap_var);
      luma.push_back(s.stats.mean_luma);
      blk.push_back(s.stats.blockiness);
    }
    auto q = [](std::vector<double> v, double p) {
      if (v.empty()) return std::nan("");
      std::sort(v.begin(), v.end());
      return v[static_cast<size_t>(p * (v.size() - 1))];
    };
    std::printf("| %s | %zu | %.0f | %.3f | %.3f | %.0f | %.0f | %.2f |\n", stem.c_str(), samples.size(), q(box, 0.5),
                q(sc, 0.5), q(sc, 0.9), q(lap, 0.5), q(luma, 0.5), q(blk, 0.5));
    // Mosaic: up to 16 samples spread over the file, crop | heat map, 4 pairs per row.
    if (samples.empty()) continue;
    const int n = std::min<int>(16, static_cast<int>(samples.size()));
    const int side = align.size_px, cols = 4, rows = (n + cols - 1) / cols;
    cv::Mat mosaic(rows * (side + 14), cols * 2 * side, CV_8UC3, cv::Scalar(0, 0, 0));
    for (int k = 0; k < n; ++k) {
      const Sample& s = samples[static_cast<size_t>(k) * samples.size() / n];
      const int x = (k % cols) * 2 * side, y = (k / cols) * (side + 14);
      as_mat(s.crop).copyTo(mosaic(cv::Rect(x, y + 14, side, side)));
      if (!s.heat.empty()) {
        cv::Mat h = as_mat(s.heat), hc;
        cv::applyColorMap(h, hc, cv::COLORMAP_JET);
        cv::resize(hc, hc, cv::Size(side, side));
        hc.copyTo(mosaic(cv::Rect(x + side, y + 14, side, side)));
      }
      char label[64];
      std::snprintf(label, sizeof label, "f%lld %.2f", static_cast<long long>(s.frame), s.score);
      cv::putText(mosaic, label, cv::Point(x + 2, y + 11), cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(255, 255, 255));
    }
    cv::imwrite((fs::path(out_dir) / (stem + ".png")).string(), mosaic);
  }
  return 0;
}
