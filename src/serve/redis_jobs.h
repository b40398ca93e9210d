// Scan jobs over Redis, both ends (serve.h "Queues"):
//   keys: "unmask:queue" (list of job ids, FIFO), "unmask:job:<id>" (hash: filename, options,
//   input bytes; later report_json, report_html), "unmask:claim:<id>" (the worker running it;
//   expires kClaimTtlS after its last refresh), "unmask:events" (list of JSON events from the
//   workers: running, progress, done, failed).
// One server per Redis database: the server consumes every event on it.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "core/core.h"
#include "scan/scan.h"
#include "serve/job_files.h"
#include "serve/job_store.h"
#include "serve/metrics.h"
#include "serve/redis_client.h"

namespace unmask::serve {

inline constexpr int kClaimTtlS = 60;        // a claim not refreshed for this long: worker gone
inline constexpr int kClaimRefreshS = 10;
inline constexpr int kFinishedClaimTtlS = 600;

// The server's end: hands jobs to Redis, writes the workers' events into the job table, and
// queues again the jobs whose worker went away.
class RedisBridge {
 public:
  static Result<std::unique_ptr<RedisBridge>> connect(const RedisAddress& address, JobStore& store,
                                                      const JobFiles& files, Metrics& metrics,
                                                      double reap_interval_s);
  ~RedisBridge();
  // Puts the job (id, options and the upload's bytes) on the queue. Thread-safe.
  Status push(const Job& job);
  // Starts the thread that reads events and reaps jobs whose claim expired; stop() ends it.
  void start();
  void stop();

 private:
  struct Impl;
  explicit RedisBridge(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A worker's claim on a job: set when it takes the job, refreshed while it runs.
std::string claim_key(const std::string& id);

// The worker's end: takes jobs until *stop is true or max_jobs (> 0) were run. Reconnects when
// the connection breaks. `scan_base` carries the loaded detectors.
void run_redis_worker_loop(const RedisAddress& address, const std::string& name, const scan::ScanOptions& scan_base,
                           const std::atomic<bool>& stop, int max_jobs);

}  // namespace unmask::serve
