// Server: the job table, the models loaded once, the queue (in-process or Redis), the workers and
// the HTTP listener; `run_worker` for other machines.
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "serve/redis_jobs.h"
#include "serve/serve.h"
#include "serve/server_context.h"

namespace unmask::serve {
namespace {

// The in-process queue of job ids.
class LocalQueue {
 public:
  void push(std::string id) {
    {
      std::lock_guard lock(mu_);
      ids_.push_back(std::move(id));
    }
    cv_.notify_one();
  }
  // The next id, or nothing once closed.
  std::optional<std::string> pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return closed_ || !ids_.empty(); });
    if (closed_) return std::nullopt;
    std::string id = std::move(ids_.front());
    ids_.pop_front();
    return id;
  }
  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> ids_;
  bool closed_ = false;
};

// Loads the detectors (or takes the given ones) into the scan options every job starts from.
Result<scan::ScanOptions> load_scan_base(const std::string& models_dir,
                                         std::shared_ptr<const detect::DetectorSet> given) {
  scan::ScanOptions base;
  if (given) {
    base.detector_set = std::move(given);
    return base;
  }
  const std::string dir = models_dir.empty() ? detect::default_models_dir() : models_dir;
  auto set = scan::load_available_detectors(dir, {});
  if (!set.ok()) return set.status();
  for (const std::string& s : set->skipped) log_info("serve: detector left out: " + s);
  base.models_dir = dir;
  base.detector_set = set->detectors;
  base.fusion = set->fusion;
  return base;
}

// Runs jobs from the in-process queue, recording progress and outcome in the job table.
void local_worker(ServerContext& ctx, LocalQueue& queue, const std::string& name) {
  while (auto id = queue.pop()) {
    auto job = ctx.store->get(*id);
    if (!job || job->status != JobStatus::kQueued) continue;
    (void)ctx.store->mark_running(job->id, name);
    const auto t0 = SteadyClock::now();
    double recorded = -1.0;
    std::string recorded_stage;
    std::mutex progress_mu;  // scan may report from more than one thread
    auto progress = [&](double f, std::string_view stage) {
      std::lock_guard lock(progress_mu);
      if (f - recorded < 0.01 && stage == recorded_stage) return;
      recorded = f;
      recorded_stage = stage;
      (void)ctx.store->set_progress(job->id, f, recorded_stage);
    };
    auto options = job_options_from_json(job->options_json);
    Result<ScanOutcome> outcome =
        options.ok() ? run_scan_job(job->input_path, job->filename, *options, ctx.scan_base, progress) : options.status();
    const double seconds = seconds_since(t0);
    Status s = record_outcome(*ctx.store, *ctx.files, ctx.metrics, *job, outcome, seconds);
    if (!s.is_ok()) log_warning("job " + job->id + ": " + s.message());
  }
}

std::string default_worker_name() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "worker");
  return std::string(host) + "-" + std::to_string(getpid());
}

}  // namespace

struct Server::Impl {
  ServerContext ctx;
  httplib::Server http;
  LocalQueue local_queue;
  std::unique_ptr<RedisBridge> bridge;
  std::optional<RedisAddress> redis;
  std::atomic<bool> stopping{false};
  std::thread http_thread;
  std::vector<std::thread> workers;
  int port = 0;
  std::mutex wait_mu;
  bool joined = false;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  stop();
  wait();
}

int Server::port() const { return impl_->port; }

void Server::stop() {
  if (impl_->stopping.exchange(true)) return;
  impl_->http.stop();
  impl_->local_queue.close();
}

void Server::wait() {
  std::lock_guard lock(impl_->wait_mu);
  if (impl_->joined) return;
  if (impl_->http_thread.joinable()) impl_->http_thread.join();
  for (std::thread& t : impl_->workers) t.join();
  if (impl_->bridge) impl_->bridge->stop();
  impl_->joined = true;
}

Result<std::unique_ptr<Server>> Server::start(const ServeOptions& options) {
  if (options.port < 0 || options.port > 65535) return Status::usage("--port", "must be 0 to 65535");
  if (options.workers < 0) return Status::usage("--workers", "must be 0 or more");
  if (options.workers == 0 && options.queue_url.empty()) {
    return Status::usage("--workers 0", "needs --queue: without Redis nothing would run the scans");
  }
  if (options.max_queued < 1) return Status::usage("max queued jobs", "must be at least 1");
  auto impl = std::make_unique<Impl>();
  ServerContext& ctx = impl->ctx;
  ctx.options = options;
  if (!options.queue_url.empty()) {
    auto address = parse_redis_url(options.queue_url);
    if (!address.ok()) return address.status();
    impl->redis = *address;
  }
  auto store = JobStore::open(options.data_dir);
  if (!store.ok()) return store.status();
  ctx.store = std::move(*store);
  ctx.files = std::make_unique<JobFiles>(options.data_dir);
  auto base = load_scan_base(options.models_dir, options.detector_set);
  if (!base.ok()) return base.status();
  ctx.scan_base = std::move(*base);
  ctx.local_workers = options.workers;

  Impl* raw = impl.get();
  if (impl->redis) {
    auto bridge = RedisBridge::connect(*impl->redis, *ctx.store, *ctx.files, ctx.metrics, options.reap_interval_s);
    if (!bridge.ok()) return bridge.status();
    impl->bridge = std::move(*bridge);
    ctx.queue_kind = "redis";
    ctx.enqueue = [raw](const Job& job) { return raw->bridge->push(job); };
  } else {
    ctx.queue_kind = "local";
    ctx.enqueue = [raw](const Job& job) {
      raw->local_queue.push(job.id);
      return Status::ok();
    };
  }

  install_routes(impl->http, ctx);
  impl->port = options.port == 0 ? impl->http.bind_to_any_port(options.host)
                                 : (impl->http.bind_to_port(options.host, options.port) ? options.port : -1);
  if (impl->port < 0) {
    return Status::input(options.host + ":" + std::to_string(options.port), "cannot listen there (in use?)");
  }

  // Jobs a previous run left queued or running go to the queue again, oldest first. With
  // Redis, the bridge's first reap does it (skipping jobs still queued or claimed there).
  int requeued = 0;
  for (const Job& job : ctx.store->unfinished()) {
    if (job.status == JobStatus::kRunning) (void)ctx.store->mark_requeued(job.id);
    if (!impl->redis) impl->local_queue.push(job.id);
    ++requeued;
  }
  if (requeued > 0) log_info("serve: " + std::to_string(requeued) + " unfinished jobs from a previous run queued again");

  if (impl->bridge) impl->bridge->start();
  for (int i = 0; i < options.workers; ++i) {
    if (impl->redis) {
      const std::string name = default_worker_name() + "-" + std::to_string(i);
      impl->workers.emplace_back(
          [raw, name] { run_redis_worker_loop(*raw->redis, name, raw->ctx.scan_base, raw->stopping, 0); });
    } else {
      const std::string name = "local-" + std::to_string(i);
      impl->workers.emplace_back([raw, name] { local_worker(raw->ctx, raw->local_queue, name); });
    }
  }
  impl->http_thread = std::thread([raw] { raw->http.listen_after_bind(); });
  // The socket already listens (bind); wait for the accept loop, so that stop() cannot come
  // before it and leave it running.
  while (!impl->http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Status run_worker(const WorkerOptions& options) {
  auto address = parse_redis_url(options.queue_url);
  if (!address.ok()) return address.status();
  auto probe = RedisClient::connect(*address);
  if (!probe.ok()) return probe.status();
  auto base = load_scan_base(options.models_dir, options.detector_set);
  if (!base.ok()) return base.status();
  const std::string name = options.name.empty() ? default_worker_name() : options.name;
  static const std::atomic<bool> kNever{false};
  log_info("worker " + name + ": taking scan jobs from " + options.queue_url);
  run_redis_worker_loop(*address, name, *base, options.stop ? *options.stop : kNever, options.max_jobs);
  return Status::ok();
}

}  // namespace unmask::serve
