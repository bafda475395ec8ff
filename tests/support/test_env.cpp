#include "test_env.hpp"

#include <furnace/engine/docker_api.hpp>
#include <furnace/engine/endpoint.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

extern char** environ; // NOLINT

namespace furnace::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "furnace-test-XXXXXX").string();
  const char* made = ::mkdtemp(tmpl.data());
  if (made == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  m_path = made;
}

TempDir::~TempDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info != nullptr && info->result() != nullptr && info->result()->Failed()) {
    std::cerr << "kept test directory: " << m_path << '\n';
    return;
  }
  std::error_code ec;
  fs::remove_all(m_path, ec);
}

std::string TempDir::write(const std::string& rel, const std::string& content, int mode) const {
  const fs::path p = fs::path(m_path) / rel;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  ::chmod(p.c_str(), static_cast<mode_t>(mode));
  return p.string();
}

core::Env process_env() {
  core::Env env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) {
      env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  return env;
}

core::Env changed_env(const std::map<std::string, std::string>& changes) {
  auto env = process_env();
  for (const auto& [k, v] : changes) {
    if (!k.empty() && k.front() == '-') {
      env.erase(k.substr(1));
    } else {
      env[k] = v;
    }
  }
  return env;
}

Run run_furnace(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env,
                const std::vector<std::string>& prefix) {
  std::vector<std::string> argv = prefix;
  argv.emplace_back(FURNACE_BINARY);
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, env, std::chrono::seconds(300));
}

Run run_command(const std::vector<std::string>& argv,
                const std::map<std::string, std::string>& env,
                std::chrono::seconds timeout) {
  util::SystemRunner runner;
  util::ProcessOptions opts;
  opts.env = changed_env(env);
  opts.timeout = timeout;
  auto r = runner.run(argv, opts);
  Run out;
  if (!r) {
    out.err = r.error().message;
    return out;
  }
  out.exit_code = r->status.code;
  out.out = r->out;
  out.err = r->err;
  return out;
}

std::map<std::string, std::string> fake_nvml_env(const TempDir& dir, const std::string& json) {
  const std::string cfg = dir.write("nvml.json", json);
  return {{"FURNACE_NVML_LIBRARY", FURNACE_FAKE_NVML}, {"FAKE_NVML_CONFIG", cfg}};
}

std::string eight_mixed_gpus_json() {
  return R"({"init": "ok", "driver_version": "570.86.15", "cuda_driver_version": 12080,
  "gpus": [
    {"name": "Tesla V100-SXM2-32GB", "uuid": "GPU-00000000-0000-0000-0000-000000000000", "cc": [7, 0],
     "memory_total_mib": 32768, "memory_used_mib": 0},
    {"name": "Tesla T4", "uuid": "GPU-11111111-1111-1111-1111-111111111111", "cc": [7, 5],
     "memory_total_mib": 15360, "memory_used_mib": 100},
    {"name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-22222222-2222-2222-2222-222222222222", "cc": [8, 0],
     "memory_total_mib": 81920, "memory_used_mib": 40000, "processes": [{"pid": 1, "used_mib": 39000}]},
    {"name": "NVIDIA GeForce RTX 3090", "uuid": "GPU-33333333-3333-3333-3333-333333333333", "cc": [8, 6],
     "memory_total_mib": 24576, "memory_used_mib": 0},
    {"name": "NVIDIA GeForce RTX 4090", "uuid": "GPU-44444444-4444-4444-4444-444444444444", "cc": [8, 9],
     "memory_total_mib": 24564, "memory_used_mib": 0},
    {"name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-55555555-5555-5555-5555-555555555555", "cc": [9, 0],
     "memory_total_mib": 81559, "memory_used_mib": 0},
    {"name": "NVIDIA H200", "uuid": "GPU-66666666-6666-6666-6666-666666666666", "cc": [9, 0],
     "memory_total_mib": 143771, "memory_used_mib": 2048},
    {"name": "NVIDIA B200", "uuid": "GPU-77777777-7777-7777-7777-777777777777", "cc": [10, 0],
     "memory_total_mib": 183359, "memory_used_mib": 0}
  ]})";
}

bool engine_available() {
  auto ep = engine::resolve_endpoint(process_env());
  if (!ep) {
    return false;
  }
  engine::DockerApi api(*ep);
  return static_cast<bool>(api.ping());
}

util::ProcessOutput sh(const std::string& script, int timeout_s) {
  util::SystemRunner runner;
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(timeout_s * 1000LL);
  auto r = runner.run({"/bin/sh", "-c", script}, o);
  return r ? *r : util::ProcessOutput{};
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

} // namespace furnace::testing
