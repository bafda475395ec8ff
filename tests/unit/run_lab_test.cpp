// furnace lab over the fakes: the command, the URL, the ssh line, the port read back from the
// engine, the token file (0600, no newline) and what the engine command carries (a path, never the
// token); a detached start against a small HTTP server on 127.0.0.1 that stands in for Jupyter.
// The real thing (engine, Jupyter, Chromium) is tests/integration/lab_test.cpp.

#include "support/fake_engine.hpp"
#include "support/fake_gpu.hpp"
#include "support/fake_run.hpp"
#include "support/fake_runner.hpp"
#include "support/test_env.hpp"

#include <furnace/core/ui.hpp>
#include <furnace/run/container_spec.hpp>
#include <furnace/run/lab.hpp>
#include <furnace/run/support.hpp>
#include <furnace/util/process.hpp>
#include <furnace/util/strings.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <sstream>
#include <thread>

namespace furnace::run {
namespace {

constexpr const char* k_base = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";

TEST(Lab, the_command_picks_lab_then_notebook_and_allows_root_only_as_root) {
  const auto c = jupyter_command();
  ASSERT_GE(c.size(), 4U);
  EXPECT_EQ(c[0], "/bin/sh");
  const std::string& script = c[2];
  EXPECT_LT(script.find("jupyter-lab"), script.find("jupyter-notebook"));
  EXPECT_NE(script.find("jupyter: true"), std::string::npos); // the error names the fix
  EXPECT_NE(script.find("[ \"$(id -u)\" = 0 ]"), std::string::npos);
  EXPECT_NE(c[4].find("logging.getLogger(_name).addFilter"), std::string::npos); // the scrubber
  EXPECT_EQ(std::vector<std::string>(c.begin() + 5, c.end()),
            (std::vector<std::string>{"--ip=0.0.0.0", "--port=8888", "--no-browser"}));
  for (const auto& arg : c) { // the token comes from JUPYTER_TOKEN_FILE
    EXPECT_EQ(arg.find("--NotebookApp.token"), std::string::npos) << arg;
    EXPECT_EQ(arg.find("--ServerApp.token"), std::string::npos) << arg;
    EXPECT_EQ(arg.find("--IdentityProvider.token"), std::string::npos) << arg;
  }
}

TEST(Lab, url_ssh_line_and_port) {
  EXPECT_EQ(lab_url(49153, "abc"), "http://127.0.0.1:49153/?token=abc");
  EXPECT_EQ(lab_url(49153, ""), "http://127.0.0.1:49153/");
  EXPECT_EQ(
      *ssh_tunnel_line({{"SSH_CONNECTION", "192.0.2.7 50022 198.51.100.3 22"}}, "alice", 49153),
      "ssh -L 49153:127.0.0.1:49153 alice@198.51.100.3");
  EXPECT_EQ(*ssh_tunnel_line({{"SSH_CONNECTION", "192.0.2.7 50022 198.51.100.3 2222"}}, "bob", 8),
            "ssh -p 2222 -L 8:127.0.0.1:8 bob@198.51.100.3");
  EXPECT_EQ(*ssh_tunnel_line({{"SSH_CONNECTION", "2001:db8::7 50022 2001:db8::3 22"}}, "c", 9),
            "ssh -L 9:127.0.0.1:9 c@[2001:db8::3]");
  EXPECT_FALSE(ssh_tunnel_line({}, "alice", 1));
  EXPECT_FALSE(ssh_tunnel_line({{"SSH_CONNECTION", "garbage"}}, "alice", 1));
  EXPECT_EQ(lab_host_port({{"0.0.0.0", 40000, 8888, "tcp"}, {"127.0.0.1", 40001, 8888, "tcp"}}),
            40001);
  EXPECT_EQ(lab_host_port({{"127.0.0.1", 40000, 8080, "tcp"}}), 0);
  EXPECT_EQ(lab_host_port({}), 0);
  EXPECT_TRUE(desktop_session({{"DISPLAY", ":0"}}));
  EXPECT_TRUE(desktop_session({{"WAYLAND_DISPLAY", "wayland-0"}}));
  EXPECT_FALSE(desktop_session({{"DISPLAY", "localhost:10.0"}, {"SSH_CONNECTION", "a 1 b 22"}}));
  EXPECT_FALSE(desktop_session({}));
}

TEST(Lab, tokens_are_random_hex_and_ports_may_be_left_to_the_engine) {
  const auto a = random_token();
  const auto b = random_token();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 64U);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(*normalize_port("127.0.0.1::8888"), "127.0.0.1::8888");
  EXPECT_FALSE(normalize_port("127.0.0.1::x"));
  EXPECT_FALSE(normalize_port("nohost::8888"));
}

// Answers every connection on 127.0.0.1 with HTTP 200 (Jupyter's /api), until destroyed.
class FakeJupyter {
public:
  FakeJupyter() {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    EXPECT_EQ(::bind(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    ::listen(m_fd, 8);
    m_thread = std::thread([this] {
      while (!m_stop) {
        const int c = ::accept(m_fd, nullptr, nullptr);
        if (c < 0) {
          return;
        }
        std::array<char, 512> buf{};
        (void)::recv(c, buf.data(), buf.size(), 0);
        const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  FakeJupyter(const FakeJupyter&) = delete;
  FakeJupyter& operator=(const FakeJupyter&) = delete;
  ~FakeJupyter() {
    m_stop = true;
    ::shutdown(m_fd, SHUT_RDWR);
    ::close(m_fd);
    m_thread.join();
  }
  int port = 0;

private:
  int m_fd = -1;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

class LabPipeline : public ::testing::Test {
protected:
  void SetUp() override {
    m_project = m_dir.path() + "/paper";
    m_dir.write("paper/furnace.yaml", std::string("name: paper\nbase: ") + k_base + "\n");
    m_env = testing::run_test_env(m_dir.path());
    m_env["XDG_STATE_HOME"] = m_dir.path() + "/state";
    testing::base_image_without_gpu(m_engine, m_probe, k_base);
  }

  int lab(LabOptions o) {
    o.path = m_project;
    core::Context ctx{m_ui, m_runner, m_env, m_host_root};
    return run_lab(ctx, o, m_engine, m_probe, m_launcher);
  }

  testing::TempDir m_dir;
  std::string m_host_root = "/";
  std::string m_project;
  core::Env m_env;
  std::ostringstream m_out;
  std::ostringstream m_err;
  core::Ui m_ui{m_out, m_err, false};
  testing::FakeEngine m_engine;
  testing::FakeGpuProbe m_probe;
  testing::FakeRunner m_runner;
  testing::FakeLauncher m_launcher;
};

TEST_F(LabPipeline, a_dry_run_publishes_on_loopback_and_names_the_token_file_not_the_token) {
  LabOptions o;
  o.dry_run = true;
  EXPECT_EQ(lab(o), 0) << m_err.str();
  const std::string cmd = m_out.str();
  EXPECT_NE(cmd.find("--publish 127.0.0.1::8888 "), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("--label org.furnace.lab=jupyter"), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("/labs/paper-"), std::string::npos) << cmd;
  EXPECT_NE(cmd.find(".token,target=/run/furnace/jupyter-token,readonly "), std::string::npos)
      << cmd;
  EXPECT_NE(cmd.find("--env JUPYTER_TOKEN_FILE"), std::string::npos) << cmd;
  EXPECT_FALSE(std::filesystem::exists(m_dir.path() + "/state/furnace/labs")); // nothing written
  m_out.str("");
  o.port = 18888;
  EXPECT_EQ(lab(o), 0) << m_err.str();
  EXPECT_NE(m_out.str().find("--publish 127.0.0.1:18888:8888 "), std::string::npos) << m_out.str();
}

TEST_F(LabPipeline, a_detached_lab_waits_for_the_server_and_prints_the_url_with_its_token) {
  FakeJupyter server;
  std::string env_value;
  m_launcher.on_start = [&](const EngineCommand& c) {
    engine::ContainerDetails d;
    const auto it = std::find(c.argv.begin(), c.argv.end(), "--name");
    d.name = *(it + 1);
    d.id = "0123456789abcdef";
    d.status = "running";
    d.running = true;
    d.labels = {{k_label_run, d.name}, {k_label_lab, "jupyter"}};
    d.ports = {{"127.0.0.1", server.port, k_lab_container_port, "tcp"}};
    m_engine.containers.push_back(d);
    const auto v = c.env.find("JUPYTER_TOKEN_FILE");
    env_value = v == c.env.end() ? "" : v->second;
  };
  LabOptions o;
  o.detach = true;
  m_env["SSH_CONNECTION"] = "192.0.2.7 50022 198.51.100.3 22";
  ASSERT_EQ(lab(o), 0) << m_err.str();
  const std::string url = m_out.str();
  const std::string prefix = "http://127.0.0.1:" + std::to_string(server.port) + "/?token=";
  ASSERT_EQ(url.rfind(prefix, 0), 0U) << url;
  const std::string token = url.substr(prefix.size(), 64);
  EXPECT_EQ(url, prefix + token + "\n");
  EXPECT_EQ(env_value, k_lab_token_target);
  // The engine command carries the file's path, never the token.
  ASSERT_EQ(m_launcher.commands.size(), 1U);
  for (const auto& arg : m_launcher.commands[0].argv) {
    EXPECT_EQ(arg.find(token), std::string::npos) << arg;
  }
  for (const auto& [k, v] : m_launcher.commands[0].env) {
    EXPECT_EQ(v.find(token), std::string::npos) << k;
  }
  EXPECT_EQ(m_launcher.commands[0].env_file.find(token), std::string::npos);
  const std::string name = m_engine.containers.at(0).name;
  const std::string file = lab_token_path(m_env, name);
  EXPECT_EQ(testing::read_text(file), token); // no trailing newline
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777U, 0600U);
  EXPECT_NE(m_err.str().find("ssh -L " + std::to_string(server.port) + ":127.0.0.1:"),
            std::string::npos)
      << m_err.str();
}

TEST_F(LabPipeline, a_lab_whose_container_ends_is_an_error_and_leaves_no_token) {
  m_launcher.on_start = [&](const EngineCommand& c) {
    engine::ContainerDetails d;
    const auto it = std::find(c.argv.begin(), c.argv.end(), "--name");
    d.name = *(it + 1);
    d.status = "running";
    d.running = true;
    m_engine.containers.push_back(d); // no published port: the engine could not publish it
  };
  LabOptions o;
  o.detach = true;
  o.timeout_s = 2;
  EXPECT_EQ(lab(o), 125);
  EXPECT_NE(m_err.str().find("published no 127.0.0.1 port"), std::string::npos) << m_err.str();
  EXPECT_TRUE(std::filesystem::is_empty(m_dir.path() + "/state/furnace/labs"));
}

TEST_F(LabPipeline, on_a_desktop_the_browser_gets_a_private_page_not_the_token_in_argv) {
  FakeJupyter server;
  m_launcher.on_start = [&](const EngineCommand& c) {
    engine::ContainerDetails d;
    const auto it = std::find(c.argv.begin(), c.argv.end(), "--name");
    d.name = *(it + 1);
    d.status = "running";
    d.running = true;
    d.ports = {{"127.0.0.1", server.port, k_lab_container_port, "tcp"}};
    m_engine.containers.push_back(d);
  };
  // A stand-in xdg-open: records its arguments and the page it was given, with its mode.
  const std::string record = m_dir.path() + "/opened";
  m_dir.write("bin/xdg-open",
              "#!/bin/sh\n{ echo \"argv: $*\"; stat -c 'mode: %a' \"$1\"; cat \"$1\"; } > " +
                  record + ".tmp && mv " + record + ".tmp " + record + "\n",
              0755);
  m_env["PATH"] = m_dir.path() + "/bin:/usr/bin:/bin";
  m_env["DISPLAY"] = ":0";
  LabOptions o;
  o.detach = true;
  ASSERT_EQ(lab(o), 0) << m_err.str();
  const std::string url(util::trim(m_out.str()));
  const std::string token = url.substr(url.find("token=") + 6);
  ASSERT_TRUE(
      testing::wait_for([&] { return std::filesystem::exists(record); }, std::chrono::seconds(10)));
  const std::string opened = testing::read_text(record);
  const std::string argv = opened.substr(0, opened.find('\n'));
  EXPECT_EQ(argv.find(token), std::string::npos) << argv;
  EXPECT_NE(argv.find(".html"), std::string::npos) << argv;
  EXPECT_NE(opened.find("mode: 600\n"), std::string::npos) << opened;
  EXPECT_NE(opened.find("url=" + url + "\""), std::string::npos) << opened;

  // --no-browser, or an ssh login: no browser.
  std::filesystem::remove(record);
  o.no_browser = true;
  m_out.str("");
  ASSERT_EQ(lab(o), 0) << m_err.str();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(std::filesystem::exists(record));
}

// Another user's lab may be starting while this one starts: its fresh token file (no container
// yet) stays; the file of a lab that ended long ago goes.
TEST_F(LabPipeline, a_start_removes_only_old_token_files_of_gone_labs) {
  FakeJupyter server;
  m_launcher.on_start = [&](const EngineCommand& c) {
    engine::ContainerDetails d;
    const auto it = std::find(c.argv.begin(), c.argv.end(), "--name");
    d.name = *(it + 1);
    d.status = "running";
    d.running = true;
    d.ports = {{"127.0.0.1", server.port, k_lab_container_port, "tcp"}};
    m_engine.containers.push_back(d);
  };
  const std::string old_file = lab_token_path(m_env, "paper-000001");
  const std::string fresh_file = lab_token_path(m_env, "paper-000002");
  m_dir.write("state/furnace/labs/paper-000001.token", "old", 0600);
  m_dir.write("state/furnace/labs/paper-000002.token", "fresh", 0600);
  std::filesystem::last_write_time(
      old_file, std::filesystem::file_time_type::clock::now() - std::chrono::hours(2));
  LabOptions o;
  o.detach = true;
  ASSERT_EQ(lab(o), 0) << m_err.str();
  EXPECT_FALSE(std::filesystem::exists(old_file));
  EXPECT_TRUE(std::filesystem::exists(fresh_file));
}

TEST_F(LabPipeline, a_server_that_exits_at_once_is_an_error_not_a_silent_failure) {
  m_launcher.on_start = [&](const EngineCommand& c) {
    engine::ContainerDetails d;
    const auto it = std::find(c.argv.begin(), c.argv.end(), "--name");
    d.name = *(it + 1);
    d.status = "exited";
    d.exit_code = 0;
    m_engine.containers.push_back(d);
  };
  LabOptions o;
  o.detach = true;
  EXPECT_EQ(lab(o), 125);
  EXPECT_NE(m_err.str().find("ended at once (exit 0)"), std::string::npos) << m_err.str();
  EXPECT_EQ(m_out.str(), "");
  EXPECT_TRUE(std::filesystem::is_empty(m_dir.path() + "/state/furnace/labs"));
}

} // namespace
} // namespace furnace::run
