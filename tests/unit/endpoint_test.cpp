#include "support/test_env.hpp"

#include <furnace/engine/docker_api.hpp>
#include <furnace/engine/endpoint.hpp>
#include <furnace/util/sha256.hpp>

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <thread>
#include <vector>

namespace furnace::engine {
namespace {

using testing::TempDir;

TEST(Endpoint, defaults_to_the_system_socket) {
  TempDir home;
  auto ep = resolve_endpoint({{"HOME", home.path()}});
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->socket_path, "/var/run/docker.sock");
  EXPECT_EQ(ep->uri, "unix:///var/run/docker.sock");
  EXPECT_EQ(ep->source, "default");
}

TEST(Endpoint, docker_host_wins_over_everything) {
  auto ep = resolve_endpoint(
      {{"DOCKER_HOST", "unix:///run/user/1000/docker.sock"}, {"DOCKER_CONTEXT", "remote"}});
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->socket_path, "/run/user/1000/docker.sock");
  EXPECT_EQ(ep->source, "DOCKER_HOST");
}

TEST(Endpoint, tcp_with_tls_uses_the_cert_path) {
  auto ep = resolve_endpoint({{"DOCKER_HOST", "tcp://10.0.0.5:2376"},
                              {"DOCKER_TLS_VERIFY", "1"},
                              {"DOCKER_CERT_PATH", "/certs"}});
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->kind, Endpoint::Kind::tcp);
  EXPECT_EQ(ep->base_url, "https://10.0.0.5:2376");
  EXPECT_TRUE(ep->tls_verify);
  EXPECT_EQ(ep->ca_file, "/certs/ca.pem");
  EXPECT_EQ(ep->key_file, "/certs/key.pem");
}

TEST(Endpoint, tcp_without_port_gets_the_default) {
  auto ep = parse_host_uri("tcp://build-box", "DOCKER_HOST");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->base_url, "http://build-box:2375");
}

TEST(Endpoint, ssh_is_refused_with_a_way_out) {
  auto ep = resolve_endpoint({{"DOCKER_HOST", "ssh://me@gpu-box"}});
  ASSERT_FALSE(ep);
  EXPECT_EQ(ep.error().message, "DOCKER_HOST: unsupported engine address 'ssh://me@gpu-box'");
  EXPECT_NE(ep.error().hint.find("ssh -L"), std::string::npos);
}

TEST(Endpoint, relative_unix_paths_are_refused) {
  auto ep = parse_host_uri("unix://docker.sock", "DOCKER_HOST");
  ASSERT_FALSE(ep);
  EXPECT_EQ(ep.error().message, "DOCKER_HOST: 'unix://docker.sock' is not an absolute socket path");
}

TEST(Endpoint, follows_the_current_docker_context) {
  TempDir home;
  home.write(".docker/config.json", R"({"currentContext": "lab"})");
  const std::string id = util::sha256_hex("lab");
  home.write(
      ".docker/contexts/meta/" + id + "/meta.json",
      R"({"Name":"lab","Endpoints":{"docker":{"Host":"unix:///srv/lab.sock","SkipTLSVerify":false}}})");
  auto ep = resolve_endpoint({{"HOME", home.path()}});
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->socket_path, "/srv/lab.sock");
  EXPECT_EQ(ep->source, "context lab");
}

TEST(Endpoint, docker_context_env_names_a_missing_context) {
  TempDir home;
  auto ep = resolve_endpoint({{"HOME", home.path()}, {"DOCKER_CONTEXT", "gone"}});
  ASSERT_FALSE(ep);
  EXPECT_EQ(ep.error().kind, core::ErrorKind::not_found);
  EXPECT_NE(ep.error().message.find("docker context 'gone' (DOCKER_CONTEXT) not found"),
            std::string::npos);
}

TEST(Endpoint, broken_docker_config_names_the_file) {
  TempDir home;
  const std::string cfg = home.write(".docker/config.json", "{\"currentContext\": ");
  auto ep = resolve_endpoint({{"HOME", home.path()}});
  ASSERT_FALSE(ep);
  EXPECT_EQ(ep.error().message.rfind(cfg + ": invalid JSON", 0), 0U) << ep.error().message;
}

TEST(ApiVersion, negotiates_down_to_the_engine_and_caps_at_ours) {
  EXPECT_EQ(*negotiate_api_version("1.41"), "1.41");
  EXPECT_EQ(*negotiate_api_version("1.51"), k_max_api_version);
  EXPECT_EQ(*negotiate_api_version(""), k_min_api_version);
  auto old = negotiate_api_version("1.12");
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().message, "the engine speaks API 1.12, furnace needs at least 1.24");
  EXPECT_LT(compare_api_versions("1.9", "1.41"), 0);
  EXPECT_EQ(compare_api_versions("1.41", "1.41.0"), 0);
}

TEST(ImageRef, splits_names_tags_and_digests) {
  auto a = parse_image_ref("pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime");
  EXPECT_EQ(a.name, "pytorch/pytorch");
  EXPECT_EQ(a.tag, "1.13.1-cuda11.6-cudnn8-runtime");
  auto b = parse_image_ref("127.0.0.1:5000/team/img");
  EXPECT_EQ(b.name, "127.0.0.1:5000/team/img");
  EXPECT_EQ(b.tag, "latest");
  auto c = parse_image_ref("debian@sha256:abc");
  EXPECT_EQ(c.name, "debian");
  EXPECT_EQ(c.tag, "");
  EXPECT_EQ(c.digest, "sha256:abc");
}

TEST(DockerApi, a_missing_socket_says_so_and_how_to_fix_it) {
  auto ep = parse_host_uri("unix:///nonexistent/docker.sock", "DOCKER_HOST");
  ASSERT_TRUE(ep);
  DockerApi api(*ep);
  auto p = api.ping();
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, core::ErrorKind::unavailable);
  EXPECT_EQ(p.error().message,
            "cannot connect to the engine at unix:///nonexistent/docker.sock: no such socket");
  EXPECT_EQ(p.error().hint,
            "DOCKER_HOST points at unix:///nonexistent/docker.sock; unset it or point it at a "
            "running engine");
}

TEST(DockerApi, a_socket_nobody_listens_on_is_connection_refused) {
  TempDir dir;
  // A unix socket file with no listener: bind, then close without listen.
  const std::string path = dir.path() + "/dead.sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ::close(fd);
  DockerApi api(*parse_host_uri("unix://" + path, "DOCKER_HOST"));
  auto p = api.ping();
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message,
            "cannot connect to the engine at unix://" + path + ": connection refused");
}

} // namespace
} // namespace furnace::engine

namespace furnace::engine {
namespace {

TEST(DockerApi, every_call_is_bounded_in_time) {
  testing::TempDir dir;
  // A listener that accepts connections (the kernel does, through the backlog) but never answers.
  const std::string path = dir.path() + "/silent.sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  DockerApi::Timeouts t;
  t.call = std::chrono::milliseconds(300);
  DockerApi api(*parse_host_uri("unix://" + path, "DOCKER_HOST"), t);
  const auto start = std::chrono::steady_clock::now();
  auto p = api.ping();
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, core::ErrorKind::timeout);
  EXPECT_EQ(p.error().message,
            "the engine at unix://" + path + " did not answer GET /_ping in time");
  EXPECT_LT(took, std::chrono::seconds(3));
}

} // namespace
} // namespace furnace::engine

namespace furnace::engine {
namespace {

// A scripted peer on a unix socket: answers each connection with the next canned response.
// It checks the client's HTTP framing (chunked bodies, headers), not the engine's behaviour,
// which the contract suite covers against the real engine.
class ScriptedPeer {
public:
  ScriptedPeer(const std::string& path, std::vector<std::string> responses)
      : m_fd(::socket(AF_UNIX, SOCK_STREAM, 0)) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    EXPECT_EQ(::bind(m_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    EXPECT_EQ(::listen(m_fd, 4), 0);
    m_thread = std::thread([this, responses = std::move(responses)] {
      for (const auto& r : responses) {
        const int c = ::accept(m_fd, nullptr, nullptr);
        if (c < 0) {
          return;
        }
        std::array<char, 4096> buf{};
        const ssize_t n = ::recv(c, buf.data(), buf.size(), 0);
        if (n > 0) {
          requests.emplace_back(buf.data(), static_cast<std::size_t>(n));
        }
        (void)::send(c, r.data(), r.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ScriptedPeer(const ScriptedPeer&) = delete;
  ScriptedPeer& operator=(const ScriptedPeer&) = delete;
  ~ScriptedPeer() {
    ::shutdown(m_fd, SHUT_RDWR); // wakes accept() when the client made fewer calls
    m_thread.join();
    ::close(m_fd);
  }
  std::vector<std::string> requests;

private:
  int m_fd;
  std::thread m_thread;
};

TEST(DockerApi, reads_chunked_answers_and_negotiates_from_the_header) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/engine.sock";
  std::vector<std::string> requests;
  {
    ScriptedPeer peer(
        path,
        {"HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Length: 2\r\n\r\nOK",
         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
         "c\r\n{\"Version\": \r\n"
         "10\r\n\"24.0.7\", \"Os\": \r\n"
         "9\r\n\"linux\"}\n\r\n"
         "0\r\n\r\n",
         "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 47\r\n\r\n"
         "{\"message\":\"No such image: missing:latest\"}\n\n\n\n"});
    DockerApi api(*parse_host_uri("unix://" + path, "DOCKER_HOST"));
    auto v = api.version();
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->version, "24.0.7");
    EXPECT_EQ(v->os, "linux");
    auto missing = api.inspect_image("missing:latest");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, core::ErrorKind::not_found);
    EXPECT_EQ(missing.error().message,
              "no image missing:latest in the engine (engine: No such image: missing:latest)");
    requests = peer.requests;
  }
  ASSERT_EQ(requests.size(), 3U);
  EXPECT_EQ(requests[0].rfind("GET /_ping HTTP/1.1\r\n", 0), 0U);
  EXPECT_EQ(requests[1].rfind("GET /v1.43/version HTTP/1.1\r\n", 0), 0U) << requests[1];
  EXPECT_EQ(requests[2].rfind("GET /v1.43/images/missing:latest/json HTTP/1.1\r\n", 0), 0U);
}

TEST(DockerApi, a_pull_the_engine_refuses_quotes_its_message_not_the_status) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/engine.sock";
  const std::string body =
      "{\"message\":\"Get \\\"https://127.0.0.1:1/v2/\\\": dial tcp 127.0.0.1:1: connect: "
      "connection refused\"}\n";
  core::Result<void> pulled;
  {
    ScriptedPeer peer(path, {"HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Length: 2\r\n\r\nOK",
                             "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                             "Content-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n" + body});
    DockerApi api(*parse_host_uri("unix://" + path, "DOCKER_HOST"));
    int progress = 0;
    pulled = api.pull("127.0.0.1:1/none:tag", [&](const PullProgress&) { ++progress; });
    EXPECT_EQ(progress, 0) << "an error body is not pull progress";
  }
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().message,
            "pulling 127.0.0.1:1/none:tag: engine: Get \"https://127.0.0.1:1/v2/\": dial tcp "
            "127.0.0.1:1: connect: connection refused");
  EXPECT_NE(pulled.error().hint.find("the registry 127.0.0.1:1"), std::string::npos)
      << pulled.error().hint;
  EXPECT_NE(pulled.error().hint.find("furnace setup --mirror"), std::string::npos);
}

// Published ports, as `furnace lab` reads them back: list's "Ports" (entries without a PublicPort
// are only exposed) and inspect's NetworkSettings.Ports (null for an unpublished one).
TEST(DockerApi, reads_published_ports_from_list_and_inspect) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/engine.sock";
  const std::string list =
      R"([{"Id":"abc","Names":["/lab-1"],"State":"running","Labels":{},"Ports":[)"
      R"({"IP":"127.0.0.1","PrivatePort":8888,"PublicPort":49153,"Type":"tcp"},)"
      R"({"PrivatePort":6006,"Type":"tcp"}]}])";
  const std::string inspect =
      R"({"Id":"abc","Name":"/lab-1","State":{"Running":true},"Config":{},"NetworkSettings":)"
      R"({"Ports":{"8888/tcp":[{"HostIp":"127.0.0.1","HostPort":"49153"}],"6006/tcp":null}}})";
  const auto answer = [](const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  core::Result<std::vector<ContainerSummary>> listed = std::vector<ContainerSummary>{};
  core::Result<ContainerDetails> details = ContainerDetails{};
  {
    ScriptedPeer peer(path,
                      {"HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Length: 2\r\n\r\nOK",
                       answer(list),
                       answer(inspect)});
    DockerApi api(*parse_host_uri("unix://" + path, "DOCKER_HOST"));
    listed = api.list_containers({"org.furnace.lab"});
    details = api.inspect_container("lab-1");
  }
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 1U);
  ASSERT_EQ(listed->at(0).ports.size(), 1U);
  EXPECT_EQ(listed->at(0).ports[0].host_ip, "127.0.0.1");
  EXPECT_EQ(listed->at(0).ports[0].host_port, 49153);
  EXPECT_EQ(listed->at(0).ports[0].container_port, 8888);
  EXPECT_EQ(listed->at(0).ports[0].protocol, "tcp");
  ASSERT_TRUE(details) << details.error().message;
  ASSERT_EQ(details->ports.size(), 1U);
  EXPECT_EQ(details->ports[0].host_ip, "127.0.0.1");
  EXPECT_EQ(details->ports[0].host_port, 49153);
  EXPECT_EQ(details->ports[0].container_port, 8888);
  EXPECT_EQ(details->ports[0].protocol, "tcp");
}

} // namespace
} // namespace furnace::engine
