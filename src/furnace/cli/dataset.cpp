// furnace dataset add / ls / rm / mount / umount / check: the lab's data, mounted into runs.

#include "commands.hpp"

#include <furnace/dataset/command.hpp>

#include <filesystem>
#include <iostream>
#include <memory>

namespace furnace::cli {

void register_dataset(CLI::App& app, core::Context& ctx, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "dataset",
      "Datasets on a NAS (CIFS, NFS) or in a local directory, mounted read-only into "
      "runs at /datasets/NAME (furnace.yaml 'datasets:'); see docs/dataset.md");
  cmd->require_subcommand(1);

  auto add = std::make_shared<dataset::AddOptions>();
  CLI::App* a = cmd->add_subcommand(
      "add",
      "Define a dataset: NAME and SOURCE (a directory, cifs://HOST/SHARE[/SUB] or "
      "//HOST/SHARE, nfs://HOST/EXPORT); a CIFS password is asked for, never an argument");
  a->add_option("name", add->name, "The dataset's name (furnace.yaml 'datasets:')")->required();
  a->add_option("source", add->source, "Where it is")->required();
  a->add_option("--user", add->user, "CIFS: the share's user");
  a->add_option("--domain", add->domain, "CIFS: the user's domain (workgroup)");
  a->add_option("--options",
                add->options,
                "Extra mount options, comma-separated (vers=3.0, port=N, sec=...); no secrets");
  a->add_flag("--rw", add->rw, "Mount it read-write into runs (read-only otherwise)");
  a->add_flag("--system",
              add->system,
              "The lab's dataset (root): /etc/furnace/datasets.yaml, mountable by every user");
  a->add_flag("--password-stdin",
              add->password_stdin,
              "CIFS: read the password from stdin instead of asking");
  a->callback([&ctx, &exit_code, add] {
    std::error_code ec;
    add->cwd = std::filesystem::current_path(ec).string();
    add->furnace_path = dataset::self_path();
    exit_code = dataset::run_add(ctx, *add, std::cin);
  });

  auto ls = std::make_shared<dataset::LsOptions>();
  CLI::App* l = cmd->add_subcommand(
      "ls", "List the datasets (yours and the lab's): source, mounted, reachable, space used");
  l->add_flag("--json", ls->json, "Machine-readable output");
  l->callback([&ctx, &exit_code, ls] { exit_code = dataset::run_ls(ctx, *ls); });

  const auto named = [&](const char* name,
                         const char* help,
                         int (*fn)(core::Context&, const dataset::NameOptions&),
                         bool system) {
    auto o = std::make_shared<dataset::NameOptions>();
    CLI::App* c = cmd->add_subcommand(name, help);
    c->add_option("name", o->name, "The dataset")->required();
    if (system) {
      c->add_flag("--system", o->system, "The lab's dataset (root)");
    }
    c->callback([&ctx, &exit_code, o, fn] {
      o->furnace_path = dataset::self_path();
      exit_code = fn(ctx, *o);
    });
  };
  named("rm", "Remove a dataset's definition and its credentials file", dataset::run_rm, true);
  named(
      "mount", "Mount a NAS dataset on the host (runs do it on demand)", dataset::run_mount, false);
  named("umount", "Unmount a NAS dataset from the host", dataset::run_umount, false);
  named("check",
        "Check a dataset: reachable, mount helper, kernel support, credentials, mount state",
        dataset::run_check,
        false);
}

} // namespace furnace::cli
