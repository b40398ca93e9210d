#include "serve/job_runner.h"

#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "report/report.h"

namespace unmask::serve {

std::string job_options_to_json(const JobOptions& o) {
  nlohmann::ordered_json j;
  j["fast"] = o.fast;
  j["frames"] = o.frames;
  return json_text(j);
}

Result<JobOptions> job_options_from_json(const std::string& json) {
  JobOptions o;
  const auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::usage("job options", "not a JSON object");
  if (j.contains("fast")) {
    if (!j["fast"].is_boolean()) return Status::usage("job options", "fast must be true or false");
    o.fast = j["fast"].get<bool>();
  }
  if (j.contains("frames")) {
    if (!j["frames"].is_number_integer()) return Status::usage("job options", "frames must be an integer");
    o.frames = j["frames"].get<int>();
    if (o.frames < 1 || o.frames > 100000) return Status::usage("job options", "frames must be 1 to 100000");
  }
  return o;
}

Result<ScanOutcome> run_scan_job(const std::string& input_path, const std::string& display_name,
                                 const JobOptions& options,
                                 const scan::ScanOptions& base, const ProgressFn& progress) {
  scan::ScanOptions so = base;
  so.fast = options.fast;
  so.frames_per_track = options.frames;
  so.thumbnails = true;
  so.progress = progress;
  auto r = scan::scan_file(input_path, so);
  if (!r.ok()) return r.status().with_replaced(input_path, display_name);
  r->input.path = display_name;
  ScanOutcome out;
  out.report_json = report::to_json(*r);
  out.report_html = report::to_html(*r);
  out.verdict = std::string(report::verdict_name(r->verdict));
  out.score = r->score;
  return out;
}

}  // namespace unmask::serve
