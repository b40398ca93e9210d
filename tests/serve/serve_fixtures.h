// Helpers for the serve tests: a server on a free port with tiny detectors built in code, an
// HTTP client, uploads and waiting for a job to end.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "serve/serve.h"
#include "support/fixtures.h"

namespace unmask::serve::testing_support {

// Tiny detectors (tests/scan/test_detectors.h), built once per process into their own folder.
std::shared_ptr<const detect::DetectorSet> tiny_detectors();

// Options for a server on a free port of 127.0.0.1 with the tiny detectors and `data_dir`.
ServeOptions test_options(const std::string& data_dir);

// A 2 s 320x240 clip with a 440 Hz tone, written once per call into `dir`.
std::string write_test_clip(const unmask::testing::TempDir& dir, const std::string& name = "clip.mp4");

struct Part {
  std::string name;
  std::string content;
  std::string filename;  // empty: a plain form field
};
// POSTs a multipart form.
httplib::Result post_form(httplib::Client& client, const std::string& path, const std::vector<Part>& parts,
                          const httplib::Headers& headers = {});
// The file's bytes as the "file" part.
Part file_part(const std::string& path);

// Polls GET /v1/scans/{id} until the job is done or failed (or timeout_s passed: the last answer).
nlohmann::json wait_for_job(httplib::Client& client, const std::string& id, double timeout_s = 120.0,
                            const httplib::Headers& headers = {});

}  // namespace unmask::serve::testing_support
