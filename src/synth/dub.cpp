// dub_file: the "fake voice over real video" category. The original speech segments give the
// timing; espeak-ng speech of the new text fills them, so the mouth moves while the words do not
// match it. Frames are re-encoded with the synthetic watermark.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "mark/mark.h"
#include "media/media.h"
#include "synth/marked_writer.h"
#include "synth/synth.h"

namespace unmask::synth {
namespace {

constexpr int kMaxRateWpm = 450;  // espeak-ng's maximum

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// Shares the words over the spans in proportion to their length (at least one word each, in
// order); spans left without words are dropped.
std::vector<std::pair<TimeSpan, std::string>> share_words(const std::vector<std::string>& words,
                                                          const std::vector<TimeSpan>& spans) {
  std::vector<std::pair<TimeSpan, std::string>> parts;
  double total = 0;
  for (const auto& s : spans) total += s.end_s - s.start_s;
  size_t next = 0;
  double covered = 0;
  for (size_t i = 0; i < spans.size() && next < words.size(); ++i) {
    covered += spans[i].end_s - spans[i].start_s;
    size_t until = (i + 1 == spans.size()) ? words.size()
                                           : static_cast<size_t>(std::lround(words.size() * covered / total));
    until = std::clamp(until, next + 1, words.size());
    std::string chunk;
    for (size_t k = next; k < until; ++k) chunk += (chunk.empty() ? "" : " ") + words[k];
    parts.push_back({spans[i], chunk});
    next = until;
  }
  return parts;
}

}  // namespace

Result<DubSummary> dub_file(const std::string& video, const std::string& text, const std::string& out,
                            const DubOptions& options) {
  const auto words = split_words(text);
  if (words.empty()) return Status::usage("--text", "is empty");
  auto info = media::probe(video);
  if (!info.ok()) return info.status();
  if (!info->video || info->is_image) return Status::input(video, "dub needs a video");
  const double duration_s = std::max(info->duration_s, 0.5);

  DubSummary summary;
  summary.duration_s = duration_s;
  if (info->audio) {
    auto original = media::read_audio(video, 16000);
    if (!original.ok()) return original.status();
    summary.original_speech = find_speech_segments(*original);
  }
  std::vector<TimeSpan> spans = summary.original_speech;
  if (spans.empty()) spans.push_back({std::min(0.5, duration_s * 0.1), duration_s});

  // Synthesise each part, faster where it would not fit its span, and lay it on a silent track.
  auto probe_rate = synthesize_speech("a", options.speech);
  if (!probe_rate.ok()) return probe_rate.status();
  const int rate_hz = probe_rate->sample_rate_hz;
  Audio track;
  track.sample_rate_hz = rate_hz;
  track.samples.assign(static_cast<size_t>(duration_s * rate_hz), 0.0f);
  const auto parts = share_words(words, spans);
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& [span, chunk] = parts[i];
    const double room_s = (i + 1 < parts.size() ? parts[i + 1].first.start_s : duration_s) - span.start_s;
    auto speech = synthesize_speech(chunk, options.speech);
    if (!speech.ok()) return speech.status();
    const double needed_s = speech->duration_s();
    const double span_s = std::max(0.25, span.end_s - span.start_s);
    if (needed_s > span_s * 1.1) {
      SpeechOptions faster = options.speech;
      faster.rate_wpm = std::min(kMaxRateWpm, static_cast<int>(options.speech.rate_wpm * needed_s / span_s * 1.05));
      auto again = synthesize_speech(chunk, faster);
      if (!again.ok()) return again.status();
      speech = std::move(again);
    }
    const size_t start = static_cast<size_t>(span.start_s * rate_hz);
    const size_t room = static_cast<size_t>(std::max(0.0, room_s) * rate_hz);
    const size_t n = std::min({speech->samples.size(), room, track.samples.size() - std::min(start, track.samples.size())});
    const size_t fade = std::min<size_t>(n, static_cast<size_t>(0.02 * rate_hz));
    for (size_t k = 0; k < n; ++k) {
      float gain = 1.0f;
      if (n < speech->samples.size() && k + fade >= n) gain = static_cast<float>(n - k) / static_cast<float>(fade + 1);
      track.samples[start + k] = speech->samples[k] * gain;
    }
    summary.placed_speech.push_back({span.start_s, span.start_s + static_cast<double>(n) / rate_hz});
  }

  // Re-encode the frames with the synthetic mark and the new voice.
  auto reader = media::VideoReader::open(video);
  if (!reader.ok()) return reader.status();
  const int width = (*reader)->output_width_px(), height = (*reader)->output_height_px();
  media::VideoWriterOptions audio;
  audio.pcm_audio = std::move(track);
  auto writer = detail::MarkedVideoWriter::open(out, width, height, info->video->fps, "dub", options.crf, std::move(audio));
  if (!writer.ok()) return writer.status();
  const double n_expected = std::max<double>(1.0, static_cast<double>(info->video->n_frames));
  VideoFrame frame;
  while (true) {
    auto more = (*reader)->read(frame);
    if (!more.ok()) return more.status();
    if (!*more) break;
    UNMASK_RETURN_IF_ERROR(writer->write(frame.image, frame.pts_us));
    ++summary.n_frames;
    if (options.progress) options.progress(std::min(1.0, summary.n_frames / n_expected), "dubbing");
  }
  UNMASK_RETURN_IF_ERROR(writer->close());
  return summary;
}

}  // namespace unmask::synth
