#pragma once
// What a pull shows while it runs. On a terminal a person watches: one live line per layer (its
// step, bytes done of its size, speed and time left) and a total line, redrawn in place at most
// ten times a second and erased when the pull ends, so that a 6 GB pull visibly moves and leaves
// one summary line behind. Elsewhere (a pipe, a log): one plain line per layer and step, as the
// engine reports them. Quiet: nothing.

#include <furnace/engine/engine.hpp>

#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace furnace::image {

enum class PullViewMode { live, plain, quiet };

class PullView {
public:
  // `now` gives seconds on a monotonic clock (tests pass a fake one).
  PullView(std::ostream& err, PullViewMode mode, std::function<double()> now);

  void update(const engine::PullProgress& p);
  // Erases the live lines (the caller then prints its summary).
  void finish();

  long long total_bytes() const; // the sum of the layers' sizes
  std::size_t layer_count() const { return m_order.size(); }

private:
  struct Layer {
    std::string status;
    long long current = 0;
    long long total = 0;
    bool done = false;
    // (time, bytes) samples of the last few seconds, for the speed.
    std::vector<std::pair<double, long long>> samples;
  };
  void draw(bool force);
  std::string line(const std::string& id, const Layer& l, double t) const;
  static double speed(const std::vector<std::pair<double, long long>>& samples);

  std::ostream& m_err;
  PullViewMode m_mode;
  std::function<double()> m_now;
  std::map<std::string, Layer> m_layers;
  std::vector<std::string> m_order;
  std::size_t m_drawn = 0; // lines on the screen from the last frame
  double m_last_draw = -1;
  std::vector<std::pair<double, long long>> m_total_samples;
};

// "1:05", "12:00", "1:02:03"; "--:--" for an unknown or absurd time.
std::string format_eta(double seconds);

} // namespace furnace::image
