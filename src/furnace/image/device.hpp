#pragma once
// `furnace verify --gpus`: one more short container, given the GPUs asked for, that runs a tiny
// matrix multiply on the device with the plan's framework (torch, TensorFlow or JAX) and reports
// its result, or the framework's own error text when it fails ("torch.cuda.is_available() is
// False"). Never cached: it tests this host's driver and container toolkit as they are now.

#include <furnace/core/context.hpp>
#include <furnace/core/error.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/gpu/selection.hpp>
#include <furnace/image/facts.hpp>
#include <furnace/image/verify.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::image {

struct DeviceResult {
  std::string framework; // the module that ran it: "torch", "tensorflow", "jax"
  bool ok = false;       // the product came back right
  std::string device;    // "NVIDIA H200", "/physical_device:GPU:0", "cuda:0"
  std::string result;    // "[[2.0, 3.0], [6.0, 11.0]]"
  std::string error;     // the framework's message when it failed
};

// The module to test with: the plan's framework ("pytorch" -> "torch", "tensorflow", "jax"),
// else the one the image's facts found; "" when neither names one.
std::string device_framework(const resolve::Plan& plan, const ImageFacts& facts);

// The Python program the container runs (environment: FURNACE_DEVICE_FRAMEWORK). It prints one
// `#furnace-device {json}` line.
std::string device_program();

// The result from the program's output; nullopt when it printed no `#furnace-device` line.
std::optional<DeviceResult> read_device_result(std::string_view output);

// `docker run` arguments for the GPUs `request` names on this host (`host` from the GPU probe,
// nullopt without one): {"--gpus", "all"}, or {"--gpus", "\"device=GPU-…,GPU-…\""} (by UUID;
// "\"device=0,2\"" for GPUs without one, gpu::docker_gpus_value) for a list or for
// `auto:N` (the N GPUs least in use, gpu::choose; other runs' locks are not taken for a check
// this short). Empty for `none`. Errors: those of gpu::choose (an index not present, too few free
// GPUs).
core::Result<std::vector<std::string>> device_gpu_args(const gpu::GpuRequest& request,
                                                       const std::optional<gpu::GpuInfo>& host,
                                                       const std::string& user);

// Runs the program in `tag` (with the image's Python `python`, "" = python3) on the GPUs of
// `gpu_args`. Errors: not_found (no docker CLI), remote (the container failed before the program
// reported, with the engine's message: "could not select device driver").
core::Result<DeviceResult> run_device_check(core::Context& ctx,
                                            const std::string& tag,
                                            const std::string& python,
                                            const std::string& framework,
                                            const std::vector<std::string>& gpu_args);

// The `device` finding of `result` (ok with the product and device, or fail with the framework's
// message, a cause and a fix), asked for with `--gpus gpus`.
void add_device_finding(const DeviceResult& result,
                        const ImageFacts& facts,
                        const std::string& gpus,
                        Report& report);

} // namespace furnace::image
