// furnace run --gui's pure parts and its host side without an X server: the X authority format
// against a file written by the real xauth, DISPLAY parsing, the cookie Xlib would pick (ssh -X's
// "HOST/unix:10" entry for localhost:10.0), the plan's mounts and variables (golden), and
// prepare_gui's errors, its 0600 single-cookie file, its relay (to a TCP listener on 127.0.0.1
// standing in for sshd's forwarding) and the clean-up when the session ends.

#include "support/test_env.hpp"

#include <furnace/project/furnace_yaml.hpp>
#include <furnace/run/gui.hpp>
#include <furnace/run/plan.hpp>
#include <furnace/run/xauth.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace furnace::run {
namespace {

namespace fs = std::filesystem;

const fs::path k_fixtures = fs::path(FURNACE_SOURCE_DIR) / "tests/unit/fixtures/xauth";
const fs::path k_golden = fs::path(FURNACE_SOURCE_DIR) / "tests/unit/golden/run";

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string hex(std::string_view s) {
  std::string out;
  for (const char c : s) {
    constexpr std::string_view k_digits = "0123456789abcdef";
    out += k_digits[(static_cast<unsigned char>(c) >> 4U) & 0xfU];
    out += k_digits[static_cast<unsigned char>(c) & 0xfU];
  }
  return out;
}

// Compares with golden/run/`name`; FURNACE_UPDATE_GOLDEN=1 rewrites it (and skips).
void expect_golden(const std::string& name, const std::string& actual) {
  const fs::path p = k_golden / name;
  const char* update = std::getenv("FURNACE_UPDATE_GOLDEN"); // NOLINT(concurrency-mt-unsafe)
  if (update != nullptr && std::string(update) == "1") {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << actual;
    GTEST_SKIP() << "rewrote " << p;
  }
  ASSERT_TRUE(fs::exists(p)) << p << " missing: run with FURNACE_UPDATE_GOLDEN=1";
  EXPECT_EQ(bytes_of(p), actual) << "golden " << p
                                 << " differs (FURNACE_UPDATE_GOLDEN=1 rewrites it)";
}

// two_hosts was written by xauth 1.1: gpu1/unix:0, gpu1/unix:10 (what sshd adds for ssh -X), and
// laptop/unix:10.
TEST(Xauthority, reads_what_xauth_writes_and_writes_it_back_byte_for_byte) {
  const std::string bytes = bytes_of(k_fixtures / "two_hosts");
  auto entries = parse_xauthority(bytes);
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 3U);
  const XauthEntry& e = entries->at(1);
  EXPECT_EQ(e.family, k_family_local);
  EXPECT_EQ(e.address, "gpu1");
  EXPECT_EQ(e.number, "10");
  EXPECT_EQ(e.name, "MIT-MAGIC-COOKIE-1");
  EXPECT_EQ(hex(e.data), "ffeeddccbbaa99887766554433221100");
  EXPECT_EQ(write_xauthority(*entries), bytes);
}

TEST(Xauthority, a_wildcard_entry_has_family_ffff_and_big_endian_lengths) {
  XauthEntry e;
  e.family = k_family_wild;
  e.address = "h";
  e.number = "7";
  e.name = "N";
  e.data = std::string("\x01\x02", 2);
  EXPECT_EQ(hex(write_xauthority({e})),
            "ffff"
            "000168"
            "000137"
            "00014e"
            "00020102");
}

TEST(Xauthority, a_file_cut_short_is_an_error_not_half_read) {
  const std::string bytes = bytes_of(k_fixtures / "two_hosts");
  auto cut = parse_xauthority(std::string_view(bytes).substr(0, bytes.size() - 3));
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().message,
            "the X authority file is cut short: entry 3 (at byte " +
                std::to_string(bytes.size() - 52) + ") ends after " +
                std::to_string(bytes.size() - 3) + " bytes");
  EXPECT_TRUE(parse_xauthority("")->empty());
}

TEST(Display, local_and_loopback_displays_parse_others_are_refused) {
  const auto d = [](std::string_view s) { return parse_display(s); };
  EXPECT_EQ(d(":0")->number, 0U);
  EXPECT_FALSE(d(":0")->tcp);
  EXPECT_EQ(d(":1.2")->screen, 2U);
  EXPECT_FALSE(d("unix:3")->tcp);
  EXPECT_FALSE(d("unix/:3")->tcp);
  EXPECT_TRUE(d("localhost:10.0")->tcp);
  EXPECT_EQ(d("localhost:10.0")->number, 10U);
  EXPECT_TRUE(d("127.0.0.1:11")->tcp);
  EXPECT_TRUE(d("[::1]:12")->tcp);
  EXPECT_TRUE(d("tcp/localhost:13")->tcp);
  auto remote = d("workstation:0");
  ASSERT_FALSE(remote);
  EXPECT_EQ(remote.error().message,
            "DISPLAY=workstation:0 is on another host ('workstation'): furnace does not reach X "
            "servers over the network");
  EXPECT_FALSE(d("foo"));
  EXPECT_FALSE(d(":x"));
  EXPECT_FALSE(d(":0."));
}

TEST(Display, the_cookie_is_the_one_xlib_would_use) {
  auto entries = parse_xauthority(bytes_of(k_fixtures / "two_hosts"));
  ASSERT_TRUE(entries);
  auto local = find_cookie(*entries, *parse_display(":0"), "gpu1");
  ASSERT_TRUE(local);
  EXPECT_EQ(hex(local->data), "00112233445566778899aabbccddeeff");
  // ssh -X: DISPLAY=localhost:10.0 uses sshd's "gpu1/unix:10" entry, not the laptop's.
  auto ssh = find_cookie(*entries, *parse_display("localhost:10.0"), "gpu1");
  ASSERT_TRUE(ssh);
  EXPECT_EQ(hex(ssh->data), "ffeeddccbbaa99887766554433221100");
  EXPECT_FALSE(find_cookie(*entries, *parse_display(":1"), "gpu1"));
  EXPECT_FALSE(find_cookie(*entries, *parse_display(":0"), "gpu2"));
  XauthEntry wild;
  wild.family = k_family_wild;
  wild.number = "1";
  wild.data = "w";
  EXPECT_EQ(find_cookie({wild}, *parse_display(":1"), "any")->data, "w");
  XauthEntry inet;
  inet.family = k_family_internet;
  inet.address = std::string("\x7f\0\0\x01", 4);
  inet.number = "11";
  EXPECT_TRUE(find_cookie({inet}, *parse_display("localhost:11"), "gpu1"));
  EXPECT_FALSE(find_cookie({inet}, *parse_display(":11"), "gpu1"));
}

TEST(GuiMode, words) {
  EXPECT_EQ(*parse_gui_mode("", "--gui"), GuiMode::none);
  EXPECT_EQ(*parse_gui_mode("x11", "--gui"), GuiMode::x11);
  EXPECT_EQ(*parse_gui_mode("gl", "--gui"), GuiMode::gl);
  EXPECT_EQ(*parse_gui_mode("none", "--gui"), GuiMode::none);
  auto bad = parse_gui_mode("vnc", "--gui");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "--gui cannot be 'vnc'");
  EXPECT_EQ(bad.error().kind, core::ErrorKind::usage);
}

TEST(GuiMode, furnace_yaml_gui_is_true_false_or_gl) {
  EXPECT_EQ(project::parse_furnace_yaml("gui: true\n", "furnace.yaml")->gui, "x11");
  EXPECT_EQ(project::parse_furnace_yaml("gui: gl\n", "furnace.yaml")->gui, "gl");
  EXPECT_EQ(project::parse_furnace_yaml("gui: false\n", "furnace.yaml")->gui, "");
  auto bad = project::parse_furnace_yaml("gui: vnc\n", "furnace.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'gui' cannot be 'vnc'"), std::string::npos)
      << bad.error().message;
}

RunInputs gui_inputs(GuiMode mode) {
  RunInputs in;
  in.here = "/home/alice/paper";
  in.name = "paper-abcdef";
  in.image = "furnace-user/paper:fedcba987654";
  in.host.user = HostUser{1000, 1000, "alice", "/home/alice"};
  in.host.memory_bytes = 64ULL << 30U;
  in.host.host_name = "gpu1";
  in.host.pid = 77;
  GuiHost g;
  g.mode = mode;
  g.display = ":10.0";
  g.run_dir = "/tmp/furnace-gui-1000/paper-abcdef";
  g.socket_dir = g.run_dir + "/X11-unix";
  g.cookie_file = g.run_dir + "/Xauthority";
  g.relay_to = "127.0.0.1:6010";
  in.gui = g;
  return in;
}

image::BuiltImage gui_image() {
  image::BuiltImage img;
  img.project_root = "/home/alice/paper";
  img.project_name = "paper";
  img.tag = "furnace/paper:0123456789ab";
  return img;
}

// The plan carries the X11 pieces (what --dry-run prints and `furnace ide` renders): both
// mounts read-only, the variables by name only, no --ipc host, no xhost anywhere.
TEST(RunPlanGui, the_x11_mounts_and_variables_are_in_the_plan) {
  RunOptions o;
  o.command = {"python", "plot.py"};
  auto plan = plan_run(gui_image(), o, gui_inputs(GuiMode::x11));
  ASSERT_TRUE(plan) << plan.error().message;
  const EngineCommand cmd = docker_run_command(plan->spec);
  std::string text = util::shell_join(cmd.argv) + "\n";
  for (const auto& [k, v] : plan->spec.env) {
    text += k + "=" + v + "\n";
  }
  expect_golden("gui_x11.txt", text);
  EXPECT_EQ(text.find("--ipc"), std::string::npos);
  EXPECT_EQ(plan->spec.env.count("NVIDIA_DRIVER_CAPABILITIES"), 0U);
}

TEST(RunPlanGui, gl_adds_graphics_to_the_driver_capabilities) {
  RunOptions o;
  auto plan = plan_run(gui_image(), o, gui_inputs(GuiMode::gl));
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->spec.env.at("NVIDIA_DRIVER_CAPABILITIES"), "compute,utility,graphics");
  o.env = {"NVIDIA_DRIVER_CAPABILITIES=compute,video"};
  EXPECT_EQ(
      plan_run(gui_image(), o, gui_inputs(GuiMode::gl))->spec.env.at("NVIDIA_DRIVER_CAPABILITIES"),
      "compute,video,graphics");
  o.env = {"NVIDIA_DRIVER_CAPABILITIES=all"};
  EXPECT_EQ(
      plan_run(gui_image(), o, gui_inputs(GuiMode::gl))->spec.env.at("NVIDIA_DRIVER_CAPABILITIES"),
      "all");
}

GuiRequest request(const std::string& name) {
  GuiRequest r;
  r.run_name = name;
  r.hostname = "gpu1";
  return r;
}

TEST(PrepareGui, no_display_says_what_is_missing_and_how_to_get_one) {
  auto none = prepare_gui({}, request("r1"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message,
            "--gui: there is no display to show windows on: DISPLAY is not set");
  EXPECT_EQ(none.error().hint,
            "run furnace in a desktop session, or connect with 'ssh -X' (or -Y) so that ssh "
            "forwards one; under sudo keep it with 'sudo --preserve-env=DISPLAY,XAUTHORITY'");
  auto wayland = prepare_gui({{"WAYLAND_DISPLAY", "wayland-0"}}, request("r1"));
  ASSERT_FALSE(wayland);
  EXPECT_EQ(wayland.error().message,
            "--gui: this is a Wayland session (WAYLAND_DISPLAY=wayland-0) without an X display: "
            "DISPLAY is not set");
}

TEST(PrepareGui, a_display_without_a_cookie_is_refused) {
  const testing::TempDir dir;
  const std::string xauth = dir.write("xauth", bytes_of(k_fixtures / "two_hosts"));
  auto r = prepare_gui({{"DISPLAY", ":5"}, {"XAUTHORITY", xauth}}, request("r1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "--gui: " + xauth + " holds no cookie for DISPLAY=:5 on gpu1");
  EXPECT_EQ(display_cookie_file({{"DISPLAY", ":5"}, {"XAUTHORITY", xauth}}, request("r1"))
                .error()
                .message,
            r.error().message);
  auto one =
      display_cookie_file({{"DISPLAY", "localhost:10.0"}, {"XAUTHORITY", xauth}}, request("r1"));
  ASSERT_TRUE(one);
  auto parsed = parse_xauthority(*one);
  ASSERT_EQ(parsed->size(), 1U);
  EXPECT_EQ(parsed->at(0).family, k_family_wild);
  EXPECT_EQ(hex(parsed->at(0).data), "ffeeddccbbaa99887766554433221100");
  auto missing =
      prepare_gui({{"DISPLAY", ":0"}, {"XAUTHORITY", dir.path() + "/none"}}, request("r1"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message.rfind("--gui: cannot read the X authority file ", 0), 0U)
      << missing.error().message;
}

// A TCP listener on 127.0.0.1:6000+N plays sshd's X11 forwarding.
struct FakeForward {
  int fd = -1;
  unsigned display = 0;
  FakeForward() {
    for (unsigned n = 40; n < 400 && fd < 0; ++n) {
      const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<std::uint16_t>(6000 + n));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
      if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(s, 4) == 0) {
        fd = s;
        display = n;
      } else {
        ::close(s);
      }
    }
  }
  FakeForward(const FakeForward&) = delete;
  FakeForward& operator=(const FakeForward&) = delete;
  ~FakeForward() { ::close(fd); }
};

TEST(PrepareGui, an_ssh_display_gets_a_relay_and_a_single_wildcard_cookie_that_go_with_the_run) {
  const testing::TempDir dir;
  FakeForward fwd;
  ASSERT_GE(fwd.fd, 0);
  XauthEntry mine{k_family_local,
                  "gpu1",
                  std::to_string(fwd.display),
                  "MIT-MAGIC-COOKIE-1",
                  "0123456789abcdef"};
  XauthEntry other{k_family_local, "gpu1", "0", "MIT-MAGIC-COOKIE-1", "fedcba9876543210"};
  const std::string xauth = dir.write("xauth", write_xauthority({other, mine}));
  const core::Env env{{"DISPLAY", "localhost:" + std::to_string(fwd.display) + ".0"},
                      {"XAUTHORITY", xauth},
                      {"TMPDIR", dir.path()}};
  GuiRequest dry = request("paper-dry");
  dry.dry_run = true;
  auto planned = prepare_gui(env, dry);
  ASSERT_TRUE(planned) << planned.error().message;
  EXPECT_FALSE(fs::exists(planned->host().run_dir)) << "a dry run writes nothing";

  std::string run_dir;
  std::string cookie;
  {
    auto s = prepare_gui(env, request("paper-1"));
    ASSERT_TRUE(s) << s.error().message;
    const GuiHost& g = s->host();
    run_dir = g.run_dir;
    cookie = g.cookie_file;
    EXPECT_EQ(g.display, ":" + std::to_string(fwd.display) + ".0");
    EXPECT_EQ(g.run_dir, dir.path() + "/furnace-gui-" + std::to_string(::getuid()) + "/paper-1");
    EXPECT_EQ(g.socket_dir, g.run_dir + "/X11-unix");
    EXPECT_EQ(g.relay_to, "127.0.0.1:" + std::to_string(6000 + fwd.display));
    struct stat st {};
    ASSERT_EQ(::stat(g.cookie_file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777U, 0600U);
    EXPECT_EQ(st.st_uid, ::getuid());
    ASSERT_EQ(::stat(g.run_dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777U, 0700U);
    XauthEntry wild = mine;
    wild.family = k_family_wild;
    EXPECT_EQ(bytes_of(g.cookie_file), write_xauthority({wild})) << "only this display's cookie";

    // A client of the relay's socket reaches the forwarded port, both ways.
    const int c = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const std::string sock = g.socket_dir + "/X" + std::to_string(fwd.display);
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", sock.c_str());
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    ASSERT_EQ(::write(c, "hello", 5), 5);
    // First in the backlog: prepare_gui's checks that something listens there (they send nothing).
    std::array<char, 16> buf{};
    int server = -1;
    for (int i = 0; i < 3 && server < 0; ++i) {
      server = ::accept(fwd.fd, nullptr, nullptr);
      ASSERT_GE(server, 0);
      if (::read(server, buf.data(), buf.size()) != 5) {
        ::close(server);
        server = -1;
      }
    }
    ASSERT_GE(server, 0);
    EXPECT_EQ(std::string(buf.data(), 5), "hello");
    ASSERT_EQ(::write(server, "back", 4), 4);
    ASSERT_EQ(::read(c, buf.data(), buf.size()), 4);
    EXPECT_EQ(std::string(buf.data(), 4), "back");
    ::close(c);
    ::close(server);
  }
  EXPECT_FALSE(fs::exists(cookie)) << "the cookie goes with the run";
  EXPECT_FALSE(fs::exists(run_dir));
}

// A detached run keeps the files while a process holding the keep-alive (its supervisor) lives;
// the helper removes them once that one is gone too.
TEST(PrepareGui, a_detached_runs_files_go_when_its_last_process_ends) {
  const testing::TempDir dir;
  FakeForward fwd;
  ASSERT_GE(fwd.fd, 0);
  XauthEntry mine{k_family_local, "gpu1", std::to_string(fwd.display), "MIT-MAGIC-COOKIE-1", "c"};
  const core::Env env{{"DISPLAY", "localhost:" + std::to_string(fwd.display)},
                      {"XAUTHORITY", dir.write("xauth", write_xauthority({mine}))},
                      {"TMPDIR", dir.path()}};
  std::string cookie;
  int release[2] = {-1, -1}; // NOLINT(modernize-avoid-c-arrays)
  ASSERT_EQ(::pipe(release), 0);
  pid_t supervisor = -1;
  {
    auto s = prepare_gui(env, request("paper-d"));
    ASSERT_TRUE(s) << s.error().message;
    cookie = s->host().cookie_file;
    supervisor = ::fork(); // inherits the keep-alive, as spawn_supervisor's child does
    if (supervisor == 0) {
      ::close(release[1]);
      char b = 0;
      (void)!::read(release[0], &b, 1);
      ::_exit(0);
    }
    s->keep_for_detached_run();
  }
  EXPECT_TRUE(fs::exists(cookie)) << "the supervisor still runs";
  ::close(release[1]);
  int status = 0;
  ::waitpid(supervisor, &status, 0);
  EXPECT_TRUE(testing::wait_for([&] { return !fs::exists(cookie); }, std::chrono::seconds(5)));
  ::close(release[0]);
}

// A listening unix socket at /tmp/.X11-unix/X<N> (a free N) plays a local X server's socket.
struct FakeLocalDisplay {
  int fd = -1;
  unsigned display = 0;
  std::string path;
  FakeLocalDisplay() {
    if (fs::create_directories("/tmp/.X11-unix")) { // as an X server makes it
      fs::permissions("/tmp/.X11-unix", fs::perms(01777));
    }
    for (unsigned n = 700; n < 900 && fd < 0; ++n) {
      const std::string p = "/tmp/.X11-unix/X" + std::to_string(n);
      if (fs::exists(p)) {
        continue;
      }
      const int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::snprintf(a.sun_path, sizeof a.sun_path, "%s", p.c_str());
      // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
      if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(s, 4) == 0) {
        fd = s;
        display = n;
        path = p;
      } else {
        ::close(s);
      }
    }
  }
  FakeLocalDisplay(const FakeLocalDisplay&) = delete;
  FakeLocalDisplay& operator=(const FakeLocalDisplay&) = delete;
  ~FakeLocalDisplay() {
    ::close(fd);
    if (!path.empty()) {
      ::unlink(path.c_str());
    }
  }
};

// furnace ide --gui: the cookie lives on with the project (under the caller's home, never in the
// project), 0600 in 0700 directories, holds this display's cookie alone, and is replaced by the
// next `furnace ide --gui` (a new login's cookie).
TEST(LastingGui, a_local_display_gets_a_private_cookie_under_home_refreshed_each_time) {
  const testing::TempDir dir;
  FakeLocalDisplay x;
  ASSERT_GE(x.fd, 0);
  const std::string n = std::to_string(x.display);
  XauthEntry mine{k_family_local, "gpu1", n, "MIT-MAGIC-COOKIE-1", "0123456789abcdef"};
  XauthEntry other{k_family_local, "gpu1", "0", "MIT-MAGIC-COOKIE-1", "fedcba9876543210"};
  const std::string xauth = dir.write("xauth", write_xauthority({other, mine}));
  const core::Env env{{"DISPLAY", ":" + n}, {"XAUTHORITY", xauth}, {"HOME", dir.path()}};
  const std::string cookie = lasting_cookie_path(env, std::nullopt, "paper", "/home/alice/paper");
  EXPECT_EQ(cookie.rfind(dir.path() + "/.local/state/furnace/ide-gui/paper-", 0), 0U) << cookie;
  EXPECT_EQ(fs::path(cookie).filename(), "Xauthority");
  EXPECT_NE(lasting_cookie_path(env, std::nullopt, "paper", "/home/alice/other/paper"), cookie)
      << "two projects of one name keep their own cookies";

  GuiRequest dry = request("paper");
  dry.dry_run = true;
  auto planned = prepare_lasting_gui(env, dry, cookie);
  ASSERT_TRUE(planned) << planned.error().message;
  EXPECT_FALSE(fs::exists(dir.path() + "/.local")) << "a dry run writes nothing";

  auto g = prepare_lasting_gui(env, request("paper"), cookie);
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->display, ":" + n + ".0");
  EXPECT_EQ(g->socket_dir, "/tmp/.X11-unix");
  EXPECT_EQ(g->cookie_file, cookie);
  EXPECT_TRUE(g->relay_to.empty());
  EXPECT_TRUE(g->run_dir.empty()) << "nothing of a run's to remove";
  struct stat st {};
  ASSERT_EQ(::stat(cookie.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777U, 0600U);
  EXPECT_EQ(st.st_uid, ::getuid());
  for (const fs::path& d :
       {fs::path(cookie).parent_path(), fs::path(cookie).parent_path().parent_path()}) {
    ASSERT_EQ(::stat(d.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777U, 0700U) << d;
  }
  auto parsed = parse_xauthority(bytes_of(cookie));
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->size(), 1U);
  EXPECT_EQ(parsed->at(0).family, k_family_wild);
  EXPECT_EQ(parsed->at(0).data, "0123456789abcdef");

  // A new login: a new cookie; the next `furnace ide --gui` replaces the file's bytes.
  mine.data = "aaaaaaaaaaaaaaaa";
  dir.write("xauth", write_xauthority({other, mine}));
  ASSERT_TRUE(prepare_lasting_gui(env, request("paper"), cookie));
  EXPECT_EQ(parse_xauthority(bytes_of(cookie))->at(0).data, "aaaaaaaaaaaaaaaa");

  // A directory somebody opened to others gets no cookie.
  fs::permissions(fs::path(cookie).parent_path(), fs::perms(0755));
  auto open = prepare_lasting_gui(env, request("paper"), cookie);
  ASSERT_FALSE(open);
  EXPECT_NE(open.error().message.find("is not a private directory"), std::string::npos)
      << open.error().message;
}

// An ssh -X display needs furnace's relay, which ends with furnace: refused with what to do.
TEST(LastingGui, an_ssh_display_is_refused_saying_what_to_use_instead) {
  const testing::TempDir dir;
  FakeForward fwd;
  ASSERT_GE(fwd.fd, 0);
  XauthEntry mine{k_family_local,
                  "gpu1",
                  std::to_string(fwd.display),
                  "MIT-MAGIC-COOKIE-1",
                  "0123456789abcdef"};
  const std::string xauth = dir.write("xauth", write_xauthority({mine}));
  const std::string display = "localhost:" + std::to_string(fwd.display) + ".0";
  const core::Env env{{"DISPLAY", display}, {"XAUTHORITY", xauth}, {"HOME", dir.path()}};
  auto g = prepare_lasting_gui(env, request("paper"), dir.path() + "/state/Xauthority");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().message,
            "--gui: DISPLAY=" + display +
                " is forwarded by ssh -X: the IDE's container outlives furnace, and the relay "
                "furnace puts between it and ssh's port does not");
  EXPECT_NE(g.error().hint.find("furnace run --gui"), std::string::npos) << g.error().hint;
  EXPECT_FALSE(fs::exists(dir.path() + "/state"));
  auto none = prepare_lasting_gui({}, request("paper"), dir.path() + "/state/Xauthority");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message,
            "--gui: there is no display to show windows on: DISPLAY is not set");
}

} // namespace
} // namespace furnace::run
