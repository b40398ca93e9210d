// The Redis queue: remote workers, a worker that dies mid-job, a full queue, a server restart.
// Each test starts its own redis-server (Debian package redis-server) on a free port.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "serve/redis_client.h"
#include "serve/redis_jobs.h"
#include "serve_fixtures.h"

namespace unmask::serve {
namespace {

using namespace testing_support;
using unmask::testing::TempDir;

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A throw-away redis-server without persistence; killed when the object dies.
class RedisProcess {
 public:
  RedisProcess() {
    if (unmask::testing::run_command("command -v redis-server").exit_code != 0) return;
    port_ = free_port();
    pid_ = fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (RedisClient::connect(address(), 0.5).ok()) {
        ready_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~RedisProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return ready_; }
  RedisAddress address() const {
    RedisAddress a;
    a.port = port_;
    return a;
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  bool ready_ = false;
};

#define REQUIRE_REDIS(redis) \
  if (!(redis).ready()) GTEST_SKIP() << "redis-server is not installed (scripts/install-deps.sh installs it)"

ServeOptions queue_options(const std::string& data_dir, const RedisProcess& redis) {
  ServeOptions o = test_options(data_dir);
  o.queue_url = redis.url();
  o.workers = 0;  // remote workers only
  o.reap_interval_s = 0.2;
  return o;
}

// Runs `unmask worker`'s loop in a thread until it has run `jobs` jobs.
std::thread start_worker(const RedisProcess& redis, const std::string& name, int jobs) {
  WorkerOptions w;
  w.queue_url = redis.url();
  w.name = name;
  w.detector_set = tiny_detectors();
  w.max_jobs = jobs;
  return std::thread([w] {
    Status s = run_worker(w);
    EXPECT_TRUE(s.is_ok()) << s.message();
  });
}

std::string post_clip(httplib::Client& client, const std::string& clip) {
  auto res = post_form(client, "/v1/scans", {file_part(clip), {"fast", "1", ""}});
  if (!res || res->status != 202) {
    ADD_FAILURE() << "upload refused: " << (res ? res->body : "no answer");
    return "";
  }
  return nlohmann::json::parse(res->body)["id"];
}

TEST(ServeRedis, ARemoteWorkerRunsTheJob) {
  RedisProcess redis;
  REQUIRE_REDIS(redis);
  TempDir data, media;
  auto server = Server::start(queue_options(data.path().string(), redis));
  ASSERT_TRUE(server.ok()) << server.status().message();
  httplib::Client client("127.0.0.1", (*server)->port());
  const std::string id = post_clip(client, write_test_clip(media));
  std::thread worker = start_worker(redis, "far-away-1", 1);
  const nlohmann::json job = wait_for_job(client, id);
  worker.join();
  EXPECT_EQ(job.value("status", ""), "done") << job.dump();
  EXPECT_EQ(job.value("worker", ""), "far-away-1");
  EXPECT_EQ(job["report"]["schema"], "unmask.report/1");
  auto html = client.Get(("/v1/scans/" + id + "/report.html").c_str());
  ASSERT_TRUE(html);
  EXPECT_EQ(html->status, 200);
  // The job's bytes and report do not linger in Redis.
  auto c = RedisClient::connect(redis.address());
  ASSERT_TRUE(c.ok());
  auto left = (*c)->command({"EXISTS", "unmask:job:" + id});
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->integer, 0);
}

TEST(ServeRedis, AJobWhoseWorkerDiedIsQueuedAgain) {
  RedisProcess redis;
  REQUIRE_REDIS(redis);
  TempDir data, media;
  auto server = Server::start(queue_options(data.path().string(), redis));
  ASSERT_TRUE(server.ok()) << server.status().message();
  httplib::Client client("127.0.0.1", (*server)->port());
  const std::string id = post_clip(client, write_test_clip(media));
  // A worker takes the job, claims it for one second, and is never heard of again.
  auto c = RedisClient::connect(redis.address());
  ASSERT_TRUE(c.ok());
  auto popped = (*c)->blocking_command({"BLPOP", "unmask:queue", "5"}, 5.0);
  ASSERT_TRUE(popped.ok());
  ASSERT_EQ(popped->elements.size(), 2u);
  EXPECT_EQ(popped->elements[1].str, id);
  ASSERT_TRUE((*c)->command({"SET", claim_key(id), "doomed", "NX", "EX", "1"}).ok());
  // Once the claim expired, the server queues it again and a live worker finishes it.
  std::thread worker = start_worker(redis, "survivor", 1);
  const nlohmann::json job = wait_for_job(client, id);
  worker.join();
  EXPECT_EQ(job.value("status", ""), "done") << job.dump();
  EXPECT_EQ(job.value("worker", ""), "survivor");
}

TEST(ServeRedis, AFullQueueAnswers503) {
  RedisProcess redis;
  REQUIRE_REDIS(redis);
  TempDir data, media;
  ServeOptions o = queue_options(data.path().string(), redis);
  o.max_queued = 1;
  auto server = Server::start(o);
  ASSERT_TRUE(server.ok()) << server.status().message();
  httplib::Client client("127.0.0.1", (*server)->port());
  const std::string clip = write_test_clip(media);
  EXPECT_FALSE(post_clip(client, clip).empty());
  auto second = post_form(client, "/v1/scans", {file_part(clip)});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 503);
  EXPECT_EQ(second->get_header_value("Retry-After"), "30");
}

TEST(ServeRedis, QueuedJobsSurviveARestartOfTheServerWithoutRunningTwice) {
  RedisProcess redis;
  REQUIRE_REDIS(redis);
  TempDir data, media;
  std::string id;
  {
    auto server = Server::start(queue_options(data.path().string(), redis));
    ASSERT_TRUE(server.ok()) << server.status().message();
    httplib::Client client("127.0.0.1", (*server)->port());
    id = post_clip(client, write_test_clip(media));
  }  // stopped with the job still queued
  auto server = Server::start(queue_options(data.path().string(), redis));
  ASSERT_TRUE(server.ok()) << server.status().message();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a few reaps
  auto c = RedisClient::connect(redis.address());
  ASSERT_TRUE(c.ok());
  auto queued = (*c)->command({"LLEN", "unmask:queue"});
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(queued->integer, 1);  // still there once, not pushed again
  httplib::Client client("127.0.0.1", (*server)->port());
  std::thread worker = start_worker(redis, "after-restart", 1);
  const nlohmann::json job = wait_for_job(client, id);
  worker.join();
  EXPECT_EQ(job.value("status", ""), "done") << job.dump();
}

TEST(ServeRedis, AWorkerWithoutRedisSaysSo) {
  WorkerOptions w;
  w.queue_url = "redis://127.0.0.1:" + std::to_string(free_port());
  w.detector_set = tiny_detectors();
  Status s = run_worker(w);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kInput);
}

}  // namespace
}  // namespace unmask::serve
