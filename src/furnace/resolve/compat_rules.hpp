#pragma once
// The compatibility rules between a framework build, the CUDA toolkit it was built with, a GPU and
// the NVIDIA driver, as pure functions of the compat tables' values. The resolver applies them to
// the builds the tables know (to choose one); `furnace verify` applies them to what a built image
// reports (to check it). One set of rules, so that a plan and its verification cannot disagree.

#include <furnace/resolve/compat.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace furnace::resolve {

// How a build's code reaches one GPU.
enum class ArchKind {
  sass,    // machine code for the GPU's architecture
  ptx,     // PTX the driver JIT-compiles at the first start
  assumed, // the build's arch list is unknown; the toolkit can target the GPU
  none,    // no kernels for the GPU
};

// How the driver runs the build's CUDA.
enum class DriverKind {
  full,         // the driver is at least the toolkit's minimum
  minor_compat, // older, but CUDA >= 11's minor-version compatibility runs it (no PTX JIT)
  too_old,
  unknown, // nothing known to compare
};

struct ArchVerdict {
  ArchKind kind = ArchKind::none;
  std::string via;         // "sm_86", "compute_80", "CUDA 10.0 targets sm_30..sm_75"; "" for none
  bool unverified = false; // the table marked the deciding token '?'
};

struct DriverVerdict {
  DriverKind kind = DriverKind::unknown;
  bool unverified = false; // the deciding minimum is marked '?' (or unknown) in cuda.csv
};

// The compute capability of the first token of an arch cell ("sm_90" -> {9, 0}); {0, 0} when the
// cell holds none.
std::pair<int, int> sm_of(const Cell& c);

// The newest machine code (SASS) in `archs` that runs on a GPU of compute capability
// `cc_major`.`cc_minor`: sm_XY of the same major with a minor at or below the GPU's, or an
// arch-specific sm_XYa of exactly that capability. nullptr when none.
const Arch* sass_for(const ArchList& archs, int cc_major, int cc_minor);

// The PTX in `archs` the driver can JIT-compile for the GPU: compute_XY at or below its capability,
// and only when the build's toolkit (`toolkit`, nullptr when unknown: no) knows the GPU's family,
// its sm_max major reaching the GPU's (its cuBLAS/cuDNN have kernels for it), and the driver is not
// in minor-version-compatibility mode (which cannot JIT). The newest such PTX; nullptr when none.
const Arch* ptx_for(
    const ArchList& archs, const CudaRow* toolkit, int cc_major, int cc_minor, DriverKind driver);

// The arch rule: SASS for the GPU (sass_for), else PTX it can JIT (ptx_for). A build whose arch
// list is unknown (`archs` empty: TF 1.x, JAX) is `assumed` to run when the toolkit targets the
// GPU (sm_min <= capability, sm_max's major >= the GPU's), else `none`.
ArchVerdict arch_rule(
    const ArchList& archs, const CudaRow* toolkit, int cc_major, int cc_minor, DriverKind driver);

// The driver rule for a build of CUDA `cuda` (its row in cuda.csv is `toolkit`, nullptr when the
// table lacks it). With the driver's version (`driver`, "535.104.05") and the row: `full` at or
// above the row's min_driver; else, for CUDA >= 11, `minor_compat` at or above its
// minor_version_compat_min_driver; else `too_old`. Without them, the CUDA version the driver
// reports (`cuda_driver`, "12.2"): `full` when it is at least `cuda`, else `too_old`. `unknown`
// when neither is known.
DriverVerdict driver_rule(std::string_view cuda,
                          const CudaRow* toolkit,
                          std::string_view driver,
                          std::string_view cuda_driver);

} // namespace furnace::resolve
