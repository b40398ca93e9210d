#include "serve/redis_jobs.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "core/json_text.h"

namespace unmask::serve {
namespace {

constexpr const char* kQueueKey = "unmask:queue";
constexpr const char* kEventsKey = "unmask:events";

std::string job_key(const std::string& id) { return "unmask:job:" + id; }

// Keeps one connection, reconnecting (after a pause) when it broke. Not thread-safe.
class Connection {
 public:
  explicit Connection(RedisAddress address) : address_(std::move(address)) {}
  // The live client, or null when Redis cannot be reached now.
  RedisClient* get() {
    if (client_ && !client_->broken()) return client_.get();
    if (client_ && seconds_since(broken_at_) < 1.0) return nullptr;
    auto c = RedisClient::connect(address_);
    if (!c.ok()) {
      if (!warned_) log_warning("redis: " + c.status().message() + " (retrying)");
      warned_ = true;
      broken_at_ = SteadyClock::now();
      client_.reset();
      return nullptr;
    }
    if (warned_) log_info("redis: connected again to " + address_.host + ":" + std::to_string(address_.port));
    warned_ = false;
    client_ = std::move(*c);
    return client_.get();
  }
  void mark_broken() { broken_at_ = SteadyClock::now(); }

 private:
  RedisAddress address_;
  std::unique_ptr<RedisClient> client_;
  SteadyClock::time_point broken_at_{};
  bool warned_ = false;
};

void sleep_unless_stopped(const std::atomic<bool>& stop, double seconds) {
  const auto until = SteadyClock::now() + std::chrono::duration<double>(seconds);
  while (!stop.load() && SteadyClock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

Status push_event(RedisClient& c, const nlohmann::json& event) {
  auto r = c.command({"RPUSH", kEventsKey, json_text(event)});
  return r.status();
}

}  // namespace

std::string claim_key(const std::string& id) { return "unmask:claim:" + id; }

// ---------------------------------------------------------------------------------------------
// Server end
// ---------------------------------------------------------------------------------------------

struct RedisBridge::Impl {
  RedisAddress address;
  JobStore* store = nullptr;
  const JobFiles* files = nullptr;
  Metrics* metrics = nullptr;
  double reap_interval_s = 15.0;
  std::mutex push_mu;
  std::unique_ptr<RedisClient> push_client;
  std::atomic<bool> stop{false};
  std::thread collector;

  Status push_locked(const Job& job) {
    if (!push_client || push_client->broken()) {
      auto c = RedisClient::connect(address);
      if (!c.ok()) return c.status();
      push_client = std::move(*c);
    }
    auto bytes = read_file(job.input_path);
    if (!bytes.ok()) return bytes.status();
    const std::string key = job_key(job.id);
    UNMASK_RETURN_IF_ERROR(push_client->command({"HSET", key, "filename", job.filename, "options", job.options_json,
                                                 "input", *bytes})
                               .status());
    return push_client->command({"RPUSH", kQueueKey, job.id}).status();
  }

  void handle_event(RedisClient& c, const std::string& text) {
    const auto e = nlohmann::json::parse(text, nullptr, false);
    if (e.is_discarded() || !e.is_object() || !e.contains("id") || !e["id"].is_string()) {
      log_warning("redis: ignoring a malformed event");
      return;
    }
    const std::string id = e["id"].get<std::string>();
    const std::string type = e.value("type", "");
    auto job = store->get(id);
    if (!job || job->status == JobStatus::kDone || job->status == JobStatus::kFailed) return;
    if (type == "running") {
      (void)store->mark_running(id, e.value("worker", "remote"));
    } else if (type == "progress") {
      (void)store->set_progress(id, e.value("progress", 0.0), e.value("stage", ""));
    } else if (type == "done" || type == "failed") {
      Result<ScanOutcome> outcome = Status::internal("worker " + e.value("worker", "?"), e.value("error", "failed"));
      if (type == "done") {
        auto r = c.command({"HMGET", job_key(id), "report_json", "report_html"});
        if (!r.ok()) return;  // connection lost: the event is gone, the reaper queues the job again
        if (r->elements.size() == 2 && !r->elements[0].is_nil() && !r->elements[1].is_nil()) {
          ScanOutcome o;
          o.report_json = r->elements[0].str;
          o.report_html = r->elements[1].str;
          o.verdict = e.value("verdict", "");
          o.score = e.value("score", 0.0);
          outcome = std::move(o);
        } else {
          outcome = Status::internal("worker " + e.value("worker", "?"), "the report was not stored in Redis");
        }
      }
      Status s = record_outcome(*store, *files, *metrics, *job, outcome, e.value("seconds", 0.0));
      if (!s.is_ok()) log_warning("job " + id + ": " + s.message());
      (void)c.command({"DEL", job_key(id)});
    }
  }

  // Queued jobs missing from the queue and running jobs whose claim expired go back on it.
  void reap(RedisClient& c) {
    for (const Job& job : store->unfinished()) {
      auto claimed = c.command({"EXISTS", claim_key(job.id)});
      if (!claimed.ok()) return;
      if (claimed->integer > 0) continue;
      if (job.status == JobStatus::kQueued) {
        auto pos = c.command({"LPOS", kQueueKey, job.id});
        if (!pos.ok()) return;
        if (!pos->is_nil()) continue;
      } else {
        log_warning("job " + job.id + ": its worker " + job.worker + " went away; queued again");
        (void)store->mark_requeued(job.id);
      }
      std::lock_guard lock(push_mu);
      Status s = push_locked(job);
      if (!s.is_ok()) log_warning("job " + job.id + ": cannot queue it again: " + s.message());
    }
  }

  void collect_loop() {
    Connection conn(address);
    auto last_reap = SteadyClock::now() - std::chrono::hours(1);
    while (!stop.load()) {
      RedisClient* c = conn.get();
      if (c == nullptr) {
        sleep_unless_stopped(stop, 0.5);
        continue;
      }
      if (seconds_since(last_reap) >= reap_interval_s) {
        reap(*c);
        last_reap = SteadyClock::now();
      }
      auto r = c->blocking_command({"BLPOP", kEventsKey, "1"}, 1.0);
      if (!r.ok()) {
        conn.mark_broken();
        continue;
      }
      if (r->elements.size() == 2) handle_event(*c, r->elements[1].str);
    }
  }
};

RedisBridge::RedisBridge(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisBridge::~RedisBridge() { stop(); }

Result<std::unique_ptr<RedisBridge>> RedisBridge::connect(const RedisAddress& address, JobStore& store,
                                                          const JobFiles& files, Metrics& metrics,
                                                          double reap_interval_s) {
  auto impl = std::make_unique<Impl>();
  impl->reap_interval_s = reap_interval_s;
  impl->address = address;
  impl->store = &store;
  impl->files = &files;
  impl->metrics = &metrics;
  auto c = RedisClient::connect(address);
  if (!c.ok()) return c.status();
  impl->push_client = std::move(*c);
  return std::unique_ptr<RedisBridge>(new RedisBridge(std::move(impl)));
}

Status RedisBridge::push(const Job& job) {
  std::lock_guard lock(impl_->push_mu);
  return impl_->push_locked(job);
}

void RedisBridge::start() {
  impl_->collector = std::thread([this] { impl_->collect_loop(); });
}

void RedisBridge::stop() {
  impl_->stop = true;
  if (impl_->collector.joinable()) impl_->collector.join();
}

// ---------------------------------------------------------------------------------------------
// Worker end
// ---------------------------------------------------------------------------------------------
namespace {

// While a job runs: refreshes the claim and forwards the latest progress, on its own connection.
class Heartbeat {
 public:
  Heartbeat(const RedisAddress& address, std::string id, std::string worker)
      : id_(std::move(id)), worker_(std::move(worker)), thread_([this, address] { loop(address); }) {}
  ~Heartbeat() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void progress(double fraction, std::string_view stage) {
    std::lock_guard lock(mu_);
    fraction_ = fraction;
    stage_ = stage;
  }

 private:
  void loop(const RedisAddress& address) {
    Connection conn(address);
    double sent = -1.0;
    auto last_refresh = SteadyClock::now();
    std::unique_lock lock(mu_);
    while (!done_) {
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return done_; });
      if (done_) break;
      const double fraction = fraction_;
      const std::string stage = stage_;
      lock.unlock();
      if (RedisClient* c = conn.get()) {
        if (fraction - sent >= 0.01) {
          if (push_event(*c, {{"id", id_}, {"type", "progress"}, {"progress", fraction}, {"stage", stage}}).is_ok()) {
            sent = fraction;
          }
        }
        if (seconds_since(last_refresh) >= kClaimRefreshS) {
          const std::string ttl = std::to_string(kClaimTtlS);
          if (c->command({"SET", claim_key(id_), worker_, "XX", "EX", ttl}).ok()) last_refresh = SteadyClock::now();
        }
        if (c->broken()) conn.mark_broken();
      }
      lock.lock();
    }
  }

  std::string id_, worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  double fraction_ = 0.0;
  std::string stage_;
  std::thread thread_;
};

// Runs one claimed job; false when the connection broke before the result was sent.
bool run_one(RedisClient& c, const RedisAddress& address, const std::string& id, const std::string& name,
             const scan::ScanOptions& scan_base, const JobFiles& scratch) {
  auto fields = c.command({"HMGET", job_key(id), "filename", "options", "input"});
  if (!fields.ok()) return false;
  if (fields->elements.size() != 3 || fields->elements[2].is_nil()) return true;  // already collected
  const std::string path = scratch.input_path(id, fields->elements[0].str);
  std::error_code ec;
  std::filesystem::create_directories(scratch.dir(id), ec);
  Status written = write_file_atomic(path, fields->elements[2].str);
  auto options = job_options_from_json(fields->elements[1].is_nil() ? "{}" : fields->elements[1].str);
  if (!push_event(c, {{"id", id}, {"type", "running"}, {"worker", name}}).is_ok()) return false;
  const auto t0 = SteadyClock::now();
  Result<ScanOutcome> outcome = Status::internal("worker", "not run");
  if (!written.is_ok()) {
    outcome = written;
  } else if (!options.ok()) {
    outcome = options.status();
  } else {
    Heartbeat heartbeat(address, id, name);
    outcome = run_scan_job(path, fields->elements[0].str, *options, scan_base,
                           [&heartbeat](double f, std::string_view stage) { heartbeat.progress(f, stage); });
  }
  scratch.remove_dir(id);
  nlohmann::json event = {{"id", id}, {"worker", name}, {"seconds", seconds_since(t0)}};
  if (outcome.ok()) {
    auto stored = c.command({"HSET", job_key(id), "report_json", outcome->report_json, "report_html",
                             outcome->report_html});
    if (!stored.ok()) return false;
    event["type"] = "done";
    event["verdict"] = outcome->verdict;
    event["score"] = outcome->score;
  } else {
    event["type"] = "failed";
    event["error"] = outcome.status().message();
  }
  if (!push_event(c, event).is_ok()) return false;
  (void)c.command({"SET", claim_key(id), "finished:" + name, "EX", std::to_string(kFinishedClaimTtlS)});
  return true;
}

}  // namespace

void run_redis_worker_loop(const RedisAddress& address, const std::string& name, const scan::ScanOptions& scan_base,
                           const std::atomic<bool>& stop, int max_jobs) {
  Connection conn(address);
  const JobFiles scratch((std::filesystem::temp_directory_path() / ("unmask-worker-" + name)).string());
  int jobs_run = 0;
  while (!stop.load() && (max_jobs <= 0 || jobs_run < max_jobs)) {
    RedisClient* c = conn.get();
    if (c == nullptr) {
      sleep_unless_stopped(stop, 0.5);
      continue;
    }
    auto popped = c->blocking_command({"BLPOP", kQueueKey, "1"}, 1.0);
    if (!popped.ok()) {
      conn.mark_broken();
      continue;
    }
    if (popped->elements.size() != 2) continue;
    const std::string id = popped->elements[1].str;
    auto claim = c->command({"SET", claim_key(id), name, "NX", "EX", std::to_string(kClaimTtlS)});
    if (!claim.ok()) {
      conn.mark_broken();
      continue;
    }
    if (claim->is_nil()) continue;  // another worker has it (a job queued twice)
    if (!run_one(*c, address, id, name, scan_base, scratch)) conn.mark_broken();
    ++jobs_run;
  }
}

}  // namespace unmask::serve
