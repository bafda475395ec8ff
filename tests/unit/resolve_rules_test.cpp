// One minimal project per rule of `furnace resolve` on real papers: Python pins at patch level,
// environment.yml lines that are not conda specs, companion packages by minor series, README
// prose and alternatives, API calls in the code, the project's era, Dockerfiles anywhere (NGC,
// nvidia/cuda), wheel URLs, releases the old tables lacked, deep layouts and the Python the
// chosen image ships. Every plan is for a host without a GPU, like a laptop or CI.

#include "support/project_files.hpp"

#include <furnace/project/host_facts.hpp>
#include <furnace/resolve/compat.hpp>
#include <furnace/resolve/report.hpp>
#include <furnace/resolve/resolver.hpp>
#include <furnace/deps/parsers.hpp>
#include <furnace/deps/project.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace {

using namespace furnace;
using namespace furnace::resolve;
using Files = std::map<std::string, std::string>;

Host no_gpu() {
  core::Result<gpu::GpuInfo> none = core::fail(core::ErrorKind::not_found, "no driver");
  return *project::make_host(none, {}, "", builtin_tables());
}

Plan plan_for(const Files& files, const Overrides& o = {}) {
  return resolve::resolve(furnace::testing::parse_files(files), no_gpu(), o);
}

Plan plan_dated(const Files& files, const std::string& date) {
  deps::Spec s = furnace::testing::parse_files(files);
  s.facts.push_back(deps::Fact{deps::FactKind::date,
                               date,
                               deps::Location{".git", 0},
                               deps::Confidence::high,
                               "the git HEAD commit"});
  return resolve::resolve(s, no_gpu(), {});
}

bool has_warning(const Plan& p, const std::string& code) {
  for (const Warning& w : p.warnings) {
    if (w.code == code) {
      return true;
    }
  }
  return false;
}

bool minor_in(const std::string& version, const std::string& prefix) {
  return version.rfind(prefix, 0) == 0;
}

// 1. A patch level never decides which Python.
TEST(ResolveRules, exact_python_pins_choose_the_minor) {
  const Plan p =
      plan_for({{"environment.yml", "dependencies:\n  - python=3.9.7\n  - pytorch=1.10\n"}});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.python, "3.9");
  EXPECT_TRUE(minor_in(p.framework_version, "1.10"));
  const Plan q = plan_for(
      {{"README.md", "conda create -n x python=3.6.9\n"}, {"requirements.txt", "torch==1.4.0\n"}});
  ASSERT_TRUE(q.ok);
  // the 1.4 image ships 3.7; the README's 3.6 is met by the cu101 wheel on Ubuntu 18.04
  EXPECT_EQ(q.python, "3.6");
  EXPECT_EQ(q.base_image, "nvidia/cuda:10.1-cudnn7-runtime-ubuntu18.04");
}

// 2. Lines of environment.yml that are not conda specs are read or skipped, never constraints.
TEST(ResolveRules, environment_yml_pip_sections_channels_and_build_strings) {
  const Plan p = plan_for(
      {{"environment.yml",
        "channels: [pytorch]\ndependencies:\n  - "
        "pytorch::pytorch=1.7.1=py3.8_cuda11.0.221_cudnn8.0.5_0\n"
        "  - conda-forge::numpy\n  - pip\n  - pip:\n    - -e .\n"
        "    - git+https://github.com/example/lib.git\n"
        "    - --extra-index-url https://download.pytorch.org/whl/cu110\n    - timm==0.4.12\n"}});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.framework_version, "1.7.1");
  EXPECT_EQ(p.cuda.value_or(""), "11.0"); // from the build string
  EXPECT_EQ(p.python, "3.8");             // from the build string
  EXPECT_FALSE(has_warning(p, "parse_error"));
  bool timm = false;
  for (const Package& pk : p.packages) {
    timm = timm || (pk.name == "timm" && pk.specifier == "==0.4.12");
  }
  EXPECT_TRUE(timm);
}

// 3. torchvision goes with torch by the minor series released with it.
TEST(ResolveRules, companion_patch_mismatch_is_a_warning) {
  const Plan p = plan_for({{"requirements.txt", "torch==1.8.0\ntorchvision==0.9.1\n"}});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.framework_version, "1.8.0");
  EXPECT_TRUE(has_warning(p, "companion_mismatch"));
}

TEST(ResolveRules, keras_2_3_means_tensorflow_1_14_to_2_1) {
  const Plan p = plan_for({{"requirements.txt", "keras==2.3.1\n"}});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.framework.value_or(""), "tensorflow");
  const auto v = deps::parse_version(p.framework_version);
  ASSERT_TRUE(v);
  EXPECT_FALSE(*v < *deps::parse_version("1.14"));
  EXPECT_TRUE(*v < *deps::parse_version("2.2"));
}

TEST(ResolveRules, jaxlib_pin_chooses_and_does_not_exclude) {
  const Plan p = plan_for({{"requirements.txt", "jax==0.2.8\njaxlib==0.1.59\nflax==0.3.0\n"}});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.framework.value_or(""), "jax");
  EXPECT_EQ(p.framework_version, "0.2.8");
}

// 4. README prose decides when the files name no version.
TEST(ResolveRules, readme_prose_names_the_version) {
  const Plan p = plan_for({{"README.md", "## Requirements\n- Python 3.6\n- PyTorch 1.0\n"},
                           {"train.py", "import torch\n"}});
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(minor_in(p.framework_version, "1.0")) << p.framework_version;
  const Plan t = plan_for({{"README.md", "Tested on [TensorFlow r1.3](https://example.org).\n"},
                           {"model.py", "import tensorflow as tf\n"}});
  ASSERT_TRUE(t.ok);
  EXPECT_TRUE(minor_in(t.framework_version, "1.3")) << t.framework_version;
}

TEST(ResolveRules, readme_prose_chooses_within_the_files_range_but_cannot_break_it) {
  const Plan p = plan_for({{"requirements.txt", "tensorflow-gpu>=1.10,<2\n"},
                           {"README.md", "We tested with TensorFlow 1.14 and CUDA 10.0.\n"}});
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(minor_in(p.framework_version, "1.14"));
  const Plan q =
      plan_for({{"requirements.txt", "torch==2.1.0\n"}, {"README.md", "Requires PyTorch 1.4.\n"}});
  ASSERT_TRUE(q.ok);
  EXPECT_EQ(q.framework_version, "2.1.0");
  EXPECT_TRUE(has_warning(q, "evidence_overruled"));
}

// 5. Two install lines are alternatives: the one with more weight wins, the other is offered.
TEST(ResolveRules, readme_alternatives_choose_the_heavier_and_list_the_other) {
  const Plan p = plan_for({{"README.md",
                            "Install:\n    pip install torch==1.4.0 torchvision==0.5.0\n"
                            "If that fails, try:\n    pip install torch==1.2.0\n"
                            "Tested with PyTorch 1.4.\n"},
                           {"main.py", "import torch\n"}});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.framework_version, "1.4.0");
  bool other = false;
  for (const Alternative& a : p.alternatives) {
    other = other || a.framework_version == "1.2.0";
  }
  EXPECT_TRUE(other);
}

// 6. API calls in the code bound the version.
TEST(ResolveRules, code_markers_bound_the_version) {
  const Plan p = plan_dated({{"requirements.txt", "tensorflow\n"},
                             {"train.py", "import tensorflow as tf\nsess = tf.Session()\n"}},
                            "2023-06-01");
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(minor_in(p.framework_version, "1.")) << p.framework_version;
  // through tensorflow.compat.v1 the same call runs on TensorFlow 2
  const Plan q =
      plan_dated({{"requirements.txt", "tensorflow\n"},
                  {"train.py", "import tensorflow.compat.v1 as tf\nsess = tf.Session()\n"}},
                 "2023-06-01");
  ASSERT_TRUE(q.ok);
  EXPECT_TRUE(minor_in(q.framework_version, "2.")) << q.framework_version;
  const Plan t = plan_for({{"requirements.txt", "torch\n"},
                           {"model.py", "import torch\nmodel = torch.compile(model)\n"}},
                          {});
  ASSERT_TRUE(t.ok);
  EXPECT_FALSE(minor_in(t.framework_version, "1."));
  const Plan old = plan_for({{"requirements.txt", "torch\n"},
                             {"model.py", "import torch\nx = Variable(x, volatile=True)\n"}});
  ASSERT_TRUE(old.ok);
  EXPECT_TRUE(minor_in(old.framework_version, "0.")) << old.framework_version;
}

// 7. The project's era: the newest release of its time, not of today.
TEST(ResolveRules, era_from_git_readme_or_pins) {
  const Plan g = plan_dated({{"requirements.txt", "tensorflow-gpu>=1.0.0\n"}}, "2017-09-01");
  ASSERT_TRUE(g.ok);
  EXPECT_EQ(g.era_source, "git");
  EXPECT_TRUE(minor_in(g.framework_version, "1.3")) << g.framework_version;
  const Plan r = plan_for({{"requirements.txt", "torch\n"},
                           {"README.md", "Code for our paper (CVPR 2019), arXiv:1812.01234.\n"}});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.era_source, "readme");
  EXPECT_TRUE(minor_in(r.framework_version, "1.")) << r.framework_version;
  const Plan n = plan_for({{"requirements.txt", "torch\nnumpy==1.16.2\n"}});
  ASSERT_TRUE(n.ok);
  EXPECT_EQ(n.era_source, "pins");
  EXPECT_TRUE(minor_in(n.framework_version, "1.")) << n.framework_version;
  Overrides latest;
  latest.latest = true;
  const Plan l = plan_for({{"requirements.txt", "torch\nnumpy==1.16.2\n"}}, latest);
  EXPECT_TRUE(l.era_date.empty());
  EXPECT_FALSE(minor_in(l.framework_version, "1."));
  Overrides as_of;
  as_of.as_of = "2020-01-01";
  const Plan a = plan_for({{"requirements.txt", "torch\n"}}, as_of);
  EXPECT_EQ(a.framework_version, "1.3.1");
}

// 8. Base images as evidence, in any Dockerfile of the tree.
TEST(ResolveRules, ngc_and_nvidia_cuda_images_in_deep_dockerfiles) {
  const Plan n = plan_for({{"docker/gpu/Dockerfile", "FROM nvcr.io/nvidia/pytorch:21.06-py3\n"},
                           {"train.py", "import torch\n"}});
  ASSERT_TRUE(n.ok);
  EXPECT_TRUE(minor_in(n.framework_version, "1.9")) << n.framework_version;
  const Plan c =
      plan_for({{"docker/Dockerfile", "FROM nvidia/cuda:10.1-cudnn7-devel-ubuntu18.04\n"},
                {"requirements.txt", "torch>=1.3,<1.6\n"}});
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.cuda.value_or(""), "10.1");
}

// 9. A wheel URL names the release, the CUDA variant and the Python.
TEST(ResolveRules, wheel_urls_name_release_cuda_and_python) {
  const Plan p = plan_for(
      {{"requirements.txt",
        "https://download.pytorch.org/whl/cu92/torch-1.2.0-cp36-cp36m-manylinux1_x86_64.whl\n"}});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.framework_version, "1.2.0");
  EXPECT_EQ(p.cuda.value_or(""), "9.2");
  EXPECT_EQ(p.python, "3.6");
}

// 10. Releases the old tables lacked.
TEST(ResolveRules, old_and_patch_releases_and_jax_extras) {
  const Plan a = plan_for({{"requirements.txt", "torch==0.4.0\n"}});
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.framework_version, "0.4.0");
  const Plan b = plan_for({{"requirements.txt", "torch==0.3.1\n"}});
  ASSERT_TRUE(b.ok);
  EXPECT_EQ(b.framework_version, "0.3.1");
  const Plan c = plan_for({{"requirements.txt", "tensorflow-gpu==1.15.5\n"}});
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.framework_version, "1.15.5");
  const Plan d = plan_for({{"requirements.txt", "jax[cuda11_cudnn82]>=0.4.1\n"}});
  ASSERT_TRUE(d.ok);
  EXPECT_FALSE(d.framework_version.empty());
  EXPECT_EQ(d.cuda.value_or("").substr(0, 3), "11.");
  const Plan e = plan_for({{"requirements.txt", "tensorflow==0.12.1\n"}});
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.framework_version, "0.12.1");
}

// 11. Deep layouts are found, and files beside the project weigh less.
TEST(ResolveRules, deep_layouts_are_walked) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("furnace-deep-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const auto write = [&](const std::string& rel, const std::string& text) {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << text;
  };
  write("examples/seg/deeplab/requirements.txt", "torch==1.6.0\n");
  write("tools/convert/setup.py",
        "from setuptools import setup\nsetup(install_requires=['numpy'])\n");
  write("docker/gpu/Dockerfile", "FROM pytorch/pytorch:1.6.0-cuda10.1-cudnn7-runtime\n");
  write("data/big/requirements.txt", "torch==0.1\n");
  write(".venv/lib/requirements.txt", "torch==0.1\n");
  const std::vector<std::string> files = deps::list_project_files(root.string());
  const auto has = [&](const std::string& f) {
    return std::find(files.begin(), files.end(), f) != files.end();
  };
  EXPECT_TRUE(has("examples/seg/deeplab/requirements.txt"));
  EXPECT_TRUE(has("tools/convert/setup.py"));
  EXPECT_TRUE(has("docker/gpu/Dockerfile"));
  EXPECT_FALSE(has("data/big/requirements.txt"));
  EXPECT_FALSE(has(".venv/lib/requirements.txt"));
  const deps::Spec s = deps::parse_project(files, deps::disk_reader(root.string()));
  for (const deps::Requirement& r : s.requirements) {
    if (r.where.file == "examples/seg/deeplab/requirements.txt") {
      EXPECT_EQ(r.confidence, deps::Confidence::medium);
    }
  }
  fs::remove_all(root);
}

// 12. The Python the chosen image ships, and another image when the project needs another.
TEST(ResolveRules, python_as_the_image_ships_it) {
  const Plan p = plan_for({{"requirements.txt", "torch==1.4.0\n"}});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.python, "3.7");
  EXPECT_EQ(p.python_source, "image");
  const Plan q = plan_for({{"setup.py",
                            "from setuptools import setup\nsetup(python_requires='>=3.11',"
                            " install_requires=['torch==2.3.1'])\n"}});
  ASSERT_TRUE(q.ok);
  EXPECT_EQ(q.python, "3.11");
  EXPECT_EQ(q.python_source, "project");
  EXPECT_EQ(q.base_image.rfind("nvidia/cuda:", 0), 0U) << q.base_image;
  EXPECT_TRUE(has_warning(q, "python_install"));
  const nlohmann::json j = to_json(q);
  EXPECT_EQ(j["python_source"], "project");
  EXPECT_TRUE(j.contains("era"));
}

// The parsers behind the rules.
TEST(ResolveRules, prose_parser_reads_statements_and_dates) {
  deps::Spec s;
  deps::parse_readme("# X (ICCV 2019)\n* tensorflow == 1.14\n* python == 3.6\n"
                     "Requires Keras 2.2.4 or higher and CUDA 10.0.\n"
                     "See https://arxiv.org/abs/1904.01234\nPyTorch implementation of torch.nn\n",
                     "README.md",
                     s);
  std::map<std::string, std::string> reqs;
  for (const deps::Requirement& r : s.requirements) {
    reqs[r.name] = r.specifier;
  }
  EXPECT_EQ(reqs["tensorflow"], "==1.14.*");
  EXPECT_EQ(reqs["keras"], ">=2.2.4");
  EXPECT_EQ(reqs.count("torch"), 0U);
  std::vector<std::string> facts;
  for (const deps::Fact& f : s.facts) {
    facts.push_back(f.value + "@" + f.where.str());
  }
  EXPECT_NE(std::find(facts.begin(), facts.end(), "==3.6.*@README.md:3"), facts.end());
  EXPECT_NE(std::find(facts.begin(), facts.end(), "10.0@README.md:4"), facts.end());
  EXPECT_NE(std::find(facts.begin(), facts.end(), "2019-10-01@README.md:1"), facts.end());
  EXPECT_NE(std::find(facts.begin(), facts.end(), "2019-04-01@README.md:5"), facts.end());
}

TEST(ResolveRules, code_parser_reads_markers_with_their_lines) {
  deps::Spec s;
  deps::parse_python_source("import tensorflow as tf\n\nx = tf.placeholder(tf.float32)\n"
                            "print 'done'\n",
                            "model.py",
                            s);
  std::vector<std::string> api;
  for (const deps::Fact& f : s.facts) {
    if (f.kind == deps::FactKind::api) {
      api.push_back(f.value + "@" + f.where.str());
    }
  }
  EXPECT_EQ(api, (std::vector<std::string>{"tensorflow<2@model.py:3", "python<3@model.py:4"}));
}

TEST(ResolveRules, image_globs) {
  EXPECT_TRUE(glob_match("1.[0-9].*-gpu", "1.6.0-gpu"));
  EXPECT_FALSE(glob_match("1.[0-9].*-gpu", "1.14.0-gpu"));
  EXPECT_TRUE(glob_match("1.1[45].*-gpu-py3", "1.15.5-gpu-py3"));
  EXPECT_FALSE(glob_match("1.1[45].*-gpu-py3", "1.15.5-gpu"));
  EXPECT_TRUE(glob_match("2.1[0-9]*", "2.10.0-cuda12.6-cudnn9-runtime"));
  const Tables& t = builtin_tables();
  const ImageRow* r = t.find_image("pytorch/pytorch", "1.13.1-cuda11.6-cudnn8-runtime");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->python.value, "3.10");
}

} // namespace

namespace {

TEST(ResolveRules, setup_classifiers_and_version_checks_hint_the_python) {
  deps::Spec s;
  deps::parse_python_hints(
      "import sys\nassert sys.version_info.major == 3 and sys.version_info.minor >= 6\n"
      "classifiers=['Programming Language :: Python :: 3.7',\n"
      "             'Programming Language :: Python :: 3.9']\n",
      "setup.py",
      s);
  std::vector<std::string> facts;
  for (const deps::Fact& f : s.facts) {
    facts.push_back(f.value + "@" + f.where.str());
  }
  EXPECT_EQ(facts, (std::vector<std::string>{">=3.6@setup.py:2", ">=3.7,<=3.9@setup.py:3"}));
}

} // namespace

namespace {

TEST(ResolveRules, negated_statements_are_not_evidence) {
  deps::Spec s;
  deps::parse_readme(
      "- Pytorch 0.4.0 (now it does not support 0.4.1 or higher)\n"
      "TensorFlow 2.x is not supported.\nSee the pytorch-1.0 branch for PyTorch 1.0\n",
      "README.md",
      s);
  std::vector<std::string> reqs;
  for (const deps::Requirement& r : s.requirements) {
    reqs.push_back(r.name + r.specifier);
  }
  EXPECT_EQ(reqs, (std::vector<std::string>{"torch==0.4.0"}));
}

TEST(ResolveRules, find_links_pages_per_torch_build) {
  const Plan p = plan_for({{"requirements.txt",
                            "-f "
                            "https://download.openmmlab.com/mmcv/dist/cu101/torch1.6.0/"
                            "index.html\nmmcv-full\ntorch\n"}});
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(minor_in(p.framework_version, "1.6")) << p.framework_version;
}

} // namespace

namespace {

TEST(ResolveRules, keras_2_code_stops_before_keras_3) {
  const Plan p =
      plan_dated({{"requirements.txt", "tensorflow>=2.10\n"},
                  {"model.py", "import tensorflow as tf\nfrom tensorflow.keras import layers\n"}},
                 "2025-06-01");
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(minor_in(p.framework_version, "2.15")) << p.framework_version;
}

}  // namespace
