// Realistic projects of every era, each resolved for two hosts: an old lab server (driver
// 470.82.01, Tesla V100) and a new one (driver 590.48.01, H200). The GpuInfo is built directly;
// no probe runs. FURNACE_PRINT_PROJECTS=1 prints what each project resolves to.

#include <furnace/project/host_facts.hpp>
#include <furnace/resolve/resolver.hpp>
#include <furnace/deps/project.hpp>

#include "support/project_files.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace furnace;

struct Expect {
  const char* framework;  // "" = none
  const char* version;
  const char* cuda;  // "" = none
  const char* image;
  bool ok = true;
};

struct Project {
  const char* name;
  std::map<std::string, std::string> files;
  Expect old_host;
  Expect new_host;
};

gpu::GpuInfo host_info(const char* driver, int cuda, const char* gpu, int major, int minor) {
  gpu::GpuInfo info;
  info.source = "nvml";
  info.driver_version = driver;
  info.cuda_driver_version = cuda;
  gpu::Gpu g;
  g.name = gpu;
  g.cc_major = major;
  g.cc_minor = minor;
  info.gpus.push_back(g);
  return info;
}

resolve::Host old_host() {
  return *project::make_host(host_info("470.82.01", 11040, "Tesla V100-SXM2-32GB", 7, 0), {}, "",
                             resolve::builtin_tables());
}

resolve::Host new_host() {
  return *project::make_host(host_info("590.48.01", 13010, "NVIDIA H200", 9, 0), {}, "",
                             resolve::builtin_tables());
}


const std::vector<Project>& projects() {
  static const std::vector<Project> k = {
      // ---- PyTorch, 2018-2019 ----
      {"pytorch_0_4_pin",
       {{"requirements.txt", "torch==0.4.1\ntorchvision==0.2.1\nnumpy\nscipy==1.1.0\n"}},
       {"pytorch", "0.4.1", "9.0", "pytorch/pytorch:0.4.1-cuda9-cudnn7-runtime"},
       {"pytorch", "", "", "", false}},
      {"pytorch_1_0_conda",
       {{"environment.yml",
         "name: maskrcnn\nchannels:\n  - pytorch\n  - defaults\ndependencies:\n  - python=3.6\n"
         "  - pytorch=1.0.0\n  - torchvision\n  - cudatoolkit=10.0\n  - pip\n  - pip:\n"
         "    - yacs\n    - opencv-python\n"}},
       {"pytorch", "1.0.0", "10.0", "pytorch/pytorch:1.0-cuda10.0-cudnn7-runtime"},
       {"pytorch", "", "", "", false}},
      {"pytorch_1_1_readme_only",
       {{"README.md",
         "# Paper\n\n## Install\n\n```\nconda install pytorch=1.1 torchvision cudatoolkit=10.0 -c pytorch\n"
         "pip install tensorboardX\n```\n"}},
       {"pytorch", "1.1.0", "10.0", "pytorch/pytorch:1.1.0-cuda10.0-cudnn7.5-runtime"},
       // README lines cannot make a plan impossible: the first release after them that runs
       {"pytorch", "2.0.0", "11.8", "pytorch/pytorch:2.0.0-cuda11.8-cudnn8-runtime"}},
      {"pytorch_1_2_setup_py",
       {{"setup.py",
         "from setuptools import setup, find_packages\n\nREQUIRED = [\n    'torch==1.2.0',\n"
         "    'numpy>=1.16',\n    'tqdm',\n]\n\nsetup(\n    name='fancy',\n    version='0.1',\n"
         "    packages=find_packages(),\n    install_requires=REQUIRED,\n"
         "    python_requires='>=3.6',\n)\n"}},
       {"pytorch", "1.2.0", "10.0", "pytorch/pytorch:1.2-cuda10.0-cudnn7-runtime"},
       {"pytorch", "", "", "", false}},
      {"pytorch_1_3_dockerfile_only",
       {{"Dockerfile",
         "ARG PYTORCH=\"1.3\"\nARG CUDA=\"10.1\"\nARG CUDNN=\"7\"\n"
         "FROM pytorch/pytorch:${PYTORCH}-cuda${CUDA}-cudnn${CUDNN}-devel\n"
         "RUN apt-get update && apt-get install -y git\nRUN pip install mmcv==0.2.14\n"}},
       {"pytorch", "1.3.0", "10.1", "pytorch/pytorch:1.3-cuda10.1-cudnn7-devel"},
       // a Dockerfile chooses but cannot make a plan impossible: the first release that runs
       {"pytorch", "2.0.0", "11.8", "pytorch/pytorch:2.0.0-cuda11.8-cudnn8-devel"}},
      {"pytorch_1_4_pin",
       {{"requirements.txt", "torch==1.4.0\ntorchvision==0.5.0\nnumpy\npillow<7\n"}},
       {"pytorch", "1.4.0", "10.1", "pytorch/pytorch:1.4-cuda10.1-cudnn7-runtime"},
       {"pytorch", "", "", "", false}},
      {"pytorch_1_5_runtime_txt",
       {{"requirements.txt", "torch>=1.5,<1.6\nmatplotlib\n"}, {"runtime.txt", "python-3.7.9\n"}},
       {"pytorch", "1.5.1", "10.1", "pytorch/pytorch:1.5.1-cuda10.1-cudnn7-runtime"},
       {"pytorch", "", "", "", false}},
      {"pytorch_1_6_conda_pip_section",
       {{"environment.yaml",
         "name: env\ndependencies:\n  - python=3.8\n  - pip\n  - pip:\n    - torch==1.6.0\n"
         "    - torchvision==0.7.0\n    - pytorch-lightning==0.9.0\n"}},
       // python=3.8, and the 1.6.0 images ship 3.7: the wheel on NVIDIA's image
       {"pytorch", "1.6.0", "10.2", "nvidia/cuda:10.2-cudnn7-runtime-ubuntu18.04"},
       {"pytorch", "", "", "", false}},
      // ---- PyTorch, 2020-2022 ----
      {"pytorch_loose_1_7",
       {{"requirements.txt", "torch>=1.7\ntorchvision\ntqdm\n"}},
       // nothing else dates it: the release the lower bound names (late 2020) is its era
       {"pytorch", "1.7.1", "11.0", "pytorch/pytorch:1.7.1-cuda11.0-cudnn8-runtime"},
       {"pytorch", "2.0.0", "11.8", "pytorch/pytorch:2.0.0-cuda11.8-cudnn8-runtime"}},
      {"pytorch_cu111_pin",
       {{"requirements.txt",
         "-f https://download.pytorch.org/whl/torch_stable.html\ntorch==1.8.1+cu111\n"
         "torchvision==0.9.1+cu111\nopencv-python==4.5.1.48\n"}},
       {"pytorch", "1.8.1", "11.1", "pytorch/pytorch:1.8.1-cuda11.1-cudnn8-runtime"},
       {"pytorch", "", "", "", false}},
      {"pytorch_cu102_index_url",
       {{"requirements.txt",
         "--extra-index-url https://download.pytorch.org/whl/cu102\ntorch==1.9.0\n"
         "torchaudio==0.9.0\n"}},
       {"pytorch", "1.9.0", "10.2", "pytorch/pytorch:1.9.0-cuda10.2-cudnn7-runtime"},
       {"pytorch", "", "", "", false}},
      {"pytorch_1_10_detectron2",
       {{"requirements.txt",
         "torch==1.10.0\ntorchvision==0.11.1\n"
         "git+https://github.com/facebookresearch/detectron2.git#egg=detectron2\n"}},
       {"pytorch", "1.10.0", "11.3", "pytorch/pytorch:1.10.0-cuda11.3-cudnn8-devel"},
       {"pytorch", "", "", "", false}},
      {"pytorch_1_10_2_no_image",
       {{"requirements.txt", "torch==1.10.2\n"}},
       {"pytorch", "1.10.2", "11.3", "nvidia/cuda:11.3.1-cudnn8-runtime-ubuntu20.04"},
       {"pytorch", "", "", "", false}},
      {"pytorch_1_11_includes",
       {{"requirements.txt", "-r requirements/base.txt\n-c requirements/constraints.txt\n"},
        {"requirements/base.txt", "torch\ntorchvision\nalbumentations\n"},
        {"requirements/constraints.txt", "torch==1.11.0\n"}},
       {"pytorch", "1.11.0", "11.3", "pytorch/pytorch:1.11.0-cuda11.3-cudnn8-runtime"},
       {"pytorch", "", "", "", false}},
      {"pytorch_1_12_pyproject_poetry",
       {{"pyproject.toml",
         "[tool.poetry]\nname = \"proj\"\nversion = \"0.1.0\"\n\n[tool.poetry.dependencies]\n"
         "python = \"^3.8\"\ntorch = \"~1.12.1\"\nnumpy = \"^1.22\"\n"}},
       // ^3.8, and the 1.12 images ship 3.7: Ubuntu 20.04's 3.8 under the cu113 wheel
       {"pytorch", "1.12.1", "11.3", "nvidia/cuda:11.3.1-cudnn8-runtime-ubuntu20.04"},
       {"pytorch", "", "", "", false}},
      {"pytorch_1_13_pyproject_pep621",
       {{"pyproject.toml",
         "[project]\nname = \"proj\"\nrequires-python = \">=3.8\"\ndependencies = [\n"
         "  \"torch==1.13.1\",\n  \"transformers>=4.25\",\n]\n\n[project.optional-dependencies]\n"
         "dev = [\"pytest\"]\n"}},
       {"pytorch", "1.13.1", "11.7", "pytorch/pytorch:1.13.1-cuda11.7-cudnn8-runtime"},
       {"pytorch", "", "", "", false}},
      {"pytorch_lightning_only",
       {{"requirements.txt", "pytorch-lightning==1.9.0\nwandb\n"}},
       // pytorch-lightning 1.9.0 (January 2023) dates the project: the torch of that time
       {"pytorch", "2.0.0", "11.7", "pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime"},
       {"pytorch", "2.0.0", "11.8", "pytorch/pytorch:2.0.0-cuda11.8-cudnn8-runtime"}},
      {"pytorch_mmcv_full",
       {{"requirements.txt", "torch==1.9.0\ntorchvision==0.10.0\nmmcv-full==1.3.9\nmmdet==2.14.0\n"}},
       {"pytorch", "1.9.0", "11.1", "pytorch/pytorch:1.9.0-cuda11.1-cudnn8-devel"},
       {"pytorch", "", "", "", false}},
      // ---- PyTorch, 2023- ----
      {"pytorch_2_0_conda_pytorch_cuda",
       {{"environment.yml",
         "name: llm\nchannels:\n  - pytorch\n  - nvidia\ndependencies:\n  - python=3.10\n"
         "  - pytorch::pytorch=2.0.0\n  - pytorch-cuda=11.7\n  - pip:\n    - transformers==4.28.0\n"}},
       {"pytorch", "2.0.0", "11.7", "pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime"},
       {"pytorch", "", "", "", false}},
      {"pytorch_2_0_1_h200",
       {{"requirements.txt", "torch==2.0.1\naccelerate\n"}},
       {"pytorch", "2.0.1", "11.8", "pytorch/pytorch:2.0.1-cuda11.8-cudnn8-runtime"},
       {"pytorch", "2.0.1", "11.8", "pytorch/pytorch:2.0.1-cuda11.8-cudnn8-runtime"}},
      {"pytorch_2_1_cu121_index",
       {{"requirements.txt",
         "--index-url https://download.pytorch.org/whl/cu121\ntorch==2.1.2\ntorchvision==0.16.2\n"}},
       {"pytorch", "", "", "", false},
       {"pytorch", "2.1.2", "12.1", "pytorch/pytorch:2.1.2-cuda12.1-cudnn8-runtime"}},
      {"pytorch_2_x_range_uv",
       {{"pyproject.toml",
         "[project]\nname = \"x\"\nrequires-python = \">=3.10\"\ndependencies = [\"torch>=2.2,<2.6\"]\n\n"
         "[[tool.uv.index]]\nname = \"pytorch-cu124\"\nurl = \"https://download.pytorch.org/whl/cu124\"\n"
         "\n[tool.uv.sources]\ntorch = { index = \"pytorch-cu124\" }\n"}},
       {"pytorch", "", "", "", false},
       {"pytorch", "2.4.0", "12.4", "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime"}},
      {"pytorch_torchvision_only",
       {{"requirements.txt", "torchvision==0.15.2\npillow\n"}},
       {"pytorch", "2.0.1", "11.8", "pytorch/pytorch:2.0.1-cuda11.8-cudnn8-runtime"},
       {"pytorch", "2.0.1", "11.8", "pytorch/pytorch:2.0.1-cuda11.8-cudnn8-runtime"}},
      {"pytorch_pipfile",
       {{"Pipfile",
         "[[source]]\nurl = \"https://pypi.org/simple\"\nverify_ssl = true\nname = \"pypi\"\n\n"
         "[packages]\ntorch = \"==2.3.1\"\nnumpy = \"*\"\n\n[dev-packages]\npytest = \"*\"\n\n"
         "[requires]\npython_version = \"3.11\"\n"}},
       // Python 3.11, and the 2.3 images ship 3.10
       {"pytorch", "2.3.1", "11.8", "nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04"},
       {"pytorch", "2.3.1", "12.1", "nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04"}},
      {"pytorch_setup_cfg",
       {{"setup.cfg",
         "[metadata]\nname = thing\n\n[options]\npython_requires = >=3.9\ninstall_requires =\n"
         "    torch>=2.4\n    einops\n"}},
       {"pytorch", "2.5.0", "11.8", "pytorch/pytorch:2.5.0-cuda11.8-cudnn9-runtime"},
       {"pytorch", "2.5.0", "12.4", "pytorch/pytorch:2.5.0-cuda12.4-cudnn9-runtime"}},
      {"pytorch_2_8_cu128_pin",
       {{"requirements.txt", "torch==2.8.0+cu128\n"}},
       {"pytorch", "", "", "", false},
       {"pytorch", "2.8.0", "12.8", "pytorch/pytorch:2.8.0-cuda12.8-cudnn9-runtime"}},
      {"pytorch_python_version_file",
       {{"requirements.txt", "torch\n"}, {".python-version", "3.9.18\n"}},
       // .python-version 3.9, and the images ship 3.11
       {"pytorch", "2.7.1", "11.8", "nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04"},
       {"pytorch", "2.8.0", "12.8", "nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04"}},
      {"pytorch_with_tensorboard_tf",
       {{"requirements.txt", "torch==1.13.1\ntorchvision==0.14.1\ntensorflow==2.11.0\n"}},
       {"pytorch", "1.13.1", "11.7", "pytorch/pytorch:1.13.1-cuda11.7-cudnn8-runtime"},
       {"pytorch", "", "", "", false}},
      {"pytorch_commented_old_pin",
       {{"requirements.txt", "# torch==1.4.0\ntorch==2.1.0  # upgraded\n"}},
       {"pytorch", "2.1.0", "11.8", "pytorch/pytorch:2.1.0-cuda11.8-cudnn8-runtime"},
       {"pytorch", "2.1.0", "12.1", "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-runtime"}},
      // ---- TensorFlow ----
      {"tf_1_4_keras_2_0",
       {{"requirements.txt", "tensorflow-gpu==1.4.0\nkeras==2.0.8\nh5py\n"}},
       {"tensorflow", "", "", "", false},
       {"tensorflow", "", "", "", false}},
      {"tf_keras_2_2_only",
       {{"requirements.txt", "keras==2.2.4\nnumpy==1.16.4\n"}},
       // numpy 1.16.4 (2019) dates it: the TensorFlow 1.x of early 2019
       {"tensorflow", "1.13.1", "10.0", "tensorflow/tensorflow:1.13.1-gpu-py3"},
       {"tensorflow", "", "", "", false}},
      {"tf_1_14_cpu_package",
       {{"requirements.txt", "tensorflow==1.14.0\n"}},
       {"tensorflow", "1.14.0", "10.0", "tensorflow/tensorflow:1.14.0-gpu-py3"},
       {"tensorflow", "", "", "", false}},
      {"tf_1_15_conda",
       {{"environment.yml",
         "name: tf1\ndependencies:\n  - python=3.7\n  - tensorflow-gpu=1.15\n  - cudatoolkit=10.0\n"
         "  - cudnn=7.6\n"}},
       // python=3.7; the 1.15 images ship 2.7 and 3.6
       {"tensorflow", "1.15.0", "10.0", "nvidia/cuda:10.0-cudnn7-runtime-ubuntu18.04"},
       {"tensorflow", "", "", "", false}},
      {"tf_1_13_dockerfile",
       {{"Dockerfile", "FROM tensorflow/tensorflow:1.13.1-gpu-py3\nCOPY . /app\n"}},
       {"tensorflow", "1.13.1", "10.0", "tensorflow/tensorflow:1.13.1-gpu-py3"},
       {"tensorflow", "2.12.0", "11.8", "tensorflow/tensorflow:2.12.0-gpu"}},
      {"tf_2_1_readme",
       {{"README.md", "Requirements: `pip install tensorflow-gpu==2.1.0 pillow`\n"}},
       {"tensorflow", "2.1.0", "10.1", "tensorflow/tensorflow:2.1.0-gpu-py3"},
       {"tensorflow", "2.12.0", "11.8", "tensorflow/tensorflow:2.12.0-gpu"}},
      {"tf_2_4_patch_pin",
       {{"requirements.txt", "tensorflow==2.4.1\ntensorflow-addons==0.12.1\n"}},
       {"tensorflow", "2.4.1", "11.0", "tensorflow/tensorflow:2.4.1-gpu"},
       {"tensorflow", "", "", "", false}},
      {"tf_2_x_range",
       {{"requirements.txt", "tensorflow>=2.8,<2.12\n"}},
       {"tensorflow", "2.8.0", "11.2", "tensorflow/tensorflow:2.8.0-gpu"},
       {"tensorflow", "", "", "", false}},
      {"tf_and_cuda",
       {{"requirements.txt", "tensorflow[and-cuda]==2.15.0\n"}},
       {"tensorflow", "", "", "", false},
       {"tensorflow", "2.15.0", "12.2", "tensorflow/tensorflow:2.15.0-gpu"}},
      {"tf_latest_loose",
       {{"requirements.txt", "tensorflow\nkeras>=3\n"}},
       {"tensorflow", "", "", "", false},
       // keras>=3 (November 2023) dates it: the first TensorFlow of Keras 3
       {"tensorflow", "2.16.1", "12.3", "tensorflow/tensorflow:2.16.1-gpu"}},
      {"tf_code_imports_with_both",
       {{"requirements.txt", "tensorflow==2.6.0\ntorch==1.9.0\n"},
        {"train.py", "import tensorflow as tf\nfrom tensorflow import keras\n"},
        {"model.py", "import tensorflow as tf\n"},
        {"utils.py", "import tensorflow.compat.v1 as tf\n"}},
       {"tensorflow", "2.6.0", "11.2", "tensorflow/tensorflow:2.6.0-gpu"},
       {"tensorflow", "", "", "", false}},
      // ---- JAX, none, mixed ----
      {"jax_cuda12",
       {{"requirements.txt", "jax[cuda12]==0.4.30\nflax\noptax\n"}},
       {"jax", "", "", "", false},
       {"jax", "0.4.30", "12.1", "nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04"}},
      {"no_framework",
       {{"requirements.txt", "numpy\npandas\nscikit-learn==1.3.0\n"}},
       {"", "", "", "python:3.12-slim"},
       {"", "", "", "python:3.12-slim"}},
      {"nvidia_cuda_dockerfile_with_pip",
       {{"Dockerfile",
         "FROM nvidia/cuda:11.3.1-cudnn8-devel-ubuntu20.04\nRUN pip3 install torch==1.12.1+cu113 "
         "--extra-index-url https://download.pytorch.org/whl/cu113\n"}},
       {"pytorch", "1.12.1", "11.3", "pytorch/pytorch:1.12.1-cuda11.3-cudnn8-devel"},
       {"pytorch", "2.0.0", "11.8", "pytorch/pytorch:2.0.0-cuda11.8-cudnn8-devel"}},
      {"readme_conflicts_with_requirements",
       {{"requirements.txt", "torch==2.2.2\n"},
        {"INSTALL.md", "pip install torch==1.4.0\n"}},
       {"pytorch", "2.2.2", "11.8", "pytorch/pytorch:2.2.2-cuda11.8-cudnn8-runtime"},
       {"pytorch", "2.2.2", "12.1", "pytorch/pytorch:2.2.2-cuda12.1-cudnn8-runtime"}},
      {"markers_pick_by_python",
       {{"requirements.txt",
         "torch==2.4.1; python_version >= \"3.8\"\ntorch==1.4.0; python_version < \"3.8\"\n"},
        {"runtime.txt", "python-3.10\n"}},
       // Python 3.10, and the 2.4 images ship 3.11
       {"pytorch", "2.4.1", "11.8", "nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04"},
       {"pytorch", "2.4.1", "12.1", "nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04"}},
  };
  return k;
}

void check(const Project& p, const Expect& want, const resolve::Host& host, const char* label) {
  const deps::Spec s = furnace::testing::parse_files(p.files);
  const resolve::Plan plan = resolve::resolve(s, host, {});
  const std::string framework = plan.framework.value_or("");
  if (std::getenv("FURNACE_PRINT_PROJECTS") != nullptr) {
    std::cout << p.name << " [" << label << "] " << framework << " " << plan.framework_version
              << " cuda=" << plan.cuda.value_or("") << " " << plan.base_image
              << " ok=" << plan.ok << "\n";
    for (const resolve::Reason& r : plan.reasons) {
      std::cout << "    - " << r.message << "\n";
    }
    for (const resolve::Warning& w : plan.warnings) {
      std::cout << "    ! " << w.code << ": " << w.message << "\n";
    }
  }
  SCOPED_TRACE(std::string(p.name) + " on the " + label + " host");
  EXPECT_EQ(plan.ok, want.ok);
  EXPECT_EQ(framework, want.framework);
  if (want.ok) {
    EXPECT_EQ(plan.framework_version, want.version);
    EXPECT_EQ(plan.cuda.value_or(""), want.cuda);
    EXPECT_EQ(plan.base_image, want.image);
  } else {
    EXPECT_FALSE(plan.alternatives.empty()) << "a failed plan names alternatives";
  }
}

class ResolveProjects : public ::testing::TestWithParam<std::size_t> {};

TEST_P(ResolveProjects, old_driver_v100_and_new_driver_h200) {
  const Project& p = projects()[GetParam()];
  check(p, p.old_host, old_host(), "old V100");
  check(p, p.new_host, new_host(), "new H200");
}

INSTANTIATE_TEST_SUITE_P(Table, ResolveProjects, ::testing::Range<std::size_t>(0, projects().size()),
                         [](const ::testing::TestParamInfo<std::size_t>& param_info) {
                           return std::string(projects()[param_info.param].name);
                         });

TEST(ResolveProjects, table_has_at_least_forty_projects) { EXPECT_GE(projects().size(), 40U); }

}  // namespace
