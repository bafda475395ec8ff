// furnace submit --slurm against a real one-node Slurm cluster (scripts/test-slurm.sh: slurmctld +
// slurmd, two stand-in GPUs as GRES) and the test engine: a docker-runtime job trains the example
// on the GPU Slurm gave it (fake NVML plus the test engine's stand-in NVIDIA hook), two one-GPU
// jobs side by side get different GPUs, and `furnace history`/`show`/`logs` follow each job to its
// end: exited, failed with its exit code, or cancelled by scancel. Jobs run as root here.

#include "support/test_env.hpp"

#include <furnace/util/strings.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

namespace furnace::testing {
namespace {

namespace fs = std::filesystem;

// What examples/mnist resolves to without a GPU: the test engine's stand-in (as run_cli_test).
constexpr const char* k_example_base = "pytorch/pytorch:2.9.1-cuda13.0-cudnn9-runtime";
constexpr const char* k_gpu0 = "GPU-aaaaaaaa-0000-0000-0000-000000000000";
constexpr const char* k_gpu1 = "GPU-aaaaaaaa-1111-1111-1111-111111111111";

// A port nobody listens on now (the kernel's choice for port 0).
unsigned free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));   // NOLINT
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len); // NOLINT
  ::close(fd);
  return ntohs(a.sin_port);
}

bool slurm_available() {
  return ::getuid() == 0 && sh("command -v sbatch").status.ok();
}

class ClusterSlurm : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (!engine_available() || !slurm_available()) {
      return;
    }
    const std::string src = FURNACE_SOURCE_DIR;
    s_up = sh("bash " + src + "/scripts/test-slurm.sh up 2>&1", 180);
    const auto env = sh("bash " + src + "/scripts/test-slurm.sh env");
    for (const std::string& line :
         {std::string("SLURM_CONF"), std::string("FURNACE_TEST_SLURM_STATE")}) {
      const auto at = env.out.find("export " + line + "=");
      if (at != std::string::npos) {
        const auto start = at + 8 + line.size();
        s_slurm_env[line] = env.out.substr(start, env.out.find('\n', start) - start);
      }
    }
    s_dir = new TempDir(); // NOLINT(cppcoreguidelines-owning-memory)
    ::chmod(s_dir->path().c_str(), 0755);
    s_name = "furnace-it-cluster-" + std::to_string(::getpid());
    s_project = s_dir->path() + "/project";
    const std::string ex = src + "/examples/mnist";
    for (const char* f : {"train.py", "requirements.txt"}) {
      s_dir->write(std::string("project/") + f, read_text(ex + "/" + f));
    }
    s_dir->write("project/furnace.yaml",
                 "name: " + s_name + "\nbase: " + k_example_base +
                     "\ncommand: [python, train.py, --samples, '1200']\n");
    s_dir->write("home/.keep", "");
  }

  static void TearDownTestSuite() {
    if (s_dir == nullptr) {
      return;
    }
    sh("docker ps -aq --filter label=org.furnace.project=" + s_project +
       " | xargs -r docker rm -f");
    sh("docker images -q --filter reference='furnace/" + s_name +
       "*' | sort -u | xargs -r docker rmi -f");
    delete s_dir; // NOLINT(cppcoreguidelines-owning-memory)
    s_dir = nullptr;
  }

  void SetUp() override {
    FURNACE_REQUIRE_ENGINE();
    FURNACE_REQUIRE(slurm_available(), "no sbatch, or not root (scripts/test-slurm.sh needs both)");
    ASSERT_TRUE(s_up.status.ok()) << s_up.out;
    ASSERT_EQ(s_slurm_env.count("SLURM_CONF"), 1U);
  }

  // The suite's home (history, logs), the test cluster, two fake GPUs and the engine's stand-in
  // NVIDIA hook on PATH: sbatch hands all of it to the job, so the furnace in the job sees the
  // same.
  static std::map<std::string, std::string> env() {
    std::map<std::string, std::string> e{{"HOME", s_dir->path() + "/home"},
                                         {"-XDG_DATA_HOME", ""},
                                         {"-XDG_CACHE_HOME", ""},
                                         {"-XDG_CONFIG_HOME", ""},
                                         {"FURNACE_DOCKER", "/usr/bin/docker"},
                                         {"FURNACE_LOCK_DIR", s_dir->path() + "/locks"},
                                         {"-http_proxy", ""},
                                         {"-https_proxy", ""},
                                         {"-HTTP_PROXY", ""},
                                         {"-HTTPS_PROXY", ""}};
    for (const auto& [k, v] : s_slurm_env) {
      e[k] = v;
    }
    const std::string gpus = std::string(R"({"init": "ok", "driver_version": "570.86.15",
      "cuda_driver_version": 12080, "gpus": [
      {"name": "NVIDIA A100-SXM4-80GB", "uuid": ")") +
                             k_gpu0 + R"(", "cc": [8, 0],
       "memory_total_mib": 81920, "memory_used_mib": 0},
      {"name": "NVIDIA A100-SXM4-80GB", "uuid": ")" +
                             k_gpu1 + R"(", "cc": [8, 0],
       "memory_total_mib": 81920, "memory_used_mib": 0}]})";
    for (const auto& [k, v] : fake_nvml_env(*s_dir, gpus)) {
      e[k] = v;
    }
    const char* state = std::getenv("FURNACE_TEST_STATE"); // NOLINT(concurrency-mt-unsafe)
    const std::string hook_dir =
        std::string(state != nullptr && *state != '\0' ? state : "/run/furnace-test") +
        "/fake-nvidia-toolkit";
    e["PATH"] = hook_dir + ":" + process_env()["PATH"];
    return e;
  }

  static ::furnace::testing::Run furnace(const std::vector<std::string>& args) {
    return run_furnace(args, env());
  }

  // Submits `command` with --runtime docker; returns {run name, job id}.
  static std::pair<std::string, std::string> submit(const std::vector<std::string>& command,
                                                    const std::string& gpus,
                                                    const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{
        "submit", "--slurm", "--runtime", "docker", "-C", s_project, "--gpus", gpus};
    args.insert(args.end(), extra.begin(), extra.end());
    args.emplace_back("--");
    args.insert(args.end(), command.begin(), command.end());
    const ::furnace::testing::Run r = furnace(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto space = r.out.find(' ');
    if (space == std::string::npos) {
      return {};
    }
    return {r.out.substr(0, space), r.out.substr(space + 1, r.out.find('\n') - space - 1)};
  }

  static nlohmann::json record(const std::string& name) {
    const ::furnace::testing::Run r = furnace({"show", "--json", name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, false).value("run", nlohmann::json::object());
  }

  // Polls `furnace show` until the job has ended (any status but pending/running).
  static nlohmann::json wait_end(const std::string& name, std::chrono::seconds limit) {
    nlohmann::json rec;
    wait_for(
        [&] {
          rec = record(name);
          const std::string s = rec.value("status", "");
          return s != "pending" && s != "running";
        },
        limit);
    return rec;
  }

  static TempDir* s_dir;
  static std::string s_name;
  static std::string s_project;
  static util::ProcessOutput s_up;
  static std::map<std::string, std::string> s_slurm_env;
};

TempDir* ClusterSlurm::s_dir = nullptr;
std::string ClusterSlurm::s_name;
std::string ClusterSlurm::s_project;
util::ProcessOutput ClusterSlurm::s_up;
std::map<std::string, std::string> ClusterSlurm::s_slurm_env;

TEST_F(ClusterSlurm, a_docker_job_trains_the_example_on_the_gpu_slurm_gave_it) {
  const auto [name, job] = submit(
      {"sh", "-c", "echo gpus=$NVIDIA_VISIBLE_DEVICES; python train.py --samples 1200"}, "1");
  ASSERT_FALSE(job.empty());
  const ::furnace::testing::Run follow =
      run_command({FURNACE_BINARY, "logs", "-f", name}, env(), std::chrono::seconds(240));
  EXPECT_EQ(follow.exit_code, 0) << follow.err;
  EXPECT_NE(follow.out.find("epoch 1: accuracy"), std::string::npos) << follow.out << follow.err;
  EXPECT_NE(follow.out.find("saved checkpoints/mnist_cnn.pt"), std::string::npos) << follow.out;
  const auto rec = wait_end(name, std::chrono::seconds(30));
  EXPECT_EQ(rec["status"], "exited") << rec;
  EXPECT_EQ(rec["exit_code"], 0);
  EXPECT_EQ(rec["scheduler"], "slurm");
  EXPECT_EQ(rec["job_id"], job);
  EXPECT_EQ(rec["gpu_request"], "1");
  EXPECT_EQ(rec["image_ref"].get<std::string>().rfind("furnace/" + s_name + ":", 0), 0U) << rec;
  EXPECT_EQ(rec["command"][0], "sh");
  // The furnace in the job ran on the GPU index Slurm gave (SLURM_JOB_GPUS), and the container
  // got that GPU, by UUID.
  const ::furnace::testing::Run h = furnace({"history", "--json", "-n", "5"});
  const auto runs =
      nlohmann::json::parse(h.out, nullptr, false).value("runs", nlohmann::json::array());
  std::optional<unsigned> index;
  for (const auto& r : runs) {
    if (r.value("scheduler", "x").empty() && r["gpu_indices"].size() == 1) {
      index = r["gpu_indices"][0].get<unsigned>();
      break;
    }
  }
  ASSERT_TRUE(index.has_value()) << h.out;
  EXPECT_NE(follow.out.find(std::string("gpus=") + (*index == 0 ? k_gpu0 : k_gpu1)),
            std::string::npos)
      << follow.out;
  const ::furnace::testing::Run history = furnace({"history"});
  EXPECT_NE(history.out.find(name), std::string::npos);
  EXPECT_NE(history.out.find("1/node"), std::string::npos) << history.out;
}

TEST_F(ClusterSlurm, two_one_gpu_jobs_side_by_side_get_different_gpus) {
  const std::vector<std::string> cmd{"sh", "-c", "echo gpus=$NVIDIA_VISIBLE_DEVICES; sleep 3"};
  const auto a = submit(cmd, "1");
  const auto b = submit(cmd, "1");
  std::set<std::string> seen;
  for (const auto& [name, job] : {a, b}) {
    const auto rec = wait_end(name, std::chrono::seconds(120));
    EXPECT_EQ(rec["status"], "exited") << rec;
    const std::string out = read_text(rec["log_path"].get<std::string>());
    const auto at = out.find("gpus=");
    ASSERT_NE(at, std::string::npos) << out;
    seen.insert(out.substr(at + 5, out.find('\n', at) - at - 5));
  }
  EXPECT_EQ(seen, (std::set<std::string>{k_gpu0, k_gpu1}));
}

TEST_F(ClusterSlurm, a_failing_job_is_recorded_failed_with_its_exit_code) {
  // -e KEY=VALUE: the value reaches the job through sbatch's environment, never the script.
  const std::string token = "it-token-" + std::to_string(::getpid());
  const auto [name, job] =
      submit({"sh", "-c", "echo token=$FURNACE_IT_TOKEN; echo about to fail; exit 3"},
             "0",
             {"-e", "FURNACE_IT_TOKEN=" + token});
  const auto rec = wait_end(name, std::chrono::seconds(120));
  EXPECT_EQ(rec["status"], "failed") << rec;
  EXPECT_EQ(rec["exit_code"], 3) << rec;
  EXPECT_NE(rec["ended_ms"], nullptr);
  const ::furnace::testing::Run logs = furnace({"logs", name});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("about to fail"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("token=" + token), std::string::npos) << logs.out;
  const std::string script =
      read_text(s_dir->path() + "/home/.local/share/furnace/jobs/" + name + ".sbatch");
  EXPECT_NE(script.find("-e FURNACE_IT_TOKEN"), std::string::npos) << script;
  EXPECT_EQ(script.find(token), std::string::npos) << script;
  const ::furnace::testing::Run history = furnace({"history"});
  EXPECT_NE(history.out.find("failed 3"), std::string::npos) << history.out;
}

TEST_F(ClusterSlurm, a_cancelled_job_is_recorded_cancelled) {
  const auto [name, job] = submit({"sh", "-c", "echo started; sleep 120"}, "0");
  ASSERT_FALSE(job.empty());
  // Running: the output has begun.
  ASSERT_TRUE(wait_for([&] { return record(name).value("status", "") == "running"; },
                       std::chrono::seconds(60)))
      << record(name);
  const auto cancel = run_command({"scancel", job}, env(), std::chrono::seconds(30));
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  const auto rec = wait_end(name, std::chrono::seconds(60));
  EXPECT_EQ(rec["status"], "cancelled") << rec;
  EXPECT_EQ(rec["exit_code"], nullptr);
  // The container the job's furnace started is stopped with it (furnace run forwards SIGTERM).
  EXPECT_TRUE(wait_for(
      [&] {
        return sh("docker ps -q --filter label=org.furnace.project=" + s_project +
                  " --filter status=running")
            .out.empty();
      },
      std::chrono::seconds(30)));
}

// The image pushed to the test registry: export takes its repo digest (docker inspect's
// RepoDigests) for pyxis and Kubernetes, and the manifest passes the Kubernetes API models.
TEST_F(ClusterSlurm, a_pushed_image_is_exported_by_its_digest) {
  const char* reg = std::getenv("FURNACE_TEST_REGISTRY"); // NOLINT(concurrency-mt-unsafe)
  FURNACE_REQUIRE(reg != nullptr && *reg != '\0',
                  "no FURNACE_TEST_REGISTRY (eval \"$(scripts/test-engine.sh env)\")");
  const ::furnace::testing::Run unpinned = furnace({"export", "k8s", "-C", s_project});
  ASSERT_EQ(unpinned.exit_code, 0) << unpinned.err;
  EXPECT_NE(unpinned.err.find("is not pinned by digest (it was never pushed)"), std::string::npos)
      << unpinned.err;
  EXPECT_NE(unpinned.out.find("# WARNING: the image furnace/" + s_name + ":"), std::string::npos);
  const std::string tag = std::string(
      util::trim(sh("docker images --format '{{.Repository}}:{{.Tag}}' furnace/" + s_name).out));
  ASSERT_FALSE(tag.empty());
  const std::string remote = std::string(reg) + "/" + tag;
  const auto push =
      sh("docker tag " + tag + " " + remote + " && docker push " + remote + " 2>&1", 300);
  ASSERT_TRUE(push.status.ok()) << push.out;
  const std::string digest =
      std::string(util::trim(sh("docker inspect --format '{{index .RepoDigests 0}}' " + tag).out));
  // The tag stays until the end: the engine drops a repo digest with the last tag of its repo.
  struct Untag {
    std::string ref;
    ~Untag() { sh("docker rmi " + ref); }
  } untag{remote};
  ASSERT_NE(digest.find("@sha256:"), std::string::npos) << digest;
  const std::string manifest = s_dir->path() + "/job.yaml";
  const ::furnace::testing::Run k8s = furnace(
      {"export", "k8s", "-C", s_project, "--registry", reg, "--nodes", "2", "-o", manifest});
  ASSERT_EQ(k8s.exit_code, 0) << k8s.err;
  EXPECT_NE(read_text(manifest).find("image: \"" + digest + "\""), std::string::npos)
      << read_text(manifest);
  const auto valid = sh("/usr/bin/python3 " + std::string(FURNACE_SOURCE_DIR) +
                        "/tests/cluster/validate_k8s.py " + manifest + " 2>&1");
  EXPECT_TRUE(valid.status.ok()) << valid.out;
  const ::furnace::testing::Run pyxis =
      furnace({"export", "slurm", "-C", s_project, "--registry", reg, "--runtime", "pyxis"});
  ASSERT_EQ(pyxis.exit_code, 0) << pyxis.err;
  const std::string enroot = std::string(reg) + "#" + digest.substr(std::string(reg).size() + 1);
  EXPECT_NE(pyxis.out.find("--container-image=" + enroot), std::string::npos) << pyxis.out;
  EXPECT_EQ(pyxis.out.find("WARNING"), std::string::npos);
}

// The two-node script's launch, for real on the one node there is: sbatch --nodes=1 overrides
// the script's #SBATCH --nodes=2, so srun starts the exported `launch` function once, MASTER_ADDR
// comes from scontrol, and furnace run starts torchrun in the container (host network) with the
// node's rank and the rendezvous port, which passes them to the program.
TEST_F(ClusterSlurm, the_multi_node_launch_runs_torchrun_through_srun_and_furnace_run) {
  s_dir->write("project/dist.py",
               "import os\nprint('dist', *(k + '=' + os.environ.get(k, '?') for k in "
               "('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT', 'GROUP_RANK')))\n");
  // The stand-in's torchrun (Debian's torch 1.13 on Python 3.11) cannot parse its default
  // --redirects/--tee of 0 (its Std flag lookup skips the zero member); 2 (stderr) it can.
  s_dir->write("project/furnace.yaml",
               "name: " + s_name + "\nbase: " + k_example_base +
                   "\nenv: {PET_REDIRECTS: '2', PET_TEE: '2'}\n");
  const std::string port = std::to_string(free_port());
  const std::string script = s_dir->path() + "/two-nodes.sh";
  const ::furnace::testing::Run exported = furnace({"export",
                                                    "slurm",
                                                    "-C",
                                                    s_project,
                                                    "--runtime",
                                                    "docker",
                                                    "--nodes",
                                                    "2",
                                                    "--gpus",
                                                    "0",
                                                    "--port",
                                                    port,
                                                    "--log",
                                                    s_dir->path() + "/two-nodes.out",
                                                    "-o",
                                                    script,
                                                    "--",
                                                    "python",
                                                    "dist.py"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  ASSERT_NE(read_text(script).find("export -f launch"), std::string::npos);
  const auto sbatch =
      run_command({"sbatch", "--parsable", "--nodes=1", script}, env(), std::chrono::seconds(30));
  ASSERT_EQ(sbatch.exit_code, 0) << sbatch.err;
  const std::string job(util::trim(sbatch.out));
  struct Cancel { // a job left waiting for a rendezvous must not outlive the test
    std::string id;
    ~Cancel() { sh("scancel " + id); }
  } cancel{job};
  std::string out;
  ASSERT_TRUE(wait_for(
      [&] {
        out = read_text(s_dir->path() + "/two-nodes.out");
        return out.find("dist ") != std::string::npos ||
               run_command({"squeue", "-h", "-j", job}, env(), std::chrono::seconds(10))
                   .out.empty();
      },
      std::chrono::seconds(120)))
      << out;
  EXPECT_NE(out.find("dist RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 MASTER_PORT=" + port + " GROUP_RANK=0"),
            std::string::npos)
      << out;
}

} // namespace
} // namespace furnace::testing
