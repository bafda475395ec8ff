// furnace export / submit's pure core and its scheduler adapters: golden sbatch scripts (pyxis,
// apptainer, docker; one and two nodes) and Kubernetes manifests (one and three nodes) for a
// project at a hostile path with a hostile command; the plan's environment split into values
// (furnace.yaml's) and names (everything a user passed), so a secret never reaches a file; image
// references; bad options; and sync_jobs reading sacct, scontrol and kubectl answers into the
// history. tests/cluster/check_exports.sh runs bash -n, shellcheck and the Kubernetes models over
// the golden files and over what the built binary exports.

#include "support/fake_engine.hpp"
#include "support/fake_gpu.hpp"
#include "support/fake_runner.hpp"
#include "support/test_env.hpp"

#include <furnace/cluster/command.hpp>
#include <furnace/cluster/job.hpp>
#include <furnace/cluster/k8s.hpp>
#include <furnace/cluster/slurm.hpp>
#include <furnace/history/store.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace furnace::cluster {
namespace {

namespace fs = std::filesystem;
using testing::FakeRunner;
using testing::TempDir;

const fs::path k_golden = fs::path(FURNACE_SOURCE_DIR) / "tests/unit/golden/cluster";
const std::string k_digest = "sha256:" + std::string(64, 'c');
constexpr const char* k_secret = "hunter2-do-not-leak";

bool updating() {
  const char* u = std::getenv("FURNACE_UPDATE_GOLDEN"); // NOLINT(concurrency-mt-unsafe)
  return u != nullptr && std::string(u) == "1";
}

void expect_golden(const std::string& name, const std::string& actual) {
  const fs::path p = k_golden / name;
  if (updating()) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(p, std::ios::binary);
  ASSERT_TRUE(in) << p << " missing: run with FURNACE_UPDATE_GOLDEN=1";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), actual) << "golden " << p << " differs (FURNACE_UPDATE_GOLDEN=1 rewrites it)";
}

// A project at a path with a blank and a quote, a command with every shell metacharacter.
Job sample_job(unsigned nodes) {
  Job j;
  j.name = "mnist-1a2b3c";
  j.project_name = "mnist";
  j.here = "/home/alice/my project/it's here";
  j.workdir = j.here;
  j.mounts = {run::Mount{j.here, j.here, false},
              run::Mount{"/data/imagenet", "/datasets/imagenet", true}};
  j.command = {"python", "train.py", "--note", "$(rm -rf ~); `id` \"q\" 'single' *"};
  j.env = {{"OMP_NUM_THREADS", "4"}, {"PYTHONUNBUFFERED", "1"}};
  j.env_names = {"TZ", "WANDB_API_KEY", "https_proxy"};
  j.image = parse_image_ref("127.0.0.1:5757/furnace/mnist@" + k_digest).value();
  j.gpus = 2;
  j.nodes = nodes;
  j.cpus = "8";
  j.memory = "32g";
  j.shm = "8g";
  return j;
}

SlurmOptions slurm_options(Runtime runtime) {
  SlurmOptions o;
  o.runtime = runtime;
  o.time = "04:00:00";
  o.partition = "gpu";
  o.furnace = "/usr/bin/furnace";
  o.docker_host = "unix:///run/docker.sock";
  return o;
}

K8sOptions k8s_options() {
  K8sOptions o;
  o.ns = "ml";
  o.pull_secret = "regcred";
  o.uid = 1000;
  o.gid = 1000;
  o.project = parse_volume_source("pvc:alice-mnist").value();
  o.datasets["/datasets/imagenet"] = parse_volume_source("nfs:127.0.0.1:/exports/imagenet").value();
  return o;
}

TEST(ClusterExportSlurm, scripts_match_the_golden_files) {
  for (const auto& [runtime, word] : {std::pair{Runtime::pyxis, "pyxis"},
                                      std::pair{Runtime::apptainer, "apptainer"},
                                      std::pair{Runtime::docker, "docker"}}) {
    for (unsigned nodes : {1U, 2U}) {
      auto text = render_slurm(sample_job(nodes), slurm_options(runtime));
      ASSERT_TRUE(text.has_value()) << text.error().message;
      expect_golden(fmt::format("slurm-{}-{}node.sh", word, nodes), *text);
      EXPECT_EQ(text->find("WARNING"), std::string::npos) << "a pinned image has no warning";
    }
  }
}

TEST(ClusterExportK8s, manifests_match_the_golden_files) {
  for (unsigned nodes : {1U, 3U}) {
    auto text = render_k8s(sample_job(nodes), k8s_options());
    ASSERT_TRUE(text.has_value()) << text.error().message;
    expect_golden(fmt::format("k8s-{}node.yaml", nodes), *text);
  }
  // Defaults: no namespace or pull secret, the project and datasets as claims named after them.
  Job j = sample_job(1);
  j.gpus = 0;
  auto text = render_k8s(j, K8sOptions{});
  ASSERT_TRUE(text.has_value());
  expect_golden("k8s-defaults.yaml", *text);
  EXPECT_EQ(text->find("nvidia.com/gpu"), std::string::npos);
  EXPECT_EQ(text->find("imagePullSecrets"), std::string::npos);
  EXPECT_NE(text->find("claimName: \"mnist-project\""), std::string::npos);
  EXPECT_NE(text->find("claimName: \"imagenet\""), std::string::npos);
}

// A dataset is read-only in the job as in furnace run, and read-write only when it was added with
// --rw: in the Kubernetes volume and its mount, and in every Slurm runtime's bind.
TEST(ClusterExportK8s, a_rw_dataset_is_read_write_as_in_furnace_run_and_others_stay_read_only) {
  Job j = sample_job(1);
  j.mounts.push_back(run::Mount{"/data/scratch", "/datasets/scratch", false});
  K8sOptions o = k8s_options();
  o.datasets["/datasets/scratch"] = parse_volume_source("pvc:scratch").value();
  auto text = render_k8s(j, o);
  ASSERT_TRUE(text.has_value()) << text.error().message;
  const std::string& t = *text;
  const auto mount_at = [&](const std::string& target) {
    const auto at = t.find("mountPath: \"" + target + "\"");
    EXPECT_NE(at, std::string::npos) << t;
    const auto next = t.find("- name:", at);
    return t.substr(at, next == std::string::npos ? std::string::npos : next - at);
  };
  EXPECT_NE(mount_at("/datasets/imagenet").find("readOnly: true"), std::string::npos) << t;
  EXPECT_EQ(mount_at("/datasets/scratch").find("readOnly: true"), std::string::npos) << t;
  const auto claim = t.find("claimName: \"scratch\"");
  ASSERT_NE(claim, std::string::npos) << t;
  EXPECT_NE(t.substr(claim, 60).find("readOnly: false"), std::string::npos) << t.substr(claim, 60);
  for (Runtime r : {Runtime::pyxis, Runtime::apptainer}) { // docker: furnace run binds them
    auto script = render_slurm(j, slurm_options(r));
    ASSERT_TRUE(script.has_value());
    EXPECT_EQ(script->find("/datasets/scratch:ro"), std::string::npos) << *script;
    EXPECT_NE(script->find("/datasets/imagenet:ro"), std::string::npos) << *script;
  }
}

TEST(ClusterJob, the_plan_env_is_split_into_values_and_names_and_no_secret_is_written) {
  run::RunPlan plan;
  plan.spec.name = "mnist-1a2b3c";
  plan.spec.mounts = {run::Mount{"/p", "/p", false}};
  plan.spec.workdir = "/p";
  plan.spec.command = {"python", "train.py"};
  plan.spec.shm_size = "8g";
  plan.spec.env = {{"PYTHONUNBUFFERED", "1"},
                   {"OMP_NUM_THREADS", "4"}, // furnace.yaml's
                   {"WANDB_API_KEY", k_secret},
                   {"HOME", "/home/alice"},
                   {"https_proxy", "http://127.0.0.1:3128"},
                   {"TZ", "Europe/Berlin"}};
  JobInputs in;
  in.project_name = "mnist";
  in.here = "/p";
  in.image = parse_image_ref("127.0.0.1:5757/furnace/mnist@" + k_digest).value();
  in.gpus = 1;
  in.env_args = {std::string("WANDB_API_KEY=") + k_secret, "UNSET_HERE"};
  auto job = job_from_plan(plan, in);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(
      job->env,
      (std::map<std::string, std::string>{{"OMP_NUM_THREADS", "4"}, {"PYTHONUNBUFFERED", "1"}}));
  EXPECT_EQ(job->env_names,
            (std::vector<std::string>{"TZ", "UNSET_HERE", "WANDB_API_KEY", "https_proxy"}));
  for (Runtime r : {Runtime::pyxis, Runtime::apptainer, Runtime::docker}) {
    for (unsigned nodes : {1U, 2U}) {
      job->nodes = nodes;
      const auto text = render_slurm(*job, slurm_options(r)).value();
      EXPECT_EQ(text.find(k_secret), std::string::npos) << text;
      EXPECT_EQ(text.find("127.0.0.1:3128"), std::string::npos) << "proxy values stay on the nodes";
      EXPECT_NE(text.find("WANDB_API_KEY"), std::string::npos) << "passed by name";
    }
  }
  job->nodes = 2;
  const auto yaml = render_k8s(*job, K8sOptions{}).value();
  EXPECT_EQ(yaml.find(k_secret), std::string::npos);
  EXPECT_NE(yaml.find("secretKeyRef"), std::string::npos);
  EXPECT_EQ(yaml.find("127.0.0.1:3128"), std::string::npos);
}

TEST(ClusterJob, bad_names_nodes_and_paths_are_refused) {
  run::RunPlan plan;
  plan.spec.name = "Mnist_Project-1a2b3c";
  plan.spec.command = {"true"};
  JobInputs in;
  auto job = job_from_plan(plan, in);
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->name, "mnist-project-1a2b3c"); // made a DNS label
  in.name = "Bad_Name";
  EXPECT_EQ(job_from_plan(plan, in).error().message, "--name 'Bad_Name' is not a valid job name");
  in.name.clear();
  in.nodes = 0;
  EXPECT_FALSE(job_from_plan(plan, in).has_value());
  in.nodes = 1;
  plan.spec.mounts = {run::Mount{"/p", "/p", false},
                      run::Mount{"furnace-ds-imagenet", "/data", true}};
  job = job_from_plan(plan, in);
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->mounts.size(), 1U) << "an engine volume is no path on a node";
  ASSERT_EQ(job->warnings.size(), 1U);
  EXPECT_EQ(job->warnings[0],
            "the volume 'furnace-ds-imagenet' at /data is this host's engine's: the job does not "
            "mount it");

  Job j = sample_job(1);
  j.mounts[1].source = "/data/a,b";
  auto pyxis = render_slurm(j, slurm_options(Runtime::pyxis));
  ASSERT_FALSE(pyxis.has_value());
  EXPECT_EQ(pyxis.error().message,
            "the path '/data/a,b' has a ',' or ':', which pyxis reads as the end of a bind");
  EXPECT_TRUE(render_slurm(j, slurm_options(Runtime::docker)).has_value());
  SlurmOptions o = slurm_options(Runtime::docker);
  o.time = "1h; rm -rf /";
  EXPECT_EQ(render_slurm(sample_job(1), o).error().message,
            "--time '1h; rm -rf /' cannot be an #SBATCH value");
  o = slurm_options(Runtime::docker);
  o.output = "out\n#SBATCH --uid=0";
  EXPECT_FALSE(render_slurm(sample_job(1), o).has_value());
  K8sOptions k;
  k.ns = "Not A Namespace";
  EXPECT_FALSE(render_k8s(sample_job(1), k).has_value());
  EXPECT_FALSE(parse_volume_source("hostPath:/etc").has_value());
}

TEST(ClusterJob, an_unpinned_image_says_so_in_the_script_and_the_manifest) {
  Job j = sample_job(1);
  j.image = parse_image_ref("furnace/mnist:abc123def456").value();
  const auto script = render_slurm(j, slurm_options(Runtime::pyxis)).value();
  EXPECT_NE(script.find("# WARNING: the image furnace/mnist:abc123def456 is NOT pinned by digest"),
            std::string::npos)
      << script;
  EXPECT_NE(script.find("--container-image=furnace/mnist:abc123def456"), std::string::npos);
  const auto yaml = render_k8s(j, K8sOptions{}).value();
  EXPECT_NE(yaml.find("is NOT pinned by digest"), std::string::npos);
  EXPECT_NE(yaml.find("imagePullPolicy: \"Always\""), std::string::npos);
}

TEST(ClusterImage, references_parse_and_the_pushed_digest_is_picked) {
  auto r = parse_image_ref("127.0.0.1:5757/furnace/mnist@" + k_digest).value();
  EXPECT_EQ(r.registry, "127.0.0.1:5757");
  EXPECT_EQ(r.repository, "furnace/mnist");
  EXPECT_EQ(r.enroot(), "127.0.0.1:5757#furnace/mnist@" + k_digest);
  EXPECT_EQ(r.reference(), "127.0.0.1:5757/furnace/mnist@" + k_digest);
  auto t = parse_image_ref("furnace/mnist:abc").value();
  EXPECT_EQ(t.registry, "");
  EXPECT_EQ(t.tag, "abc");
  EXPECT_FALSE(t.pinned());
  EXPECT_EQ(parse_image_ref("localhost/x").value().registry, "localhost");
  EXPECT_FALSE(parse_image_ref("x@sha256:short").has_value());
  EXPECT_FALSE(parse_image_ref("x y").has_value());
  EXPECT_FALSE(parse_image_ref("").has_value());
  const std::vector<std::string> digests{"127.0.0.2:5000/furnace/mnist@sha256:" +
                                             std::string(64, 'a'),
                                         "127.0.0.1:5757/furnace/mnist@" + k_digest};
  EXPECT_EQ(pick_image(digests, "furnace/mnist:abc", "127.0.0.1:5757").digest, k_digest);
  EXPECT_EQ(pick_image(digests, "furnace/mnist:abc", "").registry, "127.0.0.2:5000");
  const auto local = pick_image({}, "furnace/mnist:abc", "127.0.0.1:5757");
  EXPECT_FALSE(local.pinned());
  EXPECT_EQ(local.reference(), "127.0.0.1:5757/furnace/mnist:abc");
}

TEST(ClusterJob, torchrun_takes_python_scripts_modules_and_other_programs) {
  using V = std::vector<std::string>;
  EXPECT_EQ(torchrun_args({"python", "-u", "train.py", "--lr", "1"}), (V{"train.py", "--lr", "1"}));
  EXPECT_EQ(torchrun_args({"python3", "-m", "pkg.train"}), (V{"-m", "pkg.train"}));
  EXPECT_EQ(torchrun_args({"./run.sh", "x"}), (V{"--no-python", "./run.sh", "x"}));
  EXPECT_EQ(slurm_memory("32g"), "32768M");
  EXPECT_EQ(slurm_memory("512m"), "512M");
  EXPECT_EQ(slurm_cpus("1.5"), "2");
  EXPECT_EQ(k8s_quantity("8g"), "8Gi");
  EXPECT_EQ(k8s_quantity("1073741824"), "1073741824");
}

TEST(ClusterJob, gpus_per_node_default_from_furnace_yaml) {
  EXPECT_EQ(gpus_per_node(""), 1U);
  EXPECT_EQ(gpus_per_node("all"), 1U);
  EXPECT_EQ(gpus_per_node("none"), 0U);
  EXPECT_EQ(gpus_per_node("0,2,3"), 3U);
  EXPECT_EQ(gpus_per_node("auto:2"), 2U);
}

TEST(ClusterSync, slurm_states_map_to_history_statuses) {
  EXPECT_EQ(status_of_slurm_state("PENDING"), history::k_pending);
  EXPECT_EQ(status_of_slurm_state("RUNNING"), history::k_running);
  EXPECT_EQ(status_of_slurm_state("COMPLETING"), history::k_running);
  EXPECT_EQ(status_of_slurm_state("COMPLETED"), history::k_exited);
  EXPECT_EQ(status_of_slurm_state("FAILED"), history::k_failed);
  EXPECT_EQ(status_of_slurm_state("CANCELLED by 1000"), history::k_cancelled);
  EXPECT_EQ(status_of_slurm_state("TIMEOUT"), history::k_timed_out);
  EXPECT_EQ(status_of_slurm_state("OUT_OF_MEMORY"), history::k_oom_killed);
  EXPECT_EQ(status_of_slurm_state("NODE_FAIL"), history::k_failed);
  EXPECT_EQ(status_of_slurm_state("WHATEVER"), "");
}

// The scheduler's answers, through a FakeRunner, into a real history database.
class ClusterSyncStore : public ::testing::Test {
protected:
  core::Context context() {
    return core::Context{m_ui, m_runner, {{"XDG_DATA_HOME", m_dir.path()}, {"HOME", "/h"}}, "/"};
  }
  std::int64_t add_job(history::Store& s, const std::string& scheduler, const std::string& id) {
    history::RunRecord r;
    r.name = "job-" + id;
    r.status = history::k_pending;
    r.started_ms = 1;
    r.scheduler = scheduler;
    r.job_id = id;
    return s.insert(r).value();
  }

  TempDir m_dir;
  std::ostringstream m_out;
  std::ostringstream m_err;
  core::Ui m_ui{m_out, m_err, false};
  FakeRunner m_runner;
};

TEST_F(ClusterSyncStore, sacct_then_scontrol_then_kubectl_answers_are_recorded) {
  auto s = history::Store::open(m_dir.path() + "/furnace/history.db").value();
  const auto failed = add_job(s, "slurm", "11");
  const auto cancelled = add_job(s, "slurm", "12");
  const auto running = add_job(s, "slurm", "13");
  const auto k8s_done = add_job(s, "k8s", "ml/mnist-1a2b3c");
  const auto unknown = add_job(s, "slurm", "14");
  m_runner.on("-n -P -X -j 11", {0, "FAILED|3:0|2026-12-06T09:00:00\n", ""});
  // No accounting here: sacct fails, the controller still knows the job.
  m_runner.on("-n -P -X -j 12", {1, "", "sacct: error: Slurm accounting storage is disabled"});
  m_runner.on("show job -o 12",
              {0,
               "JobId=12 JobName=x JobState=CANCELLED Reason=None ExitCode=0:15 "
               "StartTime=2026-12-06T08:59:00 EndTime=2026-12-06T09:01:00\n",
               ""});
  m_runner.on("-n -P -X -j 13", {0, "RUNNING|0:0|Unknown\n", ""});
  m_runner.on("get job mnist-1a2b3c",
              {0,
               R"({"status": {"succeeded": 1, "conditions": [{"type": "Complete",
                  "status": "True", "lastTransitionTime": "2026-12-06T09:02:00Z"}]}})",
               ""});
  m_runner.fallback = {1, "", "slurm_load_jobs error: Invalid job id specified"};
  core::Context ctx = context();
  sync_jobs(ctx, s);
  const auto get = [&](std::int64_t id) { return s.find(std::to_string(id)).value(); };
  EXPECT_EQ(get(failed).status, history::k_failed);
  EXPECT_EQ(get(failed).exit_code, 3);
  EXPECT_NE(get(failed).ended_ms, 0);
  EXPECT_EQ(get(cancelled).status, history::k_cancelled);
  EXPECT_EQ(get(cancelled).signal, "SIGTERM");
  EXPECT_FALSE(get(cancelled).exit_code.has_value());
  EXPECT_EQ(get(running).status, history::k_running);
  EXPECT_EQ(get(running).ended_ms, 0);
  EXPECT_EQ(get(k8s_done).status, history::k_exited);
  EXPECT_EQ(get(k8s_done).exit_code, 0);
  EXPECT_EQ(get(unknown).status, history::k_pending) << "an unanswered job is left as it was";
  // The namespace went to kubectl; nothing was asked about ended jobs the second time.
  EXPECT_NE(std::find(m_runner.calls.begin(),
                      m_runner.calls.end(),
                      "kubectl get job mnist-1a2b3c -o json -n ml"),
            m_runner.calls.end());
  m_runner.calls.clear();
  sync_jobs(ctx, s);
  for (const std::string& c : m_runner.calls) {
    EXPECT_TRUE(c.find(" 13") != std::string::npos || c.find(" 14") != std::string::npos) << c;
  }
}

// furnace submit with the schedulers' commands answered by a FakeRunner: the file is written
// privately and without the secret, the scheduler's id is recorded, and sync_jobs follows it.
class ClusterSubmit : public ClusterSyncStore {
protected:
  ExportOptions options(Target target) {
    m_dir.write("project/furnace.yaml", "name: mnist\ncommand: [python, train.py]\n");
    m_dir.write("bin/kubectl", "#!/bin/sh\nexit 99\n", 0755); // found on PATH, never run
    ExportOptions o;
    o.target = target;
    o.path = m_dir.path() + "/project";
    o.image = "127.0.0.1:5757/furnace/mnist@" + k_digest;
    o.env = {std::string("TOKEN=") + k_secret};
    o.name = "mnist-1a2b3c";
    o.ns = "ml";
    return o;
  }
  core::Context submit_context() {
    return core::Context{m_ui,
                         m_runner,
                         {{"XDG_DATA_HOME", m_dir.path() + "/data"},
                          {"HOME", m_dir.path() + "/home"},
                          {"PATH", m_dir.path() + "/bin"}},
                         "/"};
  }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static unsigned mode_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 0777U : 0U;
  }

  testing::FakeEngine m_engine;
  testing::FakeGpuProbe m_probe;
  testing::FakeLauncher m_launcher;
};

TEST_F(ClusterSubmit, slurm_submit_writes_the_script_runs_sbatch_and_records_the_job) {
  m_runner.on("--parsable", {0, "4242;furnace-test\n", ""});
  core::Context ctx = submit_context();
  ASSERT_EQ(run_submit(ctx, options(Target::slurm), m_engine, m_probe, m_launcher), 0)
      << m_err.str();
  EXPECT_EQ(m_out.str(), "mnist-1a2b3c 4242\n");
  const std::string script = m_dir.path() + "/data/furnace/jobs/mnist-1a2b3c.sbatch";
  ASSERT_EQ(m_runner.calls.size(), 1U);
  EXPECT_EQ(m_runner.calls[0], "sbatch --parsable " + script);
  EXPECT_EQ(mode_of(script), 0700U);
  EXPECT_EQ(slurp(script).find(k_secret), std::string::npos);
  const std::string log = m_dir.path() + "/data/furnace/logs/run-mnist-1a2b3c.log";
  EXPECT_NE(slurp(script).find("#SBATCH --output=" + log), std::string::npos) << slurp(script);
  auto s = history::Store::open(m_dir.path() + "/data/furnace/history.db").value();
  const auto rec = s.find("mnist-1a2b3c").value();
  EXPECT_EQ(rec.scheduler, "slurm");
  EXPECT_EQ(rec.job_id, "4242");
  EXPECT_EQ(rec.status, history::k_pending);
  EXPECT_EQ(rec.log_path, log);
  EXPECT_EQ(rec.image_ref, "127.0.0.1:5757/furnace/mnist@" + k_digest);
  EXPECT_EQ(rec.command, (std::vector<std::string>{"python", "train.py"}));
  EXPECT_EQ(rec.gpu_request, "1");
}

TEST_F(ClusterSubmit, a_refused_sbatch_is_an_error_naming_the_script_and_records_nothing) {
  m_runner.on("--parsable", {1, "", "sbatch: error: invalid partition specified: gpu"});
  core::Context ctx = submit_context();
  EXPECT_EQ(run_submit(ctx, options(Target::slurm), m_engine, m_probe, m_launcher), 1);
  EXPECT_NE(
      m_err.str().find("sbatch refused the job: sbatch: error: invalid partition specified: gpu"),
      std::string::npos)
      << m_err.str();
  EXPECT_NE(
      m_err.str().find("the script is " + m_dir.path() + "/data/furnace/jobs/mnist-1a2b3c.sbatch"),
      std::string::npos);
  auto s = history::Store::open(m_dir.path() + "/data/furnace/history.db").value();
  EXPECT_TRUE(s.list(history::Query{}).value().empty());
}

TEST_F(ClusterSubmit, k8s_submit_applies_the_manifest_and_follows_the_job) {
  core::Context ctx = submit_context();
  ASSERT_EQ(run_submit(ctx, options(Target::k8s), m_engine, m_probe, m_launcher), 0) << m_err.str();
  const std::string manifest = m_dir.path() + "/data/furnace/jobs/mnist-1a2b3c.yaml";
  ASSERT_EQ(m_runner.calls.size(), 1U);
  EXPECT_EQ(m_runner.calls[0], "kubectl apply -f " + manifest);
  EXPECT_EQ(mode_of(manifest), 0600U);
  EXPECT_EQ(slurp(manifest).find(k_secret), std::string::npos);
  EXPECT_NE(slurp(manifest).find("key: \"TOKEN\""), std::string::npos) << slurp(manifest);
  auto s = history::Store::open(m_dir.path() + "/data/furnace/history.db").value();
  EXPECT_EQ(s.find("mnist-1a2b3c").value().job_id, "ml/mnist-1a2b3c");
  m_runner.on("get job mnist-1a2b3c",
              {0,
               R"({"status": {"failed": 1, "conditions": [{"type": "Failed", "status": "True",
                  "reason": "BackoffLimitExceeded", "lastTransitionTime": "2026-12-06T09:02:00Z"}]}})",
               ""});
  m_runner.on("get pods -l job-name=mnist-1a2b3c -o json -n ml",
              {0,
               R"({"items": [{"status": {"containerStatuses": [{"name": "main",
                  "state": {"terminated": {"exitCode": 3, "reason": "Error"}}}]}}]})",
               ""});
  sync_jobs(ctx, s);
  const auto rec = s.find("mnist-1a2b3c").value();
  EXPECT_EQ(rec.status, history::k_failed);
  EXPECT_EQ(rec.exit_code, 3) << "the container's exit code, from its pod";
  EXPECT_EQ(rec.ended_ms, 1796547720000);
}

} // namespace
} // namespace furnace::cluster
