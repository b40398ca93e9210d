// bench_watermark: the watermark's attack table (docs/watermark.md).
//
//   bench_watermark [--data ../shared/data] [--clips N] [--seconds S] [--unmarked-videos N]
//                   [--photos DIR] [--work DIR] [--skip-fp] [--only-fp | --only-speed | --only-tamper]
//
// Marks generated and real clips (first S seconds of the N first `real` videos in
// DATA/MANIFEST.csv) and the Debian face photos, attacks each marked file with the ffmpeg CLI
// (videos) or OpenCV (stills), and prints per attack: detection rate, payload bit accuracy (64
// bits, decoded even when not found), coded-bit error rate; then PSNR/SSIM of the mark, false
// detections on unmarked videos/stills, tamper localisation on pasted faces, and ms per 1080p frame.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "mark/mark.h"
#include "media/media.h"

namespace fs = std::filesystem;
using namespace unmask;

namespace {

struct Args {
  std::string data;
  std::string photos = "/usr/share/doc/libdlib19.1/examples/faces";
  std::string work = "/tmp/unmask-bench-watermark";
  int clips = 6;
  double seconds = 4.0;
  int unmarked_videos = 1000;
  bool skip_fp = false;
  bool only_fp = false;
  bool only_speed = false;
  bool only_tamper = false;
};

cv::Mat as_mat(Image& im) { return cv::Mat(im.height_px(), im.width_px(), CV_8UC3, im.data()); }
Image from_mat(const cv::Mat& m) {
  Image out(m.cols, m.rows);
  m.copyTo(cv::Mat(m.rows, m.cols, CV_8UC3, out.data()));
  return out;
}

double ssim_gray(const cv::Mat& a8, const cv::Mat& b8) {
  cv::Mat a, b;
  a8.convertTo(a, CV_64F);
  b8.convertTo(b, CV_64F);
  const double c1 = 6.5025, c2 = 58.5225;
  cv::Mat mu_a, mu_b, aa, bb, ab;
  cv::GaussianBlur(a, mu_a, cv::Size(11, 11), 1.5);
  cv::GaussianBlur(b, mu_b, cv::Size(11, 11), 1.5);
  cv::GaussianBlur(a.mul(a), aa, cv::Size(11, 11), 1.5);
  cv::GaussianBlur(b.mul(b), bb, cv::Size(11, 11), 1.5);
  cv::GaussianBlur(a.mul(b), ab, cv::Size(11, 11), 1.5);
  cv::Mat var_a = aa - mu_a.mul(mu_a), var_b = bb - mu_b.mul(mu_b), cov = ab - mu_a.mul(mu_b);
  cv::Mat num = (2 * mu_a.mul(mu_b) + c1).mul(2 * cov + c2);
  cv::Mat den = (mu_a.mul(mu_a) + mu_b.mul(mu_b) + c1).mul(var_a + var_b + c2);
  cv::Mat ratio;
  cv::divide(num, den, ratio);
  return cv::mean(ratio)[0];
}

double ssim(const Image& a, const Image& b) {
  cv::Mat ga, gb;
  cv::cvtColor(cv::Mat(a.height_px(), a.width_px(), CV_8UC3, const_cast<uint8_t*>(a.data())), ga, cv::COLOR_BGR2GRAY);
  cv::cvtColor(cv::Mat(b.height_px(), b.width_px(), CV_8UC3, const_cast<uint8_t*>(b.data())), gb, cv::COLOR_BGR2GRAY);
  return ssim_gray(ga, gb);
}

bool run(const std::string& cmd) { return std::system((cmd + " > /dev/null 2>&1").c_str()) == 0; }

int payload_bits_equal(uint64_t a, uint64_t b) { return 64 - __builtin_popcountll(a ^ b); }

struct Tally {
  int n = 0, found = 0, correct = 0, wrong = 0;
  double bit_acc_sum = 0, coded_ber_sum = 0;
  void add(const mark::VerifyResult& v, uint64_t truth) {
    ++n;
    found += v.found;
    correct += v.found && v.payload.pack() == truth;
    wrong += v.found && v.payload.pack() != truth;
    bit_acc_sum += payload_bits_equal(v.found ? v.payload.pack() : v.raw_payload_bits, truth) / 64.0;
    coded_ber_sum += v.found ? v.bit_error_rate : 0.5;
  }
};

struct Source {
  std::string name;
  std::string path;  // original
  bool still = false;
};

// A face photo drifting over a slowly changing photo background, 1280x720, 4 s at 25 fps.
Status make_generated_clip(const std::string& photos, const std::string& path) {
  auto face = media::read_image(photos + "/Tom_Cruise_avp_2014_4.jpg");
  auto bg = media::read_image(photos + "/bald_guys.jpg");
  if (!face.ok()) return face.status();
  if (!bg.ok()) return bg.status();
  cv::Mat f, b;
  cv::resize(as_mat(*face), f, cv::Size(270, 382), 0, 0, cv::INTER_AREA);
  cv::resize(as_mat(*bg), b, cv::Size(1400, 800), 0, 0, cv::INTER_AREA);
  media::VideoWriterOptions o;
  o.crf = 16;
  auto w = media::VideoWriter::open(path, 1280, 720, 25.0, o);
  if (!w.ok()) return w.status();
  for (int i = 0; i < 100; ++i) {
    cv::Mat frame = b(cv::Rect(i / 2, i / 4, 1280, 720)).clone();
    f.copyTo(frame(cv::Rect(300 + 4 * i, 150 + i, f.cols, f.rows)));
    UNMASK_RETURN_IF_ERROR((*w)->write(from_mat(frame), -1));
  }
  return (*w)->close();
}

// Widths are kept to multiples of 32: media::VideoReader currently overflows its frame buffer for
// some odd widths (sws_scale writes past the last row; reported to the media owner).
std::vector<std::pair<std::string, std::string>> video_attacks() {
  const std::string x264 = " -c:v libx264 -preset veryfast -pix_fmt yuv420p ";
  return {
      {"none (marked file)", ""},
      {"H.264 CRF 23", x264 + "-crf 23"},
      {"H.264 CRF 28", x264 + "-crf 28"},
      {"H.264 CRF 35", x264 + "-crf 35"},
      {"resize 0.75", "-vf 'scale=trunc(iw*0.75/32)*32:-2'" + x264 + "-crf 18"},
      {"resize 0.5", "-vf 'scale=trunc(iw/64)*32:-2'" + x264 + "-crf 18"},
      {"crop 10%", "-vf 'crop=trunc(iw*0.9/32)*32:trunc(ih*0.45)*2'" + x264 + "-crf 18"},
      {"crop 20%", "-vf 'crop=trunc(iw*0.8/32)*32:trunc(ih*0.4)*2'" + x264 + "-crf 18"},
      {"brightness +20%", "-vf 'lutyuv=y=clip(val*1.2\\,0\\,255)'" + x264 + "-crf 18"},
      {"brightness -20%", "-vf 'lutyuv=y=val*0.8'" + x264 + "-crf 18"},
      {"Gaussian blur s=1", "-vf 'gblur=sigma=1'" + x264 + "-crf 18"},
      {"noise (alls=10)", "-vf 'noise=alls=10:allf=t'" + x264 + "-crf 18"},
      {"frame drop 1/3", "-vf 'select=mod(n\\,3),setpts=N/FRAME_RATE/TB'" + x264 + "-crf 18"},
      {"CRF 28 + resize 0.5", "-vf 'scale=trunc(iw/64)*32:-2'" + x264 + "-crf 28"},
  };
}

// Still attacks in OpenCV; returns the attacked image written to `path` (png unless JPEG).
std::vector<std::string> still_attack_names() {
  return {"none (marked png)", "JPEG 90", "JPEG 70", "JPEG 50", "resize 0.75", "resize 0.5", "crop 10%",
          "crop 20%", "brightness +20%", "brightness -20%", "Gaussian blur s=1", "noise s=4"};
}

std::string attack_still(const cv::Mat& m, int k, const std::string& dir) {
  cv::Mat out = m.clone();
  std::string path = dir + "/still_attack.png";
  std::vector<int> params;
  switch (k) {
    case 1: case 2: case 3:
      path = dir + "/still_attack.jpg";
      params = {cv::IMWRITE_JPEG_QUALITY, k == 1 ? 90 : k == 2 ? 70 : 50};
      break;
    // Widths kept to multiples of 32 (see video_attacks()).
    case 4: case 5: {
      const double f = k == 4 ? 0.75 : 0.5;
      const int w = std::max(32, int(m.cols * f) / 32 * 32);
      cv::resize(m, out, cv::Size(w, int(std::lround(m.rows * double(w) / m.cols))), 0, 0, cv::INTER_AREA);
      break;
    }
    case 6: case 7: {
      const double keep = k == 6 ? 0.9 : 0.8;
      const int w = std::max(32, int(m.cols * keep) / 32 * 32), h = int(m.rows * keep);
      out = m(cv::Rect((m.cols - w) / 2, (m.rows - h) / 2, w, h)).clone();
      break;
    }
    case 8: m.convertTo(out, -1, 1.2, 0); break;
    case 9: m.convertTo(out, -1, 0.8, 0); break;
    case 10: cv::GaussianBlur(m, out, cv::Size(0, 0), 1.0); break;
    case 11: {
      cv::Mat noise(m.size(), CV_16SC3);
      cv::randn(noise, 0, 4);
      cv::Mat tmp;
      m.convertTo(tmp, CV_16SC3);
      tmp += noise;
      tmp.convertTo(out, CV_8UC3);
      break;
    }
    default: break;
  }
  cv::imwrite(path, out, params);
  return path;
}

std::vector<std::string> manifest_videos(const std::string& data, const std::string& label) {
  std::vector<std::string> out;
  std::ifstream in(data + "/MANIFEST.csv");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string c;
    for (int i = 0; i < 3 && std::getline(ss, c, ','); ++i) cols.push_back(c);
    if (cols.size() == 3 && cols[1] == "video" && (label.empty() || cols[2] == label)) out.push_back(data + "/" + cols[0]);
  }
  return out;
}

// CPU time of this thread (ms): on a shared machine wall time mostly measures the other jobs.
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (k == "--data") a.data = next();
    else if (k == "--clips") a.clips = std::atoi(next().c_str());
    else if (k == "--seconds") a.seconds = std::atof(next().c_str());
    else if (k == "--unmarked-videos") a.unmarked_videos = std::atoi(next().c_str());
    else if (k == "--photos") a.photos = next();
    else if (k == "--work") a.work = next();
    else if (k == "--skip-fp") a.skip_fp = true;
    else if (k == "--only-fp") a.only_fp = true;
    else if (k == "--only-speed") a.only_fp = a.skip_fp = a.only_speed = true;
    else if (k == "--only-tamper") a.skip_fp = a.only_tamper = true;
    else { std::fprintf(stderr, "unknown argument %s\n", k.c_str()); return 2; }
  }
  cv::setNumThreads(1);  // the per-frame timings are for one core
  fs::create_directories(a.work);
  const std::string w = a.work;

  // ---- sources ----
  std::vector<Source> videos, stills;
  if (!a.only_fp && make_generated_clip(a.photos, w + "/generated.mp4").is_ok()) videos.push_back({"generated 1280x720", w + "/generated.mp4"});
  if (!a.data.empty() && !a.only_fp) {
    int n = 0;
    for (const std::string& v : manifest_videos(a.data, "real")) {
      if (n >= a.clips) break;
      const std::string dst = w + "/real" + std::to_string(n) + ".mp4";
      if (!run("ffmpeg -v error -y -i '" + v + "' -t " + std::to_string(a.seconds) +
               " -c:v libx264 -preset veryfast -crf 16 -pix_fmt yuv420p -an " + dst)) continue;
      videos.push_back({fs::path(v).parent_path().filename().string() + "/" + fs::path(v).filename().string(), dst});
      ++n;
    }
  }
  for (const auto& e : fs::directory_iterator(a.photos)) {
    if (e.path().extension() == ".jpg" && !a.only_fp) stills.push_back({e.path().filename().string(), e.path().string(), true});
  }
  std::sort(stills.begin(), stills.end(), [](const Source& x, const Source& y) { return x.name < y.name; });

  std::printf("# unmask watermark benchmark\n\n%zu videos (%g s each), %zu stills\n\n", videos.size(), a.seconds, stills.size());

  // ---- videos: embed, attack, verify ----
  const auto attacks = video_attacks();
  std::vector<Tally> vt(attacks.size());
  double psnr_sum = 0, ssim_sum = 0;
  int quality_n = 0;
  uint32_t issuer = 0x1234;
  std::printf("| video | frames | PSNR dB | SSIM |\n|---|---|---|---|\n");
  for (const Source& s : videos) {
    if (a.only_tamper) break;  // --only-tamper: the tamper table alone
    mark::MarkOptions mo;
    mo.issuer = ++issuer;
    mo.sequence = 42;
    const std::string marked = w + "/marked.mp4";
    auto rep = mark::embed_file(s.path, marked, mo);
    if (!rep.ok()) { std::printf("| %s | embed failed: %s | | |\n", s.name.c_str(), rep.status().message().c_str()); continue; }
    // SSIM of the mark itself on the first 10 decoded frames (before the output encoder).
    auto reader = media::VideoReader::open(s.path);
    auto marker = mark::FrameMarker::create(rep->width_px, rep->height_px, mo);
    double ssim_clip = 0;
    int n = 0;
    VideoFrame f;
    while (n < 10 && reader.ok() && marker.ok() && *(*reader)->read(f)) {
      Image m = f.image;
      if (!(*marker)->mark(m).is_ok()) break;
      ssim_clip += ssim(f.image, m);
      ++n;
    }
    ssim_clip /= std::max(1, n);
    psnr_sum += rep->psnr_db;
    ssim_sum += ssim_clip;
    ++quality_n;
    std::printf("| %s | %lld | %.2f | %.4f |\n", s.name.c_str(), static_cast<long long>(rep->n_frames), rep->psnr_db, ssim_clip);
    std::fflush(stdout);
    const uint64_t truth = rep->payload.pack();
    for (size_t k = 0; k < attacks.size(); ++k) {
      std::string target = marked;
      if (!attacks[k].second.empty()) {
        target = w + "/attacked.mp4";
        if (!run("ffmpeg -v error -y -i " + marked + " " + attacks[k].second + " " + target)) {
          std::fprintf(stderr, "attack failed: %s\n", attacks[k].first.c_str());
          continue;
        }
      }
      mark::VerifyOptions vo;
      vo.fingerprints = false;
      vo.tamper = false;
      auto v = mark::verify_file(target, vo);
      if (v.ok()) vt[k].add(*v, truth);
    }
  }
  std::printf("\nMean over videos: PSNR %.2f dB, SSIM %.4f\n\n", psnr_sum / std::max(1, quality_n), ssim_sum / std::max(1, quality_n));
  std::printf("| attack (videos) | n | detected | payload bit accuracy | coded BER (found) | wrong payloads |\n|---|---|---|---|---|---|\n");
  for (size_t k = 0; k < attacks.size(); ++k) {
    const Tally& t = vt[k];
    if (t.n == 0) continue;
    std::printf("| %s | %d | %d/%d | %.4f | %.3f | %d |\n", attacks[k].first.c_str(), t.n, t.correct, t.n,
                t.bit_acc_sum / t.n, t.found ? t.coded_ber_sum / t.n : 0.5, t.wrong);
  }
  std::fflush(stdout);

  // ---- stills ----
  const auto still_names = still_attack_names();
  std::vector<Tally> st(still_names.size());
  double still_psnr = 0, still_ssim = 0;
  for (const Source& s : stills) {
    if (a.only_tamper) break;  // --only-tamper: the tamper table alone
    mark::MarkOptions mo;
    mo.issuer = ++issuer;
    const std::string marked = w + "/marked.png";
    auto rep = mark::embed_file(s.path, marked, mo);
    if (!rep.ok()) continue;
    auto orig = media::read_image(s.path);
    auto mk = media::read_image(marked);
    still_psnr += rep->psnr_db;
    still_ssim += ssim(*orig, *mk);
    cv::Mat m = as_mat(*mk);
    for (size_t k = 0; k < still_names.size(); ++k) {
      const std::string path = attack_still(m, static_cast<int>(k), w);
      auto v = mark::verify_file(path);
      if (v.ok()) st[k].add(*v, rep->payload.pack());
    }
  }
  std::printf("\nStills (%zu Debian photos, marked as PNG): mean PSNR %.2f dB, SSIM %.4f\n\n", stills.size(),
              still_psnr / std::max<size_t>(1, stills.size()), still_ssim / std::max<size_t>(1, stills.size()));
  std::printf("| attack (stills) | n | detected | payload bit accuracy | wrong payloads |\n|---|---|---|---|---|\n");
  for (size_t k = 0; k < still_names.size(); ++k) {
    const Tally& t = st[k];
    if (t.n == 0) continue;
    std::printf("| %s | %d | %d/%d | %.4f | %d |\n", still_names[k].c_str(), t.n, t.correct, t.n, t.bit_acc_sum / t.n, t.wrong);
  }
  std::fflush(stdout);

  // ---- tamper localisation: paste a face over the centre of marked clips, re-encode at CRF 23 ----
  std::printf("\n| tamper (pasted face, CRF 23) | readable frames | flagged frames | mean IoU | untouched CRF 23: readable | blocks falsely flagged |\n|---|---|---|---|---|---|\n");
  double iou_all = 0, false_all = 0;
  int iou_n = 0, false_n = 0;
  for (const Source& s : videos) {
    mark::MarkOptions mo;
    mo.issuer = 7;
    const std::string marked = w + "/tmarked.mp4";
    auto rep = mark::embed_file(s.path, marked, mo);
    if (!rep.ok()) continue;
    const int side = rep->height_px / 3;
    const Box truth{static_cast<double>((rep->width_px - side) / 2), static_cast<double>((rep->height_px - side) / 2),
                    static_cast<double>(side), static_cast<double>(side)};
    auto face = media::read_image(a.photos + "/2008_001009.jpg");
    cv::Mat patch;
    cv::resize(as_mat(*face), patch, cv::Size(side, side), 0, 0, cv::INTER_AREA);
    cv::imwrite(w + "/patch.png", patch);
    const std::string x264 = " -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p ";
    run("ffmpeg -v error -y -i " + marked + " -i " + w + "/patch.png -filter_complex overlay=" +
        std::to_string(int(truth.x)) + ":" + std::to_string(int(truth.y)) + x264 + w + "/pasted.mp4");
    run("ffmpeg -v error -y -i " + marked + x264 + w + "/untouched.mp4");
    mark::VerifyOptions vo;
    vo.fingerprints = false;
    auto pasted = mark::verify_file(w + "/pasted.mp4", vo);
    auto clean = mark::verify_file(w + "/untouched.mp4", vo);
    double mean_iou = 0;
    int readable = 0, flagged = 0;
    if (pasted.ok() && pasted->tamper_checked) {
      readable = pasted->tamper_frames_readable;
      flagged = static_cast<int>(pasted->tamper_frames.size());
      for (const auto& t : pasted->tamper_frames) {
        double best = 0;
        for (const Box& b : t.regions) best = std::max(best, iou(b, truth));
        mean_iou += best;
      }
      // Readable frames without any flagged region count as IoU 0.
      mean_iou = readable > 0 ? mean_iou / readable : 0.0;
      iou_all += mean_iou;
      ++iou_n;
    }
    double false_frac = 0;
    int clean_readable = 0;
    if (clean.ok() && clean->tamper_checked) {
      false_frac = clean->tamper_mean_fraction_blocks;
      clean_readable = clean->tamper_frames_readable;
      false_all += false_frac;
      ++false_n;
    }
    std::printf("| %s | %d | %d | %.3f | %d | %.4f |\n", s.name.c_str(), readable, flagged, mean_iou, clean_readable, false_frac);
    std::fflush(stdout);
  }
  std::printf("\nMean tamper IoU %.3f over %d clips; mean fraction of blocks falsely flagged %.4f over %d clips\n",
              iou_all / std::max(1, iou_n), iou_n, false_all / std::max(1, false_n), false_n);

  // ---- false detections on unmarked media ----
  if (!a.skip_fp && !a.data.empty()) {
    int n_videos = 0, n_false = 0;
    long long n_frames = 0;
    for (const std::string& v : manifest_videos(a.data, "")) {
      if (n_videos >= a.unmarked_videos) break;
      mark::VerifyOptions vo;
      vo.max_frames = 400;
      vo.fingerprints = false;
      vo.tamper = false;
      auto r = mark::verify_file(v, vo);
      if (!r.ok()) continue;
      ++n_videos;
      n_frames += r->frames_checked;
      n_false += r->found;
    }
    int n_images = 0, n_image_false = 0;
    for (const Source& s : stills) {
      auto r = mark::verify_file(s.path);
      if (!r.ok()) continue;
      ++n_images;
      n_image_false += r->found;
    }
    std::printf("\nFalse detections on unmarked media: %d of %d videos (%lld frames checked, up to 400 per video), "
                "%d of %d stills\n", n_false, n_videos, n_frames, n_image_false, n_images);
  }

  // ---- speed at 1080p, one core ----
  if ((!a.only_fp || a.only_speed) && !a.only_tamper) for (const char* photo : {"2008_002506.jpg", "bald_guys.jpg"}) {
    auto face = media::read_image(a.photos + "/" + photo);
    cv::Mat big;
    cv::resize(as_mat(*face), big, cv::Size(1920, 1080), 0, 0, cv::INTER_AREA);
    const Image frame = from_mat(big);
    mark::MarkOptions mo;
    mo.issuer = 1;
    auto marker = mark::FrameMarker::create(1920, 1080, mo);
    std::vector<Image> marked;
    double t0 = thread_cpu_ms();
    constexpr int kN = 20;
    for (int i = 0; i < kN; ++i) {
      Image m = frame;
      (void)(*marker)->mark(m);
      marked.push_back(std::move(m));
    }
    const double copy_free = (thread_cpu_ms() - t0) / kN;
    mo.informed = false;
    auto plain = mark::FrameMarker::create(1920, 1080, mo);
    t0 = thread_cpu_ms();
    for (int i = 0; i < kN; ++i) {
      Image m = frame;
      (void)(*plain)->mark(m);
    }
    const double plain_ms = (thread_cpu_ms() - t0) / kN;
    double verify_ms[2];
    for (int tamper = 0; tamper < 2; ++tamper) {
      mark::VerifyOptions vo;
      vo.tamper = tamper == 1;
      auto v = mark::FrameVerifier::create(vo);
      t0 = thread_cpu_ms();
      for (int i = 0; i < kN; ++i) (void)v->add(marked[i], i, i * 40000);
      const auto r = v->finish();
      verify_ms[tamper] = (thread_cpu_ms() - t0) / kN;
      if (tamper == 0) std::printf("\n%s at 1080p: %s", photo, r.found ? "found" : "NOT found (fallback scan ran)");
    }
    std::printf("\n1080p, one core (cv::setNumThreads(1)), thread CPU time, %d frames: embed %.1f ms/frame (informed), %.1f ms/frame "
                "(plain pattern); verify %.1f ms/frame (robust only), %.1f ms/frame (with tamper layer), "
                "detection amortised over %d frames\n",
                kN, copy_free, plain_ms, verify_ms[0], verify_ms[1], kN);
  }
  return 0;
}
