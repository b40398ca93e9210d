// probe(): what a media file contains, and the checks that turn bad files into clear errors.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "core/text.h"
#include "media/ffmpeg_util.h"
#include "media/media.h"

namespace unmask::media {
namespace {

using detail::InputContextPtr;

// For containers with a sample index (mp4/mov), a file cut short still opens when its index comes
// first; the index then points past the end of the file. Returns how many bytes are missing.
int64_t bytes_missing_from_index(AVFormatContext* fmt, int64_t file_size) {
  int64_t needed = 0;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    AVStream* st = fmt->streams[i];
    const int n = avformat_index_get_entries_count(st);
    if (n <= 0) continue;
    const AVIndexEntry* last = avformat_index_get_entry(st, n - 1);
    if (last != nullptr) needed = std::max<int64_t>(needed, last->pos + last->size);
  }
  return needed > file_size ? needed - file_size : 0;
}

}  // namespace

bool has_image_extension(const std::string& path) {
  const std::string ext = lower_extension(path);
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".webp";
}

bool has_audio_extension(const std::string& path) {
  const std::string ext = lower_extension(path);
  return ext == ".wav" || ext == ".mp3" || ext == ".flac" || ext == ".m4a" || ext == ".ogg" ||
         ext == ".opus" || ext == ".aac";
}

namespace detail {

// Fills MediaInfo from an opened input. Shared by probe() and the readers.
Result<MediaInfo> describe(const std::string& path, AVFormatContext* fmt) {
  MediaInfo info;
  info.path = path;
  info.format = fmt->iformat->name;
  std::error_code ec;
  info.size_bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  info.is_image = is_image_format(fmt);

  const int64_t missing = bytes_missing_from_index(fmt, info.size_bytes);
  if (missing > 0) {
    return Status::input(path, "truncated file: " + std::to_string(missing) +
                                   " bytes of media data are missing");
  }

  const int v = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (v >= 0 && fmt->streams[v]->discard != AVDISCARD_ALL &&
      !(fmt->streams[v]->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
    AVStream* st = fmt->streams[v];
    const AVCodecParameters* par = st->codecpar;
    if (par->width <= 0 || par->height <= 0) {
      return Status::input(path, "video stream has a zero-size frame");
    }
    VideoStreamInfo vi;
    vi.codec = avcodec_get_name(par->codec_id);
    vi.width_px = par->width;
    vi.height_px = par->height;
    vi.rotation_deg = stream_rotation_deg(st);
    if (info.is_image) {
      vi.fps = 0.0;
      vi.n_frames = 1;
    } else {
      const AVRational rate = av_guess_frame_rate(fmt, st, nullptr);
      vi.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
      if (st->nb_frames > 0) {
        vi.n_frames = st->nb_frames;
      } else {
        double duration_s = 0.0;
        if (st->duration != AV_NOPTS_VALUE) duration_s = st->duration * av_q2d(st->time_base);
        else if (fmt->duration != AV_NOPTS_VALUE) duration_s = fmt->duration / double(AV_TIME_BASE);
        vi.n_frames = static_cast<int64_t>(std::llround(duration_s * vi.fps));
        vi.n_frames_estimated = true;
      }
    }
    info.video = vi;
  }

  const int a = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (a >= 0) {
    const AVCodecParameters* par = fmt->streams[a]->codecpar;
    if (par->sample_rate > 0 && par->ch_layout.nb_channels > 0) {
      AudioStreamInfo ai;
      ai.codec = avcodec_get_name(par->codec_id);
      ai.sample_rate_hz = par->sample_rate;
      ai.channels = par->ch_layout.nb_channels;
      info.audio = ai;
    }
  }
  if (!info.video && !info.audio) return Status::input(path, "no video or audio stream found");

  if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0) {
    info.duration_s = fmt->duration / double(AV_TIME_BASE);
  } else if (info.video && info.video->fps > 0) {
    info.duration_s = info.video->n_frames / info.video->fps;
  }
  if (info.is_image) info.duration_s = 0.0;
  return info;
}

}  // namespace detail

Result<MediaInfo> probe(const std::string& path) {
  auto fmt = detail::open_input(path);
  if (!fmt.ok()) return fmt.status();
  return detail::describe(path, fmt->get());
}

Result<std::map<std::string, std::string>> read_metadata(const std::string& path) {
  auto fmt = detail::open_input(path);
  if (!fmt.ok()) return fmt.status();
  std::map<std::string, std::string> tags;
  const AVDictionaryEntry* entry = nullptr;
  while ((entry = av_dict_get((*fmt)->metadata, "", entry, AV_DICT_IGNORE_SUFFIX)) != nullptr) {
    tags[entry->key] = entry->value;
  }
  return tags;
}

}  // namespace unmask::media
