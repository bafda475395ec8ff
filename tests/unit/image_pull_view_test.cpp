// The pull's progress view with a fake clock: live frames on a terminal (one line per layer with
// bytes, size, speed and time left, a total line, redrawn in place, erased at the end), plain lines
// elsewhere, nothing when quiet.

#include <furnace/image/pull_view.hpp>

#include <gtest/gtest.h>

#include <sstream>

namespace furnace::image {
namespace {

engine::PullProgress
ev(const std::string& id, const std::string& status, long long cur = 0, long long total = 0) {
  engine::PullProgress p;
  p.id = id;
  p.status = status;
  p.current = cur;
  p.total = total;
  return p;
}

constexpr long long k_mb = 1024 * 1024;

TEST(PullView, a_terminal_sees_bytes_speed_and_time_left_then_nothing_but_the_summary) {
  std::ostringstream err;
  double t = 0;
  PullView view(err, PullViewMode::live, [&t] { return t; });
  view.update(ev("aaaaaaaaaaaa", "Pulling fs layer"));
  view.update(ev("bbbbbbbbbbbb", "Pulling fs layer"));
  view.update(ev("aaaaaaaaaaaa", "Downloading", 0, 6000 * k_mb));
  for (int i = 1; i <= 20; ++i) { // 100 MB/s for two seconds
    t = 0.1 * i;
    view.update(ev("aaaaaaaaaaaa", "Downloading", 10 * k_mb * i, 6000 * k_mb));
  }
  const std::string frames = err.str();
  // The newest frame (drawn at 1.9 or 2.0 s): the layer at 190-200 MiB of 5.9 GiB, 100 MiB/s,
  // 58 s left; the total line.
  const std::string last = frames.substr(frames.rfind("\x1b[3A"));
  EXPECT_NE(last.find("aaaaaaaaaaaa Downloading"), std::string::npos) << last;
  EXPECT_TRUE(last.find("200.0 MiB / 5.9 GiB") != std::string::npos ||
              last.find("190.0 MiB / 5.9 GiB") != std::string::npos)
      << last;
  EXPECT_NE(last.find("100.0 MiB/s  ETA 0:58"), std::string::npos) << last;
  EXPECT_NE(last.find("total        0 of 2 layers"), std::string::npos) << last;
  EXPECT_NE(last.find("\x1b[2K  bbbbbbbbbbbb Pulling fs layer"), std::string::npos) << last;
  // At most one frame per 0.1 s plus one per new step: not one per engine message.
  std::size_t n = 0;
  for (auto at = frames.find("\x1b[3A"); at != std::string::npos;
       at = frames.find("\x1b[3A", at + 1)) {
    ++n;
  }
  EXPECT_LE(n, 22U);
  EXPECT_GE(n, 10U); // a frame per 0.1 s of the two seconds, give or take rounding
  t = 2.5;
  view.update(ev("aaaaaaaaaaaa", "Pull complete"));
  view.update(ev("bbbbbbbbbbbb", "Already exists"));
  EXPECT_NE(err.str().rfind("total        2 of 2 layers"), std::string::npos);
  err.str("");
  view.finish();
  EXPECT_EQ(err.str(), "\x1b[3A\x1b[J"); // the live lines go; the caller says the summary
  EXPECT_EQ(view.layer_count(), 2U);
  EXPECT_EQ(view.total_bytes(), 6000 * k_mb);
}

TEST(PullView, a_pipe_gets_one_plain_line_per_step_and_quiet_gets_nothing) {
  std::ostringstream plain;
  std::ostringstream quiet;
  double t = 0;
  PullView p(plain, PullViewMode::plain, [&t] { return t; });
  PullView q(quiet, PullViewMode::quiet, [&t] { return t; });
  for (PullView* v : {&p, &q}) {
    v->update(ev("aaaaaaaaaaaa", "Pulling fs layer"));
    v->update(ev("aaaaaaaaaaaa", "Downloading", 1 * k_mb, 10 * k_mb));
    v->update(ev("aaaaaaaaaaaa", "Downloading", 5 * k_mb, 10 * k_mb));
    v->update(ev("aaaaaaaaaaaa", "Pull complete"));
    v->finish();
  }
  EXPECT_EQ(plain.str(),
            "  aaaaaaaaaaaa Pulling fs layer\n"
            "  aaaaaaaaaaaa Downloading (10.0 MiB)\n"
            "  aaaaaaaaaaaa Pull complete (10.0 MiB)\n");
  EXPECT_EQ(plain.str().find('\x1b'), std::string::npos);
  EXPECT_EQ(quiet.str(), "");
}

TEST(PullView, time_left_reads_like_a_clock) {
  EXPECT_EQ(format_eta(0), "0:00");
  EXPECT_EQ(format_eta(65), "1:05");
  EXPECT_EQ(format_eta(3723), "1:02:03");
  EXPECT_EQ(format_eta(-1), "--:--");
  EXPECT_EQ(format_eta(1e12), "--:--");
}

} // namespace
} // namespace furnace::image
