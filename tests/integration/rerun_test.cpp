// `furnace rerun` repeats a run's -v mounts and limits (recorded in the history since schema 2):
// a detached run with -v and --memory, then its rerun, both seen through `docker inspect`; a
// rerun whose -v host directory is gone is refused, naming it, with no container made.

#include "support/test_env.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

namespace furnace::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_base = "pytorch/pytorch:2.9.1-cuda13.0-cudnn9-runtime";

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

class Rerun : public ::testing::Test {
protected:
  void SetUp() override {
    FURNACE_REQUIRE_ENGINE();
    m_name = "furnace-it-rerun-" + std::to_string(::getpid());
    m_project = m_dir.path() + "/project";
    m_data = m_dir.path() + "/data set";
    m_dir.write("project/furnace.yaml", "name: " + m_name + "\nbase: " + k_base + "\n");
    m_dir.write("data set/marker.txt", "rerun-data\n");
    m_dir.write("home/.keep", "");
  }

  void TearDown() override {
    if (m_name.empty()) {
      return;
    }
    sh("docker ps -aq --filter label=org.furnace.project=" + m_project +
       " | xargs -r docker rm -f");
    sh("docker images -q --filter reference='furnace/" + m_name +
       "*' --filter reference='furnace-user/" + m_name + "*' | sort -u | xargs -r docker rmi -f");
  }

  ::furnace::testing::Run furnace(const std::vector<std::string>& args) const {
    return run_furnace(args,
                       {{"HOME", m_dir.path() + "/home"},
                        {"-XDG_DATA_HOME", ""},
                        {"-XDG_CACHE_HOME", ""},
                        {"-XDG_CONFIG_HOME", ""},
                        {"FURNACE_DOCKER", "/usr/bin/docker"},
                        {"FURNACE_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"}});
  }

  nlohmann::json last_run() const {
    const auto h = furnace({"history", "-n", "1", "--json"});
    return nlohmann::json::parse(h.out).at("runs").at(0);
  }

  // The container's memory limit and its bind mounts (sorted: the engine's order varies), as the
  // engine has them.
  static std::string inspect(const std::string& name) {
    const std::string out =
        trimmed(sh("docker inspect --format '{{.HostConfig.Memory}} "
                   "{{range .Mounts}}{{if eq .Type \"bind\"}}{{.Source}}>{{.Destination}}:{{.RW}}"
                   ";{{end}}{{end}}' " +
                   name)
                    .out);
    const auto space = out.find(' ');
    if (space == std::string::npos) {
      return out;
    }
    std::vector<std::string> mounts;
    std::string rest = out.substr(space + 1);
    for (std::size_t at = 0; at < rest.size();) {
      const auto end = rest.find(';', at);
      mounts.push_back(rest.substr(at, end - at + 1));
      at = end == std::string::npos ? rest.size() : end + 1;
    }
    std::sort(mounts.begin(), mounts.end());
    std::string sorted = out.substr(0, space + 1);
    for (const std::string& m : mounts) {
      sorted += m;
    }
    return sorted;
  }

  TempDir m_dir;
  std::string m_name;
  std::string m_project;
  std::string m_data;
};

TEST_F(Rerun, repeats_the_volumes_and_the_memory_limit_and_refuses_a_gone_host_path) {
  const auto first = furnace({"run",
                              "-d",
                              "-C",
                              m_project,
                              "-v",
                              m_data + ":/data:ro",
                              "--memory",
                              "300m",
                              "--",
                              "sleep",
                              "300"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const auto original = last_run();
  const std::string first_name = original.at("name");
  EXPECT_EQ(original.at("volumes"), nlohmann::json::array({m_data + ":/data:ro"})) << original;
  EXPECT_EQ(original.at("memory"), "300m") << original;
  const std::string seen = inspect(first_name);
  EXPECT_EQ(seen.rfind("314572800 ", 0), 0U) << seen; // 300 MiB
  EXPECT_NE(seen.find(m_data + ">/data:false;"), std::string::npos) << seen;
  const auto shown = furnace({"show", first_name});
  EXPECT_NE(shown.out.find("volumes:   " + m_data + ":/data:ro\n"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("limits:    memory 300m"), std::string::npos) << shown.out;
  EXPECT_EQ(furnace({"stop", first_name}).exit_code, 0);

  const std::string id = std::to_string(original.at("id").get<long long>());
  const auto again = furnace({"rerun", "-d", id});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  const auto second = last_run();
  ASSERT_NE(second.at("id"), original.at("id"));
  EXPECT_EQ(second.at("volumes"), original.at("volumes"));
  EXPECT_EQ(second.at("memory"), "300m");
  const std::string second_name = second.at("name");
  EXPECT_EQ(inspect(second_name), seen);
  EXPECT_EQ(furnace({"stop", second_name}).exit_code, 0);

  // The host directory gone: a clear error, no new run, no container.
  fs::remove_all(m_data);
  const auto gone = furnace({"rerun", "-d", id});
  EXPECT_EQ(gone.exit_code, 125) << gone.err;
  EXPECT_NE(gone.err.find("run " + id + " mounted " + m_data + " (-v " + m_data +
                          ":/data:ro), which no longer exists"),
            std::string::npos)
      << gone.err;
  EXPECT_EQ(last_run().at("id"), second.at("id"));
}

} // namespace
} // namespace furnace::testing
