#include "support/test_env.hpp"

#include <furnace/gpu/gpu_lock.hpp>
#include <furnace/util/atomic_file.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <set>

namespace furnace::gpu {
namespace {

using testing::TempDir;

constexpr std::int64_t k_since = 1700000000000;

core::Env lock_env(const TempDir& dir) {
  return {{"FURNACE_LOCK_DIR", dir.path() + "/locks"}};
}

GpuInfo gpus(unsigned n) {
  GpuInfo info;
  for (unsigned i = 0; i < n; ++i) {
    Gpu g;
    g.index = i;
    g.name = "NVIDIA H200";
    g.uuid = "GPU-000" + std::to_string(i);
    info.gpus.push_back(g);
  }
  return info;
}

LockOwner owner(int pid, const std::string& run, const std::string& user = "alice") {
  return LockOwner{1000, user, pid, run, k_since};
}

GpuLocks::Chooser chooser(const std::string& text, const GpuInfo& info) {
  auto request = parse_gpu_request(text);
  EXPECT_TRUE(request) << text;
  return [r = request ? *request : GpuRequest{}, info](const std::vector<Claim>& claims) {
    return choose(r, info, "alice", claims);
  };
}

bool everyone_alive(const LockOwner& /*owner*/) {
  return true;
}

std::string read(const std::string& path) {
  auto text = util::read_file(path);
  return text ? *text : "<" + text.error().message + ">";
}

unsigned mode_of(const std::string& path) {
  struct stat sb {};
  EXPECT_EQ(::stat(path.c_str(), &sb), 0) << path;
  return sb.st_mode & 07777U;
}

std::string
owner_line(int pid, const std::string& run, unsigned index, const std::string& user = "alice") {
  constexpr const char* k_line =
      R"({{"uid":1000,"user":"{}","pid":{},"run":"{}","since_ms":1700000000000,"index":{}}})";
  return fmt::format(k_line, user, pid, run, index) + "\n";
}

TEST(GpuLocks, acquire_writes_the_owner_and_release_frees_the_gpu) {
  TempDir dir;
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive);
  ASSERT_TRUE(locks) << locks.error().message;
  EXPECT_EQ(locks->dir(), dir.path() + "/locks");
  const GpuInfo info = gpus(2);

  auto a = locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", info));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->indices, std::vector<unsigned>{0});
  EXPECT_EQ(a->uuids, std::vector<std::string>{"GPU-0000"});
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0000.lock"), owner_line(101, "furnace-a-1", 0));

  auto b = locks->acquire(owner(102, "furnace-b-1"), chooser("auto:1", info));
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->indices, std::vector<unsigned>{1});

  auto held = locks->claims();
  ASSERT_TRUE(held) << held.error().message;
  ASSERT_EQ(held->size(), 2U);
  EXPECT_EQ((*held)[0].index, 0U);
  EXPECT_EQ((*held)[0].uuid, "GPU-0000");
  EXPECT_EQ((*held)[0].owner_user, "alice");
  EXPECT_EQ((*held)[0].run_name, "furnace-a-1");
  EXPECT_EQ((*held)[0].since_ms, k_since);

  ASSERT_TRUE(locks->release(owner(101, "furnace-a-1"), a->uuids));
  ASSERT_TRUE(locks->release(owner(101, "furnace-a-1"), a->uuids)); // idempotent
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0000.lock"), "");
  auto after = locks->claims();
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 1U);
  EXPECT_EQ((*after)[0].run_name, "furnace-b-1");

  auto c = locks->acquire(owner(103, "furnace-c-1"), chooser("auto:1", info));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->indices, std::vector<unsigned>{0});
}

TEST(GpuLocks, acquiring_again_does_not_claim_twice) {
  TempDir dir;
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive);
  ASSERT_TRUE(locks);
  ASSERT_TRUE(locks->acquire(owner(101, "furnace-a-1"), chooser("0", gpus(1))));
  auto again = locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", gpus(1)));
  ASSERT_TRUE(again) << again.error().message; // its own lock does not count against it
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0000.lock"), owner_line(101, "furnace-a-1", 0));
}

TEST(GpuLocks, all_and_lists_take_locks_that_auto_avoids) {
  TempDir dir;
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive);
  ASSERT_TRUE(locks);
  const GpuInfo info = gpus(2);
  ASSERT_TRUE(locks->acquire(owner(101, "furnace-a-1"), chooser("1", info)));
  auto a = locks->acquire(owner(102, "furnace-b-1"), chooser("auto:1", info));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->indices, std::vector<unsigned>{0});

  // `all` shares GPUs another run holds: both owners stay in the lock.
  auto all = locks->acquire(owner(103, "furnace-c-1"), chooser("all", info));
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->indices, (std::vector<unsigned>{0, 1}));
  EXPECT_EQ(all->notes.size(), 2U);
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0001.lock"),
            owner_line(101, "furnace-a-1", 1) + owner_line(103, "furnace-c-1", 1));
  ASSERT_TRUE(locks->release(owner(101, "furnace-a-1"), {"GPU-0001"}));
  auto d = locks->acquire(owner(104, "furnace-d-1"), chooser("auto:1", info));
  ASSERT_FALSE(d); // GPU 1 is still held by furnace-c-1
  EXPECT_EQ(d.error().kind, core::ErrorKind::unavailable);
}

TEST(GpuLocks, a_stale_owner_is_cleared_and_noted) {
  TempDir dir;
  auto locks = GpuLocks::open(lock_env(dir), [](const LockOwner& o) { return o.pid != 4242; });
  ASSERT_TRUE(locks);
  const GpuInfo info = gpus(1);
  ASSERT_TRUE(locks->acquire(owner(4242, "furnace-dead-1", "bob"), chooser("auto:1", info)));

  auto s = locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", info));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, std::vector<unsigned>{0});
  EXPECT_EQ(s->notes,
            std::vector<std::string>{"GPU 0: cleared a stale lock (run furnace-dead-1 of bob, pid "
                                     "4242, since " +
                                     clock_time(k_since) + ")"});
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0000.lock"), owner_line(101, "furnace-a-1", 0));
}

TEST(GpuLocks, unreadable_lines_are_cleared) {
  TempDir dir;
  dir.write("locks/gpu-GPU-0000.lock", R"({"uid":1000,"us)", 0666);
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive);
  ASSERT_TRUE(locks);
  auto s = locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", gpus(1)));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->notes, std::vector<std::string>{"gpu-GPU-0000.lock: cleared 1 unreadable line(s)"});
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0000.lock"), owner_line(101, "furnace-a-1", 0));
}

TEST(GpuLocks, release_never_frees_another_owners_lock) {
  TempDir dir;
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive);
  ASSERT_TRUE(locks);
  const GpuInfo info = gpus(2);
  ASSERT_TRUE(locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", info)));
  ASSERT_TRUE(locks->acquire(owner(102, "furnace-b-1"), chooser("auto:1", info)));

  const std::vector<std::string> both{"GPU-0000", "GPU-0001"};
  ASSERT_TRUE(locks->release(owner(101, "furnace-a-1"), both));
  ASSERT_TRUE(locks->release(owner(999, "furnace-b-1"), both)); // same run, another pid
  ASSERT_TRUE(locks->release(owner(102, "furnace-x-1"), both)); // same pid, another run
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0000.lock"), "");
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0001.lock"), owner_line(102, "furnace-b-1", 1));
}

TEST(GpuLocks, transfer_relabels_only_the_named_owner) {
  TempDir dir;
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive);
  ASSERT_TRUE(locks);
  const GpuInfo info = gpus(2);
  ASSERT_TRUE(locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", info)));
  ASSERT_TRUE(locks->acquire(owner(102, "furnace-b-1"), chooser("auto:1", info)));

  const std::vector<std::string> both{"GPU-0000", "GPU-0001"};
  ASSERT_TRUE(locks->transfer(owner(101, "furnace-a-1"), owner(201, "furnace-a-1"), both));
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0000.lock"), owner_line(201, "furnace-a-1", 0));
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0001.lock"), owner_line(102, "furnace-b-1", 1));

  ASSERT_TRUE(locks->release(owner(101, "furnace-a-1"), both)); // the old label frees nothing
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0000.lock"), owner_line(201, "furnace-a-1", 0));
}

TEST(GpuLocks, a_gpu_without_uuid_is_locked_by_index) {
  TempDir dir;
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive);
  ASSERT_TRUE(locks);
  GpuInfo info = gpus(2);
  info.gpus[0].uuid.clear();
  info.gpus[1].uuid.clear();
  auto s = locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", info));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(read(locks->dir() + "/gpu-index-0.lock"), owner_line(101, "furnace-a-1", 0));
  auto t = locks->acquire(owner(102, "furnace-b-1"), chooser("auto:1", info));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->indices, std::vector<unsigned>{1});

  ASSERT_TRUE(locks->release(owner(101, "furnace-a-1"), s->uuids)); // {""}: every index lock
  EXPECT_EQ(read(locks->dir() + "/gpu-index-0.lock"), "");
  EXPECT_EQ(read(locks->dir() + "/gpu-index-1.lock"), owner_line(102, "furnace-b-1", 1));
}

TEST(GpuLocks, odd_uuid_characters_are_escaped_in_the_file_name) {
  EXPECT_EQ(lock_file_name(3, ""), "gpu-index-3.lock");
  EXPECT_EQ(lock_file_name(0, "GPU-ab12"), "gpu-GPU-ab12.lock");
  EXPECT_EQ(lock_file_name(0, "MIG-GPU-ab/1/0"), "gpu-MIG-GPU-ab%2F1%2F0.lock");

  TempDir dir;
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive);
  ASSERT_TRUE(locks);
  GpuInfo info = gpus(1);
  info.gpus[0].uuid = "MIG-GPU-ab/1/0";
  ASSERT_TRUE(locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", info)));
  auto held = locks->claims();
  ASSERT_TRUE(held);
  ASSERT_EQ(held->size(), 1U);
  EXPECT_EQ((*held)[0].uuid, "MIG-GPU-ab/1/0");
}

TEST(GpuLocks, files_are_shared_whatever_the_umask) {
  TempDir dir;
  const mode_t old = ::umask(077);
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive);
  const bool acquired =
      locks && locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", gpus(1))).has_value();
  ::umask(old);
  ASSERT_TRUE(locks) << locks.error().message;
  ASSERT_TRUE(acquired);
  EXPECT_EQ(mode_of(locks->dir()), 01777U);
  EXPECT_EQ(mode_of(locks->dir() + "/gpu-GPU-0000.lock"), 0666U);
  EXPECT_EQ(mode_of(locks->dir() + "/.mutex"), 0666U);
}

TEST(GpuLocks, another_user_frees_a_stale_lock_and_takes_the_gpu) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to act as a second user";
  }
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive);
  ASSERT_TRUE(locks);
  ASSERT_TRUE(locks->acquire(owner(4242, "furnace-root-1", "root"), chooser("auto:1", gpus(1))));
  ::fflush(nullptr);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
      ::_exit(3);
    }
    auto theirs = GpuLocks::open(lock_env(dir), [](const LockOwner& o) { return o.pid != 4242; });
    auto s = theirs ? theirs->acquire(owner(101, "furnace-nobody-1", "nobody"),
                                      chooser("auto:1", gpus(1)))
                    : core::Result<Selection>(core::fail(theirs.error()));
    if (!s) {
      std::fprintf(stderr, "%s\n", s.error().message.c_str());
    }
    ::_exit(s ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the second user failed";
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0000.lock"),
            owner_line(101, "furnace-nobody-1", 0, "nobody"));
}

TEST(GpuLocks, an_existing_directory_keeps_its_mode) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir.path() + "/locks").c_str(), 0755), 0);
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive);
  ASSERT_TRUE(locks);
  EXPECT_EQ(mode_of(locks->dir()), 0755U);
}

TEST(GpuLocks, the_default_directory_is_made_under_run) {
  TempDir root;
  auto locks = GpuLocks::open({}, everyone_alive, root.path());
  ASSERT_TRUE(locks) << locks.error().message;
  EXPECT_EQ(locks->dir(), root.path() + "/run/furnace/gpu");
  EXPECT_EQ(mode_of(locks->dir()), 01777U);
}

TEST(GpuLocks, an_existing_tmp_directory_wins_over_making_one_under_run) {
  TempDir root;
  ASSERT_EQ(::mkdir((root.path() + "/tmp").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root.path() + "/tmp/furnace-gpu-locks").c_str(), 0755), 0);
  auto locks = GpuLocks::open({}, everyone_alive, root.path());
  ASSERT_TRUE(locks) << locks.error().message;
  EXPECT_EQ(locks->dir(), root.path() + "/tmp/furnace-gpu-locks");
}

TEST(GpuLocks, without_run_the_directory_is_made_under_tmp) {
  TempDir root;
  root.write("run", "not a directory");
  auto locks = GpuLocks::open({}, everyone_alive, root.path());
  ASSERT_TRUE(locks) << locks.error().message;
  EXPECT_EQ(locks->dir(), root.path() + "/tmp/furnace-gpu-locks");
  EXPECT_EQ(mode_of(locks->dir()), 01777U);
}

TEST(GpuLocks, a_directory_it_cannot_make_is_named_with_a_fix) {
  TempDir root;
  const std::string file = root.write("file", "x");
  auto locks = GpuLocks::open({{"FURNACE_LOCK_DIR", file + "/locks"}}, everyone_alive);
  ASSERT_FALSE(locks);
  EXPECT_EQ(locks.error().kind, core::ErrorKind::io);
  EXPECT_EQ(locks.error().message,
            "cannot create the GPU lock directory " + file + "/locks: Not a directory");
  EXPECT_EQ(locks.error().hint,
            "set FURNACE_LOCK_DIR to a directory every user can write, or create " + file +
                "/locks with mode 1777");
}

TEST(GpuLocks, a_held_mutex_times_out_naming_the_file) {
  TempDir dir;
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive);
  ASSERT_TRUE(locks);
  const std::string mutex = locks->dir() + "/.mutex";
  const int fd = ::open(mutex.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  locks->set_wait_limit(std::chrono::milliseconds(50));
  auto s = locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", gpus(1)));
  ::close(fd);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, core::ErrorKind::timeout);
  EXPECT_EQ(s.error().message, "another process has held " + mutex + " for over 50 ms");
  EXPECT_EQ(s.error().hint,
            "which process holds it is unknown: look for a stuck furnace ('fuser " + mutex +
                "') and check the locks in " + locks->dir());
}

TEST(GpuLocks, pid_alive_knows_this_process_and_not_a_reaped_child) {
  EXPECT_TRUE(pid_alive(::getpid()));
  EXPECT_FALSE(pid_alive(0));
  EXPECT_FALSE(pid_alive(-1));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::_exit(0);
  }
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(pid_alive(child));
}

void wait_for_eof(int fd) {
  char c = 0;
  while (::read(fd, &c, 1) > 0) {
  }
}

// Forks `n` processes that wait at one barrier, then each acquire `text` on `info` at the same
// instant and report the GPU they got (or the error). They hold their locks (alive: their pid)
// until every answer is in. Returns the answers.
std::vector<std::string>
race(const core::Env& env, unsigned n, const std::string& text, const GpuInfo& info) {
  std::array<int, 2> start{};
  std::array<int, 2> hold{};
  EXPECT_EQ(::pipe(start.data()), 0);
  EXPECT_EQ(::pipe(hold.data()), 0);
  std::vector<pid_t> children;
  std::vector<int> answers;
  ::fflush(nullptr);
  for (unsigned i = 0; i < n; ++i) {
    std::array<int, 2> answer{};
    EXPECT_EQ(::pipe(answer.data()), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(start[1]);
      ::close(hold[1]);
      ::close(answer[0]);
      wait_for_eof(start[0]); // the parent let everyone go
      std::string out;
      auto locks = GpuLocks::open(env, [](const LockOwner& o) { return pid_alive(o.pid); });
      if (!locks) {
        out = "error: " + locks.error().message;
      } else {
        auto s = locks->acquire(owner(::getpid(), "run-" + std::to_string(i)), chooser(text, info));
        out = s ? std::to_string(s->indices.at(0)) : "error: " + s.error().message;
      }
      if (::write(answer[1], out.data(), out.size()) < 0) {
        ::_exit(2);
      }
      ::close(answer[1]);
      wait_for_eof(hold[0]);
      ::_exit(0);
    }
    EXPECT_GT(pid, 0);
    ::close(answer[1]);
    children.push_back(pid);
    answers.push_back(answer[0]);
  }
  ::close(start[0]);
  ::close(hold[0]);
  ::close(start[1]); // go
  std::vector<std::string> out;
  for (int fd : answers) {
    std::string a;
    std::array<char, 512> buf{};
    ssize_t got = 0;
    while ((got = ::read(fd, buf.data(), buf.size())) > 0) {
      a.append(buf.data(), static_cast<std::size_t>(got));
    }
    ::close(fd);
    out.push_back(a);
  }
  ::close(hold[1]);
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  return out;
}

void expect_distinct_gpus(const std::vector<std::string>& answers, unsigned gpus) {
  std::set<std::string> got(answers.begin(), answers.end());
  EXPECT_EQ(got.size(), answers.size()) << "two runs got the same GPU";
  for (const std::string& a : answers) {
    EXPECT_TRUE(a.size() == 1 && a[0] >= '0' && a[0] < static_cast<char>('0' + gpus)) << a;
  }
}

TEST(GpuLocks, two_runs_started_at_once_get_different_gpus) {
  TempDir dir;
  expect_distinct_gpus(race(lock_env(dir), 2, "auto:1", gpus(2)), 2);
}

TEST(GpuLocks, eight_runs_started_at_once_get_different_gpus) {
  TempDir dir;
  expect_distinct_gpus(race(lock_env(dir), 8, "auto:1", gpus(8)), 8);
}

TEST(GpuLocks, a_third_run_on_two_gpus_finds_none_free) {
  TempDir dir;
  std::vector<std::string> answers = race(lock_env(dir), 3, "auto:1", gpus(2));
  const auto failed = std::partition(answers.begin(), answers.end(), [](const std::string& a) {
    return a.rfind("error: ", 0) != 0;
  });
  ASSERT_EQ(answers.end() - failed, 1) << "expected one run to fail";
  EXPECT_EQ(failed->rfind("error: --gpus 'auto:1': not enough free GPUs (0 of 2 free, 1 wanted)\n"
                          "  GPU 0 (NVIDIA H200): locked by your run run-",
                          0),
            0U)
      << *failed;
  answers.erase(failed, answers.end());
  expect_distinct_gpus(answers, 2);
}

} // namespace
} // namespace furnace::gpu
