#include "selection.hpp"

#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>
#include <optional>

namespace furnace::gpu {

namespace {

using core::ErrorKind;

constexpr const char* k_forms = "expected all, none, a list like 0,2, or auto[:N]";
constexpr std::string_view k_auto_prefix = "auto:";

core::Error request_error(std::string_view text, const std::string& why) {
  core::Error e = core::make_error(ErrorKind::invalid, fmt::format("--gpus '{}': {}", text, why));
  e.exit_code = 2;
  return e;
}

std::optional<unsigned> parse_number(std::string_view s) {
  unsigned value = 0;
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (s.empty() || ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return value;
}

core::Result<GpuRequest> parse_list(std::string_view text, GpuRequest request) {
  request.kind = GpuRequest::Kind::list;
  for (const std::string& item : util::split(text, ',')) {
    const std::optional<unsigned> index = parse_number(item);
    if (!index) {
      return core::fail(request_error(text, k_forms));
    }
    if (std::find(request.indices.begin(), request.indices.end(), *index) !=
        request.indices.end()) {
      return core::fail(request_error(text, fmt::format("GPU {} is listed twice", *index)));
    }
    request.indices.push_back(*index);
  }
  return request;
}

// The request as the user would write it, for messages about a request built in code.
std::string request_text(const GpuRequest& request) {
  if (!request.text.empty()) {
    return request.text;
  }
  switch (request.kind) {
  case GpuRequest::Kind::all:
    return "all";
  case GpuRequest::Kind::none:
    return "none";
  case GpuRequest::Kind::list:
    return fmt::format("{}", fmt::join(request.indices, ","));
  case GpuRequest::Kind::automatic:
    return fmt::format("auto:{}", request.count);
  }
  return {};
}

std::string gpu_label(const Gpu& gpu) {
  return gpu.name.empty() ? fmt::format("GPU {}", gpu.index)
                          : fmt::format("GPU {} ({})", gpu.index, gpu.name);
}

// A claim names a GPU by UUID when both have one, by index otherwise.
bool claims_gpu(const Claim& claim, const Gpu& gpu) {
  if (!claim.uuid.empty() && !gpu.uuid.empty()) {
    return claim.uuid == gpu.uuid;
  }
  return claim.index == gpu.index;
}

// "alice (python, 12.0 GiB)"; "an unknown user (pid 42, python)" when the owner is unknown.
std::string describe_process(const GpuProcess& process) {
  std::vector<std::string> details;
  if (process.user.empty()) {
    details.push_back(fmt::format("pid {}", process.pid));
  }
  if (!process.command.empty()) {
    details.push_back(process.command);
  }
  if (process.used_memory > 0) {
    details.push_back(util::human_bytes(process.used_memory));
  }
  const std::string who = process.user.empty() ? "an unknown user" : process.user;
  return details.empty() ? who : fmt::format("{} ({})", who, fmt::join(details, ", "));
}

// "bob's run furnace-x-1 since 14:02" ("your run …" for `me`'s other runs).
std::string describe_claim(const Claim& claim, const std::string& me) {
  const std::string whose = claim.owner_user.empty() ? std::string("the")
                            : claim.owner_user == me ? std::string("your")
                                                     : claim.owner_user + "'s";
  return fmt::format("{} run {} since {}", whose, claim.run_name, clock_time(claim.since_ms));
}

// Why no process of a new run can use `gpu` at all, or nothing: its compute mode forbids it
// (PROHIBITED), or takes one process at a time (EXCLUSIVE_PROCESS) and one has it, whoever it is.
std::optional<std::string> unusable_reason(const Gpu& gpu) {
  if (gpu.compute_mode == ComputeMode::prohibited) {
    return fmt::format("{}: compute mode PROHIBITED: no process may use it", gpu_label(gpu));
  }
  if (!gpu.exclusive() || gpu.processes.empty()) {
    return std::nullopt;
  }
  std::vector<std::string> users;
  for (const GpuProcess& p : gpu.processes) {
    users.push_back(describe_process(p));
  }
  return fmt::format("{}: compute mode {} and in use by {}: it takes one process at a time",
                     gpu_label(gpu),
                     gpu.compute_mode == ComputeMode::exclusive_thread ? "EXCLUSIVE_THREAD"
                                                                       : "EXCLUSIVE_PROCESS",
                     fmt::join(users, ", "));
}

// Why `gpu` is not free for `me` ("in use by alice (…); locked by bob's run …"), or nothing.
std::optional<std::string>
busy_reason(const Gpu& gpu, const std::string& me, const std::vector<Claim>& claims) {
  if (auto unusable = unusable_reason(gpu)) {
    return unusable;
  }
  std::vector<std::string> users;
  for (const GpuProcess& p : gpu.processes) {
    if (p.user != me) {
      users.push_back(describe_process(p));
    }
  }
  std::vector<std::string> runs;
  for (const Claim& c : claims) {
    if (claims_gpu(c, gpu)) {
      runs.push_back(describe_claim(c, me));
    }
  }
  std::vector<std::string> reasons;
  if (!users.empty()) {
    reasons.push_back(fmt::format("in use by {}", fmt::join(users, ", ")));
  }
  if (!runs.empty()) {
    reasons.push_back(fmt::format("locked by {}", fmt::join(runs, ", ")));
  }
  if (reasons.empty()) {
    return std::nullopt;
  }
  return fmt::format("{}: {}", gpu_label(gpu), fmt::join(reasons, "; "));
}

// The selection of `gpus` (sorted by index), noting the busy ones.
Selection
take(std::vector<const Gpu*> gpus, const std::string& me, const std::vector<Claim>& claims) {
  std::sort(
      gpus.begin(), gpus.end(), [](const Gpu* a, const Gpu* b) { return a->index < b->index; });
  Selection s;
  for (const Gpu* g : gpus) {
    s.indices.push_back(g->index);
    s.uuids.push_back(g->uuid);
    if (auto reason = busy_reason(*g, me, claims)) {
      s.notes.push_back(std::move(*reason));
    }
  }
  return s;
}

core::Result<Selection> choose_list(const GpuRequest& request,
                                    const GpuInfo& info,
                                    const std::string& me,
                                    const std::vector<Claim>& claims) {
  std::vector<const Gpu*> chosen;
  for (unsigned index : request.indices) {
    const auto it = std::find_if(
        info.gpus.begin(), info.gpus.end(), [&](const Gpu& g) { return g.index == index; });
    if (it == info.gpus.end()) {
      std::vector<unsigned> present;
      for (const Gpu& g : info.gpus) {
        present.push_back(g.index);
      }
      const std::string have = present.empty()
                                   ? std::string("it has none")
                                   : fmt::format("GPUs present: {}", fmt::join(present, ", "));
      return core::fail(ErrorKind::not_found,
                        fmt::format("--gpus '{}': there is no GPU {} on this host ({})",
                                    request_text(request),
                                    index,
                                    have),
                        "run 'furnace doctor' to see the GPUs");
    }
    if (auto unusable = unusable_reason(*it)) {
      return core::fail(ErrorKind::unavailable,
                        fmt::format("--gpus '{}': {}", request_text(request), *unusable),
                        "choose another GPU ('--gpus auto:1' takes a free one), or wait until it "
                        "is free ('furnace ps', 'nvidia-smi')");
    }
    chosen.push_back(&*it);
  }
  return take(std::move(chosen), me, claims);
}

// Every GPU a process of this run can use; the others are left out and noted. Error
// (unavailable) when that leaves none of a host's GPUs.
core::Result<Selection> choose_all(const GpuRequest& request,
                                   const GpuInfo& info,
                                   const std::string& me,
                                   const std::vector<Claim>& claims) {
  std::vector<const Gpu*> usable;
  std::vector<std::string> left_out;
  for (const Gpu& g : info.gpus) {
    if (auto unusable = unusable_reason(g)) {
      left_out.push_back(std::move(*unusable));
    } else {
      usable.push_back(&g);
    }
  }
  if (usable.empty() && !left_out.empty()) {
    std::string message = fmt::format("--gpus '{}': no GPU of this host can take another process",
                                      request_text(request));
    for (const std::string& l : left_out) {
      message += "\n  " + l;
    }
    return core::fail(ErrorKind::unavailable,
                      std::move(message),
                      "wait until one is free ('furnace ps', 'nvidia-smi'), or use --gpus none");
  }
  Selection s = take(std::move(usable), me, claims);
  for (const std::string& l : left_out) {
    s.notes.push_back(l + ": left out of this run");
  }
  return s;
}

core::Result<Selection> choose_free(const GpuRequest& request,
                                    const GpuInfo& info,
                                    const std::string& me,
                                    const std::vector<Claim>& claims) {
  if (info.gpus.empty()) {
    return core::fail(ErrorKind::unavailable,
                      fmt::format("--gpus '{}': this host has no GPUs", request_text(request)),
                      "use --gpus none to run without GPUs");
  }
  std::vector<const Gpu*> free;
  std::vector<std::string> busy;
  for (const Gpu& g : info.gpus) {
    if (auto reason = busy_reason(g, me, claims)) {
      busy.push_back(std::move(*reason));
    } else {
      free.push_back(&g);
    }
  }
  if (free.size() < request.count) {
    std::string message =
        fmt::format("--gpus '{}': not enough free GPUs ({} of {} free, {} wanted)",
                    request_text(request),
                    free.size(),
                    info.gpus.size(),
                    request.count);
    for (const std::string& b : busy) {
      message += "\n  " + b;
    }
    return core::fail(
        ErrorKind::unavailable,
        std::move(message),
        "use --gpus 0,1 to choose GPUs explicitly, or 'furnace ps' to see who uses them");
  }
  std::stable_sort(free.begin(), free.end(), [](const Gpu* a, const Gpu* b) {
    return a->memory_used != b->memory_used ? a->memory_used < b->memory_used : a->index < b->index;
  });
  free.resize(request.count);
  Selection s = take(std::move(free), me, claims);
  s.notes = std::move(busy);
  return s;
}

} // namespace

core::Result<GpuRequest> parse_gpu_request(std::string_view text) {
  GpuRequest request;
  request.text = std::string(text);
  if (text == "all" || text == "none") {
    request.kind = text == "all" ? GpuRequest::Kind::all : GpuRequest::Kind::none;
    return request;
  }
  if (text == "auto") {
    request.kind = GpuRequest::Kind::automatic;
    return request;
  }
  if (text.substr(0, k_auto_prefix.size()) == k_auto_prefix) {
    const std::optional<unsigned> count = parse_number(text.substr(k_auto_prefix.size()));
    if (!count) {
      return core::fail(request_error(text, k_forms));
    }
    if (*count == 0) {
      return core::fail(request_error(text, "the count must be at least 1"));
    }
    request.kind = GpuRequest::Kind::automatic;
    request.count = *count;
    return request;
  }
  return parse_list(text, std::move(request));
}

core::Result<Selection> choose(const GpuRequest& request,
                               const GpuInfo& info,
                               const std::string& me,
                               const std::vector<Claim>& claims) {
  switch (request.kind) {
  case GpuRequest::Kind::none:
    return Selection{};
  case GpuRequest::Kind::all:
    return choose_all(request, info, me, claims);
  case GpuRequest::Kind::list:
    return choose_list(request, info, me, claims);
  case GpuRequest::Kind::automatic:
    return choose_free(request, info, me, claims);
  }
  return Selection{};
}

std::string docker_gpus_value(const std::vector<unsigned>& indices,
                              const std::vector<std::string>& uuids) {
  const bool by_uuid = !indices.empty() && uuids.size() == indices.size() &&
                       std::none_of(uuids.begin(), uuids.end(), [](const std::string& u) {
                         return u.empty() || u.find_first_of(",\"") != std::string::npos;
                       });
  return by_uuid ? fmt::format("\"device={}\"", fmt::join(uuids, ","))
                 : fmt::format("\"device={}\"", fmt::join(indices, ","));
}

std::string clock_time(std::int64_t since_ms) {
  const auto seconds = static_cast<std::time_t>(since_ms / 1000);
  std::tm local{};
  ::localtime_r(&seconds, &local);
  std::array<char, 16> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%H:%M", &local);
  return {buf.data(), n};
}

} // namespace furnace::gpu
