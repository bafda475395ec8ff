#pragma once
// The host facts the resolver plans for, from a GPU probe's answer or from --gpu/--driver: the
// one place where the hardware's view (gpu::GpuInfo) becomes the resolver's plain data.

#include <furnace/core/error.hpp>
#include <furnace/gpu/gpu_probe.hpp>
#include <furnace/resolve/compat.hpp>
#include <furnace/resolve/resolver.hpp>

#include <map>
#include <string>
#include <vector>

namespace furnace::project {

// Builds a Host from a probe's answer. `gpu_override` ("H200", "9.0", "sm_90", "V100,A100") and
// `driver_override` ("470.82.01") replace what the probe said. Errors: an unknown GPU name or an
// invalid driver/compute capability.
core::Result<resolve::Host> make_host(const core::Result<gpu::GpuInfo>& probed,
                                      const std::vector<std::string>& gpu_override,
                                      const std::string& driver_override,
                                      const resolve::Tables& tables);

// The Python each image was seen to run after a build here (`<cache>/image-python.json`:
// reference -> {id, python}); an unreadable or absent file is an empty map.
std::map<std::string, std::string> read_image_pythons(const std::string& cache_dir);

// Records what a probe saw `image` (a reference, with id `image_id`) run. A failure to write is
// ignored: the cache only refines later plans.
void record_image_python(const std::string& cache_dir,
                         const std::string& image,
                         const std::string& image_id,
                         const std::string& python);

} // namespace furnace::project
