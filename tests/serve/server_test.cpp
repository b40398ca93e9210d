// The HTTP API of CONTRACT.md against a server with tiny detectors and the in-process queue.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "media/media.h"
#include "serve/job_files.h"
#include "serve/job_store.h"
#include "serve_fixtures.h"

namespace unmask::serve {
namespace {

using namespace testing_support;
using unmask::testing::TempDir;

std::unique_ptr<Server> start_or_die(const ServeOptions& o) {
  auto s = Server::start(o);
  if (!s.ok()) ADD_FAILURE() << s.status().message();
  return s.ok() ? std::move(*s) : nullptr;
}

nlohmann::json body_json(const httplib::Result& res) {
  return res ? nlohmann::json::parse(res->body, nullptr, false) : nlohmann::json();
}

TEST(Serve, ScansAnUploadAndServesItsReport) {
  TempDir data, media;
  auto server = start_or_die(test_options(data.path().string()));
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());

  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(body_json(health)["ok"], true);

  const std::string clip = write_test_clip(media, "my clip.mp4");
  auto created = post_form(client, "/v1/scans", {file_part(clip), {"fast", "1", ""}});
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 202) << created->body;
  const nlohmann::json c = body_json(created);
  EXPECT_EQ(c["status"], "queued");
  const std::string id = c["id"];
  EXPECT_EQ(created->get_header_value("Location"), "/v1/scans/" + id);

  const nlohmann::json job = wait_for_job(client, id);
  ASSERT_EQ(job.value("status", ""), "done") << job.dump();
  EXPECT_EQ(job["progress"], 1.0);
  EXPECT_EQ(job["filename"], "my clip.mp4");
  const nlohmann::json& report = job["report"];
  EXPECT_EQ(report["schema"], "unmask.report/1");
  EXPECT_EQ(report["input"]["path"], "my clip.mp4");  // the upload's name, not the server's path
  EXPECT_EQ(report["options"]["fast"], "true");
  EXPECT_TRUE(report["input"]["has_audio"].get<bool>());

  auto html = client.Get(("/v1/scans/" + id + "/report.html").c_str());
  ASSERT_TRUE(html);
  EXPECT_EQ(html->status, 200);
  EXPECT_NE(html->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(html->body.find("<html"), std::string::npos);

  // The upload is deleted once the scan ended; the report stays.
  const auto job_dir = data.path() / "jobs" / id;
  EXPECT_FALSE(std::filesystem::exists(job_dir / "input.mp4"));
  EXPECT_TRUE(std::filesystem::exists(job_dir / "report.json"));

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("unmask_jobs_finished_total{outcome=\"done\"} 1"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("unmask_jobs{status=\"done\"} 1"), std::string::npos);

  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<title>unmask</title>"), std::string::npos);
  EXPECT_NE(page->body.find("/v1/scans"), std::string::npos);
}

TEST(Serve, BadRequestsGetJsonErrorsWithTheContractCodes) {
  TempDir data, media;
  ServeOptions o = test_options(data.path().string());
  o.max_upload_bytes = 64 << 10;
  auto server = start_or_die(o);
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());

  auto unknown = client.Get("/v1/scans/0123456789abcdef0123456789abcdef");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(body_json(unknown)["error"], "no scan with this id");
  auto nowhere = client.Get("/nowhere");
  ASSERT_TRUE(nowhere);
  EXPECT_EQ(nowhere->status, 404);
  EXPECT_TRUE(body_json(nowhere).contains("error"));

  auto no_file = post_form(client, "/v1/scans", {{"fast", "1", ""}});
  ASSERT_TRUE(no_file);
  EXPECT_EQ(no_file->status, 400);
  auto bad_frames = post_form(client, "/v1/scans", {{"file", "x", "a.mp4"}, {"frames", "lots", ""}});
  ASSERT_TRUE(bad_frames);
  EXPECT_EQ(bad_frames->status, 400);

  // A raw body instead of a form (curl --data-binary): httplib caps such bodies at 8 KB, and the
  // answer must name the mistake, not "too large" for a file well under --max-upload-mb.
  auto raw = client.Post("/v1/scans", std::string(32 << 10, 'x'), "video/mp4");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 400) << raw->body;
  EXPECT_NE(body_json(raw)["error"].get<std::string>().find("multipart"), std::string::npos) << raw->body;

  auto not_media = post_form(client, "/v1/scans", {{"file", "just some text, not a video", "notes.mp4"}});
  ASSERT_TRUE(not_media);
  EXPECT_EQ(not_media->status, 415) << not_media->body;
  EXPECT_TRUE(body_json(not_media).contains("error"));
  // The answer names the upload as it was sent, never where the server keeps it.
  EXPECT_NE(not_media->body.find("notes.mp4"), std::string::npos) << not_media->body;
  EXPECT_EQ(not_media->body.find(data.path().string()), std::string::npos) << not_media->body;

  auto too_large = post_form(client, "/v1/scans", {{"file", std::string(200 << 10, 'x'), "big.mp4"}});
  ASSERT_TRUE(too_large);
  EXPECT_EQ(too_large->status, 413);
  // The same form sent chunked (no Content-Length), which httplib does not measure for us.
  const std::string form = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n\r\n" +
                           std::string(200 << 10, 'x') + "\r\n--b--\r\n";
  auto chunked = client.Post(
      "/v1/scans",
      [&form](size_t offset, httplib::DataSink& sink) {
        if (offset < form.size()) sink.write(form.data() + offset, std::min<size_t>(4096, form.size() - offset));
        if (offset + 4096 >= form.size()) sink.done();
        return true;
      },
      "multipart/form-data; boundary=b");
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 413) << chunked->body;

  // Nothing half-made is left behind, and no job was recorded.
  auto store = JobStore::open(data.path().string());
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->unfinished().empty());
  EXPECT_EQ((*store)->count(JobStatus::kFailed), 0);
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(data.path() / "jobs", ec) || !std::filesystem::exists(data.path() / "jobs"));
}

TEST(Serve, TokenGuardsTheApiButNotHealth) {
  TempDir data, media;
  ServeOptions o = test_options(data.path().string());
  o.token = "s3cret";
  auto server = start_or_die(o);
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  const std::string clip = write_test_clip(media);

  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto anonymous = post_form(client, "/v1/scans", {file_part(clip)});
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  auto wrong = post_form(client, "/v1/scans", {file_part(clip)}, {{"Authorization", "Bearer nope"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  const httplib::Headers auth = {{"Authorization", "Bearer s3cret"}};
  auto ok = post_form(client, "/v1/scans", {file_part(clip)}, auth);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 202);
  const std::string id = body_json(ok)["id"];
  auto peek = client.Get(("/v1/scans/" + id).c_str());
  ASSERT_TRUE(peek);
  EXPECT_EQ(peek->status, 401);
  EXPECT_EQ(wait_for_job(client, id, 120.0, auth).value("status", ""), "done");
}

TEST(Serve, JobsLeftByAStoppedServerRunWhenItStartsAgain) {
  TempDir data, media;
  const std::string clip = write_test_clip(media);
  // A previous run accepted two jobs and stopped (or died) before finishing them: one still
  // queued, one cut short while running.
  std::vector<std::string> ids;
  {
    auto store = JobStore::open(data.path().string());
    ASSERT_TRUE(store.ok());
    JobFiles files(data.path().string());
    for (JobStatus status : {JobStatus::kQueued, JobStatus::kRunning}) {
      Job j;
      j.id = JobStore::new_id();
      j.filename = "clip.mp4";
      j.input_path = files.input_path(j.id, j.filename);
      j.options_json = "{\"fast\": true}";
      std::filesystem::create_directories(files.dir(j.id));
      std::filesystem::copy_file(clip, j.input_path);
      ASSERT_TRUE((*store)->insert(j).is_ok());
      if (status == JobStatus::kRunning) {
        ASSERT_TRUE((*store)->mark_running(j.id, "local-0").is_ok());
      }
      ids.push_back(j.id);
    }
  }
  auto server = start_or_die(test_options(data.path().string()));
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  for (const std::string& id : ids) {
    const nlohmann::json job = wait_for_job(client, id);
    EXPECT_EQ(job.value("status", ""), "done") << job.dump();
  }
}

TEST(Serve, AnUploadCutShortByTheClientLeavesNoJob) {
  // The connection ends halfway through the form: the half that arrived (already on disk, as
  // uploads are written while they arrive) must not become a job.
  TempDir data, media;
  auto server = start_or_die(test_options(data.path().string()));
  ASSERT_NE(server, nullptr);
  // A WAV: its first half is still a file FFmpeg reads (an MP4 cut in half often is not).
  const std::string wav = media.file("tone.wav");
  unmask::testing::write_wav(wav, unmask::testing::make_tone(440.0, 4.0, 16000));
  auto clip = read_file(wav);
  ASSERT_TRUE(clip.ok());
  ASSERT_TRUE(media::probe(wav).ok());
  const std::string body = "--q\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.wav\"\r\n\r\n" + *clip +
                           "\r\n--q--\r\n";
  const std::string head = "POST /v1/scans HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=q\r\n"
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  const std::string sent = head + body.substr(0, body.size() / 2);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::send(fd, sent.data(), sent.size(), MSG_NOSIGNAL), static_cast<ssize_t>(sent.size()));
  ::shutdown(fd, SHUT_WR);
  char buf[256];
  while (::recv(fd, buf, sizeof buf, 0) > 0) {
  }
  ::close(fd);
  httplib::Client client("127.0.0.1", server->port());
  auto health = client.Get("/healthz");  // answered after the server has dealt with the cut
  ASSERT_TRUE(health);
  auto store = JobStore::open(data.path().string());
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->unfinished().empty());
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(data.path() / "jobs", ec) || !std::filesystem::exists(data.path() / "jobs"));
}

TEST(Serve, ATruncatedUploadIsRefusedOrFailsWithItsReason) {
  TempDir data, media;
  auto server = start_or_die(test_options(data.path().string()));
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  auto bytes = read_file(write_test_clip(media));
  ASSERT_TRUE(bytes.ok());
  auto truncated = post_form(client, "/v1/scans", {{"file", bytes->substr(0, bytes->size() / 3), "cut.mp4"}});
  ASSERT_TRUE(truncated);
  if (truncated->status == 415) {  // refused at the door: fine, naming the upload as it was sent
    EXPECT_EQ(truncated->body.find(data.path().string()), std::string::npos) << truncated->body;
    return;
  }
  ASSERT_EQ(truncated->status, 202) << truncated->body;
  const nlohmann::json job = wait_for_job(client, body_json(truncated)["id"]);
  const std::string status = job.value("status", "");
  ASSERT_TRUE(status == "failed" || status == "done") << job.dump();
  if (status == "failed") {
    EXPECT_FALSE(job.value("error", "").empty());
    EXPECT_EQ(job.value("error", "").find(data.path().string()), std::string::npos) << job.dump();
  }
  // The server is still serving.
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST(Serve, VerifiesAMarkAndItsSignature) {
  const auto photos = unmask::testing::debian_face_photos();
  if (photos.empty()) GTEST_SKIP() << "Debian face photos (libdlib19.1) not installed";
  TempDir data, media;
  const std::string key = media.file("producer");
  const std::string marked = media.file("marked.png");
  auto keygen = unmask::testing::run_command(unmask::testing::unmask_cmd("keygen --out " + key));
  ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
  auto embed = unmask::testing::run_command(unmask::testing::unmask_cmd(
      "mark embed " + photos[0] + " " + marked + " --issuer 4660 --key " + key + ".key"));
  ASSERT_EQ(embed.exit_code, 0) << embed.err;
  auto manifest = read_file(marked + ".unmask.json");
  ASSERT_TRUE(manifest.ok()) << "no sidecar next to the marked image";
  auto pub = read_file(key + ".pub");
  ASSERT_TRUE(pub.ok());

  auto server = start_or_die(test_options(data.path().string()));
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());

  auto plain = post_form(client, "/v1/marks/verify", {file_part(marked)});
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->status, 200) << plain->body;
  nlohmann::json v = body_json(plain);
  EXPECT_EQ(v["watermark"]["found"], true);
  EXPECT_EQ(v["watermark"]["issuer"], 4660);
  EXPECT_EQ(v["watermark"]["synthetic"], false);
  EXPECT_EQ(v["signature"]["present"], false);

  auto signed_check = post_form(client, "/v1/marks/verify",
                                {file_part(marked), {"manifest", *manifest, "marked.png.unmask.json"},
                                 {"pub", *pub, "producer.pub"}});
  ASSERT_TRUE(signed_check);
  ASSERT_EQ(signed_check->status, 200) << signed_check->body;
  v = body_json(signed_check);
  EXPECT_EQ(v["signature"]["present"], true);
  EXPECT_EQ(v["signature"]["valid"], true);
  EXPECT_EQ(v["signature"]["key_matches"], true);
  EXPECT_EQ(v["signature"]["content"], "byte_identical");

  auto unmarked = post_form(client, "/v1/marks/verify", {file_part(photos[0])});
  ASSERT_TRUE(unmarked);
  ASSERT_EQ(unmarked->status, 200);
  v = body_json(unmarked);
  EXPECT_EQ(v["watermark"]["found"], false);
  EXPECT_FALSE(v["watermark"].contains("issuer"));  // never a made-up payload

  auto bad_manifest = post_form(client, "/v1/marks/verify", {file_part(marked), {"manifest", "{broken", "m.json"}});
  ASSERT_TRUE(bad_manifest);
  EXPECT_EQ(bad_manifest->status, 400);
  // A sidecar that is not even UTF-8: its parse error quotes the bad byte, and the answer is still
  // JSON with 400 (it was a 500 when the error could not be written as JSON).
  auto latin1_manifest = post_form(client, "/v1/marks/verify", {file_part(marked), {"manifest", "{\"a\": \"\x93\"}", "m.json"}});
  ASSERT_TRUE(latin1_manifest);
  EXPECT_EQ(latin1_manifest->status, 400) << latin1_manifest->body;
  EXPECT_TRUE(body_json(latin1_manifest).contains("error")) << latin1_manifest->body;
  auto bad_key = post_form(client, "/v1/marks/verify", {file_part(marked), {"pub", "not a key", "k.pub"}});
  ASSERT_TRUE(bad_key);
  EXPECT_EQ(bad_key->status, 400);
  auto not_media = post_form(client, "/v1/marks/verify", {{"file", "plain text", "a.png"}});
  ASSERT_TRUE(not_media);
  EXPECT_EQ(not_media->status, 415) << not_media->body;
  EXPECT_NE(not_media->body.find("a.png"), std::string::npos) << not_media->body;
  EXPECT_EQ(not_media->body.find(data.path().string()), std::string::npos) << not_media->body;
  // The scratch files of the checks are gone.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data.path() / "jobs", ec)) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
}

TEST(Serve, StartRefusesBadOptions) {
  TempDir data;
  ServeOptions o = test_options(data.path().string());
  o.workers = 0;  // without a queue nothing would run the scans
  auto s = Server::start(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUsage);
  o = test_options(data.path().string());
  o.queue_url = "http://not-redis";
  s = Server::start(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUsage);
  o = test_options(data.path().string());
  o.detector_set = nullptr;
  o.models_dir = data.file("no-models-here");
  s = Server::start(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kModel);
}

TEST(Serve, PortInUseIsAnInputError) {
  TempDir a, b;
  auto first = start_or_die(test_options(a.path().string()));
  ASSERT_NE(first, nullptr);
  ServeOptions o = test_options(b.path().string());
  o.port = first->port();
  auto second = Server::start(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kInput);
}

}  // namespace
}  // namespace unmask::serve
