// furnace: a working GPU environment for any paper's code, in one command.

#include "commands.hpp"
#include "help_format.hpp"

#include <furnace/core/context.hpp>
#include <furnace/core/version.hpp>
#include <furnace/image/builder.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace {

furnace::core::Env read_environment() {
  furnace::core::Env env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) {
      env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  return env;
}

// `-e NAME=VALUE` puts VALUE into furnace's own command line, which every user can read in
// /proc/PID/cmdline: once the arguments are copied, the values are overwritten in place with '*'
// (as the MySQL client does with -p), so they show only while furnace starts. Everything after
// "--" is the container's command and stays as it is.
void hide_env_values(int argc, char** argv) {
  const auto hide_after_eq = [](char* text) {
    char* eq = std::strchr(text, '=');
    for (char* c = eq == nullptr ? nullptr : eq + 1; c != nullptr && *c != '\0'; ++c) {
      *c = '*';
    }
  };
  for (int i = 1; i < argc; ++i) {
    char* a = argv[i]; // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    const std::string_view arg(a);
    if (arg == "--") {
      break;
    }
    if ((arg == "-e" || arg == "--env") && i + 1 < argc) {
      hide_after_eq(argv[++i]); // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    } else if (arg.starts_with("--env=")) {
      hide_after_eq(a + 6); // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    } else if (arg.starts_with("-e") && !arg.starts_with("--") && arg.size() > 2) {
      hide_after_eq(a + 2); // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    }
  }
}

}  // namespace

int main(int argc, char** argv_in) {
  // furnace parses copies; the originals (what /proc shows) lose their -e values.
  std::vector<std::string> arg_copies(
      argv_in, argv_in + argc); // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
  hide_env_values(argc, argv_in);
  std::vector<char*> arg_ptrs;
  for (std::string& a : arg_copies) {
    arg_ptrs.push_back(a.data());
  }
  arg_ptrs.push_back(nullptr);
  char** argv = arg_ptrs.data();
  using namespace furnace;
  core::Env env = read_environment();
  const bool color = ::isatty(STDOUT_FILENO) == 1 && env.find("NO_COLOR") == env.end() &&
                     env["TERM"] != "dumb";
  env.erase("");
  image::point_podman_cli_at_the_engine(env);
  core::Ui ui(std::cout, std::cerr, color);
  ui.set_interactive(::isatty(STDERR_FILENO) == 1 && env["TERM"] != "dumb");
  util::SystemRunner runner;
  core::Context ctx{ui, runner, std::move(env), "/"};

  CLI::App app{"furnace: a working GPU environment for any paper's code, in one command.\n"
               "Checks the host, picks the framework/CUDA image the code and the GPUs need, and runs\n"
               "the code in it as you, safely.",
               "furnace"};
  app.set_version_flag("--version",
                       fmt::format("furnace {} (commit {})", core::version(), core::commit()),
                       "Print the version and the git commit furnace was built from");
  app.formatter(std::make_shared<cli::WrappingFormatter>()); // before the subcommands copy it
  app.require_subcommand(1);
  // Given before or after the command (fallthrough): `furnace -q build`, `furnace build -q`.
  app.add_flag_callback("-q,--quiet",
                        [&ui] { ui.set_quiet(true); },
                        "No progress or informational lines (warnings, errors and results stay)");
  app.fallthrough();
  app.footer("Run 'furnace CMD --help' for a command's options.");

  int exit_code = 0;
  cli::register_doctor(app, ctx, exit_code);
  cli::register_setup(app, ctx, exit_code);
  cli::register_config(app, ctx, exit_code);
  cli::register_resolve(app, ctx, exit_code);
  cli::register_init(app, ctx, exit_code);
  cli::register_build(app, ctx, exit_code);
  cli::register_verify(app, ctx, exit_code);
  cli::register_images(app, ctx, exit_code);
  cli::register_prune(app, ctx, exit_code);
  cli::register_run(app, ctx, exit_code);
  cli::register_shell(app, ctx, exit_code);
  cli::register_ps(app, ctx, exit_code);
  cli::register_logs(app, ctx, exit_code);
  cli::register_stop(app, ctx, exit_code);
  cli::register_history(app, ctx, exit_code);
  cli::register_show(app, ctx, exit_code);
  cli::register_rerun(app, ctx, exit_code);
  cli::register_dataset(app, ctx, exit_code);
  cli::register_lab(app, ctx, exit_code);
  cli::register_ide(app, ctx, exit_code);
  cli::register_export(app, ctx, exit_code);
  cli::register_submit(app, ctx, exit_code);
  cli::register_registry(app, ctx, exit_code);
  cli::register_push(app, ctx, exit_code);
  cli::register_pull(app, ctx, exit_code);
  cli::register_describe(app, ctx, exit_code);

  try {
    // "furnace run [OPTIONS] -- CMD ARGS": CMD and its ARGS are not furnace's to parse.
    int parsed = argc;
    for (int i = 1; i < argc; ++i) {
      if (std::string_view(argv[i]) == "--") { // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
        cli::trailing_args().assign(argv + i + 1, argv + argc); // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
        parsed = i;
        break;
      }
    }
    app.parse(parsed, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // "furnace bogus": CLI11 only says a subcommand is required; name the word instead.
    if (argc > 1 && argv[1][0] != '-' && app.get_subcommands().empty()) {
      std::vector<std::string> names;
      for (const auto* sub : app.get_subcommands({})) {
        names.push_back(sub->get_name());
      }
      std::cerr << fmt::format("furnace: error: unknown command '{}'\n  hint: commands are {}; "
                               "run 'furnace --help'\n",
                               argv[1], fmt::join(names, ", "));
      return 2;
    }
    std::cerr << "furnace: error: " << e.what() << "\n  hint: run 'furnace " <<
        (app.get_subcommands().empty() ? std::string() : app.get_subcommands().front()->get_name() + " ")
              << "--help'\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "furnace: internal error: " << e.what() << '\n';
    return 1;
  }
  return exit_code;
}
