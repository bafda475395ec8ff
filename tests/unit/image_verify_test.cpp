// The image facts (the probe's output, the cache, furnace.lock) and the checks of furnace verify.

#include "support/test_env.hpp"

#include <furnace/image/facts.hpp>
#include <furnace/image/lock.hpp>
#include <furnace/image/verify.hpp>

#include <gtest/gtest.h>

#include <algorithm>

namespace furnace::image {
namespace {

constexpr const char* k_output =
    "furnace-python 3.10.8\n"
    "numpy==1.24.2\n"
    "#furnace-facts {\"python\": \"3.10.8\", \"python_path\": \"/opt/conda/bin/python\", "
    "\"pip\": \"23.0\", \"framework\": \"torch\", \"framework_version\": \"1.13.1\", "
    "\"cuda\": \"11.6\", \"cudnn\": \"8302\", \"arch_list\": [\"sm_37\", \"sm_50\", \"sm_60\", "
    "\"sm_70\", \"sm_75\", \"sm_80\", \"sm_86\", \"compute_37\"], \"os\": \"Ubuntu 20.04.5 LTS\"}\n"
    "#furnace-import {\"distribution\": \"numpy\", \"module\": \"numpy\", \"installed\": true, "
    "\"ok\": true}\n"
    "#furnace-import {\"distribution\": \"opencv-python\", \"module\": \"cv2\", \"installed\": "
    "true, \"ok\": false, \"error\": \"ImportError: libGL.so.1: cannot open shared object file: "
    "No such file or directory\"}\n"
    "#furnace-pip_check {\"exit\": 0, \"lines\": [\"No broken requirements found.\"]}\n"
    "---furnace-dpkg---\ninstalled jq=1.6-2.1\n";

ProbeRequest request() {
  ProbeRequest r;
  r.framework = "pytorch";
  r.distributions = {"numpy", "opencv-python", "torch"};
  return r;
}

resolve::Plan plan() {
  resolve::Plan p;
  p.framework = "pytorch";
  p.framework_version = "1.13.1";
  p.python = "3.10";
  p.cuda = "11.6";
  p.packages = {{"torch", "==1.13.1", "requirements.txt:1", "", true},
                {"numpy", "", "requirements.txt:2", "", false},
                {"opencv-python", "", "requirements.txt:3", "", false},
                {"pywin32", "", "requirements.txt:4", "sys_platform == 'win32'", false}};
  return p;
}

gpu::GpuInfo host_with(int major, int minor, const std::string& name) {
  gpu::GpuInfo info;
  info.source = "nvml";
  info.driver_version = "550.54.15";
  info.cuda_driver_version = 12040;
  gpu::Gpu g;
  g.name = name;
  g.cc_major = major;
  g.cc_minor = minor;
  info.gpus.push_back(g);
  return info;
}

const Finding* find(const Report& r, const std::string& check, Status status) {
  const auto it = std::find_if(r.findings.begin(), r.findings.end(), [&](const Finding& f) {
    return f.check == check && f.status == status;
  });
  return it == r.findings.end() ? nullptr : &*it;
}

TEST(ImageFacts, request_names_the_framework_and_requirements_without_markers) {
  const ProbeRequest r = probe_request(plan());
  EXPECT_EQ(r.framework, "pytorch");
  EXPECT_EQ(r.distributions, (std::vector<std::string>{"numpy", "opencv-python", "torch"}));
  EXPECT_TRUE(r.pip_check);
  const auto args = probe_env_args(r);
  EXPECT_NE(std::find(args.begin(), args.end(), "FURNACE_PROBE_IMPORTS=numpy,opencv-python,torch"),
            args.end());
}

TEST(ImageFacts, probe_output_gives_facts_imports_and_pip_check_and_the_packages_stay) {
  const ProbeResult r = read_probe_result(k_output, request());
  ASSERT_TRUE(r.facts_seen);
  EXPECT_EQ(r.facts.python, "3.10.8");
  EXPECT_EQ(r.facts.python_path, "/opt/conda/bin/python");
  EXPECT_EQ(r.facts.framework_version, "1.13.1");
  EXPECT_EQ(r.facts.cuda, "11.6");
  EXPECT_EQ(r.facts.arch_list.size(), 8U);
  EXPECT_EQ(r.facts.os, "Ubuntu 20.04.5 LTS");
  ASSERT_EQ(r.imports.size(), 2U);
  EXPECT_FALSE(r.imports[1].ok);
  ASSERT_TRUE(r.pip_check_exit.has_value());
  EXPECT_EQ(*r.pip_check_exit, 0);
  // The package listing skips the facts' lines.
  Lock l;
  ASSERT_TRUE(read_probe_output(k_output, l));
  EXPECT_EQ(l.pip, std::vector<std::string>{"numpy==1.24.2"});
  EXPECT_EQ(l.python, "3.10.8");
}

TEST(ImageFacts, cache_answers_only_the_same_request_of_the_same_image) {
  testing::TempDir dir;
  const core::Env env{{"HOME", dir.path()}, {"XDG_CACHE_HOME", dir.path() + "/cache"}};
  const ProbeResult r = read_probe_result(k_output, request());
  EXPECT_FALSE(read_cached_probe(env, "sha256:abc", request()).has_value());
  write_cached_probe(env, "sha256:abc", r);
  const auto back = read_cached_probe(env, "sha256:abc", request());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(to_json(*back), to_json(r));
  EXPECT_FALSE(read_cached_probe(env, "sha256:def", request()).has_value());
  ProbeRequest other = request();
  other.distributions.pop_back();
  EXPECT_FALSE(read_cached_probe(env, "sha256:abc", other).has_value());
}

TEST(ImageFacts, cached_facts_answer_any_request_and_read_as_lines) {
  testing::TempDir dir;
  const core::Env env{{"HOME", dir.path()}, {"XDG_CACHE_HOME", dir.path() + "/cache"}};
  EXPECT_FALSE(read_cached_facts(env, "sha256:abc").has_value());
  EXPECT_FALSE(read_cached_facts(env, "").has_value());
  write_cached_probe(env, "sha256:abc", read_probe_result(k_output, request()));
  const auto f = read_cached_facts(env, "sha256:abc");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->framework_version, "1.13.1");
  using Fields = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(facts_fields(*f),
            (Fields{{"python", "3.10.8 (/opt/conda/bin/python)"},
                    {"framework", "torch 1.13.1 (CUDA 11.6, cuDNN 8302)"},
                    {"arch list", "sm_37, sm_50, sm_60, sm_70, sm_75, sm_80, sm_86, compute_37"}}));
  ImageFacts cpu;
  cpu.python = "3.11.2";
  cpu.framework = "torch";
  EXPECT_EQ(facts_fields(cpu), (Fields{{"python", "3.11.2"}, {"framework", "torch (CPU build)"}}));
  // a probe that saw no facts caches none
  write_cached_probe(env, "sha256:def", ProbeResult{});
  EXPECT_FALSE(read_cached_facts(env, "sha256:def").has_value());
}

TEST(ImageFacts, lock_records_the_facts_and_old_locks_still_parse) {
  Lock l;
  l.image = "furnace/x:1";
  l.base = "pytorch/pytorch:1.13.1";
  l.base_id = "sha256:1";
  l.python = "3.10.8";
  l.facts = read_probe_result(k_output, request()).facts;
  const std::string text = render_lock(l);
  EXPECT_NE(text.find("\nframework: torch 1.13.1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\narch-list: sm_37 sm_50"), std::string::npos) << text;
  const auto back = parse_lock(text, "furnace.lock");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->facts.framework, "torch");
  EXPECT_EQ(back->facts.framework_version, "1.13.1");
  EXPECT_EQ(back->facts.arch_list, l.facts.arch_list);
  EXPECT_EQ(back->facts.cuda, "11.6");
  EXPECT_EQ(render_lock(*back), text);
  const auto old = parse_lock("image: a\nbase: b\nbase-id: sha256:1\nbase-digest:\npython: 3.8\n"
                              "\n[pip]\nsix==1\n\n[dpkg]\n",
                              "furnace.lock");
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->facts.arch_list.empty());
}

TEST(Verify, an_import_failure_names_module_line_exception_cause_and_fix) {
  const Report r = check(read_probe_result(k_output, request()), plan(), std::nullopt);
  EXPECT_FALSE(r.ok());
  const Finding* f = find(r, "import", Status::fail);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->subject, "cv2");
  EXPECT_EQ(f->source, "requirements.txt:3");
  EXPECT_EQ(f->message,
            "requirements.txt:3: cannot import cv2 (from opencv-python): ImportError: libGL.so.1: "
            "cannot open shared object file: No such file or directory");
  EXPECT_NE(f->fix.find("'apt'"), std::string::npos);
  EXPECT_EQ(r.arch, "no GPU");
  EXPECT_NE(find(r, "pip-check", Status::ok), nullptr);
}

TEST(Verify, kernels_for_the_gpu_pass_and_the_summary_says_so) {
  ProbeResult p = read_probe_result(k_output, request());
  p.imports.pop_back();
  Report r = check(p, plan(), host_with(8, 6, "NVIDIA GeForce RTX 3090"));
  r.image = "furnace/x:1";
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.arch, "ok");
  EXPECT_NE(find(r, "driver", Status::ok), nullptr);
  EXPECT_EQ(summary_line(r),
            "verified furnace/x:1: Python 3.10.8, torch 1.13.1 (CUDA 11.6), arch ok");
  EXPECT_EQ(to_json(r)["schema_version"], 1);
  EXPECT_EQ(to_json(r)["ok"], true);
}

TEST(Verify, an_arch_without_kernels_fails_naming_the_first_release_with_them) {
  ProbeResult p = read_probe_result(k_output, request());
  p.imports.pop_back();
  p.facts.cuda = "11.8";
  p.facts.arch_list = {"sm_70"};
  Report r = check(p, plan(), host_with(9, 0, "NVIDIA H200"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.arch, "not ok");
  const Finding* f = find(r, "arch", Status::fail);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->subject, "sm_90");
  EXPECT_NE(f->message.find("has no kernels for sm_90; its arch list: sm_70"), std::string::npos)
      << f->message;
  EXPECT_NE(f->fix.find("is the first release with sm_90 kernels"), std::string::npos) << f->fix;
  EXPECT_EQ(f->fix.rfind("torch 2.", 0), 0U) << f->fix;
}

TEST(Verify, ptx_for_a_lower_arch_is_a_jit_warning) {
  ProbeResult p = read_probe_result(k_output, request());
  p.imports.pop_back();
  p.facts.cuda = "11.8";
  p.facts.arch_list = {"sm_70", "compute_70"};
  const Report r = check(p, plan(), host_with(8, 9, "NVIDIA L4"));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.arch, "ok (PTX JIT)");
  ASSERT_NE(find(r, "arch", Status::warn), nullptr);
  EXPECT_NE(find(r, "arch", Status::warn)->message.find("JIT-compiles its compute_70 PTX"),
            std::string::npos);
}

TEST(Verify, under_minor_version_compatibility_ptx_is_no_way_out) {
  // the resolver's rules: CUDA 11.8 on driver 470 runs through minor-version compatibility,
  // which cannot JIT-compile PTX, so compute_70 does not reach an sm_89 GPU
  ProbeResult p = read_probe_result(k_output, request());
  p.imports.pop_back();
  p.facts.cuda = "11.8";
  p.facts.arch_list = {"sm_70", "compute_70"};
  gpu::GpuInfo host = host_with(8, 9, "NVIDIA L4");
  host.driver_version = "470.82.01";
  host.cuda_driver_version = 11040;
  const Report r = check(p, plan(), host);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.arch, "not ok");
  const Finding* a = find(r, "arch", Status::fail);
  ASSERT_NE(a, nullptr);
  EXPECT_NE(a->cause.find("minor-version compatibility"), std::string::npos) << a->cause;
  EXPECT_NE(a->fix.find("update the NVIDIA driver"), std::string::npos) << a->fix;
  const Finding* d = find(r, "driver", Status::warn);
  ASSERT_NE(d, nullptr);
  EXPECT_NE(d->message.find("older than 520.61.05 (CUDA 11.8's)"), std::string::npos) << d->message;
}

TEST(Verify, a_toolkit_the_tables_lack_is_judged_by_the_cuda_the_driver_reports) {
  ProbeResult p = read_probe_result(k_output, request());
  p.imports.pop_back();
  p.facts.cuda = "12.7"; // no row in cuda.csv
  p.facts.arch_list = {"sm_86"};
  const Report r = check(p, plan(), host_with(8, 6, "RTX 3090"));
  const Finding* d = find(r, "driver", Status::fail);
  ASSERT_NE(d, nullptr); // the driver reports CUDA 12.4
  EXPECT_NE(d->message.find("too old for the build's CUDA 12.7"), std::string::npos);
}

TEST(Verify, a_cpu_build_on_a_gpu_host_and_an_old_driver_fail) {
  ProbeResult p = read_probe_result(k_output, request());
  p.imports.pop_back();
  p.facts.cuda.clear();
  EXPECT_EQ(check(p, plan(), host_with(8, 6, "RTX 3090")).arch, "not ok");
  p = read_probe_result(k_output, request());
  p.imports.pop_back();
  p.facts.cuda = "12.4";
  p.facts.arch_list = {"sm_86"};
  gpu::GpuInfo old = host_with(8, 6, "RTX 3090");
  old.driver_version = "470.82.01";
  old.cuda_driver_version = 11040;
  const Report r = check(p, plan(), old);
  ASSERT_NE(find(r, "driver", Status::fail), nullptr);
  EXPECT_FALSE(r.ok());
}

TEST(Verify, pip_check_conflicts_name_both_packages) {
  ProbeResult p = read_probe_result(k_output, request());
  p.imports.pop_back();
  p.pip_check_exit = 1;
  p.pip_check = {"furnace-fixture-b 1.0 has requirement furnace-fixture-c>=2.0, but you have "
                 "furnace-fixture-c 1.0."};
  const Report r = check(p, plan(), std::nullopt);
  const Finding* f = find(r, "pip-check", Status::fail);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->subject, "furnace-fixture-b, furnace-fixture-c");
  EXPECT_FALSE(r.ok());
}

TEST(Verify, plan_json_round_trips_what_the_checks_need) {
  const resolve::Plan p = plan_from_json(
      R"({"framework":"pytorch","framework_version":"1.13.1","python":"3.10","cuda":null,)"
      R"("packages":[{"name":"numpy","specifier":"","source":"requirements.txt:2"}]})");
  EXPECT_EQ(p.framework.value_or(""), "pytorch");
  EXPECT_FALSE(p.cuda.has_value());
  ASSERT_EQ(p.packages.size(), 1U);
  EXPECT_EQ(p.packages[0].source, "requirements.txt:2");
}

} // namespace
} // namespace furnace::image
