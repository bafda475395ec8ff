#include "support/test_env.hpp"

#include <furnace/gpu/gpu_lock.hpp>
#include <furnace/util/atomic_file.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <functional>
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

// Every pid counts as alive (the flock rule still applies: a line no process holds the file for
// is stale).
Liveness everyone_alive() {
  Liveness l;
  l.process = [](int /*pid*/) { return true; };
  return l;
}

// Alive except `dead`.
Liveness all_but(int dead) {
  Liveness l;
  l.process = [dead](int pid) { return pid != dead; };
  return l;
}

// The mode furnace gives a lock directory it makes as root, and the files in it.
unsigned made_dir_mode() {
  return ::geteuid() == 0 && lock_group() ? 03770U : 0700U;
}
unsigned made_file_mode() {
  return ::geteuid() == 0 && lock_group() ? 0660U : 0600U;
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
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
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
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
  ASSERT_TRUE(locks);
  ASSERT_TRUE(locks->acquire(owner(101, "furnace-a-1"), chooser("0", gpus(1))));
  auto again = locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", gpus(1)));
  ASSERT_TRUE(again) << again.error().message; // its own lock does not count against it
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0000.lock"), owner_line(101, "furnace-a-1", 0));
}

TEST(GpuLocks, all_and_lists_take_locks_that_auto_avoids) {
  TempDir dir;
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
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
  auto locks = GpuLocks::open(lock_env(dir), all_but(4242));
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
  dir.write("locks/gpu-GPU-0000.lock", R"({"uid":1000,"us)", 0600);
  ASSERT_EQ(::chmod((dir.path() + "/locks").c_str(), 0700), 0);
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
  ASSERT_TRUE(locks);
  auto s = locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", gpus(1)));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->notes, std::vector<std::string>{"gpu-GPU-0000.lock: cleared 1 unreadable line(s)"});
  EXPECT_EQ(read(locks->dir() + "/gpu-GPU-0000.lock"), owner_line(101, "furnace-a-1", 0));
}

TEST(GpuLocks, release_never_frees_another_owners_lock) {
  TempDir dir;
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
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
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
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
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
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
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
  ASSERT_TRUE(locks);
  GpuInfo info = gpus(1);
  info.gpus[0].uuid = "MIG-GPU-ab/1/0";
  ASSERT_TRUE(locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", info)));
  auto held = locks->claims();
  ASSERT_TRUE(held);
  ASSERT_EQ(held->size(), 1U);
  EXPECT_EQ((*held)[0].uuid, "MIG-GPU-ab/1/0");
}

constexpr uid_t k_nobody = 65534;
constexpr gid_t k_nogroup = 65534;

// Runs `body` in a child process as user nobody (supplementary groups: `groups`) and returns
// what it returned, or "<child failed: …>".
std::string as_nobody(const std::function<std::string()>& body, const std::vector<gid_t>& groups) {
  std::array<int, 2> out{};
  EXPECT_EQ(::pipe(out.data()), 0);
  ::fflush(nullptr);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(out[0]);
    if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(k_nogroup) != 0 ||
        ::setuid(k_nobody) != 0) {
      ::_exit(3);
    }
    const std::string text = body();
    if (::write(out[1], text.data(), text.size()) < 0) {
      ::_exit(2);
    }
    ::_exit(0);
  }
  ::close(out[1]);
  std::string text;
  std::array<char, 512> buf{};
  ssize_t got = 0;
  while ((got = ::read(out[0], buf.data(), buf.size())) > 0) {
    text.append(buf.data(), static_cast<std::size_t>(got));
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return "<child failed: " + std::to_string(status) + ">";
  }
  return text;
}

#define REQUIRE_ROOT()                                                                             \
  if (::geteuid() != 0) {                                                                          \
    GTEST_SKIP() << "needs root to act as a second user (the tests run as root in CI)";            \
  }

TEST(GpuLocks, files_are_private_to_the_directory_whatever_the_umask) {
  TempDir dir;
  const mode_t old = ::umask(077);
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
  const bool acquired =
      locks && locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", gpus(1))).has_value();
  ::umask(old);
  ASSERT_TRUE(locks) << locks.error().message;
  ASSERT_TRUE(acquired);
  EXPECT_EQ(mode_of(locks->dir()), made_dir_mode());
  EXPECT_EQ(mode_of(locks->dir() + "/gpu-GPU-0000.lock"), made_file_mode());
  EXPECT_EQ(mode_of(locks->dir() + "/.mutex"), made_file_mode());
}

TEST(GpuLocks, a_member_of_the_directorys_group_frees_a_stale_lock_and_takes_the_gpu) {
  REQUIRE_ROOT();
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  const std::string d = dir.path() + "/locks";
  ASSERT_TRUE(make_lock_dir(d, k_nogroup)); // as `furnace setup` makes /run/furnace/gpu
  EXPECT_EQ(mode_of(d), 03770U);
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
  ASSERT_TRUE(locks) << locks.error().message;
  ASSERT_TRUE(locks->acquire(owner(4242, "furnace-root-1", "root"), chooser("auto:1", gpus(1))));
  EXPECT_EQ(mode_of(d + "/gpu-GPU-0000.lock"), 0660U);
  const auto take = [&] {
    auto theirs = GpuLocks::open(lock_env(dir), all_but(4242));
    if (!theirs) {
      return theirs.error().message;
    }
    auto s = theirs->acquire(owner(101, "furnace-nobody-1", "nobody"), chooser("auto:1", gpus(1)));
    return s ? std::string("ok") : s.error().message;
  };
  EXPECT_EQ(as_nobody(take, {k_nogroup}), "ok");
  EXPECT_EQ(read(d + "/gpu-GPU-0000.lock"), owner_line(101, "furnace-nobody-1", 0, "nobody"));
}

TEST(GpuLocks, a_user_outside_the_directorys_group_cannot_touch_the_locks) {
  REQUIRE_ROOT();
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  const std::string d = dir.path() + "/locks";
  ASSERT_TRUE(make_lock_dir(d, 0)); // root:root 3770
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
  ASSERT_TRUE(locks);
  ASSERT_TRUE(locks->acquire(owner(4242, "furnace-root-1", "root"), chooser("auto:1", gpus(1))));
  const auto take = [&] {
    auto theirs = GpuLocks::open(lock_env(dir), all_but(4242));
    if (!theirs) {
      return theirs.error().message;
    }
    auto s = theirs->acquire(owner(101, "furnace-nobody-1", "nobody"), chooser("auto:1", gpus(1)));
    return s ? std::string("ok") : s.error().message;
  };
  EXPECT_EQ(as_nobody(take, {}), "cannot open " + d + "/.mutex: Permission denied");
  EXPECT_EQ(read(d + "/gpu-GPU-0000.lock"), owner_line(4242, "furnace-root-1", 0, "root"));
}

TEST(GpuLocks, a_directory_owned_by_another_user_is_refused) {
  REQUIRE_ROOT();
  TempDir dir;
  const std::string d = dir.path() + "/locks";
  ASSERT_EQ(::mkdir(d.c_str(), 0700), 0);
  ASSERT_EQ(::chown(d.c_str(), k_nobody, k_nogroup), 0);
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
  ASSERT_FALSE(locks);
  EXPECT_EQ(locks.error().kind, core::ErrorKind::permission);
  EXPECT_EQ(locks.error().message,
            "refusing the GPU lock directory " + d +
                " (owner nobody, group nogroup, mode 0700): it belongs to nobody, not to root or "
                "you: its owner could forge or remove locks");
  EXPECT_EQ(locks.error().hint,
            "remove it ('sudo rm -r " + d +
                "') when no furnace run is active; 'sudo furnace setup' makes /run/furnace/gpu "
                "for every user, or set FURNACE_LOCK_DIR to a directory of your own");
}

TEST(GpuLocks, a_directory_every_user_may_write_is_refused) {
  TempDir dir;
  const std::string d = dir.path() + "/locks";
  ASSERT_EQ(::mkdir(d.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(d.c_str(), 01777), 0);
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
  ASSERT_FALSE(locks);
  EXPECT_EQ(locks.error().kind, core::ErrorKind::permission);
  EXPECT_NE(locks.error().message.find("refusing the GPU lock directory " + d), std::string::npos)
      << locks.error().message;
  EXPECT_NE(locks.error().message.find("mode 1777): every user may enter it"), std::string::npos)
      << locks.error().message;
  EXPECT_EQ(mode_of(d), 01777U); // not "fixed" behind the admin's back
}

TEST(GpuLocks, a_symbolic_link_as_the_directory_is_refused) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir.path() + "/elsewhere").c_str(), 0700), 0);
  ASSERT_EQ(::symlink("elsewhere", (dir.path() + "/locks").c_str()), 0);
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
  ASSERT_FALSE(locks);
  EXPECT_NE(locks.error().message.find("it is a symbolic link"), std::string::npos)
      << locks.error().message;
}

// A lock directory of ours with `name` in it made by `make`; acquire must refuse it and leave
// `victim` (content and mode) alone.
void expect_refused_lock_file(const std::function<void(const std::string& lock)>& make,
                              const std::string& why) {
  TempDir dir;
  const std::string d = dir.path() + "/locks";
  ASSERT_EQ(::mkdir(d.c_str(), 0700), 0);
  const std::string victim = dir.write("victim", "precious\n", 0644);
  const std::string lock = d + "/gpu-GPU-0000.lock";
  make(lock);
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
  ASSERT_TRUE(locks) << locks.error().message;
  auto s = locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", gpus(1)));
  ASSERT_FALSE(s) << "a lock file that " << why << " was used";
  EXPECT_EQ(s.error().kind, core::ErrorKind::permission);
  EXPECT_NE(s.error().message.find("refusing the GPU lock file " + lock), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find(why), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().hint,
            "remove it ('sudo rm " + lock + "') when no furnace run is active" +
                (why == "it is a symbolic link" ? "" : ": furnace makes a new one"));
  EXPECT_EQ(read(victim), "precious\n");
  EXPECT_EQ(mode_of(victim), 0644U);
}

TEST(GpuLocks, a_hard_linked_lock_file_is_refused_and_its_other_name_untouched) {
  expect_refused_lock_file(
      [](const std::string& lock) {
        const std::string victim =
            std::filesystem::path(lock).parent_path().parent_path().string() + "/victim";
        ASSERT_EQ(::link(victim.c_str(), lock.c_str()), 0);
      },
      "it has another name (a hard link)");
}

TEST(GpuLocks, a_symbolic_link_as_a_lock_file_is_refused) {
  expect_refused_lock_file(
      [](const std::string& lock) { ASSERT_EQ(::symlink("../victim", lock.c_str()), 0); },
      "it is a symbolic link");
}

TEST(GpuLocks, a_lock_file_every_user_may_write_is_refused) {
  expect_refused_lock_file(
      [](const std::string& lock) {
        const int fd = ::open(lock.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::fchmod(fd, 0666), 0);
        ::close(fd);
      },
      "every user may write it");
}

TEST(GpuLocks, a_lock_file_of_another_user_is_refused) {
  REQUIRE_ROOT();
  expect_refused_lock_file(
      [](const std::string& lock) {
        const int fd = ::open(lock.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::fchown(fd, k_nobody, k_nogroup), 0);
        ::close(fd);
      },
      "it belongs to nobody, who is neither root, you, nor in the directory's group");
}

TEST(GpuLocks, a_lock_file_it_did_not_make_keeps_its_mode) {
  TempDir dir;
  const std::string d = dir.path() + "/locks";
  ASSERT_EQ(::mkdir(d.c_str(), 0700), 0);
  dir.write("locks/gpu-GPU-0000.lock", "", 0640);
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
  ASSERT_TRUE(locks);
  ASSERT_TRUE(locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", gpus(1))));
  EXPECT_EQ(mode_of(d + "/gpu-GPU-0000.lock"), 0640U);
  EXPECT_EQ(read(d + "/gpu-GPU-0000.lock"), owner_line(101, "furnace-a-1", 0));
}

TEST(GpuLocks, a_forged_lock_naming_pid_1_is_stale_without_a_holder) {
  TempDir dir;
  const std::string d = dir.path() + "/locks";
  ASSERT_EQ(::mkdir(d.c_str(), 0700), 0);
  dir.write("locks/gpu-GPU-0000.lock", owner_line(1, "furnace-forged-1", 0, "mallory"), 0600);
  auto locks = GpuLocks::open(lock_env(dir), Liveness{}); // pid 1 is alive: kill(1, 0) works
  ASSERT_TRUE(locks);
  auto s = locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", gpus(1)));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, std::vector<unsigned>{0});
  EXPECT_EQ(
      s->notes,
      std::vector<std::string>{"GPU 0: cleared a stale lock (run furnace-forged-1 of mallory, "
                               "pid 1, since " +
                               clock_time(k_since) + ")"});
  EXPECT_EQ(read(d + "/gpu-GPU-0000.lock"), owner_line(101, "furnace-a-1", 0));
}

TEST(GpuLocks, a_line_whose_container_runs_stays_without_a_holder) {
  TempDir dir;
  const std::string d = dir.path() + "/locks";
  ASSERT_EQ(::mkdir(d.c_str(), 0700), 0);
  // A foreground furnace killed with -9: its container goes on, nobody holds the file.
  dir.write("locks/gpu-GPU-0000.lock", owner_line(999999, "furnace-left-1", 0, "bob"), 0600);
  Liveness alive;
  alive.container = [](const std::string& run) { return run == "furnace-left-1"; };
  auto locks = GpuLocks::open(lock_env(dir), alive);
  ASSERT_TRUE(locks);
  auto s = locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", gpus(1)));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, core::ErrorKind::unavailable);
  EXPECT_NE(s.error().message.find("locked by bob's run furnace-left-1"), std::string::npos)
      << s.error().message;
}

TEST(GpuLocks, a_holder_killed_with_sigkill_leaves_a_stale_lock) {
  TempDir dir;
  std::array<int, 2> ready{};
  ASSERT_EQ(::pipe(ready.data()), 0);
  ::fflush(nullptr);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto locks = GpuLocks::open(lock_env(dir), Liveness{});
    const bool ok =
        locks && locks->acquire(owner(::getpid(), "furnace-k-1"), chooser("auto:1", gpus(1)));
    if (::write(ready[1], ok ? "y" : "n", 1) < 0) {
      ::_exit(2);
    }
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(c, 'y');
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive()); // even a reused pid
  ASSERT_TRUE(locks);
  auto busy = locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", gpus(1)));
  EXPECT_FALSE(busy) << "the live holder's GPU was given away";
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  auto s = locks->acquire(owner(101, "furnace-a-1"), chooser("auto:1", gpus(1)));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->notes.size(), 1U);
}

TEST(GpuLocks, an_existing_directory_keeps_its_mode) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir.path() + "/locks").c_str(), 0750), 0);
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
  ASSERT_TRUE(locks) << locks.error().message;
  EXPECT_EQ(mode_of(locks->dir()), 0750U);
}

TEST(GpuLocks, the_default_directory_is_made_under_run) {
  REQUIRE_ROOT();
  TempDir root;
  auto locks = GpuLocks::open({}, everyone_alive(), root.path());
  ASSERT_TRUE(locks) << locks.error().message;
  EXPECT_EQ(locks->dir(), root.path() + "/run/furnace/gpu");
  EXPECT_EQ(mode_of(locks->dir()), made_dir_mode());
  EXPECT_FALSE(locks->warning());
}

TEST(GpuLocks, an_existing_tmp_directory_is_never_used) {
  TempDir root;
  ASSERT_EQ(::mkdir((root.path() + "/tmp").c_str(), 01777), 0);
  ASSERT_EQ(::mkdir((root.path() + "/tmp/furnace-gpu-locks").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((root.path() + "/run").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root.path() + "/run/furnace").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root.path() + "/run/furnace/gpu").c_str(), 0700), 0);
  auto locks = GpuLocks::open({}, everyone_alive(), root.path());
  ASSERT_TRUE(locks) << locks.error().message;
  EXPECT_EQ(locks->dir(), root.path() + "/run/furnace/gpu");
}

TEST(GpuLocks, another_user_without_the_run_directory_gets_private_locks_and_a_warning) {
  REQUIRE_ROOT();
  TempDir root;
  ASSERT_EQ(::chmod(root.path().c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root.path() + "/home").c_str(), 0700), 0);
  ASSERT_EQ(::chown((root.path() + "/home").c_str(), k_nobody, k_nogroup), 0);
  const core::Env env{{"HOME", root.path() + "/home"}};
  const auto open = [&] {
    auto locks = GpuLocks::open(env, everyone_alive(), root.path());
    if (!locks) {
      return locks.error().message;
    }
    const bool got =
        locks->acquire(owner(101, "furnace-n-1"), chooser("auto:1", gpus(1))).has_value();
    return fmt::format("{}|{}|{}|{}",
                       locks->dir(),
                       got,
                       locks->warning() ? locks->warning()->message : "",
                       locks->warning() ? locks->warning()->hint : "");
  };
  const std::string mine = root.path() + "/home/.local/state/furnace/gpu-locks";
  EXPECT_EQ(as_nobody(open, {}),
            mine + "|true|" + root.path() + "/run/furnace/gpu does not exist: the GPU locks in " +
                mine +
                " are yours alone, and other users' furnace runs do not see them|'sudo furnace "
                "setup' makes /run/furnace/gpu for every user");
  EXPECT_EQ(mode_of(mine), 0700U);
}

TEST(GpuLocks, a_directory_it_cannot_make_is_named_with_a_fix) {
  TempDir root;
  const std::string file = root.write("file", "x");
  auto locks = GpuLocks::open({{"FURNACE_LOCK_DIR", file + "/locks"}}, everyone_alive());
  ASSERT_FALSE(locks);
  EXPECT_EQ(locks.error().kind, core::ErrorKind::io);
  EXPECT_EQ(locks.error().message,
            "cannot create the GPU lock directory " + file + "/locks: Not a directory");
  EXPECT_EQ(locks.error().hint,
            "'sudo furnace setup' makes /run/furnace/gpu for every user, or set FURNACE_LOCK_DIR "
            "to a directory of your own");
}

TEST(GpuLocks, a_held_mutex_times_out_naming_the_file) {
  TempDir dir;
  auto locks = GpuLocks::open(lock_env(dir), everyone_alive());
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
      auto locks = GpuLocks::open(env, Liveness{});
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
