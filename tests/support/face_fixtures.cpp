#include "support/face_fixtures.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "media/media.h"
#include "support/fixtures.h"

namespace unmask::testing {

namespace {
const char* kFacesDir = "/usr/share/doc/libdlib19.1/examples/faces/";

Image crop(const Image& src, int x, int y, int w, int h) {
  Image out(w, h, src.channels());
  for (int r = 0; r < h; ++r) {
    const int sy = std::clamp(y + r, 0, src.height_px() - 1);
    for (int c = 0; c < w; ++c) {
      const int sx = std::clamp(x + c, 0, src.width_px() - 1);
      std::copy_n(src.at(sx, sy), src.channels(), out.at(c, r));
    }
  }
  return out;
}
}  // namespace

std::function<std::pair<int, int>(int)> linear_path(int x0, int y0, int x1, int y1, int n_frames) {
  return [=](int f) {
    const double t = n_frames > 1 ? static_cast<double>(f) / (n_frames - 1) : 0.0;
    return std::pair<int, int>{static_cast<int>(std::lround(x0 + t * (x1 - x0))),
                               static_cast<int>(std::lround(y0 + t * (y1 - y0)))};
  };
}

Image make_textured_background(int width_px, int height_px, int variant) {
  Image img(width_px, height_px, 3);
  const double p = 0.7 + 0.9 * variant;
  for (int y = 0; y < height_px; ++y) {
    for (int x = 0; x < width_px; ++x) {
      uint8_t* px = img.at(x, y);
      const double u = static_cast<double>(x) / width_px, v = static_cast<double>(y) / height_px;
      px[0] = static_cast<uint8_t>(120 + 80 * std::sin(6.0 * u * p + 2.0 * v + variant));
      px[1] = static_cast<uint8_t>(110 + 70 * std::sin(4.0 * v * p - 3.0 * u + 1.0));
      px[2] = static_cast<uint8_t>(100 + 60 * std::cos(5.0 * (u + v) * p + 2.0 * variant));
    }
  }
  // A few flat rectangles (shelves, windows) so the background is not a pure gradient.
  for (int k = 0; k < 5; ++k) {
    const int rx = (37 * (k + 1) * (variant + 3)) % std::max(1, width_px - width_px / 8);
    const int ry = (53 * (k + 2) * (variant + 1)) % std::max(1, height_px - height_px / 6);
    const uint8_t shade = static_cast<uint8_t>(40 + 40 * k + 20 * variant);
    for (int y = ry; y < std::min(height_px, ry + height_px / 6); ++y) {
      for (int x = rx; x < std::min(width_px, rx + width_px / 8); ++x) {
        uint8_t* px = img.at(x, y);
        px[0] = shade;
        px[1] = static_cast<uint8_t>(255 - shade);
        px[2] = static_cast<uint8_t>(shade / 2 + 60);
      }
    }
  }
  return img;
}

Image render_face_frame(const FaceClipSpec& spec, int frame) {
  Image img = spec.background ? spec.background(frame)
                              : make_textured_background(spec.width_px, spec.height_px, 0);
  for (const Sprite& s : spec.sprites) {
    if (frame < s.first_frame || frame > s.last_frame) continue;
    const auto [x, y] = s.top_left(frame);
    paste(img, s.image, x, y);
  }
  return img;
}

void write_face_clip(const std::string& path, const FaceClipSpec& spec) {
  media::VideoWriterOptions options;
  options.crf = spec.crf;
  if (spec.tone_hz > 0) {
    options.pcm_audio = make_tone(spec.tone_hz, spec.n_frames / spec.fps, spec.audio_rate_hz);
  }
  auto writer = media::VideoWriter::open(path, spec.width_px, spec.height_px, spec.fps, options);
  if (!writer.ok()) throw std::runtime_error(writer.status().message());
  for (int i = 0; i < spec.n_frames; ++i) {
    Status s = (*writer)->write(render_face_frame(spec, i), -1);
    if (!s.is_ok()) throw std::runtime_error(s.message());
  }
  Status s = (*writer)->close();
  if (!s.is_ok()) throw std::runtime_error(s.message());
}

Image face_photo(const std::string& name, int width_px) {
  Image src;
  if (name == "tom") {
    auto img = media::read_image(std::string(kFacesDir) + "Tom_Cruise_avp_2014_4.jpg");
    if (!img.ok()) throw std::runtime_error(img.status().message());
    src = std::move(*img);
  } else if (name == "girl") {
    auto img = media::read_image(std::string(kFacesDir) + "2008_001009.jpg");
    if (!img.ok()) throw std::runtime_error(img.status().message());
    // The annotated face box is (145, 79, 76 x 76); keep about one box of context around it,
    // more below for the neck, so the picture looks like a head and shoulders.
    src = crop(*img, 107, 41, 152, 190);
  } else {
    throw std::runtime_error("face_photo: unknown photo " + name);
  }
  const int height_px = static_cast<int>(std::lround(static_cast<double>(src.height_px()) * width_px / src.width_px()));
  return resize_bilinear(src, width_px, height_px);
}

std::vector<AnnotatedPhoto> debian_annotated_faces() {
  std::vector<AnnotatedPhoto> photos;
  const std::regex image_re(R"(<image file='([^']+)')");
  const std::regex box_re(R"(<box top='(-?\d+)' left='(-?\d+)' width='(\d+)' height='(\d+)')");
  const std::regex part_re(R"(<part name='(\d+)' x='(-?\d+)' y='(-?\d+)')");
  for (const char* xml : {"training_with_face_landmarks.xml", "testing_with_face_landmarks.xml"}) {
    std::ifstream in(std::string(kFacesDir) + xml);
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_search(line, m, image_re)) {
        photos.push_back({std::string(kFacesDir) + m[1].str(), {}});
      } else if (std::regex_search(line, m, box_re) && !photos.empty()) {
        AnnotatedFace f;
        f.box = {std::stod(m[2]), std::stod(m[1]), std::stod(m[3]), std::stod(m[4])};
        photos.back().faces.push_back(f);
      } else if (std::regex_search(line, m, part_re) && !photos.empty() && !photos.back().faces.empty()) {
        photos.back().faces.back().landmarks.emplace_back(std::stod(m[2]), std::stod(m[3]));
      }
    }
  }
  return photos;
}

std::vector<VideoFrame> read_all_frames(const std::string& path) {
  std::vector<VideoFrame> all;
  auto reader = media::VideoReader::open(path);
  EXPECT_TRUE(reader.ok()) << reader.status().message();
  if (!reader.ok()) return all;
  VideoFrame f;
  while (true) {
    auto more = (*reader)->read(f);
    EXPECT_TRUE(more.ok()) << more.status().message();
    if (!more.ok() || !*more) break;
    all.push_back(f);
  }
  return all;
}

double region_diff(const Image& a, const Image& b, const Box& region) {
  double sum = 0;
  int n = 0;
  for (int y = static_cast<int>(region.y); y < static_cast<int>(region.y + region.h); ++y) {
    for (int x = static_cast<int>(region.x); x < static_cast<int>(region.x + region.w); ++x) {
      for (int c = 0; c < 3; ++c) sum += std::abs(int(a.at(x, y)[c]) - int(b.at(x, y)[c]));
      n += 3;
    }
  }
  return sum / std::max(1, n);
}

}  // namespace unmask::testing
