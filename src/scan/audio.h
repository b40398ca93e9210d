// Private to scan: what the audio of a file says. The voice detectors and the sound lip-sync
// compares the lips with need no face, so scan_file runs them (hear_audio) beside the video's
// decode; lip-sync itself (judge_lipsync_of) runs once the face tracks are known.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/core.h"
#include "detect/detect.h"
#include "detect/detector.h"
#include "report/report.h"
#include "scan/scan.h"
#include "scan/tracks.h"

namespace unmask::scan::internal {

struct AudioOutcome {
  bool judged_any = false;                 // a detector or lip-sync gave a score
  std::optional<double> voice;             // max over audio detectors that heard speech
  std::string voice_detector;
  std::vector<report::TimedScore> segments;
  std::vector<DetectorScore> detector_scores;
  bool speech_heard = false;
  std::optional<report::LipsyncResult> lipsync;
  std::vector<std::string> notes;
};

// What the audio says on its own: the voice detectors, and (when lipsync_wanted and speech is
// possible) the sound lip-sync compares the lips with. The audio is read in pieces, as many times
// as each analysis needs (a few decodes of the sound, ~0.4 s of CPU per 10 minutes each), never
// held whole: memory stays bounded at any length. A failure is in `status` (what came before it
// is not used).
struct AudioHeard {
  Status status;
  AudioOutcome outcome;
  std::optional<detect::LipsyncAudio> lipsync_sound;
  double seconds = 0.0;  // wall time it took
};
AudioHeard hear_audio(const std::string& path, const detect::DetectorSet& set, bool lipsync_wanted);

// Lip-sync once the face tracks are known, on the sound hear_audio prepared: every track of 2 s or
// more against the voice, and the file gets the face that best matches it (see audio.cpp). Adds
// the result (or the reason there is none) to `out`. Nothing when there is no track.
void judge_lipsync_of(const std::vector<TrackOutcome>& tracks, const detect::LipsyncAudio& sound, double processed_fps,
                      double duration_s, AudioOutcome& out);

}  // namespace unmask::scan::internal
