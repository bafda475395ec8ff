#pragma once
// The run `furnace run` would start, planned and not started: for the front ends that render a
// RunPlan in their own shape (`furnace ide`; later `export`). The image is built when needed and
// the user's layer with it, the GPUs are chosen as `run` chooses them but not locked (nothing
// runs now), and no leftover of a killed run is touched.

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/image/ensure.hpp>
#include <furnace/run/command.hpp>
#include <furnace/run/launcher.hpp>
#include <furnace/run/plan.hpp>

namespace furnace::run {

struct PlannedRun {
  image::BuiltImage image; // the project's image (the plan runs the user's layer on top of it)
  RunPlan plan;
};

// Errors carry the exit code `furnace run` would give: 2 for a bad option or project root, the
// build's code, 125 for the engine or the GPUs. The plan's warnings are said already.
core::Result<PlannedRun> plan_without_running(core::Context& ctx,
                                              const RunOptions& options,
                                              engine::Engine& engine,
                                              gpu::GpuProbe& probe,
                                              Launcher& launcher);

} // namespace furnace::run
