// JobStore on SQLite: one table, WAL journal, every write committed before the call returns.
#include "serve/job_store.h"

#include <sqlite3.h>

#include <array>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <random>

namespace unmask::serve {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  progress REAL NOT NULL DEFAULT 0,
  stage TEXT NOT NULL DEFAULT '',
  filename TEXT NOT NULL DEFAULT '',
  input_path TEXT NOT NULL DEFAULT '',
  options_json TEXT NOT NULL DEFAULT '{}',
  size_bytes INTEGER NOT NULL DEFAULT 0,
  created_utc TEXT NOT NULL,
  finished_utc TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  worker TEXT NOT NULL DEFAULT '',
  verdict TEXT NOT NULL DEFAULT '',
  score REAL NOT NULL DEFAULT 0,
  seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs(status, seq);
)sql";

constexpr const char* kColumns =
    "id, status, progress, stage, filename, input_path, options_json, size_bytes, created_utc, "
    "finished_utc, error, worker, verdict, score";

Result<JobStatus> parse_status(std::string_view s) {
  if (s == "queued") return JobStatus::kQueued;
  if (s == "running") return JobStatus::kRunning;
  if (s == "done") return JobStatus::kDone;
  if (s == "failed") return JobStatus::kFailed;
  return Status::internal("job store", "unknown job status '" + std::string(s) + "'");
}

std::string text_column(sqlite3_stmt* st, int i) {
  const unsigned char* p = sqlite3_column_text(st, i);
  return p ? reinterpret_cast<const char*>(p) : "";
}

Job read_row(sqlite3_stmt* st) {
  Job j;
  j.id = text_column(st, 0);
  auto status = parse_status(text_column(st, 1));
  j.status = status.ok() ? *status : JobStatus::kFailed;
  j.progress = sqlite3_column_double(st, 2);
  j.stage = text_column(st, 3);
  j.filename = text_column(st, 4);
  j.input_path = text_column(st, 5);
  j.options_json = text_column(st, 6);
  j.size_bytes = sqlite3_column_int64(st, 7);
  j.created_utc = text_column(st, 8);
  j.finished_utc = text_column(st, 9);
  j.error = text_column(st, 10);
  j.worker = text_column(st, 11);
  j.verdict = text_column(st, 12);
  j.score = sqlite3_column_double(st, 13);
  return j;
}

// A prepared statement that finalises itself.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) { rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &st_, nullptr); }
  ~Statement() { sqlite3_finalize(st_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() const { return st_; }
  void bind(int i, const std::string& v) { sqlite3_bind_text(st_, i, v.c_str(), -1, SQLITE_TRANSIENT); }
  void bind(int i, double v) { sqlite3_bind_double(st_, i, v); }
  void bind(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); }

 private:
  sqlite3_stmt* st_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

}  // namespace

std::string_view job_status_name(JobStatus s) {
  switch (s) {
    case JobStatus::kQueued: return "queued";
    case JobStatus::kRunning: return "running";
    case JobStatus::kDone: return "done";
    case JobStatus::kFailed: return "failed";
  }
  return "failed";
}

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

struct JobStore::Impl {
  sqlite3* db = nullptr;
  mutable std::mutex mu;
  int64_t next_seq = 0;

  ~Impl() {
    if (db) sqlite3_close(db);
  }

  Status error(std::string_view what) const {
    return Status::internal("job store", std::string(what) + ": " + sqlite3_errmsg(db));
  }

  Status exec(const std::string& sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string m = msg ? msg : "unknown error";
      sqlite3_free(msg);
      return Status::internal("job store", m);
    }
    return Status::ok();
  }

  // Runs a statement that returns no rows.
  Status run(Statement& st, std::string_view what) const {
    if (!st.ok()) return error(what);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return error(what);
    return Status::ok();
  }

  std::vector<Job> query(const std::string& where, const std::string& arg) const {
    std::lock_guard lock(mu);
    Statement st(db, std::string("SELECT ") + kColumns + " FROM jobs WHERE " + where + " ORDER BY seq");
    std::vector<Job> out;
    if (!st.ok()) return out;
    if (!arg.empty()) st.bind(1, arg);
    while (sqlite3_step(st.get()) == SQLITE_ROW) out.push_back(read_row(st.get()));
    return out;
  }

  Status update(const std::string& set_clause, const std::string& id,
                const std::vector<std::string>& text_args, const std::vector<double>& real_args) {
    std::lock_guard lock(mu);
    Statement st(db, "UPDATE jobs SET " + set_clause + " WHERE id = ?");
    if (!st.ok()) return error("update");
    int i = 1;
    for (const std::string& a : text_args) st.bind(i++, a);
    for (double a : real_args) st.bind(i++, a);
    st.bind(i, id);
    UNMASK_RETURN_IF_ERROR(run(st, "update"));
    if (sqlite3_changes(db) == 0) return Status::input("job " + id, "no such job");
    return Status::ok();
  }
};

JobStore::JobStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JobStore::~JobStore() = default;

Result<std::unique_ptr<JobStore>> JobStore::open(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Status::input(data_dir, "cannot create the data folder: " + ec.message());
  auto impl = std::make_unique<Impl>();
  const std::string path = (std::filesystem::path(data_dir) / "jobs.db").string();
  if (sqlite3_open_v2(path.c_str(), &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    return Status::input(path, std::string("cannot open the job database: ") +
                                   (impl->db ? sqlite3_errmsg(impl->db) : "out of memory"));
  }
  sqlite3_busy_timeout(impl->db, 5000);
  Status s = impl->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  if (s.is_ok()) s = impl->exec(kSchema);
  if (!s.is_ok()) return Status::input(path, "not a job database: " + s.message());
  Statement st(impl->db, "SELECT COALESCE(MAX(seq), 0) FROM jobs");
  if (st.ok() && sqlite3_step(st.get()) == SQLITE_ROW) impl->next_seq = sqlite3_column_int64(st.get(), 0) + 1;
  return std::unique_ptr<JobStore>(new JobStore(std::move(impl)));
}

std::string JobStore::new_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int part = 0; part < 2; ++part) {
    uint64_t v = rng() ^ (static_cast<uint64_t>(std::random_device{}()) << 32);
    for (int i = 0; i < 16; ++i, v >>= 4) id.push_back(kHex[v & 15]);
  }
  return id;
}

Status JobStore::insert(const Job& job) {
  std::lock_guard lock(impl_->mu);
  Statement st(impl_->db, std::string("INSERT INTO jobs (") + kColumns +
                              ", seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st.ok()) return impl_->error("insert");
  st.bind(1, job.id);
  st.bind(2, std::string(job_status_name(job.status)));
  st.bind(3, job.progress);
  st.bind(4, job.stage);
  st.bind(5, job.filename);
  st.bind(6, job.input_path);
  st.bind(7, job.options_json);
  st.bind(8, job.size_bytes);
  st.bind(9, job.created_utc.empty() ? utc_now() : job.created_utc);
  st.bind(10, job.finished_utc);
  st.bind(11, job.error);
  st.bind(12, job.worker);
  st.bind(13, job.verdict);
  st.bind(14, job.score);
  st.bind(15, impl_->next_seq++);
  return impl_->run(st, "insert");
}

std::optional<Job> JobStore::get(const std::string& id) const {
  auto rows = impl_->query("id = ?", id);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

int JobStore::count(JobStatus status) const {
  std::lock_guard lock(impl_->mu);
  Statement st(impl_->db, "SELECT COUNT(*) FROM jobs WHERE status = ?");
  if (!st.ok()) return 0;
  st.bind(1, std::string(job_status_name(status)));
  return sqlite3_step(st.get()) == SQLITE_ROW ? sqlite3_column_int(st.get(), 0) : 0;
}

std::vector<Job> JobStore::unfinished() const {
  return impl_->query("status IN ('queued', 'running')", "");
}

Status JobStore::mark_running(const std::string& id, const std::string& worker) {
  return impl_->update("status = 'running', progress = 0, stage = '', worker = ?", id, {worker}, {});
}

Status JobStore::set_progress(const std::string& id, double progress, const std::string& stage) {
  return impl_->update("stage = ?, progress = ?", id, {stage}, {progress});
}

Status JobStore::mark_requeued(const std::string& id) {
  return impl_->update("status = 'queued', progress = 0, stage = '', worker = ''", id, {}, {});
}

Status JobStore::mark_done(const std::string& id, const std::string& verdict, double score) {
  return impl_->update("status = 'done', progress = 1, stage = '', finished_utc = ?, verdict = ?, score = ?", id,
                       {utc_now(), verdict}, {score});
}

Status JobStore::mark_failed(const std::string& id, const std::string& error) {
  return impl_->update("status = 'failed', stage = '', finished_utc = ?, error = ?", id, {utc_now(), error}, {});
}

}  // namespace unmask::serve
