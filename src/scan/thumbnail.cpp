// Track thumbnails for the HTML report: the aligned face with the detector's heatmap over it.
// Heat above 0.15 (38/255) is stretched to the map's maximum; weaker maps are drawn as they are.
#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "media/media.h"
#include "scan/tracks.h"

namespace unmask::scan::internal {

std::string heatmap_thumbnail_png(const Image& crop, const Image& heatmap, int size_px) {
  if (crop.empty() || size_px <= 0) return {};
  try {
    cv::Mat face(crop.height_px(), crop.width_px(), CV_8UC(crop.channels()), const_cast<uint8_t*>(crop.data()));
    cv::Mat bgr;
    if (crop.channels() == 1) cv::cvtColor(face, bgr, cv::COLOR_GRAY2BGR);
    else bgr = face.clone();
    cv::resize(bgr, bgr, cv::Size(size_px, size_px), 0, 0, cv::INTER_AREA);
    if (!heatmap.empty()) {
      cv::Mat heat(heatmap.height_px(), heatmap.width_px(), CV_8UC(heatmap.channels()),
                   const_cast<uint8_t*>(heatmap.data()));
      cv::Mat gray;
      if (heatmap.channels() == 3) cv::cvtColor(heat, gray, cv::COLOR_BGR2GRAY);
      else gray = heat;
      cv::resize(gray, gray, cv::Size(size_px, size_px), 0, 0, cv::INTER_LINEAR);
      // Boundary maps are often faint (probabilities of 0.2-0.4 along a seam): stretch them to
      // their maximum so the seam shows, unless the map is uniformly weak (nothing to show).
      double max_heat = 0;
      cv::minMaxLoc(gray, nullptr, &max_heat);
      if (max_heat >= 38.0) gray.convertTo(gray, CV_8U, 255.0 / max_heat);
      cv::Mat colour;
      cv::applyColorMap(gray, colour, cv::COLORMAP_JET);
      // Opacity follows the heat: where the detector saw nothing the face shows through.
      for (int y = 0; y < size_px; ++y) {
        const uint8_t* h = gray.ptr<uint8_t>(y);
        const cv::Vec3b* c = colour.ptr<cv::Vec3b>(y);
        cv::Vec3b* out = bgr.ptr<cv::Vec3b>(y);
        for (int x = 0; x < size_px; ++x) {
          const double a = 0.65 * h[x] / 255.0;
          for (int ch = 0; ch < 3; ++ch) {
            out[x][ch] = cv::saturate_cast<uint8_t>((1.0 - a) * out[x][ch] + a * c[x][ch]);
          }
        }
      }
    }
    Image out(size_px, size_px, 3);
    for (int y = 0; y < size_px; ++y) std::copy_n(bgr.ptr<uint8_t>(y), size_px * 3, out.row(y));
    auto png = media::encode_image(out, ".png");
    return png.ok() ? *png : std::string();
  } catch (const cv::Exception&) {
    return {};
  }
}

}  // namespace unmask::scan::internal
