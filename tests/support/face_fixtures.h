// Face fixtures: clips in which face photos (or any picture) move across a background along known
// paths, optional scene cuts and a tone; and the face boxes and landmarks that ship with dlib's
// example photos. Deterministic; no ../shared data.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/core.h"

namespace unmask::testing {

// A picture pasted on every frame in [first_frame, last_frame] with its top-left corner at
// top_left(frame) (may be partly outside the frame).
struct Sprite {
  Image image;
  std::function<std::pair<int, int>(int frame)> top_left;
  int first_frame = 0;
  int last_frame = 1 << 30;
};

// Linear motion from (x0, y0) at frame 0 to (x1, y1) at frame n_frames - 1, rounded to pixels.
std::function<std::pair<int, int>(int)> linear_path(int x0, int y0, int x1, int y1, int n_frames);

struct FaceClipSpec {
  int width_px = 640;
  int height_px = 360;
  double fps = 25.0;
  int n_frames = 75;
  double tone_hz = 0.0;        // > 0: a mono sine tone for the clip's length
  int audio_rate_hz = 44100;
  int crf = 18;
  std::vector<Sprite> sprites;  // pasted in order (later ones on top)
  // Background of each frame; default: make_pattern_frame's gradient without the square.
  std::function<Image(int frame)> background;
};

// One frame of the clip, exactly as write_face_clip encodes it (before compression).
Image render_face_frame(const FaceClipSpec& spec, int frame);
// Encodes the clip with media::VideoWriter (H.264). Throws std::runtime_error on failure.
void write_face_clip(const std::string& path, const FaceClipSpec& spec);

// Every frame of a video, decoded (an empty list, with a test failure, when it cannot be opened).
std::vector<VideoFrame> read_all_frames(const std::string& path);

// Mean absolute difference per channel value of two same-sized BGR images inside `region`.
double region_diff(const Image& a, const Image& b, const Box& region);

// A background with texture but no face: smooth colour waves plus a few rectangles. `variant`
// changes the palette and layout (use two variants for a scene cut).
Image make_textured_background(int width_px, int height_px, int variant);

// A face photo shipped by Debian, scaled to `width_px` wide (aspect kept).
// "tom": Tom_Cruise_avp_2014_4.jpg, one large frontal face (565 x 800 original).
// "girl": the face of 2008_001009.jpg cropped with context (a second, different person).
// Throws std::runtime_error when the photo is not installed (package libdlib19.1).
Image face_photo(const std::string& name, int width_px);

// Boxes and 68 landmarks annotated in dlib's example XML files (testing/training
// _with_face_landmarks.xml), grouped by photo.
struct AnnotatedFace {
  Box box;
  std::vector<std::pair<double, double>> landmarks;  // 68 points, or empty
};
struct AnnotatedPhoto {
  std::string path;
  std::vector<AnnotatedFace> faces;
};
std::vector<AnnotatedPhoto> debian_annotated_faces();

}  // namespace unmask::testing
