// AtomicFile, backups, symlinked targets and the setup lock, in temp dirs.

#include "support/test_env.hpp"

#include <furnace/host/system_file.hpp>
#include <furnace/util/atomic_file.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <optional>

namespace furnace {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string slurp(const std::string& p) {
  return util::read_file(p).value_or("<missing>");
}

// Issue 12 item 6: the last check before the rename can stop the write; nothing is left.
TEST(AtomicFile, a_reason_given_before_the_rename_stops_the_write) {
  TempDir dir;
  const std::string p = dir.write("f", "theirs\n");
  util::AtomicWriteOptions o;
  bool asked = false;
  o.before_rename = [&]() -> std::optional<std::string> {
    asked = true;
    return std::string("its content changed");
  };
  auto r = util::write_file_atomic(p, "ours\n", o);
  ASSERT_FALSE(r);
  EXPECT_TRUE(asked);
  EXPECT_EQ(r.error().message, "its content changed");
  EXPECT_EQ(slurp(p), "theirs\n");
  EXPECT_EQ(util::remove_stale_temps(p), 0); // the temporary file is gone
  o.before_rename = [] { return std::optional<std::string>(); };
  ASSERT_TRUE(util::write_file_atomic(p, "ours\n", o));
  EXPECT_EQ(slurp(p), "ours\n");
}

// What setup compares before its backup and again before its rename.
TEST(SystemFile, a_change_between_two_reads_is_described) {
  TempDir dir;
  const std::string p = dir.write("daemon.json", "{}\n");
  const auto first = host::read_system_file(p).value();
  EXPECT_EQ(host::describe_change(first, host::read_system_file(p).value()), "");
  // Same content, written again: the modification time tells.
  struct timespec times[2] = {{0, UTIME_OMIT}, {first.mtime_ns / 1000000000 + 5, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0);
  EXPECT_EQ(host::describe_change(first, host::read_system_file(p).value()),
            "it was written to (its modification time changed)");
  dir.write("daemon.json", "{\"debug\": true}\n");
  EXPECT_EQ(host::describe_change(first, host::read_system_file(p).value()), "its content changed");
  ::unlink(p.c_str());
  EXPECT_EQ(host::describe_change(first, host::read_system_file(p).value()), "it was removed");
  EXPECT_EQ(host::describe_change(host::read_system_file(p).value(), first), "it was created");
}

TEST(AtomicFile, writes_content_with_the_mode_asked) {
  TempDir dir;
  const std::string p = dir.path() + "/f";
  util::AtomicWriteOptions o;
  o.mode = 0600;
  ASSERT_TRUE(util::write_file_atomic(p, "hello", o));
  EXPECT_EQ(slurp(p), "hello");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  EXPECT_EQ(fs::directory_iterator(dir.path())->path().filename(), "f"); // no temp left
}

TEST(AtomicFile, a_failed_rename_leaves_the_target_and_no_temp) {
  TempDir dir;
  const std::string p = dir.path() + "/d";
  fs::create_directories(p + "/inner"); // rename over a non-empty directory fails
  auto r = util::write_file_atomic(p, "x");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot rename"), std::string::npos) << r.error().message;
  EXPECT_EQ(util::remove_stale_temps(p), 0);
}

TEST(AtomicFile, sigkill_between_temp_and_rename_leaves_old_content) {
  TempDir dir;
  const std::string p = dir.write("daemon.json", "{\"old\": true}\n");
  for (const char* stage : {"after-temp-write", "after-rename"}) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      util::AtomicWriteOptions o;
      o.hook = [stage](std::string_view s) {
        if (s == stage) {
          ::raise(SIGKILL);
        }
      };
      (void)util::write_file_atomic(p, "{\"new\": true}\n", o);
      ::_exit(0);
    }
    int ws = 0;
    ::waitpid(child, &ws, 0);
    ASSERT_TRUE(WIFSIGNALED(ws));
    const std::string now = slurp(p);
    EXPECT_TRUE(now == "{\"old\": true}\n" || now == "{\"new\": true}\n") << stage << ": " << now;
  }
  EXPECT_EQ(slurp(p), "{\"new\": true}\n");  // the second crash came after the rename
  EXPECT_EQ(util::remove_stale_temps(p), 1); // the first crash left its temp file
}

TEST(Backups, keep_mode_and_prune_to_the_newest) {
  TempDir dir;
  const std::string p = dir.write("daemon.json", "{}", 0640);
  auto st = host::read_system_file(p);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->mode, 0640U);
  const auto t0 = std::chrono::system_clock::from_time_t(1700000000);
  std::vector<std::string> made;
  for (int i = 0; i < 7; ++i) {
    auto b = host::make_backup(p, *st, t0 + std::chrono::seconds(i / 2));
    ASSERT_TRUE(b);
    made.push_back(*b);
  }
  EXPECT_EQ(made[0], p + ".furnace-backup-20231114T221320Z");
  EXPECT_EQ(made[1], p + ".furnace-backup-20231114T221320Z.1");
  struct stat sb {};
  ASSERT_EQ(::stat(made[0].c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0640U);
  EXPECT_EQ(host::list_backups(p), made);
  host::prune_backups(p, 3);
  EXPECT_EQ(host::list_backups(p), (std::vector<std::string>{made[4], made[5], made[6]}));
}

TEST(SystemFile, a_directory_is_refused_and_a_missing_file_is_empty) {
  TempDir dir;
  fs::create_directories(dir.path() + "/etc/docker/daemon.json");
  auto r = host::read_system_file(dir.path() + "/etc/docker/daemon.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, dir.path() + "/etc/docker/daemon.json is a directory, not a file");
  auto missing = host::read_system_file(dir.path() + "/nope.json");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->exists);
}

TEST(SystemFile, symlinks_resolve_under_the_root) {
  TempDir dir;
  const host::Paths paths(dir.path());
  dir.write("srv/conf/daemon.json", "{}");
  fs::create_directories(dir.path() + "/etc/docker");
  fs::create_symlink("/srv/conf/daemon.json", dir.path() + "/etc/docker/daemon.json");
  auto t = host::resolve_target(paths, paths.host("/etc/docker/daemon.json"));
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, dir.path() + "/srv/conf/daemon.json");
  fs::create_symlink("loop", dir.path() + "/loop");
  EXPECT_FALSE(host::resolve_target(paths, dir.path() + "/loop"));
  EXPECT_EQ(host::Paths("/").host("/etc/x"), "/etc/x");
  EXPECT_EQ(host::Paths("/tmp/r/").host("/etc/x"), "/tmp/r/etc/x");
}

TEST(FileLock, a_second_holder_waits_and_times_out) {
  TempDir dir;
  const std::string p = dir.path() + "/setup.lock";
  auto first = host::FileLock::acquire(p, {}, std::chrono::seconds(1));
  ASSERT_TRUE(first);
  // flock locks belong to the open file description: a second open conflicts even in-process.
  std::string holder;
  auto second = host::FileLock::acquire(
      p, [&](const std::string& h) { holder = h; }, std::chrono::seconds(1));
  ASSERT_FALSE(second);
  EXPECT_EQ(holder, std::to_string(::getpid()));
  EXPECT_NE(second.error().message.find("still holds"), std::string::npos);
}

} // namespace
} // namespace furnace
