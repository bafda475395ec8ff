// The builder's failure report: the failing step, its last lines and the hint, on logs recorded
// from BuildKit (the 20.10 engine's and a 23+ client's) and from the legacy builder. Also the
// process runner's streaming output that feeds the log.

#include "support/test_env.hpp"

#include <furnace/image/build_log.hpp>
#include <furnace/util/process.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace furnace::image {
namespace {

namespace fs = std::filesystem;

const fs::path k_logs = fs::path(FURNACE_SOURCE_DIR) / "tests/unit/fixtures/build_logs";

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// BuildKit of the 20.10 engine (DOCKER_BUILDKIT=1, plain progress): apt's mirror refuses.
constexpr const char* k_buildkit_apt_mirror = R"(#1 [internal] load build definition from Dockerfile
#1 sha256:1b8c5e2f6e0e0a5d4c7d4f5c0f8b6f3a6a9d0e7c2b1a0f9e8d7c6b5a4f3e2d1c
#1 transferring dockerfile: 1.07kB done
#1 DONE 0.0s

#3 [internal] load metadata for docker.io/pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime
#3 DONE 0.0s

#4 [1/2] FROM docker.io/pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime
#4 DONE 0.0s

#5 [2/2] RUN --mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=cache,target=/var/lib/apt/lists,sharing=locked m='http://127.0.0.1:9'; [ -e /etc/ssl/certs/ca-certificates.crt ] || case $m in https:*) m="http:${m#https:}";; esac; for f in /etc/apt/sources.list
#5 sha256:7d6b5e4f3a2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a
#5 0.312 Err:1 http://127.0.0.1:9/debian bookworm InRelease
#5 0.313   Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
#5 0.315 Reading package lists...
#5 0.318 W: Failed to fetch http://127.0.0.1:9/debian/dists/bookworm/InRelease  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
#5 0.318 W: Some index files failed to download. They have been ignored, or old ones used instead.
#5 0.331 Reading package lists...
#5 0.344 Building dependency tree...
#5 0.345 E: Unable to locate package jq
#5 ERROR: executor failed running [/bin/sh -c m='http://127.0.0.1:9'; apt-get update]: exit code: 100
------
 > [2/2] RUN --mount=type=cache,target=/var/cache/apt,sharing=locked m='http://127.0.0.1:9':
------
executor failed running [/bin/sh -c m='http://127.0.0.1:9'; apt-get update]: exit code: 100
)";

// The legacy builder: a pip package built from source without gcc.
constexpr const char* k_legacy_gcc =
    R"(Step 1/6 : FROM pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime
 ---> 2c6b4f1d0e3a
Step 2/6 : ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_BREAK_SYSTEM_PACKAGES=1
 ---> Using cache
 ---> 8e1f0a2b3c4d
Step 4/6 : RUN python3 -m pip install --no-cache-dir -c /opt/furnace/constraints.txt -r /opt/furnace/requirements.txt
 ---> Running in 5c1f0e2b3a4d
Collecting pycocotools
  Downloading pycocotools-2.0.7.tar.gz (24 kB)
Building wheels for collected packages: pycocotools
  Building wheel for pycocotools (pyproject.toml): started
  running build_ext
  building 'pycocotools._mask' extension
  error: command 'gcc' failed: No such file or directory
  [end of output]
  ERROR: Failed building wheel for pycocotools
ERROR: Could not build wheels for pycocotools, which is required to install pyproject.toml-based projects
The command '/bin/sh -c python3 -m pip install --no-cache-dir -c /opt/furnace/constraints.txt -r /opt/furnace/requirements.txt' returned a non-zero code: 1
)";

// BuildKit of a 23+ client: a CUDA extension on a runtime image.
constexpr const char* k_buildkit_cuda =
    R"(#7 [3/4] RUN --mount=type=cache,target=/root/.cache/pip python3 -m pip install -c /opt/furnace/constraints.txt -r /opt/furnace/requirements.txt
#7 1.234 Collecting detectron2@ git+https://github.com/facebookresearch/detectron2.git
#7 25.10   Running setup.py install for detectron2: started
#7 25.11       OSError: CUDA_HOME environment variable is not set. Please set it to your CUDA install root.
#7 25.20 ERROR: Command errored out with exit status 1
#7 ERROR: process "/bin/sh -c python3 -m pip install -c /opt/furnace/constraints.txt -r /opt/furnace/requirements.txt" did not complete successfully: exit code: 1
------
 > [3/4] RUN --mount=type=cache,target=/root/.cache/pip python3 -m pip install -c /opt/furnace/constraints.txt -r /opt/furnace/requirements.txt:
25.11       OSError: CUDA_HOME environment variable is not set. Please set it to your CUDA install root.
------
Dockerfile:12
--------------------
  12 | >>> RUN --mount=type=cache,target=/root/.cache/pip python3 -m pip install
--------------------
ERROR: failed to solve: process "/bin/sh -c python3 -m pip install" did not complete successfully: exit code: 1
)";

constexpr const char* k_buildkit_disk =
    R"(#6 [2/3] RUN apt-get update && apt-get install -y --no-install-recommends llvm-15
#6 12.5 Unpacking libllvm15:amd64 (1:15.0.6-4+b1) ...
#6 12.6 dpkg: error processing archive /var/cache/apt/archives/libllvm15_1%3a15.0.6-4+b1_amd64.deb (--unpack):
#6 12.6  cannot copy extracted data for './usr/lib/x86_64-linux-gnu/libLLVM-15.so.1' to '/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1.dpkg-new': failed to write (No space left on device)
#6 ERROR: executor failed running [/bin/sh -c apt-get update]: exit code: 100
)";

// pip behind an index that cannot be reached (legacy builder).
constexpr const char* k_legacy_pip_index =
    R"(Step 5/7 : RUN python3 -m pip install --no-cache-dir -c /opt/furnace/constraints.txt einops
 ---> Running in 0a1b2c3d4e5f
WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f3>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/einops/
ERROR: Could not find a version that satisfies the requirement einops (from versions: none)
ERROR: No matching distribution found for einops
The command '/bin/sh -c python3 -m pip install --no-cache-dir -c /opt/furnace/constraints.txt einops' returned a non-zero code: 1
)";

TEST(BuildLog, buildkit_apt_mirror_unreachable) {
  const FailureReport r = analyze_build_log(k_buildkit_apt_mirror);
  EXPECT_EQ(r.step.rfind("[2/2] RUN --mount=type=cache,target=/var/cache/apt", 0), 0U) << r.step;
  EXPECT_EQ(r.kind, FailureKind::mirror_unreachable);
  ASSERT_EQ(r.tail.size(), 9U);
  EXPECT_EQ(r.tail.front(), "Err:1 http://127.0.0.1:9/debian bookworm InRelease");
  EXPECT_EQ(r.tail[7], "E: Unable to locate package jq");
  EXPECT_EQ(r.tail.back().rfind("ERROR: executor failed running", 0), 0U);
}

TEST(BuildLog, legacy_pip_needs_a_compiler) {
  const FailureReport r = analyze_build_log(k_legacy_gcc);
  EXPECT_EQ(r.step,
            "RUN python3 -m pip install --no-cache-dir -c /opt/furnace/constraints.txt -r "
            "/opt/furnace/requirements.txt");
  EXPECT_EQ(r.kind, FailureKind::needs_compiler);
  ASSERT_FALSE(r.tail.empty());
  EXPECT_EQ(r.tail.front(), "Collecting pycocotools");
  EXPECT_EQ(r.tail.back().rfind("The command '/bin/sh -c python3", 0), 0U);
}

TEST(BuildLog, buildkit_cuda_extension_on_runtime_image) {
  const FailureReport r = analyze_build_log(k_buildkit_cuda);
  EXPECT_EQ(r.step.rfind("[3/4] RUN --mount=type=cache,target=/root/.cache/pip", 0), 0U);
  EXPECT_EQ(r.kind, FailureKind::cuda_needs_devel);
  EXPECT_EQ(r.tail[2],
            "      OSError: CUDA_HOME environment variable is not set. Please set it to "
            "your CUDA install root.");
}

TEST(BuildLog, disk_full_wins_over_everything) {
  EXPECT_EQ(analyze_build_log(k_buildkit_disk).kind, FailureKind::disk_full);
  EXPECT_EQ(
      classify_failure("Failed to fetch x\nwrite /var/lib/docker/tmp: no space left on device"),
      FailureKind::disk_full);
}

TEST(BuildLog, pip_index_unreachable) {
  const FailureReport r = analyze_build_log(k_legacy_pip_index);
  EXPECT_EQ(r.kind, FailureKind::mirror_unreachable);
  EXPECT_EQ(r.step.rfind("RUN python3 -m pip install", 0), 0U);
}

TEST(BuildLog, pip_index_without_the_requirement) {
  // The index answered (a 404 for the name): no connection warnings, only pip's verdict.
  const FailureReport r = analyze_build_log(
      "#9 [stage-0 5/6] RUN --mount=type=cache,target=/root/.cache/pip python3 -m pip install -c "
      "/opt/furnace/constraints.txt -r /opt/furnace/requirements.txt\n"
      "#9 0.912 Looking in indexes: http://127.0.0.1:8080/simple\n"
      "#9 1.204 ERROR: Could not find a version that satisfies the requirement "
      "Furnace-Fixture-Missing==1.0 (from versions: none)\n"
      "#9 1.205 ERROR: No matching distribution found for Furnace-Fixture-Missing==1.0\n"
      "#9 ERROR: executor failed running [/bin/sh -c python3 -m pip install]: exit code: 1\n");
  EXPECT_EQ(r.kind, FailureKind::pip_not_found);
  EXPECT_EQ(r.missing, "Furnace-Fixture-Missing==1.0");
  EXPECT_EQ(
      failure_hint(r.kind, {"", "http://127.0.0.1:8080/simple"}, r.missing),
      "pip found no 'Furnace-Fixture-Missing==1.0' on http://127.0.0.1:8080/simple: check the "
      "name and the version, or whether that index carries it");
  EXPECT_EQ(failure_hint(FailureKind::pip_not_found, {}),
            "pip found no release of a requirement on PyPI: check the name and the version, or "
            "whether that index carries it");
  // An unreachable index makes pip say the same: the mirror wins.
  const FailureReport unreachable = analyze_build_log(k_legacy_pip_index);
  EXPECT_EQ(unreachable.kind, FailureKind::mirror_unreachable);
  EXPECT_EQ(unreachable.missing, "");
  EXPECT_EQ(missing_requirement("nothing here"), "");
}

TEST(BuildLog, classifier_patterns) {
  EXPECT_EQ(classify_failure("W: Failed to fetch http://x/InRelease"),
            FailureKind::mirror_unreachable);
  EXPECT_EQ(classify_failure("Temporary failure resolving 'deb.debian.org'"),
            FailureKind::mirror_unreachable);
  EXPECT_EQ(classify_failure("Could not resolve 'mirrors.tuna.tsinghua.edu.cn'"),
            FailureKind::mirror_unreachable);
  EXPECT_EQ(classify_failure("/bin/sh: 1: gcc: not found"), FailureKind::needs_compiler);
  EXPECT_EQ(classify_failure("error: command 'x86_64-linux-gnu-gcc' failed with exit status 1"),
            FailureKind::needs_compiler);
  EXPECT_EQ(classify_failure("/bin/sh: 1: nvcc: not found"), FailureKind::cuda_needs_devel);
  EXPECT_EQ(classify_failure("E: Unable to locate package nosuchpackage"), FailureKind::unknown);
}

TEST(BuildLog, long_steps_keep_the_last_30_lines_without_prefixes) {
  std::string log = "#9 [4/5] RUN make\n";
  for (int i = 1; i <= 45; ++i) {
    log += "#9 " + std::to_string(i) + ".0" + std::to_string(i % 10) + " line " +
           std::to_string(i) + "\n";
  }
  log += "#9 ERROR: executor failed running [/bin/sh -c make]: exit code: 2\n";
  const FailureReport r = analyze_build_log(log);
  EXPECT_EQ(r.step, "[4/5] RUN make");
  ASSERT_EQ(r.tail.size(), 30U);
  EXPECT_EQ(r.tail.front(), "line 17");
  EXPECT_EQ(r.tail[28], "line 45");
  EXPECT_EQ(r.kind, FailureKind::unknown);
}

TEST(BuildLog, without_a_step_the_end_of_the_log) {
  const FailureReport r = analyze_build_log(
      "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n"
      "failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile "
      "parse error line 3: unknown instruction: RUNN\n\n");
  EXPECT_EQ(r.step, "");
  ASSERT_EQ(r.tail.size(), 3U);
  EXPECT_EQ(r.tail.back().rfind("failed to solve", 0), 0U);
}

TEST(BuildLog, hints_name_the_mirrors_and_the_fix) {
  EXPECT_EQ(
      failure_hint(FailureKind::mirror_unreachable, {"http://127.0.0.1:9", ""}),
      "a package mirror cannot be reached (apt: http://127.0.0.1:9, pip: PyPI): fix or set "
      "'mirrors' in furnace.yaml, or 'furnace config set mirror.apt|mirror.pip VALUE' (aliyun, "
      "tuna, ustc, huawei, tencent, a URL)");
  EXPECT_NE(failure_hint(FailureKind::needs_compiler, {}).find("build-essential"),
            std::string::npos);
  EXPECT_NE(failure_hint(FailureKind::cuda_needs_devel, {}).find("variant: devel"),
            std::string::npos);
  EXPECT_NE(failure_hint(FailureKind::disk_full, {}).find("furnace prune"), std::string::npos);
  EXPECT_EQ(failure_hint(FailureKind::unknown, {}), "");
}

TEST(BuildLog, recorded_logs_in_fixtures) {
  // Logs recorded from the test engine (tests/unit/fixtures/build_logs/<kind>.*.log).
  int seen = 0;
  for (const auto& e : fs::directory_iterator(k_logs)) {
    const std::string name = e.path().filename().string();
    const std::string kind = name.substr(0, name.find('.'));
    const FailureReport r = analyze_build_log(slurp(e.path()));
    const FailureKind want = kind == "mirror"     ? FailureKind::mirror_unreachable
                             : kind == "compiler" ? FailureKind::needs_compiler
                             : kind == "cuda"     ? FailureKind::cuda_needs_devel
                             : kind == "disk"     ? FailureKind::disk_full
                                                  : FailureKind::unknown;
    EXPECT_EQ(r.kind, want) << name;
    EXPECT_FALSE(r.step.empty()) << name;
    EXPECT_FALSE(r.tail.empty()) << name;
    for (const std::string& l : r.tail) {
      EXPECT_EQ(l.find('\x1b'), std::string::npos) << name << ": " << l; // no colour codes
      EXPECT_LE(l.size(), 240U) << name;
    }
    ++seen;
  }
  EXPECT_GE(seen, 1);
}

TEST(BuildLog, log_path_follows_xdg_data_home) {
  EXPECT_EQ(log_path({{"HOME", "/home/a"}}, "mnist", "0123456789ab"),
            "/home/a/.local/share/furnace/logs/build-mnist-0123456789ab.log");
  EXPECT_EQ(log_path({{"HOME", "/home/a"}, {"XDG_DATA_HOME", "/d"}}, "x", "h"),
            "/d/furnace/logs/build-x-h.log");
}

TEST(ProcessStreaming, on_output_sees_stdout_and_stderr_in_order) {
  util::SystemRunner runner;
  util::ProcessOptions o;
  std::string seen;
  o.on_output = [&seen](std::string_view chunk) { seen += chunk; };
  auto r = runner.run({"sh", "-c", "echo one; echo two >&2; echo three; exit 3"}, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status.code, 3);
  EXPECT_EQ(seen, "one\ntwo\nthree\n");
  EXPECT_EQ(r->out, "");
  EXPECT_EQ(r->err, "");
}

} // namespace
} // namespace furnace::image

namespace furnace::image {
namespace {

TEST(StepTracker, reports_each_buildkit_step_once_across_chunk_boundaries) {
  StepTracker t;
  std::vector<std::string> seen;
  const std::string out = "#1 [internal] load build definition from Dockerfile\n"
                          "#1 DONE 0.0s\n"
                          "#5 [stage-0 1/3] FROM docker.io/pytorch/pytorch:1.13.1\n"
                          "#6 [stage-0 2/3] RUN apt-get update\n"
                          "#6 0.512 Get:1 bookworm InRelease\n"
                          "#6 [stage-0 2/3] RUN apt-get update\n"
                          "#6 DONE 3.1s\n"
                          "#7 [stage-0 3/3] RUN pip install -r requirements.txt\n";
  // Feed it in awkward pieces: titles must survive being cut mid-line.
  for (std::size_t i = 0; i < out.size(); i += 7) {
    for (auto& s : t.feed(std::string_view(out).substr(i, 7))) {
      seen.push_back(s);
    }
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{"[stage-0 1/3] FROM docker.io/pytorch/pytorch:1.13.1",
                                      "[stage-0 2/3] RUN apt-get update",
                                      "[stage-0 3/3] RUN pip install -r requirements.txt"}));
}

TEST(StepTracker, reports_legacy_builder_steps) {
  StepTracker t;
  auto seen = t.feed("Sending build context to Docker daemon  2.048kB\r\n"
                     "Step 1/8 : FROM pytorch/pytorch:1.13.1\n ---> 3d2676b6022c\n"
                     "Step 2/8 : RUN apt-get update\n ---> Running in 2a5c5bf479e9\n");
  EXPECT_EQ(seen,
            (std::vector<std::string>{"Step 1/8 : FROM pytorch/pytorch:1.13.1",
                                      "Step 2/8 : RUN apt-get update"}));
  EXPECT_TRUE(t.feed("Get:1 http://archive bookworm InRelease\n").empty());
}

} // namespace
} // namespace furnace::image
