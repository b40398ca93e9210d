// Counters for GET /metrics (Prometheus text format 0.0.4). Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

namespace unmask::serve {

class JobStore;

class Metrics {
 public:
  void job_submitted();
  void job_finished(bool ok, double seconds);
  void http_response(int status_code);
  // The exposition text; queue gauges are read from the job table.
  std::string render(const JobStore& store, int local_workers, const std::string& queue_kind) const;

 private:
  std::atomic<long long> submitted_{0};
  std::atomic<long long> done_{0};
  std::atomic<long long> failed_{0};
  mutable std::mutex mu_;
  double scan_seconds_sum_ = 0.0;
  long long scan_seconds_count_ = 0;
  std::map<int, long long> responses_;
};

}  // namespace unmask::serve
