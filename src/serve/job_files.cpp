#include "core/text.h"
#include "serve/job_files.h"

#include <algorithm>
#include <array>
#include <filesystem>

namespace unmask::serve {
namespace fs = std::filesystem;

JobFiles::JobFiles(std::string data_dir) : jobs_root_((fs::path(data_dir) / "jobs").string()) {}

std::string JobFiles::dir(const std::string& id) const { return (fs::path(jobs_root_) / id).string(); }
std::string JobFiles::report_json(const std::string& id) const { return (fs::path(dir(id)) / "report.json").string(); }
std::string JobFiles::report_html(const std::string& id) const { return (fs::path(dir(id)) / "report.html").string(); }

std::string JobFiles::input_name(const std::string& uploaded_name) {
  static constexpr std::array<std::string_view, 13> kKnown = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".jpg", ".jpeg",
                                                              ".png", ".wav", ".mp3", ".flac", ".m4a", ".mpg"};
  std::string ext = lower_extension(uploaded_name);
  if (std::find(kKnown.begin(), kKnown.end(), ext) == kKnown.end()) ext.clear();
  return "input" + ext;
}

std::string JobFiles::input_path(const std::string& id, const std::string& uploaded_name) const {
  return (fs::path(dir(id)) / input_name(uploaded_name)).string();
}

void JobFiles::remove_dir(const std::string& id) const {
  std::error_code ec;
  fs::remove_all(dir(id), ec);
}

Status record_outcome(JobStore& store, const JobFiles& files, Metrics& metrics, const Job& job,
                      const Result<ScanOutcome>& outcome, double seconds) {
  std::error_code ec;
  if (!job.input_path.empty()) fs::remove(job.input_path, ec);
  if (!outcome.ok()) {
    metrics.job_finished(false, seconds);
    return store.mark_failed(job.id, outcome.status().message());
  }
  fs::create_directories(files.dir(job.id), ec);
  Status s = write_file_atomic(files.report_json(job.id), outcome->report_json + "\n");
  if (s.is_ok()) s = write_file_atomic(files.report_html(job.id), outcome->report_html);
  if (!s.is_ok()) {
    metrics.job_finished(false, seconds);
    return store.mark_failed(job.id, "cannot store the report: " + s.message());
  }
  metrics.job_finished(true, seconds);
  return store.mark_done(job.id, outcome->verdict, outcome->score);
}

}  // namespace unmask::serve
