// Fills a history database with N made-up runs (bench/history.sh times `furnace history` on it):
// 20 projects, finished and running runs, GPUs, long image ids, as `furnace run` records them.
// Prints the root of one of the projects, for `furnace history --project`.
// Usage: furnace_history_fill DB [N]

#include <furnace/history/store.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

using furnace::history::RunRecord;

RunRecord made_up(int i) {
  const int project = i % 20;
  RunRecord r;
  r.name = fmt::format("furnace-project{:02}-{:06x}", project, i * 7919 % 0xffffff);
  r.container_id = fmt::format("{:064x}", static_cast<unsigned>(i) * 2654435761U);
  r.started_ms = 1795876812345 + static_cast<std::int64_t>(i) * 60000;
  const bool done = i % 50 != 0;
  r.ended_ms = done ? r.started_ms + (i % 97) * 61000 : 0;
  r.exit_code = done ? std::optional<int>(i % 7 == 0 ? 1 : 0) : std::nullopt;
  r.status = done ? furnace::history::k_exited : furnace::history::k_running;
  r.user = "alice";
  r.host = "gpu-box";
  r.project = fmt::format("/home/alice/papers/project-{:02}", project);
  r.workdir = "/workspace";
  r.git_commit = fmt::format("{:040x}", static_cast<unsigned>(i) * 40503U);
  r.spec_hash = fmt::format("{:064x}", static_cast<unsigned>(project));
  r.image_tag = fmt::format("furnace/project-{:02}:{:012x}", project, project * 977);
  r.image_id = fmt::format("sha256:{:064x}", static_cast<unsigned>(project) * 31U);
  r.base_image = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";
  r.base_digest = "pytorch/pytorch@sha256:" + std::string(64, 'a');
  r.command = {"python", "train.py", "--epochs", std::to_string(i % 30), "--lr", "3e-4"};
  r.gpu_request = i % 3 == 0 ? "all" : "0,2";
  r.gpu_indices = {0, 2};
  r.gpu_uuids = {"GPU-" + std::string(36, '1'), "GPU-" + std::string(36, '2')};
  r.driver_version = "570.86.15";
  r.log_path = fmt::format("/home/alice/.local/state/furnace/logs/{}.log", r.name);
  return r;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: furnace_history_fill DB [N]\n";
    return 2;
  }
  const int n = argc > 2 ? std::atoi(argv[2]) : 10000;
  auto store = furnace::history::Store::open(argv[1]);
  if (!store) {
    std::cerr << store.error().message << '\n';
    return 1;
  }
  for (int i = 0; i < n; ++i) {
    auto id = store->insert(made_up(i));
    if (!id) {
      std::cerr << id.error().message << '\n';
      return 1;
    }
  }
  std::cout << made_up(7).project << '\n';
  return 0;
}
