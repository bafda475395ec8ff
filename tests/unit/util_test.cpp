#include "support/test_env.hpp"

#include <furnace/core/error.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/ownership.hpp>
#include <furnace/util/process.hpp>
#include <furnace/util/sha256.hpp>
#include <furnace/util/stream.hpp>
#include <furnace/util/strings.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace furnace {
namespace {

core::Result<int> half(int x) {
  if (x % 2 != 0) {
    return core::fail(core::ErrorKind::invalid, "odd", "use an even number");
  }
  return x / 2;
}

TEST(Expected, carries_a_value_or_an_error) {
  auto ok = half(4);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 2);
  auto bad = half(3);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "odd");
  EXPECT_EQ(bad.error().hint, "use an even number");
  EXPECT_EQ(bad.error().exit_code, 1);
  EXPECT_EQ(bad.value_or(7), 7);
}

TEST(Error, usage_errors_exit_with_two) {
  EXPECT_EQ(core::make_error(core::ErrorKind::usage, "x").exit_code, 2);
  auto e = core::make_error(core::ErrorKind::io, "permission denied");
  e.context("writing /etc/docker/daemon.json");
  EXPECT_EQ(e.message, "writing /etc/docker/daemon.json: permission denied");
}

TEST(Sha256, matches_the_fips_vectors) {
  EXPECT_EQ(util::sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(util::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(util::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  util::Sha256 h;
  const std::string million(1000000, 'a');
  h.update(million.substr(0, 333333));
  h.update(million.substr(333333));
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Strings, split_trim_and_sizes) {
  EXPECT_EQ(util::split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(util::trim("  x y \n"), "x y");
  EXPECT_EQ(util::human_bytes(512), "512 B");
  EXPECT_EQ(util::human_bytes(20ULL * 1024 * 1024 * 1024), "20.0 GiB");
}

TEST(ShellQuote, quotes_only_what_needs_it) {
  EXPECT_EQ(util::shell_quote("--gpus"), "--gpus");
  EXPECT_EQ(util::shell_quote(""), "''");
  EXPECT_EQ(util::shell_quote("a b"), "'a b'");
  EXPECT_EQ(util::shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(util::shell_join({"docker", "run", "-v", "/a b:/c"}), "docker run -v '/a b:/c'");
}

TEST(SystemRunner, reports_exit_codes_output_and_signals) {
  util::SystemRunner r;
  util::ProcessOptions o;
  auto a = r.run({"sh", "-c", "echo out; echo err >&2; exit 3"}, o);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status.code, 3);
  EXPECT_EQ(a->out, "out\n");
  EXPECT_EQ(a->err, "err\n");
  auto k = r.run({"sh", "-c", "kill -TERM $$"}, o);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->status.signal, 15);
  EXPECT_FALSE(k->status.ok());
}

TEST(SystemRunner, kills_a_command_that_runs_over_its_limit) {
  util::SystemRunner r;
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(200);
  const auto start = std::chrono::steady_clock::now();
  auto a = r.run({"sleep", "10"}, o);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->status.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(SystemRunner, says_when_a_program_is_missing) {
  util::SystemRunner r;
  auto a = r.run({"furnace-no-such-program"}, {});
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message, "cannot run furnace-no-such-program: not found in PATH");
}

TEST(SystemRunner, replaces_the_environment_when_asked) {
  util::SystemRunner r;
  util::ProcessOptions o;
  o.env = std::map<std::string, std::string>{{"PATH", "/usr/bin:/bin"}, {"ONLY", "this"}};
  auto a = r.run({"sh", "-c", "echo $ONLY; echo ${HOME:-unset}"}, o);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->out, "this\nunset\n");
}

TEST(DryRunRunner, prints_the_quoted_command_and_runs_nothing) {
  std::ostringstream out;
  util::DryRunRunner r(out);
  testing::TempDir dir;
  auto a = r.run({"touch", dir.path() + "/x y"}, {});
  ASSERT_TRUE(a);
  EXPECT_EQ(out.str(), "touch '" + dir.path() + "/x y'\n");
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/x y"));
}

TEST(FindInPath, finds_executables_only) {
  testing::TempDir dir;
  dir.write("bin/tool", "#!/bin/sh\n", 0755);
  dir.write("bin/data", "x", 0644);
  EXPECT_EQ(util::find_in_path("tool", "/nonexistent:" + dir.path() + "/bin"),
            dir.path() + "/bin/tool");
  EXPECT_FALSE(util::find_in_path("data", dir.path() + "/bin"));
}

} // namespace
} // namespace furnace

namespace furnace {
namespace {

TEST(SystemRunner, can_send_a_childs_stdout_to_stderr) {
  testing::TempDir dir;
  const std::string script = dir.write("child.sh", "#!/bin/sh\necho progress\n", 0755);
  // In a child whose stdout and stderr are files, an uncaptured run with the redirect must
  // leave stdout empty.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string err_path = dir.path() + "/err";
    const std::string out_path = dir.path() + "/out";
    std::freopen(out_path.c_str(), "w", stdout);
    std::freopen(err_path.c_str(), "w", stderr);
    util::SystemRunner inner;
    util::ProcessOptions io;
    io.capture = false;
    io.stdout_to_stderr = true;
    auto res = inner.run({script}, io);
    ::_exit(res && res->status.ok() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::ifstream out(dir.path() + "/out");
  std::ifstream err(dir.path() + "/err");
  std::string o_text((std::istreambuf_iterator<char>(out)), {});
  std::string e_text((std::istreambuf_iterator<char>(err)), {});
  EXPECT_EQ(o_text, "");
  EXPECT_EQ(e_text, "progress\n");
}

}  // namespace
}  // namespace furnace

namespace furnace::util {
namespace {

struct stat stat_of(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

// sudo furnace build/init/run in a user's project or with the user's HOME: what furnace creates
// there is the user's, while what it writes under root's own directories stays root's.
TEST(Ownership, root_gives_what_it_creates_in_a_users_directory_to_that_user) {
  if (::geteuid() != 0) {
    if (std::getenv("CI") != nullptr) {
      FAIL() << "needs root (as in CI)";
    }
    GTEST_SKIP() << "needs root";
  }
  testing::TempDir dir;
  const std::string user = dir.path() + "/home";
  ASSERT_EQ(::mkdir(user.c_str(), 0755), 0);
  ASSERT_EQ(::chown(user.c_str(), 4242, 4343), 0);

  ASSERT_TRUE(write_file_atomic(user + "/furnace.lock", "x\n").has_value());
  EXPECT_EQ(stat_of(user + "/furnace.lock").st_uid, 4242U);
  EXPECT_EQ(stat_of(user + "/furnace.lock").st_gid, 4343U);
  std::error_code ec;
  ASSERT_TRUE(make_directories(user + "/.cache/furnace/build/", ec)) << ec.message();
  for (const char* d : {"/.cache", "/.cache/furnace", "/.cache/furnace/build"}) {
    EXPECT_EQ(stat_of(user + d).st_uid, 4242U) << d;
  }
  // A file SQLite (or the docker CLI) made: given over afterwards; a symlink is not followed.
  std::ofstream(user + "/.cache/furnace/db") << "x";
  EXPECT_TRUE(give_to_directory_owner(user + "/.cache/furnace/db"));
  EXPECT_EQ(stat_of(user + "/.cache/furnace/db").st_uid, 4242U);
  const std::string target = dir.path() + "/root-file";
  std::ofstream(target) << "x";
  ASSERT_EQ(::symlink(target.c_str(), (user + "/link").c_str()), 0);
  EXPECT_TRUE(give_to_directory_owner(user + "/link"));
  EXPECT_EQ(stat_of(target).st_uid, 0U);

  // Root's own directory: nothing changes hands.
  ASSERT_TRUE(write_file_atomic(dir.path() + "/mine", "x\n").has_value());
  EXPECT_EQ(stat_of(dir.path() + "/mine").st_uid, 0U);
  ASSERT_TRUE(make_directories(dir.path() + "/a/b", ec));
  EXPECT_EQ(stat_of(dir.path() + "/a/b").st_uid, 0U);
  // An explicit owner wins (a backup keeps the original's).
  AtomicWriteOptions o;
  o.owner = 0;
  o.group = 0;
  ASSERT_TRUE(write_file_atomic(user + "/backup", "x\n", o).has_value());
  EXPECT_EQ(stat_of(user + "/backup").st_uid, 0U);
}

TEST(CopyAvailable, copies_what_a_growing_file_holds_and_then_what_was_appended) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/log";
  std::ofstream(path, std::ios::binary) << std::string(70000, 'a'); // more than one buffer
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  EXPECT_TRUE(copy_available(in, out));
  EXPECT_EQ(out.str(), std::string(70000, 'a'));
  EXPECT_FALSE(copy_available(in, out)); // nothing new
  std::ofstream(path, std::ios::binary | std::ios::app) << "more\n";
  EXPECT_TRUE(copy_available(in, out));
  EXPECT_EQ(out.str(), std::string(70000, 'a') + "more\n");
}

} // namespace
} // namespace furnace::util
