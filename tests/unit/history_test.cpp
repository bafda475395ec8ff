// The run history: every field round-trips through SQLite, runs are found by id, name or prefix,
// a corrupt, foreign or locked file fails with an error naming it, eight processes writing at
// once lose nothing, and the table, details and JSON look as documented.

#include "support/test_env.hpp"

#include <furnace/history/command.hpp>
#include <furnace/history/render.hpp>
#include <furnace/history/store.hpp>
#include <furnace/project/load.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sqlite3.h>
#include <sstream>
#include <tuple>

namespace furnace::history {
namespace {

using testing::TempDir;

RunRecord sample() {
  RunRecord r;
  r.name = "furnace-mnist-7f3a2c";
  r.container_id = "c0ffee";
  r.started_ms = 1795876812345; // 2026-11-28 14:40:12.345 UTC
  r.ended_ms = 1795876884345;   // 72 s later
  r.exit_code = 3;
  r.signal = "";
  r.status = k_exited;
  r.user = "alice";
  r.host = "gpu-box";
  r.project = "/home/alice/mnist";
  r.workdir = "/workspace";
  r.git_commit = "1a2b3c4d5e6f";
  r.git_dirty = true;
  r.spec_hash = "5f2c";
  r.image_tag = "furnace/mnist:abc123def456";
  r.image_id = "sha256:1111";
  r.base_image = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";
  r.base_digest = "pytorch/pytorch@sha256:2222";
  r.command = {"python", "train.py", "--name", "it's \"ü\"\n"};
  r.gpu_request = "0,2";
  r.gpu_indices = {0, 2};
  r.gpu_uuids = {"GPU-aaaa", "GPU-bbbb"};
  r.driver_version = "570.86.15";
  r.log_path = "/home/alice/.local/state/furnace/runs/1.log";
  r.detached = true;
  r.volumes = {"/data/mnist:/data:ro", "/home/alice/out dir:/out"};
  r.memory = "8g";
  r.cpus = "1.5";
  r.pids_limit = "4096";
  return r;
}

auto fields(const RunRecord& r) {
  return std::tie(r.id,
                  r.name,
                  r.container_id,
                  r.started_ms,
                  r.ended_ms,
                  r.exit_code,
                  r.signal,
                  r.status,
                  r.user,
                  r.host,
                  r.project,
                  r.workdir,
                  r.git_commit,
                  r.git_dirty,
                  r.spec_hash,
                  r.image_tag,
                  r.image_id,
                  r.base_image,
                  r.base_digest,
                  r.command,
                  r.gpu_request,
                  r.gpu_indices,
                  r.gpu_uuids,
                  r.driver_version,
                  r.log_path,
                  r.detached,
                  r.scheduler,
                  r.job_id,
                  r.image_ref,
                  r.volumes,
                  r.memory,
                  r.cpus,
                  r.pids_limit);
}

RunRecord running(const std::string& name, const std::string& project, std::int64_t started) {
  RunRecord r;
  r.name = name;
  r.project = project;
  r.started_ms = started;
  r.status = k_running;
  r.command = {"python", "train.py"};
  return r;
}

class HistoryStore : public ::testing::Test {
protected:
  std::string db_path() const { return m_dir.path() + "/data/furnace/history.db"; }
  Store open_store() {
    auto s = Store::open(db_path());
    if (!s) {
      ADD_FAILURE() << s.error().message;
      std::abort();
    }
    return std::move(s).value();
  }
  std::int64_t add(Store& s, const RunRecord& r) {
    auto id = s.insert(r);
    EXPECT_TRUE(id.has_value()) << (id ? "" : id.error().message);
    return id.value_or(0);
  }

  TempDir m_dir;
};

TEST_F(HistoryStore, round_trips_every_field) {
  Store s = open_store();
  RunRecord r = sample();
  r.scheduler = "slurm"; // a submitted job's fields (schema 2)
  r.job_id = "4242";
  r.image_ref = "127.0.0.1:5757/furnace/mnist@sha256:3333";
  r.id = add(s, r);
  EXPECT_EQ(r.id, 1);
  auto back = s.find("1");
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_TRUE(fields(*back) == fields(r)) << to_json(*back).dump();

  RunRecord bare = running("furnace-x-000001", "/p", 5);
  bare.command.clear();
  bare.id = add(s, bare);
  EXPECT_EQ(bare.id, 2);
  auto bare_back = s.find("2");
  ASSERT_TRUE(bare_back.has_value());
  EXPECT_TRUE(fields(*bare_back) == fields(bare)) << to_json(*bare_back).dump();
  EXPECT_FALSE(bare_back->exit_code.has_value());
}

TEST_F(HistoryStore, a_reopened_file_keeps_its_runs) {
  {
    Store s = open_store();
    add(s, sample());
  }
  Store again = open_store();
  auto all = again.list({});
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 1U);
  EXPECT_EQ(all->front().name, "furnace-mnist-7f3a2c");
  EXPECT_EQ(again.path(), db_path());
}

TEST_F(HistoryStore, finish_and_setters_update_one_run) {
  Store s = open_store();
  const auto a = add(s, running("furnace-a-1", "/p", 1000));
  const auto b = add(s, running("furnace-b-1", "/p", 2000));
  ASSERT_TRUE(s.set_container(a, "abcdef"));
  ASSERT_TRUE(s.set_git_dirty(a, true));
  ASSERT_TRUE(s.finish(a, 61000, 0, "", k_exited));
  ASSERT_TRUE(s.finish(b, 3000, std::nullopt, "SIGINT", k_killed));
  auto ra = s.find("furnace-a-1");
  ASSERT_TRUE(ra.has_value());
  EXPECT_EQ(ra->container_id, "abcdef");
  EXPECT_TRUE(ra->git_dirty);
  EXPECT_EQ(ra->ended_ms, 61000);
  EXPECT_EQ(ra->exit_code, 0);
  EXPECT_EQ(ra->status, "exited");
  auto rb = s.find("furnace-b-1");
  ASSERT_TRUE(rb.has_value());
  EXPECT_EQ(rb->signal, "SIGINT");
  EXPECT_EQ(rb->status, "killed");
  EXPECT_FALSE(rb->exit_code.has_value());
  EXPECT_EQ(rb->container_id, "");

  auto missing = s.finish(99, 1, 0, "", k_exited);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind, core::ErrorKind::not_found);
  EXPECT_EQ(missing.error().message, "no run 99 in " + db_path());
  EXPECT_FALSE(s.set_container(99, "x").has_value());
  EXPECT_FALSE(s.set_git_dirty(99, false).has_value());
}

TEST_F(HistoryStore, finds_by_id_name_and_unique_prefix) {
  Store s = open_store();
  add(s, running("furnace-mnist-7f3a2c", "/p", 1));
  add(s, running("furnace-mnist-aa0011", "/p", 2));
  add(s, running("furnace-cifar-123456", "/p", 3));
  add(s, running("furnace-mnist-7f3a2c", "/p", 4)); // a reused name: the newest wins

  EXPECT_EQ(s.find("3")->name, "furnace-cifar-123456");
  EXPECT_EQ(s.find("furnace-mnist-7f3a2c")->id, 4);
  EXPECT_EQ(s.find("furnace-cif")->id, 3);
  EXPECT_EQ(s.find("furnace-mnist-a")->id, 2);

  auto ambiguous = s.find("furnace-mn");
  ASSERT_FALSE(ambiguous.has_value());
  EXPECT_EQ(ambiguous.error().kind, core::ErrorKind::invalid);
  EXPECT_EQ(ambiguous.error().message,
            "'furnace-mn' matches several runs: furnace-mnist-7f3a2c (4), "
            "furnace-mnist-aa0011 (2), furnace-mnist-7f3a2c (1)");
  EXPECT_EQ(ambiguous.error().hint, "give more of the name, or the run's ID");

  for (const std::string key : {"42", "furnace-zzz", "-1", "99999999999999999999"}) {
    auto missing = s.find(key);
    ASSERT_FALSE(missing.has_value()) << key;
    EXPECT_EQ(missing.error().kind, core::ErrorKind::not_found);
    EXPECT_EQ(missing.error().message, "no run '" + key + "' in " + db_path());
  }
  EXPECT_EQ(s.find("").error().kind, core::ErrorKind::invalid);
}

TEST_F(HistoryStore, lists_newest_first_with_filters) {
  Store s = open_store();
  add(s, running("r1", "/a", 1));
  add(s, running("r2", "/b", 2));
  const auto r3 = add(s, running("r3", "/a", 3));
  add(s, running("r4", "/a", 4));
  ASSERT_TRUE(s.finish(r3, 10, 0, "", k_exited));

  auto names = [&](const Query& q) {
    std::vector<std::string> out;
    auto runs = s.list(q);
    EXPECT_TRUE(runs.has_value());
    for (const RunRecord& r : runs.value_or(std::vector<RunRecord>{})) {
      out.push_back(r.name);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names({}), (V{"r4", "r3", "r2", "r1"}));
  EXPECT_EQ(names({"/a", 0, false}), (V{"r4", "r3", "r1"}));
  EXPECT_EQ(names({"/a", 2, false}), (V{"r4", "r3"}));
  EXPECT_EQ(names({"", 1, false}), (V{"r4"}));
  EXPECT_EQ(names({"/a", 0, true}), (V{"r4", "r1"}));
  EXPECT_EQ(names({"", 0, true}), (V{"r4", "r2", "r1"}));
  EXPECT_EQ(names({"/nowhere", 0, false}), V{});
}

TEST_F(HistoryStore, creates_private_file_and_directories) {
  Store s = open_store();
  add(s, sample());
  auto mode = [](const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777U;
  };
  EXPECT_EQ(mode(m_dir.path() + "/data"), 0700U);
  EXPECT_EQ(mode(m_dir.path() + "/data/furnace"), 0700U);
  EXPECT_EQ(mode(db_path()), 0600U);
  EXPECT_EQ(mode(db_path() + "-wal"), 0600U);
}

TEST_F(HistoryStore, a_corrupt_file_is_named_with_the_fix) {
  std::string noise(4096, '\0');
  std::mt19937 gen(42);
  for (char& c : noise) {
    c = static_cast<char>(gen() & 0xffU);
  }
  m_dir.write("data/furnace/history.db", noise, 0600);
  auto s = Store::open(db_path());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().kind, core::ErrorKind::invalid);
  EXPECT_EQ(s.error().message,
            db_path() + " is not a furnace history database (file is not a database)");
  EXPECT_EQ(s.error().hint,
            "move it aside ('mv " + db_path() + " " + db_path() +
                ".bad'); furnace then starts a new history");
}

// A raw connection to `path`, for doing what furnace never does.
struct RawDb {
  explicit RawDb(const std::string& path) { EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  ~RawDb() { sqlite3_close(db); }
  int exec(const char* sql) const { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }
  sqlite3* db = nullptr;
};

TEST_F(HistoryStore, another_programs_database_is_refused) {
  m_dir.write("data/furnace/.keep", "");
  {
    RawDb raw(db_path());
    ASSERT_EQ(raw.exec("CREATE TABLE songs (title TEXT)"), SQLITE_OK);
  }
  auto s = Store::open(db_path());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().kind, core::ErrorKind::invalid);
  EXPECT_EQ(s.error().message,
            db_path() + " is not a furnace history database (another program's SQLite file)");
}

// A database from before cluster jobs (schema 1, as furnace 0.2 wrote it) opens: its runs read
// as runs on this host, and a job can be recorded next to them.
TEST_F(HistoryStore, a_schema_1_database_is_migrated_and_keeps_its_runs) {
  m_dir.write("data/furnace/.keep", "");
  {
    RawDb raw(db_path());
    ASSERT_EQ(raw.exec(R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, container_id TEXT NOT NULL,
  started_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL, exit_code INTEGER, signal TEXT NOT NULL,
  status TEXT NOT NULL, user TEXT NOT NULL, host TEXT NOT NULL, project TEXT NOT NULL,
  workdir TEXT NOT NULL, git_commit TEXT NOT NULL, git_dirty INTEGER NOT NULL,
  spec_hash TEXT NOT NULL, image_tag TEXT NOT NULL, image_id TEXT NOT NULL,
  base_image TEXT NOT NULL, base_digest TEXT NOT NULL, command TEXT NOT NULL,
  gpu_request TEXT NOT NULL, gpu_indices TEXT NOT NULL, gpu_uuids TEXT NOT NULL,
  driver_version TEXT NOT NULL, log_path TEXT NOT NULL, detached INTEGER NOT NULL);
CREATE INDEX runs_project ON runs (project, id);
CREATE INDEX runs_name ON runs (name);
CREATE INDEX runs_running ON runs (id) WHERE status = 'running';
INSERT INTO runs VALUES (1, 'furnace-old-1', 'c', 5, 9, 0, '', 'exited', 'alice', 'h', '/p',
  '/w', '', 0, '', 'furnace/old:1', 'sha256:1', 'b', '', '["python"]', 'all', '[0]', '[]', '',
  '/l', 0);
PRAGMA application_id = 1179799107; PRAGMA user_version = 1;)sql"),
              SQLITE_OK);
  }
  Store s = open_store();
  auto old = s.find("furnace-old-1");
  ASSERT_TRUE(old.has_value()) << old.error().message;
  EXPECT_EQ(old->status, k_exited);
  EXPECT_EQ(old->scheduler, "");
  EXPECT_EQ(old->job_id, "");
  RunRecord job = running("mnist-1a2b3c", "/p", 10);
  job.status = k_pending;
  job.scheduler = "slurm";
  job.job_id = "77";
  const auto id = add(s, job);
  Query open_jobs;
  open_jobs.open_jobs_only = true;
  auto jobs = s.list(open_jobs);
  ASSERT_TRUE(jobs.has_value());
  ASSERT_EQ(jobs->size(), 1U);
  EXPECT_EQ(jobs->front().id, id);
  EXPECT_EQ(jobs->front().job_id, "77");
  ASSERT_TRUE(s.finish(id, 20, 3, "", k_failed).has_value());
  EXPECT_TRUE(s.list(open_jobs)->empty());
}

TEST_F(HistoryStore, a_newer_schema_is_refused) {
  open_store();
  {
    RawDb raw(db_path());
    ASSERT_EQ(raw.exec("PRAGMA user_version = 99"), SQLITE_OK);
  }
  auto s = Store::open(db_path());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().message,
            db_path() +
                " was written by a newer furnace (history schema 99; this furnace reads up to 3)");
  EXPECT_EQ(s.error().hint.rfind("upgrade furnace, or move it aside", 0), 0U);
}

// A history written by a furnace before schema 2 (no volumes or limits): opened, migrated in
// place, its runs read with none, and new runs keep theirs.
TEST_F(HistoryStore, a_schema_1_database_is_migrated_and_its_runs_stay_readable) {
  m_dir.write("data/furnace/.keep", "");
  {
    RawDb raw(db_path());
    // Schema 1 as furnace 0.x shipped it (frozen here: the test is about that file).
    ASSERT_EQ(raw.exec(R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, container_id TEXT NOT NULL,
  started_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL, exit_code INTEGER,
  signal TEXT NOT NULL, status TEXT NOT NULL, user TEXT NOT NULL, host TEXT NOT NULL,
  project TEXT NOT NULL, workdir TEXT NOT NULL, git_commit TEXT NOT NULL,
  git_dirty INTEGER NOT NULL, spec_hash TEXT NOT NULL, image_tag TEXT NOT NULL,
  image_id TEXT NOT NULL, base_image TEXT NOT NULL, base_digest TEXT NOT NULL,
  command TEXT NOT NULL, gpu_request TEXT NOT NULL, gpu_indices TEXT NOT NULL,
  gpu_uuids TEXT NOT NULL, driver_version TEXT NOT NULL, log_path TEXT NOT NULL,
  detached INTEGER NOT NULL);
CREATE INDEX runs_project ON runs (project, id);
CREATE INDEX runs_name ON runs (name);
CREATE INDEX runs_running ON runs (id) WHERE status = 'running';
INSERT INTO runs VALUES (1, 'furnace-old-1', 'c1', 1000, 2000, 0, '', 'exited', 'bob', 'h',
  '/p', '/workspace', '', 0, 's', 'furnace/p:1', 'sha256:1', 'debian:bookworm', '',
  '["python","a.py"]', 'none', '[]', '[]', '', '/l', 0);
PRAGMA application_id = 1179799107;
PRAGMA user_version = 1;
)sql"),
              SQLITE_OK)
        << sqlite3_errmsg(raw.db);
  }
  Store s = open_store();
  auto old = s.find("1");
  ASSERT_TRUE(old.has_value()) << old.error().message;
  EXPECT_EQ(old->name, "furnace-old-1");
  EXPECT_EQ(old->command, (std::vector<std::string>{"python", "a.py"}));
  EXPECT_TRUE(old->volumes.empty());
  EXPECT_EQ(old->memory, "");
  EXPECT_EQ(old->cpus, "");
  EXPECT_EQ(old->pids_limit, "");
  RunRecord r = sample();
  r.id = add(s, r);
  EXPECT_EQ(r.id, 2);
  auto back = s.find("2");
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(fields(*back) == fields(r)) << to_json(*back).dump();
  {
    RawDb raw(db_path());
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw.db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), 3);
    sqlite3_finalize(st);
  }
}

TEST_F(HistoryStore, a_locked_database_fails_after_the_busy_timeout) {
  Store first = open_store();
  add(first, sample());
  auto s = Store::open(db_path(), std::chrono::milliseconds(200));
  ASSERT_TRUE(s.has_value());
  RawDb holder(db_path());
  ASSERT_EQ(holder.exec("BEGIN EXCLUSIVE; UPDATE runs SET name = name"), SQLITE_OK);

  const auto t0 = std::chrono::steady_clock::now();
  auto id = s->insert(sample());
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(id.has_value());
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(3));
  EXPECT_EQ(id.error().kind, core::ErrorKind::timeout);
  EXPECT_EQ(id.error().message, db_path() + " is locked by another process (database is locked)");
  EXPECT_NE(id.error().hint.find("move it aside ('mv " + db_path()), std::string::npos);

  auto readable = s->list({}); // WAL: readers are not blocked by a writer
  ASSERT_TRUE(readable.has_value());
  EXPECT_EQ(readable->size(), 1U);

  ASSERT_EQ(holder.exec("COMMIT"), SQLITE_OK);
  EXPECT_TRUE(s->insert(sample()).has_value());
}

// The child's work: open, insert `n` runs and finish each; 0 when all of it worked.
int write_runs(const std::string& path, int child, int n) {
  auto s = Store::open(path);
  if (!s) {
    std::cerr << "child " << child << ": open: " << s.error().message << '\n';
    return 1;
  }
  for (int i = 0; i < n; ++i) {
    auto id = s->insert(
        running("furnace-c" + std::to_string(child) + "-" + std::to_string(i), "/p", 1000 + i));
    auto done = id ? s->finish(*id, 2000 + i, i % 3, "", k_exited) : core::fail(id.error());
    if (!done) {
      std::cerr << "child " << child << ": run " << i << ": " << done.error().message << '\n';
      return 2;
    }
  }
  return 0;
}

TEST_F(HistoryStore, eight_processes_writing_at_once_lose_nothing) {
  constexpr int k_children = 8;
  constexpr int k_runs = 50;
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> pids;
  for (int c = 0; c < k_children; ++c) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(gate[1]);
      char byte = 0;
      (void)::read(gate[0], &byte, 1); // wait until all are forked: EOF when the parent closes
      ::_exit(write_runs(db_path(), c, k_runs));
    }
    pids.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]);
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  Store s = open_store();
  auto all = s.list({});
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), static_cast<std::size_t>(k_children * k_runs));
  std::set<std::int64_t> ids;
  std::set<std::string> names;
  for (const RunRecord& r : *all) {
    ids.insert(r.id);
    names.insert(r.name);
    EXPECT_EQ(r.status, "exited");
  }
  EXPECT_EQ(ids.size(), all->size());
  EXPECT_EQ(names.size(), all->size());
  EXPECT_EQ(*ids.begin(), 1);
  EXPECT_EQ(*ids.rbegin(), k_children * k_runs);
}

TEST(HistoryPaths, default_path_follows_xdg_then_home) {
  EXPECT_EQ(default_path({{"XDG_DATA_HOME", "/x/data"}, {"HOME", "/home/a"}}),
            "/x/data/furnace/history.db");
  EXPECT_EQ(default_path({{"HOME", "/home/a"}}), "/home/a/.local/share/furnace/history.db");
  EXPECT_EQ(default_path({{"XDG_DATA_HOME", "relative"}, {"HOME", "/home/a"}}),
            "/home/a/.local/share/furnace/history.db");
}

// Renders in UTC, whatever this machine's zone.
class HistoryRender : public ::testing::Test {
protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ"); // NOLINT(concurrency-mt-unsafe)
    m_saved = tz != nullptr ? std::optional<std::string>(tz) : std::nullopt;
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  void TearDown() override {
    if (m_saved) {
      ::setenv("TZ", m_saved->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

  std::optional<std::string> m_saved;
};

TEST_F(HistoryRender, durations) {
  EXPECT_EQ(format_duration(-5), "0s");
  EXPECT_EQ(format_duration(45999), "45s");
  EXPECT_EQ(format_duration(72000), "1m12s");
  EXPECT_EQ(format_duration(2 * 3600000 + 3 * 60000 + 59000), "2h03m");
  EXPECT_EQ(format_duration(3 * 86400000LL + 4 * 3600000), "3d04h");
}

TEST_F(HistoryRender, table) {
  RunRecord done = sample();
  done.id = 12;
  RunRecord live = running("furnace-cifar-123456", "/srv/cifar", 1795876812345);
  live.id = 13;
  live.command = {"python",
                  "-m",
                  "train",
                  "--config",
                  "configs/a-very-long-configuration-name-for-testing.yaml"};
  RunRecord killed = running("furnace-x-1", "/home/alice", 1795876812345);
  killed.id = 14;
  killed.ended_ms = killed.started_ms + 5000;
  killed.status = k_killed;
  killed.signal = "SIGINT";
  RunRecord lost = running("furnace-x-2", "/home/alicebob", 1795876812345);
  lost.id = 15;
  lost.status = k_lost;
  EXPECT_EQ(
      render_table({done, live, killed, lost}, 1795876812345 + 3723000, "/home/alice"),
      "ID  NAME                  STARTED           DURATION  STATUS         GPUS  PROJECT         "
      "COMMAND\n"
      "12  furnace-mnist-7f3a2c  2026-11-28 14:40  1m12s     exited 3       0,2   ~/mnist         "
      "python train.py --name 'it'\\''s \"ü\"\\n'\n"
      "13  furnace-cifar-123456  2026-11-28 14:40  1h02m     running        -     /srv/cifar      "
      "python -m train --config configs/a-very-long-configuratio...\n"
      "14  furnace-x-1           2026-11-28 14:40  5s        killed SIGINT  -     ~               "
      "python train.py\n"
      "15  furnace-x-2           2026-11-28 14:40  -         lost           -     /home/alicebob  "
      "python train.py\n");
}

TEST_F(HistoryRender, details) {
  RunRecord r = sample();
  r.id = 12;
  EXPECT_EQ(render_details(r),
            "id:        12\n"
            "name:      furnace-mnist-7f3a2c\n"
            "status:    exited 3\n"
            "started:   2026-11-28 14:40:12 UTC\n"
            "ended:     2026-11-28 14:41:24 UTC (after 1m12s)\n"
            "command:   python train.py --name 'it'\\''s \"ü\"\\n'\n"
            "project:   /home/alice/mnist\n"
            "workdir:   /workspace\n"
            "git:       1a2b3c4d5e6f (uncommitted changes)\n"
            "image:     furnace/mnist:abc123def456 (sha256:1111)\n"
            "base:      pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime @ "
            "pytorch/pytorch@sha256:2222\n"
            "spec hash: 5f2c\n"
            "gpus:      0,2 (asked: 0,2)\n"
            "gpu uuids: GPU-aaaa, GPU-bbbb\n"
            "driver:    570.86.15\n"
            "container: c0ffee\n"
            "detached:  yes\n"
            "volumes:   /data/mnist:/data:ro, /home/alice/out dir:/out\n"
            "limits:    memory 8g, cpus 1.5, pids 4096\n"
            "user:      alice@gpu-box\n"
            "log:       /home/alice/.local/state/furnace/runs/1.log\n");
  const std::string bare = render_details(running("furnace-x-1", "", 0));
  EXPECT_NE(bare.find("ended:     -\n"), std::string::npos) << bare;
  EXPECT_NE(bare.find("git:       -\n"), std::string::npos) << bare;
  EXPECT_NE(bare.find("gpus:      - (asked: -)\n"), std::string::npos) << bare;
  EXPECT_NE(bare.find("volumes:   -\n"), std::string::npos) << bare;
  EXPECT_NE(bare.find("limits:    -\n"), std::string::npos) << bare;
}

TEST_F(HistoryRender, json_has_every_documented_field) {
  RunRecord r = sample();
  r.id = 12;
  const auto j = run_json(r);
  EXPECT_EQ(j.at("schema_version"), 1);
  const auto& run = j.at("run");
  std::set<std::string> keys;
  for (const auto& [k, v] : run.items()) {
    keys.insert(k);
  }
  EXPECT_EQ(keys,
            (std::set<std::string>{
                "id",          "name",           "container_id", "status",      "exit_code",
                "signal",      "started_ms",     "started_at",   "ended_ms",    "ended_at",
                "duration_ms", "user",           "host",         "project",     "workdir",
                "git_commit",  "git_dirty",      "spec_hash",    "image_tag",   "image_id",
                "base_image",  "base_digest",    "command",      "gpu_request", "gpu_indices",
                "gpu_uuids",   "driver_version", "log_path",     "detached",    "volumes",
                "memory",      "cpus",           "pids_limit",  "scheduler",   "job_id",
                "image_ref"}));
  EXPECT_EQ(run.at("started_at"), "2026-11-28T14:40:12.345Z");
  EXPECT_EQ(run.at("ended_at"), "2026-11-28T14:41:24.345Z");
  EXPECT_EQ(run.at("duration_ms"), 72000);
  EXPECT_EQ(run.at("exit_code"), 3);
  EXPECT_EQ(run.at("gpu_indices"), nlohmann::json::array({0, 2}));
  EXPECT_EQ(run.at("command").size(), 4U);
  EXPECT_EQ(run.at("git_dirty"), true);

  const auto live = to_json(running("furnace-x-1", "/p", 5));
  EXPECT_TRUE(live.at("exit_code").is_null());
  EXPECT_TRUE(live.at("ended_ms").is_null());
  EXPECT_TRUE(live.at("ended_at").is_null());
  EXPECT_TRUE(live.at("duration_ms").is_null());
  EXPECT_EQ(live.at("signal"), "");

  const auto list = runs_json({r, r});
  EXPECT_EQ(list.at("schema_version"), 1);
  EXPECT_EQ(list.at("runs").size(), 2U);
  EXPECT_EQ(runs_json({}).dump(), R"({"runs":[],"schema_version":1})");
}

// `furnace history` / `furnace show` against a database under a temp XDG_DATA_HOME.
class HistoryCommand : public HistoryRender {
protected:
  core::Context context() {
    return core::Context{m_ui, m_runner, {{"XDG_DATA_HOME", m_dir.path()}, {"HOME", "/h"}}, "/"};
  }
  std::string db_path() const { return m_dir.path() + "/furnace/history.db"; }
  void fill() {
    auto s = Store::open(db_path());
    ASSERT_TRUE(s.has_value());
    RunRecord a = sample();
    a.project = m_dir.path() + "/proj";
    ASSERT_TRUE(s->insert(a).has_value());
    ASSERT_TRUE(s->insert(running("furnace-other-1", "/elsewhere", 1795876812345)).has_value());
  }

  TempDir m_dir;
  std::ostringstream m_out;
  std::ostringstream m_err;
  core::Ui m_ui{m_out, m_err, false};
  util::DryRunRunner m_runner{m_err};
};

TEST_F(HistoryCommand, history_lists_and_filters_by_project) {
  fill();
  m_dir.write("proj/furnace.yaml", "name: mnist\n");
  m_dir.write("proj/src/train.py", "");
  core::Context ctx = context();
  HistoryOptions all;
  all.now_ms = 1795876812345 + 1000;
  EXPECT_EQ(run_history(ctx, all), 0);
  EXPECT_EQ(m_out.str().substr(0, m_out.str().find('\n')),
            "ID  NAME                  STARTED           DURATION  STATUS    GPUS  PROJECT" +
                std::string(m_dir.path().size() + 5 - 7, ' ') + "  COMMAND");
  EXPECT_NE(m_out.str().find("\n2   furnace-other-1 "), std::string::npos) << m_out.str();

  m_out.str("");
  HistoryOptions mine = all;
  mine.project = project::find_root(m_dir.path() + "/proj/src"); // as the CLI passes it
  mine.json = true;
  EXPECT_EQ(run_history(ctx, mine), 0);
  const auto j = nlohmann::json::parse(m_out.str());
  ASSERT_EQ(j.at("runs").size(), 1U);
  EXPECT_EQ(j.at("runs")[0].at("name"), "furnace-mnist-7f3a2c");

  m_out.str("");
  HistoryOptions one = all;
  one.limit = 1;
  EXPECT_EQ(run_history(ctx, one), 0);
  const std::string limited = m_out.str();
  EXPECT_EQ(std::count(limited.begin(), limited.end(), '\n'), 2);
  EXPECT_EQ(m_err.str(), "");
}

TEST_F(HistoryCommand, history_of_nothing_says_so) {
  core::Context ctx = context();
  EXPECT_EQ(run_history(ctx, {}), 0);
  EXPECT_EQ(m_out.str(), "");
  EXPECT_EQ(m_err.str(), "no runs yet: 'furnace run' records each run here\n");
}

TEST_F(HistoryCommand, a_corrupt_database_fails_naming_the_file) {
  m_dir.write("furnace/history.db", std::string(2048, 'x'), 0600);
  core::Context ctx = context();
  EXPECT_EQ(run_history(ctx, {}), 1);
  EXPECT_EQ(m_out.str(), "");
  EXPECT_EQ(m_err.str(),
            "furnace: error: " + db_path() +
                " is not a furnace history database (file is not a database)\n"
                "  hint: move it aside ('mv " +
                db_path() + " " + db_path() + ".bad'); furnace then starts a new history\n");
}

TEST_F(HistoryCommand, show_prints_one_run) {
  fill();
  core::Context ctx = context();
  EXPECT_EQ(run_show(ctx, {"furnace-mn", false}), 0);
  const std::string head = "id:        1\nname:      furnace-mnist-7f3a2c\n";
  EXPECT_EQ(m_out.str().substr(0, head.size()), head);
  m_out.str("");
  EXPECT_EQ(run_show(ctx, {"2", true}), 0);
  EXPECT_EQ(nlohmann::json::parse(m_out.str()).at("run").at("name"), "furnace-other-1");
  m_out.str("");
  EXPECT_EQ(run_show(ctx, {"nope", false}), 1);
  EXPECT_EQ(m_out.str(), "");
  EXPECT_EQ(m_err.str(),
            "furnace: error: no run 'nope' in " + db_path() +
                "\n  hint: give a run's ID or container name; 'furnace history' lists them\n");
}

TEST_F(HistoryCommand, show_adds_what_a_step_above_knows_of_the_run) {
  fill();
  core::Context ctx = context();
  auto extra = [](const RunRecord& r) {
    ShowExtra e;
    e.fields = {{"python", "3.10.8"}, {"arch list", "sm_86"}};
    e.run_keys["image_facts"] = {{"seen", r.name}};
    return e;
  };
  EXPECT_EQ(run_show(ctx, {"furnace-mn", false}, extra), 0);
  const std::string out = m_out.str();
  EXPECT_NE(out.find("\nlog:"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 35), "python:    3.10.8\narch list: sm_86\n");
  m_out.str("");
  EXPECT_EQ(run_show(ctx, {"2", true}, extra), 0);
  const auto j = nlohmann::json::parse(m_out.str());
  EXPECT_EQ(j.at("run").at("image_facts").at("seen"), "furnace-other-1");
  EXPECT_EQ(j.at("run").at("name"), "furnace-other-1");
}

} // namespace
} // namespace furnace::history
