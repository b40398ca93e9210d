// unmask detect: the `mouth` detector, a blend-family CNN that looks only at the lower face (nose
// tip to chin, cheek to cheek) of the aligned face crop. Lip re-sync and audio-driven generators
// (Wav2Lip, video-retalking, SadTalker) re-synthesise that part of the face at low resolution and
// paste it back into the real frame; the detector looks for the seam and the resolution/sharpness
// mismatch this leaves. Trained the SBI way from real faces only: a pseudo-fake is a real lower
// face with an altered copy of itself (down-scaled and up-scaled again, blurred or sharpened,
// slightly shifted and re-coloured) blended back under a soft lower-face mask.
//
// Basic usage (normally through load_detectors(); models/mouth.unm):
//
//   auto det = unmask::detect::load_mouth_detector("models/mouth.unm");   // Status::model if bad
//   auto crop = unmask::face::align_face(frame, landmarks, (*det)->alignment());   // the whole face
//   auto scores = (*det)->score({&crop->crop, 1});   // cuts mouth_crop() itself; P(fake) + heat map
#pragma once

#include <memory>
#include <random>
#include <string>

#include "core/core.h"
#include "detect/blend.h"
#include "detect/detector.h"
#include "detect/training.h"
#include "face/face.h"

namespace unmask::detect {

inline constexpr const char* kMouthVersion = "1";
inline constexpr int kMouthInputPx = 64;

// The lower face inside the aligned crop (face::AlignOptions{128, 0.25} as blend, any size works):
// fractions of the crop side. On the training crops the nose tip sits at y 0.60, the nose base at
// 0.63, the chin at 0.87, the jaw's sides at x 0.27 and 0.73, the eyes above 0.5; the box starts
// half-way down the nose, keeps some cheek and background on each side (where a pasted lower-face
// box ends) and runs to the crop's bottom edge. A model records it (metadata mouth.region) and
// does not load with another.
inline constexpr double kMouthX0 = 0.125, kMouthX1 = 0.875, kMouthY0 = 0.5, kMouthY1 = 1.0;

// The crop rule, used by training and scoring alike: the lower-face box of an aligned crop, resized
// to size_px square (BGR in, BGR out).
Image mouth_crop(const Image& aligned, int size_px = kMouthInputPx);
// Landmarks of the aligned crop (crop coordinates, crop side aligned_px) in mouth_crop coordinates.
face::Landmarks mouth_landmarks(const face::Landmarks& aligned_landmarks, int aligned_px, int size_px = kMouthInputPx);

// One lower-face pseudo-fake. The real crop and the pseudo-fake are the same image outside the
// mask (up to the shared JPEG step's block coding next to it).
struct MouthFakeOptions {
  double jpeg_probability = 0.5;  // both images of the pair coded at the same quality
};
struct MouthFakeSample {
  Image real;      // the lower-face crop (after the shared JPEG step when drawn)
  Image fake;      // the crop with its altered copy blended in under the mask
  Image mask;      // 1 channel 0..255: the altered copy's weight
  Image boundary;  // 1 channel 0..255: 4 m (1 - m), the blending seam
};
// From a mouth_crop() and its mouth_landmarks(). Input error for an empty or non-BGR crop.
Result<MouthFakeSample> make_mouth_fake(const Image& mouth, const face::Landmarks& landmarks, std::mt19937_64& rng,
                                        const MouthFakeOptions& options = {});

// The recipe that makes the blend-family code the mouth detector (view: mouth_crop; pairs:
// make_mouth_fake of the crop's lower face).
SbiRecipe mouth_recipe();

// Loads models/mouth.unm (or any path): Status::model naming the file when it is missing, corrupt,
// of another architecture or lacks the mouth metadata. Crops the detector cannot judge (the blend
// gate, measured on the whole aligned crop: too dark, blown out, no fine detail) score NaN.
Result<std::shared_ptr<const CropDetector>> load_mouth_detector(const std::string& model_path);
Result<std::shared_ptr<const CropDetector>> load_mouth_detector(const std::string& model_path, const BlendGate& gate);

// `unmask train --detector mouth` (see training.h): blend's trainer with mouth_recipe(), a
// blend_cnn_tiny-design network at kMouthInputPx with a boundary head. UNMASK_MOUTH_BATCH (32),
// UNMASK_MOUTH_LR (2e-3) for experiments.
Result<TrainSummary> train_mouth(const TrainRequest& request);

}  // namespace unmask::detect
