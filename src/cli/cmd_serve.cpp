// unmask serve [--port 8080] [--data DIR] [--workers N] [--queue redis://HOST:PORT]
// unmask worker --queue redis://HOST:PORT
// The HTTP service (CONTRACT.md "HTTP API") and the remote scan worker. Ctrl-C (SIGINT) or
// SIGTERM stops taking requests and lets running scans finish; a second signal quits at once
// (the scans it cut short are queued again at the next start).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/cli.h"
#include "serve/serve.h"

namespace unmask::cli {
namespace {

struct ServeCliOptions {
  serve::ServeOptions server;
  int64_t max_upload_mb = 512;
  std::string token_file;
};

struct WorkerCliOptions {
  serve::WorkerOptions worker;
};

// Blocks SIGINT and SIGTERM in this thread and in every thread started after it, so that
// wait_for_signal() receives them.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int wait_for_signal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

Result<std::string> read_token(const ServeCliOptions& o) {
  std::string token;
  if (!o.token_file.empty()) {
    auto text = read_file(o.token_file);
    if (!text.ok()) return text.status();
    token = *text;
  } else if (const char* env = std::getenv("UNMASK_TOKEN")) {
    token = env;
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  return token;
}

int run_serve(ServeCliOptions& o) {
  auto token = read_token(o);
  if (!token.ok()) return fail(token.status());
  o.server.token = *token;
  o.server.max_upload_bytes = o.max_upload_mb << 20;
  const sigset_t signals = block_stop_signals();
  auto server = serve::Server::start(o.server);
  if (!server.ok()) return fail(server.status());
  std::cerr << "unmask serve: listening on http://" << o.server.host << ":" << (*server)->port() << " ("
            << (o.server.queue_url.empty() ? std::to_string(o.server.workers) + " local workers"
                                           : "queue " + o.server.queue_url + ", " + std::to_string(o.server.workers) +
                                                 " local workers")
            << (o.server.token.empty() ? ", no token" : ", token required") << ", data in " << o.server.data_dir
            << ")" << std::endl;
  wait_for_signal(signals);
  std::cerr << "unmask serve: stopping; running scans finish first (signal again to quit now)" << std::endl;
  std::thread second([signals] {
    wait_for_signal(signals);
    std::_Exit(0);
  });
  second.detach();
  (*server)->stop();
  (*server)->wait();
  return 0;
}

int run_worker_command(WorkerCliOptions& o) {
  const sigset_t signals = block_stop_signals();
  auto stop = std::make_shared<std::atomic<bool>>(false);
  std::thread watcher([signals, stop] {
    wait_for_signal(signals);
    std::cerr << "unmask worker: stopping after the current job (signal again to quit now)" << std::endl;
    stop->store(true);
    wait_for_signal(signals);
    std::_Exit(0);
  });
  watcher.detach();
  o.worker.stop = stop.get();
  Status s = serve::run_worker(o.worker);
  if (!s.is_ok()) return fail(s);
  return 0;
}

Command make_serve(CLI::App& app) {
  auto o = std::make_shared<ServeCliOptions>();
  CLI::App* sub = app.add_subcommand("serve", "HTTP service: scans and watermark checks, with a web page");
  sub->add_option("--port", o->server.port, "Port to listen on (0: any free port)")
      ->capture_default_str()->check(CLI::Range(0, 65535));
  sub->add_option("--host", o->server.host, "Address to listen on")->capture_default_str();
  sub->add_option("--data", o->server.data_dir, "Folder for the job table, uploads and reports")->capture_default_str();
  sub->add_option("--workers", o->server.workers, "Scan threads in this process (0 with --queue: remote workers only)")
      ->capture_default_str()->check(CLI::Range(0, 64));
  sub->add_option("--queue", o->server.queue_url, "Redis queue for remote workers: redis://HOST:PORT[/DB]");
  sub->add_option("--models", o->server.models_dir, "Folder of detector models (default: $UNMASK_MODELS or models/)");
  sub->add_option("--max-upload-mb", o->max_upload_mb, "Largest upload accepted (413 above)")
      ->capture_default_str()->check(CLI::Range(1, 1 << 20));
  sub->add_option("--max-queued", o->server.max_queued, "Jobs waiting before new ones get 503")
      ->capture_default_str()->check(CLI::Range(1, 1000000));
  sub->add_option("--token-file", o->token_file,
                  "File holding the token every /v1/ request must send as \"Authorization: Bearer TOKEN\" "
                  "(default: $UNMASK_TOKEN; none: open)");
  return {sub, [o] { return run_serve(*o); }};
}

Command make_worker(CLI::App& app) {
  auto o = std::make_shared<WorkerCliOptions>();
  CLI::App* sub = app.add_subcommand("worker", "Take scan jobs from a Redis queue filled by `unmask serve --queue`");
  sub->add_option("--queue", o->worker.queue_url, "redis://HOST:PORT[/DB]")->required();
  sub->add_option("--models", o->worker.models_dir, "Folder of detector models (default: $UNMASK_MODELS or models/)");
  sub->add_option("--name", o->worker.name, "Name shown in job records (default: HOST-PID)");
  sub->add_option("--max-jobs", o->worker.max_jobs, "Stop after this many jobs (default: never)")
      ->check(CLI::Range(0, 1 << 30));
  return {sub, [o] { return run_worker_command(*o); }};
}

}  // namespace
}  // namespace unmask::cli

UNMASK_REGISTER_COMMAND(unmask::cli::make_serve);
UNMASK_REGISTER_COMMAND(unmask::cli::make_worker);
