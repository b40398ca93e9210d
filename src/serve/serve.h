// unmask serve: `scan` and `mark verify` as an HTTP service with a web page (CONTRACT.md "HTTP
// API"), and `unmask worker`, which takes scan jobs from a Redis queue on other machines.
//
//   unmask::serve::ServeOptions o;
//   o.port = 8080; o.data_dir = "/var/lib/unmask"; o.workers = 2;
//   auto server = unmask::serve::Server::start(o);   // loads the models, binds, starts workers
//   if (!server.ok()) return server.status();
//   (*server)->wait();                                // until stop() (e.g. from a signal handler)
//
// How a scan job flows:
//   POST /v1/scans (multipart "file") -> the upload is written to <data>/jobs/<id>/, probed (not
//   media: 415), recorded as "queued" in <data>/jobs.db (SQLite) and its id handed to the queue
//   -> a worker runs scan::scan_file with the models loaded once, reporting progress -> the
//   report (JSON + HTML) is written beside the upload, the upload is deleted, the job is "done"
//   (or "failed" with the error) -> GET /v1/scans/{id} and /v1/scans/{id}/report.html.
//
// Queues:
//   - in-process (no --queue): `workers` threads of this process take the jobs.
//   - Redis (--queue redis://HOST:PORT): the server puts each job (its id, options and the
//     uploaded bytes) on the Redis list "unmask:queue"; any number of `unmask worker`s, on any
//     machine, and `workers` threads of the server itself, take jobs from it, claim each with a
//     key that expires unless the worker keeps refreshing it, and send progress and results back
//     on "unmask:events", which the server writes to its job table. A job whose worker died (its
//     claim expired) is queued again.
// Jobs survive a restart of the server: queued and running jobs are queued again when it starts.
//
// Thread-safety: a Server is used from one thread (start, wait, stop); stop() may also be called
// from another thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "core/core.h"
#include "detect/detector.h"
#include "scan/scan.h"

namespace unmask::serve {

struct ServeOptions {
  std::string host = "0.0.0.0";
  int port = 8080;                // 0: any free port (see Server::port)
  std::string data_dir = "unmask-data";
  int workers = 1;                // scan threads in this process (0 with --queue: remote only)
  std::string queue_url;          // empty: in-process queue; "redis://HOST:PORT[/DB]": Redis
  std::string models_dir;         // empty: detect::default_models_dir()
  // Non-empty: every /v1/ request needs "Authorization: Bearer <token>" (401 otherwise).
  std::string token;
  int64_t max_upload_bytes = int64_t{512} << 20;  // larger uploads: 413
  int max_queued = 64;            // more queued jobs: 503
  // With Redis: how often jobs whose worker went away (claim expired) are looked for.
  double reap_interval_s = 15.0;
  // Already loaded detectors (tests): used instead of loading models_dir.
  std::shared_ptr<const detect::DetectorSet> detector_set;
};

class Server {
 public:
  // Opens the job table, loads the models (model error: exit 4), binds the port (input error
  // when it is taken), queues the jobs a previous run left unfinished and starts the workers.
  // Returns once requests are being served.
  static Result<std::unique_ptr<Server>> start(const ServeOptions& options);
  ~Server();  // stop() and wait()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  // Stops taking requests at once; workers finish the scan they are running, then stop.
  void stop();
  // Blocks until stop() was called and every thread has ended.
  void wait();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct WorkerOptions {
  std::string queue_url;          // redis://HOST:PORT[/DB]
  std::string models_dir;
  std::string name;               // shown in job records; default "<hostname>-<pid>"
  std::shared_ptr<const detect::DetectorSet> detector_set;  // tests
  // Set to true (e.g. from a signal handler) to stop after the current job.
  const std::atomic<bool>* stop = nullptr;
  // Stop after this many jobs (0: never); for tests and batch runs.
  int max_jobs = 0;
};

// Takes scan jobs from the Redis queue until *stop (or max_jobs). Reconnects when Redis goes
// away. Errors: usage (bad URL), input (Redis unreachable at start), model (models missing).
Status run_worker(const WorkerOptions& options);

}  // namespace unmask::serve
