// The compatibility rules (resolve/compat_rules.hpp) on their own: the arch rule (SASS, sm_XYa,
// PTX and the toolkit's reach, minor-version compatibility) and the driver rule.

#include <furnace/resolve/compat_rules.hpp>

#include <gtest/gtest.h>

namespace furnace::resolve {
namespace {

CudaRow row(const std::string& cuda,
            const std::string& min_driver,
            const std::string& compat_driver,
            const std::string& sm_min,
            const std::string& sm_max) {
  CudaRow r;
  r.cuda = cuda;
  r.version = *deps::parse_version(cuda);
  r.min_driver = make_cell(min_driver);
  r.minor_compat_driver = make_cell(compat_driver);
  r.sm_min = make_cell(sm_min);
  r.sm_max = make_cell(sm_max);
  return r;
}

const CudaRow k_cuda118 = row("11.8", "520.61.05", "450.80.02", "sm_35", "sm_90");
const CudaRow k_cuda102 = row("10.2", "440.33", "", "sm_30", "sm_75");

TEST(CompatRules, sm_of_reads_the_first_token_of_a_cell) {
  EXPECT_EQ(sm_of(make_cell("sm_90")), std::pair(9, 0));
  EXPECT_EQ(sm_of(make_cell("sm_86?")), std::pair(8, 6));
  EXPECT_EQ(sm_of(make_cell("")), std::pair(0, 0));
}

TEST(CompatRules, sass_of_the_same_major_and_a_lower_minor_runs_the_newest_wins) {
  const ArchList l = parse_arch_list("sm_70;sm_75;sm_80;sm_86");
  ASSERT_NE(sass_for(l, 8, 9), nullptr);
  EXPECT_EQ(sass_for(l, 8, 9)->str(), "sm_86");
  EXPECT_EQ(sass_for(l, 8, 0)->str(), "sm_80");
  EXPECT_EQ(sass_for(l, 7, 2)->str(), "sm_70");
  EXPECT_EQ(sass_for(l, 9, 0), nullptr); // another major never runs
  EXPECT_EQ(sass_for(l, 6, 1), nullptr);
}

TEST(CompatRules, an_arch_specific_sass_runs_only_on_exactly_its_capability) {
  const ArchList l = parse_arch_list("sm_90a");
  EXPECT_EQ(sass_for(l, 9, 0)->str(), "sm_90a");
  EXPECT_EQ(sass_for(l, 9, 1), nullptr);
}

TEST(CompatRules, ptx_at_or_below_the_gpu_needs_the_toolkit_to_reach_its_major) {
  const ArchList l = parse_arch_list("sm_70;compute_70");
  ASSERT_NE(ptx_for(l, &k_cuda118, 8, 9, DriverKind::full), nullptr);
  EXPECT_EQ(ptx_for(l, &k_cuda118, 8, 9, DriverKind::full)->str(), "compute_70");
  EXPECT_EQ(ptx_for(l, &k_cuda118, 9, 0, DriverKind::unknown)->str(), "compute_70");
  // CUDA 11.8 targets at most sm_90: its libraries have no kernels for a 12.x GPU
  EXPECT_EQ(ptx_for(l, &k_cuda118, 12, 0, DriverKind::full), nullptr);
  EXPECT_EQ(ptx_for(l, nullptr, 8, 0, DriverKind::full), nullptr);    // unknown toolkit: no
  EXPECT_EQ(ptx_for(l, &k_cuda118, 6, 0, DriverKind::full), nullptr); // PTX above the GPU
}

TEST(CompatRules, minor_version_compatibility_cannot_jit_ptx) {
  const ArchList l = parse_arch_list("sm_70;compute_70");
  EXPECT_EQ(ptx_for(l, &k_cuda118, 8, 6, DriverKind::minor_compat), nullptr);
  const ArchVerdict v = arch_rule(l, &k_cuda118, 8, 6, DriverKind::minor_compat);
  EXPECT_EQ(v.kind, ArchKind::none);
  EXPECT_EQ(v.via, "");
}

TEST(CompatRules, arch_rule_prefers_sass_then_ptx_and_carries_the_unverified_mark) {
  const ArchList l = parse_arch_list("sm_80?;compute_80");
  ArchVerdict v = arch_rule(l, &k_cuda118, 8, 6, DriverKind::full);
  EXPECT_EQ(v.kind, ArchKind::sass);
  EXPECT_EQ(v.via, "sm_80");
  EXPECT_TRUE(v.unverified);
  v = arch_rule(l, &k_cuda118, 9, 0, DriverKind::full);
  EXPECT_EQ(v.kind, ArchKind::ptx);
  EXPECT_EQ(v.via, "compute_80");
  EXPECT_FALSE(v.unverified);
}

TEST(CompatRules, an_unknown_arch_list_is_judged_by_what_the_toolkit_targets) {
  const ArchVerdict in = arch_rule({}, &k_cuda102, 7, 5, DriverKind::full);
  EXPECT_EQ(in.kind, ArchKind::assumed);
  EXPECT_EQ(in.via, "CUDA 10.2 targets sm_30..sm_75");
  EXPECT_TRUE(in.unverified);
  EXPECT_EQ(arch_rule({}, &k_cuda102, 8, 0, DriverKind::full).kind, ArchKind::none);
  EXPECT_EQ(arch_rule({}, &k_cuda102, 2, 1, DriverKind::full).kind, ArchKind::none);
  EXPECT_EQ(arch_rule({}, nullptr, 7, 5, DriverKind::full).kind, ArchKind::none);
}

TEST(CompatRules, a_driver_at_the_minimum_runs_the_toolkit_fully) {
  DriverVerdict v = driver_rule("11.8", &k_cuda118, "520.61.05", "");
  EXPECT_EQ(v.kind, DriverKind::full);
  EXPECT_FALSE(v.unverified);
  EXPECT_EQ(driver_rule("11.8", &k_cuda118, "535.104.05", "11.0").kind, DriverKind::full);
}

TEST(CompatRules, an_older_driver_runs_cuda_11_and_later_through_minor_version_compatibility) {
  EXPECT_EQ(driver_rule("11.8", &k_cuda118, "470.82.01", "").kind, DriverKind::minor_compat);
  EXPECT_EQ(driver_rule("11.8", &k_cuda118, "450.80.02", "").kind, DriverKind::minor_compat);
  EXPECT_EQ(driver_rule("11.8", &k_cuda118, "450.51.05", "").kind, DriverKind::too_old);
  // before CUDA 11 there is no minor-version compatibility
  EXPECT_EQ(driver_rule("10.2", &k_cuda102, "418.39", "").kind, DriverKind::too_old);
}

TEST(CompatRules, an_unknown_minimum_still_allows_minor_compat_marked_unverified) {
  const CudaRow r = row("13.4", "?", "580.65.06?", "sm_75", "sm_120");
  const DriverVerdict v = driver_rule("13.4", &r, "590.10", "");
  EXPECT_EQ(v.kind, DriverKind::minor_compat);
  EXPECT_TRUE(v.unverified);
  EXPECT_EQ(driver_rule("13.4", &r, "570.10", "").kind, DriverKind::too_old);
}

TEST(CompatRules, without_the_drivers_version_its_cuda_version_decides) {
  EXPECT_EQ(driver_rule("11.8", &k_cuda118, "", "12.2").kind, DriverKind::full);
  EXPECT_EQ(driver_rule("11.8", &k_cuda118, "", "11.4").kind, DriverKind::too_old);
  EXPECT_EQ(driver_rule("12.4", nullptr, "550.54.15", "12.4").kind, DriverKind::full);
  EXPECT_EQ(driver_rule("11.8", &k_cuda118, "", "").kind, DriverKind::unknown);
}

TEST(CompatRules, the_builtin_cuda_table_gives_the_same_answers) {
  const CudaRow* r = builtin_tables().find_cuda("11.8");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(driver_rule("11.8", r, "470.57.02", "").kind, DriverKind::minor_compat);
  EXPECT_EQ(arch_rule(parse_arch_list("sm_86;compute_86"), r, 9, 0, DriverKind::full).kind,
            ArchKind::ptx);
}

} // namespace
} // namespace furnace::resolve
