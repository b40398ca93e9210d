// Runs one scan job: the uploaded file through scan::scan_file with the detectors loaded once,
// giving the canonical JSON and the HTML report. Shared by the server's own workers and by
// `unmask worker` on other machines.
#pragma once

#include <string>

#include "core/core.h"
#include "scan/scan.h"

namespace unmask::serve {

// The options a client may ask for in the upload form, as stored with the job.
struct JobOptions {
  bool fast = false;
  int frames = scan::kDefaultFramesPerTrack;
};
std::string job_options_to_json(const JobOptions& o);
// Usage error on a malformed or out-of-range value.
Result<JobOptions> job_options_from_json(const std::string& json);

struct ScanOutcome {
  std::string report_json;  // report::to_json
  std::string report_html;  // report::to_html (thumbnails inline)
  std::string verdict;
  double score = 0.0;
};

// `base` carries the loaded detectors, face models and fusion (scan.h "Many files"). The report
// names the file `display_name` (the uploaded name), not the server's path; so does an error.
Result<ScanOutcome> run_scan_job(const std::string& input_path, const std::string& display_name,
                                 const JobOptions& options,
                                 const scan::ScanOptions& base, const ProgressFn& progress);

}  // namespace unmask::serve
