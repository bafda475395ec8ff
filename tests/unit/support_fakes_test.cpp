// The shared process fakes are tested too: a fake that answers wrongly makes every test that
// uses it wrong.

#include "support/fake_runner.hpp"

#include <gtest/gtest.h>

namespace furnace::testing {
namespace {

TEST(FakeRunner, answers_by_prefix_the_last_rule_winning_and_records_argv) {
  FakeRunner r;
  r.fallback.code = 7;
  r.on("ps", {0, "c1\n", ""});
  r.on("ps -a", {0, "c1\nc2\n", ""});
  auto ps = r.run({"docker", "ps", "-a", "-q"}, {});
  ASSERT_TRUE(ps.has_value());
  EXPECT_EQ(ps->out, "c1\nc2\n");
  auto other = r.run({"docker", "rmi", "x y"}, {});
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->status.code, 7);
  EXPECT_EQ(r.calls, (std::vector<std::string>{"docker ps -a -q", "docker rmi 'x y'"}));
}

TEST(FakeRunner, streams_to_on_output_and_can_fail_to_start) {
  FakeRunner r;
  r.on("build", {0, "step 1\n", "done\n"});
  std::string seen;
  util::ProcessOptions o;
  o.on_output = [&](std::string_view chunk) { seen += chunk; };
  auto built = r.run({"docker", "build", "."}, o);
  ASSERT_TRUE(built.has_value());
  EXPECT_EQ(seen, "step 1\ndone\n");
  EXPECT_EQ(built->out, "");
  r.not_found = util::SysError{"cannot run docker: No such file or directory", 2};
  EXPECT_FALSE(r.run({"docker", "ps"}, {}).has_value());
}

TEST(FakeLauncher, sessions_end_as_told_and_the_supervisor_when_told) {
  FakeLauncher l;
  l.result = run::SessionResult{130, 2, false};
  l.signals = 2;
  bool started = false;
  bool forced = false;
  run::SessionOptions so;
  so.on_started = [&] { started = true; };
  so.force = [&](const std::string&) { forced = true; };
  auto r = l.session(run::EngineCommand{{"docker", "run", "x"}, {}, {}}, {}, so);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 130);
  EXPECT_TRUE(started);
  EXPECT_TRUE(forced);
  EXPECT_EQ(l.output_log, (std::vector<std::string>{"output of x\n"}));

  int ended = -1;
  auto pid = l.supervise(
      [] {
        return run::EngineCommand{{"docker", "run", "y"}, {}, {}};
      },
      {},
      -1,
      [&](const run::SessionResult& s) { ended = s.exit_code; });
  ASSERT_TRUE(pid.has_value());
  EXPECT_FALSE(l.reap(*pid, false));
  EXPECT_EQ(ended, -1);
  l.end_supervised();
  EXPECT_EQ(ended, 130);
  EXPECT_TRUE(l.reap(*pid, false));
  EXPECT_EQ(l.commands.size(), 2U);
  EXPECT_EQ(l.clock().now_ms(), 1700000000000);
}

} // namespace
} // namespace furnace::testing
