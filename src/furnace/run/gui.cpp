#include "gui.hpp"

#include <furnace/run/xauth.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/sha256.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

namespace furnace::run {

namespace {

constexpr unsigned k_x11_tcp_base = 6000;
constexpr std::size_t k_max_connections = 64;

std::string env_or(const core::Env& env, const char* key, const std::string& fallback = {}) {
  const auto it = env.find(key);
  return it == env.end() || it->second.empty() ? fallback : it->second;
}

core::Error io_error(const std::string& what, int err) {
  return core::make_error(core::ErrorKind::io, fmt::format("{}: {}", what, std::strerror(err)));
}

// The authority file X clients of the caller read: $XAUTHORITY, else ~/.Xauthority of the
// caller (under sudo, the caller's home rather than root's).
std::string xauthority_path(const core::Env& env, const std::optional<HostUser>& user) {
  if (std::string x = env_or(env, "XAUTHORITY"); !x.empty()) {
    return x;
  }
  std::string home = env_or(env, "HOME");
  if (::getuid() == 0 && user && user->uid != 0) {
    const struct passwd* pw = ::getpwuid(user->uid); // NOLINT(concurrency-mt-unsafe)
    home = pw != nullptr && pw->pw_dir != nullptr ? std::string(pw->pw_dir) : std::string();
  }
  return home + "/.Xauthority";
}

core::Result<XDisplay> display_of(const core::Env& env) {
  const std::string display = env_or(env, "DISPLAY");
  if (!display.empty()) {
    return parse_display(display);
  }
  if (const std::string wl = env_or(env, "WAYLAND_DISPLAY"); !wl.empty()) {
    return core::fail(core::ErrorKind::unavailable,
                      fmt::format("--gui: this is a Wayland session (WAYLAND_DISPLAY={}) without "
                                  "an X display: DISPLAY is not set",
                                  wl),
                      "furnace shows windows through XWayland, which GNOME and KDE start by "
                      "default: enable it in your desktop, or log in to an X11 session (under "
                      "sudo: 'sudo --preserve-env=DISPLAY,XAUTHORITY')");
  }
  return core::fail(core::ErrorKind::unavailable,
                    "--gui: there is no display to show windows on: DISPLAY is not set",
                    "run furnace in a desktop session, or connect with 'ssh -X' (or -Y) so that "
                    "ssh forwards one; under sudo keep it with "
                    "'sudo --preserve-env=DISPLAY,XAUTHORITY'");
}

// The cookie for `d`, from the caller's authority file.
core::Result<XauthEntry> cookie_for(const core::Env& env, const GuiRequest& r, const XDisplay& d) {
  const std::string path = xauthority_path(env, r.user);
  auto bytes = util::read_file(path);
  if (!bytes) {
    return core::fail(
        core::ErrorKind::not_found,
        fmt::format("--gui: cannot read the X authority file {}: {}", path, bytes.error().message),
        "furnace gives the container this display's cookie from it: set XAUTHORITY "
        "to your session's file (under sudo: 'sudo --preserve-env=DISPLAY,XAUTHORITY')");
  }
  auto entries = parse_xauthority(*bytes);
  if (!entries) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("--gui: {}: {}", path, entries.error().message),
                      entries.error().hint);
  }
  auto cookie = find_cookie(*entries, d, r.hostname);
  if (!cookie) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("--gui: {} holds no cookie for DISPLAY={} on {}",
                                  path,
                                  env_or(env, "DISPLAY"),
                                  r.hostname),
                      "furnace never opens a display without one (and never runs xhost): 'xauth "
                      "list' shows the cookies; 'ssh -X' and desktop sessions make one");
  }
  cookie->family = k_family_wild; // the container has another host name
  return *cookie;
}

// Makes `path` a directory only `uid` may enter, or checks that the existing one is exactly that
// (not a link, not someone else's, not open to others): /tmp is shared.
core::Result<void> private_dir(const std::string& path, uid_t uid, gid_t gid) {
  if (::mkdir(path.c_str(), 0700) == 0) {
    if (::geteuid() == 0 && uid != 0 && ::chown(path.c_str(), uid, gid) != 0) {
      return core::fail(io_error(fmt::format("cannot give {} to uid {}", path, uid), errno));
    }
    return {};
  }
  if (errno != EEXIST) {
    return core::fail(io_error(fmt::format("cannot make {}", path), errno));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid ||
      (st.st_mode & 077U) != 0) {
    return core::fail(core::ErrorKind::permission,
                      fmt::format("--gui: {} is not a private directory of uid {} (a link, another "
                                  "owner, or open to others): furnace does not put a cookie there",
                                  path,
                                  uid),
                      fmt::format("remove it ('sudo rm -r {}') and run again", path));
  }
  return {};
}

// A unix socket listening at `path` (unlinked first), given to uid/gid, mode 0600.
core::Result<int> listen_unix(const std::string& path, uid_t uid, gid_t gid) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("--gui: the relay's socket path {} is too long", path),
                      "set TMPDIR to a shorter directory");
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(static_cast<char*>(addr.sun_path), path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return core::fail(io_error("socket", errno));
  }
  ::unlink(path.c_str());
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::chmod(path.c_str(), 0600) != 0 ||
      (::geteuid() == 0 && ::chown(path.c_str(), uid, gid) != 0) || ::listen(fd, 16) != 0) {
    const int e = errno;
    ::close(fd);
    return core::fail(io_error(fmt::format("cannot listen on {}", path), e));
  }
  return fd;
}

int connect_loopback(unsigned port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// The paths the helper removes, made before fork (the child allocates nothing).
struct Leftovers {
  std::string cookie;
  std::string socket;     // "" when there is no relay
  std::string socket_dir; // "" when there is no relay
  std::string run_dir;
  void remove() const {
    ::unlink(cookie.c_str());
    if (!socket.empty()) {
      ::unlink(socket.c_str());
      ::rmdir(socket_dir.c_str());
    }
    ::rmdir(run_dir.c_str());
  }
};

// The helper: relays connections from `listen_fd` (-1: none) to 127.0.0.1:`port`, and when
// `keepalive` reads EOF (every furnace process of the run is gone) removes the files and exits.
// X servers and Xlib never stop reading while they write, so a blocking send cannot deadlock.
[[noreturn]] void helper_main(int keepalive, int listen_fd, unsigned port, const Leftovers& files) {
  struct Pair {
    int client = -1;
    int server = -1;
  };
  std::array<Pair, k_max_connections> pairs{};
  std::array<pollfd, 2 + 2 * k_max_connections> fds{};
  std::array<char, 65536> buf{};
  while (true) {
    std::size_t n = 0;
    fds.at(n++) = pollfd{keepalive, POLLIN, 0};
    fds.at(n++) = pollfd{listen_fd, POLLIN, 0};
    for (const Pair& p : pairs) {
      fds.at(n++) = pollfd{p.client, POLLIN, 0};
      fds.at(n++) = pollfd{p.server, POLLIN, 0};
    }
    if (::poll(fds.data(), n, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    if (fds[0].revents != 0) {
      break; // EOF: the run is over
    }
    if ((fds[1].revents & POLLIN) != 0) {
      const int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      Pair* free_slot = nullptr;
      for (Pair& p : pairs) {
        if (p.client < 0) {
          free_slot = &p;
          break;
        }
      }
      const int s = c >= 0 && free_slot != nullptr ? connect_loopback(port) : -1;
      if (s >= 0) {
        // A peer that stops reading (a stopped client) costs its connection after a while, not
        // the whole relay.
        const timeval limit{10, 0};
        ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
        ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
        *free_slot = Pair{c, s};
      } else if (c >= 0) {
        ::close(c);
      }
    }
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      Pair& p = pairs.at(i);
      for (int side = 0; side < 2 && p.client >= 0; ++side) {
        const pollfd& f = fds.at(2 + 2 * i + static_cast<std::size_t>(side));
        if ((f.revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
          continue;
        }
        const int from = side == 0 ? p.client : p.server;
        const int to = side == 0 ? p.server : p.client;
        const ssize_t r = ::recv(from, buf.data(), buf.size(), 0);
        if (r <= 0 || !send_all(to, buf.data(), static_cast<std::size_t>(r))) {
          ::close(p.client);
          ::close(p.server);
          p = Pair{};
        }
      }
    }
  }
  files.remove();
  ::_exit(0);
}

// Forks the helper. It keeps only `keep_read` and `listen_fd`, in a session of its own (a Ctrl-C
// of the terminal is furnace's to relay, not the helper's), with /dev/null for stdio.
core::Result<int>
start_helper(int keep_read, int listen_fd, unsigned port, const Leftovers& files) {
  const pid_t pid = ::fork();
  if (pid < 0) {
    return core::fail(io_error("fork", errno));
  }
  if (pid > 0) {
    return static_cast<int>(pid);
  }
  ::setsid();
  for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) {
    ::signal(s, SIG_IGN);
  }
  ::signal(SIGCHLD, SIG_DFL);
  const int null_fd = ::open("/dev/null", O_RDWR);
  for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
    ::dup2(null_fd, fd);
  }
  // Nothing else of furnace's stays open here: a pipe of the caller would never see its EOF.
  // The two descriptors it needs become 3 and 4 (by way of numbers above both), then the rest
  // goes in one call (a loop to a nofile limit of 2^20 would take a while).
  constexpr int k_keep_fd = 3;
  constexpr int k_listen_fd = 4;
  constexpr int k_scratch = 64;
  const int keep_high = ::fcntl(keep_read, F_DUPFD, k_scratch);
  const int listen_high = listen_fd >= 0 ? ::fcntl(listen_fd, F_DUPFD, k_scratch) : -1;
  ::dup2(keep_high, k_keep_fd);
  if (listen_high >= 0) {
    ::dup2(listen_high, k_listen_fd);
  }
  if (::close_range(k_listen_fd + 1, ~0U, 0) != 0) {
    const long max_fd = ::sysconf(_SC_OPEN_MAX);
    for (int fd = k_listen_fd + 1; fd < (max_fd > 0 && max_fd < 65536 ? max_fd : 65536); ++fd) {
      ::close(fd);
    }
  }
  helper_main(k_keep_fd, listen_fd >= 0 ? k_listen_fd : -1, port, files);
}

// A local display's X server listens on x_socket; a clear error when nothing is there.
core::Result<void> check_x_socket(const core::Env& env, const std::string& x_socket) {
  struct stat st {};
  if (::stat(x_socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return core::fail(core::ErrorKind::unavailable,
                      fmt::format("--gui: DISPLAY={} has no socket {}: no X server runs there",
                                  env_or(env, "DISPLAY"),
                                  x_socket),
                      "check DISPLAY ('xdpyinfo' on the host opens it), or log in to the desktop "
                      "session again");
  }
  return {};
}

} // namespace

core::Result<GuiMode> parse_gui_mode(std::string_view text, std::string_view from) {
  if (text.empty() || text == "none" || text == "false" || text == "no") {
    return GuiMode::none;
  }
  if (text == "x11" || text == "true" || text == "yes") {
    return GuiMode::x11;
  }
  if (text == "gl") {
    return GuiMode::gl;
  }
  return core::fail(core::ErrorKind::usage,
                    fmt::format("{} cannot be '{}'", from, text),
                    "use x11 (what --gui alone means), gl (also OpenGL through the NVIDIA driver) "
                    "or none");
}

void add_gui(ContainerSpec& s, const GuiHost& g) {
  s.mounts.push_back(Mount{g.socket_dir, k_container_x11_dir, true});
  s.mounts.push_back(Mount{g.cookie_file, k_container_xauthority, true});
  s.env["DISPLAY"] = g.display;
  s.env["XAUTHORITY"] = k_container_xauthority;
  s.env["QT_X11_NO_MITSHM"] = "1";
  if (g.mode == GuiMode::gl) {
    std::string& caps = s.env["NVIDIA_DRIVER_CAPABILITIES"];
    if (caps.empty()) {
      caps = "compute,utility,graphics";
    } else if (caps != "all" && caps.find("graphics") == std::string::npos) {
      caps += ",graphics";
    }
  }
}

GuiSession::GuiSession(GuiSession&& o) noexcept
    : m_host(std::move(o.m_host)), m_keepalive(std::exchange(o.m_keepalive, -1)),
      m_helper(std::exchange(o.m_helper, -1)), m_keep(o.m_keep), m_socket(std::move(o.m_socket)) {
  o.m_host = GuiHost{};
}

GuiSession& GuiSession::operator=(GuiSession&& o) noexcept {
  if (this != &o) {
    finish();
    m_host = std::move(o.m_host);
    o.m_host = GuiHost{};
    m_keepalive = std::exchange(o.m_keepalive, -1);
    m_helper = std::exchange(o.m_helper, -1);
    m_keep = o.m_keep;
    m_socket = std::move(o.m_socket);
  }
  return *this;
}

GuiSession::~GuiSession() {
  finish();
}

void GuiSession::finish() {
  if (!m_keep && m_keepalive >= 0) {
    // Gone before furnace exits, not some time after: the helper does the same when it sees EOF.
    const Leftovers files{m_host.cookie_file,
                          m_socket,
                          m_socket.empty() ? std::string() : m_host.socket_dir,
                          m_host.run_dir};
    files.remove();
  }
  if (m_keepalive >= 0) {
    ::close(m_keepalive);
    m_keepalive = -1;
  }
  if (m_helper > 0 && !m_keep) {
    // It ends at once on EOF; one stuck in a send is not worth a hanging furnace (the files are
    // gone already).
    int status = 0;
    bool reaped = false;
    for (int i = 0; i < 200 && !reaped; ++i) {
      const pid_t w = ::waitpid(m_helper, &status, WNOHANG);
      reaped = w == m_helper || (w < 0 && errno == ECHILD);
      if (!reaped) {
        ::usleep(10000);
      }
    }
    if (!reaped) {
      ::kill(m_helper, SIGKILL);
      ::waitpid(m_helper, &status, 0);
    }
  }
  m_helper = -1;
}

core::Result<std::string> display_cookie_file(const core::Env& env, const GuiRequest& r) {
  auto display = display_of(env);
  if (!display) {
    return core::fail(display.error());
  }
  auto cookie = cookie_for(env, r, *display);
  if (!cookie) {
    return core::fail(cookie.error());
  }
  return write_xauthority({*cookie});
}

core::Result<GuiSession> prepare_gui(const core::Env& env, const GuiRequest& r) {
  auto display = display_of(env);
  if (!display) {
    return core::fail(display.error());
  }
  const uid_t uid = r.user ? r.user->uid : ::getuid();
  const gid_t gid = r.user ? r.user->gid : ::getgid();
  GuiSession session;
  GuiHost& g = session.m_host;
  g.mode = r.mode;
  g.display = fmt::format(":{}.{}", display->number, display->screen);
  const std::string base = fmt::format("{}/furnace-gui-{}", env_or(env, "TMPDIR", "/tmp"), uid);
  g.run_dir = base + "/" + r.run_name;
  g.cookie_file = g.run_dir + "/Xauthority";
  const std::string x_socket = fmt::format("/tmp/.X11-unix/X{}", display->number);
  const unsigned port = k_x11_tcp_base + display->number;
  if (display->tcp) {
    g.socket_dir = g.run_dir + "/X11-unix";
    g.relay_to = fmt::format("127.0.0.1:{}", port);
    session.m_socket = fmt::format("{}/X{}", g.socket_dir, display->number);
  } else {
    g.socket_dir = "/tmp/.X11-unix";
  }
  auto cookie = cookie_for(env, r, *display);
  if (!cookie) {
    return core::fail(cookie.error());
  }
  if (!display->tcp) {
    if (auto ok = check_x_socket(env, x_socket); !ok) {
      return core::fail(ok.error());
    }
  }
  if (display->tcp) {
    const int probe = connect_loopback(port);
    if (probe < 0) {
      return core::fail(core::ErrorKind::unavailable,
                        fmt::format("--gui: nothing listens on 127.0.0.1:{} for DISPLAY={}",
                                    port,
                                    env_or(env, "DISPLAY")),
                        "the ssh connection that forwarded this display has ended: connect again "
                        "with 'ssh -X'");
    }
    ::close(probe);
  }
  if (r.dry_run) {
    return session;
  }
  if (auto ok = private_dir(base, uid, gid); !ok) {
    return core::fail(ok.error());
  }
  if (auto ok = private_dir(g.run_dir, uid, gid); !ok) {
    return core::fail(ok.error());
  }
  util::AtomicWriteOptions w;
  w.mode = 0600;
  w.owner = uid;
  w.group = gid;
  if (auto ok = util::write_file_atomic(g.cookie_file, write_xauthority({*cookie}), w); !ok) {
    ::rmdir(g.run_dir.c_str());
    return core::fail(core::ErrorKind::io,
                      fmt::format("--gui: cannot write {}: {}", g.cookie_file, ok.error().message));
  }
  const Leftovers files{
      g.cookie_file, session.m_socket, display->tcp ? g.socket_dir : std::string(), g.run_dir};
  int listen_fd = -1;
  if (display->tcp) {
    if (auto ok = private_dir(g.socket_dir, uid, gid); !ok) {
      files.remove();
      return core::fail(ok.error());
    }
    auto fd = listen_unix(session.m_socket, uid, gid);
    if (!fd) {
      files.remove();
      return core::fail(fd.error());
    }
    listen_fd = *fd;
  }
  std::array<int, 2> keep{-1, -1};
  if (::pipe2(keep.data(), O_CLOEXEC) != 0) {
    const int e = errno;
    files.remove();
    return core::fail(io_error("pipe", e));
  }
  auto helper = start_helper(keep[0], listen_fd, port, files);
  ::close(keep[0]);
  if (listen_fd >= 0) {
    ::close(listen_fd);
  }
  if (!helper) {
    ::close(keep[1]);
    files.remove();
    return core::fail(helper.error());
  }
  session.m_keepalive = keep[1];
  session.m_helper = *helper;
  return session;
}

namespace {

// The caller's home on the host: $HOME, or under sudo the caller's own (sudo sets root's).
std::string caller_home(const core::Env& env, const std::optional<HostUser>& user) {
  if (::getuid() == 0 && user && user->uid != 0) {
    const struct passwd* pw = ::getpwuid(user->uid); // NOLINT(concurrency-mt-unsafe)
    if (pw != nullptr && pw->pw_dir != nullptr) {
      return pw->pw_dir;
    }
  }
  return env_or(env, "HOME", "/");
}

// Makes `path` (mode `mode`, given to uid/gid) when it is missing; leaves one that is there.
core::Result<void> owned_dir(const std::string& path, mode_t mode, uid_t uid, gid_t gid) {
  if (::mkdir(path.c_str(), mode) != 0) {
    if (errno == EEXIST) {
      return {};
    }
    return core::fail(io_error(fmt::format("cannot make {}", path), errno));
  }
  if (::geteuid() == 0 && uid != 0 && ::chown(path.c_str(), uid, gid) != 0) {
    return core::fail(io_error(fmt::format("cannot give {} to uid {}", path, uid), errno));
  }
  return {};
}

} // namespace

std::string lasting_cookie_path(const core::Env& env,
                                const std::optional<HostUser>& user,
                                const std::string& project_name,
                                const std::string& project_root) {
  return fmt::format("{}/.local/state/furnace/ide-gui/{}-{}/Xauthority",
                     caller_home(env, user),
                     project_name,
                     util::sha256_hex(project_root).substr(0, 12));
}

core::Result<GuiHost>
prepare_lasting_gui(const core::Env& env, const GuiRequest& r, const std::string& cookie_file) {
  auto display = display_of(env);
  if (!display) {
    return core::fail(display.error());
  }
  if (display->tcp) {
    return core::fail(
        core::ErrorKind::unavailable,
        fmt::format("--gui: DISPLAY={} is forwarded by ssh -X: the IDE's container outlives "
                    "furnace, and the relay furnace puts between it and ssh's port does not",
                    env_or(env, "DISPLAY")),
        "run 'furnace ide --gui' in a desktop session on this host (a local display), or show "
        "the windows of one program with 'furnace run --gui -- python plot.py' instead");
  }
  const std::string x_socket = fmt::format("/tmp/.X11-unix/X{}", display->number);
  if (auto ok = check_x_socket(env, x_socket); !ok) {
    return core::fail(ok.error());
  }
  auto cookie = cookie_for(env, r, *display);
  if (!cookie) {
    return core::fail(cookie.error());
  }
  GuiHost g;
  g.mode = r.mode;
  g.display = fmt::format(":{}.{}", display->number, display->screen);
  g.socket_dir = "/tmp/.X11-unix";
  g.cookie_file = cookie_file;
  if (r.dry_run) {
    return g;
  }
  const uid_t uid = r.user ? r.user->uid : ::getuid();
  const gid_t gid = r.user ? r.user->gid : ::getgid();
  // Every directory up to the project's is made as needed (the caller's); the last two are
  // checked to be private, as a run's directory is.
  const std::filesystem::path dir = std::filesystem::path(cookie_file).parent_path();
  const std::filesystem::path base = dir.parent_path();
  std::vector<std::filesystem::path> missing;
  for (std::filesystem::path p = base.parent_path(); !p.empty() && p != p.root_path();
       p = p.parent_path()) {
    std::error_code ec;
    if (std::filesystem::exists(p, ec)) {
      break;
    }
    missing.push_back(p);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (auto ok = owned_dir(it->string(), 0700, uid, gid); !ok) {
      return core::fail(ok.error());
    }
  }
  for (const std::filesystem::path& p : {base, dir}) {
    if (auto ok = private_dir(p.string(), uid, gid); !ok) {
      return core::fail(ok.error());
    }
  }
  util::AtomicWriteOptions w;
  w.mode = 0600;
  w.owner = uid;
  w.group = gid;
  if (auto ok = util::write_file_atomic(cookie_file, write_xauthority({*cookie}), w); !ok) {
    return core::fail(core::ErrorKind::io,
                      fmt::format("--gui: cannot write {}: {}", cookie_file, ok.error().message));
  }
  return g;
}

} // namespace furnace::run
