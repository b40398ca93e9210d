// unmask train --manifest CSV --out MODEL [--epochs N] [--seed S] [--detector NAME] [--resume]
// [--cache DIR] [--threads N]: trains a detector (detect::trainers()) and writes the model file
// and its card (<model without .unm>.card.json).
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/cli.h"
#include "detect/training.h"
#include "learn/learn.h"

namespace unmask::cli {
namespace {

struct TrainCliOptions {
  std::string manifest;
  std::string out;
  int epochs = 0;
  uint64_t seed = 1;
  std::string detector = "blend";
  bool resume = false;
  std::string cache;
  int threads = 2;
};

// Every training step allocates and frees the same multi-megabyte activation and gradient
// tensors. Above glibc's mmap threshold each one is a fresh mapping that the kernel zero-fills
// page by page and unmaps again on free; kept on the heap they are reused. One epoch of the blend
// detector (4175 crops, 2 threads, the same model file): 142-155 s -> 93-104 s, kernel time
// 94-99 s -> 9-23 s, peak RSS 1.35-1.46 -> 1.43-1.57 GB (docs/detectors.md, blend). Training is a
// process of its own, so the setting stays with it; scan gained nothing measurable from it.
void keep_tensor_blocks_on_the_heap() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
#endif
}

std::string format_metric(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

Command make_train(CLI::App& app) {
  auto o = std::make_shared<TrainCliOptions>();
  CLI::App* sub = app.add_subcommand("train", "Train a detector from a manifest of media (writes MODEL and its card)");
  sub->add_option("--manifest", o->manifest, "CSV with path,label (real|fake) and more columns")->required();
  sub->add_option("--out", o->out, "Model file to write (e.g. models/blend.unm)")->required();
  sub->add_option("--epochs", o->epochs, "Epochs (0: the detector's default)")->check(CLI::NonNegativeNumber);
  sub->add_option("--seed", o->seed, "Random seed (data order, augmentation, initial weights)");
  sub->add_option("--detector", o->detector, "Which detector to train")->capture_default_str();
  sub->add_flag("--resume", o->resume, "Continue from MODEL.ckpt when it exists");
  sub->add_option("--cache", o->cache, "Folder for cached face crops (default: next to MODEL)");
  sub->add_option("--threads", o->threads, "LibTorch threads")->capture_default_str()->check(CLI::Range(1, 64));
  return {sub, [o, sub] {
            const auto& table = detect::trainers();
            const detect::Trainer* trainer = nullptr;
            std::string known;
            for (const auto& t : table) {
              if (t.detector == o->detector) trainer = &t;
              known += (known.empty() ? "" : ", ") + t.detector;
            }
            if (trainer == nullptr) {
              return fail(Status::usage("--detector " + o->detector, "no trainer for it (known: " + known + ")"));
            }
            std::error_code ec;
            if (std::filesystem::is_directory(o->manifest, ec)) {
              return fail(Status::input(o->manifest, "is a folder, not a manifest"));
            }
            if (!std::filesystem::is_regular_file(o->manifest, ec)) {
              return fail(Status::input(o->manifest, "manifest not found"));
            }
            // A malformed or empty manifest is said as such, not as "no face found" after a pass.
            if (auto items = learn::read_manifest(o->manifest); !items.ok()) {
              return fail(items.status());
            } else if (items->empty()) {
              return fail(Status::input(o->manifest, "the manifest lists no items (a header only)"));
            }
            // Before hours of training, not after them: the model (and its card) must be writable.
            if (Status s = check_output_file(o->out); !s.is_ok()) return fail(s);
            detect::TrainRequest req;
            req.manifest_path = o->manifest;
            req.out_path = o->out;
            req.epochs = o->epochs;
            req.seed = o->seed;
            req.resume = o->resume;
            req.cache_dir = o->cache;
            req.threads = o->threads;
            req.command_line = "unmask train --manifest " + o->manifest + " --out " + o->out +
                               (o->epochs > 0 ? " --epochs " + std::to_string(o->epochs) : "") + " --seed " +
                               std::to_string(o->seed) + " --detector " + o->detector +
                               " --threads " + std::to_string(o->threads) + (o->resume ? " --resume" : "") +
                               (o->cache.empty() ? "" : " --cache " + o->cache);
            TerminalProgress progress(global_options().quiet);
            // Without a terminal (a background run with a log) print the status every 30 s.
            auto last = std::chrono::steady_clock::now() - std::chrono::hours(1);
            const bool log_lines = !progress.enabled() && !global_options().quiet;
            req.progress = [&](double f, std::string_view s) {
              progress.update(f, s);
              const auto now = std::chrono::steady_clock::now();
              if (log_lines && now - last > std::chrono::seconds(30)) {
                last = now;
                std::fprintf(stderr, "train: %5.1f%% %.*s\n", 100.0 * f, static_cast<int>(s.size()), s.data());
                std::fflush(stderr);
              }
            };
            keep_tensor_blocks_on_the_heap();
            auto summary = trainer->train(req);
            progress.finish();
            if (!summary.ok()) return fail(summary.status());
            std::string line = "train: " + o->detector + " -> " + summary->model_path + " (card " + summary->card_path +
                               "), " + std::to_string(summary->n_real) + " real / " + std::to_string(summary->n_fake) +
                               " fake examples";
            for (const auto& [k, v] : summary->metrics) line += ", " + k + " " + format_metric(v);
            print_line(line);
            return 0;
          }};
}

}  // namespace
}  // namespace unmask::cli

UNMASK_REGISTER_COMMAND(unmask::cli::make_train);
