// furnace.yaml parsing: every key, and the exact error text for typos, wrong types and values.

#include "support/test_env.hpp"

#include <furnace/project/furnace_yaml.hpp>
#include <furnace/project/load.hpp>

#include <gtest/gtest.h>

#include <filesystem>

namespace furnace::project {
namespace {

std::string error_of(const std::string& text) {
  auto r = parse_furnace_yaml(text, "furnace.yaml");
  EXPECT_FALSE(r.has_value());
  return r ? std::string("(parsed)") : r.error().message + " | " + r.error().hint;
}

TEST(FurnaceYaml, parses_every_key) {
  auto r = parse_furnace_yaml(R"(name: mnist
framework: pytorch
version: "1.13.1"
python: "3.10"
cuda: "11.6"
variant: devel
base: pytorch/pytorch:1.13.1-cuda11.6-cudnn8-devel
apt: [ffmpeg, libsndfile1]
pip: ["einops>=0.6", timm]
requirements: requirements.txt
conda: environment.yml
mirrors: {apt: tuna, pip: "https://pypi.example.org/simple", conda: ustc}
env: {OMP_NUM_THREADS: 8}
ports: ["6006", "8080:80"]
shm: 8g
gpus: [0, 1]
datasets: [imagenet]
workdir: /work
command: python train.py
jupyter: yes
)",
                              "furnace.yaml");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->name, "mnist");
  EXPECT_EQ(r->version, "1.13.1");
  EXPECT_EQ(r->python, "3.10");
  EXPECT_EQ(r->variant, Variant::devel);
  EXPECT_EQ(r->apt, (std::vector<std::string>{"ffmpeg", "libsndfile1"}));
  EXPECT_EQ(r->requirements, (std::vector<std::string>{"requirements.txt"}));
  EXPECT_EQ(r->mirrors.apt, "tuna");
  EXPECT_EQ(r->mirrors.pip, "https://pypi.example.org/simple");
  EXPECT_EQ(r->env.at("OMP_NUM_THREADS"), "8");
  EXPECT_EQ(r->gpus, "0,1");
  EXPECT_EQ(r->command, (std::vector<std::string>{"python train.py"}));
  EXPECT_TRUE(r->jupyter);
}

TEST(FurnaceYaml, empty_file_is_all_defaults) {
  auto r = parse_furnace_yaml("", "furnace.yaml");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->requirements.has_value());
  EXPECT_TRUE(r->name.empty());
}

TEST(FurnaceYaml, unknown_key_names_position_and_nearest_key) {
  EXPECT_EQ(error_of("name: x\npyhton: \"3.8\"\n"),
            "furnace.yaml:2:1: unknown key 'pyhton' (did you mean 'python'?) | valid keys: name, "
            "framework, version, python, cuda, variant, base, apt, pip, requirements, conda, "
            "mirrors, env, ports, shm, memory, cpus, pids_limit, gpus, datasets, workdir, command, "
            "jupyter, gui");
  EXPECT_EQ(error_of("zzzzzz: 1\n").substr(0, 41), "furnace.yaml:1:1: unknown key 'zzzzzz' | ");
}

TEST(FurnaceYaml, wrong_type_names_the_node) {
  EXPECT_EQ(error_of("apt:\n  ffmpeg: 1\n"),
            "furnace.yaml:2:3: 'apt' must be a list of strings, not a mapping | ");
  EXPECT_EQ(error_of("name: [a]\n"), "furnace.yaml:1:7: 'name' must be a string, not a list | ");
  EXPECT_EQ(error_of("jupyter: maybe\n"), "furnace.yaml:1:10: 'jupyter' must be true or false | ");
}

TEST(FurnaceYaml, bad_values) {
  EXPECT_EQ(error_of("variant: devl\n"),
            "furnace.yaml:1:10: 'variant' cannot be 'devl' (did you mean 'devel'?) | use one of: "
            "runtime, devel");
  EXPECT_EQ(error_of("mirrors:\n  pip: tsinghua\n"),
            "furnace.yaml:2:8: 'mirrors.pip' cannot be 'tsinghua' | use a preset (aliyun, tuna, "
            "ustc, huawei, tencent) or an http(s) URL without credentials");
  EXPECT_EQ(error_of("mirrors:\n  apt: \"https://user:pw@mirror.example\"\n").substr(0, 63),
            "furnace.yaml:2:8: 'mirrors.apt' cannot be 'https://user:pw@mirr");
  EXPECT_EQ(error_of("mirrors: {pyp: tuna}\n"),
            "furnace.yaml:1:11: unknown key 'mirrors.pyp' (did you mean 'pip'?) | valid keys: apt, "
            "pip, conda");
  EXPECT_EQ(error_of("apt: [\"libgl1; rm -rf /\"]\n"),
            "furnace.yaml:1:7: 'libgl1; rm -rf /' is not a Debian package name | use names such as "
            "'libgl1' or 'ffmpeg=7:5.1.4-0+deb12u1'");
  EXPECT_EQ(error_of("requirements: [../secret.txt]\n"),
            "furnace.yaml:1:15: 'requirements' names '../secret.txt', which is not inside the "
            "project | give a path relative to the project directory");
  EXPECT_EQ(error_of("python: 3\n"),
            "furnace.yaml:1:9: 'python' cannot be '3' | give MAJOR.MINOR, e.g. '3.10' (quoted)");
  EXPECT_EQ(error_of("name: x\nname: y\n"), "furnace.yaml:2:1: 'name' is given twice | ");
}

TEST(FurnaceYaml, syntax_error_has_position) {
  EXPECT_EQ(error_of("name: [x\n").substr(0, 18), "furnace.yaml:2:1: ");
}

TEST(FurnaceYaml, nearest_allows_small_typos_only) {
  EXPECT_EQ(nearest("reqirements", valid_keys()), "requirements");
  EXPECT_EQ(nearest("mirror", valid_keys()), "mirrors");
  EXPECT_EQ(nearest("xyz", valid_keys()), "");
  EXPECT_EQ(nearest("python", valid_keys()), "");  // exact: not a typo
}

TEST(FurnaceYaml, image_name_from_directory) {
  EXPECT_EQ(image_name_from("My Paper (2021)"), "my-paper-2021");
  EXPECT_EQ(image_name_from("___"), "project");
}

// `furnace resolve` shows what `furnace build` will use: furnace.yaml's pins fill what the
// command line left open, never what it set.
TEST(FurnaceYaml, resolve_takes_the_pins_the_command_line_left_open) {
  const furnace::testing::TempDir d;
  d.write("furnace.yaml", "cuda: \"11.6\"\npython: \"3.9\"\nbase: my/base:1\n");
  resolve::Overrides o;
  o.python = "3.10";
  const auto notes = add_yaml_pins(d.path(), o);
  ASSERT_TRUE(notes) << notes.error().message;
  EXPECT_EQ(o.cuda, "11.6");
  EXPECT_EQ(o.python, "3.10");
  EXPECT_EQ(*notes, (std::vector<std::string>{
                        "cuda 11.6 from furnace.yaml (a command-line option overrides it)",
                        "furnace.yaml sets base: my/base:1; 'furnace build' uses it instead of "
                        "the image below"}));
  const furnace::testing::TempDir none;
  resolve::Overrides untouched;
  EXPECT_TRUE(add_yaml_pins(none.path(), untouched)->empty());
  d.write("furnace.yaml", "pyhton: 3.9\n");
  const auto bad = add_yaml_pins(d.path(), untouched);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("pyhton"), std::string::npos);
}

// Issue 12 item 5: `requirements:` and `conda:` are resolved on disk, symlinks followed.
TEST(FurnaceYaml, requirements_and_conda_that_link_out_of_the_project_are_refused) {
  const testing::TempDir d;
  d.write("outside/secret.txt", "torch\n");
  d.write("paper/reqs/base.txt", "numpy\n");
  d.write("paper/inside.txt", "torch\n");
  std::filesystem::create_symlink(d.path() + "/outside/secret.txt", d.path() + "/paper/reqs.txt");
  std::filesystem::create_symlink("inside.txt", d.path() + "/paper/alias.txt");
  std::filesystem::create_symlink(d.path() + "/outside", d.path() + "/paper/envs");
  const std::string root = d.path() + "/paper";
  const auto err = [&](const std::string& text) {
    auto r = parse_furnace_yaml(text, "furnace.yaml", root);
    return r ? std::string() : r.error().message + " | " + r.error().hint;
  };
  const std::string real = std::filesystem::canonical(d.path()).string();
  EXPECT_EQ(
      err("requirements: [reqs/base.txt, reqs.txt]\n"),
      "furnace.yaml:1:15: 'requirements' names 'reqs.txt', which leads out of the project to '" +
          real +
          "/outside/secret.txt' (a symbolic link) | copy the file into the project "
          "instead of linking to it");
  EXPECT_EQ(err("conda: envs/env.yml\n"),
            "furnace.yaml:1:8: 'conda' names 'envs/env.yml', which leads out of the project to '" +
                real +
                "/outside/env.yml' (a symbolic link) | copy the file into the project "
                "instead of linking to it");
  EXPECT_EQ(err("requirements: alias.txt\n"), "") << "a link inside the project is fine";
  EXPECT_EQ(err("requirements: [reqs/base.txt, missing.txt]\n"), "")
      << "a missing file is the reader's to report";
  // Without a directory the check is textual only (as before).
  EXPECT_TRUE(parse_furnace_yaml("requirements: reqs.txt\n", "furnace.yaml"));
  // load_furnace_yaml passes the project directory.
  d.write("paper/furnace.yaml", "requirements: reqs.txt\n");
  const auto loaded = load_furnace_yaml(root);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("'requirements' names 'reqs.txt', which leads out"),
            std::string::npos);
}

TEST(FurnaceYaml, run_limits) {
  auto r = parse_furnace_yaml("memory: 16g\ncpus: '1.5'\npids_limit: 4096\n", "furnace.yaml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->memory, "16g");
  EXPECT_EQ(r->cpus, "1.5");
  EXPECT_EQ(r->pids_limit, "4096");
  EXPECT_EQ(error_of("memory: lots\n"),
            "furnace.yaml:1:9: 'memory' cannot be 'lots' | give a size such as '16g' or '512m'");
  EXPECT_EQ(
      error_of("cpus: four\n"),
      "furnace.yaml:1:7: 'cpus' cannot be 'four' | give a number of CPUs such as '4' or '1.5'");
  EXPECT_EQ(error_of("pids_limit: 0\n"),
            "furnace.yaml:1:13: 'pids_limit' cannot be '0' | give a "
            "number of processes such as '4096'");
}

}  // namespace
}  // namespace furnace::project
