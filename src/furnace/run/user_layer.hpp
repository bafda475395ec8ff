#pragma once
// Running as the invoking user inside images whose only user is root: a one-step image on top of
// the project's image adds the user to /etc/passwd and /etc/group (replacing an entry with the
// same name or uid) and creates a writable home, so that `whoami`, `$HOME`, `pip install --user`
// and getpwuid() (torch's compile caches) work. It is built once per image and user (about a
// second) and found by its tag afterwards.

#include <furnace/core/context.hpp>
#include <furnace/engine/engine.hpp>
#include <furnace/run/container_spec.hpp>

#include <string>

namespace furnace::run {

// The user furnace runs as: the real uid, or the sudo caller's (SUDO_UID/SUDO_GID/SUDO_USER) when
// root runs furnace through sudo. nullopt: plain root, who needs no layer.
std::optional<HostUser> invoking_user(const core::Env& env);

// A name valid in /etc/passwd: `name` itself when it is one, else "u<uid>".
std::string passwd_name(const std::string& name, unsigned uid);

// The Dockerfile of the layer (pure).
std::string user_dockerfile(const std::string& base_image, const HostUser& user);

// "furnace-user/<name>:<hash12>": one tag per base image id and user.
std::string user_image_tag(const std::string& project_name, const std::string& base_image_id,
                           const HostUser& user);

// The layer's tag, built now when the engine does not have it. `cache_dir` holds the Dockerfile.
// Errors: the build failed (its output in the message).
core::Result<std::string> ensure_user_image(core::Context& ctx, engine::Engine& engine,
                                            const std::string& project_name,
                                            const std::string& base_image,
                                            const std::string& base_image_id, const HostUser& user,
                                            const std::string& cache_dir);

} // namespace furnace::run
