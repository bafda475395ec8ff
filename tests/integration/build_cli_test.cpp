// furnace build against the real engine and the stand-in pytorch image: BuildKit (the 20.10
// client) and the legacy builder (the 28.x client), the no-op rebuild (and the next one from the
// no-op cache, and an edit right after it that is not a no-op), a 2 GiB file that stays
// out of the context, and the image actually runs torch; a broken mirror gives the mirror hint
// and a log; furnace.lock and --locked; a changed requirement rebuilds only the later layers;
// furnace images and furnace prune on images of their own names.

#include "support/test_env.hpp"

#include <furnace/util/process.hpp>
#include <furnace/util/strings.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace furnace::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_base = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";

util::ProcessOutput docker(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> argv{"/usr/bin/docker"};
  argv.insert(argv.end(), args.begin(), args.end());
  util::SystemRunner runner;
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(300000);
  if (!env.empty()) {
    o.env = process_env();
    for (const auto& [k, v] : env) {
      (*o.env)[k] = v;
    }
  }
  auto r = runner.run(argv, o);
  return r ? *r : util::ProcessOutput{};
}

std::string trim_nl(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
    s.pop_back();
  }
  return s;
}

std::string slurp(const std::string& path);

class BuildCli : public ::testing::Test {
protected:
  void SetUp() override {
    FURNACE_REQUIRE_ENGINE();
    static int counter = 0;
    m_name = "furnace-it-build-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    m_project = m_dir.path() + "/project";
    m_dir.write("project/furnace.yaml", "name: " + m_name + "\nbase: " + k_base + "\napt: [jq]\n");
    m_dir.write("project/train.py", "import torch\nprint(torch.__version__)\n");
    m_env = {{"HOME", m_dir.path() + "/home"},
             {"XDG_CONFIG_HOME", m_dir.path() + "/config"},
             {"-XDG_CACHE_HOME", ""},
             {"-XDG_DATA_HOME", ""},
             {"FURNACE_DOCKER", "/usr/bin/docker"}};
  }

  void TearDown() override {
    if (m_name.empty()) {
      return;
    }
    docker({"rm", "-f", m_name + "-c"});
    // furnace/<name>, furnace/<name>-alive, …: only this test's own images.
    const auto ids = docker({"images", "-q", "--filter", "reference=furnace/" + m_name + "*"});
    std::set<std::string> unique;
    for (const std::string& id : util::split(ids.out, '\n')) {
      if (!id.empty() && unique.insert(id).second) {
        docker({"rmi", "-f", id});
      }
    }
  }

  // A sparse 2 GiB file in the project: it must not reach the daemon.
  void add_big_file() const {
    fs::create_directories(m_project + "/data");
    const int fd = ::open((m_project + "/data/big.bin").c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 2LL << 30), 0);
    ::close(fd);
  }

  TempDir m_dir;
  std::string m_name;
  std::string m_project;
  std::map<std::string, std::string> m_env;
};

TEST_F(BuildCli, buildkit_builds_runs_torch_and_noop_rebuild_skips_the_builder) {
  add_big_file();
  auto env = m_env;
  env["FURNACE_DOCKER"] = "/usr/bin/docker";  // the 20.10 client: DOCKER_BUILDKIT=1
  const auto dry = run_furnace({"build", m_project, "--dry-run"}, env);
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.out.rfind("DOCKER_BUILDKIT=1 /usr/bin/docker build -t furnace/" + m_name + ":", 0), 0U) << dry.out;

  const auto t0 = std::chrono::steady_clock::now();
  const auto built = run_furnace({"build", m_project}, env);
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(built.exit_code, 0) << built.err;
  const std::string tag = trim_nl(built.out);
  EXPECT_EQ(tag.rfind("furnace/" + m_name + ":", 0), 0U);
  EXPECT_LT(build_s, 120.0) << "the 2 GiB file must not be sent";

  const auto torch = docker({"run", "--rm", tag, "python3", "-c", "import torch; print(torch.__version__)"});
  EXPECT_TRUE(torch.status.ok()) << torch.err;
  EXPECT_EQ(trim_nl(torch.out).substr(0, 4), "1.13");
  EXPECT_TRUE(docker({"run", "--rm", tag, "jq", "--version"}).status.ok());
  const auto labels = docker({"inspect", "-f", "{{index .Config.Labels \"org.furnace.project\"}}", tag});
  EXPECT_EQ(trim_nl(labels.out), fs::canonical(m_project).string());

  // The staged context holds only the Dockerfile.
  const std::string hash12 = tag.substr(tag.find(':') + 1);
  std::vector<std::string> staged;
  for (const auto& e : fs::directory_iterator(m_dir.path() + "/home/.cache/furnace/build/" + hash12)) {
    staged.push_back(e.path().filename().string());
  }
  EXPECT_EQ(staged, std::vector<std::string>{"Dockerfile"});

  // No change: no builder. A docker CLI that fails proves it is never called.
  auto broken = env;
  broken["FURNACE_DOCKER"] = "/bin/false";
  const auto t1 = std::chrono::steady_clock::now();
  const auto again = run_furnace({"build", m_project}, broken);
  const double noop_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(trim_nl(again.out), tag);
  EXPECT_NE(again.err.find("is up to date"), std::string::npos) << again.err;
  EXPECT_LT(noop_ms, 1000.0);
  std::cout << "first build " << build_s << " s, no-op rebuild " << noop_ms << " ms\n";

  // That no-op recorded what it read: the next one answers from the no-op cache, the same way.
  const std::string cache = m_dir.path() + "/home/.cache/furnace/noop";
  ASSERT_TRUE(fs::is_directory(cache));
  EXPECT_EQ(std::distance(fs::directory_iterator(cache), fs::directory_iterator()), 1);
  const auto cached = run_furnace({"build", m_project}, broken);
  ASSERT_EQ(cached.exit_code, 0) << cached.err;
  EXPECT_EQ(cached.out, again.out);
  EXPECT_EQ(cached.err, again.err);

  // An edit right after it (the same size, the same clock tick as likely as not) is not that
  // no-op: another tag, so the builder (which fails here) is called, and the old tag is not said.
  const std::string yaml = slurp(m_project + "/furnace.yaml");
  m_dir.write("project/furnace.yaml", "name: " + m_name + "\nbase: " + k_base + "\napt: [jo]\n");
  const auto edited = run_furnace({"build", m_project}, broken);
  EXPECT_NE(edited.exit_code, 0);
  EXPECT_EQ(edited.out.find(tag), std::string::npos) << edited.out;
  EXPECT_NE(edited.err.find("furnace: error: the build of furnace/" + m_name + ":"), std::string::npos)
      << edited.err;
  EXPECT_EQ(edited.err.find(tag + " is up to date"), std::string::npos) << edited.err;
  m_dir.write("project/furnace.yaml", yaml);

  // --force calls the builder (which fails here, proving the call).
  EXPECT_NE(run_furnace({"build", m_project, "--force"}, broken).exit_code, 0);
}

TEST_F(BuildCli, legacy_builder_with_the_28_client) {
  // The test machines ship a 28.x docker client without the buildx plugin (the case where
  // furnace must fall back to the legacy builder on its own).
  FURNACE_REQUIRE(fs::exists("/usr/local/bin/docker"), "no /usr/local/bin/docker (28.x client)");
  auto env = m_env;
  env["FURNACE_DOCKER"] = "/usr/local/bin/docker";
  const auto dry = run_furnace({"build", m_project, "--dry-run"}, env);
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  util::SystemRunner runner;
  auto buildx = runner.run({"/usr/local/bin/docker", "buildx", "version"}, util::ProcessOptions{});
  if (buildx && buildx->status.ok()) {
    // A client with the plugin: furnace must use it, not the legacy builder.
    EXPECT_NE(dry.out.find("/usr/local/bin/docker buildx build"), std::string::npos) << dry.out;
    return;
  }
  EXPECT_EQ(dry.out.rfind("DOCKER_BUILDKIT=0 /usr/local/bin/docker build", 0), 0U) << dry.out;
  const auto built = run_furnace({"build", m_project}, env);
  ASSERT_EQ(built.exit_code, 0) << built.err;
  const std::string tag = trim_nl(built.out);
  const std::string hash12 = tag.substr(tag.find(':') + 1);
  const std::string dockerfile = m_dir.path() + "/home/.cache/furnace/build/" + hash12 + "/Dockerfile";
  ASSERT_TRUE(fs::exists(dockerfile));
  EXPECT_TRUE(docker({"run", "--rm", tag, "jq", "--version"}).status.ok());
}

TEST_F(BuildCli, invalid_furnace_yaml_is_reported_with_position) {
  m_dir.write("project/furnace.yaml", "name: x\naptt: [jq]\n");
  const auto r = run_furnace({"build", m_project, "--dry-run"}, m_env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("furnace: error: furnace.yaml:2:1: unknown key 'aptt' (did you mean 'apt'?)"),
            std::string::npos)
      << r.err;
  m_name.clear();
}

TEST_F(BuildCli, init_writes_once_and_parses_back) {
  fs::remove(m_project + "/furnace.yaml");
  m_dir.write("project/requirements.txt", "torch==1.13.1\nopencv-python\n");
  const auto printed = run_furnace({"init", m_project, "--print"}, m_env);
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_NE(printed.out.find("requirements:\n  - requirements.txt\n"), std::string::npos) << printed.out;
  EXPECT_FALSE(fs::exists(m_project + "/furnace.yaml"));
  ASSERT_EQ(run_furnace({"init", m_project}, m_env).exit_code, 0);
  EXPECT_TRUE(fs::exists(m_project + "/furnace.yaml"));
  const auto again = run_furnace({"init", m_project}, m_env);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos);
  EXPECT_EQ(run_furnace({"init", m_project, "--force"}, m_env).exit_code, 0);
  // furnace build reads it back (a dry run parses and resolves it).
  const auto dry = run_furnace({"build", m_project, "--dry-run"}, m_env);
  EXPECT_EQ(dry.err.find("furnace.yaml:"), std::string::npos) << dry.err;
  m_name.clear();
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> layers_of(const std::string& image) {
  const auto r = docker({"inspect", "-f", "{{range .RootFS.Layers}}{{println .}}{{end}}", image});
  std::vector<std::string> out;
  for (const std::string& l : util::split(r.out, '\n')) {
    if (!l.empty()) {
      out.push_back(l);
    }
  }
  return out;
}

std::string pip_freeze(const std::string& image) {
  return docker({"run", "--rm", "--network", "none", image, "python3", "-m", "pip", "freeze"}).out;
}

TEST_F(BuildCli, unreachable_apt_mirror_names_the_step_keeps_the_log_and_hints_the_mirror) {
  // 127.0.0.1:9 (discard) refuses at once inside the build container: never another address.
  m_dir.write("project/furnace.yaml", "name: " + m_name + "\nbase: " + k_base +
                                          "\napt: [jq]\nmirrors: {apt: 'http://127.0.0.1:9/debian'}\n");
  const auto r = run_furnace({"build", m_project}, m_env);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  // "[2/3] RUN …", or "[stage-0 2/3] RUN …" from the 20.10 engine.
  EXPECT_NE(r.err.find("\nfailed step: ["), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2/3] RUN --mount=type=cache,target=/var/cache/apt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("lines:\n    "), std::string::npos) << r.err;
  const std::string logs = m_dir.path() + "/home/.local/share/furnace/logs/";
  const auto at = r.err.find("; the full log is " + logs + "build-" + m_name + "-");
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_NE(r.err.find("furnace: error: the build of furnace/" + m_name + ":"), std::string::npos);
  EXPECT_NE(r.err.find("  hint: a package mirror cannot be reached (apt: http://127.0.0.1:9/debian, "
                       "pip: PyPI)"),
            std::string::npos)
      << r.err;
  const std::string path = r.err.substr(at + 18, r.err.find('\n', at) - at - 18);
  const std::string log = slurp(path);
  EXPECT_NE(log.find("127.0.0.1:9"), std::string::npos) << path;
  EXPECT_EQ(log.rfind("# furnace build furnace/" + m_name + ":", 0), 0U);
  if (const char* keep = std::getenv("FURNACE_KEEP_BUILD_LOG")) {  // NOLINT(concurrency-mt-unsafe)
    fs::copy_file(path, keep, fs::copy_options::overwrite_existing);
  }
}

// The legacy builder keeps a failed step's container unless told otherwise (--force-rm): a
// build that fails at a RUN step leaves no container. Counted by ancestor: the base is an image
// of this test's own (a label makes a new id), so others' containers on the engine do not count.
TEST_F(BuildCli, a_build_failing_at_a_run_step_leaves_no_container) {
  const std::string base = m_name + "-base:1";
  const std::string ctx = m_dir.path() + "/base";
  m_dir.write("base/Dockerfile",
              std::string("FROM ") + k_base + "\nLABEL org.furnace.test=" + m_name + "\n");
  const auto made =
      docker({"build", "--force-rm", "-q", "-t", base, ctx}, {{"DOCKER_BUILDKIT", "0"}});
  ASSERT_TRUE(made.status.ok()) << made.err;
  const std::string base_id = trim_nl(docker({"inspect", "-f", "{{.Id}}", base}).out);
  ASSERT_FALSE(base_id.empty());
  const auto left = [&] {
    return trim_nl(docker({"ps", "-a", "-q", "--filter", "ancestor=" + base_id}).out);
  };
  ASSERT_EQ(left(), "");
  // 127.0.0.1:9 refuses at once: the apt RUN step fails.
  m_dir.write("project/furnace.yaml",
              "name: " + m_name + "\nbase: " + base +
                  "\napt: [jq]\nmirrors: {apt: 'http://127.0.0.1:9/debian'}\n");
  auto env = m_env;
  env["FURNACE_BUILDER"] = "legacy";
  const auto r = run_furnace({"build", m_project}, env);
  const std::string after = left();
  docker({"rmi", "-f", base});
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("failed step: "), std::string::npos) << r.err;
  EXPECT_EQ(after, "") << "containers left by the failed build";
  if (!after.empty()) {
    docker({"rm", "-f", after});
  }
}

// A base on a registry that refuses connections (127.0.0.1:1): the engine's own words, not
// "HTTP 500", and the hint names the registry and the mirror's reach.
TEST_F(BuildCli, a_base_on_an_unreachable_registry_quotes_the_engine_and_hints) {
  m_dir.write("project/furnace.yaml", "name: " + m_name + "\nbase: 127.0.0.1:1/none:tag\n");
  const auto r = run_furnace({"build", m_project}, m_env);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("furnace: error: pulling 127.0.0.1:1/none:tag: engine: "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("127.0.0.1:1/v2/"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("connection refused"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("HTTP 500"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("could not reach the registry 127.0.0.1:1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("furnace setup --mirror URL"), std::string::npos) << r.err;
}

// The stand-in image is Debian's Python 3.11, where images.csv says the real 1.13.1 image ships
// 3.10: the build says so, furnace.lock records what ran, and the next resolve plans with it.
TEST_F(BuildCli, the_python_the_image_runs_is_checked_recorded_and_used) {
  m_dir.write("project/requirements.txt", "torch==1.13.1\n");
  m_dir.write("project/furnace.yaml", "name: " + m_name + "\ncuda: \"11.6\"\n");
  const auto before = run_furnace({"resolve", "--json", m_project}, m_env);
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_NE(before.out.find("\"python\": \"3.10\""), std::string::npos) << before.out;
  const auto built = run_furnace({"build", m_project}, m_env);
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_NE(built.err.find(std::string("furnace: warning: ") + k_base + " runs Python 3.11"),
            std::string::npos)
      << built.err;
  EXPECT_NE(slurp(m_project + "/furnace.lock").find("\npython: 3.11."), std::string::npos);
  const auto after = run_furnace({"resolve", "--json", m_project}, m_env);
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_NE(after.out.find("\"python\": \"3.11\""), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("seen in the image after a build here"), std::string::npos);
}

TEST_F(BuildCli, lock_is_written_and_locked_build_reproduces_or_shows_the_diff) {
  m_dir.write("project/requirements.txt", "numpy\n");
  m_dir.write("project/furnace.yaml", "name: " + m_name + "\nbase: " + k_base +
                                          "\napt: [jq]\nrequirements: [requirements.txt]\n");
  const auto no_lock = run_furnace({"build", m_project, "--locked", "--dry-run"}, m_env);
  EXPECT_EQ(no_lock.exit_code, 1);
  EXPECT_NE(no_lock.err.find("furnace: error: cannot read " + fs::canonical(m_project).string() +
                             "/furnace.lock"),
            std::string::npos)
      << no_lock.err;
  EXPECT_NE(no_lock.err.find("  hint: run 'furnace build' (without --locked) once to write it"),
            std::string::npos);

  const auto built = run_furnace({"build", m_project}, m_env);
  ASSERT_EQ(built.exit_code, 0) << built.err;
  const std::string tag = trim_nl(built.out);
  const std::string lock_path = m_project + "/furnace.lock";
  const std::string lock = slurp(lock_path);
  EXPECT_NE(lock.find("\nimage: " + tag + "\n"), std::string::npos) << lock;
  EXPECT_NE(lock.find("\nbase: " + std::string(k_base) + "\nbase-id: sha256:"), std::string::npos);
  EXPECT_NE(lock.find("\nnumpy=="), std::string::npos) << lock;
  EXPECT_NE(lock.find("\njq="), std::string::npos) << lock;
  EXPECT_NE(built.err.find("wrote " + fs::canonical(m_project).string() + "/furnace.lock ("),
            std::string::npos)
      << built.err;

  const auto locked = run_furnace({"build", m_project, "--locked"}, m_env);
  ASSERT_EQ(locked.exit_code, 0) << locked.err;
  const std::string locked_tag = trim_nl(locked.out);
  EXPECT_NE(locked_tag, tag);
  EXPECT_NE(locked.err.find(locked_tag + " matches "), std::string::npos) << locked.err;
  EXPECT_EQ(pip_freeze(locked_tag), pip_freeze(tag));
  EXPECT_EQ(slurp(lock_path), lock);  // a locked build leaves the lock alone
  const auto again = run_furnace({"build", m_project, "--locked"}, m_env);
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.err.find("is up to date"), std::string::npos) << again.err;

  // A lock the image cannot match: the diff, and no image left behind.
  m_dir.write("project/furnace.lock", lock + "zz-furnace-test=1.0\n");
  const auto differs = run_furnace({"build", m_project, "--locked"}, m_env);
  EXPECT_EQ(differs.exit_code, 1);
  EXPECT_NE(differs.err.find("\n  dpkg: - zz-furnace-test=1.0\n"), std::string::npos) << differs.err;
  EXPECT_NE(differs.err.find("furnace: error: the locked build resolved differently from "),
            std::string::npos)
      << differs.err;
  EXPECT_NE(differs.err.find("  hint: run 'furnace build' without --locked"), std::string::npos);
  const auto at = differs.err.find("removed)");
  ASSERT_NE(at, std::string::npos);
  const std::string removed = differs.err.substr(differs.err.rfind("; ", at) + 2, at - differs.err.rfind("; ", at) - 3);
  EXPECT_EQ(removed.rfind("furnace/" + m_name + ":", 0), 0U) << removed;
  EXPECT_FALSE(docker({"image", "inspect", removed}).status.ok());
}

TEST_F(BuildCli, changed_requirement_rebuilds_only_the_later_layers) {
  m_dir.write("project/requirements.txt", "numpy\n");
  m_dir.write("project/furnace.yaml", "name: " + m_name + "\nbase: " + k_base +
                                          "\napt: [jq]\nrequirements: [requirements.txt]\n");
  const auto first = run_furnace({"build", m_project}, m_env);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  m_dir.write("project/requirements.txt", "numpy>=1.0\n");
  const auto second = run_furnace({"build", m_project}, m_env);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const std::string a = trim_nl(first.out);
  const std::string b = trim_nl(second.out);
  ASSERT_NE(a, b);
  // The apt step came from the cache ("#N [stage-0 2/6] RUN --mount=… apt-get …", "#N CACHED").
  const auto apt = second.err.find("] RUN --mount=type=cache,target=/var/cache/apt");
  ASSERT_NE(apt, std::string::npos) << second.err;
  const auto hash_at = second.err.rfind('#', apt);
  const std::string step_id = second.err.substr(hash_at, second.err.find(' ', hash_at) - hash_at);
  EXPECT_NE(second.err.find("\n" + step_id + " CACHED\n"), std::string::npos) << second.err;
  // The base's layers and the apt layer are shared; the requirements' layers are new.
  const std::size_t base_layers = layers_of(k_base).size();
  const auto la = layers_of(a);
  const auto lb = layers_of(b);
  ASSERT_GT(la.size(), base_layers + 1);
  ASSERT_EQ(la.size(), lb.size());
  EXPECT_TRUE(std::equal(la.begin(), la.begin() + static_cast<std::ptrdiff_t>(base_layers + 1), lb.begin()));
  EXPECT_FALSE(std::equal(la.begin(), la.end(), lb.begin()));
}

TEST_F(BuildCli, images_and_prune_keep_the_newest_and_the_used) {
  // Images labelled like furnace's, of this test's own names only.
  const std::string alive = m_name + "-alive";
  const std::string gone = m_name + "-gone";
  const std::string gone_dir = m_dir.path() + "/gone-project";
  const std::string alive_dir = fs::canonical(m_project).string();
  m_dir.write("ctx/Dockerfile", "FROM debian:bookworm\nARG SEQ\nLABEL org.furnace.test-seq=$SEQ\n");
  const std::map<std::string, std::string> legacy{{"DOCKER_BUILDKIT", "0"}};
  auto make = [&](const std::string& ref, const std::string& project, const std::string& seq) {
    const auto r = docker({"build", "-q", "-t", ref, "--build-arg", "SEQ=" + seq, "--label",
                           "org.furnace.project=" + project, m_dir.path() + "/ctx"},
                          legacy);
    ASSERT_TRUE(r.status.ok()) << r.err;
  };
  make("furnace/" + gone + ":aaaaaaaaaaaa", gone_dir, "1");
  make("furnace/" + gone + ":bbbbbbbbbbbb", gone_dir, "2");
  make("furnace/" + alive + ":cccccccccccc", alive_dir, "3");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // created: seconds
  make("furnace/" + alive + ":dddddddddddd", alive_dir, "4");
  ASSERT_TRUE(docker({"create", "--name", m_name + "-c", "furnace/" + gone + ":bbbbbbbbbbbb", "true"}).status.ok());

  const auto listed = run_furnace({"images", alive, gone}, m_env);
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto lines = util::split(trim_nl(listed.out), '\n');
  ASSERT_EQ(lines.size(), 5U) << listed.out;
  EXPECT_EQ(lines[0].rfind("PROJECT", 0), 0U);
  EXPECT_NE(lines[0].find("IN USE"), std::string::npos);
  EXPECT_EQ(lines[1].rfind(gone_dir + " (gone)", 0), 0U) << listed.out;
  EXPECT_NE(listed.out.find("furnace/" + gone + ":bbbbbbbbbbbb"), std::string::npos);
  EXPECT_NE(listed.out.find("1 container\n"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find(alive_dir + " "), std::string::npos);

  const auto dry = run_furnace({"prune", "--dry-run", alive, gone}, m_env);
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.out, "/usr/bin/docker rmi furnace/" + gone + ":aaaaaaaaaaaa\n/usr/bin/docker rmi furnace/" +
                         alive + ":cccccccccccc\n")
      << dry.err;
  EXPECT_TRUE(docker({"image", "inspect", "furnace/" + gone + ":aaaaaaaaaaaa"}).status.ok());

  const auto pruned = run_furnace({"prune", alive, gone}, m_env);
  ASSERT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_NE(pruned.err.find("removed 2 images"), std::string::npos) << pruned.err;
  EXPECT_FALSE(docker({"image", "inspect", "furnace/" + gone + ":aaaaaaaaaaaa"}).status.ok());
  EXPECT_FALSE(docker({"image", "inspect", "furnace/" + alive + ":cccccccccccc"}).status.ok());
  EXPECT_TRUE(docker({"image", "inspect", "furnace/" + gone + ":bbbbbbbbbbbb"}).status.ok());
  EXPECT_TRUE(docker({"image", "inspect", "furnace/" + alive + ":dddddddddddd"}).status.ok());
  for (const char* stand_in : {k_base, "debian:bookworm"}) {
    EXPECT_TRUE(docker({"image", "inspect", stand_in}).status.ok()) << stand_in;
  }
}

// A shell command's output (stdout, exit code), for script(1) and pipes.
util::ProcessOutput sh_c(const std::string& script) {
  util::SystemRunner runner;
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(300000);
  auto r = runner.run({"/bin/sh", "-c", script}, o);
  return r ? *r : util::ProcessOutput{};
}

// A pull on a terminal shows it moving (issue 17): recorded with script(1), the build's first
// pull draws live layer lines (bytes, speed, time left) and a total line, redrawn in place and
// erased at the end, leaving the summary; on a pipe the same pull prints plain lines; --quiet
// prints neither. The base is a 48 MiB layer of the test's own in the test registry, removed
// locally before each pull (its content is the same every time: the registry keeps one copy).
TEST_F(BuildCli, a_pull_on_a_terminal_shows_live_progress_and_a_pipe_plain_lines) {
  FURNACE_REQUIRE(std::getenv("FURNACE_TEST_REGISTRY") != nullptr,
                  "FURNACE_TEST_REGISTRY (eval \"$(scripts/test-engine.sh env)\")");
  FURNACE_REQUIRE(fs::exists("/usr/bin/script"), "no script(1) (util-linux)");
  const std::string base =
      std::string(std::getenv("FURNACE_TEST_REGISTRY")) + "/furnace-it/pull-progress:48m";
  m_dir.write("blob/Dockerfile",
              std::string("FROM ") + k_base +
                  "\nRUN python3 -c \"import random; random.seed(17); "
                  "open('/blob','wb').write(random.randbytes(48 << 20))\"\n");
  ASSERT_TRUE(docker({"build", "-q", "-t", base, m_dir.path() + "/blob"}).status.ok());
  ASSERT_TRUE(docker({"push", base}).status.ok());
  m_dir.write("project/furnace.yaml", "name: " + m_name + "\nbase: " + base + "\n");
  const std::string typescript = m_dir.path() + "/typescript";
  std::string env_prefix = "env";
  for (const auto& [k, v] : m_env) {
    env_prefix += k.rfind('-', 0) == 0 ? " -u " + k.substr(1) : " " + util::shell_quote(k + "=" + v);
  }
  for (const std::string mode : {"terminal", "pipe", "quiet"}) {
    // The project's images first: the base cannot go while an image built on it stays.
    const auto ids = docker({"images", "-q", "--filter", "reference=furnace/" + m_name + "*"});
    for (const std::string& id : util::split(ids.out, '\n')) {
      if (!id.empty()) {
        docker({"rmi", "-f", id});
      }
    }
    docker({"rmi", "-f", base});
    // The legacy builder: BuildKit's cache would keep the pulled layers after the rmi.
    const std::string cmd = env_prefix + " TERM=xterm FURNACE_BUILDER=legacy " +
                            std::string(FURNACE_BINARY) +
                            (mode == "quiet" ? " --quiet" : "") + " build " + m_project +
                            " --no-verify";
    std::string text;
    if (mode == "terminal") {
      const auto r = sh_c("script -qfec " + util::shell_quote(cmd) + " " + typescript);
      ASSERT_EQ(r.status.code, 0) << r.out << r.err;
      text = slurp(typescript);
    } else {
      const auto r = sh_c(cmd + " 2>&1");
      ASSERT_EQ(r.status.code, 0) << r.out;
      text = r.out;
    }
    const bool live = text.find("\x1b[2K") != std::string::npos;
    const bool summary = text.find("pulled " + base + ": ") != std::string::npos;
    if (mode == "terminal") {
      EXPECT_TRUE(live) << text;
      EXPECT_NE(text.find(" Downloading "), std::string::npos) << text;
      EXPECT_NE(text.find("ETA "), std::string::npos) << text;
      EXPECT_NE(text.find("  total "), std::string::npos) << text;
      EXPECT_NE(text.find("\x1b[J"), std::string::npos) << "the live lines are erased: " << text;
      EXPECT_TRUE(summary) << text;
    } else if (mode == "pipe") {
      EXPECT_FALSE(live) << text;
      EXPECT_NE(text.find(" Pull complete"), std::string::npos) << text;
      EXPECT_TRUE(summary) << text;
    } else {
      EXPECT_FALSE(live) << text;
      EXPECT_EQ(text.find("Pull complete"), std::string::npos) << text;
      EXPECT_FALSE(summary) << text;
    }
  }
  docker({"rmi", "-f", base});
}

// RELIABILITY case 26: a pull whose network stalls midway fails after FURNACE_PULL_STALL seconds
// with a clear message (not a hang), the engine's pull is cancelled, and the next try succeeds.
// The registry is the test registry behind a proxy of the test's own on 127.0.0.1 that stops
// passing data after 1 MiB of a response while a flag file exists (nothing else is touched).
TEST_F(BuildCli, a_pull_that_stalls_fails_clearly_and_the_next_try_succeeds) {
  FURNACE_REQUIRE(std::getenv("FURNACE_TEST_REGISTRY") != nullptr,
                  "FURNACE_TEST_REGISTRY (eval \"$(scripts/test-engine.sh env)\")");
  const std::string upstream = std::getenv("FURNACE_TEST_REGISTRY");
  // The 48 MiB layer of the progress test, in the registry.
  const std::string origin = upstream + "/furnace-it/pull-progress:48m";
  m_dir.write("blob/Dockerfile",
              std::string("FROM ") + k_base +
                  "\nRUN python3 -c \"import random; random.seed(17); "
                  "open('/blob','wb').write(random.randbytes(48 << 20))\"\n");
  ASSERT_TRUE(docker({"build", "-q", "-t", origin, m_dir.path() + "/blob"}).status.ok());
  ASSERT_TRUE(docker({"push", origin}).status.ok());
  docker({"rmi", "-f", origin});
  const std::string flag = m_dir.path() + "/stall";
  m_dir.write("proxy.py", R"py(import os, socket, sys, threading
up_host, up_port = sys.argv[1].rsplit(":", 1)
flag, port_file = sys.argv[2], sys.argv[3]
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(64)
open(port_file, "w").write(str(srv.getsockname()[1]))
def pipe(a, b, limit):
    sent = 0
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            if limit and sent > (1 << 20) and os.path.exists(flag):
                threading.Event().wait()  # stall: keep both sockets open, pass nothing
            b.sendall(data); sent += len(data)
    except OSError:
        pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
while True:
    c, _ = srv.accept()
    u = socket.create_connection((up_host, int(up_port)))
    threading.Thread(target=pipe, args=(c, u, False), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c, True), daemon=True).start()
)py");
  const std::string port_file = m_dir.path() + "/port";
  m_dir.write("stall", "");
  const auto proxy = sh_c("python3 " + m_dir.path() + "/proxy.py " + upstream + " " + flag + " " +
                          port_file + " >/dev/null 2>&1 & echo $!");
  const std::string proxy_pid(util::trim(proxy.out));
  for (int i = 0; i < 50 && !fs::exists(port_file); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(fs::exists(port_file));
  const std::string base =
      "127.0.0.1:" + std::string(util::trim(slurp(port_file))) + "/furnace-it/pull-progress:48m";
  m_dir.write("project/furnace.yaml", "name: " + m_name + "\nbase: " + base + "\n");
  auto env = m_env;
  env["FURNACE_PULL_STALL"] = "3";
  env["FURNACE_BUILDER"] = "legacy";
  const auto t0 = std::chrono::steady_clock::now();
  const auto stalled = run_furnace({"build", m_project, "--no-verify"}, env);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(stalled.exit_code, 0);
  EXPECT_NE(stalled.err.find("pulling " + base + ": no progress for 3 s (the registry or the "
                             "network stalled)"),
            std::string::npos)
      << stalled.err;
  EXPECT_NE(stalled.err.find("run the command again"), std::string::npos) << stalled.err;
  EXPECT_LT(secs, 30.0) << "a stalled pull must not hang";
  EXPECT_FALSE(docker({"image", "inspect", base}).status.ok()) << "no image from a cut pull";
  // The network is back: the same command succeeds.
  fs::remove(flag);
  const auto again = run_furnace({"build", m_project, "--no-verify"}, env);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(docker({"image", "inspect", base}).status.ok());
  sh_c("kill " + proxy_pid);
  const auto ids = docker({"images", "-q", "--filter", "reference=furnace/" + m_name + "*"});
  for (const std::string& id : util::split(ids.out, '\n')) {
    if (!id.empty()) {
      docker({"rmi", "-f", id});
    }
  }
  docker({"rmi", "-f", base});
}

}  // namespace
}  // namespace furnace::testing
