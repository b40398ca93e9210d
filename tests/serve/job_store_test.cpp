#include "serve/job_store.h"

#include <gtest/gtest.h>

#include <set>

#include "serve/job_runner.h"
#include "serve/redis_client.h"
#include "support/fixtures.h"

namespace unmask::serve {
namespace {

Job queued_job(const std::string& name) {
  Job j;
  j.id = JobStore::new_id();
  j.filename = name;
  j.input_path = "/tmp/" + name;
  j.options_json = "{}";
  return j;
}

TEST(JobStore, IdsAreRandomHex) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = JobStore::new_id();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(JobStore, RecordsEveryStepOfAJob) {
  testing::TempDir dir;
  auto store = JobStore::open(dir.path().string());
  ASSERT_TRUE(store.ok()) << store.status().message();
  const Job a = queued_job("a.mp4");
  ASSERT_TRUE((*store)->insert(a).is_ok());
  EXPECT_EQ((*store)->count(JobStatus::kQueued), 1);
  ASSERT_TRUE((*store)->mark_running(a.id, "local-0").is_ok());
  ASSERT_TRUE((*store)->set_progress(a.id, 0.25, "faces").is_ok());
  auto got = (*store)->get(a.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, JobStatus::kRunning);
  EXPECT_DOUBLE_EQ(got->progress, 0.25);
  EXPECT_EQ(got->stage, "faces");
  EXPECT_EQ(got->worker, "local-0");
  EXPECT_EQ(got->filename, "a.mp4");
  ASSERT_TRUE((*store)->mark_done(a.id, "authentic", 0.12).is_ok());
  got = (*store)->get(a.id);
  EXPECT_EQ(got->status, JobStatus::kDone);
  EXPECT_EQ(got->verdict, "authentic");
  EXPECT_DOUBLE_EQ(got->score, 0.12);
  EXPECT_FALSE(got->finished_utc.empty());
  EXPECT_FALSE((*store)->get(JobStore::new_id()).has_value());
  EXPECT_FALSE((*store)->mark_failed(JobStore::new_id(), "x").is_ok());
}

TEST(JobStore, UnfinishedJobsSurviveReopening) {
  testing::TempDir dir;
  const Job a = queued_job("a.mp4"), b = queued_job("b.mp4"), c = queued_job("c.mp4");
  {
    auto store = JobStore::open(dir.path().string());
    ASSERT_TRUE(store.ok());
    for (const Job& j : {a, b, c}) ASSERT_TRUE((*store)->insert(j).is_ok());
    ASSERT_TRUE((*store)->mark_running(a.id, "local-0").is_ok());
    ASSERT_TRUE((*store)->mark_failed(b.id, "input: broken").is_ok());
  }
  auto store = JobStore::open(dir.path().string());
  ASSERT_TRUE(store.ok());
  const auto left = (*store)->unfinished();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].id, a.id);  // oldest first
  EXPECT_EQ(left[0].status, JobStatus::kRunning);
  EXPECT_EQ(left[1].id, c.id);
  EXPECT_EQ((*store)->get(b.id)->error, "input: broken");
  // New jobs still sort after the old ones.
  const Job d = queued_job("d.mp4");
  ASSERT_TRUE((*store)->insert(d).is_ok());
  EXPECT_EQ((*store)->unfinished().back().id, d.id);
}

TEST(JobStore, RefusesAFileThatIsNotAJobDatabase) {
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("jobs.db"), std::string(4096, 'x')).is_ok());
  auto store = JobStore::open(dir.path().string());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInput);
}

TEST(JobOptions, RoundTripAndRangeChecks) {
  JobOptions o;
  o.fast = true;
  o.frames = 7;
  auto back = job_options_from_json(job_options_to_json(o));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->fast);
  EXPECT_EQ(back->frames, 7);
  EXPECT_FALSE(job_options_from_json("{\"frames\": 0}").ok());
  EXPECT_FALSE(job_options_from_json("{\"fast\": 3}").ok());
  EXPECT_FALSE(job_options_from_json("not json").ok());
}

TEST(RedisUrl, ParsesHostPortAndDatabase) {
  auto a = parse_redis_url("redis://10.0.0.5:6380/2");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "10.0.0.5");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 2);
  auto b = parse_redis_url("redis://queue");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->port, 6379);
  EXPECT_EQ(b->db, 0);
  for (const char* bad : {"http://x:1", "redis://", "redis://x:0", "redis://x:99999", "redis://x:1/y", "redis://x:abc"}) {
    auto r = parse_redis_url(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kUsage) << bad;
    }
  }
}

TEST(RedisClient, UnreachableServerIsAnInputError) {
  RedisAddress a;
  a.port = 1;  // nothing listens on port 1
  auto c = RedisClient::connect(a, 1.0);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInput);
  EXPECT_NE(c.status().message().find("redis://127.0.0.1:1"), std::string::npos);
}

}  // namespace
}  // namespace unmask::serve
