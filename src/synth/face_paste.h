// The steps every face swap ends with, whatever drew the new face (landmark warp, autoencoder):
// a mask from the hull of the target's jaw and brows, eroded so the seam sits inside the face and
// feathered; optionally the rendered face down to a generator's resolution and back; colour
// transfer inside the mask; a Poisson (seamless) or alpha blend. Internal to synth.
#pragma once

#include <opencv2/core.hpp>

#include "face/face.h"
#include "synth/synth.h"

namespace unmask::synth::detail {

// `rendered` is `dst` (8-bit BGR, the frame) with the new face drawn over the target face; the
// result is pasted into `dst`. Returns the feathered blend mask (1 channel, frame size). Input
// error when the face is too small or outside the frame.
Result<Image> paste_rendered_face(cv::Mat& dst, cv::Mat rendered, const face::Landmarks& target_landmarks,
                                  const SwapOptions& options);

}  // namespace unmask::synth::detail
