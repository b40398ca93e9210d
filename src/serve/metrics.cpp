#include "serve/metrics.h"

#include <sstream>

#include "serve/job_store.h"

namespace unmask::serve {

void Metrics::job_submitted() { ++submitted_; }

void Metrics::job_finished(bool ok, double seconds) {
  ++(ok ? done_ : failed_);
  std::lock_guard lock(mu_);
  scan_seconds_sum_ += seconds;
  ++scan_seconds_count_;
}

void Metrics::http_response(int status_code) {
  std::lock_guard lock(mu_);
  ++responses_[status_code];
}

std::string Metrics::render(const JobStore& store, int local_workers, const std::string& queue_kind) const {
  std::ostringstream o;
  o << "# HELP unmask_jobs_submitted_total Scan jobs accepted since the server started.\n"
    << "# TYPE unmask_jobs_submitted_total counter\n"
    << "unmask_jobs_submitted_total " << submitted_.load() << "\n"
    << "# HELP unmask_jobs_finished_total Scan jobs ended since the server started, by outcome.\n"
    << "# TYPE unmask_jobs_finished_total counter\n"
    << "unmask_jobs_finished_total{outcome=\"done\"} " << done_.load() << "\n"
    << "unmask_jobs_finished_total{outcome=\"failed\"} " << failed_.load() << "\n"
    << "# HELP unmask_jobs Jobs in the job table, by status.\n"
    << "# TYPE unmask_jobs gauge\n";
  for (JobStatus s : {JobStatus::kQueued, JobStatus::kRunning, JobStatus::kDone, JobStatus::kFailed}) {
    o << "unmask_jobs{status=\"" << job_status_name(s) << "\"} " << store.count(s) << "\n";
  }
  o << "# HELP unmask_local_workers Scan threads in this server process.\n"
    << "# TYPE unmask_local_workers gauge\n"
    << "unmask_local_workers{queue=\"" << queue_kind << "\"} " << local_workers << "\n";
  std::lock_guard lock(mu_);
  o << "# HELP unmask_scan_seconds Wall time of finished scan jobs.\n"
    << "# TYPE unmask_scan_seconds summary\n"
    << "unmask_scan_seconds_sum " << scan_seconds_sum_ << "\n"
    << "unmask_scan_seconds_count " << scan_seconds_count_ << "\n"
    << "# HELP unmask_http_responses_total HTTP responses sent, by status code.\n"
    << "# TYPE unmask_http_responses_total counter\n";
  for (const auto& [code, n] : responses_) o << "unmask_http_responses_total{code=\"" << code << "\"} " << n << "\n";
  return o.str();
}

}  // namespace unmask::serve
