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

std::string post_clip(httplib::Client& client, const std::string& clip) {
  auto res = post_form(client, "/v1/scans", {file_part(clip), {"fast", "1", ""}});
  if (!res || res->status != 202) {
    ADD_FAILURE() << "upload refused: " << (res ? res->body : "no answer");
    return "";
  }
  return nlohmann::json::parse(res->body)["id"];
}

// A redis-server, a server queueing on it with remote workers only, and a client.
class ServeRedis : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!redis_.ready()) GTEST_SKIP() << "redis-server is not installed (scripts/install-deps.sh installs it)";
    start_server();
  }

  void start_server(int max_queued = 64) {
    client_.reset();
    server_.reset();
    ServeOptions o = test_options(data_.path().string());
    o.queue_url = redis_.url();
    o.workers = 0;
    o.reap_interval_s = 0.2;
    o.max_queued = max_queued;
    auto s = Server::start(o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(*s);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  std::string submit() { return post_clip(*client_, write_test_clip(media_)); }

  // Runs `unmask worker`'s loop for one job in a thread and waits for job `id` to end.
  nlohmann::json run_with_worker(const std::string& id, const std::string& name) {
    WorkerOptions w;
    w.queue_url = redis_.url();
    w.name = name;
    w.detector_set = tiny_detectors();
    w.max_jobs = 1;
    std::thread worker([w] {
      Status s = run_worker(w);
      EXPECT_TRUE(s.is_ok()) << s.message();
    });
    nlohmann::json job = wait_for_job(*client_, id);
    worker.join();
    return job;
  }

  std::unique_ptr<RedisClient> connect() {
    auto c = RedisClient::connect(redis_.address());
    if (!c.ok()) ADD_FAILURE() << c.status().message();
    return c.ok() ? std::move(*c) : nullptr;
  }

  RedisProcess redis_;
  TempDir data_, media_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServeRedis, ARemoteWorkerRunsTheJob) {
  const std::string id = submit();
  const nlohmann::json job = run_with_worker(id, "far-away-1");
  EXPECT_EQ(job.value("status", ""), "done") << job.dump();
  EXPECT_EQ(job.value("worker", ""), "far-away-1");
  EXPECT_EQ(job["report"]["schema"], "unmask.report/1");
  auto html = client_->Get(("/v1/scans/" + id + "/report.html").c_str());
  ASSERT_TRUE(html);
  EXPECT_EQ(html->status, 200);
  // The job's bytes and report do not linger in Redis.
  auto c = connect();
  ASSERT_NE(c, nullptr);
  auto left = c->command({"EXISTS", "unmask:job:" + id});
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->integer, 0);
}

TEST_F(ServeRedis, AJobWhoseWorkerDiedIsQueuedAgain) {
  const std::string id = submit();
  // A worker takes the job, claims it for one second, and is never heard of again.
  auto c = connect();
  ASSERT_NE(c, nullptr);
  auto popped = c->blocking_command({"BLPOP", "unmask:queue", "5"}, 5.0);
  ASSERT_TRUE(popped.ok());
  ASSERT_EQ(popped->elements.size(), 2u);
  EXPECT_EQ(popped->elements[1].str, id);
  ASSERT_TRUE(c->command({"SET", claim_key(id), "doomed", "NX", "EX", "1"}).ok());
  // Once the claim expired, the server queues it again and a live worker finishes it.
  const nlohmann::json job = run_with_worker(id, "survivor");
  EXPECT_EQ(job.value("status", ""), "done") << job.dump();
  EXPECT_EQ(job.value("worker", ""), "survivor");
}

TEST_F(ServeRedis, AFullQueueAnswers503) {
  start_server(/*max_queued=*/1);
  EXPECT_FALSE(submit().empty());
  auto second = post_form(*client_, "/v1/scans", {file_part(write_test_clip(media_, "second.mp4"))});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 503);
  EXPECT_EQ(second->get_header_value("Retry-After"), "30");
}

TEST_F(ServeRedis, QueuedJobsSurviveARestartOfTheServerWithoutRunningTwice) {
  const std::string id = submit();
  start_server();  // the first server stops with the job still queued; a new one starts
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a few reaps
  auto c = connect();
  ASSERT_NE(c, nullptr);
  auto queued = c->command({"LLEN", "unmask:queue"});
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(queued->integer, 1);  // still there once, not pushed again
  EXPECT_EQ(run_with_worker(id, "after-restart").value("status", ""), "done");
}

TEST(ServeWorker, WithoutRedisSaysSo) {
  WorkerOptions w;
  w.queue_url = "redis://127.0.0.1:" + std::to_string(free_port());
  w.detector_set = tiny_detectors();
  Status s = run_worker(w);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kInput);
}

}  // namespace
}  // namespace unmask::serve
