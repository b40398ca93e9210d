// bench_scan: the cost and the accuracy of `unmask scan`.
//
//   speed    wall time of `unmask scan --json` on generated 10 s clips (a Debian face photo drifting
//            over a blurred copy of itself, 30 fps, AAC tone) at 720p and 1080p, next to
//            `ffmpeg -f null` decoding the same clip in the same run; ratio = scan / decode.
//            Targets: 720p scan <= 5 s and <= 3x decode.
//   memory   peak RSS (getrusage of the child) of `unmask scan` on a generated clip of
//            --long-minutes minutes (default 10) at 720p whose sound is speech-like (voiced
//            syllables and pauses, so that the voice and lip-sync analyses run all along), and on
//            an audio-only file (AAC) of the same sound and length. Target < 1 GiB at any length.
//   accuracy with --data DIR (holds MANIFEST.csv): every video of the manifest through
//            scan::scan_file with the models found in --models (default: the detector registry's
//            default folder), per source and overall: AUC, AP, EER, log loss, accuracy of the fused
//            score and of each detector, with a bootstrap 95 % interval of the AUC, and the log
//            loss with both classes weighted equally (the 50 % prior scan's score is stated at).
//            Also every detector on each source with both classes, and the "held-out sources":
//            those every loaded model's card lists under data.held_out_sources (media no detector
//            trained or was calibrated on; the number that matters).
//
// Usage: bench_scan [--data DIR] [--models DIR] [--only-speed | --only-memory | --only-accuracy]
//                   [--long-minutes N] [--work DIR] [--frames N] [--dump SCORES.csv] [--unmask BIN]
// Generated clips are cached in --work (default /tmp/unmask-bench-scan). --unmask runs another
// build of unmask (e.g. an older one, for a before/after table).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "learn/learn.h"
#include "scan/scan.h"

namespace {

namespace fs = std::filesystem;
using namespace unmask;

struct ChildRun {
  int exit_code = -1;
  double wall_s = 0;
  double cpu_s = 0;
  long max_rss_kib = 0;
};

// Runs argv with stdout and stderr to /dev/null; wall time, CPU time and peak RSS of the child.
ChildRun run_child(const std::vector<std::string>& args) {
  ChildRun out;
  const auto started = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    std::FILE* null = std::fopen("/dev/null", "w");
    if (null != nullptr) {
      dup2(fileno(null), 1);
      dup2(fileno(null), 2);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  out.cpu_s = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
  out.max_rss_kib = usage.ru_maxrss;
  return out;
}

constexpr const char* kPhoto = "/usr/share/doc/libdlib19.1/examples/faces/Tom_Cruise_avp_2014_4.jpg";

// Speech-like sound for ffmpeg's aevalsrc: a 105-155 Hz voice with three harmonics, syllables at
// ~3.7 Hz and pauses of ~1-2 s, over faint noise (the voice activity detector finds speech in it).
constexpr const char* kSpeechLike =
    "aevalsrc=exprs='(0.3*(sin(2*PI*(130+25*sin(2*PI*0.7*t))*t)+0.5*sin(4*PI*(130+25*sin(2*PI*0.7*t))*t)"
    "+0.3*sin(6*PI*(130+25*sin(2*PI*0.7*t))*t))*(0.55+0.45*sin(2*PI*3.7*t))"
    "*gt(sin(2*PI*0.17*t)+0.4*sin(2*PI*0.41*t),-0.5))+0.003*(2*random(0)-1)':s=48000";

// A clip like the demo's, at any size and length: the photo drifting across a blurred copy of
// itself (the drift repeats every 8 s), 30 fps, a 220 Hz tone (or the speech-like sound).
bool make_clip(const std::string& path, int width, int height, double seconds, bool speech = false) {
  if (fs::exists(path)) return true;
  const int fg_w = width * 15 / 32;
  char filter[1024];
  std::snprintf(filter, sizeof filter,
                "[0:v]split[a][b];[a]scale=%d:-2,crop=%d:%d,boxblur=20:2[bg];[b]scale=%d:-2[fg];"
                "[bg][fg]overlay=x='%d+%d*abs(mod(t,8)-4)/4':y='-%d',format=yuv420p[v]",
                width, width, height, fg_w, width * 3 / 16, width / 8, height / 18);
  const std::string tmp = path + ".tmp.mp4";
  std::vector<std::string> args = {"ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-i", kPhoto,
                                   "-f", "lavfi", "-i", speech ? kSpeechLike : "sine=frequency=220:sample_rate=48000",
                                   "-filter_complex", filter, "-map", "[v]", "-map", "1:a",
                                   "-t", std::to_string(seconds), "-r", "30", "-c:v", "libx264", "-preset", "veryfast",
                                   "-crf", "20", "-c:a", "aac", tmp};
  if (run_child(args).exit_code != 0) return false;
  fs::rename(tmp, path);
  return true;
}

std::string g_unmask = UNMASK_BINARY;
std::string unmask_binary() { return g_unmask; }

// An audio-only AAC file of the speech-like sound.
bool make_audio(const std::string& path, double seconds) {
  if (fs::exists(path)) return true;
  const std::string tmp = path + ".tmp.m4a";
  if (run_child({"ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", kSpeechLike, "-t", std::to_string(seconds), "-c:a",
                 "aac", "-b:a", "64k", tmp})
          .exit_code != 0) {
    return false;
  }
  fs::rename(tmp, path);
  return true;
}

// "1-min 5-min 15-min" load averages: wall times on a shared machine depend on them.
std::string load_averages() {
  std::ifstream in("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  in >> a >> b >> c;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", a, b, c);
  return buf;
}

void bench_speed(const std::string& work, const std::string& models, int frames) {
  std::printf("\n## Speed: unmask scan vs ffmpeg decode, 10 s clips, 30 fps (best of 2 runs each)\n\n");
  std::printf("load average at the start: %s\n\n", load_averages().c_str());
  std::printf("| clip | decode-only s | decode CPU s | scan s | ratio | scan CPU s | CPU ratio | scan peak RSS MiB | target |\n"
              "|---|---|---|---|---|---|---|---|---|\n");
  for (auto [w, h] : std::vector<std::pair<int, int>>{{1280, 720}, {1920, 1080}}) {
    const std::string clip = work + "/face_" + std::to_string(h) + "p_10s.mp4";
    if (!make_clip(clip, w, h, 10.0)) {
      std::printf("| %dp | could not generate the clip (ffmpeg) | | | | | |\n", h);
      continue;
    }
    ChildRun best_decode, best_scan;
    best_decode.wall_s = best_scan.wall_s = 1e9;
    for (int rep = 0; rep < 2; ++rep) {
      ChildRun d = run_child({"ffmpeg", "-v", "error", "-i", clip, "-f", "null", "-"});
      if (d.wall_s < best_decode.wall_s) best_decode = d;
      // Started as a user starts it: without OMP_WAIT_POLICY (unmask sets it itself).
      std::vector<std::string> args = {"env", "-u", "OMP_WAIT_POLICY", unmask_binary(), "scan", "--json", "--quiet",
                                       "--frames", std::to_string(frames), clip};
      if (!models.empty()) args.insert(args.begin() + 5, {"--models", models});
      ChildRun s = run_child(args);
      if (s.exit_code != 0) {
        std::printf("| %dp | %.2f | scan failed with exit %d | | | | |\n", h, d.wall_s, s.exit_code);
        best_scan.exit_code = s.exit_code;
        break;
      }
      if (s.wall_s < best_scan.wall_s) best_scan = s;
    }
    if (best_scan.exit_code != 0) continue;
    std::printf("| %dp | %.2f | %.2f | %.2f | %.1fx | %.2f | %.1fx | %.0f | %s |\n", h, best_decode.wall_s, best_decode.cpu_s,
                best_scan.wall_s, best_scan.wall_s / best_decode.wall_s, best_scan.cpu_s, best_scan.cpu_s / best_decode.cpu_s,
                best_scan.max_rss_kib / 1024.0,
                h == 720 ? (best_scan.wall_s <= 5.0 && best_scan.wall_s <= 3 * best_decode.wall_s ? "met (<= 5 s, <= 3x)"
                                                                                                : "missed (<= 5 s, <= 3x)")
                         : "-");
    std::fflush(stdout);
  }
  std::printf("\nload average at the end: %s\n", load_averages().c_str());
}

void bench_memory(const std::string& work, const std::string& models, int minutes) {
  std::printf("\n## Memory: peak RSS of unmask scan, %d minutes (speech-like sound)\n\n", minutes);
  std::printf("binary: %s; load average at the start: %s\n\n", unmask_binary().c_str(), load_averages().c_str());
  std::printf("| file | frames | scan exit | scan wall s | scan CPU s | peak RSS MiB | target |\n|---|---|---|---|---|---|---|\n");
  struct Item {
    std::string label, path;
    bool video;
  };
  const std::string m = std::to_string(minutes);
  for (const Item& item : {Item{m + " min 1280x720 video", work + "/face_720p_" + m + "min_speech.mp4", true},
                           Item{m + " min audio-only (AAC)", work + "/speech_" + m + "min.m4a", false}}) {
    const auto t = std::chrono::steady_clock::now();
    if (!(item.video ? make_clip(item.path, 1280, 720, minutes * 60.0, true) : make_audio(item.path, minutes * 60.0))) {
      std::printf("| %s | could not generate it (ffmpeg) | | | | | |\n", item.label.c_str());
      continue;
    }
    const double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    std::vector<std::string> args = {unmask_binary(), "scan", "--json", "--quiet", item.path};
    if (!models.empty()) args.insert(args.begin() + 2, {"--models", models});
    ChildRun s = run_child(args);
    std::printf("| %s (generated in %.0f s) | %s | %d | %.1f | %.1f | %.0f | %s |\n", item.label.c_str(), gen_s,
                item.video ? std::to_string(minutes * 60 * 30).c_str() : "-", s.exit_code, s.wall_s, s.cpu_s,
                s.max_rss_kib / 1024.0, s.exit_code == 0 && s.max_rss_kib < 1024 * 1024 ? "met (< 1 GiB)" : "missed (< 1 GiB)");
    std::fflush(stdout);
  }
  std::printf("\nload average at the end: %s\n", load_averages().c_str());
}

// Minimal CSV reading for MANIFEST.csv (no quoted commas in its paths); learn::read_manifest
// gives the labels and the source column.
struct Group {
  std::vector<double> fused;
  std::vector<int> labels;
  std::map<std::string, std::pair<std::vector<double>, std::vector<int>>> per_detector;
  int n_failed = 0, n_na = 0;
};

std::string metric(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// The mean of the reals' and the fakes' mean log loss: the log loss on a set with as many fakes as
// reals, which is the prior scan's score is stated at (P(fake) for a file as likely fake as not).
// The pooled log loss of a set with few fakes mostly measures the reals. NaN unless both classes.
double class_balanced_log_loss(const std::vector<double>& s, const std::vector<int>& l) {
  std::vector<double> by_class[2];
  std::vector<int> labels[2];
  for (size_t i = 0; i < s.size(); ++i) {
    by_class[l[i] ? 1 : 0].push_back(s[i]);
    labels[l[i] ? 1 : 0].push_back(l[i] ? 1 : 0);
  }
  if (by_class[0].empty() || by_class[1].empty()) return std::nan("");
  return (learn::log_loss(by_class[0], labels[0]) + learn::log_loss(by_class[1], labels[1])) / 2;
}

// The AUC's bootstrap 95 % interval (learn::roc_auc_interval) as "low-high". With 20 fakes it is
// wide: it says how far apart two runs' AUCs must be before the difference means something.
std::string auc_interval(const std::vector<double>& s, const std::vector<int>& l) {
  const learn::Interval i = learn::roc_auc_interval(s, l);
  if (!std::isfinite(i.low)) return "-";
  return metric(i.low) + "-" + metric(i.high);
}

void print_group_row(const std::string& name, const std::string& scorer, const std::vector<double>& s, const std::vector<int>& l,
                     int n_failed, int n_na) {
  const learn::BinaryMetrics m = learn::binary_metrics(s, l);
  std::printf("| %s | %s | %lld | %lld | %s | %s | %s | %s | %s | %s | %s | %d | %d |\n", name.c_str(), scorer.c_str(),
              static_cast<long long>(m.n_real), static_cast<long long>(m.n_fake), metric(m.auc).c_str(),
              auc_interval(s, l).c_str(), metric(m.ap).c_str(),
              metric(m.eer).c_str(), metric(m.log_loss).c_str(), metric(class_balanced_log_loss(s, l)).c_str(),
              metric(m.accuracy).c_str(), n_failed, n_na);
}

// The sources every loaded model's card lists under data.held_out_sources (cards without that
// list, such as voice's, whose held-out data are audio sets, do not narrow it). Empty when no
// card has the list.
std::set<std::string> held_out_sources(const std::vector<detect::DetectorInfo>& infos) {
  std::set<std::string> out;
  bool first = true;
  for (const auto& i : infos) {
    if (i.model_path.empty()) continue;
    std::filesystem::path card(i.model_path);
    card.replace_extension(".card.json");
    std::ifstream in(card);
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("data") || !j["data"].contains("held_out_sources")) continue;
    const auto& list = j["data"]["held_out_sources"];
    if (!list.is_array()) continue;
    std::set<std::string> mine;
    for (const auto& s : list) {
      if (s.is_string()) mine.insert(s.get<std::string>());
    }
    if (first) {
      out = mine;
      first = false;
    } else {
      std::set<std::string> both;
      std::set_intersection(out.begin(), out.end(), mine.begin(), mine.end(), std::inserter(both, both.end()));
      out = both;
    }
  }
  return out;
}

// `dump`: when not empty, one CSV row per video (path,source,label,fused,evidence) with the
// per-detector scores fusion uses as "name=score;..." and a first comment line naming the loaded
// detectors with their model sha256: what scripts/fit-fusion.sh fits models/fusion.json on.
void bench_accuracy(const std::string& data, const std::string& models, int frames, const std::string& dump) {
  std::printf("\n## Accuracy through scan: videos of %s/MANIFEST.csv\n\n", data.c_str());
  auto items = learn::read_manifest(data + "/MANIFEST.csv");
  if (!items.ok()) {
    std::printf("cannot read the manifest: %s\n", items.status().message().c_str());
    return;
  }
  const std::string dir = models.empty() ? detect::default_models_dir() : models;
  auto detectors = scan::load_available_detectors(dir, {});
  if (!detectors.ok()) {
    std::printf("no detectors: %s\n", detectors.status().message().c_str());
    return;
  }
  auto faces = face::FaceModels::load();
  if (!faces.ok()) {
    std::printf("no face models: %s\n", faces.status().message().c_str());
    return;
  }
  std::string loaded;
  for (const auto& i : detectors->detectors->infos()) loaded += (loaded.empty() ? "" : ", ") + i.name + " (" + i.model_sha256.substr(0, 12) + ")";
  std::printf("models: %s: %s%s\n\n", dir.c_str(), loaded.c_str(),
              detectors->skipped.empty() ? "" : (" (skipped: " + std::to_string(detectors->skipped.size()) + ")").c_str());
  scan::ScanOptions o;
  o.detector_set = detectors->detectors;
  o.fusion = detectors->fusion;
  if (o.fusion) {
    const std::string why = scan::fusion_model_mismatch(*o.fusion, detectors->detectors->infos());
    std::printf("fusion: %s\n\n", why.empty() ? "learned (models/fusion.json): the fused rows below are IN-SAMPLE when it was fitted on "
                                                 "these videos; the honest numbers are fit_fusion's leave-one-source-out table"
                                               : ("max rule: " + why).c_str());
  } else {
    std::printf("fusion: max rule (no fusion.json in the models folder)\n\n");
  }
  o.face_models = *faces;
  std::ofstream dump_out;
  if (!dump.empty()) {
    dump_out.open(dump);
    dump_out << "# detectors:";
    for (const auto& i : detectors->detectors->infos()) dump_out << " " << i.name << "=" << i.model_sha256;
    dump_out << "\npath,source,label,fused,evidence\n";
  }
  o.thumbnails = false;
  o.frames_per_track = frames;
  const std::set<std::string> held_out = held_out_sources(detectors->detectors->infos());
  std::map<std::string, Group> groups;
  Group all, held;
  int n = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& item : *items) {
    auto kind = item.columns.find("kind");
    if (kind == item.columns.end() || kind->second != "video") continue;
    const std::string source = item.columns.count("source_repo") ? item.columns.at("source_repo") : "?";
    auto r = scan::scan_file(item.path, o);
    ++n;
    Group& g = groups[source];
    const bool is_held_out = held_out.count(source) > 0;
    if (!r.ok()) {
      ++g.n_failed;
      ++all.n_failed;
      held.n_failed += is_held_out;
      std::fprintf(stderr, "failed: %s: %s\n", item.path.c_str(), r.status().message().c_str());
      continue;
    }
    if (dump_out.is_open()) {
      std::string ev;
      for (const auto& d : r->detectors) ev += (ev.empty() ? "" : ";") + d.name + "=" + std::to_string(d.score);
      dump_out << '"' << item.path << "\"," << source << "," << (item.label ? "fake" : "real") << "," << r->score << "," << ev
               << "\n" << std::flush;
    }
    const bool na = r->verdict == report::Verdict::kNotApplicable;
    g.n_na += na;
    all.n_na += na;
    held.n_na += na && is_held_out;
    for (Group* x : {&g, &all, is_held_out ? &held : nullptr}) {
      if (!x) continue;
      x->fused.push_back(r->score);
      x->labels.push_back(item.label);
      for (const auto& d : r->detectors) {
        x->per_detector[d.name].first.push_back(d.score);
        x->per_detector[d.name].second.push_back(item.label);
      }
    }
    std::fprintf(stderr, "%d %s %s %.3f %s\n", n, item.label ? "fake" : "real", std::string(report::verdict_name(r->verdict)).c_str(),
                 r->score, item.path.c_str());
  }
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("| source | scorer | n_real | n_fake | AUC | AUC 95 %% interval (bootstrap) | AP | EER | log loss | log loss, classes weighted equally | accuracy | failed | n/a |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  print_group_row("**all videos**", "fused", all.fused, all.labels, all.n_failed, all.n_na);
  for (const auto& [name, d] : all.per_detector) print_group_row("**all videos**", name, d.first, d.second, 0, 0);
  if (!held.labels.empty()) {
    print_group_row("**held-out sources**", "fused", held.fused, held.labels, held.n_failed, held.n_na);
    for (const auto& [name, d] : held.per_detector) print_group_row("**held-out sources**", name, d.first, d.second, 0, 0);
  }
  for (const auto& [source, g] : groups) {
    print_group_row(source, "fused", g.fused, g.labels, g.n_failed, g.n_na);
    const bool both_classes = std::count(g.labels.begin(), g.labels.end(), 1) > 0 &&
                              std::count(g.labels.begin(), g.labels.end(), 0) > 0;
    if (both_classes) {
      for (const auto& [name, d] : g.per_detector) print_group_row(source, name, d.first, d.second, 0, 0);
    }
  }
  std::string held_names;
  for (const auto& s : held_out) held_names += (held_names.empty() ? "" : ", ") + s;
  std::printf("\n%d videos scanned in %.0f s (%.1f s per video). A metric needing both classes is '-' for one-class sources.\n"
              "Held-out sources (in every loaded card's data.held_out_sources): %s.\n",
              n, total_s, n ? total_s / n : 0.0, held_names.empty() ? "none named" : held_names.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, models, dump, work = "/tmp/unmask-bench-scan";
  bool speed = true, memory = true, accuracy = true;
  int minutes = 10, frames = unmask::scan::kDefaultFramesPerTrack;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) data = argv[++i];
    else if (a == "--models" && i + 1 < argc) models = argv[++i];
    else if (a == "--work" && i + 1 < argc) work = argv[++i];
    else if (a == "--dump" && i + 1 < argc) dump = argv[++i];
    else if (a == "--long-minutes" && i + 1 < argc) minutes = std::atoi(argv[++i]);
    else if (a == "--frames" && i + 1 < argc) frames = std::atoi(argv[++i]);
    else if (a == "--unmask" && i + 1 < argc) g_unmask = argv[++i];
    else if (a == "--only-speed") memory = accuracy = false;
    else if (a == "--only-memory") speed = accuracy = false;
    else if (a == "--only-accuracy") speed = memory = false;
    else {
      std::fprintf(stderr,
                   "usage: bench_scan [--data DIR] [--models DIR] [--only-speed|--only-memory|--only-accuracy] "
                   "[--long-minutes N] [--work DIR] [--frames N] [--dump SCORES.csv] [--unmask BIN]\n");
      return 2;
    }
  }
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) setenv("OMP_WAIT_POLICY", "passive", 1);
  fs::create_directories(work);
  std::printf("# bench_scan (unmask %s)\n", std::string(unmask::version()).c_str());
  if (speed) bench_speed(work, models, frames);
  if (memory && minutes > 0) bench_memory(work, models, minutes);
  if (accuracy && !data.empty()) bench_accuracy(data, models, frames, dump);
  return 0;
}
