// What the synth methods that rewrite a video share: the writer every synth output goes through
// (each frame gets the robust watermark with the synthetic flag before it is encoded, with x264
// settings that keep the mark, and the container gets the mark's tags: there is no way to write a
// synth video without it), and the choice of the one face a method works on.
#pragma once

#include <memory>
#include <string>

#include "face/face.h"
#include "mark/mark.h"
#include "media/media.h"

namespace unmask::synth::detail {

class MarkedVideoWriter {
 public:
  // `audio` carries the audio choice (copy_audio_from or pcm_audio); crf, x264 parameters and
  // container tags are set here. `method` is recorded as unmask_method.
  static Result<MarkedVideoWriter> open(const std::string& out, int width_px, int height_px, double fps,
                                        const std::string& method, int crf, media::VideoWriterOptions audio = {}) {
    auto marker = mark::FrameMarker::create(width_px, height_px, mark::synthetic_options(method));
    if (!marker.ok()) return marker.status();
    audio.crf = crf;
    audio.x264_params = mark::kMarkPreservingX264Params;
    for (const auto& [k, v] : (*marker)->container_tags()) audio.metadata[k] = v;
    auto writer = media::VideoWriter::open(out, width_px, height_px, fps > 0 ? fps : 25.0, audio);
    if (!writer.ok()) return writer.status();
    MarkedVideoWriter w;
    w.marker_ = std::move(*marker);
    w.writer_ = std::move(*writer);
    return w;
  }

  // Marks `frame` in place and encodes it.
  Status write(Image& frame, int64_t pts_us) {
    UNMASK_RETURN_IF_ERROR(marker_->mark(frame));
    return writer_->write(frame, pts_us);
  }
  Status close() { return writer_->close(); }

 private:
  std::unique_ptr<mark::FrameMarker> marker_;
  std::unique_ptr<media::VideoWriter> writer_;
};

// The main face of a tracked frame: the face of track `main_track`, else the largest face, whose
// track then becomes the main one (-1: none chosen yet). nullptr when the frame has no face.
inline const face::Face* main_face(const face::FrameFaces& frame, int& main_track) {
  for (const auto& f : frame.faces) {
    if (f.track_id == main_track) return &f;
  }
  const face::Face* largest = face::largest_face(frame.faces);
  if (largest != nullptr) main_track = largest->track_id;
  return largest;
}

}  // namespace unmask::synth::detail
