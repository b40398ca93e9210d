// animate_files: a single-image talking head. One photo is warped, frame by frame, so that its face
// follows what an audio-driven animator of one image drives: the head pose, the mouth and jaw,
// and blinks. The rest of the upper face (brows, nose, eye corners) keeps the photo's expression
// and moves only with the head. The whole frame is the photo: the face and a forehead band move,
// the frame border stays, and what lies between stretches, as in a keypoint-warping generator.
//
// Geometry (all similarities fitted on the stable points: nose and eye corners):
//   C    maps the driver's reference frame (its first face) onto the photo's face;
//   T_t  maps the driver's face at frame t back onto its reference pose (undoes head motion);
//   jaw and mouth point i at t: s_i + C_lin (T_t(d_i(t)) - d_i(ref));
//   eyelids: the photo's lids moved towards the eye's corner line by the driver's eye openness
//     over its widest so far (a blink, and nothing else of the driver's eyes);
//   every point then goes through H_t, the driver's head motion in image directions, scaled to
//   the photo's face and centred on it (head_motion below).
#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <filesystem>
#include <optional>

#include <opencv2/imgproc.hpp>

#include "mark/mark.h"
#include "media/media.h"
#include "synth/marked_writer.h"
#include "synth/piecewise_affine.h"
#include "synth/synth.h"

namespace unmask::synth {
namespace {

using Affine = cv::Matx23d;  // x' = A [x y 1]^T

constexpr std::array<int, 11> kStablePoints = {27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45};
constexpr int kFirstBrow = 17, kLastBrow = 26;
constexpr int kLastJaw = 16, kFirstMouth = 48;
constexpr std::array<int, 6> kForeheadAnchors = {17, 19, 21, 22, 24, 26};
constexpr double kForeheadRise = 0.7;  // of the nose-tip-to-brow distance, above each anchor
constexpr int kMaxFramesToFindPhotoFace = 300;

cv::Point2d at(const face::Landmarks& l, int i) { return {l[i].x, l[i].y}; }
cv::Point2d apply(const Affine& a, cv::Point2d p) {
  return {a(0, 0) * p.x + a(0, 1) * p.y + a(0, 2), a(1, 0) * p.x + a(1, 1) * p.y + a(1, 2)};
}
cv::Point2d apply_linear(const Affine& a, cv::Point2d v) { return {a(0, 0) * v.x + a(0, 1) * v.y, a(1, 0) * v.x + a(1, 1) * v.y}; }
Affine invert(const Affine& a) {
  cv::Matx23d out;
  cv::invertAffineTransform(a, out);
  return out;
}

// Least-squares similarity (rotation, uniform scale, shift) taking the stable points of `from`
// onto those of `to`.
Affine similarity(const face::Landmarks& from, const face::Landmarks& to) {
  cv::Point2d cf(0, 0), ct(0, 0);
  for (int i : kStablePoints) { cf += at(from, i); ct += at(to, i); }
  cf *= 1.0 / kStablePoints.size();
  ct *= 1.0 / kStablePoints.size();
  std::complex<double> num(0, 0);
  double den = 0;
  for (int i : kStablePoints) {
    const cv::Point2d a = at(from, i) - cf, b = at(to, i) - ct;
    num += std::conj(std::complex<double>(a.x, a.y)) * std::complex<double>(b.x, b.y);
    den += a.dot(a);
  }
  const std::complex<double> z = den > 1e-9 ? num / den : std::complex<double>(1, 0);
  Affine m(z.real(), -z.imag(), 0, z.imag(), z.real(), 0);
  const cv::Point2d t = ct - apply_linear(m, cf);
  m(0, 2) = t.x;
  m(1, 2) = t.y;
  return m;
}

// The driver's head motion since its reference frame, carried into the photo (H_t), and C, which
// carries expression displacements from the driver's face into the photo's. The head motion keeps
// its direction in the image (a driver moving right moves the photo right, however the two faces
// are tilted): H_t(x) = c_p + s (M(c_d) - c_d) + L (x - c_p), with M = T_t^-1, L its linear part,
// c_d and c_p the stable points' centres of the reference and the photo, s the photo-to-driver
// face size ratio.
struct HeadMotion {
  Affine head;
  Affine to_photo;
  Affine back_to_reference;
};
cv::Point2d stable_centre(const face::Landmarks& l) {
  cv::Point2d c(0, 0);
  for (int i : kStablePoints) c += at(l, i);
  return c * (1.0 / kStablePoints.size());
}
HeadMotion head_motion(const face::Landmarks& photo, const face::Landmarks& reference, const face::Landmarks& now) {
  HeadMotion m;
  m.to_photo = similarity(reference, photo);
  m.back_to_reference = similarity(now, reference);
  const Affine forward = invert(m.back_to_reference);  // M: reference pose -> now
  const double scale = std::hypot(m.to_photo(0, 0), m.to_photo(1, 0));
  const cv::Point2d c_d = stable_centre(reference), c_p = stable_centre(photo);
  const cv::Point2d shift = c_p + scale * (apply(forward, c_d) - c_d) - apply_linear(forward, c_p);
  m.head = Affine(forward(0, 0), forward(0, 1), shift.x, forward(1, 0), forward(1, 1), shift.y);
  return m;
}

struct Photo {
  Image image;
  face::Landmarks landmarks{};
};

// The largest face of an image, or of the first video frame that has one.
Result<Photo> photo_face(const std::string& path, std::shared_ptr<const face::FaceModels> models) {
  auto info = media::probe(path);
  if (!info.ok()) return info.status();
  if (!info->video) return Status::input(path, "the photo must be an image or a video");
  face::DetectOptions detect;
  detect.upsample = info->is_image ? 1 : 0;
  face::FaceDetector detector(std::move(models), detect);
  auto reader = media::VideoReader::open(path, {});
  if (!reader.ok()) return reader.status();
  VideoFrame frame;
  for (int n = 0; n < kMaxFramesToFindPhotoFace; ++n) {
    auto more = (*reader)->read(frame);
    if (!more.ok()) return more.status();
    if (!*more) break;
    auto found = detector.detect_faces(frame.image);
    if (!found.ok()) return found.status();
    if (const face::Face* f = face::largest_face(*found)) return Photo{frame.image, f->landmarks};
  }
  return Status::input(path, "no face found in the photo");
}

// The photo's control points: 68 landmarks, a forehead band above the brows and the frame border.
std::vector<cv::Point2f> control_points(const face::Landmarks& l, const std::vector<cv::Point2d>& forehead, int w, int h) {
  std::vector<cv::Point2f> pts = detail::to_points(l);
  for (const auto& p : forehead) pts.emplace_back(static_cast<float>(p.x), static_cast<float>(p.y));
  const float x1 = static_cast<float>(w - 1), y1 = static_cast<float>(h - 1);
  for (const cv::Point2f p : {cv::Point2f(0, 0), cv::Point2f(x1 / 2, 0), cv::Point2f(x1, 0), cv::Point2f(x1, y1 / 2),
                              cv::Point2f(x1, y1), cv::Point2f(x1 / 2, y1), cv::Point2f(0, y1), cv::Point2f(0, y1 / 2)}) {
    pts.push_back(p);
  }
  return pts;
}

std::vector<cv::Point2d> forehead_of(const face::Landmarks& l, int w, int h) {
  cv::Point2d brow_mid(0, 0);
  for (int i = kFirstBrow; i <= kLastBrow; ++i) brow_mid += at(l, i);
  brow_mid *= 1.0 / (kLastBrow - kFirstBrow + 1);
  const cv::Point2d up = brow_mid - at(l, 30);
  std::vector<cv::Point2d> out;
  for (int i : kForeheadAnchors) {
    const cv::Point2d p = at(l, i) + kForeheadRise * up;
    out.emplace_back(std::clamp(p.x, 0.0, w - 1.0), std::clamp(p.y, 0.0, h - 1.0));
  }
  return out;
}

}  // namespace

// Eye aspect ratio, the mean of both eyes (an eye whose corners coincide counts as 0).
static double eye_openness(const face::Landmarks& l) {
  double sum = 0;
  for (int p : {36, 42}) {
    const double ear = face::eye_aspect_ratio(l, p);
    if (std::isfinite(ear)) sum += ear;
  }
  return sum / 2;
}

// animate_landmarks with the head motion it used (the forehead points move by it too).
static face::Landmarks animate_with(const HeadMotion& m, const face::Landmarks& photo, const face::Landmarks& driver_reference,
                                    const face::Landmarks& driver_now, double driver_open_eyes) {
  face::Landmarks moved = photo;
  // Jaw and mouth: the driver's expression displacement, carried into the photo's face.
  for (int i = 0; i < face::kNumLandmarks; ++i) {
    if (i > kLastJaw && i < kFirstMouth) continue;
    const cv::Point2d p = at(photo, i) + apply_linear(m.to_photo, apply(m.back_to_reference, at(driver_now, i)) - at(driver_reference, i));
    moved[i] = {p.x, p.y};
  }
  // Eyes: only the lids close, as far as the driver's eyes have closed from their open level.
  const double openness = driver_open_eyes > 1e-9 ? std::clamp(eye_openness(driver_now) / driver_open_eyes, 0.0, 1.0) : 1.0;
  for (int corner : {36, 42}) {
    const cv::Point2d a = at(photo, corner), b = at(photo, corner + 3), axis = b - a;
    const double len2 = axis.dot(axis);
    if (len2 < 1e-9) continue;
    for (int lid : {corner + 1, corner + 2, corner + 4, corner + 5}) {
      const cv::Point2d p = at(photo, lid), foot = a + axis * ((p - a).dot(axis) / len2);
      const cv::Point2d q = foot + openness * (p - foot);
      moved[lid] = {q.x, q.y};
    }
  }
  for (auto& p : moved) {
    const cv::Point2d q = apply(m.head, {p.x, p.y});
    p = {q.x, q.y};
  }
  return moved;
}

face::Landmarks animate_landmarks(const face::Landmarks& photo, const face::Landmarks& driver_reference,
                                  const face::Landmarks& driver_now, double driver_open_eyes) {
  return animate_with(head_motion(photo, driver_reference, driver_now), photo, driver_reference, driver_now, driver_open_eyes);
}

Result<AnimateSummary> animate_files(const std::string& photo_path, const std::string& driver, const std::string& out,
                                     const AnimateOptions& options, std::shared_ptr<const face::FaceModels> models) {
  auto photo = photo_face(photo_path, models);
  if (!photo.ok()) return photo.status();
  auto info = media::probe(driver);
  if (!info.ok()) return info.status();
  if (!info->video || info->is_image) return Status::input(driver, "the driver must be a video");

  const int w = photo->image.width_px(), h = photo->image.height_px();
  const cv::Mat still(h, w, CV_8UC3, photo->image.data());
  const face::Landmarks& s = photo->landmarks;
  const std::vector<cv::Point2d> forehead = forehead_of(s, w, h);
  const std::vector<cv::Point2f> source_points = control_points(s, forehead, w, h);
  const auto triangles = detail::delaunay(source_points);
  if (triangles.size() < 50) return Status::input(photo_path, "the photo's face landmarks are degenerate");

  media::VideoWriterOptions audio;
  audio.copy_audio_from = driver;
  auto writer = detail::MarkedVideoWriter::open(out, w, h, info->video->fps, "animate", options.crf, audio);
  if (!writer.ok()) return writer.status();

  AnimateSummary summary;
  int main_track = -1;
  std::optional<face::Landmarks> reference;  // the driver's first face
  double open_eyes = 0;                      // the driver's widest eye openness so far
  std::vector<cv::Point2f> target_points = source_points;  // kept through frames without a face
  Image frame_out(w, h, 3);
  cv::Mat canvas(h, w, CV_8UC3, frame_out.data());
  const auto on_frame = [&](face::FrameFaces& ff) -> Status {
    const face::Face* chosen = detail::main_face(ff, main_track);
    if (chosen != nullptr) {
      const face::Landmarks& d = chosen->landmarks;
      if (!reference) reference = d;
      open_eyes = std::max(open_eyes, eye_openness(d));
      const HeadMotion motion = head_motion(s, *reference, d);
      const face::Landmarks moved = animate_with(motion, s, *reference, d, open_eyes);
      for (int i = 0; i < face::kNumLandmarks; ++i) {
        target_points[i] = cv::Point2f(static_cast<float>(moved[i].x), static_cast<float>(moved[i].y));
      }
      for (size_t j = 0; j < forehead.size(); ++j) {
        const cv::Point2d q = apply(motion.head, forehead[j]);
        target_points[face::kNumLandmarks + j] = cv::Point2f(static_cast<float>(q.x), static_cast<float>(q.y));
      }
      ++summary.n_animated;
    }
    still.copyTo(canvas);
    for (const auto& t : triangles) {
      std::array<cv::Point2f, 3> from, to;
      for (int k = 0; k < 3; ++k) {
        from[k] = source_points[t[k]];
        to[k] = target_points[t[k]];
      }
      detail::warp_triangle(still, canvas, from, to);
    }
    ++summary.n_frames;
    return writer->write(frame_out, ff.pts_us);
  };
  face::TrackFileOptions track;
  auto faces = face::track_file(driver, models, track, on_frame, options.progress);
  Status status = faces.ok() ? writer->close() : faces.status();
  if (status.is_ok() && summary.n_animated == 0) status = Status::input(driver, "no face found in the driving video");
  if (!status.is_ok()) {
    std::error_code ignored;
    std::filesystem::remove(out, ignored);  // no half-written or faceless output is left behind
    return status;
  }
  return summary;
}

}  // namespace unmask::synth
