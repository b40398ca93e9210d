// What the HTTP handlers share with the server (private to serve).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "scan/scan.h"
#include "serve/job_files.h"
#include "serve/job_store.h"
#include "serve/metrics.h"
#include "serve/serve.h"

namespace httplib {
class Server;
}

namespace unmask::serve {

struct ServerContext {
  ServeOptions options;
  std::unique_ptr<JobStore> store;
  std::unique_ptr<JobFiles> files;
  Metrics metrics;
  scan::ScanOptions scan_base;  // detectors, face models and fusion, loaded once
  std::string queue_kind;       // "local" or "redis"
  int local_workers = 0;
  // Hands a recorded job to the queue.
  std::function<Status(const Job&)> enqueue;
};

// GET /healthz, POST /v1/scans, GET /v1/scans/{id}, GET /v1/scans/{id}/report.html,
// POST /v1/marks/verify, GET /metrics, GET / (CONTRACT.md "HTTP API").
void install_routes(httplib::Server& http, ServerContext& ctx);

// The web page served at GET / (web/index.html, embedded at build time).
std::string_view web_index_html();

}  // namespace unmask::serve
