// Following submitted jobs: the scheduler's state for each open job (sacct, else scontrol for a
// cluster without accounting; kubectl get job), recorded in the history; and their output.

#include <furnace/cluster/command.hpp>
#include <furnace/run/support.hpp>
#include <furnace/util/stream.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <ctime>
#include <fstream>
#include <thread>

namespace furnace::cluster {

namespace {

struct JobState {
  std::string status; // a history status; "" = unknown
  std::optional<int> exit_code;
  std::string signal;
  std::int64_t ended_ms = 0;
};

// "2026-12-06T08:50:01" (Slurm's local time) -> unix ms; 0 for "Unknown", "None" and the like.
std::int64_t slurm_time_ms(const std::string& text) {
  std::tm tm{};
  if (::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
    return 0;
  }
  tm.tm_isdst = -1;
  const std::time_t t = std::mktime(&tm);
  return t < 0 ? 0 : static_cast<std::int64_t>(t) * 1000;
}

std::string signal_text(int sig) {
  switch (sig) {
  case SIGTERM:
    return "SIGTERM";
  case SIGKILL:
    return "SIGKILL";
  case SIGINT:
    return "SIGINT";
  default:
    return sig == 0 ? std::string() : fmt::format("signal {}", sig);
  }
}

// State, "CODE:SIGNAL" and the end time as Slurm prints them.
JobState slurm_state(const std::string& state, const std::string& exit, const std::string& end) {
  JobState s;
  s.status = status_of_slurm_state(state);
  const auto colon = exit.find(':');
  if (colon != std::string::npos) {
    const int code = std::atoi(exit.substr(0, colon).c_str());
    const int sig = std::atoi(exit.substr(colon + 1).c_str());
    s.signal = signal_text(sig);
    if (s.status == history::k_exited || s.status == history::k_failed ||
        s.status == history::k_oom_killed || s.status == history::k_timed_out) {
      s.exit_code = sig != 0 && code == 0 ? 128 + sig : code;
    }
  }
  if (s.status != history::k_pending && s.status != history::k_running) {
    s.ended_ms = slurm_time_ms(end);
  }
  return s;
}

util::ProcessOptions quiet(const core::Context& ctx) {
  util::ProcessOptions o;
  o.env = ctx.env;
  o.timeout = std::chrono::seconds(20);
  return o;
}

// sacct where the cluster keeps accounting; scontrol (the controller remembers a finished job
// for MinJobAge, 300 s by default) where it does not.
JobState query_slurm(core::Context& ctx, const std::string& id) {
  auto acct =
      ctx.runner.run({"sacct", "-n", "-P", "-X", "-j", id, "-o", "State,ExitCode,End"}, quiet(ctx));
  if (acct && acct->status.ok()) {
    const auto lines = util::split(std::string(util::trim(acct->out)), '\n');
    if (!lines.empty() && !lines.front().empty()) {
      const auto f = util::split(lines.front(), '|');
      if (f.size() >= 3) {
        return slurm_state(f[0], f[1], f[2]);
      }
    }
  }
  auto ctl = ctx.runner.run({"scontrol", "show", "job", "-o", id}, quiet(ctx));
  if (!ctl || !ctl->status.ok()) {
    return {};
  }
  std::map<std::string, std::string> kv;
  for (const std::string& word : util::split(std::string(util::trim(ctl->out)), ' ')) {
    const auto eq = word.find('=');
    if (eq != std::string::npos) {
      kv.emplace(word.substr(0, eq), word.substr(eq + 1));
    }
  }
  return slurm_state(kv["JobState"], kv["ExitCode"], kv["EndTime"]);
}

// The exit code of a failed Job's container: the first non-zero one among its pods'.
std::optional<int>
k8s_exit_code(core::Context& ctx, const std::string& ns, const std::string& name) {
  std::vector<std::string> argv{"kubectl", "get", "pods", "-l", "job-name=" + name, "-o", "json"};
  if (!ns.empty()) {
    argv.insert(argv.end(), {"-n", ns});
  }
  auto r = ctx.runner.run(argv, quiet(ctx));
  if (!r || !r->status.ok()) {
    return std::nullopt;
  }
  const auto j = nlohmann::json::parse(r->out, nullptr, false);
  for (const auto& pod :
       j.is_object() ? j.value("items", nlohmann::json::array()) : nlohmann::json::array()) {
    const auto status = pod.value("status", nlohmann::json::object());
    for (const auto& c : status.value("containerStatuses", nlohmann::json::array())) {
      const auto term =
          c.value("state", nlohmann::json::object()).value("terminated", nlohmann::json::object());
      if (term.value("exitCode", 0) != 0) {
        return term.value("exitCode", 0);
      }
    }
  }
  return std::nullopt;
}

JobState query_k8s(core::Context& ctx, const std::string& id) {
  const auto slash = id.find('/');
  const std::string ns = id.substr(0, slash);
  const std::string name = id.substr(slash + 1);
  std::vector<std::string> argv{"kubectl", "get", "job", name, "-o", "json"};
  if (!ns.empty()) {
    argv.insert(argv.end(), {"-n", ns});
  }
  auto r = ctx.runner.run(argv, quiet(ctx));
  JobState s;
  if (!r) {
    return s;
  }
  if (!r->status.ok()) {
    if (r->err.find("NotFound") != std::string::npos) {
      s.status = history::k_cancelled; // deleted before it finished
    }
    return s;
  }
  const auto j = nlohmann::json::parse(r->out, nullptr, false);
  const auto& st = j.is_object() ? j.value("status", nlohmann::json::object()) : nlohmann::json();
  for (const auto& c : st.value("conditions", nlohmann::json::array())) {
    if (c.value("status", "") != "True") {
      continue;
    }
    const std::string type = c.value("type", "");
    if (type == "Complete" || type == "Failed") {
      s.status = type == "Complete" ? history::k_exited : history::k_failed;
      s.exit_code = type == "Complete" ? std::optional<int>(0) : k8s_exit_code(ctx, ns, name);
      if (c.value("reason", "") == "DeadlineExceeded") {
        s.status = history::k_timed_out;
      }
      std::tm tm{};
      const std::string when = c.value("lastTransitionTime", "");
      if (::strptime(when.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) != nullptr) {
        s.ended_ms = static_cast<std::int64_t>(::timegm(&tm)) * 1000;
      }
      return s;
    }
  }
  s.status = st.value("active", 0) > 0 ? history::k_running : history::k_pending;
  return s;
}

} // namespace

std::string status_of_slurm_state(const std::string& state) {
  const std::string word = state.substr(0, state.find(' ')); // "CANCELLED by 0"
  if (word == "PENDING" || word == "REQUEUED" || word == "SUSPENDED" || word == "RESV_DEL_HOLD" ||
      word == "REQUEUE_HOLD" || word == "REQUEUE_FED") {
    return history::k_pending;
  }
  if (word == "RUNNING" || word == "CONFIGURING" || word == "COMPLETING" || word == "STAGE_OUT" ||
      word == "SIGNALING" || word == "RESIZING") {
    return history::k_running;
  }
  if (word == "COMPLETED") {
    return history::k_exited;
  }
  if (word == "CANCELLED" || word == "REVOKED") {
    return history::k_cancelled;
  }
  if (word == "TIMEOUT" || word == "DEADLINE") {
    return history::k_timed_out;
  }
  if (word == "OUT_OF_MEMORY") {
    return history::k_oom_killed;
  }
  if (word == "FAILED" || word == "NODE_FAIL" || word == "BOOT_FAIL" || word == "PREEMPTED") {
    return history::k_failed;
  }
  return {};
}

void sync_jobs(core::Context& ctx, history::Store& store) {
  history::Query q;
  q.open_jobs_only = true;
  auto open = store.list(q);
  if (!open) {
    return;
  }
  for (const history::RunRecord& r : *open) {
    const JobState s = r.scheduler == "slurm" ? query_slurm(ctx, r.job_id)
                       : r.scheduler == "k8s" ? query_k8s(ctx, r.job_id)
                                              : JobState{};
    if (s.status.empty() || s.status == r.status) {
      continue;
    }
    const bool ended = s.status != history::k_pending && s.status != history::k_running;
    const std::int64_t end = !ended ? 0 : s.ended_ms != 0 ? s.ended_ms : run::now_ms();
    (void)store.finish(r.id, end, s.exit_code, ended ? s.signal : std::string(), s.status);
  }
}

void sync_jobs(core::Context& ctx) {
  auto store =
      history::Store::open(history::default_path(ctx.env), std::chrono::milliseconds(2000));
  if (store) {
    sync_jobs(ctx, *store);
  }
}

std::optional<int> job_logs(core::Context& ctx, const std::string& run, bool follow) {
  auto store =
      history::Store::open(history::default_path(ctx.env), std::chrono::milliseconds(2000));
  if (!store) {
    return std::nullopt;
  }
  auto rec = store->find(run);
  if (!rec || rec->scheduler.empty()) {
    return std::nullopt;
  }
  if (rec->scheduler == "k8s") {
    const auto slash = rec->job_id.find('/');
    std::vector<std::string> argv{"kubectl", "logs"};
    if (follow) {
      argv.emplace_back("-f");
    }
    argv.push_back("job/" + rec->job_id.substr(slash + 1));
    if (slash > 0) {
      argv.insert(argv.end(), {"-n", rec->job_id.substr(0, slash)});
    }
    util::ProcessOptions o;
    o.env = ctx.env;
    o.capture = false;
    auto r = ctx.runner.run(argv, o);
    if (!r) {
      ctx.ui.error(core::make_error(core::ErrorKind::unavailable,
                                    fmt::format("cannot run kubectl: {}", r.error().message)));
      return 1;
    }
    return r->status.code;
  }
  const auto open_now = [&]() {
    sync_jobs(ctx, *store);
    auto now = store->find(std::to_string(rec->id));
    return now && (now->status == history::k_pending || now->status == history::k_running);
  };
  bool open = open_now();
  std::ifstream in;
  auto drain = [&] {
    if (!in.is_open()) {
      in.open(rec->log_path, std::ios::binary);
    }
    return in.is_open() && util::copy_available(in, ctx.ui.out());
  };
  drain();
  if (!in.is_open() && !(follow && open)) {
    ctx.ui.error(core::make_error(core::ErrorKind::not_found,
                                  fmt::format("job {} (slurm {}) has no output at {}{}",
                                              rec->name,
                                              rec->job_id,
                                              rec->log_path,
                                              open ? " yet: it has not started" : "")));
    return 1;
  }
  auto last = std::chrono::steady_clock::now();
  while (follow) {
    const bool got = drain();
    if (!open && !got) {
      break;
    }
    if (!got) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (open && std::chrono::steady_clock::now() - last > std::chrono::seconds(1)) {
      open = open_now();
      last = std::chrono::steady_clock::now();
    }
  }
  return 0;
}

} // namespace furnace::cluster
