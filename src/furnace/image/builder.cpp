#include "builder.hpp"

#include <furnace/util/ownership.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <atomic>
#include <chrono>

namespace furnace::image {

std::string docker_cli(const core::Env& env) {
  const auto docker = env.find("FURNACE_DOCKER");
  return docker != env.end() && !docker->second.empty() ? docker->second : "docker";
}

void point_podman_cli_at_the_engine(core::Env& env) {
  const std::string cli = docker_cli(env);
  const std::string file = cli.substr(cli.find_last_of('/') + 1);
  const auto docker_host = env.find("DOCKER_HOST");
  if (!file.starts_with("podman") || docker_host == env.end() || docker_host->second.empty()) {
    return;
  }
  if (const auto set = env.find("CONTAINER_HOST"); set == env.end() || set->second.empty()) {
    env["CONTAINER_HOST"] = docker_host->second;
  }
}

void give_docker_config_to_its_owner(const core::Env& env) {
  const auto config = env.find("DOCKER_CONFIG");
  const auto home = env.find("HOME");
  if (config != env.end() && !config->second.empty()) {
    util::give_tree_to_directory_owner(config->second);
  } else if (home != env.end() && !home->second.empty()) {
    util::give_tree_to_directory_owner(home->second + "/.docker");
  }
}

core::Result<Builder> probe_builder(util::ProcessRunner& runner, const core::Env& env) {
  Builder b;
  b.docker = docker_cli(env);
  if (const auto forced = env.find("FURNACE_BUILDER"); forced != env.end() && !forced->second.empty()) {
    const std::string& f = forced->second;
    if (f != "buildx" && f != "buildkit" && f != "legacy") {
      return core::fail(core::ErrorKind::usage, fmt::format("FURNACE_BUILDER cannot be '{}'", f),
                        "use buildx, buildkit or legacy, or unset it to probe");
    }
    b.kind = f == "buildx" ? BuilderKind::buildx : f == "buildkit" ? BuilderKind::buildkit_env : BuilderKind::legacy;
    b.why = "FURNACE_BUILDER=" + f;
    return b;
  }
  util::ProcessOptions opts;
  opts.timeout = std::chrono::milliseconds(15000);
  opts.env = env;
  auto buildx = runner.run({b.docker, "buildx", "version"}, opts);
  if (!buildx) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("cannot run the docker CLI '{}': {}", b.docker, buildx.error().message),
                      "install the docker CLI (furnace doctor), or set FURNACE_DOCKER to its path");
  }
  if (buildx->status.ok()) {
    b.kind = BuilderKind::buildx;
    b.why = "the buildx plugin answered";
    return b;
  }
  auto version = runner.run({b.docker, "version", "--format", "{{.Client.Version}}"}, opts);
  if (version) {
    b.client_version = std::string(version->out.substr(0, version->out.find_first_of("\r\n")));
  }
  int major = 0;
  for (const char c : b.client_version) {
    if (c < '0' || c > '9') {
      break;
    }
    major = major * 10 + (c - '0');
  }
  if (major > 0 && major < 23) {
    b.kind = BuilderKind::buildkit_env;
    b.why = fmt::format("client {} (< 23) uses the engine's BuildKit with DOCKER_BUILDKIT=1", b.client_version);
  } else {
    b.kind = BuilderKind::legacy;
    b.why = fmt::format("no buildx plugin{}: the legacy builder",
                        b.client_version.empty() ? "" : " and client " + b.client_version + " (>= 23)");
  }
  return b;
}

BuildCommand build_command(const Builder& builder, const std::string& tag,
                           const std::string& context_dir,
                           const std::map<std::string, std::string>& labels,
                           const std::string& network) {
  BuildCommand c;
  c.argv = {builder.docker};
  if (builder.kind == BuilderKind::buildx) {
    c.argv.insert(c.argv.end(), {"buildx", "build", "--load"});
  } else {
    c.argv.emplace_back("build");
    c.env["DOCKER_BUILDKIT"] = builder.kind == BuilderKind::buildkit_env ? "1" : "0";
  }
  c.argv.insert(c.argv.end(), {"-t", tag});
  if (!network.empty()) {
    c.argv.insert(c.argv.end(), {"--network", network});
  }
  for (const auto& [k, v] : labels) {
    c.argv.insert(c.argv.end(), {"--label", k + "=" + v});
  }
  if (builder.kind == BuilderKind::legacy) {
    // The legacy builder keeps a failed step's container (and its partial downloads) without it.
    c.argv.emplace_back("--force-rm");
  }
  c.argv.insert(c.argv.end(), {"-f", context_dir + "/Dockerfile", context_dir});
  for (const auto& [k, v] : c.env) {
    c.display += util::shell_quote(k + "=" + v) + " ";
  }
  c.display += util::shell_join(c.argv);
  return c;
}

HelperContainer helper_container(const std::string& kind) {
  static std::atomic<unsigned> counter{0};
  const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count() % 1000000;
  HelperContainer h;
  h.name = fmt::format("furnace-{}-{}-{}{}", kind, ::getpid(), counter.fetch_add(1), stamp);
  h.run_args = {"--name", h.name, "--label", std::string(k_label_helper) + "=" + kind, "--init"};
  return h;
}

void remove_helper(core::Context& ctx, const HelperContainer& helper) {
  util::ProcessOptions o;
  o.env = ctx.env;
  o.timeout = std::chrono::milliseconds(30000);
  (void)ctx.runner.run({docker_cli(ctx.env), "rm", "-f", helper.name}, o);
}

}  // namespace furnace::image
