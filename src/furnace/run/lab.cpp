// furnace lab: `furnace run` with a Jupyter command, a token file and a port the engine picks,
// then the wait for the server, the URL, the browser or the ssh tunnel line, and (without -d)
// the wait for Ctrl-C.

#include "lab.hpp"

#include <furnace/core/dirs.hpp>
#include <furnace/project/load.hpp>
#include <furnace/run/command.hpp>
#include <furnace/run/execute.hpp>
#include <furnace/run/plan.hpp>
#include <furnace/run/support.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/ownership.hpp>
#include <furnace/util/process.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

namespace furnace::run {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int k_not_started = 125;

std::string env_of(const core::Env& env, const char* key) {
  const auto it = env.find(key);
  return it == env.end() ? std::string() : it->second;
}

// One HTTP request to the server through the published port: true once it answers 200. A TCP
// connect alone proves nothing: the engine's proxy accepts before the server listens.
bool server_answers(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  const std::unique_ptr<int, void (*)(int*)> guard(new int(fd), [](int* p) {
    ::close(*p);
    delete p; // NOLINT(cppcoreguidelines-owning-memory)
  });
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return false;
  }
  const std::string request =
      fmt::format("GET /api HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n", port);
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return false;
  }
  std::string reply;
  std::array<char, 256> buf{};
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (reply.find("\r\n") == std::string::npos && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 500) <= 0) {
      continue;
    }
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) {
      break;
    }
    reply.append(buf.data(), static_cast<std::size_t>(n));
  }
  return reply.rfind("HTTP/1.", 0) == 0 && reply.size() > 12 && reply.substr(9, 3) == "200";
}

struct Owner {
  unsigned uid = 0;
  unsigned gid = 0;
};

// Writes the token file (0600, no trailing newline, in a 0700 directory of the caller's). A root
// furnace gives it to `reader`, the container's user.
core::Result<void>
write_token(const std::string& path, const std::string& token, const std::optional<Owner>& reader) {
  std::error_code ec;
  const std::string dir = fs::path(path).parent_path().string();
  util::make_directories(dir, ec);
  if (ec) {
    return core::fail(core::ErrorKind::io,
                      fmt::format("cannot create {}: {}", dir, ec.message()),
                      "check the permissions of XDG_STATE_HOME (~/.local/state)");
  }
  ::chmod(dir.c_str(), 0700);
  util::AtomicWriteOptions o;
  o.mode = 0600;
  if (reader && ::geteuid() == 0) {
    o.owner = static_cast<uid_t>(reader->uid);
    o.group = static_cast<gid_t>(reader->gid);
  }
  if (auto w = util::write_file_atomic(path, token, o); !w) {
    return core::fail(core::ErrorKind::io,
                      fmt::format("cannot write {}: {}", path, w.error().message));
  }
  return {};
}

void remove_lab_files(const std::string& token_path) {
  std::error_code ec;
  fs::remove(token_path, ec);
  fs::remove(fs::path(token_path).replace_extension(".html"), ec);
}

// Token files of labs whose container is gone (stopped with `furnace stop`, or by the engine).
// A file younger than k_token_grace may belong to a lab that is starting right now (its file is
// written just before its container is created): it stays.
constexpr auto k_token_grace = std::chrono::minutes(10);

void sweep_stale_tokens(const core::Env& env, engine::Engine& engine) {
  const std::string dir = fs::path(lab_token_path(env, "x")).parent_path().string();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return;
  }
  auto list = engine.list_containers({k_label_lab});
  if (!list) {
    return;
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".token") {
      continue;
    }
    const auto written = fs::last_write_time(entry.path(), ec);
    if (ec || fs::file_time_type::clock::now() - written < k_token_grace) {
      continue;
    }
    const std::string name = entry.path().stem().string();
    const bool alive =
        std::any_of(list->begin(), list->end(), [&](const engine::ContainerSummary& c) {
          return c.name == name;
        });
    if (!alive) {
      remove_lab_files(entry.path().string());
    }
  }
}

// Opens the lab in the desktop's browser without the token in any argv: xdg-open gets a 0600
// HTML file of the caller's that redirects to the URL (what Jupyter itself does).
void open_browser(core::Context& ctx, const std::string& token_path, const std::string& url) {
  const std::string path_var = ctx.getenv("PATH").value_or("/usr/local/bin:/usr/bin:/bin");
  const auto opener = util::find_in_path("xdg-open", path_var);
  if (!opener) {
    return;
  }
  const std::string page = fs::path(token_path).replace_extension(".html").string();
  util::AtomicWriteOptions o;
  o.mode = 0600;
  const std::string html = fmt::format("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                                       "<meta http-equiv=\"refresh\" content=\"0;url={0}\"></head>"
                                       "<body><a href=\"{0}\">furnace lab</a></body></html>\n",
                                       url);
  if (!util::write_file_atomic(page, html, o)) {
    return;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    if (::fork() != 0) { // a grandchild: nobody has to wait for the browser
      ::_exit(0);
    }
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
    }
    ::execl(opener->c_str(), "xdg-open", page.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid > 0) {
    int status = 0;
    (void)::waitpid(pid, &status, 0);
  }
}

// Waits for the server to answer: true when it does, false when the container ended or the time
// ran out (`why` says which).
bool wait_for_server(
    engine::Engine& engine, const std::string& name, int port, int timeout_s, std::string& why) {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  int round = 0;
  while (Clock::now() < deadline) {
    if (server_answers(port)) {
      return true;
    }
    if (++round % 5 == 0) { // the container, once a second: it may have failed
      auto c = engine.inspect_container(name);
      if (!c || !c->running) {
        why = fmt::format("{} ended before Jupyter answered", name);
        return false;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  why = fmt::format(
      "Jupyter in {} did not answer on 127.0.0.1:{} within {} s", name, port, timeout_s);
  return false;
}

std::string caller_name(Launcher& launcher, const core::Env& env) {
  const RunHost host = launcher.facts(env);
  if (host.user) {
    return host.user->name;
  }
  const struct passwd* pw = ::getpwuid(::getuid()); // NOLINT(concurrency-mt-unsafe)
  return pw != nullptr ? std::string(pw->pw_name) : std::string("root");
}

// `furnace lab --url`: the URL of each lab of this project the caller started.
int print_urls(core::Context& ctx,
               const LabOptions& o,
               engine::Engine& engine,
               Launcher& launcher) {
  std::error_code ec;
  const std::string here = fs::weakly_canonical(fs::absolute(o.path, ec), ec).string();
  const std::string root = project::find_root(here);
  auto list = engine.list_containers({k_label_lab, std::string(k_label_project) + "=" + root});
  if (!list) {
    ctx.ui.error(list.error());
    return 1;
  }
  const std::string me = caller_name(launcher, ctx.env);
  int shown = 0;
  for (const auto& c : *list) {
    const auto user = c.labels.find(k_label_user);
    const int port = lab_host_port(c.ports);
    if (c.state != "running" || port == 0) {
      continue;
    }
    if (user == c.labels.end() || user->second != me) {
      ctx.ui.warn(fmt::format("{} is {}'s lab: {} (only its owner can read the token)",
                              c.name,
                              user == c.labels.end() ? "someone else" : user->second,
                              lab_url(port, "")));
      continue;
    }
    auto token = util::read_file(lab_token_path(ctx.env, c.name));
    if (!token) {
      ctx.ui.error(core::make_error(
          core::ErrorKind::permission,
          fmt::format("cannot read the token of {}: {}", c.name, token.error().message),
          "only the user who started the lab can read it ('furnace stop " + c.name +
              "' and 'furnace lab' start a new one)"));
      return 1;
    }
    ctx.ui.out() << lab_url(port, *token) << '\n';
    ++shown;
  }
  if (shown == 0) {
    ctx.ui.error(core::make_error(core::ErrorKind::not_found,
                                  fmt::format("no lab of yours runs for {}", root),
                                  "'furnace lab -d' starts one; 'furnace ps' lists the runs"));
    return 1;
  }
  return 0;
}

// Why a lab whose container is not running failed: the end of its log, once the supervisor has
// written it (the container is gone then), else what the engine last said.
std::string
ended_reason(engine::Engine& engine, const std::string& name, const std::string& log_path) {
  int exit_code = -1;
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < deadline) {
    auto c = engine.inspect_container(name);
    if (!c) {
      break;
    }
    exit_code = c->running ? exit_code : c->exit_code;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto text = util::read_file(log_path);
  std::string tail = text ? std::string(util::trim(*text)) : std::string();
  constexpr std::size_t k_tail = 2000;
  if (tail.size() > k_tail) {
    tail = "..." + tail.substr(tail.size() - k_tail);
  }
  return fmt::format("{} ended before Jupyter answered{}; its log {} says:\n{}",
                     name,
                     exit_code >= 0 ? fmt::format(" (exit {})", exit_code) : std::string(),
                     log_path,
                     tail);
}

// After Ctrl-C (or SIGTERM, SIGHUP): stops the lab; returns when its container is gone.
int wait_then_stop(core::Context& ctx, engine::Engine& engine, const std::string& name) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) {
    sigaddset(&set, s);
  }
  int got = 0;
  while (got <= 0) {
    timespec one{1, 0};
    got = ::sigtimedwait(&set, nullptr, &one);
    if (got < 0) {
      auto c = engine.inspect_container(name);
      if (!c || !c->running) {
        ctx.ui.info(fmt::format("{} ended; 'furnace logs {}' shows why", name, name));
        return c ? c->exit_code : 1;
      }
    }
  }
  ctx.ui.info(fmt::format("stopping {}", name));
  (void)engine.stop_container(name, 10);
  // The supervisor records the end and removes the container.
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline && engine.inspect_container(name)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 0;
}

} // namespace

std::vector<std::string> jupyter_command() {
  // The image decides: JupyterLab, else the classic Notebook. A root container (a root caller,
  // a rootless engine) needs --allow-root; the caller's own uid does not. $1 is a Jupyter
  // config file (k_scrub_config) put in a directory of its own on JUPYTER_CONFIG_PATH.
  static const char* k_script =
      "if command -v jupyter-lab >/dev/null 2>&1; then app=jupyter-lab; "
      "elif command -v jupyter-notebook >/dev/null 2>&1; then app=jupyter-notebook; "
      "else echo 'furnace lab: this image has neither jupyter-lab nor jupyter-notebook; "
      "add \"jupyter: true\" to furnace.yaml' >&2; exit 127; fi; "
      "cfg=$(mktemp -d) && for f in jupyter_notebook_config.py jupyter_server_config.py; do "
      "printf '%s\\n' \"$1\" >\"$cfg/$f\"; done && "
      "export JUPYTER_CONFIG_PATH=\"$cfg${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}\"; shift; "
      "if [ \"$(id -u)\" = 0 ]; then set -- \"$@\" --allow-root; fi; "
      "exec \"$app\" \"$@\"";
  // The classic notebook's access log writes each request's URL, "?token=…" and all (the first
  // page a browser opens has it): a logging filter replaces the value before it reaches the
  // run's log and `docker logs`. jupyter_server scrubs its own; the filter does no harm there.
  static const char* k_scrub_config =
      "# furnace lab: keep the token out of the server's log\n"
      "import logging, re\n"
      "class _FurnaceScrubToken(logging.Filter):\n"
      "    _re = re.compile(r'(token=)[^&\\s\"]+')\n"
      "    def _scrub(self, v):\n"
      "        return self._re.sub(r'\\1[secret]', v) if isinstance(v, str) else v\n"
      "    def filter(self, record):\n"
      "        record.msg = self._scrub(record.msg)\n"
      "        if isinstance(record.args, tuple):\n"
      "            record.args = tuple(self._scrub(a) for a in record.args)\n"
      "        return True\n"
      "for _name in ('tornado.access', 'NotebookApp', 'ServerApp'):\n"
      "    logging.getLogger(_name).addFilter(_FurnaceScrubToken())\n";
  return {"/bin/sh",
          "-c",
          k_script,
          "furnace-lab",
          k_scrub_config,
          "--ip=0.0.0.0",
          fmt::format("--port={}", k_lab_container_port),
          "--no-browser"};
}

std::string lab_url(int port, std::string_view token) {
  return token.empty() ? fmt::format("http://127.0.0.1:{}/", port)
                       : fmt::format("http://127.0.0.1:{}/?token={}", port, token);
}

std::optional<std::string>
ssh_tunnel_line(const core::Env& env, const std::string& user, int port) {
  std::istringstream in(env_of(env, "SSH_CONNECTION"));
  std::string client;
  std::string client_port;
  std::string server;
  std::string server_port;
  if (!(in >> client >> client_port >> server >> server_port)) {
    return std::nullopt;
  }
  if (server.find(':') != std::string::npos) {
    server = "[" + server + "]"; // IPv6: USER@[addr] is what ssh takes
  }
  const std::string p = server_port == "22" ? std::string() : "-p " + server_port + " ";
  return fmt::format("ssh {}-L {}:127.0.0.1:{} {}@{}", p, port, port, user, server);
}

int lab_host_port(const std::vector<engine::PublishedPort>& ports) {
  for (const auto& p : ports) {
    if (p.container_port == k_lab_container_port && p.host_ip == "127.0.0.1" &&
        (p.protocol.empty() || p.protocol == "tcp")) {
      return p.host_port;
    }
  }
  return 0;
}

core::Result<std::string> random_token() {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::array<unsigned char, 32> b{};
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
  if (!in.read(reinterpret_cast<char*>(b.data()), b.size())) {
    return core::fail(core::ErrorKind::io, "cannot read /dev/urandom for the lab's token");
  }
  std::string hex;
  for (unsigned char c : b) {
    hex += fmt::format("{:02x}", c);
  }
  return hex;
}

std::string lab_token_path(const core::Env& env, const std::string& name) {
  return core::dirs_from_env(env).state + "/labs/" + name + ".token";
}

bool desktop_session(const core::Env& env) {
  const bool display = !env_of(env, "DISPLAY").empty() || !env_of(env, "WAYLAND_DISPLAY").empty();
  return display && env_of(env, "SSH_CONNECTION").empty();
}

int run_lab(core::Context& ctx,
            const LabOptions& o,
            engine::Engine& engine,
            gpu::GpuProbe& probe,
            Launcher& launcher) {
  if (o.url) {
    return print_urls(ctx, o, engine, launcher);
  }
  if (o.port < 0 || o.port > 65535) {
    ctx.ui.error(core::make_error(core::ErrorKind::invalid,
                                  fmt::format("--port {} is not a port", o.port),
                                  "a number from 1 to 65535, or none: a free one is chosen"));
    return 2;
  }
  if (!o.dry_run) {
    sweep_stale_tokens(ctx.env, engine);
  }
  auto token = random_token();
  if (!token) {
    ctx.ui.error(token.error());
    return k_not_started;
  }
  RunOptions r;
  r.path = o.path;
  r.gpus = o.gpus;
  r.env = o.env;
  r.volumes = o.volumes; // furnace.yaml's datasets come through run_run, as for a run
  r.shm_size = o.shm_size;
  r.memory = o.memory;
  r.cpus = o.cpus;
  r.network = o.network;
  r.dry_run = o.dry_run;
  r.detach = true; // the supervisor keeps it; without -d this process waits for Ctrl-C below
  r.command = jupyter_command();
  // No host port: the engine binds a free one on 127.0.0.1 itself, so twenty labs started at
  // once cannot race for the same port as a "find a free port, then publish it" would.
  r.ports = {o.port == 0 ? fmt::format("127.0.0.1::{}", k_lab_container_port)
                         : fmt::format("127.0.0.1:{}:{}", o.port, k_lab_container_port)};
  std::string name;
  std::string token_path;
  r.adjust = [&](RunPlan& plan) -> core::Result<void> {
    name = plan.spec.name;
    token_path = lab_token_path(ctx.env, name);
    plan.spec.labels[k_label_lab] = "jupyter";
    plan.spec.mounts.push_back(Mount{token_path, k_lab_token_target, true});
    plan.spec.env["JUPYTER_TOKEN_FILE"] = k_lab_token_target; // a path, not the token
    if (o.dry_run) {
      return {};
    }
    // Under sudo with root's HOME the file is root's: the server runs as the caller and must
    // read it (a bind-mounted file is checked on its own inode, not on root's 0700 directory).
    const std::optional<Owner> reader =
        plan.spec.user ? std::optional<Owner>(Owner{plan.spec.user->uid, plan.spec.user->gid})
                       : std::nullopt;
    return write_token(token_path, *token, reader);
  };
  std::string log_path;
  r.report = [&](const RunPlan& plan, const RunOutcome& out) {
    log_path = plan.record.log_path;
    if (out.error) {
      ctx.ui.error(*out.error);
      return out.exit_code;
    }
    if (out.finished) { // exit 0 before furnace looked: no server to wait for
      ctx.ui.error(core::make_error(
          core::ErrorKind::remote,
          fmt::format("{} ended at once (exit 0)", plan.spec.name),
          fmt::format("'furnace logs {}' shows the server's output", plan.spec.name)));
      return k_not_started;
    }
    return 0;
  };
  const auto started = Clock::now();
  const int code = run_run(ctx, r, engine, probe, launcher);
  if (o.dry_run) {
    return code;
  }
  if (code != 0) {
    if (!token_path.empty()) {
      remove_lab_files(token_path);
    }
    return code;
  }
  // Blocked from here on, so that Ctrl-C while the server starts still stops it below.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) {
    sigaddset(&set, s);
  }
  if (!o.detach) {
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
  }
  auto details = engine.inspect_container(name);
  const int port = details && details->running ? lab_host_port(details->ports) : 0;
  std::string why;
  if (!details || !details->running) {
    why = ended_reason(engine, name, log_path);
  } else if (port == 0) {
    why = fmt::format("the engine published no 127.0.0.1 port for {}", name);
  } else if (!wait_for_server(engine, name, port, o.timeout_s, why) &&
             why.find("ended before") != std::string::npos) {
    why = ended_reason(engine, name, log_path);
  }
  if (!why.empty()) {
    ctx.ui.error(
        core::make_error(core::ErrorKind::remote,
                         why,
                         fmt::format("'furnace logs {}' shows the server's output", name)));
    (void)engine.stop_container(name, 5);
    remove_lab_files(token_path);
    return k_not_started;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - started).count();
  const std::string url = lab_url(port, *token);
  ctx.ui.info(fmt::format("{} is ready in {:.1f} s, on 127.0.0.1:{} only", name, secs, port));
  ctx.ui.out() << url << '\n';
  ctx.ui.out().flush();
  const std::string user = caller_name(launcher, ctx.env);
  if (auto line = ssh_tunnel_line(ctx.env, user, port)) {
    ctx.ui.info(fmt::format(
        "over ssh: on your own computer run\n  {}\nthen open the URL above there", *line));
  } else if (!o.no_browser && desktop_session(ctx.env)) {
    open_browser(ctx, token_path, url);
  }
  if (o.detach) {
    ctx.ui.info(fmt::format("running in the background: 'furnace lab --url' prints the URL again, "
                            "'furnace stop {}' ends it",
                            name));
    return 0;
  }
  ctx.ui.info("Ctrl-C stops it");
  const int end = wait_then_stop(ctx, engine, name);
  remove_lab_files(token_path);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  return end;
}

} // namespace furnace::run
