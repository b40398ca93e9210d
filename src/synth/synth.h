// unmask synth: labelled fakes made on purpose, to train and evaluate detectors.
//
// Basic usage (self-blended images, SBI: Shiohara & Yamasaki, CVPR 2022):
//
//   auto models = unmask::face::FaceModels::load();
//   unmask::face::FaceDetector detector(*models);
//   auto faces = detector.detect_faces(photo);
//   auto aligned = unmask::face::align_face(photo, (*faces)[0].landmarks, {.size_px = 256});
//   std::mt19937_64 rng(42);
//   auto sample = unmask::synth::self_blend(aligned->crop, aligned->landmarks, rng);
//   // sample->fake: the face blended with an altered copy of itself; sample->mask: where.
//
//   // A whole folder or video, with the CSV and the synthetic watermark on every output:
//   auto summary = unmask::synth::selfblend_files("faces/", "out/", {.n_samples = 100, .seed = 1}, *models);
//
// Every image or video written by this component carries the robust watermark with the
// synthetic flag (mark::synthetic_options); there is no option to turn it off.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/core.h"
#include "face/face.h"

namespace unmask::synth {

// ---------------------------------------------------------------------------------------------
// Self-blended images
// ---------------------------------------------------------------------------------------------

struct SelfBlendParams {
  bool altered_source = true;   // true: the pasted copy was altered; false: the background was
  double hue_shift_deg = 0, saturation_scale = 1, value_scale = 1;
  double rgb_shift[3] = {0, 0, 0};
  double brightness = 0, contrast = 1;
  int frequency_op = 0;         // 0 none, 1 blur (down-up scale), 2 sharpen
  double shift_x = 0, shift_y = 0, scale = 1;   // affine of the source (fractions, factor)
  int hull = 0;                 // 0 all 68 points, 1 jaw + brows raised (forehead included)
  int blur_kernel_1 = 0, blur_kernel_2 = 0;
  double blend_ratio = 1;
  int jpeg_quality = 0;         // 0: no recompression of the pair
};

struct SelfBlendSample {
  Image real;     // the aligned face after the shared augmentations (the negative example)
  Image fake;     // the self-blended face (the positive example)
  Image mask;     // 1 channel: blend weight of the altered copy, 0..255
  Image boundary; // 1 channel: 4 m (1 - m), the blending boundary (Face X-ray style), 0..255
  SelfBlendParams params;
};

// Makes one SBI pair from an aligned BGR face crop and its 68 landmarks (crop coordinates).
// Deterministic for a given rng state. Input error for an empty or non-BGR crop.
Result<SelfBlendSample> self_blend(const Image& aligned_face, const face::Landmarks& landmarks,
                                   std::mt19937_64& rng);

struct SelfBlendFilesOptions {
  int n_samples = 0;      // 0: one per input face
  uint64_t seed = 1;
  int size_px = 256;      // aligned crop side
  double margin = 0.25;   // alignment margin (see face::AlignOptions)
  int every_nth_frame = 10;  // for videos: frames considered
  ProgressFn progress;
};

struct SelfBlendFilesSummary {
  int n_inputs = 0;          // images or frames looked at
  int n_faces = 0;           // faces aligned
  int n_samples = 0;         // pairs written
  std::string csv_path;
};

// Reads a folder of images (jpg/png, sorted by name) or a video, aligns the largest face of each,
// and writes n pairs to out_dir: real_NNNNN.png, fake_NNNNN.png, mask_NNNNN.png and selfblend.csv
// (index,real,fake,mask,source,frame,seed,...params). Input error when no face is found at all.
Result<SelfBlendFilesSummary> selfblend_files(const std::string& in, const std::string& out_dir,
                                              const SelfBlendFilesOptions& options,
                                              std::shared_ptr<const face::FaceModels> models);

// ---------------------------------------------------------------------------------------------
// Landmark face swap (the classic graphics swap)
// ---------------------------------------------------------------------------------------------

struct SwapOptions {
  bool poisson = true;            // Poisson (seamless) blend; false: feathered alpha blend
  bool histogram_match = false;   // colour transfer by per-channel histogram matching instead
                                  // of Reinhard mean/std transfer in Lab
  int crf = 18;                   // video output quality
  int jpeg_quality = 95;          // image output quality
  // Render the swapped face at this many pixels across (the width of the target's jaw-and-brow
  // outline), as a face generator working at a fixed resolution does, and scale it up to the
  // target: a face softer than the frame around it wherever the target face is larger. 0: the
  // source's own resolution.
  int face_px = 0;
  // "landmark" (the graphics swap) or "autoencoder" (a network trained on both identities by
  // train_swap_autoencoder; model_path names its file).
  std::string method = "landmark";
  std::string model_path;
  ProgressFn progress;
};

// A source face prepared once: its pixels, landmarks and the Delaunay triangulation of the
// landmarks. For a source video, several poses are kept and the closest one is used per frame.
class LandmarkSwapper {
 public:
  struct SourceFace {
    Image image;
    face::Landmarks landmarks{};
  };
  // Input error when `faces` is empty.
  static Result<LandmarkSwapper> create(std::vector<SourceFace> faces, SwapOptions options = {});

  // Replaces the face with landmarks `target_landmarks` in `target` (BGR) by the source face
  // warped onto those landmarks, colour-matched and blended. Returns the blend mask (1 channel,
  // frame size) of where pixels changed.
  Result<Image> swap(Image& target, const face::Landmarks& target_landmarks) const;

  size_t n_source_poses() const { return faces_.size(); }
  // Index of the source pose closest to `landmarks` (shape distance after normalisation).
  size_t closest_pose(const face::Landmarks& landmarks) const;

 private:
  std::vector<SourceFace> faces_;
  std::vector<std::array<int, 3>> triangles_;  // landmark indices, shared by all poses
  SwapOptions options_;
};

struct SwapSummary {
  int64_t n_frames = 0;
  int64_t n_swapped = 0;      // frames where a target face was replaced
  int n_source_poses = 0;
  bool is_image = false;
};

// Swaps the face of `source` (an image, or a video from which up to 64 poses are taken) onto the
// main face of `target` (video or image) and writes `out` with the target's size, frame count
// and audio, watermarked as synthetic (method "landmark" or "autoencoder", as options.method).
// With "autoencoder" the face is drawn by the network in options.model_path, as the identity of
// the model that `source` is (see train_swap_autoencoder); a bad model file is a model error.
// The main face is the largest face of the first frame that has one, followed by its track id.
// Input error when the source has no face.
Result<SwapSummary> swap_files(const std::string& source, const std::string& target, const std::string& out,
                               const SwapOptions& options, std::shared_ptr<const face::FaceModels> models);

// ---------------------------------------------------------------------------------------------
// Autoencoder face swap (the original "deepfakes" method)
// ---------------------------------------------------------------------------------------------

struct TrainSwapOptions {
  int iterations = 2000;     // optimiser steps in all (a resumed run counts the steps it had)
  int size_px = 64;          // aligned face side: a multiple of 16 in 32..256
  int batch_size = 16;       // faces of each identity per step
  int max_faces = 400;       // aligned faces kept per identity
  uint64_t seed = 1;
  bool resume = false;       // continue from OUT.ckpt when it exists
  double learning_rate = 2e-4;
  int checkpoint_every = 100;  // steps between checkpoints (OUT.ckpt, ~3x the model; removed when done)
  std::vector<int> widths;   // encoder stages and latent code; empty: nn::Autoencoder's default
  ProgressFn progress;
  // Polled after every step; true ends the run there with a checkpoint and no model (resume it).
  std::function<bool()> should_stop;
};

struct TrainSwapSummary {
  int n_faces_a = 0, n_faces_b = 0;
  int64_t iterations = 0;     // steps the model has in all
  int64_t resumed_from = 0;   // steps it had when this run started (0: a fresh start)
  double first_loss = 0.0;    // mean L1 (both identities) of the run's first and last quarter
                              // of steps, at most 50 each
  double final_loss = 0.0;
  double seconds = 0.0;
  bool stopped = false;       // should_stop ended the run: OUT.ckpt holds it, OUT was not written
};

// Trains the autoencoder swap on the faces of two people: `a` and `b` are each a video, an image
// or a folder of them. Every step rebuilds a batch of each identity's aligned faces from randomly
// warped copies (the same random rotation, scale and shift on input and target, a smooth random
// warp on the input only). Writes `out` (nn's model file; metadata: identities, face counts,
// steps, seed, loss) and checkpoints to `out`.ckpt, so a run stopped at any moment goes on with
// `resume`: the same steps, the same weights. Input error when either side has fewer than 4 faces.
Result<TrainSwapSummary> train_swap_autoencoder(const std::string& a, const std::string& b, const std::string& out,
                                                const TrainSwapOptions& options,
                                                std::shared_ptr<const face::FaceModels> models);

// ---------------------------------------------------------------------------------------------
// Single-image animation (a talking head made from one photo)
// ---------------------------------------------------------------------------------------------

struct AnimateOptions {
  int crf = 18;       // video output quality
  ProgressFn progress;
};

struct AnimateSummary {
  int64_t n_frames = 0;
  int64_t n_animated = 0;  // frames where the driver's face moved the photo (others repeat the last pose)
};

// Where the photo's 68 landmarks go when the driver's face moves from `driver_reference` to
// `driver_now`: the driver's head motion (a similarity on the nose and eye corners, in image
// directions) carried into the photo; the jaw and mouth (0-16, 48-67) also take the driver's
// expression displacement, scaled to the photo's face; the eyelids close as far as the driver's
// eye aspect ratio has fallen below `driver_open_eyes` (its open level); brows, nose and eye
// corners keep the photo's expression.
face::Landmarks animate_landmarks(const face::Landmarks& photo, const face::Landmarks& driver_reference,
                                  const face::Landmarks& driver_now, double driver_open_eyes);

// Animates the largest face of `photo` (an image, or the first video frame with a face) with the
// main face of `driver`: head motion, mouth, jaw and blinks follow the driver (animate_landmarks),
// the rest of the upper face keeps the photo's expression and moves only with the head. Writes
// `out` at the photo's size with the driver's frame times and audio, watermarked as synthetic
// (method "animate"). Input error when either has no face or the driver is not a video; nothing
// is left at `out` on failure.
Result<AnimateSummary> animate_files(const std::string& photo, const std::string& driver, const std::string& out,
                                     const AnimateOptions& options, std::shared_ptr<const face::FaceModels> models);

// ---------------------------------------------------------------------------------------------
// Synthetic voice (espeak-ng) and dubbing
// ---------------------------------------------------------------------------------------------

struct SpeechOptions {
  std::string voice = "en";   // an espeak-ng voice name: en, en-us, de, fr, ...
  int rate_wpm = 175;         // 80-450 words per minute
  int pitch = 50;             // 0-100
};

// Speech for `text`, mono PCM at espeak-ng's rate (22050 Hz). Usage error for an unknown voice or
// empty text; model error when espeak-ng's data is missing. Thread-safe (serialised internally:
// espeak-ng keeps global state).
Result<Audio> synthesize_speech(const std::string& text, const SpeechOptions& options = {});

struct TimeSpan {
  double start_s = 0.0;
  double end_s = 0.0;
};
// Speech-like stretches of audio by short-time energy against the recording's own noise floor:
// 20 ms frames, gaps under 0.3 s bridged, stretches under 0.25 s dropped.
std::vector<TimeSpan> find_speech_segments(const Audio& audio);

struct DubOptions {
  SpeechOptions speech;
  int crf = 18;
  ProgressFn progress;
};

struct DubSummary {
  int64_t n_frames = 0;
  std::vector<TimeSpan> original_speech;   // speech found in the original audio
  std::vector<TimeSpan> placed_speech;     // where the synthetic speech was put
  double duration_s = 0.0;
};

// Replaces the voice of `video` with espeak-ng speech of `text`, split over the original speech
// segments (words shared in proportion to their length, the rate raised where a part would not
// fit), so that the lips no longer match the words. The frames are re-encoded with the synthetic
// watermark (method "dub"); the output's audio is the synthetic speech only (AAC).
// Input error when the video has no video stream.
Result<DubSummary> dub_file(const std::string& video, const std::string& text, const std::string& out,
                            const DubOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Corpora
// ---------------------------------------------------------------------------------------------

struct CorpusOptions {
  int n_fakes = 12;           // fakes to make, methods taken in turn: swap, selfblend, dub
  uint64_t seed = 1;
  int crf = 20;
  ProgressFn progress;
};

struct CorpusSummary {
  int n_real = 0;             // real files listed (the inputs)
  int n_fake = 0;             // fakes written
  int n_failed = 0;           // fakes that could not be made (e.g. no face); counted, not fatal
  std::string manifest_path;
};

// Builds a labelled corpus from a folder of real videos and photos: landmark swaps between
// different files, self-blended faces, dubbed videos. Writes the fakes and
// out_dir/manifest.csv (path,label,method,source,target,seed; paths of fakes relative to out_dir,
// of the real inputs absolute), the format `unmask eval` reads. Input error when the folder has no
// usable media.
Result<CorpusSummary> make_corpus(const std::string& real_dir, const std::string& out_dir,
                                  const CorpusOptions& options, std::shared_ptr<const face::FaceModels> models);

}  // namespace unmask::synth
