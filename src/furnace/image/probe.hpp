#pragma once
// The probe after a build: one `docker run --rm --network none` of the image that lists its
// packages (furnace.lock) and collects its facts and checks (facts.hpp), which are cached by
// image id.

#include <furnace/core/context.hpp>
#include <furnace/image/facts.hpp>
#include <furnace/image/lock.hpp>

#include <string>

namespace furnace::image {

struct Probed {
  Lock lock; // the packages and facts; image and base are not filled
  ProbeResult result;
};

// Runs the probe in `tag` and caches its result under `image_id` ("" = no cache). Errors:
// not_found (no docker CLI), remote (the container failed), invalid (no package listing).
core::Result<Probed> run_probe(core::Context& ctx,
                               const std::string& tag,
                               const std::string& image_id,
                               const ProbeRequest& request);

} // namespace furnace::image
