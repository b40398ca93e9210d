// Where a job's files live under the data folder, and how a finished job is recorded: the
// report files written, the upload deleted, the job table updated, the counters counted.
#pragma once

#include <string>

#include "core/core.h"
#include "serve/job_runner.h"
#include "serve/job_store.h"
#include "serve/metrics.h"

namespace unmask::serve {

class JobFiles {
 public:
  explicit JobFiles(std::string data_dir);
  std::string dir(const std::string& id) const;           // <data>/jobs/<id>
  std::string report_json(const std::string& id) const;   // .../report.json
  std::string report_html(const std::string& id) const;   // .../report.html
  // The upload's path: "input" plus the uploaded name's extension when it is a known media one
  // (FFmpeg guesses some formats from it), so a name never becomes a path.
  std::string input_path(const std::string& id, const std::string& uploaded_name) const;
  // Just the file name of that path: "input.mp4", "input".
  static std::string input_name(const std::string& uploaded_name);
  void remove_dir(const std::string& id) const;

 private:
  std::string jobs_root_;
};

// Records how a job ended. On success the report files are written first, then the job is
// marked done; either way the upload is deleted. `seconds` is the scan's wall time.
Status record_outcome(JobStore& store, const JobFiles& files, Metrics& metrics, const Job& job,
                      const Result<ScanOutcome>& outcome, double seconds);

}  // namespace unmask::serve
