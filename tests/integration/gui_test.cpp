// furnace run --gui against a real X server: Xvfb with authentication (-auth, a cookie made by
// xauth) on a free display, and a Tk and an Xlib client (python3-tk, xdpyinfo) in an image built
// FROM the stand-in. A window opens and shows in a screenshot of the screen (written to
// $FURNACE_GUI_SCREENSHOT when set: docs/images/gui-xvfb.png comes from there); without --gui, or
// with a wrong cookie, the client is refused; `xhost` says the same before and after; the run's
// cookie file is the caller's, 0600, and gone afterwards, also after SIGTERM or SIGINT to furnace,
// a SIGKILL of furnace and `furnace stop` of a detached run; an ssh -X display (socat on
// 127.0.0.1:60NN standing in for sshd's forwarding) is reached through furnace's relay. Tests run
// as root; the caller is a test uid given as sudo would (SUDO_UID).

#include "support/background.hpp"
#include "support/test_env.hpp"

#include <furnace/util/sha256.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

namespace furnace::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr unsigned k_uid = 4243; // the caller (SUDO_UID); no passwd entry needed
constexpr const char* k_stand_in = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";
constexpr const char* k_window_title = "furnace-gui-test";

// The X client image: the stand-in plus Debian's Tk, xdpyinfo/xwininfo and a font, labelled as a
// stand-in, tagged by the hash of its Dockerfile (built once per engine).
std::string client_dockerfile() {
  return std::string("FROM ") + k_stand_in +
         "\n"
         "ARG DEBIAN_FRONTEND=noninteractive\n"
         "RUN apt-get update \\\n"
         " && apt-get install -y --no-install-recommends python3-tk x11-utils fonts-dejavu-core "
         "\\\n"
         " && rm -rf /var/lib/apt/lists/*\n"
         "LABEL org.furnace.stand-in=true \\\n"
         "      org.furnace.stand-in.note=\"the stand-in with X clients (python3-tk, x11-utils) "
         "for "
         "the --gui tests\"\n";
}

// A window with a title xwininfo can find and something to see in the screenshot.
constexpr const char* k_window_py = R"py(import os, tkinter as tk
root = tk.Tk()
root.title("furnace-gui-test")
root.geometry("560x300+40+50")
root.configure(bg="#1f2937")
tk.Label(root, text="furnace run --gui", fg="#f97316", bg="#1f2937",
         font=("DejaVu Sans", 30, "bold")).pack(pady=(40, 10))
tk.Label(root, text="Tk in the container, as uid %d, on DISPLAY=%s" % (os.getuid(), os.environ["DISPLAY"]),
         fg="#e5e7eb", bg="#1f2937", font=("DejaVu Sans", 13)).pack()
tk.Label(root, text="cookie: %s (read-only, this display only)" % os.environ["XAUTHORITY"],
         fg="#9ca3af", bg="#1f2937", font=("DejaVu Sans", 11)).pack(pady=(8, 0))
c = tk.Canvas(root, width=480, height=60, bg="#1f2937", highlightthickness=0)
for i, col in enumerate(["#ef4444", "#f59e0b", "#10b981", "#3b82f6", "#8b5cf6"]):
    c.create_rectangle(10 + i * 94, 10, 90 + i * 94, 50, fill=col, outline="")
c.pack(pady=20)
root.after(120000, root.destroy)
root.mainloop()
)py";

bool have(const char* tool) {
  return sh(std::string("command -v ") + tool + " >/dev/null").status.ok();
}

// A 127.0.0.1 port nobody listens on, from 6000+`from`: the display number is port - 6000.
unsigned free_x_tcp_display(unsigned from) {
  for (unsigned n = from; n < from + 400; ++n) {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(6000 + n));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    const bool ok = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    if (ok && !fs::exists("/tmp/.X11-unix/X" + std::to_string(n)) &&
        !fs::exists("/tmp/.X" + std::to_string(n) + "-lock")) {
      return n;
    }
  }
  return 0;
}

class GuiCli : public ::testing::Test {
protected:
  void SetUp() override {
    FURNACE_REQUIRE_ENGINE();
    for (const char* tool : {"Xvfb",
                             "xauth",
                             "xwd",
                             "xwdtopnm",
                             "pnmtopng",
                             "xwininfo",
                             "xhost",
                             "xdpyinfo",
                             "socat"}) {
      FURNACE_REQUIRE(have(tool), std::string(tool) + " is missing: run 'sudo scripts/deps.sh'");
    }
    m_dir = std::make_unique<TempDir>();
    ASSERT_TRUE(build_client_image()) << "building the X client image failed";
    start_xvfb();
    ASSERT_GT(m_display, 0U) << "Xvfb did not start: " << read_text(m_dir->path() + "/xvfb.log");
    m_dir->write("project/furnace.yaml", "name: furnace-it-gui\nbase: " + m_image + "\n");
    m_dir->write("project/window.py", k_window_py);
    m_dir->write("home/.keep", "");
    m_dir->write("tmp/.keep", "");
    sh("chown -R " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + m_dir->path() +
       "/project " + m_dir->path() + "/home");
    sh("chmod 755 " + m_dir->path());
  }

  void TearDown() override {
    if (!m_dir) {
      return;
    }
    sh("docker ps -aq --filter label=org.furnace.project=" + project() +
       " | xargs -r docker rm -f");
    for (pid_t p : {m_socat, m_xvfb}) {
      if (p > 0) {
        ::kill(p, SIGTERM);
        Background{p, ""}.wait(seconds(5));
      }
    }
  }

  bool build_client_image() {
    const std::string df = client_dockerfile();
    m_image = "furnace-stand-in/gui-client:" + util::sha256_hex(df).substr(0, 12);
    if (sh("docker image inspect " + m_image + " >/dev/null 2>&1").status.ok()) {
      return true;
    }
    m_dir->write("image/Dockerfile", df);
    auto r = sh("docker build -q -t " + m_image + " " + m_dir->path() + "/image", 900);
    if (!r.status.ok()) {
      ADD_FAILURE() << r.out << r.err;
    }
    return r.status.ok();
  }

  // Xvfb on a free display with -auth: only clients with the cookie get in.
  void start_xvfb() {
    m_xauth = m_dir->path() + "/xauthority";
    m_cookie = util::sha256_hex(m_dir->path() + std::to_string(::getpid())).substr(0, 32);
    for (int attempt = 0; attempt < 5 && m_display == 0; ++attempt) {
      const unsigned n = free_x_tcp_display(120 + static_cast<unsigned>(::getpid() % 200) +
                                            static_cast<unsigned>(attempt) * 7);
      if (!sh("xauth -f " + m_xauth + " add :" + std::to_string(n) + " MIT-MAGIC-COOKIE-1 " +
              m_cookie)
               .status.ok()) {
        continue;
      }
      SpawnOptions o;
      o.die_with_parent = true;
      o.own_group = true;
      const Background x = spawn_background({"Xvfb",
                                             ":" + std::to_string(n),
                                             "-auth",
                                             m_xauth,
                                             "-screen",
                                             "0",
                                             "640x400x24",
                                             "-nolisten",
                                             "tcp"},
                                            {"PATH=/usr/bin:/bin"},
                                            m_dir->path() + "/xvfb.log",
                                            o);
      const std::string sock = "/tmp/.X11-unix/X" + std::to_string(n);
      if (wait_for([&] { return fs::exists(sock) && host_x("xdpyinfo >/dev/null", n).status.ok(); },
                   seconds(10))) {
        m_xvfb = x.pid;
        m_display = n;
      } else {
        ::kill(x.pid, SIGKILL);
        x.wait(seconds(5));
      }
    }
  }

  // A command on the host as a client of display `display` (the suite's) with the right cookie.
  util::ProcessOutput host_x(const std::string& cmd, unsigned display = 0) const {
    return sh("DISPLAY=:" + std::to_string(display != 0 ? display : m_display) +
              " XAUTHORITY=" + m_xauth + " " + cmd);
  }

  std::string project() const { return m_dir->path() + "/project"; }
  std::string gui_base() const {
    return m_dir->path() + "/tmp/furnace-gui-" + std::to_string(k_uid);
  }
  std::vector<std::string> run_dirs() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(gui_base(), ec)) {
      out.push_back(e.path().string());
    }
    return out;
  }

  // furnace's environment: the caller (as sudo gives it), the display, no GPU.
  std::map<std::string, std::string> env() const {
    return {{"HOME", m_dir->path() + "/home"},
            {"TMPDIR", m_dir->path() + "/tmp"},
            {"SUDO_UID", std::to_string(k_uid)},
            {"SUDO_GID", std::to_string(k_uid)},
            {"SUDO_USER", "furnace-gui-it"},
            {"DISPLAY", ":" + std::to_string(m_display)},
            {"XAUTHORITY", m_xauth},
            {"-WAYLAND_DISPLAY", ""},
            {"-XDG_DATA_HOME", ""},
            {"-XDG_CACHE_HOME", ""},
            {"-XDG_CONFIG_HOME", ""},
            {"FURNACE_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"}};
  }
  // `furnace run -C PROJECT --gpus none ARGS`; `extra` changes env() ("-NAME" removes NAME).
  ::furnace::testing::Run furnace(const std::vector<std::string>& args,
                                  const std::map<std::string, std::string>& extra = {}) const {
    auto e = env();
    for (const auto& [k, v] : extra) {
      if (k.starts_with("-")) {
        e.erase(k.substr(1));
      } else {
        e.erase("-" + k);
      }
      e[k] = v;
    }
    std::vector<std::string> a = {"run", "-C", project(), "--gpus", "none"};
    a.insert(a.end(), args.begin(), args.end());
    return run_furnace(a, e);
  }
  Background spawn(const std::vector<std::string>& args, const std::string& out) const {
    std::vector<std::string> argv = {FURNACE_BINARY, "run", "-C", project(), "--gpus", "none"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> envs;
    for (const auto& [k, v] : changed_env(env())) {
      envs.push_back(k + "=" + v);
    }
    return spawn_background(argv, envs, m_dir->path() + "/" + out);
  }

  std::unique_ptr<TempDir> m_dir;
  std::string m_image;
  std::string m_xauth;
  std::string m_cookie;
  unsigned m_display = 0;
  pid_t m_xvfb = -1;
  pid_t m_socat = -1;
};

// The window opens on the Xvfb screen (xwininfo lists it), the screenshot shows it, xhost is
// untouched, the cookie is the caller's 0600 file while it runs and gone after SIGTERM to furnace.
TEST_F(GuiCli, a_tk_window_shows_on_the_display_and_its_cookie_goes_after_sigterm) {
  const std::string xhost_before = host_x("xhost 2>&1").out;
  ASSERT_FALSE(xhost_before.empty());
  const Background run = spawn({"--gui", "--", "python3", "window.py"}, "run.out");
  const bool shown = wait_for(
      [&] { return host_x("xwininfo -root -tree").out.find(k_window_title) != std::string::npos; },
      seconds(240));
  ASSERT_TRUE(shown) << run.output();
  // Let Tk draw, then take the screenshot.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const char* target = std::getenv("FURNACE_GUI_SCREENSHOT"); // NOLINT(concurrency-mt-unsafe)
  const std::string png =
      target != nullptr && *target != '\0' ? target : m_dir->path() + "/gui.png";
  auto shot = host_x("xwd -root -silent | xwdtopnm 2>/dev/null | pnmtopng > '" + png + "'");
  ASSERT_TRUE(shot.status.ok()) << shot.err;
  const std::string bytes = read_text(png);
  ASSERT_GT(bytes.size(), 1000U);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  // The window is on screen, mapped, at the size Tk was asked for.
  auto info = host_x(std::string("xwininfo -name ") + k_window_title);
  EXPECT_NE(info.out.find("Map State: IsViewable"), std::string::npos) << info.out << info.err;
  EXPECT_NE(info.out.find("Width: 560"), std::string::npos) << info.out;

  const auto dirs = run_dirs();
  ASSERT_EQ(dirs.size(), 1U);
  struct stat st {};
  ASSERT_EQ(::stat((dirs[0] + "/Xauthority").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777U, 0600U);
  EXPECT_EQ(st.st_uid, k_uid);
  auto listed = sh("xauth -f " + dirs[0] + "/Xauthority list");
  // xauth shows a wildcard entry's address in hex: the host name the cookie came with.
  std::array<char, 256> host{};
  ::gethostname(host.data(), host.size() - 1);
  std::string host_hex;
  for (const char c : std::string(host.data())) {
    host_hex += fmt::format("{:02x}", static_cast<unsigned char>(c));
  }
  EXPECT_EQ(util::trim(listed.out),
            "#ffff#" + host_hex + "#:" + std::to_string(m_display) + "  MIT-MAGIC-COOKIE-1  " +
                m_cookie)
      << "one entry, this display's, for any host name";
  // Not in furnace's argv, nor in the container's configuration.
  const std::string name = fs::path(dirs[0]).filename().string();
  EXPECT_EQ(sh("docker inspect " + name).out.find(m_cookie), std::string::npos);

  ::kill(run.pid, SIGTERM);
  const int code = run.wait(seconds(60));
  EXPECT_NE(code, -1) << run.output();
  EXPECT_TRUE(run_dirs().empty()) << "the cookie and its directory are gone";
  EXPECT_EQ(host_x("xhost 2>&1").out, xhost_before);
  EXPECT_EQ(sh("docker ps -aq --filter name=" + name).out, "");
}

// The same display without --gui, or with another cookie, stays closed to the container.
TEST_F(GuiCli, without_gui_or_with_a_wrong_cookie_the_client_is_refused) {
  auto plain = furnace({"-e", "DISPLAY=:" + std::to_string(m_display), "--", "xdpyinfo"});
  EXPECT_NE(plain.exit_code, 0) << plain.out;
  EXPECT_NE(plain.err.find("unable to open display"), std::string::npos) << plain.err;

  const std::string wrong = m_dir->path() + "/wrong-xauthority";
  ASSERT_TRUE(sh("xauth -f " + wrong + " add :" + std::to_string(m_display) +
                 " MIT-MAGIC-COOKIE-1 00000000000000000000000000000000")
                  .status.ok());
  sh("chmod 644 " + wrong);
  auto refused = furnace({"--gui", "--", "xdpyinfo"}, {{"XAUTHORITY", wrong}});
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_NE(refused.err.find("unable to open display"), std::string::npos) << refused.err;
  EXPECT_TRUE(run_dirs().empty());

  auto right = furnace({"--gui", "--", "xdpyinfo"});
  EXPECT_EQ(right.exit_code, 0) << right.err;
  EXPECT_NE(right.out.find("name of display:    :" + std::to_string(m_display)), std::string::npos);
  EXPECT_TRUE(run_dirs().empty());
}

// ssh -X: sshd listens on 127.0.0.1:6000+N and adds "HOST/unix:N" to ~/.Xauthority; socat plays
// the listener (bridged to Xvfb's socket). furnace relays the container's :N socket to that port.
TEST_F(GuiCli, an_ssh_x_display_is_reached_through_the_relay) {
  const unsigned n = free_x_tcp_display(m_display + 1);
  ASSERT_GT(n, 0U);
  ASSERT_TRUE(sh("xauth -f " + m_xauth + " add unix:" + std::to_string(n) + " MIT-MAGIC-COOKIE-1 " +
                 m_cookie)
                  .status.ok());
  SpawnOptions o;
  o.die_with_parent = true;
  const Background socat =
      spawn_background({"socat",
                        "TCP-LISTEN:" + std::to_string(6000 + n) + ",bind=127.0.0.1,fork,reuseaddr",
                        "UNIX-CONNECT:/tmp/.X11-unix/X" + std::to_string(m_display)},
                       {"PATH=/usr/bin:/bin"},
                       m_dir->path() + "/socat.log",
                       o);
  m_socat = socat.pid;
  ASSERT_TRUE(wait_for([&] { return free_x_tcp_display(n) != n; }, seconds(10)));
  const std::string display = "localhost:" + std::to_string(n) + ".0";
  auto r =
      furnace({"--gui", "--", "sh", "-c", "echo DISPLAY=$DISPLAY; ls /tmp/.X11-unix; xdpyinfo"},
              {{"DISPLAY", display}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("DISPLAY=:" + std::to_string(n) + ".0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("name of display:    :" + std::to_string(n) + ".0"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("vendor string:    The X.Org Foundation"), std::string::npos);
  EXPECT_TRUE(run_dirs().empty()) << "the relay's socket and the cookie are gone";
}

// Ctrl-C ends the run and its cookie; so does a SIGKILL of furnace itself (the helper sees the
// run's last furnace process go), which leaves the container to the leftovers check.
TEST_F(GuiCli, the_cookie_goes_after_sigint_and_after_a_sigkill_of_furnace) {
  for (const int sig : {SIGINT, SIGKILL}) {
    SCOPED_TRACE(sig == SIGINT ? "SIGINT" : "SIGKILL");
    const Background run = spawn({"--gui", "--", "sleep", "300"}, "run.out");
    ASSERT_TRUE(wait_for(
        [&] {
          const auto dirs = run_dirs();
          return dirs.size() == 1 &&
                 sh("docker ps -q --filter name=" + fs::path(dirs[0]).filename().string()).out !=
                     "";
        },
        seconds(120)))
        << run.output();
    ::kill(run.pid, sig);
    EXPECT_NE(run.wait(seconds(60)), -1) << run.output();
    EXPECT_TRUE(wait_for([&] { return run_dirs().empty(); }, seconds(10)))
        << "the cookie is gone after furnace got " << sig;
    sh("docker ps -aq --filter label=org.furnace.project=" + project() +
       " | xargs -r docker rm -f");
  }
}

// A detached run keeps its cookie while it runs; `furnace stop` ends it and the cookie goes.
TEST_F(GuiCli, a_detached_runs_cookie_goes_with_furnace_stop) {
  auto started = furnace({"-d", "--gui", "--", "sleep", "300"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const std::string name = util::split(std::string(util::trim(started.out)), ' ').at(0);
  ASSERT_EQ(run_dirs().size(), 1U);
  EXPECT_TRUE(fs::exists(gui_base() + "/" + name + "/Xauthority"));
  auto stop = run_furnace({"stop", "-t", "1", name}, env());
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_TRUE(wait_for([&] { return run_dirs().empty(); }, seconds(30)));
}

// No display: a clear error before any container; --dry-run shows the X11 pieces.
TEST_F(GuiCli, no_display_is_a_clear_error_and_dry_run_shows_the_mounts) {
  auto none = furnace({"--gui", "--", "true"}, {{"-DISPLAY", ""}});
  EXPECT_EQ(none.exit_code, 125);
  EXPECT_NE(none.err.find("furnace: error: --gui: there is no display to show windows on: DISPLAY "
                          "is not set"),
            std::string::npos)
      << none.err;
  auto wayland =
      furnace({"--gui", "--", "true"}, {{"-DISPLAY", ""}, {"WAYLAND_DISPLAY", "wayland-0"}});
  EXPECT_EQ(wayland.exit_code, 125);
  EXPECT_NE(wayland.err.find("Wayland session (WAYLAND_DISPLAY=wayland-0) without an X display"),
            std::string::npos)
      << wayland.err;
  auto dry = furnace({"--dry-run", "--gui", "--", "true"});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("--mount type=bind,source=/tmp/.X11-unix,target=/tmp/.X11-unix,readonly"),
            std::string::npos)
      << dry.out;
  EXPECT_NE(dry.out.find(",target=/tmp/.furnace-Xauthority,readonly"), std::string::npos);
  EXPECT_NE(dry.out.find("--env DISPLAY"), std::string::npos);
  EXPECT_EQ(dry.out.find("--ipc"), std::string::npos);
  EXPECT_TRUE(run_dirs().empty()) << "a dry run writes no cookie";
}

// furnace ide --gui: the devcontainer CLI (which forwards no X11 itself) starts the container
// from the file, and a Tk client run through `devcontainer exec` opens a window on the Xvfb
// display with the project's lasting cookie (under the caller's ~/.local/state, 0600, not in the
// project); an ssh -X display is refused with what to use instead.
TEST_F(GuiCli, ide_gui_devcontainer_exec_opens_a_window_on_the_display) {
  const auto cli =
      sh("bash " + std::string(FURNACE_SOURCE_DIR) + "/scripts/devcontainer-cli.sh", 300);
  FURNACE_REQUIRE(cli.status.code == 0, "the devcontainer CLI could not be installed: " + cli.err);
  auto e = env();
  const auto written =
      run_furnace({"ide", "vscode", "--gui", "-C", project(), "--gpus", "none"}, e);
  ASSERT_EQ(written.exit_code, 0) << written.out << written.err;
  const std::string state = m_dir->path() + "/home/.local/state/furnace/ide-gui";
  std::vector<std::string> cookies;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(state, ec)) {
    cookies.push_back(d.path().string() + "/Xauthority");
  }
  ASSERT_EQ(cookies.size(), 1U) << "one cookie for the project under " << state;
  struct stat st {};
  ASSERT_EQ(::stat(cookies[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777U, 0600U);
  EXPECT_EQ(st.st_uid, k_uid);
  const std::string text = read_text(project() + "/.devcontainer/devcontainer.json");
  EXPECT_NE(
      text.find("type=bind,source=" + cookies[0] + ",target=/tmp/.furnace-Xauthority,readonly"),
      std::string::npos)
      << text;
  EXPECT_EQ(sh("grep -rl MIT-MAGIC " + project()).out, "") << "no cookie in the project";

  const auto up =
      run_command({"devcontainer", "up", "--workspace-folder", project()}, e, seconds(600));
  const std::string containers =
      "docker ps -aq --filter " + util::shell_quote("label=devcontainer.local_folder=" + project());
  const std::string images =
      sh(containers + " | xargs -r docker inspect -f '{{.Config.Image}}'").out;
  const auto client =
      run_command({"devcontainer",
                   "exec",
                   "--workspace-folder",
                   project(),
                   "python3",
                   "-c",
                   "import tkinter; r = tkinter.Tk(); r.title('furnace-ide-gui'); r.update(); "
                   "print('opened', r.winfo_screenwidth()); r.destroy()"},
                  e,
                  seconds(120));
  sh(containers + " | xargs -r docker rm -f");
  for (const std::string& image : util::split(images, '\n')) {
    if (image.rfind("vsc-", 0) == 0) {
      sh("docker rmi -f " + util::shell_quote(image));
    }
  }
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_EQ(client.exit_code, 0) << client.out << client.err;
  EXPECT_NE(client.out.find("opened 640"), std::string::npos) << client.out << client.err;

  auto ssh = e;
  ssh["DISPLAY"] = "localhost:" + std::to_string(m_display) + ".0";
  const auto refused =
      run_furnace({"ide", "vscode", "--gui", "--force", "-C", project(), "--gpus", "none"}, ssh);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("is forwarded by ssh -X"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("furnace run --gui"), std::string::npos) << refused.err;
}

} // namespace
} // namespace furnace::testing
