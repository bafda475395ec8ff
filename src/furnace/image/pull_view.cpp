#include "pull_view.hpp"

#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace furnace::image {

namespace {

constexpr double k_frame_seconds = 0.1; // at most ten frames a second
constexpr double k_speed_window = 3.0;  // the speed of the last three seconds

std::string bytes(long long n) {
  return util::human_bytes(static_cast<unsigned long long>(std::max(0LL, n)));
}

bool finished(const std::string& status) {
  return status == "Pull complete" || status == "Already exists" || status == "Download complete";
}

void add_sample(std::vector<std::pair<double, long long>>& s, double t, long long v) {
  s.emplace_back(t, v);
  while (s.size() > 2 && t - s.front().first > k_speed_window) {
    s.erase(s.begin());
  }
}

} // namespace

std::string format_eta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 99 * 3600) {
    return "--:--";
  }
  const auto s = static_cast<long long>(std::llround(seconds));
  if (s >= 3600) {
    return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  }
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

PullView::PullView(std::ostream& err, PullViewMode mode, std::function<double()> now)
    : m_err(err), m_mode(mode), m_now(std::move(now)) {}

double PullView::speed(const std::vector<std::pair<double, long long>>& samples) {
  if (samples.size() < 2) {
    return 0;
  }
  const double dt = samples.back().first - samples.front().first;
  const auto db = static_cast<double>(samples.back().second - samples.front().second);
  return dt > 0 && db > 0 ? db / dt : 0;
}

long long PullView::total_bytes() const {
  long long sum = 0;
  for (const auto& [id, l] : m_layers) {
    sum += l.total;
  }
  return sum;
}

void PullView::update(const engine::PullProgress& p) {
  if (m_mode == PullViewMode::quiet || p.id.empty()) {
    return;
  }
  const bool is_new = m_layers.find(p.id) == m_layers.end();
  Layer& l = m_layers[p.id];
  if (is_new) {
    m_order.push_back(p.id);
  }
  const bool changed = l.status != p.status;
  l.status = p.status;
  const double t = m_now();
  if (p.status == "Downloading") {
    if (p.total > 0) {
      l.total = p.total;
    }
    l.current = p.current;
    add_sample(l.samples, t, l.current);
  } else if (p.status == "Download complete" || p.status == "Verifying Checksum") {
    l.current = l.total;
  }
  l.done = finished(p.status);
  if (m_mode == PullViewMode::plain) {
    if (changed) {
      m_err << fmt::format(
          "  {} {}{}\n", p.id, p.status, l.total > 0 ? " (" + bytes(l.total) + ")" : "");
    }
    return;
  }
  long long got = 0;
  for (const auto& [id, layer] : m_layers) {
    got += layer.current;
  }
  add_sample(m_total_samples, t, got);
  // A new layer or a new step shows at once; byte counts at most every frame.
  draw(changed);
}

std::string PullView::line(const std::string& id, const Layer& l, double /*t*/) const {
  std::string size;
  if (l.status == "Downloading" && l.total > 0) {
    const double v = speed(l.samples);
    size = fmt::format("{:>9} / {:<9} {:>10}  ETA {}",
                       bytes(l.current),
                       bytes(l.total),
                       v > 0 ? bytes(static_cast<long long>(v)) + "/s" : "",
                       v > 0 ? format_eta(static_cast<double>(l.total - l.current) / v) : "--:--");
  } else if (l.total > 0) {
    size = bytes(l.total);
  }
  return fmt::format("  {:<12} {:<18} {}", id.substr(0, 12), l.status, size);
}

void PullView::draw(bool force) {
  const double t = m_now();
  if (!force && m_last_draw >= 0 && t - m_last_draw < k_frame_seconds) {
    return;
  }
  m_last_draw = t;
  std::string frame;
  if (m_drawn > 0) {
    frame += fmt::format("\x1b[{}A", m_drawn); // back to the first line of the last frame
  }
  for (const std::string& id : m_order) {
    frame += "\x1b[2K" + line(id, m_layers.at(id), t) + "\n";
  }
  long long got = 0;
  long long all = 0;
  bool sizes_known = true;
  for (const auto& [id, l] : m_layers) {
    got += l.done ? l.total : l.current;
    all += l.total;
    sizes_known = sizes_known && (l.total > 0 || l.done);
  }
  const double v = speed(m_total_samples);
  frame +=
      "\x1b[2K" +
      fmt::format("  {:<12} {:<18} {:>9} / {:<9} {:>10}  ETA {}",
                  "total",
                  fmt::format("{} of {} layers",
                              std::count_if(m_layers.begin(),
                                            m_layers.end(),
                                            [](const auto& kv) { return kv.second.done; }),
                              m_layers.size()),
                  bytes(got),
                  sizes_known ? bytes(all) : std::string("?"),
                  v > 0 ? bytes(static_cast<long long>(v)) + "/s" : "",
                  v > 0 && sizes_known ? format_eta(static_cast<double>(all - got) / v) : "--:--") +
      "\n";
  m_drawn = m_order.size() + 1;
  m_err << frame << std::flush;
}

void PullView::finish() {
  if (m_mode == PullViewMode::live && m_drawn > 0) {
    m_err << fmt::format("\x1b[{}A\x1b[J", m_drawn) << std::flush; // erase the live lines
    m_drawn = 0;
  }
}

} // namespace furnace::image
