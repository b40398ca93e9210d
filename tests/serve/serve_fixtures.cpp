#include "serve_fixtures.h"

#include <chrono>
#include <mutex>
#include <thread>

#include "scan/test_detectors.h"

namespace unmask::serve::testing_support {

std::shared_ptr<const detect::DetectorSet> tiny_detectors() {
  static std::mutex mu;
  static std::unique_ptr<unmask::testing::TempDir> models;
  static std::shared_ptr<const detect::DetectorSet> set;
  std::lock_guard lock(mu);
  if (!set) {
    models = std::make_unique<unmask::testing::TempDir>();
    set = unmask::testing::make_tiny_detector_set(models->path().string());
  }
  return set;
}

ServeOptions test_options(const std::string& data_dir) {
  ServeOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.data_dir = data_dir;
  o.workers = 1;
  o.detector_set = tiny_detectors();
  return o;
}

std::string write_test_clip(const unmask::testing::TempDir& dir, const std::string& name) {
  unmask::testing::ClipSpec spec;
  spec.n_frames = 50;
  spec.tone_hz = 440.0;
  const std::string path = dir.file(name);
  unmask::testing::write_pattern_clip(path, spec);
  return path;
}

httplib::Result post_form(httplib::Client& client, const std::string& path, const std::vector<Part>& parts,
                          const httplib::Headers& headers) {
  httplib::MultipartFormDataItems items;
  for (const Part& p : parts) items.push_back({p.name, p.content, p.filename, "application/octet-stream"});
  return client.Post(path.c_str(), headers, items);
}

Part file_part(const std::string& path) {
  auto bytes = read_file(path);
  return {"file", bytes.ok() ? *bytes : std::string(), std::filesystem::path(path).filename().string()};
}

nlohmann::json wait_for_job(httplib::Client& client, const std::string& id, double timeout_s,
                            const httplib::Headers& headers) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  nlohmann::json last;
  while (std::chrono::steady_clock::now() < until) {
    auto res = client.Get(("/v1/scans/" + id).c_str(), headers);
    if (res && res->status == 200) {
      last = nlohmann::json::parse(res->body, nullptr, false);
      const std::string status = last.value("status", "");
      if (status == "done" || status == "failed") return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

}  // namespace unmask::serve::testing_support
