// furnace lab against the real engine and the Jupyter stand-in (scripts/test-engine.sh builds
// furnace-stand-in/jupyter:notebook: Debian's jupyter-notebook on the python3-torch stand-in),
// driven by headless Chromium (tests/integration/lab_browser.py, DevTools protocol): the file
// browser lists the project, a cell imports torch and writes a file that belongs to the caller;
// without the token the API answers 403; the port is on 127.0.0.1 only; the token is in no
// /proc/*/cmdline and not in `docker inspect`. RELIABILITY cases 35 (concurrent labs) and 44.

#include "support/background.hpp"
#include "support/test_env.hpp"

#include <furnace/util/strings.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace furnace::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_jupyter_image = "furnace-stand-in/jupyter:notebook";
// The stand-in it is built on: torch without Jupyter.
constexpr const char* k_plain_image = "pytorch/pytorch:2.9.1-cuda13.0-cudnn9-runtime";
constexpr const char* k_user = "furnace-it";
constexpr unsigned k_uid = 4242;
// Case 35 asks for 20 users starting labs at once; each Jupyter takes about a second of CPU to
// start, which the 2-core test machine does in well under a minute.
constexpr int k_concurrent_labs = 20;
// The stand-in image's name for projects: fixed, so that the tests share one built image.
constexpr const char* k_project_name = "furnace-it-lab";

struct Lab {
  std::string name;
  std::string url; // with the token
  int port = 0;
  std::string token;
};

// "http://127.0.0.1:PORT/?token=T" and the name from "NAME is ready in …" on stderr.
Lab parse_lab(const std::string& out, const std::string& err) {
  Lab lab;
  static const std::regex url_re(R"(http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]+))");
  static const std::regex name_re(R"((\S+) is ready in [0-9.]+ s)");
  std::smatch m;
  if (std::regex_search(out, m, url_re)) {
    lab.url = m[0];
    lab.port = std::stoi(m[1]);
    lab.token = m[2];
  }
  if (std::regex_search(err, m, name_re)) {
    lab.name = m[1];
  }
  return lab;
}

class LabCli : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (!engine_available()) {
      return;
    }
    if (::getpwnam(k_user) == nullptr) {
      sh(std::string("useradd --uid ") + std::to_string(k_uid) + " --create-home --groups docker " +
         k_user);
    }
    s_dir = new TempDir(); // NOLINT(cppcoreguidelines-owning-memory)
    s_project = s_dir->path() + "/project";
    s_dir->write("project/furnace.yaml",
                 std::string("name: ") + k_project_name + "\nbase: " + k_jupyter_image + "\n");
    s_dir->write("project/train.py", "print('training')\n");
    s_dir->write("project/data/README.md", "data\n");
    s_dir->write("home/.keep", "");
    sh("chown -R " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + s_dir->path());
    ::chmod(s_dir->path().c_str(), 0755);
  }

  static void TearDownTestSuite() {
    if (s_dir == nullptr) {
      return;
    }
    sh("docker ps -aq --filter label=org.furnace.project=" + s_project +
       " | xargs -r docker rm -f");
    delete s_dir; // NOLINT(cppcoreguidelines-owning-memory)
    s_dir = nullptr;
  }

  void SetUp() override {
    FURNACE_REQUIRE_ENGINE();
    FURNACE_REQUIRE(sh(std::string("docker image inspect ") + k_jupyter_image).status.ok(),
                    std::string(k_jupyter_image) + " is missing: run 'scripts/test-engine.sh up'");
  }

  static std::map<std::string, std::string> env() {
    return {{"HOME", s_dir->path() + "/home"},
            {"-XDG_DATA_HOME", ""},
            {"-XDG_CACHE_HOME", ""},
            {"-XDG_CONFIG_HOME", ""},
            {"-XDG_STATE_HOME", ""},
            {"-DISPLAY", ""},
            {"-WAYLAND_DISPLAY", ""},
            {"-SSH_CONNECTION", ""},
            {"FURNACE_DOCKER", "/usr/bin/docker"},
            {"FURNACE_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"},
            {"-http_proxy", ""},
            {"-https_proxy", ""},
            {"-HTTP_PROXY", ""},
            {"-HTTPS_PROXY", ""}};
  }
  static std::vector<std::string> as_user() {
    return {"setpriv",
            "--reuid=" + std::to_string(k_uid),
            "--regid=" + std::to_string(k_uid),
            "--init-groups"};
  }
  static ::furnace::testing::Run furnace(const std::vector<std::string>& args,
                                         const std::map<std::string, std::string>& extra = {}) {
    auto e = env();
    for (const auto& [k, v] : extra) {
      e[k] = v;
    }
    return run_furnace(args, e, as_user());
  }
  static std::string token_dir() { return s_dir->path() + "/home/.local/state/furnace/labs"; }
  static std::string labs_of_project() {
    return sh("docker ps -a --filter label=org.furnace.lab --filter label=org.furnace.project=" +
              fs::canonical(s_project).string() + " --format '{{.Names}}'")
        .out;
  }

  static TempDir* s_dir;
  static std::string s_project;
};

TempDir* LabCli::s_dir = nullptr;
std::string LabCli::s_project;

// HTTP status of GET `url` without any token or cookie ("302 LOCATION" for a redirect).
std::string status_of(const std::string& url) {
  const std::string out =
      sh("curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 10 '" + url + "'").out;
  return std::string(util::trim(out));
}

TEST_F(LabCli, chromium_lists_the_project_and_a_cell_with_torch_writes_as_the_caller) {
  const auto t0 = std::chrono::steady_clock::now();
  // Over ssh (a made-up connection): the tunnel line instead of a browser.
  const auto r = furnace({"lab", "-d", "-C", s_project},
                         {{"SSH_CONNECTION", "192.0.2.7 50022 198.51.100.3 22"}});
  const double start_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const Lab lab = parse_lab(r.out, r.err);
  ASSERT_GT(lab.port, 0) << r.out << r.err;
  ASSERT_FALSE(lab.name.empty()) << r.err;
  EXPECT_EQ(lab.token.size(), 64U);
  std::cout << "[ lab ] started in " << start_s << " s (furnace lab -d to the printed URL)\n";
  EXPECT_NE(r.err.find("ssh -L " + std::to_string(lab.port) +
                       ":127.0.0.1:" + std::to_string(lab.port) + " " + k_user + "@198.51.100.3"),
            std::string::npos)
      << r.err;

  // The token file: the caller's, 0600, no trailing newline, the token itself.
  const std::string token_file = token_dir() + "/" + lab.name + ".token";
  struct stat st {};
  ASSERT_EQ(::stat(token_file.c_str(), &st), 0) << token_file;
  EXPECT_EQ(st.st_uid, k_uid);
  EXPECT_EQ(st.st_mode & 0777U, 0600U);
  EXPECT_EQ(read_text(token_file), lab.token);

  // 127.0.0.1 only: every listener on the port is the loopback one.
  const std::string ss = sh("ss -Htln 'sport = :" + std::to_string(lab.port) + "'").out;
  ASSERT_NE(ss.find("127.0.0.1:" + std::to_string(lab.port)), std::string::npos) << ss;
  std::istringstream lines(ss);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_NE(line.find("127.0.0.1:" + std::to_string(lab.port)), std::string::npos) << line;
  }

  // Not reachable through another address of this host (ufw or not): nothing listens there.
  const std::string other_ip(util::trim(sh("hostname -I | awk '{print $1}'").out));
  if (!other_ip.empty() && other_ip.rfind("127.", 0) != 0) {
    EXPECT_EQ(status_of("http://" + other_ip + ":" + std::to_string(lab.port) + "/api/kernels"),
              "000")
        << other_ip;
  }

  // Without the token: the API refuses (403), the UI sends to the login page.
  const std::string base = "http://127.0.0.1:" + std::to_string(lab.port);
  EXPECT_EQ(status_of(base + "/api/kernels"), "403");
  EXPECT_EQ(status_of(base + "/api/contents"), "403");
  EXPECT_EQ(status_of(base + "/tree"), "302 " + base + "/login?next=%2Ftree");

  // Headless Chromium: the listing, a cell, a screenshot (to $FURNACE_LAB_SCREENSHOT when set).
  FURNACE_REQUIRE(sh("command -v chromium").status.ok(),
                  "no chromium (scripts/deps.sh installs it)");
  const std::string url_file = s_dir->write("url", lab.url + "\n", 0600);
  const char* shot_env = std::getenv("FURNACE_LAB_SCREENSHOT"); // NOLINT(concurrency-mt-unsafe)
  const std::string shot = shot_env != nullptr ? shot_env : s_dir->path() + "/lab.png";
  const std::string python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  // The token stays out of argv: the URL comes on stdin.
  std::atomic<bool> browsing{true};
  std::set<std::string> leaked;
  std::thread sampler([&] {
    while (browsing) {
      for (const auto& p : fs::directory_iterator("/proc")) {
        const std::string cmdline = read_text(p.path().string() + "/cmdline");
        if (cmdline.find(lab.token) != std::string::npos) {
          leaked.insert(p.path().filename().string() + ": " + cmdline);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const auto b = sh(python + " " + FURNACE_SOURCE_DIR + "/tests/integration/lab_browser.py" +
                        " --expect train.py --expect data --expect furnace.yaml" +
                        " --write-file from_lab.txt --screenshot '" + shot + "' < " + url_file,
                    240);
  browsing = false;
  sampler.join();
  ASSERT_TRUE(b.status.ok()) << b.out << b.err;
  const auto j = nlohmann::json::parse(b.out);
  EXPECT_NE(j["output"].get<std::string>().find("uid " + std::to_string(k_uid)), std::string::npos)
      << j;
  EXPECT_TRUE(fs::file_size(shot) > 10000) << shot;
  EXPECT_TRUE(leaked.empty()) << *leaked.begin();

  const std::string made = s_project + "/from_lab.txt";
  ASSERT_EQ(::stat(made.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, k_uid) << "the file the notebook wrote must belong to the caller";
  EXPECT_EQ(read_text(made).rfind("torch 1.13", 0), 0U) << read_text(made);

  // Not in docker inspect (Env, Cmd, Labels, Mounts: all of it).
  const std::string inspect = sh("docker inspect " + lab.name).out;
  EXPECT_NE(inspect.find("JUPYTER_TOKEN_FILE=/run/furnace/jupyter-token"), std::string::npos);
  EXPECT_EQ(inspect.find(lab.token), std::string::npos);
  EXPECT_NE(inspect.find("\"org.furnace.lab\": \"jupyter\""), std::string::npos);

  // Not in the run's log, `docker logs` or the history: the notebook's access log wrote the
  // browser's "GET /?token=…" before furnace's filter replaced the value.
  const auto logs = furnace({"logs", lab.name});
  EXPECT_NE(logs.out.find("GET /?token=[secret]"), std::string::npos) << logs.out;
  EXPECT_EQ(sh("docker logs " + lab.name + " 2>&1").out.find(lab.token), std::string::npos);
  EXPECT_EQ(logs.out.find(lab.token), std::string::npos);
  EXPECT_EQ(furnace({"history", "--json"}).out.find(lab.token), std::string::npos);

  // ps: the URL without the token; --url: the whole URL again, for its owner.
  const auto ps = furnace({"ps"});
  EXPECT_NE(ps.out.find("lab " + lab.name + ": " + base + "/ "), std::string::npos) << ps.out;
  EXPECT_EQ(ps.out.find(lab.token), std::string::npos);
  const auto again = furnace({"lab", "--url", "-C", s_project});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, lab.url + "\n");

  const auto stop = furnace({"stop", lab.name});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_TRUE(wait_for([&] { return labs_of_project().empty(); }, std::chrono::seconds(30)))
      << labs_of_project();
  EXPECT_FALSE(fs::exists(token_file));
  const auto none = furnace({"lab", "--url", "-C", s_project});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no lab of yours runs"), std::string::npos) << none.err;
}

TEST_F(LabCli, ctrl_c_stops_a_foreground_lab_and_removes_its_token) {
  std::vector<std::string> envs;
  for (const auto& [k, v] : changed_env(env())) {
    envs.push_back(k + "=" + v);
  }
  std::vector<std::string> argv = as_user();
  argv.insert(argv.end(), {FURNACE_BINARY, "lab", "-C", s_project});
  SpawnOptions o;
  o.output_owner = k_uid;
  o.own_group = true;
  const Background bg = spawn_background(argv, envs, s_dir->path() + "/fg.out", o);
  Lab lab;
  ASSERT_TRUE(wait_for(
      [&] {
        lab = parse_lab(bg.output(), bg.output());
        return lab.port > 0 && bg.output().find("Ctrl-C stops it") != std::string::npos;
      },
      std::chrono::seconds(180)))
      << bg.output();
  EXPECT_EQ(status_of("http://127.0.0.1:" + std::to_string(lab.port) + "/api/kernels"), "403");
  ASSERT_EQ(::kill(bg.pid, SIGINT), 0);
  EXPECT_EQ(bg.wait(std::chrono::seconds(60)), 0) << bg.output();
  EXPECT_TRUE(labs_of_project().empty()) << labs_of_project();
  EXPECT_FALSE(fs::exists(token_dir() + "/" + lab.name + ".token"));
}

// RELIABILITY case 35: many users start labs at once. The engine picks each port (127.0.0.1::8888
// published, read back), so there is no "port is already allocated" race; names are unique.
TEST_F(LabCli, concurrent_labs_get_unique_names_and_loopback_ports_and_stop_cleanly) {
  // One run first: the project's image and the caller's layer exist before the rush (the rush
  // is about ports and names, not about twenty builds of one image).
  const auto first = furnace({"run", "-C", s_project, "--", "true"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::vector<std::string> envs;
  for (const auto& [k, v] : changed_env(env())) {
    envs.push_back(k + "=" + v);
  }
  std::vector<Background> starts;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < k_concurrent_labs; ++i) {
    std::vector<std::string> argv = as_user();
    argv.insert(argv.end(), {FURNACE_BINARY, "lab", "-d", "--timeout", "400", "-C", s_project});
    SpawnOptions o;
    o.output_owner = k_uid;
    starts.push_back(
        spawn_background(argv, envs, s_dir->path() + "/lab-" + std::to_string(i) + ".out", o));
  }
  std::set<std::string> names;
  std::set<int> ports;
  std::vector<Lab> labs;
  for (const Background& bg : starts) {
    const int code = bg.wait(std::chrono::seconds(480));
    EXPECT_EQ(code, 0) << bg.output();
    const Lab lab = parse_lab(bg.output(), bg.output());
    EXPECT_GT(lab.port, 0) << bg.output();
    names.insert(lab.name);
    ports.insert(lab.port);
    labs.push_back(lab);
  }
  const double all_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "[ lab ] " << k_concurrent_labs << " concurrent labs answered in " << all_s
            << " s\n";
  EXPECT_EQ(names.size(), static_cast<std::size_t>(k_concurrent_labs));
  EXPECT_EQ(ports.size(), static_cast<std::size_t>(k_concurrent_labs));
  // All labelled (lab, project, user) and on 127.0.0.1 only.
  const std::string project = fs::canonical(s_project).string();
  const std::string listed =
      sh("docker ps --filter label=org.furnace.lab=jupyter --filter label=org.furnace.project=" +
         project + " --filter label=org.furnace.user=" + k_user +
         " --format '{{.Names}} {{.Ports}}'")
          .out;
  for (const Lab& lab : labs) {
    EXPECT_NE(listed.find(lab.name + " 127.0.0.1:" + std::to_string(lab.port) + "->8888/tcp"),
              std::string::npos)
        << listed;
    EXPECT_EQ(status_of("http://127.0.0.1:" + std::to_string(lab.port) + "/api/kernels"), "403");
  }
  std::vector<std::string> stop{"stop"};
  stop.insert(stop.end(), names.begin(), names.end());
  const auto stopped = furnace(stop);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  // Leak check by label: no container, no token file left.
  EXPECT_TRUE(wait_for([&] { return labs_of_project().empty(); }, std::chrono::seconds(60)))
      << labs_of_project();
  for (const Lab& lab : labs) {
    EXPECT_FALSE(fs::exists(token_dir() + "/" + lab.name + ".token")) << lab.name;
  }
}

TEST_F(LabCli, an_image_without_jupyter_is_a_clear_error_that_names_the_fix) {
  // The plain stand-in (torch, no Jupyter): the container says what is missing and exits.
  const std::string project = s_dir->path() + "/no-jupyter";
  s_dir->write("no-jupyter/furnace.yaml",
               std::string("name: ") + k_project_name + "-none\nbase: " + k_plain_image + "\n");
  sh("chown -R " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + project);
  const auto r = furnace({"lab", "-d", "-C", project});
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_NE(r.err.find("neither jupyter-lab nor jupyter-notebook; add \"jupyter: true\" to "
                       "furnace.yaml"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("token="), std::string::npos) << r.out;
  EXPECT_TRUE(
      sh("docker ps -aq --filter label=org.furnace.project=" + fs::canonical(project).string())
          .out.empty());
  EXPECT_TRUE(!fs::exists(token_dir()) || fs::is_empty(token_dir()));
}

// sudo furnace lab with root's own HOME: the token file is root's directory's, yet the server
// runs as the caller and must read it (it failed with "Permission denied" on the token before).
TEST_F(LabCli, under_sudo_with_roots_home_the_caller_can_read_the_token) {
  const std::string root_home = s_dir->path() + "/root-home";
  fs::create_directories(root_home);
  ::chmod(root_home.c_str(), 0700); // root's, like /root
  auto e = env();
  e["HOME"] = root_home;
  e["SUDO_UID"] = std::to_string(k_uid);
  e["SUDO_GID"] = std::to_string(k_uid);
  e["SUDO_USER"] = k_user;
  const auto r = run_furnace({"lab", "-d", "--timeout", "120", "-C", s_project}, e); // as root
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const Lab lab = parse_lab(r.out, r.err);
  ASSERT_FALSE(lab.name.empty()) << r.err;
  const std::string token_file = root_home + "/.local/state/furnace/labs/" + lab.name + ".token";
  struct stat st {};
  ASSERT_EQ(::stat(token_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, k_uid);
  EXPECT_EQ(st.st_mode & 0777U, 0600U);
  EXPECT_EQ(sh("docker inspect --format '{{.Config.User}}' " + lab.name).out,
            std::to_string(k_uid) + ":" + std::to_string(k_uid) + "\n");
  const auto url = run_furnace({"lab", "--url", "-C", s_project}, e);
  EXPECT_EQ(url.out, lab.url + "\n") << url.err;
  EXPECT_EQ(run_furnace({"stop", lab.name}, e).exit_code, 0);
  EXPECT_TRUE(wait_for([&] { return labs_of_project().empty(); }, std::chrono::seconds(30)));
  EXPECT_FALSE(fs::exists(token_file));
}

} // namespace
} // namespace furnace::testing
