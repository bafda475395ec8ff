#include "store.hpp"

#include <furnace/core/dirs.hpp>
#include <furnace/util/ownership.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <functional>
#include <sqlite3.h>
#include <thread>

namespace furnace::history {

namespace {

namespace fs = std::filesystem;

// 'FRNC' in PRAGMA application_id marks the file as ours, so a stray SQLite file is refused.
constexpr int k_application_id = 0x46524e43;

// Migration i moves a database from user_version i to i + 1; the current schema version is their
// count. Append only, never edit one that shipped.
constexpr std::array<const char*, 3> k_migrations{R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  container_id TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL,
  exit_code INTEGER,
  signal TEXT NOT NULL,
  status TEXT NOT NULL,
  user TEXT NOT NULL,
  host TEXT NOT NULL,
  project TEXT NOT NULL,
  workdir TEXT NOT NULL,
  git_commit TEXT NOT NULL,
  git_dirty INTEGER NOT NULL,
  spec_hash TEXT NOT NULL,
  image_tag TEXT NOT NULL,
  image_id TEXT NOT NULL,
  base_image TEXT NOT NULL,
  base_digest TEXT NOT NULL,
  command TEXT NOT NULL,
  gpu_request TEXT NOT NULL,
  gpu_indices TEXT NOT NULL,
  gpu_uuids TEXT NOT NULL,
  driver_version TEXT NOT NULL,
  log_path TEXT NOT NULL,
  detached INTEGER NOT NULL
);
CREATE INDEX runs_project ON runs (project, id);
CREATE INDEX runs_name ON runs (name);
CREATE INDEX runs_running ON runs (id) WHERE status = 'running';
)sql",
                                                  // 2: jobs on a cluster (furnace submit)
                                                  R"sql(
ALTER TABLE runs ADD COLUMN scheduler TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN job_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN image_ref TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_open_jobs ON runs (id) WHERE scheduler != '' AND status IN ('pending', 'running');
)sql",
                                                  // 2 -> 3: what a rerun repeats besides the
                                                  // image and command; old rows read as none.
                                                  R"sql(
ALTER TABLE runs ADD COLUMN volumes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE runs ADD COLUMN memory TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN cpus TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN pids_limit TEXT NOT NULL DEFAULT '';
)sql"};

constexpr int k_schema_version = static_cast<int>(k_migrations.size());

// Every column but id, in the order insert binds them and read_run reads them (after id).
constexpr const char* k_fields =
    "name, container_id, started_ms, ended_ms, exit_code, signal, status, user, host, project, "
    "workdir, git_commit, git_dirty, spec_hash, image_tag, image_id, base_image, base_digest, "
    "command, gpu_request, gpu_indices, gpu_uuids, driver_version, log_path, detached, scheduler, "
    "job_id, image_ref, volumes, memory, cpus, pids_limit";
constexpr int k_field_count = 32;

std::string errno_text(int error_number) {
  return std::strerror(error_number); // NOLINT(concurrency-mt-unsafe): single-threaded CLI
}

std::string move_aside_hint(const std::string& path) {
  return fmt::format("move it aside ('mv {0} {0}.bad'); furnace then starts a new history", path);
}

core::Error db_error(sqlite3* db, int rc, const std::string& path) {
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return core::make_error(core::ErrorKind::timeout,
                            fmt::format("{} is locked by another process ({})", path, detail),
                            "another furnace is writing to it: try again; if none is running, " +
                                move_aside_hint(path));
  case SQLITE_NOTADB:
  case SQLITE_CORRUPT:
    return core::make_error(core::ErrorKind::invalid,
                            fmt::format("{} is not a furnace history database ({})", path, detail),
                            move_aside_hint(path));
  case SQLITE_CANTOPEN:
  case SQLITE_IOERR:
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_FULL: {
    const int sys = db != nullptr ? sqlite3_system_errno(db) : 0;
    return core::make_error(
        core::ErrorKind::io,
        fmt::format("cannot use {}: {}{}", path, detail, sys != 0 ? ": " + errno_text(sys) : ""),
        "check that you can read and write it and its directory, or set XDG_DATA_HOME");
  }
  default:
    return core::make_error(core::ErrorKind::internal, fmt::format("{}: {}", path, detail));
  }
}

struct Finalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// A prepared statement: parameters are bound in order, columns are read in order.
class Statement {
public:
  static core::Result<Statement>
  prepare(sqlite3* db, const std::string& sql, const std::string& path) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
    if (rc != SQLITE_OK) {
      return core::fail(db_error(db, rc, path));
    }
    return Statement(db, raw, path);
  }

  Statement& bind(const std::string& v) {
    sqlite3_bind_text(
        m_stmt.get(), ++m_bound, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(std::int64_t v) {
    sqlite3_bind_int64(m_stmt.get(), ++m_bound, v);
    return *this;
  }
  Statement& bind(std::optional<int> v) {
    if (!v) {
      sqlite3_bind_null(m_stmt.get(), ++m_bound);
      return *this;
    }
    return bind(static_cast<std::int64_t>(*v));
  }
  Statement& bind(bool v) { return bind(static_cast<std::int64_t>(v ? 1 : 0)); }

  // True with a row to read, false when done.
  core::Result<bool> step() {
    m_column = 0;
    const int rc = sqlite3_step(m_stmt.get());
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
      return rc == SQLITE_ROW;
    }
    return core::fail(db_error(m_db, rc, m_path));
  }

  std::string text() {
    const int i = m_column++;
    const auto* p = sqlite3_column_text(m_stmt.get(), i);
    return p == nullptr
               ? std::string()
               : std::string(reinterpret_cast<const char*>(p),
                             static_cast<std::size_t>(sqlite3_column_bytes(m_stmt.get(), i)));
  }
  std::int64_t integer() { return sqlite3_column_int64(m_stmt.get(), m_column++); }
  std::optional<int> optional_int() {
    if (sqlite3_column_type(m_stmt.get(), m_column) == SQLITE_NULL) {
      ++m_column;
      return std::nullopt;
    }
    return static_cast<int>(integer());
  }
  bool boolean() { return integer() != 0; }

private:
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string path)
      : m_db(db), m_stmt(stmt), m_path(std::move(path)) {}

  sqlite3* m_db;
  std::unique_ptr<sqlite3_stmt, Finalize> m_stmt;
  std::string m_path;
  int m_bound = 0;
  int m_column = 0;
};

core::Result<void> exec(sqlite3* db, const char* sql, const std::string& path) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return core::fail(db_error(db, rc, path));
  }
  return {};
}

template <class T> std::string json_list(const std::vector<T>& items) {
  return nlohmann::json(items).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The strings of a JSON array column; anything else reads as empty.
std::vector<std::string> string_list(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  for (const auto& e : j.is_array() ? j : nlohmann::json::array()) {
    if (e.is_string()) {
      out.push_back(e.get<std::string>());
    }
  }
  return out;
}

std::vector<unsigned> index_list(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<unsigned> out;
  for (const auto& e : j.is_array() ? j : nlohmann::json::array()) {
    if (e.is_number_unsigned()) {
      out.push_back(e.get<unsigned>());
    }
  }
  return out;
}

RunRecord read_run(Statement& s) {
  RunRecord r;
  r.id = s.integer();
  r.name = s.text();
  r.container_id = s.text();
  r.started_ms = s.integer();
  r.ended_ms = s.integer();
  r.exit_code = s.optional_int();
  r.signal = s.text();
  r.status = s.text();
  r.user = s.text();
  r.host = s.text();
  r.project = s.text();
  r.workdir = s.text();
  r.git_commit = s.text();
  r.git_dirty = s.boolean();
  r.spec_hash = s.text();
  r.image_tag = s.text();
  r.image_id = s.text();
  r.base_image = s.text();
  r.base_digest = s.text();
  r.command = string_list(s.text());
  r.gpu_request = s.text();
  r.gpu_indices = index_list(s.text());
  r.gpu_uuids = string_list(s.text());
  r.driver_version = s.text();
  r.log_path = s.text();
  r.detached = s.boolean();
  r.scheduler = s.text();
  r.job_id = s.text();
  r.image_ref = s.text();
  r.volumes = string_list(s.text());
  r.memory = s.text();
  r.cpus = s.text();
  r.pids_limit = s.text();
  return r;
}

void bind_run(Statement& s, const RunRecord& r) {
  s.bind(r.name)
      .bind(r.container_id)
      .bind(r.started_ms)
      .bind(r.ended_ms)
      .bind(r.exit_code)
      .bind(r.signal)
      .bind(r.status)
      .bind(r.user)
      .bind(r.host)
      .bind(r.project)
      .bind(r.workdir)
      .bind(r.git_commit)
      .bind(r.git_dirty)
      .bind(r.spec_hash)
      .bind(r.image_tag)
      .bind(r.image_id)
      .bind(r.base_image)
      .bind(r.base_digest)
      .bind(json_list(r.command))
      .bind(r.gpu_request)
      .bind(json_list(r.gpu_indices))
      .bind(json_list(r.gpu_uuids))
      .bind(r.driver_version)
      .bind(r.log_path)
      .bind(r.detached)
      .bind(r.scheduler)
      .bind(r.job_id)
      .bind(r.image_ref)
      .bind(json_list(r.volumes))
      .bind(r.memory)
      .bind(r.cpus)
      .bind(r.pids_limit);
}

std::string insert_sql() {
  std::string sql = fmt::format("INSERT INTO runs ({}) VALUES (?", k_fields);
  for (int i = 1; i < k_field_count; ++i) {
    sql += ", ?";
  }
  return sql + ")";
}

// The runs matching `tail` (a WHERE / ORDER BY / LIMIT clause whose parameters `bind` fills).
core::Result<std::vector<RunRecord>> select_runs(sqlite3* db,
                                                 const std::string& path,
                                                 const std::string& tail,
                                                 const std::function<void(Statement&)>& bind) {
  auto st = Statement::prepare(db, fmt::format("SELECT id, {} FROM runs {}", k_fields, tail), path);
  if (!st) {
    return core::fail(st.error());
  }
  bind(*st);
  std::vector<RunRecord> out;
  for (;;) {
    auto row = st->step();
    if (!row) {
      return core::fail(row.error());
    }
    if (!*row) {
      return out;
    }
    out.push_back(read_run(*st));
  }
}

// Runs `sql` (an UPDATE ... WHERE id = ?, `bind` filling the rest first) on the run `id`.
core::Result<void> update_run(sqlite3* db,
                              const std::string& path,
                              const char* sql,
                              std::int64_t id,
                              const std::function<void(Statement&)>& bind) {
  auto st = Statement::prepare(db, sql, path);
  if (!st) {
    return core::fail(st.error());
  }
  bind(*st);
  st->bind(id);
  auto done = st->step();
  if (!done) {
    return core::fail(done.error());
  }
  if (sqlite3_changes(db) == 0) {
    return core::fail(core::ErrorKind::not_found, fmt::format("no run {} in {}", id, path));
  }
  return {};
}

// The smallest string greater than every string starting with `prefix`; nullopt when none is.
std::optional<std::string> prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) {
    prefix.pop_back();
  }
  if (prefix.empty()) {
    return std::nullopt;
  }
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// Creates the missing directories above `path` with 0700 (the history is private to its user).
core::Result<void> make_parents(const std::string& path) {
  fs::path dir;
  for (const fs::path& part : fs::path(path).parent_path()) {
    dir /= part;
    if (::mkdir(dir.c_str(), 0700) == 0) {
      (void)util::give_to_directory_owner(dir.string()); // under sudo: the caller's
    } else if (errno != EEXIST) {
      return core::fail(core::ErrorKind::io,
                        fmt::format("cannot create {}: {}", dir.string(), errno_text(errno)),
                        "set XDG_DATA_HOME to a directory you can write");
    }
  }
  return {};
}

// Creates the file with 0600 before SQLite does (it would use 0644); SQLite gives its -wal and
// -shm files the same mode.
core::Result<void> make_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return core::fail(core::ErrorKind::io,
                      fmt::format("cannot open {}: {}", path, errno_text(errno)),
                      "check that you can read and write it, or set XDG_DATA_HOME");
  }
  ::close(fd);
  return {};
}

struct Header {
  std::int64_t application_id = 0;
  std::int64_t version = 0;
  std::int64_t objects = 0; // tables, indexes, ... in the file
};

core::Result<Header> read_header(sqlite3* db, const std::string& path) {
  auto st = Statement::prepare(db,
                               "SELECT (SELECT application_id FROM pragma_application_id()), "
                               "(SELECT user_version FROM pragma_user_version()), "
                               "(SELECT count(*) FROM sqlite_master)",
                               path);
  if (!st) {
    return core::fail(st.error());
  }
  auto row = st->step();
  if (!row) {
    return core::fail(row.error());
  }
  Header h;
  h.application_id = st->integer();
  h.version = st->integer();
  h.objects = st->integer();
  return h;
}

// Refuses a file that is not ours, or one a newer furnace wrote.
core::Result<void> check_header(const Header& h, const std::string& path) {
  if (h.application_id != k_application_id && (h.application_id != 0 || h.objects != 0)) {
    return core::fail(
        core::ErrorKind::invalid,
        fmt::format("{} is not a furnace history database (another program's SQLite file)", path),
        move_aside_hint(path));
  }
  if (h.version > k_schema_version) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{} was written by a newer furnace (history schema {}; this "
                                  "furnace reads up to {})",
                                  path,
                                  h.version,
                                  k_schema_version),
                      "upgrade furnace, or " + move_aside_hint(path));
  }
  return {};
}

// Brings the schema up to date inside one write transaction (another process may be doing the
// same: the header is read again under the lock).
core::Result<void> migrate(sqlite3* db, const std::string& path) {
  if (auto begin = exec(db, "BEGIN IMMEDIATE", path); !begin) {
    return begin;
  }
  auto body = [&]() -> core::Result<void> {
    auto h = read_header(db, path);
    if (!h) {
      return core::fail(h.error());
    }
    if (auto ok = check_header(*h, path); !ok) {
      return ok;
    }
    for (auto v = static_cast<std::size_t>(h->version); v < k_migrations.size(); ++v) {
      if (auto ok = exec(db, k_migrations.at(v), path); !ok) {
        return ok;
      }
    }
    const std::string stamp = fmt::format(
        "PRAGMA application_id = {}; PRAGMA user_version = {}", k_application_id, k_schema_version);
    return exec(db, stamp.c_str(), path);
  }();
  if (!body) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return body;
  }
  return exec(db, "COMMIT", path);
}

// Switches a new file to WAL (a no-op once it is). The switch needs the file to itself and SQLite
// fails it at once, not calling the busy handler, while another process reads it: when several
// furnace processes create the history together, each retries until `busy_timeout`.
core::Result<void>
use_wal(sqlite3* db, const std::string& path, std::chrono::milliseconds busy_timeout) {
  const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  for (int attempt = 1;; ++attempt) {
    const int rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) {
      return {};
    }
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) {
      return core::fail(db_error(db, rc, path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(attempt, 10)));
  }
}

core::Result<void>
prepare_db(sqlite3* db, const std::string& path, std::chrono::milliseconds busy_timeout) {
  auto h = read_header(db, path);
  if (!h) {
    return core::fail(h.error());
  }
  if (auto ok = check_header(*h, path); !ok) {
    return ok;
  }
  if (auto ok = use_wal(db, path, busy_timeout); !ok) {
    return ok;
  }
  if (auto ok = exec(db, "PRAGMA synchronous = NORMAL", path); !ok) {
    return ok;
  }
  return h->version < k_schema_version ? migrate(db, path) : core::Result<void>();
}

// The one run whose name starts with `prefix`. Errors: not_found, invalid (several match).
core::Result<RunRecord>
find_by_prefix(sqlite3* db, const std::string& path, const std::string& prefix) {
  const auto end = prefix_end(prefix);
  constexpr std::size_t k_shown = 10;
  auto matches = select_runs(db,
                             path,
                             fmt::format("WHERE name >= ?{} ORDER BY id DESC LIMIT {}",
                                         end ? " AND name < ?" : "",
                                         k_shown + 1),
                             [&](Statement& s) {
                               s.bind(prefix);
                               if (end) {
                                 s.bind(*end);
                               }
                             });
  if (!matches) {
    return core::fail(matches.error());
  }
  if (matches->empty()) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("no run '{}' in {}", prefix, path),
                      "give a run's ID or container name; 'furnace history' lists them");
  }
  if (matches->size() == 1) {
    return matches->front();
  }
  std::string names;
  for (std::size_t i = 0; i < matches->size() && i < k_shown; ++i) {
    names += fmt::format("{}{} ({})", i == 0 ? "" : ", ", (*matches)[i].name, (*matches)[i].id);
  }
  return core::fail(core::ErrorKind::invalid,
                    fmt::format("'{}' matches several runs: {}{}",
                                prefix,
                                names,
                                matches->size() > k_shown ? ", ..." : ""),
                    "give more of the name, or the run's ID");
}

} // namespace

void Store::Close::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}

core::Result<Store> Store::open(const std::string& path, std::chrono::milliseconds busy_timeout) {
  if (auto ok = make_parents(path); !ok) {
    return core::fail(ok.error());
  }
  if (auto ok = make_file(path); !ok) {
    return core::fail(ok.error());
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  Store store(raw, path);
  if (rc != SQLITE_OK) {
    return core::fail(db_error(raw, rc, path));
  }
  sqlite3_busy_timeout(raw, static_cast<int>(busy_timeout.count()));
  // Every furnace process opens and closes the history: a checkpoint (two fsyncs) and the WAL
  // files' removal at each close cost more than the run's own writes. The WAL stays; SQLite's
  // automatic checkpoints (every 1000 pages) keep it small.
  sqlite3_db_config(raw, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  int persist = 1;
  sqlite3_file_control(raw, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  if (auto ok = prepare_db(raw, path, busy_timeout); !ok) {
    return core::fail(ok.error());
  }
  // Root (sudo -E) opening a user's history: the file and the WAL files SQLite made stay theirs,
  // or the user's next run could not open them.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    (void)util::give_to_directory_owner(path + suffix);
  }
  return store;
}

core::Result<std::int64_t> Store::insert(const RunRecord& r) {
  auto st = Statement::prepare(m_db.get(), insert_sql(), m_path);
  if (!st) {
    return core::fail(st.error());
  }
  bind_run(*st, r);
  auto done = st->step();
  if (!done) {
    return core::fail(done.error());
  }
  return sqlite3_last_insert_rowid(m_db.get());
}

core::Result<void> Store::set_container(std::int64_t id, const std::string& container_id) {
  return update_run(
      m_db.get(), m_path, "UPDATE runs SET container_id = ? WHERE id = ?", id, [&](Statement& s) {
        s.bind(container_id);
      });
}

core::Result<void> Store::set_git_dirty(std::int64_t id, bool dirty) {
  return update_run(
      m_db.get(), m_path, "UPDATE runs SET git_dirty = ? WHERE id = ?", id, [&](Statement& s) {
        s.bind(dirty);
      });
}

core::Result<void> Store::finish(std::int64_t id,
                                 std::int64_t ended_ms,
                                 std::optional<int> exit_code,
                                 const std::string& signal,
                                 const std::string& status) {
  return update_run(
      m_db.get(),
      m_path,
      "UPDATE runs SET ended_ms = ?, exit_code = ?, signal = ?, status = ? WHERE id = ?",
      id,
      [&](Statement& s) { s.bind(ended_ms).bind(exit_code).bind(signal).bind(status); });
}

core::Result<std::vector<RunRecord>> Store::list(const Query& q) const {
  std::string tail;
  if (!q.project.empty()) {
    tail = "WHERE project = ?";
  }
  if (q.running_only) {
    tail += tail.empty() ? "WHERE " : " AND ";
    tail += "status = 'running'";
  }
  if (q.open_jobs_only) {
    tail += tail.empty() ? "WHERE " : " AND ";
    tail += "scheduler != '' AND status IN ('pending', 'running')";
  }
  tail += " ORDER BY id DESC LIMIT ?";
  return select_runs(m_db.get(), m_path, tail, [&](Statement& s) {
    if (!q.project.empty()) {
      s.bind(q.project);
    }
    s.bind(q.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(q.limit));
  });
}

core::Result<RunRecord> Store::find(const std::string& key) const {
  if (key.empty()) {
    return core::fail(core::ErrorKind::invalid,
                      "an empty run name",
                      "give a run's ID or container name; 'furnace history' lists them");
  }
  std::int64_t id = -1;  // no run has it
  if (key.size() < 19) { // fits: from_chars leaves `id` alone unless all of `key` is digits
    std::int64_t parsed = 0;
    const auto [rest, ec] = std::from_chars(key.data(), key.data() + key.size(), parsed);
    if (ec == std::errc() && rest == key.data() + key.size() && key.front() != '-') {
      id = parsed;
    }
  }
  auto exact = select_runs(m_db.get(),
                           m_path,
                           "WHERE id = ?1 OR name = ?2 ORDER BY id = ?1 DESC, id DESC LIMIT 1",
                           [&](Statement& s) { s.bind(id).bind(key); });
  if (!exact) {
    return core::fail(exact.error());
  }
  if (!exact->empty()) {
    return exact->front();
  }
  return find_by_prefix(m_db.get(), m_path, key);
}

std::string default_path(const core::Env& env) {
  return core::dirs_from_env(env).data + "/history.db";
}

} // namespace furnace::history
