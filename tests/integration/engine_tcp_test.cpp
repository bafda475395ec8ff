// The tcp:// path of DockerApi against the real engine: socat forwards a loopback port to the
// engine's unix socket for the length of the test.

#include "support/test_env.hpp"

#include <furnace/engine/docker_api.hpp>
#include <furnace/engine/endpoint.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace furnace::engine {
namespace {

bool port_open(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

class EngineOverTcp : public ::testing::Test {
protected:
  void SetUp() override {
    FURNACE_REQUIRE_ENGINE();
    auto ep = resolve_endpoint(testing::process_env());
    ASSERT_TRUE(ep);
    ASSERT_EQ(ep->kind, Endpoint::Kind::unix_socket);
    m_port = 23000 + static_cast<int>(::getpid() % 2000);
    m_pid = ::fork();
    ASSERT_GE(m_pid, 0);
    if (m_pid == 0) {
      const std::string listen =
          "TCP-LISTEN:" + std::to_string(m_port) + ",bind=127.0.0.1,reuseaddr,fork";
      const std::string target = "UNIX-CONNECT:" + ep->socket_path;
      ::execlp("socat", "socat", listen.c_str(), target.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 100 && !port_open(m_port); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(port_open(m_port)) << "socat did not start (is it installed? scripts/deps.sh)";
  }
  void TearDown() override {
    if (m_pid > 0) {
      ::kill(m_pid, SIGTERM);
      ::waitpid(m_pid, nullptr, 0);
    }
  }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(m_port); }

private:
  pid_t m_pid = -1;
  int m_port = 0;
};

TEST_F(EngineOverTcp, negotiates_and_queries_over_tcp) {
  auto ep = resolve_endpoint({{"DOCKER_HOST", uri()}});
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->base_url, "http://127.0.0.1:" + uri().substr(uri().rfind(':') + 1));
  DockerApi api(*ep);
  auto v = api.version();
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_FALSE(v->version.empty());
  auto negotiated = api.api_version();
  ASSERT_TRUE(negotiated);
  EXPECT_EQ(*negotiated, v->api_version);
}

TEST_F(EngineOverTcp, doctor_reports_a_remote_engine_without_local_disk_checks) {
  auto r = testing::run_furnace({"doctor", "--json"},
                                {{"DOCKER_HOST", uri()}, {"FURNACE_NVML_LIBRARY", "/nonexistent"}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["engine"]["endpoint"], uri());
  EXPECT_EQ(j["engine"]["source"], "DOCKER_HOST");
  for (const auto& c : j["checks"]) {
    if (c["id"] == "engine.disk") {
      EXPECT_EQ(c["status"], "warn");
      EXPECT_EQ(c["summary"], "free space not checked: the engine is not on this host");
    }
  }
}

} // namespace
} // namespace furnace::engine
