#pragma once
// One register_<cmd> per subcommand (cli/<cmd>.cpp). Each fills a plain options struct and calls
// into an area; the exit code of the command that ran lands in `exit_code`.

#include <furnace/core/context.hpp>
#include <furnace/engine/docker_api.hpp>
#include <furnace/engine/endpoint.hpp>

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace furnace::cli {

// Returns `body(api)`'s exit code, with `api` talking to the engine the environment names
// (DOCKER_HOST, context, default socket); a bad address is reported and its exit code returned.
template <class Body> int with_engine(core::Context& ctx, Body&& body) {
  auto endpoint = engine::resolve_endpoint(ctx.env);
  if (!endpoint) {
    ctx.ui.error(endpoint.error());
    return endpoint.error().exit_code;
  }
  engine::DockerApi api(*endpoint, engine::DockerApi::timeouts_from_env(ctx.env));
  return body(api);
}

// The words after a standalone "--" on the command line (the command of `furnace run -- CMD`);
// main() takes them out before CLI11 parses the rest.
inline std::vector<std::string>& trailing_args() {
  static std::vector<std::string> args;
  return args;
}

void register_doctor(CLI::App& app, core::Context& ctx, int& exit_code);
void register_setup(CLI::App& app, core::Context& ctx, int& exit_code);
void register_config(CLI::App& app, core::Context& ctx, int& exit_code);
void register_resolve(CLI::App& app, core::Context& ctx, int& exit_code);
void register_init(CLI::App& app, core::Context& ctx, int& exit_code);
void register_build(CLI::App& app, core::Context& ctx, int& exit_code);
void register_images(CLI::App& app, core::Context& ctx, int& exit_code);
void register_verify(CLI::App& app, core::Context& ctx, int& exit_code);
void register_prune(CLI::App& app, core::Context& ctx, int& exit_code);
void register_run(CLI::App& app, core::Context& ctx, int& exit_code);
void register_shell(CLI::App& app, core::Context& ctx, int& exit_code);
void register_ps(CLI::App& app, core::Context& ctx, int& exit_code);
void register_logs(CLI::App& app, core::Context& ctx, int& exit_code);
void register_stop(CLI::App& app, core::Context& ctx, int& exit_code);
void register_history(CLI::App& app, core::Context& ctx, int& exit_code);
void register_show(CLI::App& app, core::Context& ctx, int& exit_code);
void register_rerun(CLI::App& app, core::Context& ctx, int& exit_code);
void register_dataset(CLI::App& app, core::Context& ctx, int& exit_code);
void register_lab(CLI::App& app, core::Context& ctx, int& exit_code);
void register_ide(CLI::App& app, core::Context& ctx, int& exit_code);
void register_export(CLI::App& app, core::Context& ctx, int& exit_code);
void register_submit(CLI::App& app, core::Context& ctx, int& exit_code);
void register_registry(CLI::App& app, core::Context& ctx, int& exit_code);
void register_push(CLI::App& app, core::Context& ctx, int& exit_code);
void register_pull(CLI::App& app, core::Context& ctx, int& exit_code);
// Hidden: __describe (the command line as JSON) and __complete KIND (shell completion values).
void register_describe(CLI::App& app, core::Context& ctx, int& exit_code);

} // namespace furnace::cli
