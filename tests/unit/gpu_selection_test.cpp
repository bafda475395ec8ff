#include <furnace/gpu/selection.hpp>

#include <gtest/gtest.h>

#include <ctime>

namespace furnace::gpu {
namespace {

constexpr unsigned long long k_gib = 1ULL << 30;
constexpr const char* k_forms = "expected all, none, a list like 0,2, or auto[:N]";
constexpr const char* k_busy_hint =
    "use --gpus 0,1 to choose GPUs explicitly, or 'furnace ps' to see who uses them";

GpuProcess process(const std::string& user, const std::string& command, double gib) {
  GpuProcess p;
  p.pid = 4242;
  p.user = user;
  p.command = command;
  p.used_memory = static_cast<unsigned long long>(gib * static_cast<double>(k_gib));
  return p;
}

Gpu gpu(unsigned index, double used_gib, std::vector<GpuProcess> processes = {}) {
  Gpu g;
  g.index = index;
  g.name = "NVIDIA H200";
  g.uuid = "GPU-" + std::to_string(index);
  g.memory_total = 141 * k_gib;
  g.memory_used = static_cast<unsigned long long>(used_gib * static_cast<double>(k_gib));
  g.processes = std::move(processes);
  return g;
}

GpuInfo host(std::vector<Gpu> gpus) {
  GpuInfo info;
  info.source = "nvml";
  info.gpus = std::move(gpus);
  return info;
}

GpuRequest request(const std::string& text) {
  auto r = parse_gpu_request(text);
  EXPECT_TRUE(r) << text;
  return r ? *r : GpuRequest{};
}

// Unix milliseconds of `hour`:`minute` local time (whatever the test machine's zone).
std::int64_t local_ms(int hour, int minute) {
  std::tm t{};
  t.tm_year = 124;
  t.tm_mon = 2;
  t.tm_mday = 3;
  t.tm_hour = hour;
  t.tm_min = minute;
  t.tm_isdst = -1;
  return static_cast<std::int64_t>(std::mktime(&t)) * 1000;
}

Claim claim(unsigned index, const std::string& user, const std::string& run) {
  return Claim{index, "GPU-" + std::to_string(index), user, run, local_ms(14, 2)};
}

void expect_parse_error(const std::string& text, const std::string& message) {
  auto r = parse_gpu_request(text);
  ASSERT_FALSE(r) << text;
  EXPECT_EQ(r.error().kind, core::ErrorKind::invalid);
  EXPECT_EQ(r.error().exit_code, 2);
  EXPECT_EQ(r.error().message, message);
}

TEST(GpuRequest, parses_all_and_none) {
  EXPECT_EQ(request("all").kind, GpuRequest::Kind::all);
  EXPECT_EQ(request("none").kind, GpuRequest::Kind::none);
  EXPECT_EQ(request("all").text, "all");
}

TEST(GpuRequest, parses_a_list_in_the_users_order) {
  const GpuRequest one = request("0");
  EXPECT_EQ(one.kind, GpuRequest::Kind::list);
  EXPECT_EQ(one.indices, std::vector<unsigned>{0});
  const GpuRequest two = request("2,0");
  EXPECT_EQ(two.indices, (std::vector<unsigned>{2, 0}));
  EXPECT_EQ(two.text, "2,0");
}

TEST(GpuRequest, parses_auto_with_and_without_a_count) {
  const GpuRequest plain = request("auto");
  EXPECT_EQ(plain.kind, GpuRequest::Kind::automatic);
  EXPECT_EQ(plain.count, 1U);
  const GpuRequest two = request("auto:2");
  EXPECT_EQ(two.kind, GpuRequest::Kind::automatic);
  EXPECT_EQ(two.count, 2U);
  EXPECT_EQ(two.text, "auto:2");
}

TEST(GpuRequest, rejects_a_zero_count) {
  expect_parse_error("auto:0", "--gpus 'auto:0': the count must be at least 1");
}

TEST(GpuRequest, rejects_a_gpu_listed_twice) {
  expect_parse_error("0,2,0", "--gpus '0,2,0': GPU 0 is listed twice");
}

TEST(GpuRequest, rejects_other_forms_naming_the_valid_ones) {
  for (const std::string text : {"x",
                                 "",
                                 "auto:",
                                 "auto:x",
                                 "auto:-1",
                                 "0,",
                                 ",1",
                                 "-1",
                                 "+1",
                                 "1.5",
                                 "all,0",
                                 " 0",
                                 "ALL"}) {
    expect_parse_error(text, "--gpus '" + text + "': " + k_forms);
  }
}

TEST(GpuChoose, auto_takes_the_least_used_gpus) {
  const GpuInfo info = host({gpu(0, 10), gpu(1, 2), gpu(2, 5), gpu(3, 3)});
  auto s = choose(request("auto:2"), info, "bob", {});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, (std::vector<unsigned>{1, 3}));
  EXPECT_EQ(s->uuids, (std::vector<std::string>{"GPU-1", "GPU-3"}));
  EXPECT_TRUE(s->notes.empty());
}

TEST(GpuChoose, auto_breaks_ties_by_the_lower_index) {
  const GpuInfo info = host({gpu(3, 0), gpu(1, 0), gpu(2, 0), gpu(0, 0)});
  auto s = choose(request("auto:2"), info, "bob", {});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, (std::vector<unsigned>{0, 1}));
}

TEST(GpuChoose, auto_skips_gpus_with_other_users_processes) {
  const GpuInfo info = host({gpu(0, 12, {process("alice", "python", 12)}), gpu(1, 20)});
  auto s = choose(request("auto"), info, "bob", {});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, std::vector<unsigned>{1});
  EXPECT_EQ(s->notes,
            std::vector<std::string>{"GPU 0 (NVIDIA H200): in use by alice (python, 12.0 GiB)"});
}

TEST(GpuChoose, auto_counts_a_process_of_an_unknown_user_as_busy) {
  const GpuInfo info = host({gpu(0, 0, {process("", "python", 0)}), gpu(1, 20)});
  auto s = choose(request("auto"), info, "bob", {});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, std::vector<unsigned>{1});
  EXPECT_EQ(s->notes,
            std::vector<std::string>{
                "GPU 0 (NVIDIA H200): in use by an unknown user (pid 4242, python)"});
}

TEST(GpuChoose, auto_takes_gpus_with_the_users_own_processes) {
  const GpuInfo info = host({gpu(0, 1, {process("bob", "python", 1)}), gpu(1, 3)});
  auto s = choose(request("auto"), info, "bob", {});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, std::vector<unsigned>{0});
  EXPECT_TRUE(s->notes.empty());
}

TEST(GpuChoose, auto_skips_gpus_another_run_holds) {
  const GpuInfo info = host({gpu(0, 0), gpu(1, 4), gpu(2, 8)});
  auto s = choose(request("auto"),
                  info,
                  "bob",
                  {claim(0, "carol", "furnace-x-1"), claim(1, "bob", "furnace-y-2")});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, std::vector<unsigned>{2});
  EXPECT_EQ(s->notes,
            (std::vector<std::string>{
                "GPU 0 (NVIDIA H200): locked by carol's run furnace-x-1 since 14:02",
                "GPU 1 (NVIDIA H200): locked by your run furnace-y-2 since 14:02"}));
}

TEST(GpuChoose, a_claim_names_a_gpu_without_uuid_by_index) {
  GpuInfo info = host({gpu(0, 0), gpu(1, 4)});
  info.gpus[0].uuid.clear();
  info.gpus[1].uuid.clear();
  Claim c = claim(0, "carol", "furnace-x-1");
  c.uuid.clear();
  auto s = choose(request("auto"), info, "bob", {c});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, std::vector<unsigned>{1});
  EXPECT_EQ(s->uuids, std::vector<std::string>{""});
}

TEST(GpuChoose, auto_says_which_gpus_are_busy_when_too_few_are_free) {
  const GpuInfo info = host({gpu(0, 12, {process("alice", "python", 12)}), gpu(1, 0), gpu(2, 0)});
  auto s = choose(request("auto:2"), info, "bob", {claim(1, "carol", "furnace-x-1")});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, core::ErrorKind::unavailable);
  EXPECT_EQ(s.error().exit_code, 1);
  EXPECT_EQ(s.error().message,
            "--gpus 'auto:2': not enough free GPUs (1 of 3 free, 2 wanted)\n"
            "  GPU 0 (NVIDIA H200): in use by alice (python, 12.0 GiB)\n"
            "  GPU 1 (NVIDIA H200): locked by carol's run furnace-x-1 since 14:02");
  EXPECT_EQ(s.error().hint, k_busy_hint);
}

TEST(GpuChoose, auto_on_a_host_without_gpus_says_so) {
  auto s = choose(request("auto"), host({}), "bob", {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, core::ErrorKind::unavailable);
  EXPECT_EQ(s.error().message, "--gpus 'auto': this host has no GPUs");
  EXPECT_EQ(s.error().hint, "use --gpus none to run without GPUs");
}

TEST(GpuChoose, list_takes_the_listed_gpus_and_notes_busy_ones) {
  const GpuInfo info = host({gpu(0, 12, {process("alice", "python", 12)}), gpu(1, 0), gpu(2, 0)});
  auto s = choose(request("2,0"), info, "bob", {claim(2, "carol", "furnace-x-1")});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, (std::vector<unsigned>{0, 2}));
  EXPECT_EQ(s->uuids, (std::vector<std::string>{"GPU-0", "GPU-2"}));
  EXPECT_EQ(s->notes,
            (std::vector<std::string>{
                "GPU 0 (NVIDIA H200): in use by alice (python, 12.0 GiB)",
                "GPU 2 (NVIDIA H200): locked by carol's run furnace-x-1 since 14:02"}));
}

TEST(GpuChoose, list_with_a_missing_index_names_the_gpus_present) {
  auto s = choose(request("0,5"), host({gpu(0, 0), gpu(1, 0)}), "bob", {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, core::ErrorKind::not_found);
  EXPECT_EQ(s.error().message, "--gpus '0,5': there is no GPU 5 on this host (GPUs present: 0, 1)");
  EXPECT_EQ(s.error().hint, "run 'furnace doctor' to see the GPUs");

  auto none = choose(request("0"), host({}), "bob", {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "--gpus '0': there is no GPU 0 on this host (it has none)");
}

TEST(GpuChoose, all_takes_every_gpu_and_notes_the_locked_ones) {
  const GpuInfo info = host({gpu(1, 0), gpu(0, 0), gpu(2, 0)});
  auto s = choose(request("all"), info, "bob", {claim(1, "carol", "furnace-x-1")});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, (std::vector<unsigned>{0, 1, 2}));
  EXPECT_EQ(s->uuids, (std::vector<std::string>{"GPU-0", "GPU-1", "GPU-2"}));
  EXPECT_EQ(s->notes,
            std::vector<std::string>{
                "GPU 1 (NVIDIA H200): locked by carol's run furnace-x-1 since 14:02"});
}

TEST(GpuChoose, all_on_a_host_without_gpus_and_none_take_nothing) {
  auto all = choose(request("all"), host({}), "bob", {});
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->indices.empty());
  auto none = choose(request("none"), host({gpu(0, 0)}), "bob", {});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->indices.empty());
  EXPECT_TRUE(none->uuids.empty());
}

Gpu exclusive(unsigned index, std::vector<GpuProcess> processes = {}) {
  Gpu g = gpu(index, processes.empty() ? 0.0 : 1.0, std::move(processes));
  g.compute_mode = ComputeMode::exclusive_process;
  return g;
}

TEST(GpuChoose, auto_skips_an_exclusive_process_gpu_in_use_even_by_the_user) {
  // RELIABILITY case 31: a GPU in EXCLUSIVE_PROCESS takes one process; a second one fails.
  const GpuInfo info = host({exclusive(0, {process("me", "python", 1.0)}), gpu(1, 30.0)});
  auto s = choose(request("auto:1"), info, "me", {});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, std::vector<unsigned>{1});
  EXPECT_EQ(
      s->notes,
      std::vector<std::string>{"GPU 0 (NVIDIA H200): compute mode EXCLUSIVE_PROCESS and in use "
                               "by me (python, 1.0 GiB): it takes one process at a time"});
}

TEST(GpuChoose, auto_takes_an_idle_exclusive_process_gpu) {
  const GpuInfo info = host({exclusive(0), gpu(1, 30.0)});
  auto s = choose(request("auto:1"), info, "me", {});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, std::vector<unsigned>{0});
  EXPECT_TRUE(s->notes.empty());
}

TEST(GpuChoose, auto_refuses_when_only_busy_exclusive_gpus_remain_naming_their_users) {
  const GpuInfo info = host({exclusive(0, {process("alice", "python", 2.0)})});
  auto s = choose(request("auto:1"), info, "me", {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, core::ErrorKind::unavailable);
  EXPECT_EQ(s.error().message,
            "--gpus 'auto:1': not enough free GPUs (0 of 1 free, 1 wanted)\n"
            "  GPU 0 (NVIDIA H200): compute mode EXCLUSIVE_PROCESS and in use by alice (python, "
            "2.0 GiB): it takes one process at a time");
}

TEST(GpuChoose, a_listed_exclusive_gpu_in_use_is_refused_never_shared) {
  const GpuInfo info = host({gpu(0, 0.0), exclusive(1, {process("alice", "python", 2.0)})});
  auto s = choose(request("0,1"), info, "me", {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, core::ErrorKind::unavailable);
  EXPECT_EQ(s.error().message,
            "--gpus '0,1': GPU 1 (NVIDIA H200): compute mode EXCLUSIVE_PROCESS and in use by alice "
            "(python, 2.0 GiB): it takes one process at a time");
  EXPECT_EQ(s.error().hint,
            "choose another GPU ('--gpus auto:1' takes a free one), or wait until it is free "
            "('furnace ps', 'nvidia-smi')");
}

TEST(GpuChoose, a_prohibited_gpu_is_never_handed_out) {
  Gpu off = gpu(1, 0.0);
  off.compute_mode = ComputeMode::prohibited;
  const GpuInfo info = host({gpu(0, 50.0), off});
  auto a = choose(request("auto:1"), info, "me", {});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->indices, std::vector<unsigned>{0});
  auto l = choose(request("1"), info, "me", {});
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().message,
            "--gpus '1': GPU 1 (NVIDIA H200): compute mode PROHIBITED: no process may use it");
}

TEST(GpuChoose, all_leaves_out_a_busy_exclusive_gpu_and_says_so) {
  const GpuInfo info =
      host({gpu(0, 0.0), exclusive(1, {process("alice", "python", 2.0)}), gpu(2, 0.0)});
  auto s = choose(request("all"), info, "me", {});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->indices, (std::vector<unsigned>{0, 2}));
  EXPECT_EQ(s->uuids, (std::vector<std::string>{"GPU-0", "GPU-2"}));
  EXPECT_EQ(
      s->notes,
      std::vector<std::string>{"GPU 1 (NVIDIA H200): compute mode EXCLUSIVE_PROCESS and in use "
                               "by alice (python, 2.0 GiB): it takes one process at a time: "
                               "left out of this run"});
  auto none =
      choose(request("all"), host({exclusive(0, {process("alice", "python", 2.0)})}), "me", {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, core::ErrorKind::unavailable);
  EXPECT_EQ(
      none.error().message.rfind("--gpus 'all': no GPU of this host can take another process\n"
                                 "  GPU 0 (NVIDIA H200): compute mode EXCLUSIVE_PROCESS",
                                 0),
      0U)
      << none.error().message;
}

TEST(GpuDevices, docker_gets_the_gpus_by_uuid) {
  EXPECT_EQ(docker_gpus_value({0, 2}, {"GPU-aaaa", "GPU-cccc"}), "\"device=GPU-aaaa,GPU-cccc\"");
  // A GPU without a UUID (or one docker's CSV could not carry): by index, for all of them.
  EXPECT_EQ(docker_gpus_value({0, 2}, {"GPU-aaaa", ""}), "\"device=0,2\"");
  EXPECT_EQ(docker_gpus_value({1}, {}), "\"device=1\"");
  EXPECT_EQ(docker_gpus_value({1}, {"GPU-a\"b"}), "\"device=1\"");
}

TEST(GpuChoose, a_request_built_in_code_is_named_in_messages) {
  GpuRequest r;
  r.kind = GpuRequest::Kind::automatic;
  r.count = 3;
  auto s = choose(r, host({gpu(0, 0)}), "bob", {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "--gpus 'auto:3': not enough free GPUs (1 of 1 free, 3 wanted)");
}

} // namespace
} // namespace furnace::gpu
