// unmask scan FILE [--json | --html OUT.html | --text] [--report-dir DIR] [--frames N] [--fast]
// Is this video, image or recording manipulated? One verdict with its evidence (CONTRACT.md
// "scan --json"). Text by default on a terminal, JSON when stdout is a pipe or file.
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "cli/cli.h"
#include "report/report.h"
#include "scan/scan.h"

namespace unmask::cli {
namespace {

struct ScanCliOptions {
  std::string path;
  bool json = false;
  bool text = false;
  std::string html;
  std::string report_dir;
  int frames = scan::kDefaultFramesPerTrack;
  bool fast = false;
  std::vector<std::string> detectors;  // empty: every detector installed
  std::string models_dir;
};

Status write_report_dir(const std::string& dir, const report::Report& r) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::input(dir, "cannot create the report folder: " + ec.message());
  const std::filesystem::path base(dir);
  UNMASK_RETURN_IF_ERROR(write_file_atomic((base / "report.json").string(), report::to_json(r) + "\n"));
  UNMASK_RETURN_IF_ERROR(write_file_atomic((base / "report.html").string(), report::to_html(r)));
  UNMASK_RETURN_IF_ERROR(write_file_atomic((base / "report.txt").string(), report::to_text(r) + "\n"));
  for (const report::FaceTrack& t : r.faces) {
    if (t.thumbnail_png.empty()) continue;
    UNMASK_RETURN_IF_ERROR(
        write_file_atomic((base / ("track_" + std::to_string(t.track_id) + ".png")).string(), t.thumbnail_png));
  }
  return Status::ok();
}

Command make_scan(CLI::App& app) {
  auto o = std::make_shared<ScanCliOptions>();
  CLI::App* sub = app.add_subcommand("scan", "Is this video, image or recording manipulated? Verdict and evidence");
  sub->add_option("FILE", o->path, "Video (mp4, mov, mkv, webm, avi), image (jpg, png) or audio (wav, mp3, flac, m4a)")
      ->required();
  auto* json = sub->add_flag("--json", o->json, "Print the report as JSON (schema unmask.report/1)");
  auto* html = sub->add_option("--html", o->html, "Write a self-contained HTML report to this file");
  auto* text = sub->add_flag("--text", o->text, "Print a few readable lines (default on a terminal)");
  json->excludes(html)->excludes(text);
  html->excludes(text);
  sub->add_option("--report-dir", o->report_dir, "Also write report.json, report.html, report.txt and thumbnails here");
  sub->add_option("--frames", o->frames, "CNN frames per face track (more where uncertain)")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  sub->add_flag("--fast", o->fast, "Faster, less thorough: every other frame, a third of the CNN frames");
  add_detectors_option(sub, &o->detectors);
  sub->add_option("--models", o->models_dir, "Folder of detector models (default: $UNMASK_MODELS or models/)");
  return {sub, [o] {
            scan::ScanOptions so;
            so.models_dir = o->models_dir;
            so.detectors = o->detectors;
            so.frames_per_track = o->frames;
            so.fast = o->fast;
            so.thumbnails = !o->html.empty() || !o->report_dir.empty();
            if (!o->html.empty()) {  // before the scan, not after minutes of it
              Status s = check_output_file(o->html);
              if (!s.is_ok()) return fail(s);
            }
            TerminalProgress progress(global_options().quiet);
            so.progress = progress.as_fn();
            auto r = scan::scan_file(o->path, so);
            progress.finish();
            if (!r.ok()) return fail(r.status());
            if (!o->report_dir.empty()) {
              Status s = write_report_dir(o->report_dir, *r);
              if (!s.is_ok()) return fail(s);
            }
            if (!o->html.empty()) {
              Status s = write_file_atomic(o->html, report::to_html(*r));
              if (!s.is_ok()) return fail(s);
            }
            const bool as_json = o->json || (!o->text && o->html.empty() && !isatty(STDOUT_FILENO));
            if (as_json) {
              print_line(report::to_json(*r));
            } else {
              print_line(report::to_text(*r));
              if (!o->html.empty()) print_line("report    " + o->html);
            }
            return 0;
          }};
}

}  // namespace
}  // namespace unmask::cli

UNMASK_REGISTER_COMMAND(unmask::cli::make_scan);
