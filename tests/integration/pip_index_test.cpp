// furnace build's pip paths against a local package index: wheels of fixture packages the test
// writes itself, a PEP 503 simple index served by `python3 -m http.server` on 127.0.0.1, and a
// project whose furnace.yaml sets `mirrors: {pip: …}`, built with `--network host` so that the
// build's RUN steps reach the host's loopback. Checked with the BuildKit client (20.10) and the
// legacy builder (the 28.x client): the packages come from that index (furnace.yaml's `pip` and
// requirements.txt, with a dependency), the Dockerfile names it, furnace.lock records them, and
// the network is not part of the tag; a requirement the index lacks and an index that refuses
// connections fail with the failing step, its last lines, the log and the right hint.

#include "support/test_env.hpp"

#include <furnace/util/process.hpp>
#include <furnace/util/strings.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace furnace::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_base = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";

// Writes <root>/packages/*.whl and the simple index <root>/simple/[<name>/]index.html.
// furnace-fixture-a comes in 1.0 and 2.0 (a pin must pick the older one); furnace-fixture-b
// requires furnace-fixture-c, which pip must find on the same index.
constexpr const char* k_make_index = R"PY(
import base64, hashlib, os, sys, zipfile

root = sys.argv[1]
packages = [
    ("furnace-fixture-a", "1.0", []),
    ("furnace-fixture-a", "2.0", []),
    ("furnace-fixture-b", "1.0", ["furnace-fixture-c>=1.0"]),
    ("furnace-fixture-c", "1.0", []),
]
os.makedirs(os.path.join(root, "packages"), exist_ok=True)
links = {}
for name, version, requires in packages:
    module = name.replace("-", "_")
    dist = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f'VERSION = "{version}"\n',
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: furnace-test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = ""
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(data)}\n"
    files[f"{dist}/RECORD"] = record + f"{dist}/RECORD,,\n"
    wheel = f"{module}-{version}-py3-none-any.whl"
    wheel_path = os.path.join(root, "packages", wheel)
    with zipfile.ZipFile(wheel_path, "w", zipfile.ZIP_DEFLATED) as z:
        for path, text in files.items():
            z.writestr(path, text)
    with open(wheel_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    links.setdefault(name, []).append(f'<a href="../../packages/{wheel}#sha256={sha}">{wheel}</a><br/>')

def page(title, body):
    return f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n{body}\n</body></html>\n"

os.makedirs(os.path.join(root, "simple"), exist_ok=True)
with open(os.path.join(root, "simple", "index.html"), "w") as f:
    f.write(page("Simple index", "\n".join(f'<a href="{n}/">{n}</a><br/>' for n in sorted(links))))
for name, anchors in links.items():
    os.makedirs(os.path.join(root, "simple", name), exist_ok=True)
    with open(os.path.join(root, "simple", name, "index.html"), "w") as f:
        f.write(page(f"Links for {name}", "\n".join(anchors)))
)PY";

util::ProcessOutput run(const std::vector<std::string>& argv, int timeout_ms = 300000) {
  util::SystemRunner runner;
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(timeout_ms);
  auto r = runner.run(argv, o);
  return r ? *r : util::ProcessOutput{};
}

util::ProcessOutput docker(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/docker"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

std::string trim_nl(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
    s.pop_back();
  }
  return s;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

sockaddr_in loopback(int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

bool port_open(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

// A socket bound to 127.0.0.1:<free port> that never listens: connecting to it is refused, and
// nothing else can take the port while it is held. Returns the fd; `port` gets the port.
int bind_free_port(int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa = loopback(0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    return -1;
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  port = ntohs(sa.sin_port);
  return fd;
}

struct Client {
  const char* docker;
  const char* name;
};

void PrintTo(const Client& c, std::ostream* os) {
  *os << c.name << " (" << c.docker << ")";
}

class PipIndex : public ::testing::TestWithParam<Client> {
protected:
  void SetUp() override {
    FURNACE_REQUIRE_ENGINE();
    const std::string client = GetParam().docker;
    if (client != "/usr/bin/docker") {
      FURNACE_REQUIRE(fs::exists(client), "no " + client);
      // With the buildx plugin that client runs BuildKit, which the other case already covers.
      if (run({client, "buildx", "version"}, 15000).status.ok()) {
        GTEST_SKIP() << client << " has buildx: the legacy builder is not what it runs";
      }
    }
    ASSERT_TRUE(run({"python3", "-c", "import zipfile, hashlib, http.server"}, 30000).status.ok())
        << "python3 with zipfile and http.server is needed to write and serve the index";
    static int counter = 0;
    m_name = "furnace-it-pip-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    m_project = m_dir.path() + "/project";
    m_env = {{"HOME", m_dir.path() + "/home"},
             {"XDG_CONFIG_HOME", m_dir.path() + "/config"},
             {"-XDG_CACHE_HOME", ""},
             {"-XDG_DATA_HOME", ""},
             {"-FURNACE_BUILDER", ""},
             {"FURNACE_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"},
             {"FURNACE_DOCKER", client}};

    const std::string script = m_dir.write("make_index.py", k_make_index);
    const auto made = run({"python3", script, m_dir.path() + "/index"}, 60000);
    ASSERT_TRUE(made.status.ok()) << made.err;
    start_index();
    m_refused_fd = bind_free_port(m_refused_port);
    ASSERT_GE(m_refused_fd, 0) << "cannot bind a port on 127.0.0.1";
  }

  void TearDown() override {
    if (m_server > 0) {
      ::kill(m_server, SIGTERM);
      int status = 0;
      bool reaped = false;
      for (int i = 0; i < 100 && !reaped; ++i) { // at most 2 s, then SIGKILL
        reaped = ::waitpid(m_server, &status, WNOHANG) == m_server;
        if (!reaped) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
      if (!reaped) {
        ::kill(m_server, SIGKILL);
        ::waitpid(m_server, &status, 0);
      }
    }
    if (m_refused_fd >= 0) {
      ::close(m_refused_fd);
    }
    if (m_name.empty()) {
      return;
    }
    const auto ids = docker({"images", "-q", "--filter", "reference=furnace/" + m_name});
    std::set<std::string> unique;
    for (const std::string& id : util::split(ids.out, '\n')) {
      if (!id.empty() && unique.insert(id).second) {
        docker({"rmi", "-f", id});
      }
    }
  }

  // `python3 -m http.server` on a free loopback port; a port taken between the probe and the
  // bind makes the server exit, and another port is tried.
  void start_index() {
    for (int attempt = 0; attempt < 3 && m_index_port == 0; ++attempt) {
      int port = 0;
      const int probe = bind_free_port(port);
      ASSERT_GE(probe, 0);
      ::close(probe);
      const std::string dir = m_dir.path() + "/index";
      const std::string log = m_dir.path() + "/http-server.log";
      const pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
          ::dup2(fd, 1);
          ::dup2(fd, 2);
        }
        const std::string p = std::to_string(port);
        ::execlp("python3",
                 "python3",
                 "-m",
                 "http.server",
                 "--bind",
                 "127.0.0.1",
                 "--directory",
                 dir.c_str(),
                 p.c_str(),
                 static_cast<char*>(nullptr));
        ::_exit(127);
      }
      m_server = pid;
      bool exited = false;
      for (int i = 0; i < 250 && !port_open(port) && !exited; ++i) { // at most 5 s
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        exited = ::waitpid(pid, nullptr, WNOHANG) == pid;
      }
      if (exited) {
        m_server = -1;
      } else if (port_open(port)) {
        m_index_port = port;
      }
    }
    ASSERT_NE(m_index_port, 0) << "python3 -m http.server did not start: "
                               << slurp(m_dir.path() + "/http-server.log");
  }

  std::string index_url() const {
    return "http://127.0.0.1:" + std::to_string(m_index_port) + "/simple";
  }
  std::string refused_url() const {
    return "http://127.0.0.1:" + std::to_string(m_refused_port) + "/simple";
  }
  std::string server_log() const { return slurp(m_dir.path() + "/http-server.log"); }
  std::string staged_dockerfile(const std::string& hash12) const {
    return slurp(m_dir.path() + "/home/.cache/furnace/build/" + hash12 + "/Dockerfile");
  }

  void write_project(const std::string& mirror,
                     const std::string& extra,
                     const std::string& requirements) const {
    m_dir.write("project/furnace.yaml",
                "name: " + m_name + "\nbase: " + k_base + "\nmirrors: {pip: '" + mirror +
                    "'}\npip: [" + extra + "]\n");
    m_dir.write("project/requirements.txt", requirements);
  }

  // The failure report's parts that every failed build must print.
  void expect_failure_report(const furnace::testing::Run& r, const std::string& needle) const {
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out, "");
    const auto step = r.err.find("\nfailed step: ");
    ASSERT_NE(step, std::string::npos) << r.err;
    EXPECT_NE(r.err.substr(step, r.err.find('\n', step + 1) - step).find("pip install"),
              std::string::npos)
        << r.err;
    const auto lines = r.err.find(" lines:\n    ", step);
    ASSERT_NE(lines, std::string::npos) << r.err;
    EXPECT_NE(r.err.find(needle, lines), std::string::npos) << r.err;
    const std::string logs = m_dir.path() + "/home/.local/share/furnace/logs/";
    const auto at = r.err.find("; the full log is " + logs + "build-" + m_name + "-");
    ASSERT_NE(at, std::string::npos) << r.err;
    EXPECT_NE(r.err.find("furnace: error: the build of furnace/" + m_name + ":"),
              std::string::npos);
    const std::string path = r.err.substr(at + 18, r.err.find('\n', at) - at - 18);
    EXPECT_NE(slurp(path).find(needle), std::string::npos) << path;
  }

  TempDir m_dir;
  std::string m_name;
  std::string m_project;
  std::map<std::string, std::string> m_env;
  pid_t m_server = -1;
  int m_index_port = 0;
  int m_refused_fd = -1;
  int m_refused_port = 0;
};

TEST_P(PipIndex, installs_from_the_local_index_and_locks_what_it_installed) {
  write_project(index_url(), "furnace-fixture-a==1.0", "furnace-fixture-b==1.0\n");
  const auto dry = run_furnace({"build", m_project, "--network", "host", "--dry-run"}, m_env);
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  const auto t = dry.out.find(" build -t furnace/" + m_name + ":");
  ASSERT_NE(t, std::string::npos) << dry.out;
  EXPECT_EQ(dry.out.substr(dry.out.find(' ', t + 10), 15), " --network host") << dry.out;

  const auto built = run_furnace({"build", m_project, "--network", "host"}, m_env);
  ASSERT_EQ(built.exit_code, 0) << built.err;
  const std::string tag = trim_nl(built.out);
  ASSERT_EQ(tag.rfind("furnace/" + m_name + ":", 0), 0U) << built.out;

  // The pinned 1.0, not the index's newest 2.0; b's dependency c came from the same index.
  const auto a = docker({"run",
                         "--rm",
                         "--network",
                         "none",
                         tag,
                         "python",
                         "-c",
                         "import furnace_fixture_a; print(furnace_fixture_a.VERSION)"});
  EXPECT_TRUE(a.status.ok()) << a.err;
  EXPECT_EQ(trim_nl(a.out), "1.0");
  const auto bc = docker({"run",
                          "--rm",
                          "--network",
                          "none",
                          tag,
                          "python",
                          "-c",
                          "import furnace_fixture_b, furnace_fixture_c; "
                          "print(furnace_fixture_b.VERSION, furnace_fixture_c.VERSION)"});
  EXPECT_TRUE(bc.status.ok()) << bc.err;
  EXPECT_EQ(trim_nl(bc.out), "1.0 1.0");

  // The Dockerfile names the index (plain http: trusted), and pip asked that server.
  const std::string dockerfile = staged_dockerfile(tag.substr(tag.find(':') + 1));
  EXPECT_NE(dockerfile.find(" PIP_INDEX_URL=" + index_url() + " PIP_TRUSTED_HOST=127.0.0.1\n"),
            std::string::npos)
      << dockerfile;
  const std::string served = server_log();
  for (const char* path : {"GET /simple/furnace-fixture-a/ ",
                           "GET /simple/furnace-fixture-b/ ",
                           "GET /simple/furnace-fixture-c/ ",
                           "GET /packages/furnace_fixture_a-1.0-py3-none-any.whl "}) {
    EXPECT_NE(served.find(path), std::string::npos) << path << "\n" << served;
  }
  EXPECT_EQ(served.find("furnace_fixture_a-2.0"), std::string::npos) << served;

  const std::string lock = slurp(m_project + "/furnace.lock");
  EXPECT_NE(lock.find("\nimage: " + tag + "\n"), std::string::npos) << lock;
  for (const char* line :
       {"\nfurnace-fixture-a==1.0\n", "\nfurnace-fixture-b==1.0\n", "\nfurnace-fixture-c==1.0\n"}) {
    EXPECT_NE(lock.find(line), std::string::npos) << line << lock;
  }

  // The network is not in the hash: with or without it, the same tag and no build.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"build", m_project, "--network", "host"},
        std::vector<std::string>{"build", m_project}}) {
    const auto again = run_furnace(args, m_env);
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(trim_nl(again.out), tag);
    EXPECT_NE(again.err.find(tag + " is up to date"), std::string::npos) << again.err;
  }
}

TEST_P(PipIndex, a_requirement_the_index_lacks_fails_naming_it_and_the_index) {
  write_project(index_url(), "", "furnace-fixture-b==1.0\nfurnace-fixture-missing==1.0\n");
  const auto r = run_furnace({"build", m_project, "--network", "host"}, m_env);
  expect_failure_report(r, "No matching distribution found for furnace-fixture-missing==1.0");
  // The index answered (a 404 for the name): not a mirror problem, and the hint says what is.
  EXPECT_NE(server_log().find("GET /simple/furnace-fixture-missing/ "), std::string::npos)
      << server_log();
  EXPECT_EQ(r.err.find("a package mirror cannot be reached"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\n  hint: pip found no 'furnace-fixture-missing==1.0' on " + index_url() +
                       ": check the name and the version, or whether that index carries it\n"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(m_project + "/furnace.lock"));
}

TEST_P(PipIndex, an_index_that_refuses_connections_gives_the_mirror_hint) {
  write_project(refused_url(), "furnace-fixture-a==1.0", "");
  const auto r = run_furnace({"build", m_project, "--network", "host"}, m_env);
  expect_failure_report(r, "Connection refused");
  EXPECT_NE(r.err.find("\n  hint: a package mirror cannot be reached (apt: the image's sources, "
                       "pip: " +
                       refused_url() + "): fix or set 'mirrors' in furnace.yaml"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(m_project + "/furnace.lock"));
}

INSTANTIATE_TEST_SUITE_P(Clients,
                         PipIndex,
                         ::testing::Values(Client{"/usr/bin/docker", "buildkit"},
                                           Client{"/usr/local/bin/docker", "legacy"}),
                         [](const ::testing::TestParamInfo<Client>& param) {
                           return std::string(param.param.name);
                         });

} // namespace
} // namespace furnace::testing
