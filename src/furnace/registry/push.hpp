#pragma once
// furnace push / pull / run --from-registry: the project's image through the lab registry.
// `push` tags the image furnace.lock names into the registry, pushes it with the engine's CLI
// (which sends the login from ~/.docker/config.json; nothing secret on a command line) and
// records the digest the registry gave, with the image id, in furnace.lock. A colleague with the
// same furnace.lock pulls exactly that digest and refuses an image whose id differs.

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>

#include <string>

namespace furnace::registry {

struct PushOptions {
  std::string path = ".";
  std::string registry; // HOST:PORT; "" = where furnace.lock says it was pushed before
};

struct PullOptions {
  std::string path = ".";
  std::string registry; // HOST:PORT instead of the one furnace.lock names
};

// Exit codes: 0 pushed/pulled, 1 failed, 2 bad options.
int run_push(core::Context& ctx, engine::Engine& engine, const PushOptions& options);
int run_pull(core::Context& ctx, engine::Engine& engine, const PullOptions& options);

// The image furnace.lock records as pushed, present in the engine (pulled when missing) and
// tagged as the lock's image; returns its id. Errors: no lock or no pushed image in it, the pull
// failing, an image whose id is not the lock's (a digest mismatch; the pulled image is removed).
core::Result<std::string>
pull_locked_image(core::Context& ctx, engine::Engine& engine, const PullOptions& options);

// Checks "HOST[:PORT]" for --registry: no scheme, no path. Errors (usage).
core::Result<std::string> registry_host(const std::string& value);

// The error for a failed `docker push` of `ref`, from what it printed: a pull-through cache
// (405 / UNSUPPORTED) says "pull-through cache is read-only"; a missing login names
// `docker login`.
core::Error push_error(const std::string& ref, const std::string& host, const std::string& output);

} // namespace furnace::registry
