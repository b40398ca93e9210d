// The autoencoder face swap, internal to synth: the aligned faces it trains and judges on, and the
// face replacer swap_files uses with --method autoencoder. The public entry points are in synth.h
// (train_swap_autoencoder, swap_files with SwapOptions::method).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "face/face.h"
#include "synth/synth.h"

namespace unmask::synth::detail {

// Context around the 5-point face template in an autoencoder crop: the jaw and brows, which the
// paste's mask follows, stay inside it.
inline constexpr double kAutoencoderMargin = 0.15;

// The largest face of each image, or of up to `max_faces` frames spread evenly over each video,
// aligned at `size_px`. `path` is an image, a video, or a folder of them (read in name order;
// other files are skipped). Input error when `path` is missing or unreadable, or has no face.
Result<std::vector<Image>> collect_aligned_faces(const std::string& path, int size_px, int max_faces,
                                                 std::shared_ptr<const face::FaceModels> models,
                                                 const ProgressFn& progress = {});

// Replaces the face with the given landmarks in a BGR frame; returns the blend mask.
using FaceReplacer = std::function<Result<Image>(Image& frame, const face::Landmarks& landmarks)>;

struct AutoencoderReplacer {
  FaceReplacer replace;
  int n_source_faces = 0;
  int decoder = 0;  // the source's identity: 0 (A) or 1 (B)
};
// Loads options.model_path (model error, exit 4, when it is missing, corrupt or not an autoencoder
// swap model) and picks the decoder whose identity `source` is: the one that rebuilds the source's
// faces with the smaller error. Target faces are encoded and decoded as that identity.
Result<AutoencoderReplacer> autoencoder_replacer(const std::string& source, const SwapOptions& options,
                                                 std::shared_ptr<const face::FaceModels> models);

}  // namespace unmask::synth::detail
