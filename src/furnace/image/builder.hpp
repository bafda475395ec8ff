#pragma once
// Which builder the engine's CLI offers, probed rather than assumed: `docker buildx build --load`
// when the buildx plugin answers; `DOCKER_BUILDKIT=1 docker build` with a client older than 23
// (the engine's embedded BuildKit); the legacy builder otherwise (no `--mount` lines).

#include <furnace/dockerfile/dockerfile.hpp>
#include <furnace/core/context.hpp>

#include <map>
#include <string>
#include <vector>

namespace furnace::image {

enum class BuilderKind { buildx, buildkit_env, legacy };

struct Builder {
  BuilderKind kind = BuilderKind::legacy;
  std::string docker;          // the CLI: "docker" or $FURNACE_DOCKER
  std::string client_version;  // "20.10.24+dfsg1", "" when not asked
  std::string why;             // "docker buildx version answered", ...

  dockerfile::Mode mode() const { return kind == BuilderKind::legacy ? dockerfile::Mode::legacy : dockerfile::Mode::buildkit; }
};

// The docker CLI to run: $FURNACE_DOCKER, else "docker" (looked up in PATH).
std::string docker_cli(const core::Env& env);

// Podman's CLI runs containers in its own store (rootless for a user) unless it is given a
// service: when the CLI is podman ($FURNACE_DOCKER's file name starts with "podman"), DOCKER_HOST
// is set and CONTAINER_HOST is not, CONTAINER_HOST gets DOCKER_HOST's value, so that the CLI
// builds and runs on the engine furnace queries (docs/podman.md). Other environments unchanged.
void point_podman_cli_at_the_engine(core::Env& env);

// After the docker CLI ran as root for a user (sudo -E: HOME is theirs), what it wrote in its
// config directory ($DOCKER_CONFIG, else ~/.docker: .buildNodeID, buildx state) goes back to the
// directory's owner (util/ownership.hpp); else the user's own docker commands fail on it.
void give_docker_config_to_its_owner(const core::Env& env);

// Probes `docker buildx version`, then `docker version` (client). $FURNACE_BUILDER (buildx,
// buildkit, legacy) skips the probe; $FURNACE_DOCKER names the CLI. Errors: the CLI cannot run.
core::Result<Builder> probe_builder(util::ProcessRunner& runner, const core::Env& env);

struct BuildCommand {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // added to the environment
  std::string display;                     // "DOCKER_BUILDKIT=1 docker build …", for --dry-run
};

// The command that builds `context_dir` (which holds the Dockerfile) into `tag` with `labels`;
// `network` (when not "") becomes `--network NAME`, for the RUN steps.
BuildCommand build_command(const Builder& builder, const std::string& tag,
                           const std::string& context_dir,
                           const std::map<std::string, std::string>& labels,
                           const std::string& network = {});

// A short container furnace starts and waits for (the probe after a build, verify's GPU check):
// a name and a label of its own (org.furnace.helper=KIND) and --init, so that one whose CLI did
// not end well (a timeout kills the CLI, never the container; a signal to a shell as PID 1 is
// ignored) is removed by name instead of outliving furnace.
struct HelperContainer {
  std::string name;                  // "furnace-KIND-<pid>-<n>"
  std::vector<std::string> run_args; // --name NAME --label org.furnace.helper=KIND --init
};
inline constexpr const char* k_label_helper = "org.furnace.helper";
HelperContainer helper_container(const std::string& kind);
// `docker rm -f` of the helper (after a failed or timed-out run; a gone one is no error).
void remove_helper(core::Context& ctx, const HelperContainer& helper);

}  // namespace furnace::image
