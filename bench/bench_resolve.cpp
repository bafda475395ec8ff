// Resolving a typical project: a few hundred lines of dependency files (requirements with
// includes, a conda file, setup.py, pyproject.toml, a Dockerfile, a README), in memory, for an
// H200 host. Target: well under 5 ms of CPU per resolve.

#include <furnace/project/host_facts.hpp>
#include <furnace/resolve/resolver.hpp>
#include <furnace/deps/project.hpp>

#include <benchmark/benchmark.h>

#include <map>
#include <string>

namespace {

using namespace furnace;

std::map<std::string, std::string> typical_project() {
  std::map<std::string, std::string> f;
  std::string req = "# core\n-r requirements/base.txt\n-c requirements/constraints.txt\n"
                    "--extra-index-url https://download.pytorch.org/whl/cu118\n"
                    "torch>=1.13,<2.3\ntorchvision>=0.14\n";
  std::string base;
  for (int i = 0; i < 120; ++i) {
    base += "package-" + std::to_string(i) + ">=1." + std::to_string(i % 10) + ",<3 ; python_version >= \"3.7\"\n";
    if (i % 10 == 0) {
      base += "# a comment line\n";
    }
  }
  f["requirements.txt"] = req;
  f["requirements/base.txt"] = base;
  f["requirements/constraints.txt"] = "numpy<2\nprotobuf<4\n";
  f["environment.yml"] = "name: x\nchannels:\n  - pytorch\n  - nvidia\ndependencies:\n  - python=3.10\n"
                         "  - pip\n  - pip:\n    - -r requirements.txt\n    - wandb\n";
  f["setup.py"] = "from setuptools import setup\nREQ = ['numpy', 'scipy', 'tqdm']\n"
                  "setup(name='x', install_requires=REQ + ['einops'], python_requires='>=3.8')\n";
  std::string py = "[project]\nname = \"x\"\nrequires-python = \">=3.8\"\ndependencies = [\n";
  for (int i = 0; i < 60; ++i) {
    py += "  \"dep-" + std::to_string(i) + ">=0." + std::to_string(i) + "\",\n";
  }
  py += "]\n[project.optional-dependencies]\ndev = [\"pytest\", \"black\"]\n";
  f["pyproject.toml"] = py;
  f["Dockerfile"] = "ARG CUDA=11.8.0\nFROM nvidia/cuda:${CUDA}-cudnn8-devel-ubuntu22.04\n"
                    "RUN pip install --no-cache-dir -r requirements.txt\n";
  std::string readme = "# Paper\n\n";
  for (int i = 0; i < 80; ++i) {
    readme += "Some prose about the method, line " + std::to_string(i) + ".\n";
  }
  readme += "```\npip install -r requirements.txt\nconda install pytorch=2.1 -c pytorch\n```\n";
  f["README.md"] = readme;
  return f;
}

resolve::Host h200() {
  gpu::GpuInfo info;
  info.source = "nvml";
  info.driver_version = "550.54.15";
  info.cuda_driver_version = 12040;
  gpu::Gpu g;
  g.name = "NVIDIA H200";
  g.cc_major = 9;
  for (unsigned i = 0; i < 8; ++i) {
    g.index = i;
    info.gpus.push_back(g);
  }
  return *project::make_host(info, {}, "", resolve::builtin_tables());
}

void BM_ResolveTypicalProject(benchmark::State& state) {
  const auto files = typical_project();
  std::vector<std::string> names;
  for (const auto& [name, text] : files) {
    (void)text;
    names.push_back(name);
  }
  const deps::FileReader read = [&files](const std::string& path) -> core::Result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) {
      return core::fail(core::ErrorKind::not_found, "no such file");
    }
    return it->second;
  };
  const resolve::Host host = h200();
  (void)resolve::builtin_tables();  // parsed once per process, as in furnace itself
  for (auto _ : state) {
    const deps::Spec s = deps::parse_project(names, read);
    const resolve::Plan plan = resolve::resolve(s, host, {});
    benchmark::DoNotOptimize(plan.base_image.data());
  }
}
BENCHMARK(BM_ResolveTypicalProject)->Unit(benchmark::kMicrosecond);

void BM_ParseCompatTables(benchmark::State& state) {
  const std::string torch = resolve::embedded_csv("torch");
  const std::string tf = resolve::embedded_csv("tensorflow");
  const std::string cuda = resolve::embedded_csv("cuda");
  const std::string gpus = resolve::embedded_csv("gpus");
  for (auto _ : state) {
    auto t = resolve::parse_tables(torch, tf, cuda, gpus);
    benchmark::DoNotOptimize(t.has_value());
  }
}
BENCHMARK(BM_ParseCompatTables)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
