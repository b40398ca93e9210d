// unmask synth <method>: labelled fakes made on purpose. Every output carries the synthetic
// watermark (the library does it; no flag here can turn it off).
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli/cli.h"
#include "face/face.h"
#include "synth/synth.h"

namespace unmask::cli {
namespace {

struct SelfBlendCliOptions {
  std::string in;
  std::string out;
  int n = 0;
  uint64_t seed = 1;
  int size_px = 256;
};

// Each add_<method> registers one `synth` subcommand and returns its runner, which returns -1
// when that subcommand was not the one given.
using Runner = std::function<int()>;

Runner add_selfblend(CLI::App* synth) {
  auto opts = std::make_shared<SelfBlendCliOptions>();
  CLI::App* sub = synth->add_subcommand("selfblend", "Self-blended face pairs (SBI) from real photos or a video");
  sub->add_option("--in", opts->in, "Folder of jpg/png photos, or a video")->required();
  sub->add_option("--out", opts->out, "Output folder (real_*.png, fake_*.png, mask_*.png, selfblend.csv)")->required();
  sub->add_option("--n", opts->n, "Number of pairs (default: one per face found)")->check(CLI::NonNegativeNumber);
  sub->add_option("--seed", opts->seed, "Random seed (outputs are reproducible for a seed)");
  sub->add_option("--size", opts->size_px, "Aligned crop side in pixels")->check(CLI::Range(64, 1024));
  return [opts, sub]() -> int {
    if (!sub->parsed()) return -1;
    auto models = face::FaceModels::load();
    if (!models.ok()) return fail(models.status());
    TerminalProgress progress(global_options().quiet);
    synth::SelfBlendFilesOptions options;
    options.n_samples = opts->n;
    options.seed = opts->seed;
    options.size_px = opts->size_px;
    options.progress = progress.as_fn();
    auto summary = synth::selfblend_files(opts->in, opts->out, options, *models);
    progress.finish();
    if (!summary.ok()) return fail(summary.status());
    print_line("selfblend: " + std::to_string(summary->n_samples) + " pairs from " +
               std::to_string(summary->n_faces) + " faces (" + std::to_string(summary->n_inputs) +
               " inputs) -> " + summary->csv_path);
    return 0;
  };
}

struct SwapCliOptions {
  std::string source;
  std::string target;
  std::string out;
  std::string method = "landmark";
  std::string blend = "poisson";
  std::string colour = "reinhard";
  int crf = 18;
  int face_px = 0;
  std::string model;
};

Runner add_swap(CLI::App* synth) {
  auto opts = std::make_shared<SwapCliOptions>();
  CLI::App* sub = synth->add_subcommand("swap", "Swap a source face onto the main face of a target video or image");
  sub->add_option("--source", opts->source, "Face image or video to take the face from")->required();
  sub->add_option("--target", opts->target, "Video or image whose face is replaced")->required();
  sub->add_option("--out", opts->out, "Output file (.mp4/.mkv/.mov for video, .png/.jpg for an image)")->required();
  sub->add_option("--method", opts->method, "Swap method: landmark (graphics warp) or autoencoder (a trained network, --model)")
      ->check(CLI::IsMember({"landmark", "autoencoder"}));
  sub->add_option("--model", opts->model, "Autoencoder swap model made by `unmask synth train-swap`");
  sub->add_option("--blend", opts->blend, "Blend: poisson (seamless) or alpha (feathered)")
      ->check(CLI::IsMember({"poisson", "alpha"}));
  sub->add_option("--colour", opts->colour, "Colour transfer: reinhard (Lab mean/std) or histogram")
      ->check(CLI::IsMember({"reinhard", "histogram"}));
  sub->add_option("--crf", opts->crf, "x264 quality of a video output")->check(CLI::Range(0, 51));
  sub->add_option("--face-px", opts->face_px,
                  "Render the face at this many pixels across and scale it up, as a fixed-resolution generator does (0: off)")
      ->check(CLI::Validator(
          [](const std::string& text) -> std::string {
            const int px = std::atoi(text.c_str());
            return px == 0 || (px >= 16 && px <= 4096) ? "" : "must be 0 (off) or 16-4096 pixels, not " + text;
          },
          "0 or 16-4096"));
  return [opts, sub]() -> int {
    if (!sub->parsed()) return -1;
    if (opts->method == "autoencoder" && opts->model.empty()) {
      return fail(Status::usage("--model", "--method autoencoder needs the model made by `unmask synth train-swap`"));
    }
    if (opts->method == "landmark" && !opts->model.empty()) {
      return fail(Status::usage("--model", "is for --method autoencoder only"));
    }
    auto models = face::FaceModels::load();
    if (!models.ok()) return fail(models.status());
    if (Status s = check_output_file(opts->out); !s.is_ok()) return fail(s);
    TerminalProgress progress(global_options().quiet);
    synth::SwapOptions options;
    options.method = opts->method;
    options.model_path = opts->model;
    options.poisson = opts->blend == "poisson";
    options.histogram_match = opts->colour == "histogram";
    options.crf = opts->crf;
    options.face_px = opts->face_px;
    options.progress = progress.as_fn();
    auto summary = synth::swap_files(opts->source, opts->target, opts->out, options, *models);
    progress.finish();
    if (!summary.ok()) return fail(summary.status());
    print_line("swap: " + std::to_string(summary->n_swapped) + " of " + std::to_string(summary->n_frames) +
               " frames swapped (" + std::to_string(summary->n_source_poses) +
               (opts->method == "autoencoder" ? " source faces) -> " : " source poses) -> ") + opts->out);
    return 0;
  };
}

struct TrainSwapCliOptions {
  std::string a;
  std::string b;
  std::string out;
  int iterations = 2000;
  int size_px = 64;
  uint64_t seed = 1;
  bool resume = false;
  double learning_rate = 2e-4;
};

Runner add_train_swap(CLI::App* synth) {
  auto opts = std::make_shared<TrainSwapCliOptions>();
  CLI::App* sub = synth->add_subcommand(
      "train-swap", "Train an autoencoder face swap (shared encoder, a decoder per person) on two people's faces");
  sub->add_option("--a", opts->a, "Person A: a video, a photo, or a folder of them")->required();
  sub->add_option("--b", opts->b, "Person B: a video, a photo, or a folder of them")->required();
  sub->add_option("--out", opts->out, "Model file to write (checkpoints go to OUT.ckpt)")->required();
  sub->add_option("--iterations", opts->iterations, "Training steps in all (batches of 16 faces of each person)")
      ->check(CLI::Range(1, 10000000));
  sub->add_option("--size", opts->size_px, "Aligned face side in pixels (a multiple of 16)")
      ->check(CLI::Validator(
          [](const std::string& text) -> std::string {
            const int px = std::atoi(text.c_str());
            return px >= 32 && px <= 256 && px % 16 == 0 ? "" : "must be a multiple of 16 in 32-256, not " + text;
          },
          "32-256, a multiple of 16"));
  sub->add_option("--seed", opts->seed, "Random seed (the same inputs and seed give the same model)");
  sub->add_flag("--resume", opts->resume, "Go on from OUT.ckpt, left by a run that was stopped");
  sub->add_option("--learning-rate", opts->learning_rate, "Adam's learning rate")
      ->check(CLI::Validator(
          [](const std::string& text) -> std::string {
            const double v = std::strtod(text.c_str(), nullptr);
            return v > 0.0 && v <= 0.1 ? "" : "must be a number in (0, 0.1], not " + text;
          },
          "(0, 0.1]"));
  return [opts, sub]() -> int {
    if (!sub->parsed()) return -1;
    auto models = face::FaceModels::load();
    if (!models.ok()) return fail(models.status());
    if (Status s = check_output_file(opts->out); !s.is_ok()) return fail(s);
    TerminalProgress progress(global_options().quiet);
    synth::TrainSwapOptions options;
    options.iterations = opts->iterations;
    options.size_px = opts->size_px;
    options.seed = opts->seed;
    options.resume = opts->resume;
    options.learning_rate = opts->learning_rate;
    options.progress = progress.as_fn();
    auto summary = synth::train_swap_autoencoder(opts->a, opts->b, opts->out, options, *models);
    progress.finish();
    if (!summary.ok()) return fail(summary.status());
    std::string line = "train-swap: " + std::to_string(summary->n_faces_a) + " faces of A, " +
                       std::to_string(summary->n_faces_b) + " of B; " + std::to_string(summary->iterations) + " steps";
    if (summary->resumed_from > 0) line += " (resumed at " + std::to_string(summary->resumed_from) + ")";
    char loss[96];
    std::snprintf(loss, sizeof loss, ", L1 loss %.4f -> %.4f in %.0f s", summary->first_loss, summary->final_loss,
                  summary->seconds);
    // A run whose loss rose has diverged (measured: --learning-rate 1e-3 went 0.32 -> 0.84). Over
    // fewer than 100 steps the first and last windows are a few noisy steps: no verdict.
    const bool rose = summary->iterations - summary->resumed_from >= 100 && summary->final_loss > summary->first_loss;
    print_line(line + loss + " -> " + opts->out + (rose ? " (the loss rose: the run diverged; try a lower --learning-rate)" : ""));
    return 0;
  };
}

struct AnimateCliOptions {
  std::string photo;
  std::string driver;
  std::string out;
  int crf = 18;
};

Runner add_animate(CLI::App* synth) {
  auto opts = std::make_shared<AnimateCliOptions>();
  CLI::App* sub = synth->add_subcommand(
      "animate", "Animate the face of one photo with a driving video (head, mouth, eyes; the brows keep the photo's)");
  sub->add_option("--photo", opts->photo, "Image (or video: its first frame with a face) to animate")->required();
  sub->add_option("--driver", opts->driver, "Video whose face drives the motion; its audio is copied")->required();
  sub->add_option("--out", opts->out, "Output video (.mp4/.mkv/.mov)")->required();
  sub->add_option("--crf", opts->crf, "x264 quality")->check(CLI::Range(0, 51));
  return [opts, sub]() -> int {
    if (!sub->parsed()) return -1;
    auto models = face::FaceModels::load();
    if (!models.ok()) return fail(models.status());
    if (Status s = check_output_file(opts->out); !s.is_ok()) return fail(s);
    TerminalProgress progress(global_options().quiet);
    synth::AnimateOptions options;
    options.crf = opts->crf;
    options.progress = progress.as_fn();
    auto summary = synth::animate_files(opts->photo, opts->driver, opts->out, options, *models);
    progress.finish();
    if (!summary.ok()) return fail(summary.status());
    print_line("animate: " + std::to_string(summary->n_animated) + " of " + std::to_string(summary->n_frames) +
               " frames driven by a face -> " + opts->out);
    return 0;
  };
}

struct DubCliOptions {
  std::string video;
  std::string text;
  std::string out;
  std::string voice = "en";
  int crf = 18;
};

Runner add_dub(CLI::App* synth) {
  auto opts = std::make_shared<DubCliOptions>();
  CLI::App* sub = synth->add_subcommand("dub", "Replace a video's voice with synthetic speech (espeak-ng)");
  sub->add_option("--video", opts->video, "Video whose voice is replaced")->required();
  sub->add_option("--text", opts->text, "What the new voice says")->required();
  sub->add_option("--out", opts->out, "Output video (.mp4, .mkv, .mov)")->required();
  sub->add_option("--voice", opts->voice, "espeak-ng voice name (en, en-us, de, fr, ...)");
  sub->add_option("--crf", opts->crf, "x264 quality")->check(CLI::Range(0, 51));
  return [opts, sub]() -> int {
    if (!sub->parsed()) return -1;
    if (Status s = check_output_file(opts->out); !s.is_ok()) return fail(s);
    TerminalProgress progress(global_options().quiet);
    synth::DubOptions options;
    options.speech.voice = opts->voice;
    options.crf = opts->crf;
    options.progress = progress.as_fn();
    auto summary = synth::dub_file(opts->video, opts->text, opts->out, options);
    progress.finish();
    if (!summary.ok()) return fail(summary.status());
    print_line("dub: synthetic speech placed in " + std::to_string(summary->placed_speech.size()) + " segment(s) (" +
               std::to_string(summary->original_speech.size()) + " found in the original), " +
               std::to_string(summary->n_frames) + " frames -> " + opts->out);
    return 0;
  };
}

struct CorpusCliOptions {
  std::string real;
  std::string out;
  int n = 12;
  uint64_t seed = 1;
};

Runner add_corpus(CLI::App* synth) {
  auto opts = std::make_shared<CorpusCliOptions>();
  CLI::App* sub = synth->add_subcommand("corpus", "Build a labelled real/fake corpus (swaps, self-blends, dubs)");
  sub->add_option("--real", opts->real, "Folder of real videos and photos")->required();
  sub->add_option("--out", opts->out, "Output folder (fakes and manifest.csv)")->required();
  sub->add_option("--n", opts->n, "Number of fakes to make")->check(CLI::NonNegativeNumber);
  sub->add_option("--seed", opts->seed, "Random seed");
  return [opts, sub]() -> int {
    if (!sub->parsed()) return -1;
    auto models = face::FaceModels::load();
    if (!models.ok()) return fail(models.status());
    TerminalProgress progress(global_options().quiet);
    synth::CorpusOptions options;
    options.n_fakes = opts->n;
    options.seed = opts->seed;
    options.progress = progress.as_fn();
    auto summary = synth::make_corpus(opts->real, opts->out, options, *models);
    progress.finish();
    if (!summary.ok()) return fail(summary.status());
    print_line("corpus: " + std::to_string(summary->n_real) + " real, " + std::to_string(summary->n_fake) + " fake" +
               (summary->n_failed > 0 ? " (" + std::to_string(summary->n_failed) + " could not be made)" : "") +
               " -> " + summary->manifest_path);
    return 0;
  };
}

Command make_synth(CLI::App& app) {
  CLI::App* synth = app.add_subcommand("synth", "Make labelled fakes (always watermarked as synthetic)");
  synth->require_subcommand(1);
  auto runners = std::make_shared<std::vector<Runner>>();
  runners->push_back(add_swap(synth));
  runners->push_back(add_train_swap(synth));
  runners->push_back(add_animate(synth));
  runners->push_back(add_selfblend(synth));
  runners->push_back(add_dub(synth));
  runners->push_back(add_corpus(synth));
  return {synth, [runners] {
            for (auto& run : *runners) {
              const int code = run();
              if (code >= 0) return code;
            }
            return 2;
          }};
}

}  // namespace
}  // namespace unmask::cli

UNMASK_REGISTER_COMMAND(unmask::cli::make_synth);
