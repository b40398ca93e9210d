// The server's durable job table (SQLite, <data>/jobs.db): what was submitted, where each job
// stands, and how it ended. It is the single source of truth for the HTTP API; the queues
// (in-process or Redis) only carry job ids. Jobs survive a restart of the server: on start, the
// jobs still queued or running are handed to the queue again (requeue_unfinished).
//
// Thread-safety: every method may be called from any thread (one connection, one mutex).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/core.h"

namespace unmask::serve {

enum class JobStatus { kQueued, kRunning, kDone, kFailed };
std::string_view job_status_name(JobStatus s);  // "queued", "running", "done", "failed"

struct Job {
  std::string id;             // 32 hex digits, random: ids are not guessable
  JobStatus status = JobStatus::kQueued;
  double progress = 0.0;      // 0..1
  std::string stage;          // the scan's current stage ("faces", "detectors", "audio")
  std::string filename;       // as uploaded (for people; never used as a path)
  std::string input_path;     // where the upload is kept until the job ends
  std::string options_json;   // the scan options asked for ({"fast": true, "frames": 32})
  int64_t size_bytes = 0;
  std::string created_utc;
  std::string finished_utc;
  std::string error;          // failed jobs: one line
  std::string worker;         // who ran it ("local-0", a remote worker's name)
  std::string verdict;        // done jobs
  double score = 0.0;
};

class JobStore {
 public:
  // Opens or creates <data_dir>/jobs.db (the folder is created).
  static Result<std::unique_ptr<JobStore>> open(const std::string& data_dir);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // A fresh random job id.
  static std::string new_id();

  Status insert(const Job& job);
  std::optional<Job> get(const std::string& id) const;
  int count(JobStatus status) const;
  // Jobs queued or running, oldest first (to hand to the queue again after a restart).
  std::vector<Job> unfinished() const;

  Status mark_running(const std::string& id, const std::string& worker);
  Status set_progress(const std::string& id, double progress, const std::string& stage);
  Status mark_requeued(const std::string& id);
  // Done: the report files are written by the caller first; verdict and score for listings.
  Status mark_done(const std::string& id, const std::string& verdict, double score);
  Status mark_failed(const std::string& id, const std::string& error);

 private:
  struct Impl;
  explicit JobStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The current time as "2026-11-26T23:05:00Z".
std::string utc_now();

}  // namespace unmask::serve
