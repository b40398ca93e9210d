// unmask detect: the spectral detector. GAN generators up-sample feature maps (transposed
// convolutions, nearest/bilinear up-sampling), which leaves periodic peaks and a too-flat or
// too-steep tail in the high-frequency part of an image's power spectrum; a camera face does not.
// The detector measures that on the aligned grey face crop and scores it with a small learned
// classifier (nn "mlp") whose feature standardisation and Platt calibration live in the model
// file's metadata.
//
// Basic usage:
//
//   auto set = unmask::detect::load_detectors(models_dir, {"spectral"});      // models/spectral.unm
//   auto aligned = unmask::face::align_face(frame, landmarks, set->crop[0]->alignment());
//   auto scores = set->crop[0]->score({&aligned->crop, 1});                  // P(fake) per crop
//
//   // The features alone (tests, benches, training):
//   std::vector<float> f = unmask::detect::spectral_features(aligned->crop);  // kSpectralFeatureCount
//
// Everything here is deterministic and thread-safe (no state besides the immutable model).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/core.h"
#include "detect/detector.h"
#include "face/face.h"
#include "nn/nn.h"

namespace unmask::detect {

// The crop the spectral detector looks at: tight (5 % margin, so that little background and no
// replicated border enters the spectrum), 96 px, which is at or below the face size of every
// training source (128 px GAN tiles, 200 px UTKFace chips), so crops are mostly down-sampled.
inline constexpr int kSpectralCropPx = 96;
inline constexpr double kSpectralMargin = 0.05;
inline constexpr int kSpectralRadialBins = 48;
inline constexpr int kSpectralDctBands = 14;   // anti-diagonals u + v = 1..14 of the 8x8 DCT
// 48 radial bins + 3 high-frequency summaries + 14 DCT band energies + 3 DCT zero fractions.
inline constexpr int kSpectralFeatureCount = kSpectralRadialBins + 3 + kSpectralDctBands + 3;
inline constexpr const char* kSpectralFeatureVersion = "spectral-features/1";

// Azimuthally averaged power spectrum of an image (BGR is converted to grey first; the image is
// used at its own size, any aspect). Frequencies are in cycles per pixel; radial bin i holds the
// mean |F|^2 over frequencies with radius r in (i, i + 1] * sqrt(0.5) / n_bins: the bins reach
// the corner (0.5, 0.5) of the frequency plane, where the period-2 checkerboard of transposed
// convolutions lies (the last bins beyond r = 0.5 are averages over the corners only). The DC term
// is kept apart in `dc`. With
// `windowed`, the image's mean is removed and a 2-D Hann window applied first (what the features
// use: no leakage from the crop's edges); without it the transform is of the raw pixel values.
// Power is normalised by the pixel count squared, so a flat image of value v has dc = v^2.
struct RadialSpectrum {
  double dc = 0.0;
  std::vector<double> bins;
};
RadialSpectrum radial_power_spectrum(const Image& image, int n_bins, bool windowed);

// The feature vector of one face crop (BGR or grey, any size; resized to kSpectralCropPx):
//   [0, 48)   log10 radial power minus its mean over the bins (shape of the spectrum, not contrast)
//   48        slope of log power against log frequency over the upper half of the bins
//   49        mean normalised log power of the top 8 bins minus that of bins 16..23 (tail level)
//   50        largest positive deviation of a top-half bin from its neighbours' mean (a peak)
//   [51, 65)  log mean |DCT coefficient| of the 8x8 blocks per anti-diagonal u + v = 1..14, minus
//             their mean
//   [65, 68)  fraction of coefficients with |c| < 0.5 in the low (1-4), mid (5-9) and high
//             (10-14) anti-diagonals (quantised-away coefficients: compression)
std::vector<float> spectral_features(const Image& crop);

// Aligned spectral crops of the faces in a still picture or frame, largest first (at most
// max_faces), found the way the trainer finds them: dlib HOG with small pictures up-sampled up to
// 4x, and a second pass one pyramid step up when the first finds nothing. Empty: no face.
Result<std::vector<Image>> spectral_face_crops(const Image& picture, const std::shared_ptr<const face::FaceModels>& models,
                                               int max_faces = 1);

// The detector around a trained model: an "mlp" with kSpectralFeatureCount inputs whose metadata
// holds "feature_mean" and "feature_std" (space-separated, one per feature), "calibration"
// ("platt a b", learn::PlattScaling) and "features" (= kSpectralFeatureVersion). Model error
// naming `what` when any of those is missing or malformed.
Result<std::shared_ptr<const CropDetector>> make_spectral_detector(nn::Model model, const std::string& what,
                                                                   const std::string& model_sha256 = {});

}  // namespace unmask::detect
