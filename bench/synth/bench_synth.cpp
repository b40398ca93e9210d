// bench_synth: how fakes look and what they cost.
//  * seconds per frame of the landmark swap on a 720p clip (a Debian-shipped face moving over a
//    background, 5 s at 25 fps, generated here with ffmpeg), with Poisson and with alpha blending;
//  * contact sheets (source | target | swap and real | self-blend | mask): one from
//    Debian-shipped photos (committable: docs/synth_contact_sheet.png) and, when --data is given,
//    one from ../shared/data face photos, written under --out only (research licences: looked at,
//    never committed).
//
//   bench_synth [--data DIR] [--out DIR] [--pairs N] [--no-speed]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <sstream>

#include "face/face.h"
#include "media/media.h"
#include "synth/synth.h"

namespace {

namespace fs = std::filesystem;
using namespace unmask;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

cv::Mat to_mat(const Image& img) {
  cv::Mat m(img.height_px(), img.width_px(), CV_8UC(img.channels()), const_cast<uint8_t*>(img.data()));
  cv::Mat out;
  if (img.channels() == 1) cv::cvtColor(m, out, cv::COLOR_GRAY2BGR);
  else out = m.clone();
  return out;
}

cv::Mat tile(const cv::Mat& m, int side) {
  cv::Mat out;
  const double s = static_cast<double>(side) / std::max(m.cols, m.rows);
  cv::resize(m, out, cv::Size(), s, s, cv::INTER_AREA);
  cv::Mat canvas(side, side, CV_8UC3, cv::Scalar(40, 40, 40));
  out.copyTo(canvas(cv::Rect((side - out.cols) / 2, (side - out.rows) / 2, out.cols, out.rows)));
  return canvas;
}

// Rows of three tiles each.
cv::Mat sheet(const std::vector<std::array<cv::Mat, 3>>& rows, int side) {
  cv::Mat out(side * static_cast<int>(rows.size()), side * 3, CV_8UC3, cv::Scalar(0, 0, 0));
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int c = 0; c < 3; ++c) tile(rows[r][c], side).copyTo(out(cv::Rect(c * side, static_cast<int>(r) * side, side, side)));
  }
  return out;
}

std::optional<face::AlignedFace> aligned_face(face::FaceDetector& det, const Image& img) {
  auto faces = det.detect_faces(img);
  if (!faces.ok() || faces->empty()) return std::nullopt;
  auto a = face::align_face(img, faces->front().landmarks, {.size_px = 256, .margin = 0.25});
  if (!a.ok()) return std::nullopt;
  return std::move(a.value());
}

// The region around the largest face of `img` (its box grown 2.2x, clipped), or the whole image
// when there is no face.
cv::Rect face_rect(face::FaceDetector& det, const Image& img) {
  const cv::Rect whole(0, 0, img.width_px(), img.height_px());
  auto faces = det.detect(img);
  const face::Face* largest = faces.ok() ? face::largest_face(*faces) : nullptr;
  if (largest == nullptr) return whole;
  const Box b = largest->box;
  const double cx = b.x + b.w / 2, cy = b.y + b.h / 2, side = 2.2 * std::max(b.w, b.h);
  const cv::Rect r = cv::Rect(static_cast<int>(cx - side / 2), static_cast<int>(cy - side / 2), static_cast<int>(side),
                              static_cast<int>(side)) & whole;
  return r.area() > 0 ? r : whole;
}

// Contact sheet rows from a list of photos: swaps of photo i+1 onto photo i, then self-blends.
cv::Mat make_sheet(const std::vector<std::string>& photos, std::shared_ptr<const face::FaceModels> models, int pairs,
                   const std::string& work) {
  face::DetectOptions d;
  d.upsample = 1;
  face::FaceDetector det(models, d);
  std::vector<std::array<cv::Mat, 3>> rows;
  int made = 0;
  for (size_t i = 0; i + 1 < photos.size() && made < pairs; i += 2) {
    const std::string out = work + "/swap_" + std::to_string(i) + ".png";
    auto swapped = synth::swap_files(photos[i + 1], photos[i], out, {}, models);
    if (!swapped.ok() || swapped->n_swapped == 0) continue;
    auto src = media::read_image(photos[i + 1]);
    auto tgt = media::read_image(photos[i]);
    auto swp = media::read_image(out);
    if (!src.ok() || !tgt.ok() || !swp.ok()) continue;
    // Crop target and swap to the same face region, so the swap can be judged at thumbnail size.
    const cv::Rect region = face_rect(det, *tgt);
    rows.push_back({to_mat(*src)(face_rect(det, *src)).clone(), to_mat(*tgt)(region).clone(), to_mat(*swp)(region).clone()});
    ++made;
  }
  std::mt19937_64 rng(11);
  made = 0;
  for (size_t i = 0; i < photos.size() && made < pairs; ++i) {
    auto img = media::read_image(photos[i]);
    if (!img.ok()) continue;
    auto a = aligned_face(det, *img);
    if (!a) continue;
    auto s = synth::self_blend(a->crop, a->landmarks, rng);
    if (!s.ok()) continue;
    rows.push_back({to_mat(s->real), to_mat(s->fake), to_mat(s->mask)});
    ++made;
  }
  return sheet(rows, 192);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, out = "bench/out/synth", autoencoder;
  int pairs = 4;
  bool speed = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) data = argv[++i];
    else if (a == "--out" && i + 1 < argc) out = argv[++i];
    else if (a == "--pairs" && i + 1 < argc) pairs = std::atoi(argv[++i]);
    else if (a == "--no-speed") speed = false;
    else if (a == "--autoencoder" && i + 1 < argc) autoencoder = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_synth [--data DIR] [--out DIR] [--pairs N] [--no-speed] [--autoencoder MODEL]\n");
      return 2;
    }
  }
  if (data.empty() && std::getenv("UNMASK_DATA") != nullptr) data = std::getenv("UNMASK_DATA");
  fs::create_directories(out);
  auto models = face::FaceModels::load();
  if (!models.ok()) {
    std::fprintf(stderr, "%s\n", models.status().message().c_str());
    return 4;
  }

  const std::string dir = "/usr/share/doc/libdlib19.1/examples/faces/";
  // 1. Speed at 720p.
  if (speed) {
  const std::string clip = out + "/target_720p.mp4";
  const std::string cmd = "ffmpeg -v error -y -f lavfi -i color=gray:s=1280x720:r=25 -loop 1 -i " + dir +
                          "Tom_Cruise_avp_2014_4.jpg -filter_complex \"[1:v]scale=360:-2[f];[0:v][f]overlay=x='(W-w)*t/5':"
                          "y='(H-h)/2',format=yuv420p[v]\" -map \"[v]\" -t 5 -c:v libx264 -crf 20 " + clip;
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "bench_synth: ffmpeg could not make the 720p clip\n");
    return 3;
  }
  std::printf("| synth swap (landmark) at 720p | frames | seconds | s/frame |\n|---|---|---|---|\n");
  for (bool poisson : {true, false}) {
    synth::SwapOptions o;
    o.poisson = poisson;
    const double t0 = now_s();
    auto r = synth::swap_files(dir + "2008_001009.jpg", clip, out + "/swap_720p.mp4", o, *models);
    const double t = now_s() - t0;
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().message().c_str());
      return 3;
    }
    std::printf("| %s blend | %lld | %.1f | %.3f |\n", poisson ? "Poisson" : "alpha", static_cast<long long>(r->n_frames), t,
                t / std::max<int64_t>(1, r->n_frames));
    std::fflush(stdout);
  }
  // The autoencoder swap with a model made by `unmask synth train-swap` (any pair: the time per
  // frame depends on the model's face size, not on who is in it).
  if (!autoencoder.empty()) {
    synth::SwapOptions o;
    o.method = "autoencoder";
    o.model_path = autoencoder;
    const double t0 = now_s();
    auto r = synth::swap_files(dir + "2008_001009.jpg", clip, out + "/swap_ae_720p.mp4", o, *models);
    const double t = now_s() - t0;
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().message().c_str());
      return r.status().code() == StatusCode::kModel ? 4 : 3;
    }
    std::printf("| autoencoder (%s), Poisson blend | %lld | %.1f | %.3f |\n", fs::path(autoencoder).filename().c_str(),
                static_cast<long long>(r->n_frames), t, t / std::max<int64_t>(1, r->n_frames));
  }
  }

  // 2. Contact sheets.
  std::vector<std::string> debian;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".jpg") debian.push_back(e.path().string());
  }
  std::sort(debian.begin(), debian.end());
  cv::imwrite(out + "/contact_sheet_debian.png", make_sheet(debian, *models, pairs, out));
  std::printf("\ncontact sheet (Debian photos): %s/contact_sheet_debian.png\n", out.c_str());
  if (!data.empty()) {
    std::vector<std::string> photos;
    std::ifstream manifest(data + "/MANIFEST.csv");
    for (std::string line; std::getline(manifest, line);) {
      if (line.find(",image,real,delonyohan/deeplearn-agepred") == std::string::npos) continue;
      photos.push_back(data + "/" + line.substr(0, line.find(',')));
    }
    std::mt19937 pick(5);
    std::shuffle(photos.begin(), photos.end(), pick);
    photos.resize(std::min<size_t>(photos.size(), 40));
    cv::imwrite(out + "/contact_sheet_shared.png", make_sheet(photos, *models, pairs, out));
    std::printf("contact sheet (../shared/data UTKFace photos, not for committing): %s/contact_sheet_shared.png\n",
                out.c_str());
  }
  return 0;
}
