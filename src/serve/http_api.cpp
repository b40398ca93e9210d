// The HTTP routes of CONTRACT.md "HTTP API". Every error is JSON {"error": "..."}.
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>

#include "core/json_text.h"
#include "media/media.h"
#include "serve/provenance.h"
#include "serve/server_context.h"
#include "serve/upload_form.h"

namespace unmask::serve {
namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kMultipartNeeded =
    "POST a multipart form with the media file in the field \"file\" (curl -F file=@clip.mp4)";

void send_json(httplib::Response& res, int status, const nlohmann::ordered_json& body) {
  res.status = status;
  res.set_content(json_text(body), kJson);
}

std::string reason_for(int status) {
  switch (status) {
    case 400: return "bad request";
    case 401: return "a token is required: send \"Authorization: Bearer <token>\"";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 413: return "the upload is too large";
    case 415: return "not a media file unmask can read";
    case 503: return "busy; try again later";
    default: return "error " + std::to_string(status);
  }
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

Result<JobOptions> options_from_form(const UploadForm& form) {
  JobOptions o;
  if (auto fast = form.field("fast")) {
    const std::string v = trim(*fast);
    if (v == "1" || v == "true" || v == "on") {
      o.fast = true;
    } else if (v == "0" || v == "false" || v == "off" || v.empty()) {
      o.fast = false;
    } else {
      return Status::usage("fast", "expected true or false");
    }
  }
  if (auto frames = form.field("frames")) {
    const std::string v = trim(*frames);
    int n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < 1 || n > 100000) {
      return Status::usage("frames", "expected a whole number from 1 to 100000");
    }
    o.frames = n;
  }
  return o;
}

nlohmann::ordered_json job_json(const ServerContext& ctx, const Job& job) {
  nlohmann::ordered_json j;
  j["id"] = job.id;
  j["status"] = job_status_name(job.status);
  j["progress"] = job.progress;
  if (!job.stage.empty()) j["stage"] = job.stage;
  j["filename"] = job.filename;
  j["created_utc"] = job.created_utc;
  if (!job.finished_utc.empty()) j["finished_utc"] = job.finished_utc;
  if (!job.worker.empty()) j["worker"] = job.worker;
  if (job.status == JobStatus::kFailed) j["error"] = job.error;
  if (job.status == JobStatus::kDone) {
    auto text = read_file(ctx.files->report_json(job.id));
    auto report = text.ok() ? nlohmann::ordered_json::parse(*text, nullptr, false) : nlohmann::ordered_json();
    if (report.is_discarded() || report.is_null()) {
      j["report"] = nullptr;
      j["error"] = "the stored report cannot be read";
    } else {
      j["report"] = std::move(report);
    }
  }
  return j;
}

// The form's own mistakes, in the order a client should hear of them; nullopt when it is usable.
std::optional<std::pair<int, std::string>> refusal(const UploadForm& form) {
  if (form.too_large) return std::make_pair(413, reason_for(413));
  if (!form.multipart || (!form.has_file && form.complete)) return std::make_pair(400, std::string(kMultipartNeeded));
  if (!form.complete) return std::make_pair(400, std::string("the form was cut short or malformed; nothing was kept"));
  if (!form.write_error.is_ok()) {
    return std::make_pair(500, "cannot store the upload: " +
                                   form.write_error.with_replaced(form.file_path, form.display_name()).message());
  }
  if (form.file_bytes == 0) return std::make_pair(400, std::string("the uploaded file is empty"));
  return std::nullopt;
}

void post_scan(ServerContext& ctx, const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
  Job job;
  job.id = JobStore::new_id();
  std::error_code ec;
  std::filesystem::create_directories(ctx.files->dir(job.id), ec);
  const UploadForm form = read_upload_form(req, reader, static_cast<uint64_t>(ctx.options.max_upload_bytes),
                                           [&](const std::string& name) {
                                             return ctx.files->input_path(job.id, name);
                                           });
  if (auto why = refusal(form)) {
    ctx.files->remove_dir(job.id);
    return send_error(res, why->first, why->second);
  }
  auto options = options_from_form(form);
  if (!options.ok()) {
    ctx.files->remove_dir(job.id);
    return send_error(res, 400, options.status().message());
  }
  const int queued = ctx.store->count(JobStatus::kQueued);
  if (queued >= ctx.options.max_queued) {
    ctx.files->remove_dir(job.id);
    res.set_header("Retry-After", "30");
    return send_error(res, 503, "the queue is full (" + std::to_string(queued) + " jobs waiting); try again later");
  }
  job.filename = form.display_name();
  job.input_path = form.file_path;
  job.options_json = job_options_to_json(*options);
  job.size_bytes = static_cast<int64_t>(form.file_bytes);
  auto info = media::probe(job.input_path);
  if (!info.ok()) {
    ctx.files->remove_dir(job.id);
    return send_error(res, 415, "not a media file unmask can read (" +
                                    info.status().with_replaced(job.input_path, job.filename).message() + ")");
  }
  Status s = ctx.store->insert(job);
  if (!s.is_ok()) {
    ctx.files->remove_dir(job.id);
    return send_error(res, 500, s.message());
  }
  ctx.metrics.job_submitted();
  s = ctx.enqueue(job);
  if (!s.is_ok()) {
    (void)ctx.store->mark_failed(job.id, "could not be queued: " + s.message());
    ctx.files->remove_dir(job.id);
    return send_error(res, 503, "the job queue is not reachable: " + s.message());
  }
  res.set_header("Location", "/v1/scans/" + job.id);
  send_json(res, 202, {{"id", job.id}, {"status", "queued"}});
}

void get_scan(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto job = ctx.store->get(req.matches[1]);
  if (!job) return send_error(res, 404, "no scan with this id");
  send_json(res, 200, job_json(ctx, *job));
}

void get_report_html(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto job = ctx.store->get(req.matches[1]);
  if (!job) return send_error(res, 404, "no scan with this id");
  if (job->status != JobStatus::kDone) {
    return send_error(res, 404, "no report: the scan is " + std::string(job_status_name(job->status)));
  }
  auto html = read_file(ctx.files->report_html(job->id));
  if (!html.ok()) return send_error(res, 404, "the stored report cannot be read");
  res.set_content(*html, "text/html; charset=utf-8");
}

void post_verify(ServerContext& ctx, const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
  const std::string scratch = ctx.files->dir("verify-" + JobStore::new_id());
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{scratch};
  std::error_code ec;
  std::filesystem::create_directories(scratch, ec);
  const UploadForm form = read_upload_form(req, reader, static_cast<uint64_t>(ctx.options.max_upload_bytes),
                                           [&](const std::string& name) {
                                             return (std::filesystem::path(scratch) / JobFiles::input_name(name)).string();
                                           });
  if (auto why = refusal(form)) return send_error(res, why->first, why->second);
  ProvenanceRequest pr;
  if (auto manifest = form.field("manifest")) {
    auto m = sign::parse_sidecar(*manifest, "manifest");
    if (!m.ok()) return send_error(res, 400, m.status().message());
    pr.manifest = *m;
  }
  if (auto pub = form.field("pub")) {
    const std::string pub_path = (std::filesystem::path(scratch) / "key.pub").string();
    auto key = write_file_atomic(pub_path, *pub).is_ok() ? sign::read_public_key(pub_path)
                                                         : Result<sign::PublicKey>(Status::internal("pub", "cannot store"));
    if (!key.ok()) key = sign::parse_public_key_hex(trim(*pub));
    if (!key.ok()) return send_error(res, 400, "pub: not a public key (a PREFIX.pub file or 64 hex digits)");
    pr.expected_signer = *key;
  }
  pr.media_path = form.file_path;
  auto result = check_provenance(pr);
  if (!result.ok()) {
    const Status why = result.status().with_replaced(pr.media_path, form.display_name());
    const int code = http_code_for(why);
    return send_error(res, code, code == 415 ? "not a media file unmask can read (" + why.message() + ")" : why.message());
  }
  res.set_content(provenance_json(pr, *result), kJson);
}

}  // namespace

void install_routes(httplib::Server& http, ServerContext& ctx) {
  http.set_payload_max_length(static_cast<size_t>(ctx.options.max_upload_bytes));
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which lets a second server bind
  // the same port and silently take half of the connections.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof yes);
  });

  http.set_pre_routing_handler([&ctx](const httplib::Request& req, httplib::Response& res) {
    if (ctx.options.token.empty() || req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + ctx.options.token) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    send_error(res, 401, reason_for(401));
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) send_error(res, res.status, reason_for(res.status));
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log_warning("serve: internal error: " + what);
    send_error(res, 500, "internal error: " + what);
  });
  http.set_logger([&ctx](const httplib::Request&, const httplib::Response& res) { ctx.metrics.http_response(res.status); });

  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { send_json(res, 200, {{"ok", true}}); });
  http.Post("/v1/scans", [&ctx](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    post_scan(ctx, req, res, reader);
  });
  http.Get(R"(/v1/scans/([0-9a-f]{32}))",
           [&ctx](const httplib::Request& req, httplib::Response& res) { get_scan(ctx, req, res); });
  http.Get(R"(/v1/scans/([0-9a-f]{32})/report\.html)",
           [&ctx](const httplib::Request& req, httplib::Response& res) { get_report_html(ctx, req, res); });
  http.Post("/v1/marks/verify", [&ctx](const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& reader) { post_verify(ctx, req, res, reader); });
  http.Get("/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    res.set_content(ctx.metrics.render(*ctx.store, ctx.local_workers, ctx.queue_kind), "text/plain; version=0.0.4");
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(web_index_html()), "text/html; charset=utf-8");
  });
}

}  // namespace unmask::serve
