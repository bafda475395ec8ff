// furnace build's pure core: golden Dockerfiles, the content hash, the apt mirror rewrite on real
// sources files (Debian 12 deb822, Ubuntu 20.04/22.04 one-line, 24.04 deb822), the apt table.

#include <furnace/dockerfile/apt_for_pip.hpp>
#include <furnace/dockerfile/apt_mirror.hpp>
#include <furnace/image/builder.hpp>
#include <furnace/dockerfile/dockerfile.hpp>
#include <furnace/util/atomic_file.hpp>

#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace furnace::image {
namespace {

using namespace furnace::dockerfile; // NOLINT(google-build-using-namespace): the renderer under test

namespace fs = std::filesystem;

const fs::path k_golden = fs::path(FURNACE_SOURCE_DIR) / "tests/unit/golden";
const fs::path k_fixtures = fs::path(FURNACE_SOURCE_DIR) / "tests/unit/fixtures/apt";

bool updating() {
  const char* u = std::getenv("FURNACE_UPDATE_GOLDEN");  // NOLINT(concurrency-mt-unsafe)
  return u != nullptr && std::string(u) == "1";
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Compares `actual` with golden/`name`; FURNACE_UPDATE_GOLDEN=1 rewrites it (and skips).
void expect_golden(const std::string& name, const std::string& actual) {
  const fs::path p = k_golden / name;
  if (updating()) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << actual;
    GTEST_SKIP() << "rewrote " << p;
  }
  ASSERT_TRUE(fs::exists(p)) << p << " missing: run with FURNACE_UPDATE_GOLDEN=1";
  EXPECT_EQ(slurp(p), actual) << "golden " << p << " differs (FURNACE_UPDATE_GOLDEN=1 rewrites it)";
}

resolve::Package pkg(std::string name, std::string specifier, std::string source, bool from_image = false) {
  resolve::Package p;
  p.name = std::move(name);
  p.specifier = std::move(specifier);
  p.source = std::move(source);
  p.from_image = from_image;
  return p;
}

RenderInput torch_project() {
  RenderInput in;
  in.furnace_version = "test";
  in.plan.framework = "pytorch";
  in.plan.framework_version = "1.13.1";
  in.plan.python = "3.10";
  in.plan.cuda = "11.6";
  in.plan.base_image = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";
  in.plan.ok = true;
  in.plan.packages = {pkg("torch", "==1.13.1+cu116", "requirements.txt:1", true),
                      pkg("opencv-python", ">=4.5", "requirements.txt:2"),
                      pkg("numpy", "", "requirements.txt:3"),
                      pkg("tqdm", "", "README.md:9")};
  return in;
}

std::string render_text(const RenderInput& in, Mode mode) {
  auto r = render(in, mode);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  if (!r) {
    return {};
  }
  std::string out = r->dockerfile;
  for (const auto& [name, content] : r->context) {
    out += "\n==> context/" + name + " <==\n" + content;
  }
  return out;
}

TEST(BuildDockerfile, torch_requirements_buildkit) {
  expect_golden("dockerfile/torch_requirements.buildkit", render_text(torch_project(), Mode::buildkit));
}

TEST(BuildDockerfile, torch_requirements_legacy) {
  const std::string text = render_text(torch_project(), Mode::legacy);
  EXPECT_EQ(text.find("--mount"), std::string::npos);
  expect_golden("dockerfile/torch_requirements.legacy", text);
}

// `-r extra.txt` (a name of no known kind): its packages are installed too, also when furnace.yaml
// lists the including requirements file; an environment file alone does not take them.
TEST(BuildDockerfile, packages_of_an_included_file_are_installed) {
  RenderInput in = torch_project();
  in.plan.packages.push_back(pkg("einops", "==0.6.1", "extra.txt:1"));
  EXPECT_NE(render_text(in, Mode::buildkit).find("\neinops==0.6.1\n"), std::string::npos);
  in.yaml.requirements = std::vector<std::string>{"requirements.txt"};
  EXPECT_NE(render_text(in, Mode::buildkit).find("\neinops==0.6.1\n"), std::string::npos);
  in.yaml.requirements = std::vector<std::string>{"environment.yml"};
  EXPECT_EQ(render_text(in, Mode::buildkit).find("einops"), std::string::npos);
}

TEST(BuildDockerfile, mirrors_jupyter_and_extras) {
  RenderInput in = torch_project();
  in.apt_mirror = "https://mirrors.tuna.tsinghua.edu.cn";
  in.pip_mirror = "https://pypi.tuna.tsinghua.edu.cn/simple";
  in.yaml.apt = {"ffmpeg", "libgl1"};
  in.yaml.pip = {"einops>=0.6", "soundfile"};
  in.yaml.jupyter = true;
  in.yaml.workdir = "/work";
  expect_golden("dockerfile/tuna_jupyter.buildkit", render_text(in, Mode::buildkit));
}

TEST(BuildDockerfile, http_pip_mirror_is_trusted_host) {
  RenderInput in = torch_project();
  in.pip_mirror = "http://pypi.lab.local:3141/root/pypi/+simple";
  in.apt_mirror = "http://mirror.lab.local";
  expect_golden("dockerfile/http_mirror.legacy", render_text(in, Mode::legacy));
}

TEST(BuildDockerfile, ubuntu_cuda_base_installs_framework_from_index) {
  RenderInput in;
  in.furnace_version = "test";
  in.plan.framework = "pytorch";
  in.plan.framework_version = "2.1.0";
  in.plan.base_image = "nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04";
  in.plan.pip_index = "https://download.pytorch.org/whl/cu118";
  in.plan.ok = true;
  in.plan.packages = {pkg("torch", "==2.1.0", "requirements.txt:1"),
                      pkg("pdf2image", "", "requirements.txt:2")};
  in.yaml.mirrors.apt = "ustc";
  in.apt_mirror = "https://mirrors.ustc.edu.cn";
  expect_golden("dockerfile/ubuntu_cuda_pip_framework.buildkit", render_text(in, Mode::buildkit));
}

// The project needs Python 3.11 and Ubuntu 22.04 ships 3.10: deadsnakes' 3.11 in a virtual
// environment first on PATH, before the framework is installed with it.
TEST(BuildDockerfile, a_python_the_base_lacks_is_installed_first) {
  RenderInput in;
  in.furnace_version = "test";
  in.plan.framework = "pytorch";
  in.plan.framework_version = "2.3.1";
  in.plan.python = "3.11";
  in.plan.python_source = "project";
  in.plan.python_install = true;
  in.plan.base_image = "nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04";
  in.plan.pip_index = "https://download.pytorch.org/whl/cu121";
  in.plan.ok = true;
  in.plan.packages = {pkg("torch", "==2.3.1", "requirements.txt:1")};
  const std::string text = render_text(in, Mode::buildkit);
  const std::size_t venv = text.find("python3.11 -m venv /opt/furnace/python");
  const std::size_t torch = text.find("torch==2.3.1");
  ASSERT_NE(venv, std::string::npos);
  ASSERT_NE(torch, std::string::npos);
  EXPECT_LT(venv, torch);
  EXPECT_NE(text.find("ENV VIRTUAL_ENV=/opt/furnace/python PATH=/opt/furnace/python/bin:$PATH"),
            std::string::npos);
  expect_golden("dockerfile/python_install.buildkit", text);
  in.plan.python_install = false;  // the image's own Python: no such step
  EXPECT_EQ(render_text(in, Mode::buildkit).find("deadsnakes"), std::string::npos);
}

TEST(BuildDockerfile, conda_environment_with_mirror) {
  RenderInput in = torch_project();
  in.plan.packages = {pkg("torch", "==1.13.1", "environment.yml:5", true),
                      pkg("scipy", "", "environment.yml:6")};
  in.yaml.conda = "environment.yml";
  in.conda_environment = "name: base\ndependencies:\n  - scipy\n";
  in.conda_mirror = "https://mirrors.tuna.tsinghua.edu.cn/anaconda";
  expect_golden("dockerfile/conda_tuna.buildkit", render_text(in, Mode::buildkit));
  expect_golden("dockerfile/conda_tuna.legacy", render_text(in, Mode::legacy));
}

TEST(BuildDockerfile, conda_without_conda_in_image_goes_to_pip) {
  RenderInput in = torch_project();
  in.yaml.base = "debian:bookworm";
  in.plan.packages = {pkg("scipy", "", "environment.yml:6")};
  in.yaml.conda = "environment.yml";
  auto r = render(in, Mode::buildkit);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->context.at("requirements.txt").substr(r->context.at("requirements.txt").find('\n') + 1),
            "scipy\n");
  ASSERT_EQ(r->notes.size(), 1U);
  EXPECT_EQ(r->notes[0], "debian:bookworm has no conda: the conda environment's packages are installed with pip");
}

TEST(BuildDockerfile, cuda_extensions_pick_devel) {
  RenderInput in = torch_project();
  in.cuda_extensions = true;
  in.plan.packages.clear();
  const std::string text = render_text(in, Mode::buildkit);
  EXPECT_NE(text.find("FROM pytorch/pytorch:1.13.1-cuda11.6-cudnn8-devel\n"), std::string::npos);
  expect_golden("dockerfile/devel_minimal.buildkit", text);
}

TEST(BuildDockerfile, explicit_base_with_apt_only) {
  RenderInput in;
  in.furnace_version = "test";
  in.yaml.base = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";
  in.yaml.apt = {"cowsay"};
  expect_golden("dockerfile/base_apt_only.buildkit", render_text(in, Mode::buildkit));
}

TEST(BuildDockerfile, refuses_a_pin_that_replaces_the_image_framework) {
  RenderInput in = torch_project();
  in.plan.packages = {pkg("torch", "==1.4.0", "requirements.txt:1")};
  auto r = render(in, Mode::buildkit);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "requirements.txt:1: 'torch==1.4.0' would replace the base image's torch 1.13.1 with "
            "another build");
  EXPECT_EQ(r.error().hint,
            "set 'version' in furnace.yaml to the version the project needs (the base image "
            "follows it), or remove the pin from requirements.txt");
}

TEST(BuildDockerfile, explicit_pytorch_base_protects_its_version) {
  RenderInput in;
  in.furnace_version = "test";
  in.yaml.base = "pytorch/pytorch:2.0.1-cuda11.7-cudnn8-runtime";
  in.plan.packages = {pkg("torch", ">=1.8", "requirements.txt:1"), pkg("torch", "@ https://x/torch-1.8.whl", "requirements.txt:2")};
  auto r = render(in, Mode::buildkit);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.rfind("requirements.txt:2: 'torch @ https://x/torch-1.8.whl' would replace the "
                                    "base image's torch 2.0.1", 0),
            0U)
      << r.error().message;
}

TEST(BuildDockerfile, no_base_is_an_error) {
  RenderInput in;
  auto r = render(in, Mode::buildkit);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "no base image: the resolver found no plan for this project");
}

TEST(BuildDockerfile, deterministic_and_hash_covers_inputs) {
  const RenderInput in = torch_project();
  auto a = render(in, Mode::buildkit);
  auto b = render(in, Mode::buildkit);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->dockerfile, b->dockerfile);
  const std::string h = content_hash(*a, "sha256:aaa");
  EXPECT_EQ(h, content_hash(*b, "sha256:aaa"));
  EXPECT_NE(h, content_hash(*a, "sha256:bbb"));
  Rendered c = *a;
  c.context["requirements.txt"] += "x\n";
  EXPECT_NE(h, content_hash(c, "sha256:aaa"));
  EXPECT_EQ(image_tag("mnist", h), "furnace/mnist:" + h.substr(0, 12));
}

TEST(BuildDockerfile, render_and_hash_are_fast) {
  const RenderInput in = torch_project();
  const auto start = std::chrono::steady_clock::now();
  constexpr int k_n = 200;
  for (int i = 0; i < k_n; ++i) {
    auto r = render(in, Mode::buildkit);
    ASSERT_TRUE(r.has_value());
    (void)content_hash(*r, "sha256:aaa");
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / k_n;
  std::cout << "render+hash: " << ms << " ms per spec\n";
  EXPECT_LT(ms, 2.0);
}

TEST(AptForPip, builtin_table_has_opencv_with_sources) {
  const AptForPip& t = builtin_apt_for_pip();
  ASSERT_TRUE(t.count("opencv-python"));
  EXPECT_EQ(t.at("opencv-python").apt[0], "libgl1");
  for (const auto& [name, need] : t) {
    EXPECT_FALSE(need.source.empty()) << name;
  }
}

TEST(Builder, commands_for_each_kind) {
  Builder b;
  b.docker = "docker";
  b.kind = BuilderKind::buildx;
  EXPECT_EQ(build_command(b, "furnace/x:1", "/c", {{"a", "b"}}).display,
            "docker buildx build --load -t furnace/x:1 --label a=b -f /c/Dockerfile /c");
  b.kind = BuilderKind::buildkit_env;
  EXPECT_EQ(build_command(b, "furnace/x:1", "/c", {}).display,
            "DOCKER_BUILDKIT=1 docker build -t furnace/x:1 -f /c/Dockerfile /c");
  b.kind = BuilderKind::legacy;
  EXPECT_EQ(build_command(b, "furnace/x:1", "/c", {}).display,
            "DOCKER_BUILDKIT=0 docker build -t furnace/x:1 --force-rm -f /c/Dockerfile /c");
}

TEST(Builder, network_goes_to_every_kind) {
  Builder b;
  b.docker = "docker";
  b.kind = BuilderKind::buildx;
  EXPECT_EQ(build_command(b, "furnace/x:1", "/c", {}, "host").display,
            "docker buildx build --load -t furnace/x:1 --network host -f /c/Dockerfile /c");
  b.kind = BuilderKind::buildkit_env;
  EXPECT_EQ(build_command(b, "furnace/x:1", "/c", {}, "host").display,
            "DOCKER_BUILDKIT=1 docker build -t furnace/x:1 --network host -f /c/Dockerfile /c");
  b.kind = BuilderKind::legacy;
  const BuildCommand legacy = build_command(b, "furnace/x:1", "/c", {}, "my-net");
  EXPECT_EQ(legacy.display,
            "DOCKER_BUILDKIT=0 docker build -t furnace/x:1 --network my-net --force-rm -f "
            "/c/Dockerfile /c");
  EXPECT_EQ(legacy.argv,
            (std::vector<std::string>{"docker",
                                      "build",
                                      "-t",
                                      "furnace/x:1",
                                      "--network",
                                      "my-net",
                                      "--force-rm",
                                      "-f",
                                      "/c/Dockerfile",
                                      "/c"}));
}

TEST(Builder, forced_by_environment) {
  util::SystemRunner runner;
  auto b = probe_builder(runner, {{"FURNACE_BUILDER", "legacy"}});
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->mode(), Mode::legacy);
  EXPECT_FALSE(probe_builder(runner, {{"FURNACE_BUILDER", "kaniko"}}).has_value());
}

// Runs the Dockerfile's own mirror command on a copy of a distribution's sources.
class AptMirror : public ::testing::TestWithParam<std::string> {};

TEST_P(AptMirror, rewrites_sources_files) {
  const testing::TempDir tmp;
  const fs::path root = fs::path(tmp.path()) / "root";
  fs::copy(k_fixtures / GetParam(), root, fs::copy_options::recursive);
  util::SystemRunner runner;
  auto r = runner.run({"sh", "-c", apt_mirror_script("https://mirrors.tuna.tsinghua.edu.cn/", root.string())}, {});
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->status.ok()) << r->err;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) {
      continue;
    }
    const std::string text = slurp(e.path());
    for (const char* old : {"deb.debian.org", "archive.ubuntu.com/ubuntu", "security.ubuntu.com/ubuntu"}) {
      EXPECT_EQ(text.find(std::string("http://") + old), std::string::npos) << e.path();
    }
    // No CA certificates in the fixture: the mirror is used over http.
    EXPECT_EQ(text.find("https://mirrors.tuna"), std::string::npos) << e.path();
    expect_golden("apt/" + GetParam() + "/" + fs::relative(e.path(), root).string(), text);
  }
}

INSTANTIATE_TEST_SUITE_P(Distributions, AptMirror,
                         ::testing::Values("debian12", "ubuntu2004", "ubuntu2204", "ubuntu2404"));

TEST(AptMirrorScript, keeps_https_when_the_image_has_ca_certificates) {
  const testing::TempDir tmp;
  const fs::path root = fs::path(tmp.path()) / "root";
  fs::copy(k_fixtures / "debian12", root, fs::copy_options::recursive);
  tmp.write("root/etc/ssl/certs/ca-certificates.crt", "x");
  util::SystemRunner runner;
  auto r = runner.run({"sh", "-c", apt_mirror_script("https://mirrors.ustc.edu.cn", root.string())}, {});
  ASSERT_TRUE(r && r->status.ok());
  const std::string text = slurp(root / "etc/apt/sources.list.d/debian.sources");
  EXPECT_NE(text.find("URIs: https://mirrors.ustc.edu.cn/debian\n"), std::string::npos) << text;
  EXPECT_NE(text.find("URIs: https://mirrors.ustc.edu.cn/debian-security\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# http://snapshot.debian.org/archive/debian/"), std::string::npos);
}

// A podman CLI is pointed at the engine furnace asks (else, for a user, it runs rootless in a
// store of its own); a CONTAINER_HOST the user set wins, and the docker CLI is left alone.
TEST(Builder, a_podman_cli_is_pointed_at_the_engine) {
  const std::string sock = "unix:///run/podman/podman.sock";
  core::Env env{{"FURNACE_DOCKER", "/usr/bin/podman"}, {"DOCKER_HOST", sock}};
  point_podman_cli_at_the_engine(env);
  EXPECT_EQ(env["CONTAINER_HOST"], sock);
  env = {{"FURNACE_DOCKER", "podman"}, {"DOCKER_HOST", sock}, {"CONTAINER_HOST", "unix:///x"}};
  point_podman_cli_at_the_engine(env);
  EXPECT_EQ(env["CONTAINER_HOST"], "unix:///x");
  env = {{"DOCKER_HOST", sock}};
  point_podman_cli_at_the_engine(env);
  EXPECT_EQ(env.count("CONTAINER_HOST"), 0U);
  env = {{"FURNACE_DOCKER", "podman"}};
  point_podman_cli_at_the_engine(env);
  EXPECT_EQ(env.count("CONTAINER_HOST"), 0U) << "no service named: podman's own default";
}

}  // namespace
}  // namespace furnace::image
