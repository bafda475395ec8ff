#include "commands.hpp"

#include <furnace/dataset/command.hpp>
#include <furnace/setup/setup.hpp>

#include <memory>

namespace furnace::cli {

void register_setup(CLI::App& app, core::Context& ctx, int& exit_code) {
  auto opts = std::make_shared<setup::SetupOptions>();
  CLI::App* cmd = app.add_subcommand(
      "setup",
      "Set up this host: the engine, the docker group, registry mirrors and the NVIDIA "
      "runtime in /etc/docker/daemon.json (merged, backed up, written atomically, "
      "reloaded live where possible, rolled back if the engine does not come back)");
  cmd->add_option("--mirror",
                  opts->mirrors,
                  "Add a Docker Hub registry mirror (http/https domain root; repeatable)");
  cmd->add_option("--insecure-registry",
                  opts->insecure_registries,
                  "Add an insecure registry HOST:PORT (repeatable; off this host needs "
                  "--allow-insecure)");
  cmd->add_flag("--allow-insecure",
                opts->allow_insecure,
                "Allow an insecure registry that is not on this host");
  cmd->add_flag("--live-restore",
                opts->live_restore,
                "Keep containers running while the engine restarts (reloads live)");
  auto* nv = cmd->add_flag("--nvidia-runtime",
                           opts->nvidia_runtime,
                           "Register the NVIDIA Container Toolkit runtime as 'nvidia'");
  cmd->add_flag("--default", opts->nvidia_default, "With --nvidia-runtime: make it the default")
      ->needs(nv);
  cmd->add_flag("--log-rotation",
                opts->log_rotation,
                "Rotate container logs (json-file max-size 100m, max-file 3; needs a restart)");
  cmd->add_option("--add-user",
                  opts->add_users,
                  "Append USER to the docker group (root-equivalent; other groups kept)");
  cmd->add_flag("--install-engine",
                opts->install_engine,
                "When no engine answers: install Debian's docker.io (if missing), start it and "
                "enable it at boot (otherwise asked; --yes does not cover it)");
  cmd->add_flag("--yes,-y",
                opts->yes,
                "Apply the daemon.json change and reload without asking (scripts); not the engine "
                "install, not adding $SUDO_USER to the docker group");
  cmd->add_flag("--force", opts->force, "Also restart the engine when containers are running");
  cmd->add_flag("--dry-run", opts->dry_run, "Print the plan (diff, commands) and change nothing");
  cmd->add_option("--root", opts->root, "Treat DIR as / for every host file (tests, chroots)")
      ->capture_default_str();
  cmd->add_option("--keep-backups", opts->keep_backups, "How many daemon.json backups to keep")
      ->capture_default_str();
  auto dataset_sudo = std::make_shared<bool>(false);
  cmd->add_flag("--dataset-sudo", *dataset_sudo,
                "Only this: write /etc/sudoers.d/furnace-datasets, letting every user run "
                "'furnace dataset mount NAME' for the lab's datasets (docs/dataset.md)");
  cmd->callback([&ctx, &exit_code, opts, dataset_sudo] {
    exit_code = *dataset_sudo ? dataset::run_install_sudo_rule(ctx, dataset::self_path())
                              : setup::run_setup(ctx, *opts);
  });
}

} // namespace furnace::cli
