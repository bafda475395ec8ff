// furnace ide against the real engine and the real Dev Containers CLI (`devcontainer`, installed
// from the npm registry by scripts/devcontainer-cli.sh in the suite's setup): the file furnace
// writes is started by `devcontainer up`, `devcontainer exec` imports torch and writes into the
// project as the caller (files theirs), the GPUs chosen by UUID reach the container through the
// CLI, a hand-written file is shown as a diff and kept until --force, and the values printed for
// PyCharm's Docker interpreter start a container that imports torch. Each test cleans up the
// containers and images the CLI made (label devcontainer.local_folder, image vsc-<folder>-*).

#include "support/test_env.hpp"

#include <furnace/util/atomic_file.hpp>
#include <furnace/util/process.hpp>
#include <furnace/util/strings.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace furnace::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_base = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";
constexpr const char* k_user = "furnace-it";
constexpr unsigned k_uid = 4242;
constexpr std::chrono::seconds k_cli_timeout{240};

std::string uid_text() {
  return std::to_string(k_uid);
}

class IdeCli : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (!engine_available()) {
      return;
    }
    // The non-root caller: a user of the docker group (as in the run suite).
    if (::getpwnam(k_user) == nullptr) {
      sh(std::string("useradd --uid ") + uid_text() + " --create-home --groups docker " + k_user);
    }
    // The Dev Containers CLI at the pinned version (idempotent: nothing to do when present).
    const auto cli =
        sh("bash " + std::string(FURNACE_SOURCE_DIR) + "/scripts/devcontainer-cli.sh", 300);
    s_cli_ok = cli.status.code == 0;
    s_cli_error = cli.err;
    s_dir = new TempDir(); // NOLINT(cppcoreguidelines-owning-memory)
    s_name = "furnace-it-ide-" + std::to_string(::getpid());
    s_dir->write("home/.keep", "");
    sh("chmod 0755 " + s_dir->path());
    sh("chown -R " + uid_text() + ":" + uid_text() + " " + s_dir->path());
  }

  static void TearDownTestSuite() {
    if (s_dir == nullptr) {
      return;
    }
    sh("docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^(vsc-" + s_name +
       "-|furnace/" + s_name + ":|furnace-user/" + s_name + ":)' | xargs -r docker rmi -f");
    delete s_dir; // NOLINT(cppcoreguidelines-owning-memory)
    s_dir = nullptr;
  }

  void SetUp() override {
    FURNACE_REQUIRE_ENGINE();
    FURNACE_REQUIRE(s_cli_ok,
                    "the devcontainer CLI could not be installed (scripts/"
                    "devcontainer-cli.sh): " +
                        s_cli_error);
    // A project of its own (its own devcontainer), the suite's image; a space in its path
    // (RELIABILITY case 13: the mount is quoted for the CLI).
    m_project = s_dir->path() + "/" + s_name + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name() + " dir";
    fs::create_directories(m_project);
    write(m_project + "/furnace.yaml", "name: " + s_name + "\nbase: " + k_base + "\n");
    write(m_project + "/train.py", "import torch\n");
    sh("chown -R " + uid_text() + ":" + uid_text() + " " + util::shell_quote(m_project));
  }

  void TearDown() override {
    if (m_project.empty()) {
      return;
    }
    // The containers the CLI made, then their images (vsc-…-uid, and with --dockerfile the
    // image it built under it).
    const std::string images =
        sh(ide_containers("xargs -r docker inspect -f '{{.Config.Image}}'")).out;
    sh(ide_containers("xargs -r docker rm -f"));
    for (const std::string& image : util::split(images, '\n')) {
      if (image.rfind("vsc-", 0) == 0) {
        sh("docker rmi -f " + util::shell_quote(image) + " " +
           util::shell_quote(image.substr(
               0,
               image.size() -
                   (image.size() > 4 && image.compare(image.size() - 4, 4, "-uid") == 0 ? 4 : 0))));
      }
    }
  }

  static void write(const std::string& path, const std::string& text) {
    ASSERT_TRUE(util::write_file_atomic(path, text));
  }

  static std::map<std::string, std::string> env() {
    return {{"HOME", s_dir->path() + "/home"},
            {"-XDG_DATA_HOME", ""},
            {"-XDG_CACHE_HOME", ""},
            {"-XDG_CONFIG_HOME", ""},
            {"FURNACE_DOCKER", "/usr/bin/docker"},
            {"FURNACE_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"},
            {"-SUDO_UID", ""},
            {"-SUDO_GID", ""},
            {"-SUDO_USER", ""},
            {"-http_proxy", ""},
            {"-https_proxy", ""},
            {"-HTTP_PROXY", ""},
            {"-HTTPS_PROXY", ""}};
  }
  static std::vector<std::string> as_user() {
    return {"setpriv", "--reuid=" + uid_text(), "--regid=" + uid_text(), "--init-groups"};
  }
  // furnace as the test user.
  static ::furnace::testing::Run furnace(const std::vector<std::string>& args,
                                         const std::map<std::string, std::string>& extra = {}) {
    auto e = env();
    for (const auto& [k, v] : extra) {
      e[k] = v;
    }
    return run_furnace(args, e, as_user());
  }
  // The devcontainer CLI, as the test user unless `as_root`.
  ::furnace::testing::Run devcontainer(const std::vector<std::string>& args,
                                       bool as_root = false) const {
    std::vector<std::string> argv = as_root ? std::vector<std::string>{} : as_user();
    argv.emplace_back("devcontainer");
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, env(), k_cli_timeout);
  }
  ::furnace::testing::Run up(bool as_root = false) const {
    const auto t0 = std::chrono::steady_clock::now();
    ::furnace::testing::Run r = devcontainer({"up", "--workspace-folder", m_project}, as_root);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    std::cout << "devcontainer up: " << ms << " ms\n";
    return r;
  }
  ::furnace::testing::Run exec(const std::string& script, bool as_root = false) const {
    return devcontainer({"exec", "--workspace-folder", m_project, "sh", "-c", script}, as_root);
  }
  std::string file() const { return m_project + "/.devcontainer/devcontainer.json"; }
  // `docker ps -q` of the containers the CLI made for this project, piped into `then`.
  std::string ide_containers(const std::string& then = "cat") const {
    return "docker ps -aq --filter " +
           util::shell_quote("label=devcontainer.local_folder=" + m_project) + " | " + then;
  }
  nlohmann::json body() const {
    const std::string text = read_text(file());
    return nlohmann::json::parse(text.substr(text.find('{')));
  }
  static unsigned owner(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_uid : ~0U;
  }

  static TempDir* s_dir;
  static std::string s_name;
  static bool s_cli_ok;
  static std::string s_cli_error;
  std::string m_project;
};

TempDir* IdeCli::s_dir = nullptr;
std::string IdeCli::s_name;
bool IdeCli::s_cli_ok = false;
std::string IdeCli::s_cli_error;

TEST_F(IdeCli, devcontainer_up_runs_the_file_and_exec_imports_torch_as_the_caller) {
  const auto w = furnace({"ide", "vscode", "-C", m_project});
  ASSERT_EQ(w.exit_code, 0) << w.out << w.err;
  EXPECT_EQ(owner(file()), k_uid);
  EXPECT_EQ(owner(m_project + "/.devcontainer"), k_uid);
  const nlohmann::json j = body();
  EXPECT_EQ(j["remoteUser"], k_user);
  EXPECT_EQ(j["workspaceFolder"], fs::canonical(m_project).string());
  // The image's Python, from the facts the build's probe collected.
  EXPECT_EQ(j["customizations"]["vscode"]["settings"]["python.defaultInterpreterPath"],
            "/opt/conda/bin/python3");

  const auto started = up();
  ASSERT_EQ(started.exit_code, 0) << started.out << started.err;
  EXPECT_NE(started.out.find("\"outcome\":\"success\""), std::string::npos) << started.out;
  const auto r = exec("python3 -c 'import torch; print(\"torch\", torch.__version__)' && id -u && "
                      "echo home=$HOME && pwd && touch made-in-the-ide");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("torch "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(uid_text() + "\nhome=/home/" + k_user + "\n" +
                       fs::canonical(m_project).string() + "\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(owner(m_project + "/made-in-the-ide"), k_uid)
      << "a file made in the IDE is the caller's";
  // furnace's labels, not a run's: `furnace run` leaves the IDE's container alone.
  const auto labels = sh(ide_containers("xargs -r docker inspect -f '{{json .Config.Labels}}'"));
  EXPECT_NE(labels.out.find("\"org.furnace.ide\":\"vscode\""), std::string::npos) << labels.out;
  EXPECT_EQ(labels.out.find("\"org.furnace.run\""), std::string::npos) << labels.out;
  // furnace's safe defaults hold in the IDE's container too (RELIABILITY cases 33, 42).
  const auto host = sh(ide_containers("xargs -r docker inspect -f '{{json .HostConfig}}'"));
  const auto hc = nlohmann::json::parse(host.out);
  EXPECT_EQ(hc["Privileged"], false);
  EXPECT_TRUE(hc["CapAdd"].is_null() || hc["CapAdd"].empty()) << hc["CapAdd"];
  EXPECT_NE(hc["SecurityOpt"].dump().find("no-new-privileges"), std::string::npos) << host.out;
  EXPECT_EQ(hc["Init"], true);
  EXPECT_GE(hc["ShmSize"].get<long long>(), 1LL << 30) << "furnace's /dev/shm, not Docker's 64 MB";
  EXPECT_EQ(host.out.find("docker.sock"), std::string::npos);
  const auto ran = furnace({"run", "-C", m_project, "--", "true"});
  EXPECT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_EQ(ran.err.find("left by killed runs"), std::string::npos) << ran.err;
}

// sudo furnace ide: the file and its folder are the caller's; the CLI started by root (local
// uid 0, no uid update) still runs the caller's processes as the caller.
TEST_F(IdeCli, under_sudo_the_file_is_the_callers_and_a_root_cli_runs_as_the_caller) {
  auto e = env();
  e["SUDO_UID"] = uid_text();
  e["SUDO_GID"] = uid_text();
  e["SUDO_USER"] = k_user;
  const auto w = run_furnace({"ide", "vscode", "-C", m_project}, e); // as root
  ASSERT_EQ(w.exit_code, 0) << w.out << w.err;
  EXPECT_EQ(owner(file()), k_uid);
  EXPECT_EQ(owner(m_project + "/.devcontainer"), k_uid);
  const auto started = up(true);
  ASSERT_EQ(started.exit_code, 0) << started.out << started.err;
  const auto r = exec("id -u; touch made-by-root-cli", true);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(uid_text()), std::string::npos) << r.out;
  EXPECT_EQ(owner(m_project + "/made-by-root-cli"), k_uid);
}

// GPUs chosen by UUID (fake NVML, the test engine's stand-in NVIDIA hook) reach the container the
// devcontainer CLI starts, and no other GPU does; a -v mount reaches it read-only.
TEST_F(IdeCli, the_gpus_chosen_and_a_volume_reach_the_container) {
  std::map<std::string, std::string> e;
  for (const auto& [k, v] : fake_nvml_env(*s_dir, eight_mixed_gpus_json())) {
    e[k] = v;
  }
  sh("chmod 0644 " + s_dir->path() + "/nvml.json");
  const char* state = std::getenv("FURNACE_TEST_STATE"); // NOLINT(concurrency-mt-unsafe)
  const std::string hook_dir =
      std::string(state != nullptr && *state != '\0' ? state : "/run/furnace-test") +
      "/fake-nvidia-toolkit";
  ASSERT_TRUE(fs::exists(hook_dir + "/nvidia-container-runtime-hook"))
      << "the test engine was started without its NVIDIA hook: 'scripts/test-engine.sh down && up'";
  e["PATH"] = hook_dir + ":" + process_env()["PATH"];
  // A -v mount (and furnace.yaml's datasets) come along like the GPUs.
  const std::string data = s_dir->path() + "/data " + m_project.substr(m_project.rfind('-') + 1);
  fs::create_directories(data);
  write(data + "/hello", "from the host\n");
  sh("chmod -R a+rX " + util::shell_quote(data));
  const auto w =
      furnace({"ide", "vscode", "-C", m_project, "--gpus", "1,3", "-v", data + ":/data:ro"}, e);
  ASSERT_EQ(w.exit_code, 0) << w.out << w.err;
  const nlohmann::json j = body();
  const std::string want =
      "--gpus=\"device=GPU-11111111-1111-1111-1111-111111111111,GPU-33333333-3333-3333-3333-"
      "333333333333\"";
  EXPECT_NE(j["runArgs"].dump().find(nlohmann::json(want).dump()), std::string::npos) << j.dump(2);
  EXPECT_FALSE(j.contains("hostRequirements")) << "the CLI would add --gpus all for it";
  const auto started = up();
  ASSERT_EQ(started.exit_code, 0) << started.out << started.err;
  // What the engine was asked for (the NVIDIA device driver sets NVIDIA_VISIBLE_DEVICES from it
  // for the container's first process only, which `devcontainer exec` is not).
  const auto asked =
      sh(ide_containers("xargs -r docker inspect -f '{{json .HostConfig.DeviceRequests}}'"));
  const auto requests = nlohmann::json::parse(asked.out);
  ASSERT_EQ(requests.size(), 1U) << asked.out << " (one request: no `--gpus all` beside it)";
  EXPECT_EQ(requests[0]["Driver"], "") << asked.out;
  EXPECT_EQ(requests[0]["Count"], 0) << asked.out;
  EXPECT_EQ(requests[0]["DeviceIDs"],
            (nlohmann::json{"GPU-11111111-1111-1111-1111-111111111111",
                            "GPU-33333333-3333-3333-3333-333333333333"}))
      << asked.out;
  EXPECT_EQ(j["mounts"].size(), 1U) << j.dump(2);
  const auto r = exec("cat /data/hello && if touch /data/x 2>/dev/null; then echo writable; fi");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("from the host\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("writable"), std::string::npos) << "mounted read-only: " << r.out;
}

TEST_F(IdeCli, a_hand_written_file_is_shown_as_a_diff_and_kept_until_force) {
  fs::create_directories(m_project + "/.devcontainer");
  const std::string mine = "{\n  \"image\": \"mine:latest\",\n  \"remoteUser\": \"me\"\n}\n";
  write(file(), mine);
  sh("chown -R " + uid_text() + ":" + uid_text() + " " + util::shell_quote(m_project));
  const auto refused = furnace({"ide", "vscode", "-C", m_project});
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.out.find("--- " + fs::canonical(m_project).string() +
                             "/.devcontainer/devcontainer.json\n+++ "),
            std::string::npos)
      << refused.out;
  EXPECT_NE(refused.out.find("\n-  \"image\": \"mine:latest\",\n"), std::string::npos)
      << refused.out;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_EQ(read_text(file()), mine) << "kept as it was";

  const auto forced = furnace({"ide", "vscode", "-C", m_project, "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(read_text(file()), mine);
  EXPECT_EQ(owner(file()), k_uid);
  const auto again = furnace({"ide", "vscode", "-C", m_project});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("is up to date"), std::string::npos) << again.err;
  // furnace's own file, unchanged: refreshed without --force when the plan changes.
  const auto refreshed = furnace({"ide", "vscode", "-C", m_project, "-p", "8888"});
  ASSERT_EQ(refreshed.exit_code, 0) << refreshed.err;
  EXPECT_EQ(body()["forwardPorts"], nlohmann::json{8888});
  // Edited by hand afterwards: left alone again.
  std::string edited = read_text(file());
  edited.insert(edited.rfind('}'), ",\"postCreateCommand\": \"pip install -e .\"\n");
  write(file(), edited);
  const auto kept = furnace({"ide", "vscode", "-C", m_project});
  EXPECT_EQ(kept.exit_code, 1) << kept.err;
  EXPECT_EQ(read_text(file()), edited);
}

// --dockerfile: the devcontainer CLI builds the project's Dockerfile (and the user layer's
// steps) itself, from the local base image, and the caller works in it.
TEST_F(IdeCli, with_dockerfile_the_cli_builds_the_generated_dockerfile) {
  write(m_project + "/requirements.txt", "numpy\n"); // in the stand-in already: no index needed
  sh("chown " + uid_text() + ":" + uid_text() + " " +
     util::shell_quote(m_project + "/requirements.txt"));
  const auto w = furnace({"ide", "vscode", "-C", m_project, "--dockerfile"});
  ASSERT_EQ(w.exit_code, 0) << w.out << w.err;
  for (const char* f : {"Dockerfile", "requirements.txt", "devcontainer.json"}) {
    EXPECT_EQ(owner(m_project + "/.devcontainer/" + f), k_uid) << f;
  }
  EXPECT_EQ(body()["build"]["dockerfile"], "Dockerfile");
  const auto started = up();
  ASSERT_EQ(started.exit_code, 0) << started.out << started.err;
  const auto r = exec("python3 -c 'import torch, numpy' && whoami && touch built-here");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(std::string(k_user) + "\n"), std::string::npos) << r.out;
  EXPECT_EQ(owner(m_project + "/built-here"), k_uid);
  // Run again: furnace's own files, unchanged, are up to date.
  const auto again = furnace({"ide", "vscode", "-C", m_project, "--dockerfile"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err.find("wrote"), std::string::npos) << again.err;
}

// Under sudo, a .devcontainer that links elsewhere would have root write there: refused.
TEST_F(IdeCli, links_in_the_devcontainer_folder_are_refused_under_sudo) {
  const std::string elsewhere = s_dir->path() + "/elsewhere-" +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::create_directories(elsewhere);
  fs::create_directory_symlink(elsewhere, m_project + "/.devcontainer");
  auto e = env();
  e["SUDO_UID"] = uid_text();
  e["SUDO_GID"] = uid_text();
  e["SUDO_USER"] = k_user;
  const auto w = run_furnace({"ide", "vscode", "-C", m_project}, e); // as root
  EXPECT_EQ(w.exit_code, 1) << w.out << w.err;
  EXPECT_NE(w.err.find("is a symbolic link"), std::string::npos) << w.err;
  EXPECT_TRUE(fs::is_empty(elsewhere)) << "nothing written through the link";
  // A devcontainer.json that links to a file only root may read: neither shown nor replaced.
  fs::remove(m_project + "/.devcontainer");
  fs::create_directories(m_project + "/.devcontainer");
  fs::create_symlink("/etc/shadow", file());
  const auto shown = run_furnace({"ide", "vscode", "-C", m_project}, e);
  EXPECT_EQ(shown.exit_code, 1) << shown.err;
  EXPECT_EQ(shown.out.find("root:"), std::string::npos) << "/etc/shadow shown in a diff";
  EXPECT_NE(shown.err.find("is a symbolic link"), std::string::npos) << shown.err;
  EXPECT_TRUE(fs::is_symlink(file()));
}

// The values printed for PyCharm's Docker interpreter dialog start a working container: the
// image, the run options and the volume binding, put together as PyCharm does with `docker run`.
TEST_F(IdeCli, pycharm_values_start_a_container_that_imports_torch) {
  const auto p = furnace({"ide", "pycharm", "-C", m_project});
  ASSERT_EQ(p.exit_code, 0) << p.out << p.err;
  const auto value = [&](const std::string& key) {
    const auto at = p.out.find("  " + key + ":");
    if (at == std::string::npos) {
      return std::string();
    }
    const auto from = p.out.find_first_not_of(' ', at + key.size() + 3);
    return p.out.substr(from, p.out.find('\n', from) - from);
  };
  const std::string image = value("Image");
  const std::string python = value("Python interpreter path");
  const std::string binding = value("Volume bindings");
  const std::string options = value("Run options");
  EXPECT_EQ(image.rfind("furnace-user/" + s_name + ":", 0), 0U) << p.out;
  EXPECT_EQ(python, "/opt/conda/bin/python3") << p.out;
  EXPECT_EQ(binding, fs::canonical(m_project).string() + ":" + fs::canonical(m_project).string());
  EXPECT_NE(options.find("--user=" + uid_text() + ":" + uid_text()), std::string::npos) << options;
  EXPECT_TRUE(fs::exists(file())) << "pycharm writes the Dev Container file too";
  const auto r =
      sh("docker run --rm " + options + " -v " + util::shell_quote(binding) + " -w " +
             util::shell_quote(fs::canonical(m_project).string()) + " " + image + " " + python +
             " -c 'import torch, os; open(\"from-pycharm\", \"w\"); print(os.getuid())'",
         120);
  ASSERT_EQ(r.status.code, 0) << r.out << r.err;
  EXPECT_EQ(util::trim(r.out), uid_text());
  EXPECT_EQ(owner(m_project + "/from-pycharm"), k_uid);
}

} // namespace
} // namespace furnace::testing
