#pragma once
// The non-daemon.json steps of furnace setup: the docker group, the engine package, the NVIDIA
// Container Toolkit. Commands go through the ProcessRunner (so --dry-run prints them).

#include <furnace/core/context.hpp>
#include <furnace/host/system.hpp>
#include <furnace/host/system_file.hpp>

#include <optional>
#include <string>
#include <vector>

namespace furnace::setup {

enum class DryRun { no, yes };

// The argv that appends `user` to `group` without touching other groups: gpasswd -a, else
// usermod -a -G. Never `usermod -G` without -a (that drops every other supplementary group).
std::vector<std::string> group_append_command(const std::string& user,
                                              const std::string& group,
                                              const std::string& path_var);

// Whether `user` is in the docker group already (as its primary or a supplementary group).
bool in_docker_group(const std::string& user);

// Appends `user` to the docker group (creating the group when missing). Returns false when
// nothing was needed. Errors: no such user, the command failed.
core::Result<bool>
add_user_to_docker_group(core::Context& ctx, const std::string& user, DryRun dry_run);

struct ToolkitState {
  std::optional<std::string> runtime; // nvidia-container-runtime
  std::optional<std::string> ctk;     // nvidia-ctk
};
ToolkitState detect_toolkit(const std::string& path_var);

// The exact commands that install the toolkit on `distro`, one per line.
std::string toolkit_install_steps(const std::string& distro);

// The runtime path nvidia-ctk would register (from `nvidia-ctk runtime configure --dry-run`),
// or nullopt when it cannot say.
std::optional<std::string> runtime_path_from_ctk(util::ProcessRunner& runner,
                                                 const std::string& ctk,
                                                 const std::string& config_path);

// Installs the distribution's engine package when no engine is installed (leaves Docker CE
// alone), starts it (systemd, the service script, or dockerd in the background with a pidfile)
// and waits for the socket. Errors: unsupported distribution, the install or start failed.
core::Result<void> install_and_start_engine(core::Context& ctx,
                                            const host::Paths& paths,
                                            const std::string& endpoint_uri,
                                            DryRun dry_run);

} // namespace furnace::setup
