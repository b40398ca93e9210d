// bench_voice: the voice detector on held-out speech, and its training driver.
//
//   bench_voice --train MANIFEST --out MODEL [--epochs N] [--seed S] [--model-kind cnn|mlp] [--spec-augment] [--mixup ALPHA] [--telephone] [--resume]
//       runs the voice trainer (detect::train_voice_model; `unmask train --detector voice` is the
//       default kind, cnn, without masking) and prints its progress, one line per stage;
//       --spec-augment masks bands and frames of the training patches, --mixup ALPHA mixes them up
//       (lambda ~ Beta(ALPHA, ALPHA); VoiceTrainOptions); --telephone sends a seventh of the channel
//       copies through a telephone line (8 kHz, mu-law);
//       --resume continues from MODEL.ckpt when it exists.
//   bench_voice --eval MANIFEST --model MODEL
//       scores every row of MANIFEST (the held-out split of make_manifests.sh), plus espeak-ng
//       speech in the held-out voices (never used in training) and in the training voices, and
//       Griffin-Lim resynthesis of the held-out real files; prints file-level AUC and EER of each
//       synthetic source against all held-out real speech, window-level numbers, and the compute
//       time per second of audio. MODEL may be a voice ensemble file.
//   bench_voice --band MANIFEST
//       prints, per row, the voiced time and how far the speech's energy above the telephone band
//       (4.2-7.6 kHz) lies below its energy in 0.3-3.4 kHz, in dB (detect::speech_band_ratio): CSV
//       path,label,voiced_s,above_telephone_db.
//   bench_voice --pack OUT --members A.unm,B.unm,... --scaling-manifest TRAIN_MANIFEST
//       packs version-2 voice models (e.g. one recipe with several seeds) into one ensemble file
//       (detect::pack_voice_ensemble): its scalings fitted on the training manifest's rows that
//       some member held out for validation, each scored only by members that held it out; writes
//       OUT and its card.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "detect/audio_features.h"
#include "detect/training.h"
#include "detect/voice.h"
#include "learn/learn.h"
#include "media/media.h"
#include "synth/synth.h"

using namespace unmask;

namespace {

struct Scored {
  double score = 0;
  std::vector<double> windows;
};

int train(const std::string& manifest, const std::string& out, int epochs, uint64_t seed, const std::string& command,
          const std::string& kind, const detect::VoiceTrainOptions& options, bool resume) {
  {
    detect::TrainRequest req;
    req.manifest_path = manifest;
    req.out_path = out;
    req.epochs = epochs;
    req.seed = seed;
    req.threads = 2;
    req.resume = resume;
    req.command_line = command;
    std::string last;
    req.progress = [&](double f, std::string_view stage) {
      if (stage == last) return;
      last = std::string(stage);
      std::printf("[%5.1f%%] %s\n", 100 * f, last.c_str());
      std::fflush(stdout);
    };
    auto summary = detect::train_voice_model(req, kind, options);
    if (!summary.ok()) {
      std::fprintf(stderr, "%s\n", summary.status().message().c_str());
      return 3;
    }
    std::printf("wrote %s and %s: %lld real and %lld synthetic examples (patches for cnn, windows for mlp)\n", summary->model_path.c_str(),
                summary->card_path.c_str(), static_cast<long long>(summary->n_real), static_cast<long long>(summary->n_fake));
    for (const auto& [k, v] : summary->metrics) std::printf("  %s = %.4f\n", k.c_str(), v);
    return 0;
  }
}

void print_row(const std::string& name, const std::vector<Scored>& fakes, const std::vector<Scored>& reals) {
  std::vector<double> s;
  std::vector<int> y;
  std::vector<double> ws;
  std::vector<int> wy;
  for (const auto& r : reals) {
    s.push_back(r.score);
    y.push_back(0);
    for (double w : r.windows) { ws.push_back(w); wy.push_back(0); }
  }
  int n_caught = 0;
  for (const auto& f : fakes) {
    s.push_back(f.score);
    y.push_back(1);
    n_caught += f.score >= 0.5;
    for (double w : f.windows) { ws.push_back(w); wy.push_back(1); }
  }
  if (fakes.empty()) return;
  std::printf("| %s | %zu | %.3f | %.1f%% | %.1f%% | %zu | %.3f | %.1f%% |\n", name.c_str(), fakes.size(), learn::roc_auc(s, y),
              100 * learn::equal_error_rate(s, y), 100.0 * n_caught / fakes.size(), ws.size(),
              learn::roc_auc(ws, wy), 100 * learn::equal_error_rate(ws, wy));
}

int eval(const std::string& manifest, const std::string& model_path) {
  auto detector = detect::load_voice_detector(model_path);
  if (!detector.ok()) {
    std::fprintf(stderr, "%s\n", detector.status().message().c_str());
    return 4;
  }
  auto items = learn::read_manifest(manifest);
  if (!items.ok()) {
    std::fprintf(stderr, "%s\n", items.status().message().c_str());
    return 3;
  }
  double compute_s = 0, media_s = 0;
  auto score = [&](const Audio& audio) -> std::optional<Scored> {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = (*detector)->score(audio);
    compute_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    media_s += audio.duration_s();
    if (!r.ok() || !r->score) return std::nullopt;
    Scored s;
    s.score = *r->score;
    for (const auto& w : r->segments) s.windows.push_back(w.score);
    return s;
  };
  std::map<std::string, std::vector<Scored>> reals, fakes;
  std::vector<Scored> all_reals, resynth;
  std::vector<Audio> real_audio;
  int n_silent = 0;
  for (const auto& item : *items) {
    auto audio = media::read_audio(item.path, detect::kFeatureRateHz);
    if (!audio.ok()) {
      std::fprintf(stderr, "skip %s: %s\n", item.path.c_str(), audio.status().message().c_str());
      continue;
    }
    auto s = score(*audio);
    if (!s) { ++n_silent; continue; }
    const auto src = item.columns.count("source_repo") ? item.columns.at("source_repo") : std::string("?");
    const auto method = item.columns.count("method") ? item.columns.at("method") : std::string();
    if (item.label == 0) {
      reals[src].push_back(*s);
      all_reals.push_back(*s);
      real_audio.push_back(*audio);
    } else {
      fakes[method.empty() ? src : method].push_back(*s);
    }
  }
  // Project-made synthetic speech: espeak-ng voices and Griffin-Lim resynthesis of held-out reals.
  std::map<std::string, std::vector<Scored>> espeak_heldout, espeak_train;
  size_t sentence = 100;
  for (bool held : {true, false}) {
    const auto& voices = held ? detect::voice_heldout_espeak_voices() : detect::voice_training_espeak_voices();
    for (const auto& v : voices) {
      for (int rate : {150, 200}) {
        for (int pitch : {40, 60}) {
          synth::SpeechOptions so;
          so.voice = v;
          so.rate_wpm = rate;
          so.pitch = pitch;
          auto speech = synth::synthesize_speech(detect::voice_sentence(sentence) + " " + detect::voice_sentence(sentence + 1), so);
          sentence += 3;
          if (!speech.ok()) continue;
          auto s = score(*speech);
          if (s) (held ? espeak_heldout : espeak_train)[v].push_back(*s);
        }
      }
    }
  }
  for (size_t i = 0; i < real_audio.size(); ++i) {
    Audio head = real_audio[i];
    if (head.duration_s() > 12.0) head.samples.resize(12 * detect::kFeatureRateHz);
    auto s = score(detect::griffin_lim_resynthesis(head, 80, 32, 1000 + i));
    if (s) resynth.push_back(*s);
  }

  std::printf("held-out real speech: %zu files (", all_reals.size());
  for (const auto& [k, v] : reals) std::printf("%s %zu; ", k.c_str(), v.size());
  std::printf("), %d files without speech skipped\n\n", n_silent);
  std::printf("| synthetic source (vs all held-out real) | files | file AUC | file EER | flagged at 0.5 | windows (real + synthetic) | window AUC | window EER |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::vector<Scored> all_held_fakes, all_espeak_held, all_espeak_train;
  for (const auto& [k, v] : fakes) {
    print_row(k + " (held out)", v, all_reals);
    all_held_fakes.insert(all_held_fakes.end(), v.begin(), v.end());
  }
  print_row("all held-out TTS methods", all_held_fakes, all_reals);
  for (const auto& [k, v] : espeak_heldout) {
    print_row("espeak-ng " + k + " (voice unseen)", v, all_reals);
    all_espeak_held.insert(all_espeak_held.end(), v.begin(), v.end());
  }
  print_row("espeak-ng, all unseen voices", all_espeak_held, all_reals);
  for (const auto& [k, v] : espeak_train) all_espeak_train.insert(all_espeak_train.end(), v.begin(), v.end());
  print_row("espeak-ng, training voices (new sentences)", all_espeak_train, all_reals);
  print_row("Griffin-Lim resynthesis of held-out reals", resynth, all_reals);
  std::printf("\nall held-out TTS methods against each held-out real source:\n\n");
  std::printf("| real source (real files) | synthetic files | file AUC | file EER | flagged at 0.5 | windows | window AUC | window EER |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const auto& [k, v] : reals) print_row(k + " (" + std::to_string(v.size()) + ")", all_held_fakes, v);
  std::printf("\nper real source, false alarms at 0.5: ");
  for (const auto& [k, v] : reals) {
    int n = 0;
    for (const auto& s : v) n += s.score >= 0.5;
    std::printf("%s %d/%zu; ", k.c_str(), n, v.size());
  }
  std::printf("\n\ncompute: %.1f s for %.1f s of audio = %.4f s per s (one thread of LibTorch, %d threads)\n", compute_s, media_s,
              compute_s / std::max(1e-9, media_s), 2);
  return 0;
}

int pack(const std::string& out, const std::string& members_list, const std::string& manifest, const std::string& command) {
  std::vector<std::string> members;
  size_t start = 0;
  while (start <= members_list.size()) {
    const size_t comma = members_list.find(',', start);
    const std::string m = members_list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!m.empty()) members.push_back(m);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  int last = -1;
  auto fit = detect::pack_voice_ensemble(out, members, manifest, command, [&](double f, const std::string& stage) {
    if (static_cast<int>(f * 20) == last) return;  // a line every 5 %
    last = static_cast<int>(f * 20);
    std::printf("[%5.1f%%] %s\n", 100 * f, stage.c_str());
    std::fflush(stdout);
  });
  if (!fit.ok()) {
    std::fprintf(stderr, "%s\n", fit.status().message().c_str());
    return fit.status().code() == StatusCode::kUsage ? 2 : fit.status().code() == StatusCode::kInput ? 3 : 4;
  }
  std::printf("wrote %s: %zu members; scalings fitted on %d held-out manifest files (%d real, %d synthetic), %d windows\n",
              out.c_str(), members.size(), fit->n_files, fit->n_real_files, fit->n_fake_files, fit->n_windows);
  std::printf("  calibration %s\n  file_calibration %s\n  fitted files: AUC %.4f, EER %.4f, log loss %.4f\n", fit->calibration.c_str(),
              fit->file_calibration.c_str(), fit->file_auc, fit->file_eer, fit->file_log_loss);
  for (const auto& line : fit->member_report) std::printf("  %s\n", line.c_str());
  return 0;
}

int band(const std::string& manifest) {
  auto items = learn::read_manifest(manifest);
  if (!items.ok()) {
    std::fprintf(stderr, "%s\n", items.status().message().c_str());
    return 3;
  }
  std::printf("path,label,voiced_s,above_telephone_db\n");
  for (const auto& item : *items) {
    auto source = detect::file_audio_source(item.path, detect::kFeatureRateHz);
    auto b = source.ok() ? detect::speech_band_ratio(**source) : Result<detect::SpeechBand>(source.status());
    if (!b.ok()) {
      std::fprintf(stderr, "failed %s: %s\n", item.path.c_str(), b.status().message().c_str());
      continue;
    }
    std::printf("\"%s\",%d,%.2f,%.2f\n", item.path.c_str(), item.label, b->voiced_s, b->above_telephone_db);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string train_manifest, eval_manifest, band_manifest, out, model, pack_out, members, scaling_manifest;
  int epochs = 0;
  uint64_t seed = 1;
  std::string command, kind = "cnn";
  detect::VoiceTrainOptions options;
  bool resume = false;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    if (a == "--train") train_manifest = next();
    else if (a == "--eval") eval_manifest = next();
    else if (a == "--band") band_manifest = next();
    else if (a == "--out") out = next();
    else if (a == "--model") model = next();
    else if (a == "--pack") pack_out = next();
    else if (a == "--members") members = next();
    else if (a == "--scaling-manifest") scaling_manifest = next();
    else if (a == "--epochs") epochs = std::atoi(next().c_str());
    else if (a == "--model-kind") kind = next();
    else if (a == "--spec-augment") options.spec_augment = true;
    else if (a == "--telephone") options.telephone_channel = true;
    else if (a == "--mixup") {
      const std::string v = next();
      char* end = nullptr;
      options.mixup_alpha = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(options.mixup_alpha > 0.0)) {
        std::fprintf(stderr, "--mixup wants a number > 0 (the Beta distribution's alpha), not '%s'\n", v.c_str());
        return 2;
      }
    }
    else if (a == "--resume") resume = true;
    else if (a == "--seed") seed = std::strtoull(next().c_str(), nullptr, 10);
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (!train_manifest.empty() && !out.empty()) return train(train_manifest, out, epochs, seed, command, kind, options, resume);
  if (!eval_manifest.empty() && !model.empty()) return eval(eval_manifest, model);
  if (!band_manifest.empty()) return band(band_manifest);
  if (!pack_out.empty() && !members.empty() && !scaling_manifest.empty()) return pack(pack_out, members, scaling_manifest, command);
  std::fprintf(stderr, "usage: bench_voice --train MANIFEST --out MODEL [--epochs N] [--seed S] [--model-kind cnn|mlp] [--spec-augment] [--mixup ALPHA] [--resume] | --eval MANIFEST --model MODEL | --band MANIFEST | --pack OUT --members A.unm,B.unm,... --scaling-manifest MANIFEST\n");
  return 2;
}
