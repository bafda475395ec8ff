#pragma once
// One register_<cmd> per subcommand (cli/<cmd>.cpp). Each fills a plain options struct and calls
// into an area; the exit code of the command that ran lands in `exit_code`.

#include <furnace/core/context.hpp>

#include <CLI/CLI.hpp>

namespace furnace::cli {

void register_doctor(CLI::App& app, core::Context& ctx, int& exit_code);
void register_setup(CLI::App& app, core::Context& ctx, int& exit_code);
void register_config(CLI::App& app, core::Context& ctx, int& exit_code);
void register_resolve(CLI::App& app, core::Context& ctx, int& exit_code);
void register_init(CLI::App& app, core::Context& ctx, int& exit_code);
void register_build(CLI::App& app, core::Context& ctx, int& exit_code);
void register_images(CLI::App& app, core::Context& ctx, int& exit_code);
void register_prune(CLI::App& app, core::Context& ctx, int& exit_code);

}  // namespace furnace::cli
