#include "support/test_env.hpp"

#include <furnace/deps/parsers.hpp>
#include <furnace/deps/project.hpp>
#include <furnace/deps/toml.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

namespace {

using namespace furnace;
using namespace furnace::deps;

FileReader reader(std::map<std::string, std::string> files) {
  return [files = std::move(files)](const std::string& path) -> core::Result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) {
      return core::fail(core::ErrorKind::not_found, "no such file");
    }
    return it->second;
  };
}

const Requirement* find(const Spec& s, const std::string& name) {
  for (const Requirement& r : s.requirements) {
    if (r.name == name) {
      return &r;
    }
  }
  return nullptr;
}

std::vector<std::string> facts(const Spec& s, FactKind kind) {
  std::vector<std::string> out;
  for (const Fact& f : s.facts) {
    if (f.kind == kind) {
      out.push_back(f.value + "@" + f.where.str());
    }
  }
  return out;
}

TEST(RequirementsTxt, reads_pins_comments_continuations_and_options) {
  Spec s;
  parse_requirements_txt(
      "# comment\n"
      "torch==1.8.1+cu111 \\\n"
      "    --hash=sha256:abc\n"
      "-f https://download.pytorch.org/whl/torch_stable.html\n"
      "--extra-index-url https://download.pytorch.org/whl/cu111\n"
      "numpy>=1.19 # trailing comment\n"
      "-e git+https://github.com/facebookresearch/detectron2.git#egg=detectron2\n"
      "pkg @ https://example.com/pkg.zip\n"
      "colorama; sys_platform == 'win32'\n"
      ".\n",
      "requirements.txt",
      reader({}),
      s);
  ASSERT_NE(find(s, "torch"), nullptr);
  EXPECT_EQ(find(s, "torch")->specifier, "==1.8.1+cu111");
  EXPECT_EQ(find(s, "torch")->where.str(), "requirements.txt:2");
  EXPECT_EQ(find(s, "numpy")->where.str(), "requirements.txt:6");
  ASSERT_NE(find(s, "detectron2"), nullptr);
  EXPECT_EQ(find(s, "pkg")->url, "https://example.com/pkg.zip");
  EXPECT_EQ(find(s, "colorama")->marker, "sys_platform == 'win32'");
  EXPECT_EQ(facts(s, FactKind::cuda),
            (std::vector<std::string>{"11.1@requirements.txt:2", "11.1@requirements.txt:5"}));
  EXPECT_TRUE(s.diagnostics.empty());
}

TEST(RequirementsTxt, follows_includes_and_reports_cycles) {
  Spec s;
  parse_requirements_txt("-r sub/a.txt\n-c constraints.txt\n",
                         "requirements.txt",
                         reader({{"sub/a.txt", "torch\n-r ../requirements.txt\n"},
                                 {"constraints.txt", "torch==1.11.0\n"}}),
                         s);
  ASSERT_EQ(s.requirements.size(), 2U);
  EXPECT_EQ(s.requirements[0].where.str(), "sub/a.txt:1");
  EXPECT_TRUE(s.requirements[1].constraint_only);
  ASSERT_EQ(s.diagnostics.size(), 1U);
  EXPECT_EQ(s.diagnostics[0].code, "include_cycle");
  EXPECT_EQ(s.diagnostics[0].where.str(), "sub/a.txt:2");
}

TEST(RequirementsTxt, reads_a_file_reached_by_two_routes_once) {
  // A diamond: a.txt and b.txt both include common.txt. Each route used to parse it again, so
  // a chain of diamonds (found by the fuzzer) took time exponential in its depth.
  std::map<std::string, std::string> files{
      {"a.txt", "-r common.txt\n"}, {"b.txt", "-r common.txt\n"}, {"common.txt", "numpy\n"}};
  int reads = 0;
  const FileReader counting = [&](const std::string& path) -> core::Result<std::string> {
    ++reads;
    return files.at(path);
  };
  Spec s;
  parse_requirements_txt("-r a.txt\n-r b.txt\n", "requirements.txt", counting, s);
  EXPECT_EQ(reads, 3);
  ASSERT_EQ(s.requirements.size(), 1U);
  EXPECT_EQ(s.requirements[0].where.str(), "common.txt:1");
}

TEST(RequirementsTxt, a_fan_of_includes_in_subdirectories_is_cut_off) {
  // Every file includes two more one directory down: distinct paths at every level.
  int reads = 0;
  const FileReader fan = [&](const std::string&) -> core::Result<std::string> {
    ++reads;
    return std::string("-r a/x.txt\n-r b/x.txt\nnumpy\n");
  };
  Spec s;
  parse_requirements_txt("-r a/x.txt\n", "requirements.txt", fan, s);
  EXPECT_LE(reads, 257);
  const bool limited = std::any_of(s.diagnostics.begin(), s.diagnostics.end(), [](const auto& d) {
    return d.code == "include_limit";
  });
  EXPECT_TRUE(limited);
}

TEST(RequirementsTxt, keeps_going_after_a_malformed_line) {
  Spec s;
  parse_requirements_txt(
      "torch>=1.x\n-r missing.txt\n--bogus\nnumpy\n", "requirements.txt", reader({}), s);
  ASSERT_EQ(s.requirements.size(), 1U);
  EXPECT_EQ(s.requirements[0].name, "numpy");
  ASSERT_EQ(s.diagnostics.size(), 3U);
  EXPECT_EQ(s.diagnostics[0].where.str(), "requirements.txt:1");
  EXPECT_EQ(s.diagnostics[0].message,
            "cannot read requirement 'torch>=1.x': invalid version '1.x' in '>=1.x'");
  EXPECT_EQ(s.diagnostics[1].code, "include_missing");
  EXPECT_EQ(s.diagnostics[2].code, "unknown_option");
}

TEST(EnvironmentYml, reads_conda_specs_and_the_pip_section) {
  Spec s;
  parse_environment_yml("name: x\nchannels: [pytorch]\ndependencies:\n  - python=3.7\n"
                        "  - pytorch::pytorch=1.4\n  - cudatoolkit=10.1\n  - pip:\n"
                        "    - opencv-python==4.1.2.30\n",
                        "environment.yml",
                        reader({}),
                        s);
  ASSERT_NE(find(s, "torch"), nullptr);
  EXPECT_EQ(find(s, "torch")->specifier, "==1.4.*");
  EXPECT_EQ(find(s, "torch")->where.str(), "environment.yml:5");
  EXPECT_EQ(find(s, "opencv-python")->where.str(), "environment.yml:8");
  EXPECT_EQ(facts(s, FactKind::cuda), (std::vector<std::string>{"10.1@environment.yml:6"}));
  EXPECT_EQ(facts(s, FactKind::python), (std::vector<std::string>{"==3.7.*@environment.yml:4"}));
}

TEST(EnvironmentYml, reports_invalid_yaml_with_its_line) {
  Spec s;
  parse_environment_yml("dependencies:\n  - a\n - b: [\n", "environment.yml", reader({}), s);
  ASSERT_EQ(s.diagnostics.size(), 1U);
  EXPECT_EQ(s.diagnostics[0].code, "parse_error");
  EXPECT_EQ(s.diagnostics[0].where.file, "environment.yml");
  EXPECT_GT(s.diagnostics[0].where.line, 0);
}

TEST(SetupPy, extracts_lists_without_running_anything) {
  Spec s;
  parse_setup_py("import os\nBASE = ['numpy', \"torch>=1.7\"]\nEXTRA = ['tqdm']\n"
                 "setup(name='x', install_requires=BASE + EXTRA + ['pyyaml'],\n"
                 "      python_requires='>=3.6', extras_require={'dev': ['pytest']})\n",
                 "setup.py",
                 s);
  ASSERT_NE(find(s, "torch"), nullptr);
  EXPECT_EQ(find(s, "torch")->where.str(), "setup.py:2");
  EXPECT_NE(find(s, "tqdm"), nullptr);
  EXPECT_NE(find(s, "pyyaml"), nullptr);
  ASSERT_NE(find(s, "pytest"), nullptr);
  EXPECT_TRUE(find(s, "pytest")->optional);
  EXPECT_EQ(facts(s, FactKind::python), (std::vector<std::string>{">=3.6@setup.py:5"}));
}

TEST(SetupCfg, reads_options) {
  Spec s;
  parse_setup_cfg("[options]\npython_requires = >=3.8\ninstall_requires =\n    torch>=2.0\n"
                  "    numpy\n[options.extras_require]\ndev =\n    pytest\n",
                  "setup.cfg",
                  s);
  ASSERT_NE(find(s, "torch"), nullptr);
  EXPECT_EQ(find(s, "torch")->where.str(), "setup.cfg:4");
  EXPECT_TRUE(find(s, "pytest")->optional);
  EXPECT_EQ(facts(s, FactKind::python), (std::vector<std::string>{">=3.8@setup.cfg:2"}));
}

TEST(Toml, parses_the_subset_pyproject_uses) {
  const TomlDocument d = parse_toml(
      "# c\n[project]\nname = \"x\" # trailing\ndependencies = [\n  \"a\",\n  'b', # c\n]\n"
      "[project.optional-dependencies]\ndev = [\"\"\"multi\nline\"\"\"]\n"
      "[[tool.uv.index]]\nname = \"one\"\n[[tool.uv.index]]\nname = \"two\"\n"
      "[tool.x]\ninline = { a = 1, b.c = true }\nd = 1979-05-27T07:32:00Z\nf = 3.14\n");
  EXPECT_TRUE(d.errors.empty()) << d.errors[0].message;
  const TomlValue* deps = d.root.path({"project", "dependencies"});
  ASSERT_NE(deps, nullptr);
  ASSERT_EQ(deps->items.size(), 2U);
  EXPECT_EQ(deps->items[1].text, "b");
  EXPECT_EQ(deps->items[1].line, 6);
  const TomlValue* idx = d.root.path({"tool", "uv", "index"});
  ASSERT_NE(idx, nullptr);
  ASSERT_EQ(idx->items.size(), 2U);
  EXPECT_EQ(idx->items[1].get("name")->text, "two");
  EXPECT_TRUE(d.root.path({"tool", "x", "inline", "b", "c"})->boolean);
}

TEST(Toml, reports_errors_per_line_and_keeps_the_rest) {
  const TomlDocument d = parse_toml("a = \nb = \"ok\"\nc = [1,\nd = 'x'\n[t]\ne = 1\ne = 2\n");
  ASSERT_GE(d.errors.size(), 2U);
  EXPECT_EQ(d.errors[0].line, 1);
  EXPECT_EQ(d.root.get("b")->text, "ok");
  EXPECT_NE(d.root.path({"t", "e"}), nullptr);
}

TEST(Pyproject, reads_pep621_poetry_and_uv) {
  Spec s;
  parse_pyproject("[project]\nrequires-python = \">=3.9\"\ndependencies = [\"torch>=2.1\"]\n"
                  "[tool.poetry.dependencies]\npython = \"^3.9\"\njax = {version = \"^0.4\", "
                  "extras = [\"cuda12\"]}\n"
                  "[[tool.uv.index]]\nurl = \"https://download.pytorch.org/whl/cu121\"\n",
                  "pyproject.toml",
                  s);
  EXPECT_EQ(find(s, "torch")->where.str(), "pyproject.toml:3");
  EXPECT_EQ(find(s, "jax")->specifier, ">=0.4,<0.5");
  EXPECT_EQ(facts(s, FactKind::cuda),
            (std::vector<std::string>{"12@pyproject.toml:6", "12.1@pyproject.toml:8"}));
  EXPECT_EQ(facts(s, FactKind::python).size(), 2U);
}

TEST(Pipfile, reads_packages_and_python) {
  Spec s;
  parse_pipfile("[packages]\ntorch = \"==1.9.0\"\nnumpy = \"*\"\nrequests = {version = \">=2\"}\n"
                "[requires]\npython_version = \"3.8\"\n",
                "Pipfile",
                s);
  EXPECT_EQ(find(s, "torch")->specifier, "==1.9.0");
  EXPECT_EQ(find(s, "numpy")->specifier, "");
  EXPECT_EQ(find(s, "requests")->specifier, ">=2");
  EXPECT_EQ(facts(s, FactKind::python), (std::vector<std::string>{"==3.8.*@Pipfile:6"}));
}

TEST(Dockerfile, substitutes_args_and_reads_run_installs) {
  Spec s;
  parse_dockerfile("ARG BASE=pytorch/pytorch\nARG TAG=1.8.1-cuda11.1-cudnn8-devel\n"
                   "FROM ${BASE}:${TAG} AS build\n"
                   "RUN pip install --no-cache-dir \\\n    timm==0.4.12 && conda install -y -c "
                   "conda-forge opencv=4.5\n"
                   "FROM build\n",
                   "Dockerfile",
                   s);
  EXPECT_EQ(facts(s, FactKind::base_image),
            (std::vector<std::string>{"pytorch/pytorch:1.8.1-cuda11.1-cudnn8-devel@Dockerfile:3"}));
  EXPECT_EQ(facts(s, FactKind::cuda), (std::vector<std::string>{"11.1@Dockerfile:3"}));
  ASSERT_NE(find(s, "torch"), nullptr);
  EXPECT_EQ(find(s, "torch")->specifier, "==1.8.1");
  EXPECT_EQ(find(s, "timm")->where.str(), "Dockerfile:4");
  EXPECT_EQ(find(s, "opencv")->specifier, "==4.5.*");
}

TEST(Readme, reads_install_lines_as_medium_confidence) {
  Spec s;
  parse_readme("Run:\n```bash\n$ pip install torch==1.4.0 torchvision==0.5.0 -f https://x\n```\n"
               "We recommend you to install it.\n",
               "README.md",
               s);
  ASSERT_NE(find(s, "torch"), nullptr);
  EXPECT_EQ(find(s, "torch")->confidence, Confidence::medium);
  EXPECT_EQ(find(s, "torch")->where.str(), "README.md:3");
  EXPECT_EQ(s.requirements.size(), 2U);
}

TEST(PythonVersionFile, reads_runtime_txt) {
  Spec s;
  parse_python_version_file("python-3.7.9\n", "runtime.txt", s);
  EXPECT_EQ(facts(s, FactKind::python), (std::vector<std::string>{"==3.7.*@runtime.txt:1"}));
  Spec bad;
  parse_python_version_file("ruby-2.7\n", ".python-version", bad);
  EXPECT_EQ(bad.diagnostics.size(), 1U);
}

TEST(Project, classifies_files) {
  EXPECT_EQ(classify("requirements-dev.txt"), FileKind::requirements);
  EXPECT_EQ(classify("requirements/base.txt"), FileKind::requirements);
  EXPECT_EQ(classify("environment.yaml"), FileKind::conda);
  EXPECT_EQ(classify("docker/Dockerfile"), FileKind::dockerfile);
  EXPECT_EQ(classify("Dockerfile.gpu"), FileKind::dockerfile);
  EXPECT_EQ(classify("README.md"), FileKind::readme);
  EXPECT_EQ(classify("src/train.py"), FileKind::python_source);
  EXPECT_EQ(classify("LICENSE"), FileKind::none);
}

TEST(Project, reads_a_directory_and_refuses_binary_and_huge_files) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("furnace_deps_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "requirements");
  std::ofstream(dir / "requirements.txt") << "-r requirements/base.txt\n";
  std::ofstream(dir / "requirements" / "base.txt") << "torch==2.0.1\n";
  std::ofstream(dir / "requirements-bin.txt") << std::string("torch\0\x01", 7);
  std::ofstream(dir / "Pipfile") << std::string(2000, 'x');
  std::ofstream(dir / "train.py") << "import torch\n";
  const std::vector<std::string> files = list_project_files(dir.string());
  const Spec s = parse_project(files, disk_reader(dir.string(), 1000));
  std::filesystem::remove_all(dir);
  ASSERT_NE(find(s, "torch"), nullptr);
  EXPECT_EQ(find(s, "torch")->where.str(), "requirements/base.txt:1");
  int refused = 0;
  for (const Diagnostic& d : s.diagnostics) {
    refused += d.code == "unreadable" ? 1 : 0;
  }
  EXPECT_EQ(refused, 2);
  EXPECT_EQ(facts(s, FactKind::imports), (std::vector<std::string>{"torch@train.py:1"}));
}

} // namespace

namespace {

TEST(DiskReader, refuses_files_over_the_limit_and_binary_files) {
  furnace::testing::TempDir dir;
  dir.write("small.txt", "numpy\n");
  dir.write("big.txt", std::string(300, 'a'));
  dir.write("bin.txt", std::string("a\0b", 3));
  const auto read = furnace::deps::disk_reader(dir.path(), 100);
  auto small = read("small.txt");
  ASSERT_TRUE(small);
  EXPECT_EQ(*small, "numpy\n");
  auto big = read("big.txt");
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().message, "'big.txt' is larger than 100 bytes; not read");
  auto bin = read("bin.txt");
  ASSERT_FALSE(bin);
  EXPECT_EQ(bin.error().message, "'bin.txt' is a binary file; not read");
}

} // namespace
