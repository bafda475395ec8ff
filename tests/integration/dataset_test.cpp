// furnace dataset and run -v against real files, real processes and the test engine:
// - a local dataset is bound read-only at /datasets/NAME, readable by the (non-root) caller,
//   a write fails; `docker inspect` shows exactly the intended mounts, -v with a hostile path
//   included (RELIABILITY case 13);
// - a CIFS dataset is driven up to the mount call (this kernel has no CIFS): the exact
//   mount.cifs options, the credentials file's mode, and a sampler over every /proc/*/cmdline and
//   environ every 2 ms that never sees the password (case 39); the failure path's output, the
//   history, new files under /tmp and the engine hold no password, no container (case 40);
// - a NAS whose port drops SYNs fails `furnace run` within 5 s with no container (case 29);
// - missing cifs-utils names the package; NFS's soft,timeo options reach mount.nfs (case 30,
//   as far as a kernel without NFS lets it);
// - a non-root user cannot add --system or choose options of a lab dataset; the sudo rule is
//   exact and lets them run `furnace dataset mount NAME` and nothing else.

#include "support/test_env.hpp"

#include <furnace/util/strings.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

namespace furnace::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_example_base = "pytorch/pytorch:2.9.1-cuda13.0-cudnn9-runtime";
constexpr const char* k_user = "furnace-ds";
constexpr unsigned k_uid = 4343;

std::string random_token() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

// A listener on 127.0.0.1 at a port of its own. `drop`: its accept queue is filled and never
// drained, so further SYNs get no answer (as behind a firewall's DROP). Otherwise every
// connection is accepted and closed at once (a mount attempt fails fast).
class Nas {
public:
  explicit Nas(bool drop) {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a); // NOLINT
    ::listen(m_fd, drop ? 0 : 16);
    socklen_t len = sizeof a;
    ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&a), &len); // NOLINT
    m_port = ntohs(a.sin_port);
    if (drop) {
      for (int i = 0; i < 3; ++i) {
        const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a); // NOLINT
        m_fillers.push_back(c);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return;
    }
    m_thread = std::thread([this] {
      while (!m_stop) {
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, 50) == 1) {
          const int c = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (c >= 0) {
            ::close(c);
          }
        }
      }
    });
  }
  Nas(const Nas&) = delete;
  Nas& operator=(const Nas&) = delete;
  ~Nas() {
    m_stop = true;
    if (m_thread.joinable()) {
      m_thread.join();
    }
    for (int c : m_fillers) {
      ::close(c);
    }
    ::close(m_fd);
  }
  unsigned port() const { return m_port; }

private:
  int m_fd = -1;
  unsigned m_port = 0;
  std::vector<int> m_fillers;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

// Reads every /proc/PID/cmdline and /proc/PID/environ every 2 ms until stopped: whether `secret`
// was ever in one, and the mount helper command lines it saw.
class ProcSampler {
public:
  explicit ProcSampler(std::string secret) : m_secret(std::move(secret)) {
    scan(true); // every process once; then only the ones started since, every 2 ms
    m_thread = std::thread([this] {
      while (!m_stop) {
        scan(false);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      scan(true);
    });
  }
  ProcSampler(const ProcSampler&) = delete;
  ProcSampler& operator=(const ProcSampler&) = delete;
  ~ProcSampler() { stop(); }
  void stop() {
    m_stop = true;
    if (m_thread.joinable()) {
      m_thread.join();
    }
  }
  std::vector<std::string> leaks() const {
    std::lock_guard<std::mutex> l(m_mu);
    return m_leaks;
  }
  // The command lines seen that contain `text`.
  std::vector<std::string> seen(const std::string& text) const {
    std::lock_guard<std::mutex> l(m_mu);
    std::vector<std::string> out;
    for (const std::string& c : m_cmdlines) {
      if (c.find(text) != std::string::npos) {
        out.push_back(c);
      }
    }
    return out;
  }
  std::set<std::string> helpers() const {
    std::lock_guard<std::mutex> l(m_mu);
    return m_helpers;
  }
  int scans() const { return m_scans; }

private:
  void scan(bool all) {
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) {
      return;
    }
    while (const dirent* e = ::readdir(proc)) {
      const std::string pid = e->d_name;
      if (pid.find_first_not_of("0123456789") != std::string::npos) {
        continue;
      }
      // A new process is read again for its first 500 ms: a fork shows its parent's command
      // line until it calls exec.
      const auto now = std::chrono::steady_clock::now();
      const auto known = m_known.find(pid);
      if (!all && known != m_known.end() && now - known->second > std::chrono::milliseconds(500)) {
        continue;
      }
      if (known == m_known.end()) {
        m_known.emplace(pid, now);
      }
      for (const char* what : {"cmdline", "environ"}) {
        const std::string text = read_small("/proc/" + pid + "/" + what);
        if (text.empty()) {
          continue;
        }
        std::lock_guard<std::mutex> l(m_mu);
        if (text.find(m_secret) != std::string::npos) {
          m_leaks.push_back(fmt_pid(pid, what, text));
        }
        if (std::string(what) == "cmdline") {
          std::string joined = text;
          std::replace(joined.begin(), joined.end(), '\0', ' ');
          m_cmdlines.insert(joined);
          if (joined.find("mount.") != std::string::npos &&
              joined.find(" -o ") != std::string::npos) {
            m_helpers.insert(joined);
          }
        }
      }
    }
    ::closedir(proc);
    ++m_scans;
  }
  // The whole of a small /proc file ("" when it is gone or unreadable).
  static std::string read_small(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC); // NOLINT
    if (fd < 0) {
      return {};
    }
    std::string out;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
  }
  static std::string fmt_pid(const std::string& pid, const char* what, std::string text) {
    std::replace(text.begin(), text.end(), '\0', ' ');
    return "/proc/" + pid + "/" + what + ": " + text;
  }

  std::string m_secret;
  mutable std::mutex m_mu;
  std::vector<std::string> m_leaks;
  std::set<std::string> m_helpers;
  std::set<std::string> m_cmdlines;
  // pid -> when first seen (only the sampler thread touches it)
  std::map<std::string, std::chrono::steady_clock::time_point> m_known;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_scans{0};
  std::thread m_thread;
};

// `argv` with `input` on its stdin (a pipe from this process: never a file, argv or variable).
Run run_with_stdin(const std::vector<std::string>& argv,
                   const std::map<std::string, std::string>& env,
                   const std::string& input,
                   const std::string& out_file) {
  std::vector<std::string> envs;
  for (const auto& [k, v] : changed_env(env)) {
    envs.push_back(k + "=" + v);
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    return {};
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(p[0], 0);
    const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600); // NOLINT
    ::dup2(out, 1);
    ::dup2(out, 2);
    std::vector<char*> a;
    for (const auto& s : argv) {
      a.push_back(const_cast<char*>(s.c_str())); // NOLINT
    }
    a.push_back(nullptr);
    std::vector<char*> e;
    for (const auto& s : envs) {
      e.push_back(const_cast<char*>(s.c_str())); // NOLINT
    }
    e.push_back(nullptr);
    ::execvpe(a[0], a.data(), e.data());
    ::_exit(127);
  }
  ::close(p[0]);
  // The process waits for its stdin a while: long enough for a sampler to see it.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  (void)!::write(p[1], input.data(), input.size());
  ::close(p[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  Run r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out_file);
  return r;
}

class DatasetCli : public ::testing::Test {
protected:
  void SetUp() override {
    m_name = "furnace-it-ds" + std::to_string(::getpid());
    m_dir.write("home/.keep", "");
    m_project = m_dir.path() + "/project";
    m_dir.write("project/.keep", "");
    m_marker = m_dir.write("marker", "");
  }
  void TearDown() override {
    sh("docker ps -aq --filter label=org.furnace.project=" + m_project +
       " | xargs -r docker rm -f");
    // By tag: the same content may be another suite's image (an id in use cannot be removed).
    sh("docker images --format '{{.Repository}}:{{.Tag}}' --filter reference='furnace/" + m_name +
       ":*' --filter reference='furnace-user/" + m_name + ":*' | xargs -r docker rmi");
  }
  std::map<std::string, std::string> env() const {
    return {{"HOME", m_dir.path() + "/home"},
            {"-XDG_DATA_HOME", ""},
            {"-XDG_CACHE_HOME", ""},
            {"-XDG_CONFIG_HOME", ""},
            {"FURNACE_DOCKER", "/usr/bin/docker"},
            {"FURNACE_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"},
            {"-http_proxy", ""},
            {"-https_proxy", ""},
            {"-HTTP_PROXY", ""},
            {"-HTTPS_PROXY", ""}};
  }
  ::furnace::testing::Run furnace(const std::vector<std::string>& args,
                                  const std::vector<std::string>& prefix = {}) const {
    return run_furnace(args, env(), prefix);
  }
  ::furnace::testing::Run furnace_stdin(const std::vector<std::string>& args,
                                        const std::string& input,
                                        const std::vector<std::string>& prefix = {}) const {
    std::vector<std::string> argv = prefix;
    argv.emplace_back(FURNACE_BINARY);
    argv.insert(argv.end(), args.begin(), args.end());
    return run_with_stdin(argv, env(), input, m_dir.path() + "/stdin-run.out");
  }
  void write_project(const std::string& datasets) {
    const std::string src = std::string(FURNACE_SOURCE_DIR) + "/examples/mnist";
    m_dir.write("project/requirements.txt", read_text(src + "/requirements.txt"));
    m_dir.write("project/furnace.yaml",
                "name: " + m_name + "\nbase: " + k_example_base + "\ndatasets: [" + datasets +
                    "]\n");
  }
  std::string containers() const {
    return sh("docker ps -a --filter label=org.furnace.project=" + m_project +
              " --format '{{.Names}}'")
        .out;
  }

  TempDir m_dir;
  std::string m_name;
  std::string m_project;
  std::string m_marker;
};

// The test user (uid 4343, in the docker group), made for one test and removed after it.
struct TestUser {
  TestUser() {
    if (::getpwnam(k_user) == nullptr) {
      sh(std::string("useradd --uid ") + std::to_string(k_uid) + " --create-home --groups docker " +
         k_user);
    }
  }
  TestUser(const TestUser&) = delete;
  TestUser& operator=(const TestUser&) = delete;
  ~TestUser() { sh(std::string("userdel -r ") + k_user + " 2>/dev/null"); }
};
std::vector<std::string> as_user() {
  return {"setpriv",
          "--reuid=" + std::to_string(k_uid),
          "--regid=" + std::to_string(k_uid),
          "--init-groups"};
}

TEST_F(DatasetCli, a_local_dataset_is_bound_read_only_and_readable_by_the_caller) {
  FURNACE_REQUIRE_ENGINE();
  const TestUser user;
  m_dir.write("data/hello.txt", "hello from the dataset\n");
  m_dir.write("odd dir,with=chars/seen.txt", "odd\n");
  // RELIABILITY case 13 for a dataset: a directory with ' ', ',', '=' and ':' reached through
  // '..' and a symlink is stored resolved and bound exactly; a symlink to / and a line break are
  // refused.
  m_dir.write("hostile/odd: dir,x=y/in.txt", "hostile\n");
  fs::create_directories(m_dir.path() + "/sub");
  fs::create_symlink(m_dir.path() + "/hostile/odd: dir,x=y", m_dir.path() + "/link");
  fs::create_symlink("/", m_dir.path() + "/to-root");
  fs::create_directories(m_dir.path() + "/line\nbreak");
  const std::string odd_name = m_name + "-odd";
  write_project(m_name + ", " + odd_name);
  sh("chown -R -h " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + m_dir.path());
  const auto added = furnace({"dataset", "add", m_name, m_dir.path() + "/data"}, as_user());
  ASSERT_EQ(added.exit_code, 0) << added.out << added.err;
  const auto odd_added =
      furnace({"dataset", "add", odd_name, m_dir.path() + "/sub/../link"}, as_user());
  ASSERT_EQ(odd_added.exit_code, 0) << odd_added.out << odd_added.err;
  const auto to_root =
      furnace({"dataset", "add", m_name + "-root", m_dir.path() + "/to-root"}, as_user());
  EXPECT_EQ(to_root.exit_code, 2);
  EXPECT_NE(to_root.err.find("whole file system"), std::string::npos) << to_root.err;
  const auto line =
      furnace({"dataset", "add", m_name + "-nl", m_dir.path() + "/line\nbreak"}, as_user());
  EXPECT_EQ(line.exit_code, 2);
  EXPECT_NE(line.err.find("control character"), std::string::npos) << line.err;
  struct stat st {};
  const std::string yaml = m_dir.path() + "/home/.config/furnace/datasets.yaml";
  ASSERT_EQ(::stat(yaml.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, k_uid) << "the caller's own file";

  const auto r = furnace({"run",
                          "-C",
                          m_project,
                          "--",
                          "sh",
                          "-c",
                          "id -u; cat /datasets/" + m_name + "/hello.txt; touch /datasets/" +
                              m_name + "/new 2>/dev/null && echo WROTE || echo READ-ONLY"},
                         as_user());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(std::to_string(k_uid) + "\nhello from the dataset\nREAD-ONLY"),
            std::string::npos)
      << r.out << r.err;
  EXPECT_FALSE(fs::exists(m_dir.path() + "/data/new"));

  // docker inspect: exactly the project, the dataset (read-only) and the -v with a hostile name.
  const std::string odd = fs::canonical(m_dir.path() + "/odd dir,with=chars").string();
  const auto d = furnace(
      {"run", "-d", "-C", m_project, "-v", odd + ":/extra/odd:ro", "--", "sleep", "60"}, as_user());
  ASSERT_EQ(d.exit_code, 0) << d.out << d.err;
  const std::string name = util::split(std::string(util::trim(d.out)), ' ').front();
  const auto mounts =
      nlohmann::json::parse(sh("docker inspect --format '{{json .Mounts}}' " + name).out);
  std::map<std::string, std::pair<std::string, bool>> got;
  for (const auto& m : mounts) {
    EXPECT_EQ(m.at("Type"), "bind");
    got[m.at("Destination").get<std::string>()] = {m.at("Source").get<std::string>(),
                                                   m.at("RW").get<bool>()};
  }
  const std::string project = fs::canonical(m_project).string();
  EXPECT_EQ(got,
            (std::map<std::string, std::pair<std::string, bool>>{
                {project, {project, true}},
                {"/datasets/" + m_name, {fs::canonical(m_dir.path() + "/data").string(), false}},
                {"/datasets/" + odd_name,
                 {fs::canonical(m_dir.path() + "/hostile/odd: dir,x=y").string(), false}},
                {"/extra/odd", {odd, false}}}))
      << mounts.dump();
  const auto seen =
      sh("docker exec " + name + " cat /extra/odd/seen.txt /datasets/" + odd_name + "/in.txt");
  EXPECT_EQ(seen.out, "odd\nhostile\n");
  sh("docker rm -f " + name);

  // A ':' in a -v path cannot be told from the separators: refused before anything runs.
  const auto colon =
      furnace({"run", "-C", m_project, "-v", m_dir.path() + "/a:b:/x", "--", "true"}, as_user());
  EXPECT_EQ(colon.exit_code, 2) << colon.err;
  EXPECT_NE(colon.err.find("':'"), std::string::npos) << colon.err;
}

// furnace lab and furnace ide take furnace.yaml's datasets (read-only at /datasets/NAME) and -v
// as furnace run does: in the engine command lab's --dry-run prints (the container it would
// start) and in the devcontainer.json ide writes.
TEST_F(DatasetCli, lab_and_ide_bind_the_datasets_and_v_as_run_does) {
  FURNACE_REQUIRE_ENGINE();
  m_dir.write("data/hello.txt", "hello\n");
  m_dir.write("extra/x.txt", "x\n");
  write_project(m_name);
  const auto added = furnace({"dataset", "add", m_name, m_dir.path() + "/data"});
  ASSERT_EQ(added.exit_code, 0) << added.out << added.err;
  const std::string data = fs::canonical(m_dir.path() + "/data").string();
  const std::string extra = fs::canonical(m_dir.path() + "/extra").string();
  const std::string dataset_mount =
      "type=bind,source=" + data + ",target=/datasets/" + m_name + ",readonly";
  const std::string extra_mount = "type=bind,source=" + extra + ",target=/extra,readonly";

  const auto lab = furnace({"lab", "--dry-run", "-C", m_project, "-v", extra + ":/extra:ro"});
  ASSERT_EQ(lab.exit_code, 0) << lab.out << lab.err;
  EXPECT_NE(lab.out.find(dataset_mount), std::string::npos) << lab.out;
  EXPECT_NE(lab.out.find(extra_mount), std::string::npos) << lab.out;

  const auto ide = furnace({"ide", "vscode", "-C", m_project, "-v", extra + ":/extra:ro"});
  ASSERT_EQ(ide.exit_code, 0) << ide.out << ide.err;
  const std::string text = read_text(m_project + "/.devcontainer/devcontainer.json");
  const auto json = nlohmann::json::parse(text.substr(text.find('{')));
  const std::vector<std::string> mounts = json.at("mounts").get<std::vector<std::string>>();
  EXPECT_EQ(std::count(mounts.begin(), mounts.end(), extra_mount), 1) << text;
  EXPECT_EQ(std::count(mounts.begin(), mounts.end(), dataset_mount), 1) << text;
}

// RELIABILITY cases 39 and 40: the password is in no argv or environment while furnace adds the
// dataset and mount.cifs runs (with the exact options), and not in the failure's output, the
// history, new files under /tmp (but the credentials file), or the engine.
TEST_F(DatasetCli, a_cifs_password_never_shows_in_processes_outputs_or_the_engine) {
  FURNACE_REQUIRE_ENGINE();
  ASSERT_EQ(::geteuid(), 0U) << "the suite runs as root (mounting needs it)";
  ASSERT_TRUE(fs::exists("/usr/sbin/mount.cifs")) << "scripts/deps.sh installs cifs-utils";
  Nas nas(false);
  const std::string password = "pw-" + random_token() + "-Zq";
  {
    // The sampler finds a secret that is in an argv (a control for the check below).
    ProcSampler control("ctl-" + password);
    sh("sh -c 'sleep 0.1' ctl-" + password);
    control.stop();
    ASSERT_FALSE(control.leaks().empty());
  }
  const std::string port = std::to_string(nas.port());
  write_project(m_name);
  ::furnace::testing::Run add;
  ::furnace::testing::Run mount;
  ::furnace::testing::Run run;
  ProcSampler sampler(password);
  {
    add = furnace_stdin({"dataset",
                         "add",
                         m_name,
                         "cifs://127.0.0.1/share/sub",
                         "--user",
                         "alice",
                         "--domain",
                         "LAB",
                         "--options",
                         "vers=3.0,port=" + port,
                         "--password-stdin"},
                        password + "\n");
    mount = furnace({"dataset", "mount", m_name});
    run = furnace({"run", "-C", m_project, "--", "true"});
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  sampler.stop();
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_GE(sampler.scans(), 5);
  // The sampler did see furnace's own processes (it is fast enough to see short-lived ones).
  EXPECT_FALSE(sampler.seen(" dataset add " + m_name + " cifs://").empty());
  std::cerr << "sampler: " << sampler.scans() << " scans; saw furnace dataset mount: "
            << !sampler.seen(" dataset mount " + m_name).empty() << '\n';
  EXPECT_TRUE(sampler.leaks().empty()) << sampler.leaks().front();

  const std::string creds = m_dir.path() + "/home/.config/furnace/credentials/" + m_name;
  struct stat st {};
  ASSERT_EQ(::stat(creds.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777U, 0600U);
  ASSERT_EQ(::stat(fs::path(creds).parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777U, 0700U);
  EXPECT_EQ(read_text(creds), "username=alice\npassword=" + password + "\ndomain=LAB\n");

  // The mount: exactly these options (the helper's command line is in the error too).
  const std::string options =
      "ro,credentials=" + creds +
      ",uid=0,gid=0,file_mode=0444,dir_mode=0555,vers=3.0,soft,nosuid,nodev,port=" + port;
  EXPECT_NE(mount.exit_code, 0);
  EXPECT_NE(mount.err.find("[ran: /usr/sbin/mount.cifs //127.0.0.1/share/sub /mnt/furnace/" +
                           m_name + " -o " + options + "]"),
            std::string::npos)
      << mount.err;
  for (const std::string& seen : sampler.helpers()) {
    if (seen.find("/mnt/furnace/" + m_name + " ") != std::string::npos) {
      EXPECT_NE(seen.find(" -o " + options), std::string::npos) << seen;
    }
  }
  if (!sampler.helpers().empty()) {
    std::cerr << "sampler saw: " << *sampler.helpers().begin() << '\n';
  }
  EXPECT_FALSE(fs::exists("/mnt/furnace/" + m_name)) << "the empty mount point is removed";
  // This kernel has no CIFS: the error says so and what to install.
  if (read_text("/proc/filesystems").find("cifs") == std::string::npos) {
    EXPECT_NE(mount.err.find("this kernel has no CIFS support"), std::string::npos) << mount.err;
    EXPECT_NE(mount.err.find("modprobe cifs"), std::string::npos) << mount.err;
  }

  // The failure path of a run: no container, no password anywhere it writes.
  EXPECT_EQ(run.exit_code, 125) << run.out << run.err;
  EXPECT_EQ(containers(), "");
  for (const ::furnace::testing::Run* r : {&add, &mount, &run}) {
    EXPECT_EQ((r->out + r->err).find(password), std::string::npos) << r->out << r->err;
  }
  const auto history = furnace({"history", "--all", "--json"});
  EXPECT_EQ(history.out.find(password), std::string::npos);
  const auto volumes = sh("docker volume ls -q | xargs -r docker volume inspect");
  EXPECT_EQ(volumes.out.find(password), std::string::npos);
  const auto files = sh("find /tmp " + m_dir.path() + " -xdev -type f -newer " + m_marker +
                        " -size -20M 2>/dev/null | grep -v '^" + creds +
                        "$' | xargs -r grep -lF -- '" + password + "' 2>/dev/null");
  EXPECT_EQ(files.out, "") << "files holding the password besides the credentials file";
  const auto yaml = read_text(m_dir.path() + "/home/.config/furnace/datasets.yaml");
  EXPECT_EQ(yaml.find(password), std::string::npos);
  EXPECT_NE(yaml.find("options: [vers=3.0, port=" + port + "]"), std::string::npos) << yaml;
}

// RELIABILITY case 14 through the CLI: an existing credentials file that others may read, or
// that someone else owns, is refused with the chmod hint; no password is asked for instead.
TEST_F(DatasetCli, a_bad_credentials_file_is_refused_with_the_chmod_hint) {
  const std::string creds =
      m_dir.write("home/.config/furnace/credentials/" + m_name, "username=a\npassword=b\n", 0644);
  ::chmod(fs::path(creds).parent_path().c_str(), 0700);
  const auto r = furnace_stdin({"dataset", "add", m_name, "//127.0.0.1/share", "--user", "a"}, "");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("mode 0644"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("chmod 600 " + creds), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(m_dir.path() + "/home/.config/furnace/datasets.yaml"));
  ::chmod(creds.c_str(), 0600);
  ASSERT_EQ(::chown(creds.c_str(), 65534, 65534), 0);
  const auto foreign =
      furnace_stdin({"dataset", "add", m_name, "//127.0.0.1/share", "--user", "a"}, "");
  EXPECT_EQ(foreign.exit_code, 1) << foreign.out;
  EXPECT_NE(foreign.out.find("owned by uid 65534"), std::string::npos) << foreign.out;
  EXPECT_NE(foreign.out.find("chmod 600"), std::string::npos) << foreign.out;
  // No terminal and no --password-stdin, no file: refused, pointing at --password-stdin.
  fs::remove(creds);
  const auto none =
      furnace({"dataset", "add", m_name, "//127.0.0.1/share", "--user", "a"}, {"setsid", "-w"});
  EXPECT_EQ(none.exit_code, 2) << none.out << none.err;
  EXPECT_NE(none.err.find("--password-stdin"), std::string::npos) << none.err;
  // A password option does not exist.
  const auto argv_pw =
      furnace({"dataset", "add", m_name, "//127.0.0.1/share", "--user", "a", "--password", "x"});
  EXPECT_EQ(argv_pw.exit_code, 2);
}

// The prompt: on the terminal, with echo off, so the password typed is not shown (a pty from
// python3's pty module stands in for the user's terminal).
TEST_F(DatasetCli, the_password_prompt_does_not_echo) {
  const std::string password = "typed-" + random_token();
  const std::string script = "import os, pty, sys, time\n"
                             "pid, fd = pty.fork()\n"
                             "if pid == 0:\n"
                             "    os.execv(sys.argv[1], sys.argv[1:])\n"
                             "out = b''\n"
                             "def more():\n"
                             "    global out\n"
                             "    try:\n"
                             "        out += os.read(fd, 4096)\n"
                             "        return True\n"
                             "    except OSError:\n"
                             "        return False\n"
                             "end = time.time() + 20\n"
                             "while b'password for' not in out and time.time() < end and more():\n"
                             "    pass\n"
                             "time.sleep(0.2)\n"
                             "os.write(fd, sys.stdin.readline().encode())\n"
                             "while more():\n"
                             "    pass\n"
                             "os.waitpid(pid, 0)\n"
                             "sys.stdout.write(out.decode(errors='replace'))\n";
  const std::string py = m_dir.write("prompt.py", script);
  const auto r = run_with_stdin({"python3",
                                 py,
                                 FURNACE_BINARY,
                                 "dataset",
                                 "add",
                                 m_name,
                                 "//127.0.0.1/share",
                                 "--user",
                                 "alice"},
                                env(),
                                password + "\n",
                                m_dir.path() + "/prompt.out");
  EXPECT_NE(r.out.find("password for alice on //127.0.0.1/share: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("added dataset " + m_name), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(password), std::string::npos) << "echoed: " << r.out;
  EXPECT_EQ(read_text(m_dir.path() + "/home/.config/furnace/credentials/" + m_name),
            "username=alice\npassword=" + password + "\n");
}

// RELIABILITY case 29: a NAS whose port drops SYNs fails the run fast, before any container.
TEST_F(DatasetCli, an_unreachable_nas_fails_the_run_within_5_s_without_a_container) {
  FURNACE_REQUIRE_ENGINE();
  Nas nas(true);
  write_project(m_name);
  const auto add = furnace_stdin({"dataset",
                                  "add",
                                  m_name,
                                  "//127.0.0.1/share",
                                  "--user",
                                  "a",
                                  "--options",
                                  "port=" + std::to_string(nas.port()),
                                  "--password-stdin"},
                                 "pw\n");
  ASSERT_EQ(add.exit_code, 0) << add.out;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = furnace({"run", "-C", m_project, "--", "true"});
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_LE(took, std::chrono::seconds(5));
  EXPECT_NE(r.err.find("dataset '" + m_name + "': the NAS 127.0.0.1:" + std::to_string(nas.port()) +
                       " (the share's port) is unreachable: no answer within 3.0 s"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(containers(), "");
  const auto ls = furnace({"dataset", "ls", "--json"});
  const auto j = nlohmann::json::parse(ls.out);
  ASSERT_EQ(j.size(), 1U);
  EXPECT_EQ(j[0]["reachable"], false);
  EXPECT_EQ(j[0]["mounted"], false);
}

// Without cifs-utils (hidden in a mount namespace) the error names the package; NFS's options
// reach mount.nfs (case 30's soft mount; this kernel cannot mount NFS, which the error says).
TEST_F(DatasetCli, a_missing_helper_names_the_package_and_nfs_mounts_soft) {
  ASSERT_EQ(::geteuid(), 0U);
  Nas nas(false);
  const std::string port = std::to_string(nas.port());
  ASSERT_EQ(furnace_stdin({"dataset",
                           "add",
                           m_name,
                           "//127.0.0.1/share",
                           "--user",
                           "a",
                           "--options",
                           "port=" + port,
                           "--password-stdin"},
                          "pw\n")
                .exit_code,
            0);
  const std::string hide = "mount --bind /dev/null /usr/sbin/mount.cifs && exec \"$0\" \"$@\"";
  const auto r = furnace({"dataset", "mount", m_name},
                         {"unshare", "-m", "--propagation", "private", "sh", "-c", hide});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("mount.cifs is not installed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("apt-get install cifs-utils"), std::string::npos) << r.err;

  const std::string nfs = m_name + "-nfs";
  ASSERT_EQ(
      furnace({"dataset", "add", nfs, "nfs://127.0.0.1/volume1/data", "--options", "port=" + port})
          .exit_code,
      0);
  const auto m = furnace({"dataset", "mount", nfs});
  EXPECT_NE(m.exit_code, 0);
  EXPECT_NE(m.err.find("[ran: /usr/sbin/mount.nfs 127.0.0.1:/volume1/data /mnt/furnace/" + nfs +
                       " -o ro,soft,timeo=50,retrans=2,nosuid,nodev,port=" + port + "]"),
            std::string::npos)
      << m.err;
  if (read_text("/proc/filesystems").find("nfs") == std::string::npos) {
    EXPECT_NE(m.err.find("this kernel has no NFS support"), std::string::npos) << m.err;
  }
  EXPECT_FALSE(fs::exists("/mnt/furnace/" + nfs));
}

// A non-root user cannot define the lab's datasets or choose their options; the sudo rule lets
// them run exactly `furnace dataset mount NAME` for the lab's datasets, nothing else.
TEST_F(DatasetCli, users_mount_lab_datasets_only_through_the_exact_sudo_rule) {
  ASSERT_EQ(::geteuid(), 0U);
  ASSERT_TRUE(fs::exists("/usr/bin/sudo")) << "scripts/deps.sh installs sudo";
  const TestUser user;
  sh("chown -R " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + m_dir.path());
  Nas nas(false);
  const std::string port = std::to_string(nas.port());
  const auto denied = furnace({"dataset", "add", m_name, m_dir.path(), "--system"}, as_user());
  EXPECT_EQ(denied.exit_code, 2) << denied.err;
  EXPECT_NE(denied.err.find("only root adds them"), std::string::npos) << denied.err;

  const std::string rule_file = "/etc/sudoers.d/furnace-datasets";
  // Put back what was there, whatever happens below.
  struct Restore {
    std::string file;
    std::string before;
    bool had;
    std::string name;
    bool had_lab_file = fs::exists("/etc/furnace/datasets.yaml");
    ~Restore() {
      run_furnace({"dataset", "rm", "--system", name});
      if (!had_lab_file) {
        std::error_code ec;
        fs::remove("/etc/furnace/datasets.yaml", ec);
        fs::remove("/etc/furnace/credentials", ec); // only when empty
      }
      if (had) {
        std::ofstream(file) << before;
      } else {
        fs::remove(file);
      }
    }
  } restore{rule_file, read_text(rule_file), fs::exists(rule_file), m_name};
  const auto lab = furnace_stdin({"dataset",
                                  "add",
                                  m_name,
                                  "//127.0.0.1/share",
                                  "--user",
                                  "lab",
                                  "--options",
                                  "port=" + port,
                                  "--system",
                                  "--password-stdin"},
                                 "labpw\n");
  ASSERT_EQ(lab.exit_code, 0) << lab.out;
  struct stat st {};
  ASSERT_EQ(::stat(("/etc/furnace/credentials/" + m_name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777U, 0600U);
  EXPECT_EQ(st.st_uid, 0U);
  const auto setup = furnace({"setup", "--dataset-sudo"});
  EXPECT_EQ(setup.exit_code, 0) << setup.out << setup.err;
  const std::string self = fs::canonical(FURNACE_BINARY).string();
  const std::string text = read_text(rule_file);
  ASSERT_EQ(::stat(rule_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777U, 0440U);
  EXPECT_NE(text.find("\nALL ALL=(root) NOPASSWD: "), std::string::npos) << text;
  EXPECT_NE(text.find(self + " dataset mount " + m_name + "\n"), std::string::npos) << text;
  EXPECT_EQ(sh("visudo -cf " + rule_file).status.code, 0);

  // The user: other arguments or another dataset are not covered by the rule.
  const auto options = run_command({"setpriv",
                                    "--reuid=" + std::to_string(k_uid),
                                    "--regid=" + std::to_string(k_uid),
                                    "--init-groups",
                                    "sudo",
                                    "-n",
                                    self,
                                    "dataset",
                                    "mount",
                                    m_name,
                                    "--options",
                                    "x"},
                                   env(),
                                   std::chrono::seconds(30));
  EXPECT_NE(options.exit_code, 0);
  EXPECT_NE(options.err.find("password is required"), std::string::npos) << options.err;
  const auto add_sys = run_command({"setpriv",
                                    "--reuid=" + std::to_string(k_uid),
                                    "--regid=" + std::to_string(k_uid),
                                    "--init-groups",
                                    "sudo",
                                    "-n",
                                    self,
                                    "dataset",
                                    "add",
                                    "x",
                                    "/tmp",
                                    "--system"},
                                   env(),
                                   std::chrono::seconds(30));
  EXPECT_NE(add_sys.err.find("password is required"), std::string::npos) << add_sys.err;
  // `furnace dataset mount NAME` as the user goes through the rule and reaches mount.cifs as
  // root, with the lab's options (this kernel then refuses CIFS).
  const auto mounted = furnace({"dataset", "mount", m_name}, as_user());
  EXPECT_EQ(mounted.err.find("password is required"), std::string::npos) << mounted.err;
  EXPECT_NE(
      mounted.err.find(
          "credentials=/etc/furnace/credentials/" + m_name +
          ",uid=0,gid=0,file_mode=0444,dir_mode=0555,vers=default,soft,nosuid,nodev,port=" + port),
      std::string::npos)
      << mounted.err;

  // A user's run of a project with the lab's dataset mounts it through the same rule, before
  // any container exists.
  FURNACE_REQUIRE_ENGINE();
  write_project(m_name);
  sh("chown -R " + std::to_string(k_uid) + ":" + std::to_string(k_uid) + " " + m_project);
  const auto run = furnace({"run", "-C", m_project, "--", "true"}, as_user());
  EXPECT_EQ(run.exit_code, 125) << run.out << run.err;
  EXPECT_NE(run.err.find("dataset '" + m_name + "': mounting through sudo failed"),
            std::string::npos)
      << run.err;
  EXPECT_EQ(run.err.find("password is required"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("credentials=/etc/furnace/credentials/" + m_name), std::string::npos)
      << run.err;
  EXPECT_EQ(containers(), "");

  EXPECT_EQ(furnace({"dataset", "rm", "--system", m_name}).exit_code, 0);
  EXPECT_FALSE(fs::exists("/etc/furnace/credentials/" + m_name));
  EXPECT_EQ(read_text(rule_file).find(" dataset mount " + m_name), std::string::npos)
      << "refreshed on rm";
}

} // namespace
} // namespace furnace::testing
